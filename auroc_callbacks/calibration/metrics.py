"""Calibration metrics, in torch on the device of the inputs: ECE, MCE, Brier score, log loss, reliability.

Every function takes logits or probabilities with the options of
:func:`auroc_callbacks.auroc`, and bins the probabilities of the library's
one formatting stage (:func:`auroc_callbacks._format.format_inputs`): bitwise
the scores the AUROC ranks, the activation decided once per input.

* :func:`calibration_error` -- ECE (``norm="l1"``) or MCE (``norm="max"``),
  equal-width or equal-mass bins;
* :func:`reliability` -- the per-bin numbers of a reliability diagram
  (:func:`auroc_callbacks.plotting.plot_reliability` draws them);
* :func:`brier_score_loss`, :func:`log_loss` -- scikit-learn's metrics of the same names;
* :func:`calibration_summary` -- every number of an epoch for a training loop,
  with the ECE after a temperature fit on the same data
  (:func:`auroc_callbacks.tensorboard.log_calibration` writes it).

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
refuses on CUDA.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch

from .. import _checks
from .._checks import Choice, Interval, Layout, Options, UndefinedAUROCWarning, check_params
from .._format import distribution_excess, format_inputs, probabilities_of
from ..accumulator import data_or_epoch
from .calibrators import minimise_lbfgs, temperature_problem

__all__ = [
    "UndefinedCalibrationWarning",
    "Reliability",
    "CalibrationSummary",
    "calibration_error",
    "reliability",
    "brier_score_loss",
    "log_loss",
    "calibration_summary",
    "nan_summary",
    "STRATEGIES",
    "AVERAGES",
]

STRATEGIES = ("uniform", "quantile")
NORMS = ("l1", "max")
AVERAGES = ("macro", "micro", None)
#: options of :func:`auroc_callbacks.auroc` that say what the scores are.
DATA_OPTIONS = ("task", "num_classes", "activation", "ignore_index")
#: the rules of the binning options, for every function that bins (:func:`auroc_callbacks._checks.check_params`).
BIN_RULES = {"n_bins": [Interval(int, 1)], "strategy": [Choice(STRATEGIES)]}
_RULES = {**BIN_RULES, "norm": [Choice(NORMS)], "average": [Choice(AVERAGES)]}


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
        brier: Brier score (:func:`brier_score_loss`).
        nll: mean negative log-likelihood (:func:`log_loss`).
        ece_tempered: ECE after temperature scaling fitted on the same data
            (:func:`~auroc_callbacks.calibration.fit_temperature`; binary:
            ``sigmoid(z / T)``). An optimistic figure, since T is fitted on the
            data it is scored on: it says how much of the ECE one scalar can remove.
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


def check_data_options(options: dict, who: str) -> None:
    """Refuse keyword options other than :data:`DATA_OPTIONS` (a TypeError naming them and the allowed ones)."""
    unknown = sorted(set(options) - set(DATA_OPTIONS))
    if unknown:
        raise TypeError(
            f"{who} got unexpected keyword argument(s) {', '.join(unknown)}; options are {', '.join(DATA_OPTIONS)}"
        )


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
    """Format once (:func:`~auroc_callbacks._format.format_inputs`): the probabilities are those the AUROC ranks.

    ``probabilities_of`` the formatted input, bitwise. With ``likelihood``,
    also the log-likelihoods and the logits (:func:`_likelihood`).
    """
    f = format_inputs(preds, target, layout, opts)
    if f.activation is None:  # declared (or found to be) probabilities: every column must be one
        lo, hi = torch.aminmax(f.logits)
        if bool((lo < 0) | (hi > 1)):
            raise ValueError(
                "calibration needs probabilities in [0, 1]: with activation=None `preds` holds values from"
                f" {float(lo):.4g} to {float(hi):.4g} (pass logits with activation='auto')"
            )
        if layout.task == "multiclass" and bool((distribution_excess(f.logits, preds.dtype) > 0).any()):
            raise ValueError(  # activation="auto" ranks them as given: per-class scores, not a distribution
                "calibration needs multiclass probabilities whose rows sum to 1; the rows of `preds` lie in [0, 1]"
                " but do not (per-class scores?): pass activation='softmax' if they are logits"
            )
    probs = probabilities_of(f)
    if not likelihood:
        return _Prepared(layout.task, probs, f.target, f.valid, None, None)
    loglik, logits = _likelihood(f.logits, probs, f.target, f.activation, layout, preds.dtype)
    return _Prepared(layout.task, probs, f.target, f.valid, loglik, logits)


def _likelihood(z, probs, y, activation, layout: Layout, in_dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(log-likelihood of the observed label, logits)``, float64.

    From the logits ``z`` (``log_softmax`` / ``logsigmoid``: no overflow, no
    ``log(0)``) when the task's own activation applies; else from the
    probabilities clipped to ``[eps, 1 - eps]`` of ``in_dtype`` (float64's
    for int and bool input), as scikit-learn's ``log_loss``, with
    ``log(p)`` (multiclass) or ``logit(p)`` as the logits.
    """
    multiclass = layout.task == "multiclass"
    two = layout.binary_column is not None  # a two-logit binary head
    if activation == "softmax" and (multiclass or two) or activation == "sigmoid" and not two:
        zz = z.double()
        if multiclass:
            return torch.log_softmax(zz, 1).gather(1, y.unsqueeze(1)).squeeze(1), zz
        lg = zz[:, 1] - zz[:, 0] if two else zz  # softmax over two logits: sigmoid of their difference
        return torch.nn.functional.logsigmoid(torch.where(y, lg, -lg)), lg
    eps = torch.finfo(in_dtype if in_dtype.is_floating_point else torch.float64).eps
    q = probs.double()
    log_p = q.clamp(eps, 1 - eps).log()
    if multiclass:
        return log_p.gather(1, y.unsqueeze(1)).squeeze(1), log_p
    log_q = (1 - q).clamp(eps, 1 - eps).log()
    return torch.where(y, log_p, log_q), log_p - log_q


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


