"""Post-hoc calibrators, fitted on validation logits on their device, saved and loaded with ``torch.save``.

* :func:`fit_temperature` -- one ``T > 0`` (Guo et al., 2017), a :class:`TemperatureScaler`;
* :func:`fit_platt` -- ``sigmoid(a * s + b)`` of a binary score, a :class:`PlattScaler`;
* :func:`fit_isotonic` -- a non-decreasing map (pool-adjacent-violators), an :class:`IsotonicCalibrator`.

Each is a small :class:`Calibrator` module whose ``forward(logits)`` gives
calibrated probabilities; ``model = calibrator.wrap(model)`` makes a model
output them (a :class:`CalibratedModel`); ``save`` / ``Calibrator.load``
store and restore it.

:func:`temperature_problem` and :func:`minimise_lbfgs` are the stages of the
temperature fit that :func:`auroc_callbacks.calibration.calibration_summary`
runs on an epoch too.
"""

from __future__ import annotations

import math
import os
from typing import Optional, Union

import torch
from torch import nn

from .. import _checks
from .._checks import Choice, Interval, check_params
from .._format import decide_activation, format_inputs

__all__ = [
    "Calibrator",
    "CalibratedModel",
    "TemperatureScaler",
    "PlattScaler",
    "IsotonicCalibrator",
    "fit_temperature",
    "fit_platt",
    "fit_isotonic",
]

_FILE_FORMAT = "auroc_callbacks.calibrator"
_FILE_VERSION = 1
_HALF = (torch.float16, torch.bfloat16)

_RULES = {
    "temperature": [Interval(float, 0, math.inf, "neither")],
    "a": [Interval(float, -math.inf, math.inf, "neither")],
    "b": [Interval(float, -math.inf, math.inf, "neither")],
    "task": [Choice(_checks.TASKS)],
    "max_iter": [Interval(int, 1)],
}


def _scalar(value):
    """A one-element tensor as its Python number (calibrators accept ``float(T)`` or ``T`` alike)."""
    return value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value


def _float_input(x, who: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who} takes a torch.Tensor of logits; got {type(x).__name__}")
    if not x.is_floating_point():
        x = x.double()
    return x.float() if x.dtype in _HALF else x


def _binary_score(x: torch.Tensor, who: str) -> torch.Tensor:
    """The one score of a binary head: ``(N,)``/``(N, 1)`` as given, ``(N, 2)`` as ``z1 - z0``."""
    if x.ndim == 1:
        return x
    if x.ndim == 2 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 2 and x.shape[1] == 2:
        return x[:, 1] - x[:, 0]
    raise ValueError(f"{who} takes binary logits of shape (N,), (N, 1) or (N, 2); got {tuple(x.shape)}")


