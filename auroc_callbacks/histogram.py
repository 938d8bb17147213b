"""AUROC in bounded memory: counts over the 65,536 values of a 16-bit float, with a certified bound.

``AUROCAccumulator(mode="histogram")`` keeps, per class, how many positive and
how many negative samples scored each of the 65,536 bit patterns of a float16
(or bfloat16): ``O(C * 65536)`` 16-bit counts whatever the number of samples (multiclass probabilities
only need the patterns from ``-0.0`` to ``1.0``, a quarter of them), with sparse int64 counts for the few
buckets that reach ``2**15`` (:class:`auroc_callbacks._histogram_counts.NarrowCounts`).

**The scores are the exact mode's.** Each batch is formatted as the exact mode
formats the epoch (softmax probabilities bitwise ``torch.softmax(logits, 1)``,
which is row-wise, so a batch's rows are the epoch's rows; binary and
multilabel scores as given, since a sigmoid never changes a ranking), then
rounded to the 16-bit type and mapped to an order-preserving 16-bit key
(sign-flip; ``-0.0`` and ``+0.0`` share a key, ``+-inf`` have their own, and
float32 values past the 16-bit range land in the ``+-inf`` keys). Rounding to
nearest is monotone, so two scores in different buckets are in the right order.

**Exact for the rounded scores.** From the counts, the Mann-Whitney statistic
(ties as 1/2) is counted exactly in int64: the value equals
``sklearn.metrics.roc_auc_score`` on ``probs.to(torch.float16).double()``.

**Certified bound.** A (positive, negative) pair in different buckets is
ordered as at full precision; a pair in the same bucket counts 1/2 here and
could count 0, 1/2 or 1 at full precision. So, per class,
``|AUROC_full - AUROC_hist| <= sum_b pos_b * neg_b / (2 * P * N)``, attained
when every bucket's positives all sit above (or all below) its negatives.
Macro and weighted bounds are the same mean of the per-class bounds; micro
pools the class histograms (pairs across classes share buckets too); one-vs-one
averages the bounds of A(a|b) and A(b|a). For ``max_fpr`` (McClish), bucket b
is a straight segment of the ROC curve from ``(F_b, T_b)`` to
``(F_b + w_b, T_b + h_b)`` (``w_b = neg_b/N``, ``h_b = pos_b/P``), and the
full-precision curve is some monotone path inside that box between the same
corners. Over FPR in ``[F_b, F_b + d]`` (``d`` = the part of the box left of
``max_fpr``) it can gain at most ``h_b * (d - d**2 / (2 * w_b))`` on the
segment (positives first) and lose less; the partial-area bound is the sum of
those, which is attained, times McClish's ``0.5 / (max_fpr - max_fpr**2 / 2)``.

**Average precision** (:func:`average_precision_from_epoch`) is scikit-learn's
step-wise AP of the rounded scores, each bucket one threshold (its value
equals ``average_precision_score`` on ``probs.to(torch.float16).double()``),
with a certified interval ``[lower, upper]`` that holds the full-precision AP.
Walking the buckets from the highest down, with ``T`` positives and ``F``
negatives above bucket b (``p`` positives and ``q`` negatives in it), b's
positives add the precision at their own threshold; what the other buckets
add does not depend on the order inside b. The most they can add is when the
``p`` positives are tied above the ``q`` negatives: ``p (T+p) / (T+p+F)``;
the least, when the negatives are above and the positives distinct:
``sum_{i=1..p} (T+i) / (T+i+F+q) = p - c (H(a+p) - H(a))`` with ``c = F+q``,
``a = T+c`` (:func:`harmonic_difference`, to a few ulps relative). Each
class's bounds are those sums over buckets, over ``P``: both are attained by
full-precision data rounding to the same counts (a bucket needs ``p + 1``
distinct full-precision values for the lower end). Macro and weighted
intervals average the per-class ends (attained when the classes' columns can
be arranged independently, as a multilabel epoch's can; a softmax's rows tie
them, so the interval may be wider than what data can reach), micro pools the
class histograms. AP is one-vs-rest whatever ``multi_class`` says, and
ignores ``max_fpr``.

Everything here is pure torch and makes no host synchronisation in
:meth:`auroc_callbacks._histogram_counts.HistogramCounts.update`: invalid labels and ignored entries go to a
trash slot, NaN scores and label ranges to device counters read once at
compute, where the exact mode's checks (:func:`auroc_callbacks._checks.check_values`)
run on a small summary and raise the exact mode's messages.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence, Tuple

import torch

from . import _checks, _ranking
from ._checks import Layout, Options, UndefinedAUROCWarning, warn_no_positives, warn_ovo_absent, warn_undefined
from ._format import ONE_HOT_NOTE, UNNORMALISED_HEAD_NOTE, UNNORMALISED_NOTE, hard_label_note
from .functional import APScores, AUROCScores, average_ovr

__all__ = [
    "APBound",
    "AUROCBound",
    "HISTOGRAM_DTYPES",
    "average_precision_from_epoch",
    "bucket_keys",
    "bucket_values",
    "harmonic_difference",
]

HISTOGRAM_DTYPES = (torch.float16, torch.bfloat16)
NUM_BUCKETS = 1 << 16
_HALF = 1 << 15
#: what ``Epoch.ints`` holds, in order: device-side counters, summed over batches and ranks
COUNTERS = ("nan", "inf", "kept", "bad", "raw_rows", "soft_rows", "rows", "pos", "float_rows", "onehot_rows")
#: what ``Epoch.extremes`` holds, in order: device-side extremes, max-reduced over batches and ranks (minima negated)
EXTREMES = ("neg_lo", "hi", "dev", "neg_t_lo", "t_hi", "t_bad", "neg_n_lo", "n_hi")
_NAN, _INF, _KEPT, _BAD, _RAW_ROWS, _SOFT_ROWS, _ROWS, _POS, _FLOAT_ROWS, _ONEHOT_ROWS = range(len(COUNTERS))
_NEG_LO, _HI, _DEV, _NEG_T_LO, _T_HI, _T_BAD, _NEG_N_LO, _N_HI = range(len(EXTREMES))


class AUROCBound(NamedTuple):
    """A histogram-mode AUROC with its certified bound, from one pass over the counts.

    ``value`` and ``bound`` are shaped like what :func:`auroc_callbacks.auroc`
    returns (0-d for binary and for an average, ``(C,)`` for ``average=None``,
    ``(C, C)`` for one-vs-one with ``average=None``). float64; NaN where undefined.

    Attributes:
        value: the AUROC of the scores rounded to ``dtype`` (exact for them).
        bound: certified: ``|AUROC at full precision - value| <= bound``.
        per_class: (C,) one-vs-rest / per-label AUROC of the rounded scores.
        per_class_bound: (C,) their bounds.
        support: (C,) number of positive samples of each class, int64.
        num_samples: number of samples scored (after ``ignore_index``).
        dtype: the 16-bit type the scores were rounded to.
    """

    value: torch.Tensor
    bound: torch.Tensor
    per_class: torch.Tensor
    per_class_bound: torch.Tensor
    support: torch.Tensor
    num_samples: int
    dtype: torch.dtype

    def scores(self) -> AUROCScores:
        """The :class:`~auroc_callbacks.AUROCScores` of the same counts (value, per_class, support, num_samples)."""
        return AUROCScores(self.value, self.per_class, self.support, self.num_samples)


def check_histogram_dtype(dtype, name: str = "histogram_dtype") -> torch.dtype:
    """``torch.float16`` or ``torch.bfloat16``; anything else raises, naming the argument."""
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"`{name}` must be torch.float16 or torch.bfloat16; got {type(dtype).__name__} {dtype!r}")
    if dtype not in HISTOGRAM_DTYPES:
        raise ValueError(f"`{name}` must be torch.float16 or torch.bfloat16; got {dtype}")
    return dtype


def bucket_keys(scores: torch.Tensor, dtype: torch.dtype = torch.float16) -> torch.Tensor:
    """Order-preserving int64 keys in ``[0, 65535]`` of ``scores`` rounded to ``dtype``. No host sync.

    The sign-flip of the 16-bit pattern: ``x <= y`` implies ``key(x) <= key(y)``
    (rounding to nearest is monotone); ``-0.0`` and ``+0.0`` share key 32768
    (the accumulator counts ``-0.0`` at 32767 and moves it there when it
    reads the counts); NaN lands in the outermost keys.

    Example:
        >>> import torch
        >>> from auroc_callbacks.histogram import bucket_keys
        >>> bucket_keys(torch.tensor([-1.0, -0.0, 0.0, 1e-9, 1.0, float("inf")])).tolist()
        [17407, 32768, 32768, 32768, 48128, 64512]
    """
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"`scores` must be a torch.Tensor; got {type(scores).__name__}")
    bits = scores.to(check_histogram_dtype(dtype, "dtype")).view(torch.int16).long()
    keys = sign_flip(bits) + _HALF
    return torch.where(keys == _HALF - 1, _HALF, keys)


def sign_flip(bits: torch.Tensor) -> torch.Tensor:
    """Signed 16-bit float patterns (as int32/int64) -> integers in their float order, ``-0.0`` one below ``+0.0``."""
    return bits ^ ((bits >> 31) & 0x7FFF)


def bucket_values(dtype: torch.dtype = torch.float16, device=None) -> torch.Tensor:
    """The float64 value of every key: ``values[bucket_keys(x)] == x.to(dtype)``.

    Example:
        >>> import torch
        >>> from auroc_callbacks.histogram import bucket_keys, bucket_values
        >>> x = torch.tensor([0.1, -2.5, 65519.0])
        >>> bucket_values()[bucket_keys(x)].tolist()  # 65519 rounds to float16's largest finite value
        [0.0999755859375, -2.5, 65504.0]
    """
    dtype = check_histogram_dtype(dtype, "dtype")
    key = torch.arange(NUM_BUCKETS, dtype=torch.int64, device=device) - _HALF
    return sign_flip(key).to(torch.int16).view(dtype).double()  # the sign flip is its own inverse


# ----------------------------------------------------------------------------- results


class Epoch(NamedTuple):
    """Everything compute needs: the (reduced) counts and what the device counters say."""

    counts: torch.Tensor  # (G, R, B) int64: the B occupied buckets, in ascending order
    values: torch.Tensor  # (B,) float64: their values
    ints: torch.Tensor  # (len(COUNTERS),) int64, on the host
    extremes: torch.Tensor  # (len(EXTREMES),) float64, on the host
    layout: Layout
    in_dtype: torch.dtype
    dtype: torch.dtype
    ovo: bool = False  # counts[t, c]: samples of true class t in column c (else counts[label, column])


def epoch_problem(epoch: Epoch, options: Options, nan_strategy: str) -> Optional[str]:
    """Raise the exact mode's errors for bad labels (and bad scores unless ``"warn"``); return why the value is NaN.

    The checks of :func:`auroc_callbacks._checks.check_values` run on a small
    stand-in: the smallest, largest and one non-integral label (binary: the
    positive label if seen, the smallest and largest other label), and a
    NaN / inf score if any was seen, so the messages are the exact mode's.
    """
    ints, ext = epoch.ints.tolist(), epoch.extremes.tolist()
    labels = []
    if ints[_KEPT] and epoch.layout.task == "binary":
        positive = 1 if options.pos_label is None else options.pos_label
        labels = ([positive] if ints[_POS] else []) + (
            [-ext[_NEG_N_LO], ext[_N_HI]] if ints[_KEPT] > ints[_POS] else []
        )
    elif ints[_KEPT]:
        labels = [-ext[_NEG_T_LO], ext[_T_HI]]
    labels += [ext[_T_BAD]] if ints[_KEPT] and ints[_BAD] else []
    target = torch.tensor(labels, dtype=torch.float64)  # never equal to ignore_index: those were left out
    witness = torch.tensor([math.nan if ints[_NAN] else 0.0, math.inf if ints[_INF] else 0.0])
    check = options
    if nan_strategy == "warn":
        reason = _checks.bad_scores(witness, epoch.layout, options.activation)
        _checks.check_values(torch.zeros(1), target, epoch.layout, check)
        if reason is not None:
            return reason
    else:
        _checks.check_values(witness, target, epoch.layout, check)
    if ints[_RAW_ROWS] and ints[_SOFT_ROWS]:
        reason = (
            f"`activation='auto'` is decided block by block in mode='histogram', and the blocks disagree:"
            f" {ints[_RAW_ROWS]} rows came in batches ranked as given (every value in [0, 1], and in every batch"
            f" before) and {ints[_SOFT_ROWS]} in batches softmaxed (logits); pass activation='softmax' for logits"
            " or activation=None for probabilities"
        )
        if nan_strategy != "warn":
            raise ValueError(reason)
        return reason
    return None


def interpret_epoch(epoch: Epoch, options: Options) -> Tuple[Epoch, Tuple[str, ...]]:
    """The epoch read as the exact mode reads its epoch (:func:`auroc_callbacks._format.interpret`), and the notes.

    From the device counters: a target one-hot in every batch (``task``
    not given) makes a multiclass epoch (its counts are the multilabel
    ones); hard-label batches only; ranked-as-given rows that do not sum to 1.
    """
    ints, ext = epoch.ints.tolist(), epoch.extremes.tolist()
    layout, notes = epoch.layout, []
    if not ints[_FLOAT_ROWS] and ints[_KEPT]:
        notes.append(hard_label_note(None if epoch.in_dtype.is_floating_point else epoch.in_dtype))
    one_hot = options.task is None and options.activation == "auto" and ints[_ONEHOT_ROWS] == ints[_ROWS] > 0
    if layout.task == "multilabel" and one_hot:
        layout = Layout("multiclass", layout.num_classes, None)
        epoch = epoch._replace(layout=layout)
        notes.append(ONE_HOT_NOTE)
    softmaxable = layout.task == "multiclass" or layout.binary_column is not None
    if options.activation == "auto" and softmaxable and ints[_RAW_ROWS] and not ints[_SOFT_ROWS] and ext[_DEV] > 0:
        notes.append(UNNORMALISED_NOTE if layout.task == "multiclass" else UNNORMALISED_HEAD_NOTE)
    return epoch, tuple(notes)


def epoch_activation(epoch: Epoch, options: Options) -> Optional[str]:
    """The activation the exact mode would decide on this epoch (thresholds of the curves depend on it)."""
    if options.activation != "auto":
        return options.activation
    ints, ext = epoch.ints.tolist(), epoch.extremes.tolist()
    if ints[_SOFT_ROWS]:
        return "softmax"
    if epoch.layout.task == "multiclass" or epoch.layout.binary_column is not None:
        return None
    return "sigmoid" if (-ext[_NEG_LO] < 0 or ext[_HI] > 1) else None


def num_scored(epoch: Epoch) -> int:
    return int(epoch.ints[_ROWS])


def ovr_counts(epoch: Epoch) -> Tuple[torch.Tensor, torch.Tensor]:
    """(positives, negatives) per class and bucket, ``(R, K)`` each, in ascending score order."""
    counts = epoch.counts
    if not epoch.ovo:
        return counts[1], counts[0]
    cols = torch.arange(counts.shape[1], device=counts.device)
    pos = counts[cols, cols]
    return pos, counts.sum(0) - pos


def _full(pos, neg, n_pos, n_neg):
    """Each row's AUROC (the kernel's count of its histogram) and its bound: the tied pairs' share."""
    value = _ranking.auroc_value(_ranking.twice_u_of_counts(pos, neg), n_pos, n_neg)
    return value, _tied_share(pos, neg, n_pos, n_neg)