def _pooled(prep: _Prepared, n_bins: int, strategy: str) -> Reliability:
    """The reliability diagram of the prepared inputs, every multilabel entry pooled: fields (n_bins,)."""
    return Reliability(*(t[0] for t in _reliability(_bin(*_entries(prep, "micro"), n_bins, strategy))))


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
        >>> import torch
        >>> from auroc_callbacks.calibration import calibration_error
        >>> p = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0])
        >>> y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1])
        >>> calibration_error(p, y, n_bins=3)  # (3 * |0 - 0.2| + 2 * |0.5 - 0.525| + 4 * |1 - 0.85|) / 9
        tensor(0.1389, dtype=torch.float64)
        >>> calibration_error(p, y, n_bins=3, norm="max")
        tensor(0.2000, dtype=torch.float64)
    """
    check_params(_RULES, n_bins=n_bins, strategy=strategy, norm=norm, average=average)
    layout, opts = _checked(
        preds, target, task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index
    )
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
        >>> import torch
        >>> from auroc_callbacks.calibration import reliability
        >>> p = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0])
        >>> r = reliability(p, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1]), n_bins=3)
        >>> r.accuracy.tolist(), [round(c, 6) for c in r.confidence.tolist()], r.count.tolist()
        ([0.0, 0.5, 1.0], [0.2, 0.525, 0.85], [3, 2, 4])
    """
    check_params({**_RULES, "average": [Choice((None, "micro"))]}, n_bins=n_bins, strategy=strategy, average=average)
    layout, opts = _checked(
        preds, target, task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index
    )
    prep = _prepare(preds, target, layout, opts)
    _warn_empty_labels(prep, average)
    rel = _reliability(_bin(*_entries(prep, average), n_bins, strategy))
    if prep.task == "multilabel" and average is None:
        return rel
    return Reliability(*(t[0] for t in rel))