def _binary_output(p_pos: torch.Tensor, p_neg: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Probabilities in the layout of the input head: (N,), (N, 1), or (N, 2) as ``[1 - p, p]``."""
    if like.ndim == 1:
        return p_pos
    if like.shape[1] == 1:
        return p_pos.unsqueeze(1)
    return torch.stack([p_neg, p_pos], dim=1)


# ============================================================================ the modules


class Calibrator(nn.Module):
    """Base of the fitted calibrators: ``forward(logits)`` returns calibrated probabilities.

    The output has the layout of the input: ``(N,)`` and ``(N, 1)`` give the
    probability of the positive class, ``(N, 2)`` gives ``[1 - p, p]`` rows,
    ``(N, C)`` gives ``C`` probabilities per row (float32 for half-precision
    input, else the input's dtype). The fitted numbers are buffers, not
    parameters: wrapping a model adds nothing for an optimiser to train.
    """

    @property
    def display_name(self) -> str:
        """How a figure's legend names this calibrator (e.g. ``"temperature-scaled (T = 2.78)"``)."""
        return "calibrated"

    def wrap(self, model: nn.Module) -> CalibratedModel:
        """``model`` followed by this calibrator: ``model = calibrator.wrap(model)`` outputs probabilities."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}")
        return CalibratedModel(model, self)

    def _config(self) -> dict:
        return {}

    @classmethod
    def _from_saved(cls, config: dict, state: dict) -> Calibrator:
        raise NotImplementedError

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the calibrator (its class, configuration and buffers) to ``path`` with ``torch.save``."""
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        payload = {
            "format": _FILE_FORMAT,
            "version": _FILE_VERSION,
            "class": type(self).__name__,
            "config": self._config(),
            "state": state,
        }
        torch.save(payload, path)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], map_location=None) -> Calibrator:
        """Read a calibrator written by :meth:`save` (``weights_only``: no code is unpickled).

        ``Calibrator.load`` returns whichever calibrator the file holds;
        ``TemperatureScaler.load`` (etc.) also checks that it is one.
        ``map_location``: the device to put it on (default CPU).

        Raises:
            ValueError: the file is not a calibrator saved by :meth:`save`,
                holds another kind of calibrator, or its contents are malformed.
            FileNotFoundError: no file at ``path``.
        """
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as err:  # pickle, zip and weights_only errors all mean "not our file"
            raise ValueError(f"{str(path)!r} is not a calibrator file written by Calibrator.save: {err}") from err
        if not isinstance(payload, dict) or payload.get("format") != _FILE_FORMAT:
            raise ValueError(f"{str(path)!r} is not a calibrator file written by Calibrator.save")
        if payload.get("version") != _FILE_VERSION:
            raise ValueError(
                f"{str(path)!r} is a calibrator file of version {payload.get('version')!r}; this library reads"
                f" version {_FILE_VERSION}"
            )
        name = payload.get("class")
        klass = _CALIBRATORS.get(name)
        if klass is None:
            raise ValueError(f"{str(path)!r} holds an unknown calibrator class {name!r}")
        if cls is not Calibrator and klass is not cls:
            raise ValueError(f"{str(path)!r} holds a {name}, not a {cls.__name__}: load it with {name}.load")
        config, state = payload.get("config"), payload.get("state")
        if not isinstance(config, dict) or not isinstance(state, dict):
            raise ValueError(f"{str(path)!r} is a malformed calibrator file (no config or state)")
        try:
            module = klass._from_saved(config, state)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{str(path)!r} is a malformed {name} file: {err}") from err
        return module if map_location is None else module.to(map_location)


class CalibratedModel(nn.Module):
    """A model followed by a :class:`Calibrator`: outputs calibrated probabilities.

    ``state_dict`` keys are ``model.*`` and ``calibrator.*``.

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import TemperatureScaler
        >>> wrapped = TemperatureScaler(2.0).wrap(torch.nn.Identity())
        >>> type(wrapped).__name__, wrapped(torch.tensor([[2.0, 0.0]]))
        ('CalibratedModel', tensor([[0.7311, 0.2689]]))
    """

    def __init__(self, model: nn.Module, calibrator: Calibrator):
        super().__init__()
        self.model = model
        self.calibrator = calibrator

    def forward(self, *args, **kwargs):
        return self.calibrator(self.model(*args, **kwargs))


class TemperatureScaler(Calibrator):
    """``softmax(logits / T)`` (multiclass, two-logit binary) or ``sigmoid(logits / T)`` (one-logit binary, multilabel).

    One scalar ``T > 0`` (Guo et al., 2017), fitted by :func:`fit_temperature`.
    It never changes a sample's argmax; it never changes the binary or
    per-label AUROC (``z / T`` is increasing in ``z``). The one-vs-rest AUROC
    of a multiclass model *can* change: the order of two samples by
    ``softmax(z / T)_c`` depends on T when their other logits differ.

    Args:
        temperature: T, a finite float > 0 (or a one-element tensor).
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"``: which activation follows.

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import TemperatureScaler
        >>> TemperatureScaler(2.0, task="multiclass")(torch.tensor([[2.0, 0.0]]))  # softmax([1, 0])
        tensor([[0.7311, 0.2689]])
    """

    def __init__(self, temperature, *, task: str = "multiclass"):
        super().__init__()
        temperature = _scalar(temperature)
        check_params(_RULES, temperature=temperature, task=task)
        self.task = task
        self.register_buffer("temperature", torch.tensor(float(temperature), dtype=torch.float64))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        z = _float_input(logits, "TemperatureScaler")
        if self.task == "binary":
            s = _binary_score(z, "TemperatureScaler(task='binary')") / self.temperature
            return _binary_output(torch.sigmoid(s), torch.sigmoid(-s), z)
        if z.ndim != 2 or z.shape[1] < 2:
            raise ValueError(
                f"TemperatureScaler(task={self.task!r}) takes logits of shape (N, C); got {tuple(z.shape)}"
            )
        z = z / self.temperature
        return torch.softmax(z, dim=1) if self.task == "multiclass" else torch.sigmoid(z)

    def extra_repr(self) -> str:
        return f"temperature={float(self.temperature):.6g}, task={self.task!r}"

    @property
    def display_name(self) -> str:
        return f"temperature-scaled (T = {float(self.temperature):.2f})"

    def _config(self) -> dict:
        return {"task": self.task}

    @classmethod
    def _from_saved(cls, config, state):
        return cls(float(state["temperature"]), task=config["task"])


