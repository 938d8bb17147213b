"""Calibration: ECE, MCE, Brier score, NLL, reliability diagrams and post-hoc calibrators, in torch.

AUROC scores a ranking and ignores whether the probabilities mean what they
say; this module measures that, and fixes it after training.

* Metrics, on the device of the inputs, from logits or probabilities, with
  the options and the once-per-input activation decision of
  :func:`auroc_callbacks.auroc`: :func:`calibration_error` (ECE with
  ``norm="l1"``, MCE with ``norm="max"``; equal-width or equal-mass bins),
  :func:`brier_score`, :func:`nll`, and :func:`reliability` (the per-bin
  numbers of a reliability diagram, :func:`plot_reliability` draws them).
* Calibrators fitted on validation logits, on their device:
  :func:`fit_temperature`, :func:`fit_platt`, :func:`fit_isotonic`. Each
  returns a small :class:`Calibrator` module whose ``forward(logits)`` gives
  calibrated probabilities; ``model = calibrator.wrap(model)`` makes a model
  output them; ``save`` / ``Calibrator.load`` store and restore it.
* For training loops: :func:`calibration_summary` (every number of an epoch,
  with the ECE after a temperature fit on the same data) and
  :func:`log_calibration` (to a TensorBoard ``SummaryWriter``).

What is binned, per task:

* **binary**: the probability of the positive class against the fraction of
  positives, scikit-learn's ``calibration_curve`` view (so a model that always
  says 0.5 on balanced data is perfectly calibrated).
* **multiclass**: top-label: the confidence ``max_c p_c`` against whether the
  argmax class is right (Guo et al., 2017).
* **multilabel**: each label as a binary problem; ``average="macro"`` (default)
  averages the per-label values, ``"micro"`` pools every (sample, label)
  entry, ``None`` returns the per-label vector.

Bins follow ``calibration_curve`` exactly: equal-width edges
``numpy.linspace(0, 1, n_bins + 1)`` or equal-mass edges
``numpy.percentile`` (linear interpolation), a value on an inner edge falls
in the lower bin, and empty bins are left out. ECE is
``sum_b (n_b / n) |accuracy_b - confidence_b|``; MCE the largest gap over the
non-empty bins. Sums run in float64; counts in int64.

Everything is vectorised (bucketize and index_add, no Python loop over samples
or bins) and avoids the operations that ``torch.use_deterministic_algorithms``
refuses on CUDA. matplotlib and tensorboard are imported only inside the
functions that draw and log.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import nn

from . import _checks, _optional
from ._checks import Layout, Options
from .accumulator import data_or_epoch
from ._checks import UndefinedAUROCWarning
from ._format import decide_activation, format_inputs

__all__ = [
    "UndefinedCalibrationWarning",
    "Reliability",
    "CalibrationSummary",
    "calibration_error",
    "brier_score",
    "nll",
    "reliability",
    "plot_reliability",
    "Calibrator",
    "TemperatureScaler",
    "PlattScaler",
    "IsotonicCalibrator",
    "CalibratedModel",
    "fit_temperature",
    "fit_platt",
    "fit_isotonic",
    "calibration_summary",
    "log_calibration",
]

STRATEGIES = ("uniform", "quantile")
NORMS = ("l1", "max")
AVERAGES = ("macro", "micro", None)
#: options of :func:`auroc_callbacks.auroc` that say what the scores are.
_DATA_OPTIONS = ("task", "num_classes", "activation", "ignore_index")


class UndefinedCalibrationWarning(UndefinedAUROCWarning):
    """A calibration number is undefined (NaN scores, a label with no sample, no temperature minimum).

    The affected values are NaN. A subclass of
    :class:`~auroc_callbacks.UndefinedAUROCWarning`, so one filter silences
    every undefined-metric warning of the library.
    """


class Reliability(NamedTuple):
    """The numbers of a reliability diagram, one entry per bin.

    For multilabel input with ``average=None`` every field has a leading
    label dimension: ``(C, n_bins)`` (edges ``(C, n_bins + 1)``).

    Attributes:
        confidence: mean predicted probability (binary, multilabel) or mean
            top-label confidence (multiclass) in each bin; NaN where empty.
            scikit-learn's ``prob_pred``. float64.
        accuracy: fraction of positives (binary, multilabel) or of correct
            argmax decisions (multiclass) in each bin; NaN where empty.
            scikit-learn's ``prob_true``. float64.
        count: samples in each bin, int64.
        edges: the ``n_bins + 1`` bin edges, float64.
    """

    confidence: torch.Tensor
    accuracy: torch.Tensor
    count: torch.Tensor
    edges: torch.Tensor


class CalibrationSummary(NamedTuple):
    """Every calibration number of an epoch, from :func:`calibration_summary`.

    Scalars are float64 0-d tensors on the device of the inputs, NaN where
    undefined (one :class:`UndefinedCalibrationWarning` said why).

    Attributes:
        ece: expected calibration error (multilabel: the ``average`` over labels).
        mce: maximum calibration error.
        brier: Brier score (:func:`brier_score`).
        nll: mean negative log-likelihood (:func:`nll`).
        ece_tempered: ECE after temperature scaling fitted on the same data
            (:func:`fit_temperature`; binary: ``sigmoid(z / T)``). An optimistic
            figure, since T is fitted on the data it is scored on: it says how
            much of the ECE one scalar can remove.
        temperature: the fitted T (> 1: the model was over-confident).
        reliability: :class:`Reliability` of the predictions (multilabel: every
            (sample, label) entry pooled).
        reliability_tempered: :class:`Reliability` after temperature scaling.
        num_samples: samples scored (after ``ignore_index``).
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
        strategy: ``"uniform"`` or ``"quantile"``.
    """

    ece: torch.Tensor
    mce: torch.Tensor
    brier: torch.Tensor
    nll: torch.Tensor
    ece_tempered: torch.Tensor
    temperature: torch.Tensor
    reliability: Reliability
    reliability_tempered: Reliability
    num_samples: int
    task: str
    strategy: str


# ============================================================================ checks


def _check_bins(n_bins, strategy) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral):
        raise TypeError(f"`n_bins` must be an int >= 1; got {type(n_bins).__name__} {n_bins!r}")
    if n_bins < 1:
        raise ValueError(f"`n_bins` must be >= 1; got {n_bins!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of 'uniform', 'quantile'; got {strategy!r}")


def _check_average(average, allowed=AVERAGES) -> None:
    if average not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"`average` must be one of {choices} for a calibration metric; got {average!r}")


def _checked(preds, target, *, task=None, num_classes=None, activation="auto", ignore_index=None):
    """Options, layout and values checked by the library's own stages; returns ``(layout, opts)``."""
    opts = _checks.check_options(task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index)
    layout = _checks.check_layout(preds, target, opts)
    _check_activation(layout, opts)
    _checks.check_values(preds, target, layout, opts)
    return layout, opts