def _tied_share(pos, neg, n_pos, n_neg):
    """``sum_b pos_b * neg_b / (2 P N)`` per row: the certified bound of the full AUROC (module docstring)."""
    return (pos * neg).sum(-1).double() / (2 * n_pos * n_neg).double()


def _partial(pos, neg, n_pos, n_neg, max_fpr: float, values):
    """McClish partial AUROC of each row and its certified bound (see the module docstring)."""
    vals = []
    for r in range(pos.shape[0]):
        fpr, tpr, _ = _ranking.as_rates(_ranking.curve_from_counts(pos[r], neg[r], values))
        vals.append(_ranking.partial_auc(fpr, tpr, max_fpr))
    posd, negd = pos.flip(-1).double(), neg.flip(-1).double()  # descending scores
    n_neg_f, n_pos_f = n_neg.double().unsqueeze(-1), n_pos.double().unsqueeze(-1)
    start = (negd.cumsum(-1) - negd) / n_neg_f
    width = negd / n_neg_f
    d = torch.minimum((max_fpr - start).clamp(min=0), width)
    gain = torch.where(width > 0, posd / n_pos_f * (d - d * d / (2 * width).clamp(min=1e-300)), 0.0)
    bound = 0.5 * gain.sum(-1) / (max_fpr - 0.5 * max_fpr**2)
    return torch.tensor(vals, dtype=torch.float64, device=pos.device), bound