class PlattScaler(Calibrator):
    """``sigmoid(a * s + b)`` of a binary score ``s``: the logit of a one-logit head, ``z1 - z0`` of a two-logit head.

    Platt (1999) scaling, fitted by :func:`fit_platt`. With ``a > 0`` (a score
    that ranks positives higher) it does not change the AUROC.

    Args:
        a, b: finite floats (or one-element tensors).

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import PlattScaler
        >>> PlattScaler(2.0, -1.0)(torch.tensor([0.5, 1.0]))  # sigmoid([0, 1])
        tensor([0.5000, 0.7311])
    """

    def __init__(self, a, b):
        super().__init__()
        a, b = _scalar(a), _scalar(b)
        check_params(_RULES, a=a, b=b)
        self.register_buffer("a", torch.tensor(float(a), dtype=torch.float64))
        self.register_buffer("b", torch.tensor(float(b), dtype=torch.float64))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        z = _float_input(logits, "PlattScaler")
        s = _binary_score(z, "PlattScaler") * self.a + self.b
        return _binary_output(torch.sigmoid(s), torch.sigmoid(-s), z)

    def extra_repr(self) -> str:
        return f"a={float(self.a):.6g}, b={float(self.b):.6g}"

    @property
    def display_name(self) -> str:
        return f"Platt-scaled (a = {float(self.a):.2f}, b = {float(self.b):.2f})"

    @classmethod
    def _from_saved(cls, config, state):
        return cls(float(state["a"]), float(state["b"]))