def _check_activation(layout: Layout, opts: Options) -> None:
    if layout.task == "multiclass" and opts.activation == "sigmoid":
        raise ValueError(
            "`activation='sigmoid'` does not give multiclass probabilities (the rows would not sum to 1);"
            " use 'auto', 'softmax' or None"
        )


# ============================================================================ formatting


class _Prepared(NamedTuple):
    """The inputs as probabilities (and log-likelihoods and logits), after ``ignore_index``."""

    task: str
    probs: torch.Tensor  # (N,) P(positive) binary; (N, C) otherwise
    target: torch.Tensor  # (N,) bool binary, (N,) int64 multiclass, (N, C) bool multilabel
    valid: Optional[torch.Tensor]  # (N, C) multilabel entries kept by ignore_index
    loglik: Optional[torch.Tensor]  # float64 log-probability of the observed label: (N,), or (N, C) multilabel
    logits: Optional[torch.Tensor]  # float64 logits that a temperature divides: (N,) binary, (N, C) otherwise


def _prepare(preds, target, layout: Layout, opts: Options, *, likelihood: bool = False) -> _Prepared:
    """Format once (the library's ``_format``) and activate as :func:`auroc_callbacks.probabilities` does.

    The probabilities are bitwise the ones the AUROC ranks. With
    ``likelihood``, also the log-likelihoods and the logits: from the logits
    (``log_softmax`` / ``logsigmoid`` in float64: no overflow, no ``log(0)``)
    when the task's own activation applies, else from the probabilities
    clipped to ``[eps, 1 - eps]`` of their dtype (scikit-learn's ``log_loss``).
    """
    raw = format_inputs(preds, target, layout._replace(binary_column=None), opts._replace(activation=None))
    z = raw.scores if raw.scores.is_floating_point() else raw.scores.double()
    act = decide_activation(z, preds.dtype, layout, opts.activation)
    two = layout.binary_column is not None  # a two-logit binary head
    if act == "softmax":
        p = torch.softmax(z, dim=1)  # bitwise the AUROC's probabilities
    elif act == "sigmoid":
        p = torch.sigmoid(z)
    else:
        lo, hi = torch.aminmax(z)
        if bool((lo < 0) | (hi > 1)):
            raise ValueError(
                "calibration needs probabilities in [0, 1]: with activation=None `preds` holds values from"
                f" {float(lo):.4g} to {float(hi):.4g} (pass logits with activation='auto')"
            )
        p = z
    y = raw.target
    probs = p[:, 1] if two else p
    if not likelihood:
        return _Prepared(layout.task, probs, y, raw.valid, None, None)

    multiclass = layout.task == "multiclass"
    if act == "softmax" and (multiclass or two) or act == "sigmoid" and not two:
        zz = z.double()
        if multiclass:
            lg, ll = zz, torch.log_softmax(zz, 1).gather(1, y.unsqueeze(1)).squeeze(1)
        else:
            lg = zz[:, 1] - zz[:, 0] if two else zz  # softmax over two logits: sigmoid of their difference
            ll = torch.nn.functional.logsigmoid(torch.where(y, lg, -lg))
    else:  # probabilities
        # scikit-learn's log_loss: eps of the input's own float dtype, float64's for int and bool input
        eps = torch.finfo(preds.dtype if preds.is_floating_point() else torch.float64).eps
        q = probs.double()
        log_p = q.clamp(eps, 1 - eps).log()
        if multiclass:
            lg, ll = log_p, log_p.gather(1, y.unsqueeze(1)).squeeze(1)
        else:
            log_q = (1 - q).clamp(eps, 1 - eps).log()
            lg, ll = log_p - log_q, torch.where(y, log_p, log_q)
    return _Prepared(layout.task, probs, y, raw.valid, ll, lg)


def _entries(prep: _Prepared, average):
    """``(conf, hit, valid)`` as (N, L) columns to bin: the positive class, top-label, or each label."""
    if prep.task == "binary":
        return prep.probs.double().unsqueeze(1), prep.target.double().unsqueeze(1), None
    if prep.task == "multiclass":
        pred = prep.probs.argmax(1, keepdim=True)
        conf = prep.probs.gather(1, pred).double()
        return conf, (pred.squeeze(1) == prep.target).double().unsqueeze(1), None
    conf, hit, valid = prep.probs.double(), prep.target.double(), prep.valid
    if average == "micro":
        conf, hit = conf.reshape(-1, 1), hit.reshape(-1, 1)
        valid = None if valid is None else valid.reshape(-1, 1)
    return conf, hit, valid


# ============================================================================ binning


class _Bins(NamedTuple):
    count: torch.Tensor  # (L, B) int64
    sum_conf: torch.Tensor  # (L, B) float64
    sum_hit: torch.Tensor  # (L, B) float64
    edges: torch.Tensor  # (L, B + 1) float64


def _fractions(n_bins: int, device) -> torch.Tensor:
    """``numpy.linspace(0, 1, n_bins + 1)`` bit for bit (``i * (1 / n)``, the last set to 1)."""
    q = torch.arange(n_bins + 1, dtype=torch.float64, device=device) * (1.0 / n_bins)
    q[-1] = 1.0
    return q


def _quantile_edges(conf: torch.Tensor, valid: Optional[torch.Tensor], n_bins: int) -> torch.Tensor:
    """Per column, ``numpy.percentile(x, 100 * linspace(0, 1, n_bins + 1))`` (method 'linear') bit for bit."""
    n_rows, n_cols = conf.shape
    x = conf if valid is None else conf.masked_fill(~valid, float("nan"))
    xs = torch.sort(x.T, dim=1).values  # (L, N); NaN (ignored entries) sort last
    if valid is None:
        n = torch.full((n_cols, 1), n_rows, dtype=torch.int64, device=conf.device)
    else:
        n = valid.sum(0, dtype=torch.int64).unsqueeze(1)
    q = _fractions(n_bins, conf.device) * 100 / 100  # percentile's q / 100
    vidx = (n - 1).double() * q  # (L, B + 1), numpy's virtual indexes (n - 1) * q
    prev = torch.floor(vidx)
    gamma = vidx - prev
    prev_i = prev.long()
    above = vidx >= (n - 1).double()
    prev_i = torch.where(above, n - 1, prev_i).clamp_min(0)
    next_i = torch.where(above, n - 1, prev_i + 1).clamp_min(0)
    a, b = xs.gather(1, prev_i), xs.gather(1, next_i)
    diff = b - a
    return torch.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)  # numpy's _lerp