def _values_and_bounds(pos, neg, n_pos, n_neg, max_fpr, values):
    if max_fpr is None or max_fpr == 1:
        return _full(pos, neg, n_pos, n_neg)
    return _partial(pos, neg, n_pos, n_neg, max_fpr, values)


def scores_from_epoch(epoch: Epoch, options: Options, *, per_class: bool) -> AUROCBound:
    """The value, per-class values, supports and bounds; warns like :func:`functional.compute_scores`."""
    layout = epoch.layout
    pos, neg = ovr_counts(epoch)
    n_pos, n_neg = pos.sum(-1), neg.sum(-1)
    device = pos.device
    values = epoch.values
    defined = (n_pos > 0) & (n_neg > 0)
    nan = torch.full(n_pos.shape, math.nan, dtype=torch.float64, device=device)
    per, per_bound = nan.clone(), nan.clone()
    need_ovr = per_class or options.multi_class == "ovr" and options.average != "micro" or layout.task == "binary"
    if need_ovr:
        warn_undefined(layout, n_pos, n_neg, options.average)
        rows = defined.nonzero(as_tuple=True)[0]
        if rows.numel():
            v, b = _values_and_bounds(pos[rows], neg[rows], n_pos[rows], n_neg[rows], options.max_fpr, values)
            per[rows], per_bound[rows] = v, b

    if options.multi_class == "ovo" and layout.task == "multiclass":
        value, bound = _ovo(epoch.counts, options.average)
    elif options.average == "micro" and layout.task != "binary":
        value, bound = _micro(pos.sum(0, keepdim=True), neg.sum(0, keepdim=True), options.max_fpr, values)
    else:  # the bound of an average is the same average of the bounds (triangle inequality)
        value = average_ovr(per, n_pos, defined, layout, options.average)
        bound = average_ovr(per_bound, n_pos, defined, layout, options.average)
    return AUROCBound(value, bound, per, per_bound, n_pos, num_scored(epoch), epoch.dtype)