class IsotonicCalibrator(Calibrator):
    """A non-decreasing piecewise-linear map from a binary score to a probability, fitted by :func:`fit_isotonic`.

    Between the knots ``(x, y)`` it interpolates linearly; outside it clips to
    the first and last ``y`` (scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``).
    The score is that of :class:`PlattScaler`: the logit, or ``z1 - z0``.

    The map is flat between tied knots, so it **creates ties**: samples with
    different scores can get the same probability, and the AUROC of the
    calibrated probabilities can differ from the model's (ties count 1/2).

    Args:
        x: increasing knot positions, 1-d.
        y: non-decreasing knot values in [0, 1], same length.

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import IsotonicCalibrator
        >>> iso = IsotonicCalibrator(torch.tensor([0.0, 1.0]), torch.tensor([0.2, 0.8]))
        >>> iso(torch.tensor([-5.0, 0.5, 5.0]))
        tensor([0.2000, 0.5000, 0.8000])
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        super().__init__()
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise TypeError(f"`x` and `y` must be torch.Tensors; got {type(x).__name__} and {type(y).__name__}")
        if x.ndim != 1 or y.shape != x.shape or x.numel() == 0:
            raise ValueError(
                f"`x` and `y` must be non-empty 1-d tensors of one shape; got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        x, y = x.detach().double(), y.detach().double().to(x.device)
        if not bool(torch.isfinite(x).all() & torch.isfinite(y).all()):
            raise ValueError("`x` and `y` must be finite")
        if x.numel() > 1 and not bool((x[1:] > x[:-1]).all()):
            raise ValueError("`x` must be strictly increasing")
        if x.numel() > 1 and not bool((y[1:] >= y[:-1]).all()):
            raise ValueError("`y` must be non-decreasing")
        if not bool(((y >= 0) & (y <= 1)).all()):
            raise ValueError(
                f"`y` must be probabilities in [0, 1]; got values from {float(y.min()):g} to {float(y.max()):g}"
            )
        self.register_buffer("x", x.clone())
        self.register_buffer("y", y.clone())

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        z = _float_input(logits, "IsotonicCalibrator")
        s = _binary_score(z, "IsotonicCalibrator").double()
        p = _interp(s, self.x.to(s.device), self.y.to(s.device))
        return _binary_output(p.to(z.dtype), (1 - p).to(z.dtype), z)

    def extra_repr(self) -> str:
        return f"knots={self.x.numel()}"

    @property
    def display_name(self) -> str:
        return "isotonic"

    @classmethod
    def _from_saved(cls, config, state):
        return cls(state["x"], state["y"])


_CALIBRATORS = {c.__name__: c for c in (TemperatureScaler, PlattScaler, IsotonicCalibrator)}


def _interp(s: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Linear interpolation with clipping, scipy ``interp1d``'s arithmetic (``slope * (s - x_lo) + y_lo``)."""
    if x.numel() == 1:
        return y.expand(s.shape).clone()
    s = s.clamp(x[0], x[-1])
    hi = torch.searchsorted(x, s, side="left").clamp(1, x.numel() - 1)
    lo = hi - 1
    x_lo, y_lo = x[lo], y[lo]
    slope = (y[hi] - y_lo) / (x[hi] - x_lo)
    return slope * (s - x_lo) + y_lo


# ============================================================================ fitting stages


def _fit_input(logits, target, *, task, num_classes, ignore_index, who: str):
    """Check logits and target with the library's stages, format them once; ``(logits, target, valid, layout)``.

    The logits are the formatted scores before any activation, every column, in float64.
    """
    opts = _checks.check_options(task=task, num_classes=num_classes, activation=None, ignore_index=ignore_index)
    layout = _checks.check_layout(logits, target, opts)
    _checks.check_values(logits, target, layout, opts)
    if logits.is_floating_point() and not bool(torch.isfinite(logits).all()):
        raise ValueError(f"{who} needs finite `logits`; got +-inf (float16 overflow?)")
    f = format_inputs(logits, target, layout, opts)
    return f.logits.double(), f.target, f.valid, layout