def _bin(conf, hit, valid, n_bins: int, strategy: str) -> _Bins:
    """Bin (N, L) columns at once: one searchsorted, one bincount, two index_adds."""
    n_rows, n_cols = conf.shape
    device = conf.device
    if strategy == "uniform":
        edges = _fractions(n_bins, device).expand(n_cols, n_bins + 1)
    else:
        edges = _quantile_edges(conf, valid, n_bins)
    inner = edges[:, 1:-1].contiguous()
    idx = torch.searchsorted(inner, conf.T.contiguous(), side="left")  # a value on an edge: the lower bin
    idx = idx + torch.arange(n_cols, device=device).unsqueeze(1) * n_bins
    c, h = conf.T, hit.T
    if valid is not None:
        keep = valid.T
        idx, c, h = idx[keep], c[keep], h[keep]
    idx, c, h = idx.reshape(-1), c.reshape(-1), h.reshape(-1)
    size = n_cols * n_bins
    count = torch.bincount(idx, minlength=size)
    zeros = torch.zeros(size, dtype=torch.float64, device=device)
    sum_conf = zeros.index_add(0, idx, c)
    sum_hit = zeros.index_add(0, idx, h)
    shape = (n_cols, n_bins)
    return _Bins(count.view(shape), sum_conf.view(shape), sum_hit.view(shape), edges.contiguous())


def _errors(bins: _Bins) -> Tuple[torch.Tensor, torch.Tensor]:
    """(ECE, MCE) per column; NaN for a column without samples."""
    gap = (bins.sum_hit - bins.sum_conf).abs()
    n = bins.count.sum(1)
    ece = gap.sum(1) / n.double()
    filled = bins.count > 0
    per_bin = torch.where(filled, gap / bins.count.clamp_min(1).double(), torch.full_like(gap, -1.0))
    mce = per_bin.max(1).values
    mce = torch.where(n > 0, mce, torch.full_like(mce, float("nan")))
    return ece, mce


def _reliability(bins: _Bins) -> Reliability:
    cnt = bins.count.double()
    nan = torch.full_like(cnt, float("nan"))
    filled = bins.count > 0
    conf = torch.where(filled, bins.sum_conf / cnt.clamp_min(1), nan)
    acc = torch.where(filled, bins.sum_hit / cnt.clamp_min(1), nan)
    return Reliability(conf, acc, bins.count, bins.edges)


def _reduce(per_column: torch.Tensor, task: str, average) -> torch.Tensor:
    """A 0-d value for binary/multiclass; multilabel: per label, or the mean over the defined labels."""
    if task != "multilabel" or average == "micro":
        return per_column[0]
    if average is None:
        return per_column
    defined = ~torch.isnan(per_column)
    if not bool(defined.any()):
        return per_column.new_tensor(float("nan"))
    return per_column[defined].mean()


def _warn_empty_labels(prep: _Prepared, average) -> None:
    """One warning for the multilabel labels whose every entry is ``ignore_index`` (their values are NaN)."""
    if prep.valid is None or average == "micro":
        return
    empty = (~prep.valid.any(0)).nonzero(as_tuple=True)[0].tolist()
    if empty:
        tail = "" if average is None else ", left out of the 'macro' average"
        _checks.warn(
            f"calibration is undefined for label(s) {empty}: every entry is `ignore_index`; NaN{tail}",
            UndefinedCalibrationWarning,
        )


def _column_mean(values: torch.Tensor, valid: Optional[torch.Tensor]) -> torch.Tensor:
    """(N, L) -> (L,) mean over the valid rows of each column (NaN where none)."""
    if valid is None:
        return values.mean(0)
    n = valid.sum(0, dtype=torch.int64)
    total = torch.where(valid, values, torch.zeros_like(values)).sum(0)
    return torch.where(n > 0, total / n.clamp_min(1).double(), torch.full_like(total, float("nan")))


def _as_columns(values: torch.Tensor, prep: _Prepared, average):
    """Per-sample (binary, multiclass) or per-entry (multilabel) values as (N, L) columns and their mask."""
    if values.ndim == 1:
        return values.unsqueeze(1), None
    if average == "micro":
        return values.reshape(-1, 1), None if prep.valid is None else prep.valid.reshape(-1, 1)
    return values, prep.valid


# ============================================================================ metrics


def calibration_error(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    n_bins: int = 15,
    strategy: str = "uniform",
    norm: str = "l1",
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = "macro",
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
) -> torch.Tensor:
    """Expected (``norm="l1"``) or maximum (``norm="max"``) calibration error.

    ECE is ``sum_b (n_b / n) |accuracy_b - confidence_b|`` over the bins, MCE
    the largest ``|accuracy_b - confidence_b|`` over the non-empty bins. What
    is binned depends on the task (see the module docstring): the
    positive-class probability (binary), the top-label confidence
    (multiclass), each label (multilabel). The bins are those of
    ``sklearn.calibration.calibration_curve``: see :func:`reliability`.

    Args:
        preds: logits or probabilities, as for :func:`auroc_callbacks.auroc`:
            ``(N,)``, ``(N, 1)`` or ``(N, 2)`` binary, ``(N, C)`` multiclass
            or multilabel.
        target: ``(N,)`` labels, or ``(N, C)`` 0/1 for multilabel.
        n_bins: number of bins (int >= 1).
        strategy: ``"uniform"`` (equal-width bins on [0, 1]) or ``"quantile"``
            (equal-mass: edges at the quantiles of the binned probabilities).
        norm: ``"l1"`` (ECE) or ``"max"`` (MCE).
        task, num_classes, activation, ignore_index: as for
            :func:`auroc_callbacks.auroc`; the activation is decided the same
            way, once for the whole input (``activation="sigmoid"`` is refused
            for multiclass: its rows would not be distributions).
        average: multilabel only: ``"macro"`` (mean over labels), ``"micro"``
            (every entry pooled) or None (per label). Ignored otherwise.

    Returns:
        float64 tensor on the device of ``preds``: 0-d, or ``(C,)`` for
        multilabel with ``average=None``. In ``[0, 1]``; MCE >= ECE.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> p = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0])
        >>> y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1])
        >>> ac.calibration_error(p, y, n_bins=3)  # (3 * |0 - 0.2| + 2 * |0.5 - 0.525| + 4 * |1 - 0.85|) / 9
        tensor(0.1389, dtype=torch.float64)
        >>> ac.calibration_error(p, y, n_bins=3, norm="max")
        tensor(0.2000, dtype=torch.float64)
    """
    _check_bins(n_bins, strategy)
    if norm not in NORMS:
        raise ValueError(f"`norm` must be one of 'l1', 'max'; got {norm!r}")
    _check_average(average)
    layout, opts = _checked(preds, target, task=task, num_classes=num_classes, activation=activation,
                            ignore_index=ignore_index)
    prep = _prepare(preds, target, layout, opts)
    _warn_empty_labels(prep, average)
    ece, mce = _errors(_bin(*_entries(prep, average), n_bins, strategy))
    return _reduce(ece if norm == "l1" else mce, prep.task, average)