def pooled_reliability(preds, target, *, n_bins: int, strategy: str, **options) -> Tuple[Reliability, str]:
    """``(diagram, task)``: the :class:`Reliability` of every entry pooled (fields ``(n_bins,)``) and the task.

    What :func:`auroc_callbacks.plotting.plot_reliability` draws; ``options``
    are :data:`DATA_OPTIONS`. Checks everything, as :func:`reliability`.
    """
    check_params(BIN_RULES, n_bins=n_bins, strategy=strategy)
    check_data_options(options, "pooled_reliability")
    layout, opts = _checked(preds, target, **options)
    return _pooled(_prepare(preds, target, layout, opts), n_bins, strategy), layout.task


def brier_score_loss(
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
        >>> import torch
        >>> from auroc_callbacks.calibration import brier_score_loss
        >>> brier_score_loss(torch.tensor([0.1, 0.9, 0.8, 0.3]), torch.tensor([0, 1, 1, 0]))
        tensor(0.0375, dtype=torch.float64)
        >>> probs = torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.2, 0.2, 0.6]])
        >>> brier_score_loss(probs, torch.tensor([0, 1, 2]))
        tensor(0.1467, dtype=torch.float64)
    """
    return _sample_mean(
        preds,
        target,
        _squared_errors,
        average,
        likelihood=False,
        task=task,
        num_classes=num_classes,
        activation=activation,
        ignore_index=ignore_index,
    )


def log_loss(
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
    of the input's dtype (float64's for int and bool input). Multilabel: the
    binary log loss of each label, then ``average``.

    Args:
        preds, target, task, num_classes, average, activation, ignore_index:
            as for :func:`calibration_error`.

    Returns:
        float64 tensor on the device of ``preds``: 0-d, or ``(C,)`` for
        multilabel with ``average=None``.

    Example:
        >>> import torch
        >>> from auroc_callbacks.calibration import log_loss
        >>> log_loss(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 1]))  # -log(softmax)
        tensor(0.1269, dtype=torch.float64)
        >>> log_loss(torch.tensor([0.9, 0.2]), torch.tensor([1, 0]))  # -(log 0.9 + log 0.8) / 2
        tensor(0.1643, dtype=torch.float64)
    """
    return _sample_mean(
        preds,
        target,
        _negative_loglik,
        average,
        likelihood=True,
        task=task,
        num_classes=num_classes,
        activation=activation,
        ignore_index=ignore_index,
    )


def _sample_mean(preds, target, values, average, *, likelihood: bool, **options) -> torch.Tensor:
    """Check, prepare, then average ``values(prepared)`` over samples (multilabel: over entries, then labels)."""
    check_params(_RULES, average=average)
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


def _negative_loglik(prep: _Prepared) -> torch.Tensor:
    return -prep.loglik