def _micro(pos, neg, max_fpr, values):
    n_pos, n_neg = pos.sum(-1), neg.sum(-1)
    if int(n_pos) == 0 or int(n_neg) == 0:
        _checks.warn(
            "micro-averaged AUROC is undefined: every entry of `target` has the same label; returning NaN",
            UndefinedAUROCWarning,
        )
        nan = torch.tensor(math.nan, dtype=torch.float64, device=pos.device)
        return nan, nan.clone()
    v, b = _values_and_bounds(pos, neg, n_pos, n_neg, max_fpr, values)
    return v[0], b[0]


def _ovo(counts: torch.Tensor, average: Optional[str]):
    """Hand & Till one-vs-one from ``counts[a, c]`` (class-a samples by column-c score), with its bound.

    ``A(a|b)`` ranks class a above class b by column a: positives
    ``counts[a, a]``, negatives ``counts[b, a]``.
    """
    n_cls = counts.shape[0]
    device = counts.device
    sizes = counts[:, 0].sum(-1)
    warn_ovo_absent((sizes == 0).nonzero(as_tuple=True)[0].tolist())
    wins = torch.full((n_cls, n_cls), math.nan, dtype=torch.float64, device=device)
    ties = wins.clone()
    for a in range(n_cls):
        pos, neg = counts[a, a].unsqueeze(0), counts[:, a]  # (C,): A(a|b) for every b
        wins[a] = _ranking.auroc_value(_ranking.twice_u_of_counts(pos, neg), sizes[a], sizes)
        ties[a] = _tied_share(pos, neg, sizes[a], sizes)
    present = sizes > 0
    ok = present.unsqueeze(0) & present.unsqueeze(1) & ~torch.eye(n_cls, dtype=torch.bool, device=device)
    wins = torch.where(ok, wins, math.nan)
    pair, pair_bound = (wins + wins.T) / 2, (torch.where(ok, ties, math.nan) + torch.where(ok, ties, math.nan).T) / 2
    if average is None:
        return pair, pair_bound
    iu = torch.triu_indices(n_cls, n_cls, 1, device=device)
    vals, bounds = pair[iu[0], iu[1]], pair_bound[iu[0], iu[1]]
    defined, weights = ~torch.isnan(vals), sizes[iu[0]] + sizes[iu[1]]  # Hand & Till pairs, weighted by size
    pairs = Layout("multiclass", vals.numel(), None)
    return average_ovr(vals, weights, defined, pairs, average), average_ovr(bounds, weights, defined, pairs, average)