def reliability(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    n_bins: int = 15,
    strategy: str = "uniform",
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = None,
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
) -> Reliability:
    """Per-bin mean confidence, accuracy and count: the numbers of a reliability diagram.

    For binary input, ``confidence`` and ``accuracy`` of the non-empty bins
    are ``prob_pred`` and ``prob_true`` of
    ``sklearn.calibration.calibration_curve(y, p, n_bins=n_bins, strategy=strategy)``,
    same edges and same bin for a value on an edge (the lower one). Multiclass:
    the same for the top-label confidence against argmax correctness.

    Two differences from ``calibration_curve``: empty bins are kept (NaN, count
    0) so that every field has ``n_bins`` entries, and with
    ``strategy="quantile"`` tied probabilities can make bins empty (their
    edges coincide); both drop the same bins.

    Args:
        preds, target, n_bins, strategy, task, num_classes, activation,
            ignore_index: as for :func:`calibration_error`.
        average: multilabel only: None (default, one diagram per label, fields
            ``(C, n_bins)``) or ``"micro"`` (every entry pooled). Diagrams do
            not average, so ``"macro"`` is refused.

    Returns:
        :class:`Reliability`, float64 (count int64), on the device of ``preds``.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> p = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0])
        >>> r = ac.reliability(p, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1]), n_bins=3)
        >>> r.accuracy.tolist(), [round(c, 6) for c in r.confidence.tolist()], r.count.tolist()
        ([0.0, 0.5, 1.0], [0.2, 0.525, 0.85], [3, 2, 4])
    """
    _check_bins(n_bins, strategy)
    _check_average(average, (None, "micro"))
    layout, opts = _checked(preds, target, task=task, num_classes=num_classes, activation=activation,
                            ignore_index=ignore_index)
    prep = _prepare(preds, target, layout, opts)
    _warn_empty_labels(prep, average)
    rel = _reliability(_bin(*_entries(prep, average), n_bins, strategy))
    if prep.task == "multilabel" and average is None:
        return rel
    return Reliability(*(t[0] for t in rel))


def brier_score(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = "macro",
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
) -> torch.Tensor:
    """Brier score, with the convention of ``sklearn.metrics.brier_score_loss`` (scikit-learn >= 1.7).

    * binary: ``mean((p - y)**2)`` with ``p`` the probability of the positive
      class; in [0, 1].
    * multiclass: ``mean over samples of sum_c (p_c - [y == c])**2``; in
      [0, 2]. With two classes this is halved, so that it equals the binary
      value of the same model (scikit-learn's ``scale_by_half="auto"``).
    * multilabel: the binary score of each label, then ``average``.

    Args:
        preds, target, task, num_classes, average, activation, ignore_index:
            as for :func:`calibration_error`.

    Returns:
        float64 tensor on the device of ``preds``: 0-d, or ``(C,)`` for
        multilabel with ``average=None``.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> ac.brier_score(torch.tensor([0.1, 0.9, 0.8, 0.3]), torch.tensor([0, 1, 1, 0]))
        tensor(0.0375, dtype=torch.float64)
        >>> probs = torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.2, 0.2, 0.6]])
        >>> ac.brier_score(probs, torch.tensor([0, 1, 2]))
        tensor(0.1467, dtype=torch.float64)
    """
    return _sample_mean(preds, target, _squared_errors, average, likelihood=False, task=task,
                        num_classes=num_classes, activation=activation, ignore_index=ignore_index)


def _sample_mean(preds, target, values, average, *, likelihood: bool, **options) -> torch.Tensor:
    """Check, prepare, then average ``values(prepared)`` over samples (multilabel: over entries, then labels)."""
    _check_average(average)
    layout, opts = _checked(preds, target, **options)
    prep = _prepare(preds, target, layout, opts, likelihood=likelihood)
    _warn_empty_labels(prep, average)
    return _averaged(values(prep), prep, average)


def _averaged(values: torch.Tensor, prep: _Prepared, average) -> torch.Tensor:
    """Per-sample (N,) or per-entry (N, C) values: their mean, per label for multilabel, then ``average``."""
    return _reduce(_column_mean(*_as_columns(values, prep, average)), prep.task, average)


def _squared_errors(prep: _Prepared) -> torch.Tensor:
    """(N,) per sample (binary, multiclass) or (N, C) per entry (multilabel), float64."""
    p = prep.probs.double()
    if prep.task != "multiclass":
        return (p - prep.target.double()) ** 2
    onehot = torch.nn.functional.one_hot(prep.target, p.shape[1]).double()
    per_sample = ((p - onehot) ** 2).sum(1)
    return per_sample / 2 if p.shape[1] == 2 else per_sample