# ============================================================================ epoch summary


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

    Computes ECE, MCE, Brier, log loss and the reliability diagram from one
    formatting of the inputs, then fits a temperature on the same data (as
    :func:`~auroc_callbacks.calibration.fit_temperature`) and reports the ECE
    after it. Made for callbacks: NaN or +-inf scores (a diverged model) give
    NaN everywhere and one :class:`UndefinedCalibrationWarning`; an epoch
    whose NLL has no temperature minimum (every sample right with a margin,
    or logits no better than uniform) gives NaN ``temperature`` and
    ``ece_tempered`` and one warning. Bad options and bad labels still raise.

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
        >>> import torch
        >>> from auroc_callbacks.calibration import calibration_summary
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 3, (2000,), generator=g)
        >>> logits = 3 * (torch.nn.functional.one_hot(y, 3) + torch.randn(2000, 3, generator=g))
        >>> s = calibration_summary(logits, y)
        >>> round(float(s.temperature), 2), bool(s.ece_tempered < s.ece)
        (2.78, True)
    """
    check_params({**_RULES, "average": [Choice(("macro", "micro"))]}, n_bins=n_bins, strategy=strategy, average=average)
    check_data_options(options, "calibration_summary")
    preds, target, options = data_or_epoch(preds, target, accumulator, options, DATA_OPTIONS, given=options)
    opts = _checks.check_options(**options)
    validated = accumulator.validated_layout() if accumulator is not None else None  # its compute checked the epoch
    layout = validated or _checks.check_layout(preds, target, opts)
    _check_activation(layout, opts)
    reason = None if validated else _checks.bad_scores(preds, layout, opts.activation)
    if reason is not None:
        _checks.check_values(torch.zeros_like(preds), target, layout, opts)  # bad labels still raise
        _checks.warn(f"{reason.split(';')[0]}: every calibration number is NaN", UndefinedCalibrationWarning)
        n = int(
            target.shape[0]
            if opts.ignore_index is None or layout.task == "multilabel"
            else (target != opts.ignore_index).sum()
        )
        return nan_summary(n_bins, preds.device, n, layout.task, strategy)
    if not validated:
        _checks.check_values(preds, target, layout, opts)
    prep = _prepare(preds, target, layout, opts, likelihood=True)
    _warn_empty_labels(prep, average)

    ece, mce = (_reduce(v, prep.task, average) for v in _errors(_bin(*_entries(prep, average), n_bins, strategy)))
    brier = _averaged(_squared_errors(prep), prep, average)
    nll = _averaged(_negative_loglik(prep), prep, average)
    ece_t, temperature, rel_t = _tempered(prep, n_bins, strategy, average)
    return CalibrationSummary(
        ece,
        mce,
        brier,
        nll,
        ece_t,
        temperature,
        _pooled(prep, n_bins, strategy),
        rel_t,
        int(prep.target.shape[0]),
        prep.task,
        strategy,
    )


def _tempered(prep: _Prepared, n_bins: int, strategy: str, average):
    """``(ece, temperature, reliability)`` after a temperature fitted on ``prep``; NaN (one warning) if none fits."""
    device = prep.probs.device
    softmax = prep.task == "multiclass"
    loss, why = temperature_problem(prep.logits, prep.target, prep.valid, softmax)
    if why is not None:
        _checks.warn(
            f"temperature scaling is undefined for this epoch: {why}; `temperature` and `ece_tempered` are NaN",
            UndefinedCalibrationWarning,
        )
        temperature = torch.tensor(float("nan"), dtype=torch.float64, device=device)
        return temperature.clone(), temperature, _nan_reliability(n_bins, device)
    temperature = torch.exp(minimise_lbfgs(torch.zeros((), dtype=torch.float64, device=device), loss, 100))
    scaled = prep.logits / temperature
    tempered = prep._replace(probs=torch.softmax(scaled, 1) if softmax else torch.sigmoid(scaled))
    ece = _reduce(_errors(_bin(*_entries(tempered, average), n_bins, strategy))[0], prep.task, average)
    return ece, temperature, _pooled(tempered, n_bins, strategy)


def _empty_reliability(n_bins: int, device) -> Reliability:
    """``n_bins`` empty bins: zero counts (and zeros elsewhere, for :func:`~auroc_callbacks._checks.nan_like`)."""
    floats = dict(dtype=torch.float64, device=device)
    return Reliability(
        torch.zeros(n_bins, **floats),
        torch.zeros(n_bins, **floats),
        torch.zeros(n_bins, dtype=torch.int64, device=device),
        torch.zeros(n_bins + 1, **floats),
    )


def _nan_reliability(n_bins: int, device) -> Reliability:
    return _checks.nan_like(_empty_reliability(n_bins, device))


def nan_summary(n_bins: int, device, num_samples: int, task: str, strategy: str) -> CalibrationSummary:
    """A :class:`CalibrationSummary` with every number NaN (the reason was warned) and empty reliability diagrams.

    Example:
        >>> from auroc_callbacks.calibration import nan_summary
        >>> s = nan_summary(10, "cpu", 0, "binary", "uniform")
        >>> bool(s.ece.isnan()), s.reliability.count.tolist() == [0] * 10
        (True, True)
    """
    zero = torch.zeros((), dtype=torch.float64, device=device)
    rel = _empty_reliability(n_bins, device)
    summary = CalibrationSummary(zero, zero, zero, zero, zero, zero, rel, rel, num_samples, task, strategy)
    return _checks.nan_like(summary)