def curves_from_epoch(epoch: Epoch, options: Options, *, drop_intermediate: bool = True, kind: str = "roc"):
    """Per-class ROC curves ``(fpr, tpr, thresholds)`` from the counts, as :func:`auroc_callbacks.roc_curve` gives them.

    Thresholds are bucket values (on the probability scale when a sigmoid
    applies, as in the exact mode); a class without positives (negatives)
    gets a NaN ``tpr`` (``fpr``) and one warning. ``kind="pr"``: the
    precision-recall curves ``(precision, recall, thresholds)`` instead, as
    :func:`auroc_callbacks.precision_recall_curve` gives them.
    """
    pos, neg = ovr_counts(epoch)
    values = epoch.values
    sigmoid = epoch_activation(epoch, options) == "sigmoid"
    curves = []
    for r in range(pos.shape[0]):
        if kind == "pr":
            precision, recall, thr = _ranking.pr_from_counts(
                pos[r], neg[r], values, drop_intermediate=drop_intermediate
            )
            curves.append((precision, recall, torch.sigmoid(thr) if sigmoid else thr))
        else:
            curve = _ranking.curve_from_counts(pos[r], neg[r], values, drop_intermediate=drop_intermediate)
            curves.append(_ranking.as_rates(curve, sigmoid=sigmoid))
    n_pos, n_neg = pos.sum(-1), neg.sum(-1)
    if kind == "pr":
        _checks.warn_no_positives(epoch.layout, n_pos, None)
    elif bool(((n_pos == 0) | (n_neg == 0)).any()):
        warn_undefined(epoch.layout, n_pos, n_neg, None)
    return curves[0] if epoch.layout.task == "binary" else curves