def nll(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = "macro",
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
) -> torch.Tensor:
    """Mean negative log-likelihood of the targets (log loss, cross-entropy), natural log.

    From logits it is computed stably (``log_softmax`` / ``logsigmoid`` in
    float64: no overflow, no ``log(0)``). From probabilities it is
    ``sklearn.metrics.log_loss``: probabilities clipped to ``[eps, 1 - eps]``
    of the input's dtype (float64's for int and bool input). Multilabel: the binary NLL of each label, then ``average``.

    Args:
        preds, target, task, num_classes, average, activation, ignore_index:
            as for :func:`calibration_error`.

    Returns:
        float64 tensor on the device of ``preds``: 0-d, or ``(C,)`` for
        multilabel with ``average=None``.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> ac.nll(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 1]))  # -log(softmax)
        tensor(0.1269, dtype=torch.float64)
        >>> ac.nll(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]))  # -(log 0.9 + log 0.8) / 2
        tensor(0.1643, dtype=torch.float64)
    """
    return _sample_mean(preds, target, _negative_loglik, average, likelihood=True, task=task,
                        num_classes=num_classes, activation=activation, ignore_index=ignore_index)


def _negative_loglik(prep: _Prepared) -> torch.Tensor:
    return -prep.loglik


# ============================================================================ calibrators

_FILE_FORMAT = "auroc_callbacks.calibrator"
_FILE_VERSION = 1
_HALF = (torch.float16, torch.bfloat16)


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


class Calibrator(nn.Module):
    """Base of the fitted calibrators: ``forward(logits)`` returns calibrated probabilities.

    The output has the layout of the input: ``(N,)`` and ``(N, 1)`` give the
    probability of the positive class, ``(N, 2)`` gives ``[1 - p, p]`` rows,
    ``(N, C)`` gives ``C`` probabilities per row (float32 for half-precision
    input, else the input's dtype). The fitted numbers are buffers, not
    parameters: wrapping a model adds nothing for an optimiser to train.
    """

    def wrap(self, model: nn.Module) -> "CalibratedModel":
        """``model`` followed by this calibrator: ``model = calibrator.wrap(model)`` outputs probabilities."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}")
        return CalibratedModel(model, self)

    def _config(self) -> dict:
        return {}

    def _label(self) -> str:
        return "calibrated"

    @classmethod
    def _from_saved(cls, config: dict, state: dict) -> "Calibrator":
        raise NotImplementedError

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the calibrator (its class, configuration and buffers) to ``path`` with ``torch.save``."""
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        payload = {"format": _FILE_FORMAT, "version": _FILE_VERSION, "class": type(self).__name__,
                   "config": self._config(), "state": state}
        torch.save(payload, path)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], map_location=None) -> "Calibrator":
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
    """

    def __init__(self, model: nn.Module, calibrator: Calibrator):
        super().__init__()
        self.model = model
        self.calibrator = calibrator

    def forward(self, *args, **kwargs):
        return self.calibrator(self.model(*args, **kwargs))


def _real(name: str, value) -> float:
    """A real number for a calibrator's parameter, or a TypeError naming it."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {type(value).__name__} {value!r}")
    return float(value)


class TemperatureScaler(Calibrator):
    """``softmax(logits / T)`` (multiclass, two-logit binary) or ``sigmoid(logits / T)`` (one-logit binary, multilabel).

    One scalar ``T > 0`` (Guo et al., 2017), fitted by :func:`fit_temperature`.
    It never changes a sample's argmax; it never changes the binary or
    per-label AUROC (``z / T`` is increasing in ``z``). The one-vs-rest AUROC
    of a multiclass model *can* change: the order of two samples by
    ``softmax(z / T)_c`` depends on T when their other logits differ.

    Args:
        temperature: T, a finite float > 0.
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"``: which activation follows.

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import TemperatureScaler
        >>> TemperatureScaler(2.0, task="multiclass")(torch.tensor([[2.0, 0.0]]))  # softmax([1, 0])
        tensor([[0.7311, 0.2689]])
    """

    def __init__(self, temperature, *, task: str = "multiclass"):
        super().__init__()
        t = _real("temperature", temperature)
        if not (math.isfinite(t) and t > 0):
            raise ValueError(f"`temperature` must be a finite number > 0; got {temperature!r}")
        if task not in _checks.TASKS:
            raise ValueError(f"`task` must be one of 'binary', 'multiclass', 'multilabel'; got {task!r}")
        self.task = task
        self.register_buffer("temperature", torch.tensor(t, dtype=torch.float64))

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

    def _config(self) -> dict:
        return {"task": self.task}

    def _label(self) -> str:
        return f"temperature-scaled (T = {float(self.temperature):.2f})"

    @classmethod
    def _from_saved(cls, config, state):
        return cls(float(state["temperature"]), task=config["task"])


class PlattScaler(Calibrator):
    """``sigmoid(a * s + b)`` of a binary score ``s``: the logit of a one-logit head, ``z1 - z0`` of a two-logit head.

    Platt (1999) scaling, fitted by :func:`fit_platt`. With ``a > 0`` (a score
    that ranks positives higher) it does not change the AUROC.

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import PlattScaler
        >>> PlattScaler(2.0, -1.0)(torch.tensor([0.5, 1.0]))  # sigmoid([0, 1])
        tensor([0.5000, 0.7311])
    """

    def __init__(self, a, b):
        super().__init__()
        a, b = _real("a", a), _real("b", b)
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"`a` and `b` must be finite; got a={a!r}, b={b!r}")
        self.register_buffer("a", torch.tensor(a, dtype=torch.float64))
        self.register_buffer("b", torch.tensor(b, dtype=torch.float64))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        z = _float_input(logits, "PlattScaler")
        s = _binary_score(z, "PlattScaler") * self.a + self.b
        return _binary_output(torch.sigmoid(s), torch.sigmoid(-s), z)

    def extra_repr(self) -> str:
        return f"a={float(self.a):.6g}, b={float(self.b):.6g}"

    def _label(self) -> str:
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
            raise TypeError("`x` and `y` must be torch.Tensors")
        if x.ndim != 1 or y.shape != x.shape or x.numel() == 0:
            raise ValueError(f"`x` and `y` must be non-empty 1-d tensors of one shape; got {tuple(x.shape)}"
                             f" and {tuple(y.shape)}")
        x, y = x.detach().double(), y.detach().double().to(x.device)
        if not bool(torch.isfinite(x).all() & torch.isfinite(y).all()):
            raise ValueError("`x` and `y` must be finite")
        if x.numel() > 1 and not bool((x[1:] > x[:-1]).all()):
            raise ValueError("`x` must be strictly increasing")
        if x.numel() > 1 and not bool((y[1:] >= y[:-1]).all()):
            raise ValueError("`y` must be non-decreasing")
        if not bool(((y >= 0) & (y <= 1)).all()):
            raise ValueError(f"`y` must be probabilities in [0, 1]; got values from {float(y.min()):g} to {float(y.max()):g}")
        self.register_buffer("x", x.clone())
        self.register_buffer("y", y.clone())

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        z = _float_input(logits, "IsotonicCalibrator")
        s = _binary_score(z, "IsotonicCalibrator").double()
        p = _interp(s, self.x.to(s.device), self.y.to(s.device))
        return _binary_output(p.to(z.dtype), (1 - p).to(z.dtype), z)

    def extra_repr(self) -> str:
        return f"knots={self.x.numel()}"

    def _label(self) -> str:
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