def minimise_lbfgs(params: torch.Tensor, loss_fn, max_iter: int) -> torch.Tensor:
    """Minimise ``loss_fn(params)`` with L-BFGS (strong Wolfe line search); also under no_grad / inference mode."""
    with torch.inference_mode(False), torch.enable_grad():
        p = params.detach().clone().requires_grad_(True)
        opt = torch.optim.LBFGS(
            [p],
            lr=1.0,
            max_iter=max_iter,
            tolerance_grad=1e-12,
            tolerance_change=1e-15,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure():
            opt.zero_grad()
            loss = loss_fn(p)
            loss.backward()
            return loss

        opt.step(closure)
        return p.detach().clone()


def _autograd_ready(*tensors):
    """The tensors, with those made under ``torch.inference_mode`` cloned so that autograd may save them.

    Call inside ``torch.inference_mode(False)``: Lightning runs validation (and
    its epoch-end hooks) in inference mode.
    """
    return tuple(t.clone() if t is not None and t.is_inference() else t for t in tensors)


def temperature_problem(z: torch.Tensor, y: torch.Tensor, valid: Optional[torch.Tensor], softmax: bool):
    """``(loss of log T, reason)``: the mean NLL, and why it has no minimum over T > 0 (None if it has one).

    ``z``: float64 logits, ``(N, C)`` with a softmax, else ``(N,)`` or
    ``(N, C)`` (multilabel, ``valid`` its kept entries) with a sigmoid.

    In ``beta = 1 / T`` the NLL is convex, with slope ``mean(E_p[z] - z_y)``
    (softmax) or ``-mean(s * sigmoid(-beta * s))``, ``s = +-z`` (sigmoid). A
    minimum at a finite T > 0 exists iff the slope is negative at beta = 0
    (the logits beat the uniform prediction) and positive as beta -> inf
    (some sample is on the wrong side: otherwise T -> 0 always helps).
    """
    with torch.inference_mode(False):
        return _temperature_loss(*_autograd_ready(z, y, valid), softmax)


def _temperature_loss(z: torch.Tensor, y: torch.Tensor, valid, softmax: bool):
    if softmax:
        z_true = z.gather(1, y.unsqueeze(1)).squeeze(1)
        slope0 = (z.mean(1) - z_true).mean()
        wrong = bool((z_true < z.max(1).values).any())

        def loss(log_t):
            lp = torch.log_softmax(z * torch.exp(-log_t), dim=1)
            return -lp.gather(1, y.unsqueeze(1)).mean()
    else:
        s = torch.where(y, z, -z)
        if valid is not None:
            s = s[valid]
        slope0 = -s.mean() / 2
        wrong = bool((s < 0).any())

        def loss(log_t):
            return -torch.nn.functional.logsigmoid(s * torch.exp(-log_t)).mean()

    if not bool(slope0 < 0):
        return loss, "the logits do no better than a uniform prediction (the NLL keeps falling as T grows)"
    if not wrong:
        return loss, "every sample is on the right side with a margin (the NLL keeps falling as T shrinks to 0)"
    return loss, None


# ============================================================================ the fits


def fit_temperature(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    ignore_index: Optional[int] = None,
    max_iter: int = 100,
) -> TemperatureScaler:
    """Fit one temperature ``T > 0`` minimising the NLL of ``softmax(logits / T)`` (L-BFGS on ``log T``).

    Multiclass logits ``(N, C)`` use a softmax; binary logits ``(N,)`` /
    ``(N, 1)`` a sigmoid and ``(N, 2)`` a softmax over the two; multilabel
    ``(N, C)`` a sigmoid per label with one shared T. Runs in float64 on the
    device of ``logits``, also under ``torch.no_grad`` / ``inference_mode``.

    Args:
        logits: raw model outputs (not probabilities: pass ``log(probs)`` for those).
        target: labels, as for :func:`auroc_callbacks.auroc`.
        task, num_classes, ignore_index: as for :func:`auroc_callbacks.auroc`.
        max_iter: L-BFGS iterations (int >= 1).

    Returns:
        A :class:`TemperatureScaler` on the device of ``logits``.

    Raises:
        ValueError: bad input (as :func:`auroc_callbacks.auroc`), non-finite
            logits, rows that are probability distributions (multiclass), or
            data whose NLL has no minimum over T > 0: every sample classified
            right with a margin (T -> 0) or logits no better than uniform (T -> inf).

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import calibration_error, fit_temperature
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 3, (2000,), generator=g)
        >>> logits = 3 * (torch.nn.functional.one_hot(y, 3) + torch.randn(2000, 3, generator=g))  # over-confident
        >>> ts = fit_temperature(logits, y)
        >>> round(float(ts.temperature), 2)
        2.78
        >>> bool(calibration_error(ts(logits), y) < calibration_error(logits, y))
        True
    """
    check_params(_RULES, max_iter=max_iter)
    z, y, valid, layout = _fit_input(
        logits, target, task=task, num_classes=num_classes, ignore_index=ignore_index, who="fit_temperature"
    )
    softmax = layout.task == "multiclass"
    if softmax and decide_activation(z, logits.dtype, layout, "auto") is None:
        raise ValueError(
            "fit_temperature needs logits, and every row of `logits` is a probability distribution;"
            " pass torch.log(probs) to temperature-scale probabilities"
        )
    if layout.task == "binary":
        z = _binary_score(z, "fit_temperature")
    loss, reason = temperature_problem(z, y, valid, softmax)
    if reason is not None:
        raise ValueError(f"fit_temperature: no temperature minimises the NLL: {reason}")
    log_t = minimise_lbfgs(torch.zeros((), dtype=torch.float64, device=z.device), loss, max_iter)
    scaler = TemperatureScaler(float(torch.exp(log_t)), task=layout.task)
    return scaler.to(z.device)


def fit_platt(
    logits: torch.Tensor, target: torch.Tensor, *, ignore_index: Optional[int] = None, max_iter: int = 100
) -> PlattScaler:
    """Fit Platt scaling ``sigmoid(a * s + b)`` to a binary score by maximum likelihood (L-BFGS, float64).

    ``s`` is the logit of a one-logit head (``(N,)`` or ``(N, 1)``) or
    ``z1 - z0`` of a two-logit head (``(N, 2)``). The fit is an unpenalised
    logistic regression on ``s``: scikit-learn's
    ``LogisticRegression(C=numpy.inf).fit(s[:, None], y)`` gives the same
    ``coef_`` (``a``) and ``intercept_`` (``b``). No target smoothing
    (Platt's prior correction) is applied.

    Args:
        logits: binary logits (or any increasing score).
        target: 0/1 labels.
        ignore_index: samples with this target are dropped.
        max_iter: L-BFGS iterations (int >= 1).

    Returns:
        A :class:`PlattScaler` on the device of ``logits``.

    Raises:
        ValueError: bad input, a single class, or scores that separate the
            classes (every positive above every negative, or below): the
            likelihood then has no maximum (``a -> +-inf``).

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import fit_platt
        >>> s = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5])
        >>> platt = fit_platt(s, torch.tensor([0, 0, 1, 0, 1, 1]))
        >>> round(float(platt.a), 4), round(float(platt.b), 4)
        (1.1947, -0.1459)
    """
    check_params(_RULES, max_iter=max_iter)
    z, y, _, _ = _fit_input(logits, target, task="binary", num_classes=None, ignore_index=ignore_index, who="fit_platt")
    s = _binary_score(z, "fit_platt")
    pos, neg = s[y], s[~y]
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError(
            "fit_platt needs both classes in `target`; got only " + ("negatives" if pos.numel() == 0 else "positives")
        )
    if bool(s.min() == s.max()):  # one score for everyone: the maximum is a = 0, b = logit(fraction of positives)
        rate = pos.numel() / s.numel()
        return PlattScaler(0.0, math.log(rate / (1 - rate))).to(s.device)
    if not bool((pos.min() < neg.max()) & (pos.max() > neg.min())):
        raise ValueError(
            "fit_platt: the scores separate the classes (no positive scores inside the negatives' range, or the"
            " reverse), so the likelihood has no maximum (a -> +-inf); use fit_isotonic or more data"
        )
    with torch.inference_mode(False):
        s, y = _autograd_ready(s, y)
        mu, sd = s.mean(), s.std(correction=0)
        u = (s - mu) / sd  # standardised: a well-conditioned problem for L-BFGS
        sign = torch.where(y, 1.0, -1.0).double()

    def loss(ab):
        return -torch.nn.functional.logsigmoid(sign * (ab[0] * u + ab[1])).mean()

    ab = minimise_lbfgs(torch.zeros(2, dtype=torch.float64, device=s.device), loss, max_iter)
    a = ab[0] / sd
    b = ab[1] - ab[0] * mu / sd
    return PlattScaler(float(a), float(b)).to(s.device)


def fit_isotonic(
    scores: torch.Tensor, target: torch.Tensor, *, ignore_index: Optional[int] = None
) -> IsotonicCalibrator:
    """Fit a non-decreasing map from a binary score to the probability of a positive (isotonic regression).

    scikit-learn's ``IsotonicRegression(out_of_bounds="clip").fit(s, y)``:
    the labels are averaged over equal scores, pool-adjacent-violators finds
    the least-squares non-decreasing fit, knots that are redundant (equal to
    both neighbours) are dropped, and prediction interpolates linearly
    between knots and clips outside. ``s`` is as for :func:`fit_platt`; any
    increasing score works (logits or probabilities), predictions use the same.

    Pool-adjacent-violators runs on the device: every run of decreasing
    blocks is pooled at once, round after round, and once a round pools
    fewer than 1 block in 10 the few remaining blocks are finished by the
    sequential stack algorithm (O(blocks)).

    One difference from scikit-learn: scores are tied when equal; scikit-learn
    also merges scores closer than 1e-15 (float64 resolution, absolute).

    Args:
        scores: binary scores ``(N,)``, ``(N, 1)`` or ``(N, 2)``.
        target: 0/1 labels.
        ignore_index: samples with this target are dropped.

    Returns:
        An :class:`IsotonicCalibrator` on the device of ``scores``. It can
        create ties (flat steps): the AUROC of its output can differ from the
        score's.

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import fit_isotonic
        >>> s = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        >>> iso = fit_isotonic(s, torch.tensor([0, 1, 0, 0, 1, 1]))
        >>> iso.x.tolist(), iso.y.tolist()
        ([1.0, 2.0, 4.0, 5.0, 6.0], [0.0, 0.3333333333333333, 0.3333333333333333, 1.0, 1.0])
        >>> iso(torch.tensor([0.0, 4.5, 9.0]))
        tensor([0.0000, 0.6667, 1.0000])
    """
    z, y, _, _ = _fit_input(
        scores, target, task="binary", num_classes=None, ignore_index=ignore_index, who="fit_isotonic"
    )
    s = _binary_score(z, "fit_isotonic")
    order = torch.sort(s, stable=True).indices
    xs, ys = s[order], y[order].double()
    ux, inverse, counts = torch.unique_consecutive(xs, return_inverse=True, return_counts=True)
    w = counts.double()
    mean_y = torch.zeros_like(w).index_add_(0, inverse, ys) / w
    fitted = _pava(mean_y, w)
    keep = torch.ones_like(fitted, dtype=torch.bool)
    if fitted.numel() > 2:  # scikit-learn's trim: drop a knot equal to both neighbours
        keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return IsotonicCalibrator(ux[keep], fitted[keep])


def _pava(m: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted least-squares non-decreasing fit of ``m`` (weights ``w``), float64, on the device."""
    n = m.numel()
    # Equal neighbours are never split by the solution: start from runs of equal values.
    start = torch.ones(n, dtype=torch.bool, device=m.device)
    start[1:] = m[1:] != m[:-1]
    block = torch.cumsum(start, 0) - 1  # element -> block
    n_blocks = int(block[-1]) + 1
    total = torch.zeros(n_blocks, dtype=torch.float64, device=m.device).index_add_(0, block, m * w)
    weight = torch.zeros(n_blocks, dtype=torch.float64, device=m.device).index_add_(0, block, w)
    while total.numel() > 1:
        mean = total / weight
        violates = mean[:-1] > mean[1:]
        n_viol = int(violates.sum())
        if n_viol == 0:
            return mean[block]
        if n_viol * 10 < total.numel():
            break
        # Pool every run of decreasing blocks (a valid order of pooling adjacent violators).
        keep = torch.ones(total.numel(), dtype=torch.bool, device=m.device)
        keep[1:] = ~violates
        remap = torch.cumsum(keep, 0) - 1
        size = int(remap[-1]) + 1
        total = torch.zeros(size, dtype=torch.float64, device=m.device).index_add_(0, remap, total)
        weight = torch.zeros(size, dtype=torch.float64, device=m.device).index_add_(0, remap, weight)
        block = remap[block]
    if total.numel() == 1:
        return (total / weight)[block]
    # Few blocks left and little progress per round: the sequential stack algorithm, O(blocks).
    sums, weights, members = [], [], []
    for t, wt in zip(total.tolist(), weight.tolist()):
        k = 1
        while sums and sums[-1] / weights[-1] > t / wt:
            t += sums.pop()
            wt += weights.pop()
            k += members.pop()
        sums.append(t)
        weights.append(wt)
        members.append(k)
    means = torch.tensor(sums, dtype=torch.float64) / torch.tensor(weights, dtype=torch.float64)
    group = torch.repeat_interleave(torch.arange(len(members)), torch.tensor(members))
    return means[group].to(m.device)[block]