def nan_bound(epoch: Epoch, options: Options) -> AUROCBound:
    """NaN value and bound with the true supports (NaN scores under ``nan_strategy="warn"``)."""
    pos, neg = ovr_counts(epoch)
    n_pos = pos.sum(-1)
    layout = epoch.layout
    n = n_pos.shape[0]
    if layout.task == "binary" or options.average is not None:
        shape: Sequence[int] = ()
    elif options.multi_class == "ovo" and layout.task == "multiclass":
        shape = (n, n)
    else:
        shape = (n,)
    value = torch.empty(tuple(shape), dtype=torch.float64, device=pos.device)
    per = torch.empty((n,), dtype=torch.float64, device=pos.device)
    return _checks.nan_like(AUROCBound(value, value, per, per, n_pos, num_scored(epoch), epoch.dtype))


# ----------------------------------------------------------------------------- average precision


class APBound(NamedTuple):
    """A histogram-mode average precision with its certified interval, from one pass over the counts.

    ``value``, ``lower`` and ``upper`` are shaped like what
    :func:`auroc_callbacks.auroc` returns (0-d for binary and for an average,
    ``(C,)`` for ``average=None``). float64; NaN where undefined (no positives).

    Attributes:
        value: the AP of the scores rounded to ``dtype``, tied scores one
            threshold (scikit-learn's ``average_precision_score`` on them).
        lower, upper: certified: the full-precision AP lies in ``[lower, upper]``;
            per class, each end is attained by some full-precision data that
            rounds to the same counts (see the module docstring).
        per_class, per_class_lower, per_class_upper: (C,) one-vs-rest / per-label values and ends.
        support: (C,) number of positive samples of each class, int64.
        num_samples: number of samples scored (after ``ignore_index``).
        dtype: the 16-bit type the scores were rounded to.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> from auroc_callbacks.histogram import average_precision_from_epoch
        >>> hist = ac.AUROCAccumulator(mode="histogram")
        >>> hist.update(torch.tensor([0.1, 0.4, 0.35, 0.8, 0.80001]), torch.tensor([0, 0, 1, 1, 0]))
        >>> ap = average_precision_from_epoch(hist.epoch(), hist.options, per_class=False)
        >>> ap.value.item(), ap.lower.item(), ap.upper.item()  # 0.8 and 0.80001 share a float16 bucket
        (0.5, 0.5, 0.75)
    """

    value: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    per_class: torch.Tensor
    per_class_lower: torch.Tensor
    per_class_upper: torch.Tensor
    support: torch.Tensor
    num_samples: int
    dtype: torch.dtype

    def scores(self) -> APScores:
        """The :class:`~auroc_callbacks.functional.APScores` of the same counts (value, per_class, support, num_samples)."""
        return APScores(self.value, self.per_class, self.support, self.num_samples)