def _fit_input(logits, target, *, task, num_classes, ignore_index, who: str):
    """Check logits and target with the library's stages; return ``(raw scores, target, valid, layout)``."""
    opts = _checks.check_options(task=task, num_classes=num_classes, activation=None, ignore_index=ignore_index)
    layout = _checks.check_layout(logits, target, opts)
    _checks.check_values(logits, target, layout, opts)
    if logits.is_floating_point() and not bool(torch.isfinite(logits).all()):
        raise ValueError(f"{who} needs finite `logits`; got +-inf (float16 overflow?)")
    raw = format_inputs(logits, target, layout._replace(binary_column=None), opts)
    return raw.scores.double(), raw.target, raw.valid, layout


def _lbfgs(params: torch.Tensor, loss_fn, max_iter: int) -> torch.Tensor:
    """Minimise ``loss_fn(params)`` with L-BFGS (strong Wolfe line search); also under no_grad / inference mode."""
    with torch.inference_mode(False), torch.enable_grad():
        p = params.detach().clone().requires_grad_(True)
        opt = torch.optim.LBFGS([p], lr=1.0, max_iter=max_iter, tolerance_grad=1e-12, tolerance_change=1e-15,
                                history_size=20, line_search_fn="strong_wolfe")

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


def _check_max_iter(max_iter) -> None:
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral):
        raise TypeError(f"`max_iter` must be an int >= 1; got {type(max_iter).__name__} {max_iter!r}")
    if max_iter < 1:
        raise ValueError(f"`max_iter` must be >= 1; got {max_iter!r}")


def _temperature_problem(z: torch.Tensor, y: torch.Tensor, valid, softmax: bool):
    """``(loss of log T, reason)``: the mean NLL, and why it has no minimum over T > 0 (None if it has one).

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
        max_iter: L-BFGS iterations.

    Returns:
        A :class:`TemperatureScaler` on the device of ``logits``.

    Raises:
        ValueError: bad input (as :func:`auroc_callbacks.auroc`), non-finite
            logits, rows that are probability distributions (multiclass), or
            data whose NLL has no minimum over T > 0: every sample classified
            right with a margin (T -> 0) or logits no better than uniform (T -> inf).

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 3, (2000,), generator=g)
        >>> logits = 3 * (torch.nn.functional.one_hot(y, 3) + torch.randn(2000, 3, generator=g))  # over-confident
        >>> ts = ac.fit_temperature(logits, y)
        >>> round(float(ts.temperature), 2)
        2.78
        >>> bool(ac.calibration_error(ts(logits), y) < ac.calibration_error(logits, y))
        True
    """
    _check_max_iter(max_iter)
    z, y, valid, layout = _fit_input(logits, target, task=task, num_classes=num_classes, ignore_index=ignore_index,
                                     who="fit_temperature")
    softmax = layout.task == "multiclass"
    if softmax and decide_activation(z, logits.dtype, layout, "auto") is None:
        raise ValueError(
            "fit_temperature needs logits, and every row of `logits` is a probability distribution;"
            " pass torch.log(probs) to temperature-scale probabilities"
        )
    if layout.task == "binary":
        z = _binary_score(z, "fit_temperature")
    loss, reason = _temperature_problem(z, y, valid, softmax)
    if reason is not None:
        raise ValueError(f"fit_temperature: no temperature minimises the NLL: {reason}")
    log_t = _lbfgs(torch.zeros((), dtype=torch.float64, device=z.device), loss, max_iter)
    scaler = TemperatureScaler(float(torch.exp(log_t)), task=layout.task)
    return scaler.to(z.device)


def fit_platt(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    ignore_index: Optional[int] = None,
    max_iter: int = 100,
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
        max_iter: L-BFGS iterations.

    Returns:
        A :class:`PlattScaler` on the device of ``logits``.

    Raises:
        ValueError: bad input, a single class, or scores that separate the
            classes (every positive above every negative, or below): the
            likelihood then has no maximum (``a -> +-inf``).

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> s = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5])
        >>> y = torch.tensor([0, 0, 1, 0, 1, 1])
        >>> platt = ac.fit_platt(s, y)
        >>> round(float(platt.a), 4), round(float(platt.b), 4)
        (1.1947, -0.1459)
    """
    _check_max_iter(max_iter)
    z, y, _, _ = _fit_input(logits, target, task="binary", num_classes=None, ignore_index=ignore_index,
                            who="fit_platt")
    s = _binary_score(z, "fit_platt")
    pos, neg = s[y], s[~y]
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError("fit_platt needs both classes in `target`; got only " + ("negatives" if pos.numel() == 0
                                                                                  else "positives"))
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

    ab = _lbfgs(torch.zeros(2, dtype=torch.float64, device=s.device), loss, max_iter)
    a = ab[0] / sd
    b = ab[1] - ab[0] * mu / sd
    return PlattScaler(float(a), float(b)).to(s.device)


def fit_isotonic(
    scores: torch.Tensor,
    target: torch.Tensor,
    *,
    ignore_index: Optional[int] = None,
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

    Returns:
        An :class:`IsotonicCalibrator` on the device of ``scores``. It can
        create ties (flat steps): the AUROC of its output can differ from the
        score's.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> s = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        >>> iso = ac.fit_isotonic(s, torch.tensor([0, 1, 0, 0, 1, 1]))
        >>> iso.x.tolist(), iso.y.tolist()
        ([1.0, 2.0, 4.0, 5.0, 6.0], [0.0, 0.3333333333333333, 0.3333333333333333, 1.0, 1.0])
        >>> iso(torch.tensor([0.0, 4.5, 9.0]))
        tensor([0.0000, 0.6667, 1.0000])
    """
    z, y, _, _ = _fit_input(scores, target, task="binary", num_classes=None, ignore_index=ignore_index,
                            who="fit_isotonic")
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


# ============================================================================ epoch summary


def _nan_reliability(n_bins: int, device) -> Reliability:
    nan = torch.full((n_bins,), float("nan"), dtype=torch.float64, device=device)
    edges = torch.full((n_bins + 1,), float("nan"), dtype=torch.float64, device=device)
    return Reliability(nan, nan.clone(), torch.zeros(n_bins, dtype=torch.int64, device=device), edges)


def calibration_summary(
    preds: Optional[torch.Tensor] = None,
    target: Optional[torch.Tensor] = None,
    *,
    accumulator=None,
    n_bins: int = 15,
    strategy: str = "uniform",
    average: str = "macro",
    **options,
) -> CalibrationSummary:
    """Every calibration number of an epoch, for a training loop: it warns instead of failing on degenerate data.

    Computes ECE, MCE, Brier, NLL and the reliability diagram from one
    formatting of the inputs, then fits a temperature on the same data
    (:func:`fit_temperature`) and reports the ECE after it. Made for
    callbacks: NaN or +-inf scores (a diverged model) give NaN everywhere and
    one :class:`UndefinedCalibrationWarning`; an epoch whose NLL has no
    temperature minimum (every sample right with a margin, or logits no
    better than uniform) gives NaN ``temperature`` and ``ece_tempered`` and
    one warning. Bad options and bad labels still raise.

    Probabilities are temperature-scaled as ``softmax(log(p) / T)``
    (multiclass) or ``sigmoid(logit(p) / T)``.

    Args:
        preds, target: the epoch's scores and labels, as for :func:`calibration_error`.
        accumulator: an :class:`~auroc_callbacks.AUROCAccumulator` holding the
            epoch instead (its ``task``, ``num_classes``, ``activation`` and
            ``ignore_index`` are used). Under ``torch.distributed`` its
            ``gather`` is a collective call: call this on every rank, or after
            ``compute_scores()`` has cached the gathered epoch.
        n_bins, strategy: as for :func:`calibration_error`.
        average: multilabel: ``"macro"`` or ``"micro"`` for the scalar values
            (the diagram always pools every entry).
        **options: ``task``, ``num_classes``, ``activation``, ``ignore_index``.

    Returns:
        :class:`CalibrationSummary`.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 3, (2000,), generator=g)
        >>> logits = 3 * (torch.nn.functional.one_hot(y, 3) + torch.randn(2000, 3, generator=g))
        >>> s = ac.calibration_summary(logits, y)
        >>> round(float(s.temperature), 2), bool(s.ece_tempered < s.ece)
        (2.78, True)
    """
    _check_bins(n_bins, strategy)
    _check_average(average, ("macro", "micro"))
    unknown = sorted(set(options) - set(_DATA_OPTIONS))
    if unknown:
        raise TypeError(f"calibration_summary got unexpected keyword argument(s) {', '.join(unknown)};"
                        f" options are {', '.join(_DATA_OPTIONS)}")
    preds, target, options = data_or_epoch(preds, target, accumulator, options, _DATA_OPTIONS, given=options)
    opts = _checks.check_options(**options)
    validated = accumulator.validated_layout() if accumulator is not None else None  # its compute checked the epoch
    layout = validated or _checks.check_layout(preds, target, opts)
    _check_activation(layout, opts)
    reason = None if validated else _checks.bad_scores(preds, layout, opts.activation)
    if reason is not None:
        _checks.check_values(torch.zeros_like(preds), target, layout, opts)  # bad labels still raise
        _checks.warn(f"{reason.split(';')[0]}: every calibration number is NaN", UndefinedCalibrationWarning)
        n = int(target.shape[0] if opts.ignore_index is None or layout.task == "multilabel"
                else (target != opts.ignore_index).sum())
        return nan_summary(n_bins, preds.device, n, layout.task, strategy)
    if not validated:
        _checks.check_values(preds, target, layout, opts)
    prep = _prepare(preds, target, layout, opts, likelihood=True)
    _warn_empty_labels(prep, average)

    ece, mce = (_reduce(v, prep.task, average) for v in _errors(_bin(*_entries(prep, average), n_bins, strategy)))
    brier = _averaged(_squared_errors(prep), prep, average)
    nll_value = _averaged(_negative_loglik(prep), prep, average)
    rel = _pooled(prep, n_bins, strategy)

    softmax = prep.task == "multiclass"
    loss, why = _temperature_problem(prep.logits, prep.target, prep.valid, softmax)
    if why is not None:
        _checks.warn(f"temperature scaling is undefined for this epoch: {why}; `temperature` and `ece_tempered`"
                     " are NaN", UndefinedCalibrationWarning)
        temperature = torch.tensor(float("nan"), dtype=torch.float64, device=preds.device)
        ece_t, rel_t = temperature.clone(), _nan_reliability(n_bins, preds.device)
    else:
        temperature = torch.exp(_lbfgs(torch.zeros((), dtype=torch.float64, device=preds.device), loss, 100))
        scaled = prep.logits / temperature
        tempered = prep._replace(probs=torch.softmax(scaled, 1) if softmax else torch.sigmoid(scaled))
        ece_t = _reduce(_errors(_bin(*_entries(tempered, average), n_bins, strategy))[0], prep.task, average)
        rel_t = _pooled(tempered, n_bins, strategy)
    return CalibrationSummary(ece, mce, brier, nll_value, ece_t, temperature, rel, rel_t, int(prep.target.shape[0]),
                              prep.task, strategy)


def nan_summary(n_bins: int, device, num_samples: int, task: str, strategy: str) -> CalibrationSummary:
    """Every number NaN (the reason was warned), empty reliability diagrams."""
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=device)
    rel = _nan_reliability(n_bins, device)
    return CalibrationSummary(nan, nan.clone(), nan.clone(), nan.clone(), nan.clone(), nan.clone(), rel, rel,
                              num_samples, task, strategy)


def _pooled(prep: _Prepared, n_bins: int, strategy: str) -> Reliability:
    """The reliability diagram of the prepared inputs, every multilabel entry pooled: fields (n_bins,)."""
    return Reliability(*(t[0] for t in _reliability(_bin(*_entries(prep, "micro"), n_bins, strategy))))