#: below this ``x = a + 1`` the harmonic difference sums its first terms; from it on, the asymptotic series
_SERIES_FROM = 64


def harmonic_difference(a, p) -> torch.Tensor:
    """``H(a + p) - H(a) = sum_{i=1..p} 1 / (a + i)`` elementwise, float64, to a few ulps *relative* error.

    ``a >= 0`` and ``p >= 0`` hold integers (broadcast together). As
    ``digamma(a + p + 1) - digamma(a + 1)``: for ``x = a + 1 >= 64``,
    ``log1p(p / x)`` plus the differences of the asymptotic series
    ``1/(2x) + 1/(12x^2) - 1/(120x^4) + 1/(252x^6)`` at ``x`` and
    ``y = x + p``, each written as ``p * (...)`` (no cancellation, so ``a``
    may be 1e9 and ``p`` 1). Below 64 the first terms ``1/(a+i)`` are summed
    until ``x`` reaches 64 or ``p`` runs out.

    Example:
        >>> round(float(harmonic_difference(0, 3)), 12)  # 1 + 1/2 + 1/3
        1.833333333333
    """
    a, p = torch.broadcast_tensors(torch.as_tensor(a).double(), torch.as_tensor(p).double())
    shape = a.shape
    a, p = a.reshape(-1).clone(), p.reshape(-1).clone()
    total = torch.zeros_like(a)
    small = ((a + 1 < _SERIES_FROM) & (p > 0)).nonzero(as_tuple=True)
    if small[0].numel():
        a_s, p_s = a[small], p[small]
        steps = torch.minimum(p_s, (_SERIES_FROM - 1 - a_s).clamp(min=0))  # terms until x = a + 1 reaches 64
        i = torch.arange(1, _SERIES_FROM, dtype=torch.float64, device=a.device)
        terms = torch.where(i <= steps.unsqueeze(-1), 1.0 / (a_s.unsqueeze(-1) + i), 0.0)
        total[small] = terms.flip(-1).sum(-1)  # smallest first
        a[small], p[small] = a_s + steps, p_s - steps
    u = 1.0 / (a + 1)
    v = 1.0 / (a + 1 + p)
    d1 = p * u * v  # 1/x - 1/y
    d2 = d1 * (u + v)  # 1/x^2 - 1/y^2
    d4 = d2 * (u * u + v * v)  # 1/x^4 - 1/y^4
    d6 = d2 * (u * u + u * v + v * v) * (u * d1 + v * v)  # 1/x^6 - 1/y^6 (u^2 - uv + v^2 = u (u - v) + v^2)
    series = torch.log1p(p * u) + d1 / 2 + d2 / 12 - d4 / 120 + d6 / 252
    return (total + torch.where(p > 0, series, 0.0)).reshape(shape)


def ap_rows(pos: torch.Tensor, neg: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(value, lower, upper)`` of each row of counts per bucket ``(R, B)``, ascending; every row has positives.

    The value is the kernel's (:func:`auroc_callbacks._ranking.average_precision_of_counts`);
    the ends are the module docstring's per-bucket extremes, summed over
    buckets and divided by ``P``, then widened to hold the value against
    rounding (where they meet it mathematically: a bucket of one positive,
    or without negatives).
    """
    value = _ranking.average_precision_of_counts(pos, neg)
    p_int, q_int = pos.flip(-1), neg.flip(-1)  # descending scores
    t = (p_int.cumsum(-1) - p_int).double()  # positives above each bucket, exact in int64 first
    f = (q_int.cumsum(-1) - q_int).double()
    p, q = p_int.double(), q_int.double()
    top = t + p
    upper = torch.where(p > 0, p * top / (top + f).clamp(min=1), 0.0)
    c = f + q
    lower = torch.where(c > 0, p - c * harmonic_difference(t + c, p), p)
    n_pos = p.sum(-1)
    lo = (lower.sum(-1) / n_pos).clamp(min=0.0)
    up = (upper.sum(-1) / n_pos).clamp(max=1.0)
    return value, torch.minimum(lo, value), torch.maximum(up, value)


def average_precision_from_epoch(epoch: Epoch, options: Options, *, per_class: bool) -> APBound:
    """The average precision of the rounded scores with its certified interval (see the module docstring).

    One-vs-rest per class (per label) whatever ``multi_class`` says (one-vs-one
    has no average precision); ``max_fpr`` is ignored. Averaged as the AUROC
    is (:func:`auroc_callbacks.functional.average_ovr`): ``"macro"`` over the
    classes with positives, ``"weighted"`` by their positives, ``"micro"``
    from the pooled class histograms (every (sample, class) entry one binary
    problem). A class without positives is NaN with one
    :class:`UndefinedAUROCWarning`; one without negatives has AP 1 (and
    interval ``[1, 1]``). ``per_class=False`` with ``"micro"`` skips the
    per-class values (NaN). Call after :func:`epoch_problem` found none.
    """
    layout = epoch.layout
    pos, neg = ovr_counts(epoch)
    n_pos = pos.sum(-1)
    binary = layout.task == "binary"
    micro = options.average == "micro" and not binary
    nan = torch.full(n_pos.shape, math.nan, dtype=torch.float64, device=pos.device)
    per, per_lower, per_upper = nan, nan.clone(), nan.clone()
    if per_class or not micro:
        warn_no_positives(layout, n_pos, options.average)
        rows = (n_pos > 0).nonzero(as_tuple=True)[0]
        if rows.numel():
            per[rows], per_lower[rows], per_upper[rows] = ap_rows(pos[rows], neg[rows])
    if micro:
        value, lower, upper = _micro_ap(pos.sum(0, keepdim=True), neg.sum(0, keepdim=True))
    else:
        defined = n_pos > 0
        value, lower, upper = (
            average_ovr(x, n_pos, defined, layout, options.average) for x in (per, per_lower, per_upper)
        )
    return APBound(value, lower, upper, per, per_lower, per_upper, n_pos, num_scored(epoch), epoch.dtype)


def _micro_ap(pos: torch.Tensor, neg: torch.Tensor):
    """``(value, lower, upper)`` of the pooled ``(1, B)`` counts; NaN with the warning without positives."""
    if int(pos.sum()) == 0:
        _checks.warn(
            "micro-averaged average precision is undefined: no entry of `target` is positive; returning NaN",
            UndefinedAUROCWarning,
        )
        nan = torch.tensor(math.nan, dtype=torch.float64, device=pos.device)
        return nan, nan.clone(), nan.clone()
    value, lower, upper = ap_rows(pos, neg)
    return value[0], lower[0], upper[0]


def nan_ap_bound(epoch: Epoch, options: Options) -> APBound:
    """NaN value and interval with the true supports (the epochs :func:`epoch_problem` gives a reason for)."""
    pos, _ = ovr_counts(epoch)
    n_pos = pos.sum(-1)
    n = n_pos.shape[0]
    shape = () if epoch.layout.task == "binary" or options.average is not None else (n,)
    value = torch.empty(shape, dtype=torch.float64, device=pos.device)
    per = torch.empty((n,), dtype=torch.float64, device=pos.device)
    return _checks.nan_like(APBound(value, value, value, per, per, per, n_pos, num_scored(epoch), epoch.dtype))