def log_calibration(
    writer,
    summary: CalibrationSummary,
    *,
    step: int,
    tag: str = "calibration",
    figure: bool = True,
    scalars: bool = True,
) -> None:
    """Write a :class:`CalibrationSummary` to a TensorBoard ``SummaryWriter`` (or anything with ``add_scalar``).

    Tags, for ``tag="calibration"`` (``"val/calibration"`` works too):

    ============================  ========  =============================================
    tag                           kind      value
    ============================  ========  =============================================
    ``calibration/ece``           scalar    ``summary.ece``
    ``calibration/ece_tempered``  scalar    ``summary.ece_tempered``
    ``calibration/mce``           scalar    ``summary.mce``
    ``calibration/brier``         scalar    ``summary.brier``
    ``calibration/nll``           scalar    ``summary.nll``
    ``calibration/temperature``   scalar    ``summary.temperature``
    ``calibration/reliability``   image     the reliability diagram, before and after temperature scaling
    ============================  ========  =============================================

    NaN values are not written (TensorBoard draws them badly; the summary
    already warned), and no figure is drawn for an all-NaN epoch.

    Args:
        writer: ``torch.utils.tensorboard.SummaryWriter`` or anything with
            ``add_scalar(tag, value, global_step=)`` (and ``add_figure`` when ``figure``).
        summary: from :func:`calibration_summary`.
        step: the global step.
        tag: prefix of every tag.
        figure: log the reliability diagram (needs matplotlib).
        scalars: log the scalars (off when they reach TensorBoard another way).

    Raises:
        TypeError: ``writer`` lacks ``add_scalar`` (or ``add_figure`` with
            ``figure=True``), or ``summary``/``step``/``tag`` have the wrong type.
        ModuleNotFoundError: ``figure=True`` and matplotlib is not installed
            (raised before anything is written).

    Example:
        >>> import tempfile, torch, auroc_callbacks as ac
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> logits, y = torch.tensor([-2.0, -1.0, 0.5, 1.0, 2.0, -0.5]), torch.tensor([0, 0, 0, 1, 1, 1])
        >>> s = ac.calibration_summary(logits, y)
        >>> with tempfile.TemporaryDirectory() as logdir:
        ...     with SummaryWriter(logdir) as writer:
        ...         ac.log_calibration(writer, s, step=0)  # calibration/ece, ..., calibration/reliability
    """
    _checks.check_writer(writer, step, tag)
    if figure and not callable(getattr(writer, "add_figure", None)):
        raise TypeError(f"`writer` must have an add_figure method for figure=True; got {type(writer).__name__}")
    if not isinstance(summary, CalibrationSummary):
        raise TypeError(f"`summary` must be a CalibrationSummary; got {type(summary).__name__}")
    if figure:
        _optional.require_matplotlib("log_calibration(figure=True)")  # before anything is written
    tag, step = tag.strip("/"), int(step)
    if scalars:
        for name in ("ece", "ece_tempered", "mce", "brier", "nll", "temperature"):
            value = float(getattr(summary, name))
            if not math.isnan(value):
                writer.add_scalar(f"{tag}/{name}", value, global_step=step)
    if figure and not math.isnan(float(summary.ece)):
        from ._calibration_plot import reliability_figure

        curves = [("model", summary.reliability)]
        if not math.isnan(float(summary.temperature)):
            curves.append((f"temperature-scaled (T = {float(summary.temperature):.2f})", summary.reliability_tempered))
        fig = reliability_figure(curves, summary.task, summary.strategy, pyplot=False)  # no GUI backend needed
        writer.add_figure(f"{tag}/reliability", fig, global_step=step)


def plot_reliability(
    preds: Optional[torch.Tensor] = None,
    target: Optional[torch.Tensor] = None,
    *,
    accumulator=None,
    calibrated: Union[Calibrator, torch.Tensor, None] = None,
    n_bins: int = 15,
    strategy: str = "uniform",
    title: Optional[str] = None,
    **options,
):
    """Draw a reliability diagram: accuracy against confidence per bin, the diagonal, and the counts below.

    The top axes show, per non-empty bin, the fraction of positives
    (binary), of correct argmax decisions (multiclass, top-label) or of
    positive entries (multilabel, every entry pooled) against the mean
    predicted probability, with the ECE in the legend; the bottom axes show
    how many samples each bin holds. ``calibrated`` overlays the same after
    calibration.

    Args:
        preds, target: scores and labels, as for :func:`calibration_error`.
        accumulator: an :class:`~auroc_callbacks.AUROCAccumulator` holding
            the epoch instead (its options are used).
        calibrated: a fitted :class:`Calibrator` (applied to ``preds``) or a
            tensor of calibrated probabilities in the layout of ``preds``.
        n_bins, strategy: as for :func:`calibration_error`.
        title: figure title; default says the sample and bin counts.
        **options: ``task``, ``num_classes``, ``activation``, ``ignore_index``.

    Returns:
        The matplotlib ``Figure``; ``fig.axes[0]`` is the diagram, ``fig.axes[1]`` the counts.

    Raises:
        ModuleNotFoundError: matplotlib is not installed.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> p = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0])
        >>> fig = ac.plot_reliability(p, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1]), n_bins=3)
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['perfectly calibrated', 'model (ECE = 0.139)']
        >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    _optional.require_matplotlib("plot_reliability")
    _check_bins(n_bins, strategy)
    unknown = sorted(set(options) - set(_DATA_OPTIONS))
    if unknown:
        raise TypeError(f"plot_reliability got unexpected keyword argument(s) {', '.join(unknown)};"
                        f" options are {', '.join(_DATA_OPTIONS)}")
    preds, target, options = data_or_epoch(preds, target, accumulator, options, _DATA_OPTIONS, given=options)
    layout, opts = _checked(preds, target, **options)
    curves = [("model", _pooled(_prepare(preds, target, layout, opts), n_bins, strategy))]
    if calibrated is not None:
        if isinstance(calibrated, Calibrator):
            with torch.no_grad():
                after = calibrated(preds)
            name = calibrated._label()
        elif isinstance(calibrated, torch.Tensor):
            after, name = calibrated, "calibrated"
        else:
            raise TypeError(f"`calibrated` must be a Calibrator, a tensor of probabilities or None;"
                            f" got {type(calibrated).__name__}")
        after_layout, after_opts = _checked(after, target, **{**options, "activation": None})  # probabilities
        curves.append((name, _pooled(_prepare(after, target, after_layout, after_opts), n_bins, strategy)))
    from ._calibration_plot import reliability_figure

    return reliability_figure(curves, layout.task, strategy, title=title, pyplot=True)


# ============================================================================ for the callbacks
