"""The one definition of "the scores that are ranked": formatting and the activation decision.

Every metric (AUROC, DeLong, the bootstrap, calibration, the histogram counts,
the plots and reports) formats its input here, once, after :mod:`._checks`
has validated it:

* :func:`format_inputs` -- labels to bool/int64, ``ignore_index`` applied,
  half precision upcast, the activation decided (:func:`decide_activation`)
  and a softmax applied where it changes the ranking; the result is a
  :class:`Formatted`;
* :func:`probabilities_of` -- the same scores as probabilities (a sigmoid is
  applied too, for display, thresholds and calibration);
* :func:`class_counts`, :func:`row_problem`, :func:`flatten` -- the per-class
  views the ranking kernel (:mod:`._ranking`) consumes;
* :func:`one_hot_layout` and :func:`interpret` -- the once-per-input reading
  of ambiguous input (a one-hot target, ``activation="auto"``, hard labels)
  and its notes, which the callers warn with once;
* :func:`shape_inputs` and :func:`ranked_scores` -- the two sync-free steps of
  :func:`format_inputs` that the histogram counts run on every batch (they
  decide ``activation="auto"`` per batch, on the device, from the values seen
  so far: the counts cannot be re-scored at the end).

The rule of ``activation="auto"`` (torchmetrics'): (N, C) multiclass scores
and a binary (N, 2) head are softmaxed when any value lies outside [0, 1],
and ranked as given otherwise; binary and multilabel scores are always
ranked as given (a sigmoid changes no ranking).

A private module with public names: what it offers its siblings is named.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch

from ._checks import Layout, Options
from ._ranking import count_true

__all__ = [
    "DISTRIBUTION_TOL",
    "Formatted",
    "Interpretation",
    "format_inputs",
    "probabilities_of",
    "as_float",
    "row_tolerance",
    "distribution_excess",
    "decide_activation",
    "softmax_applies",
    "one_hot_layout",
    "interpret",
    "kept_inputs",
    "positive_label",
    "is_positive",
    "row_problem",
    "class_counts",
    "class_weights",
    "flatten",
    "shape_inputs",
    "ranked_scores",
    "hard_label_note",
    "ONE_HOT_NOTE",
    "UNNORMALISED_NOTE",
    "UNNORMALISED_HEAD_NOTE",
]


class Formatted(NamedTuple):
    """One input, formatted once."""

    scores: torch.Tensor  # (N,) binary, (N, C) otherwise; activated where it matters
    target: torch.Tensor  # (N,) bool binary, (N,) int64 multiclass, (N, C) bool multilabel
    valid: Optional[torch.Tensor]  # (N, C) multilabel entries kept by ignore_index
    activation: Optional[str]  # the activation decided for this input
    logits: Optional[torch.Tensor] = None  # the float scores before any activation, every column (N,) or (N, C)
    weight: Optional[torch.Tensor] = None  # (N,) float64 sample weights of the kept samples, or None


class Interpretation(NamedTuple):
    """How ``activation="auto"`` and the labels were read for one whole input (:func:`interpret`)."""

    options: Options  # the options with ``activation`` resolved ("softmax", "sigmoid" or None)
    notes: Tuple[str, ...]  # what to tell the user, once (:func:`auroc_callbacks._checks.warn_interpretations`)


DISTRIBUTION_TOL = {torch.bfloat16: 5e-2, torch.float16: 1e-2}

#: the notes of :func:`interpret`, one warning each (the histogram counts give the same from device counters)
UNNORMALISED_NOTE = (
    "rows of `preds` lie in [0, 1] but do not sum to 1: ranked as per-class scores (one-vs-rest,"
    " as given); pass activation='softmax' if they are logits"
)
UNNORMALISED_HEAD_NOTE = (
    "rows of the (N, 2) `preds` lie in [0, 1] but do not sum to 1: column 1 is ranked as given;"
    " pass activation='softmax' if they are logits"
)
ONE_HOT_NOTE = "`target` is one-hot: scored as multiclass; pass task='multilabel' to score each column on its own"


def hard_label_note(dtype: Optional[torch.dtype]) -> str:
    """The note for integer or bool predictions (``dtype`` None: not known)."""
    what = "integers or bools" if dtype is None else f"dtype {dtype}"
    return (
        f"`preds` are hard labels ({what}): their AUROC is the balanced accuracy of one threshold;"
        " pass scores (probabilities or logits)"
    )


def format_inputs(
    preds: torch.Tensor, target: torch.Tensor, layout: Layout, opts: Options, weight: Optional[torch.Tensor] = None
) -> Formatted:
    """Detach, drop ``ignore_index``, upcast, decide and apply the activation, pick a binary head's column.

    ``weight`` (N,), checked sample weights: kept with their samples, as
    float64, divided by their largest (every result is a ratio of weight
    sums, and 1e200 or 1e-200 weights would overflow or underflow products).
    """
    preds, target, valid, weight = kept_inputs(preds, target, layout, opts, weight)
    if weight is not None and weight.numel():
        top = weight.max()
        weight = weight / torch.where(top > 0, top, torch.ones_like(top))
    in_dtype = preds.dtype
    preds = as_float(preds)
    logits = preds
    activation = decide_activation(preds, in_dtype, layout, opts.activation)
    preds = ranked_scores(preds, layout, softmax=activation == "softmax")
    target = target.long() if layout.task == "multiclass" else is_positive(target, positive_label(layout, opts))
    return Formatted(preds, target, valid, activation, logits, weight)


def positive_label(layout: Layout, opts: Options) -> int:
    """The label that is positive: ``pos_label`` for binary when given, else 1 (of 0/1, or of -1/1)."""
    return opts.pos_label if layout.task == "binary" and opts.pos_label is not None else 1


def is_positive(target: torch.Tensor, label: int) -> torch.Tensor:
    """``target == label`` as a bool tensor; a bool target equal to ``True`` is returned as it is.

    (``bool_tensor == 1`` promotes the bools to int64 first: 5 ns an entry, 40 ms of a 1e7 epoch.)
    """
    if target.dtype == torch.bool:
        if label == 1:
            return target
        return ~target if label == 0 else torch.zeros_like(target)
    return target == label


def kept_inputs(
    preds: torch.Tensor, target: torch.Tensor, layout: Layout, opts: Options, weight: Optional[torch.Tensor] = None
):
    """:func:`shape_inputs`, then ``ignore_index`` applied: rows dropped, or (multilabel) a ``valid`` mask.

    Returns ``(preds, target, valid, weight)``, the sample weights (float64)
    of the rows kept. A one-hot target scored as multiclass holds no ignored
    entry (:func:`one_hot_layout`): nothing is dropped.
    """
    one_hot = layout.task == "multiclass" and target.ndim == 2 and target.shape[1] > 1
    preds, target = shape_inputs(preds, target, layout)
    if weight is not None:
        weight = weight.detach().to(preds.device, torch.float64).reshape(-1)
    valid = None
    if opts.ignore_index is not None and not one_hot:
        keep = target != opts.ignore_index
        if not bool(keep.all()):
            if layout.task == "multilabel":
                valid = keep
            else:
                preds, target = preds[keep], target[keep]
                weight = None if weight is None else weight[keep]
    return preds, target, valid, weight


def shape_inputs(preds: torch.Tensor, target: torch.Tensor, layout: Layout, device=None):
    """Detached ``(preds, target)`` on one device (``device``, else the scores'), target ``(N,)`` unless
    multilabel (a one-hot target scored as multiclass: its argmax), ``(N, 1)`` and 0-d scores as ``(N,)``.
    No host sync: the histogram counts call it on every batch."""
    device = preds.device if device is None else device
    preds, target = preds.detach().to(device), target.detach().to(device)  # labels follow the scores' device
    if layout.task == "multiclass" and target.ndim == 2 and target.shape[1] > 1:
        target = target.argmax(1)  # one-hot (:func:`one_hot_layout`)
    elif layout.task != "multilabel":
        target = target.reshape(-1)
    if preds.ndim == 0 or preds.ndim == 2 and preds.shape[1] == 1:
        preds = preds.reshape(-1)
    return preds, target


def ranked_scores(scores: torch.Tensor, layout: Layout, *, softmax, keep_rows=None) -> torch.Tensor:
    """The scores that are ranked, from float scores: softmax where it applies, then a binary head's column.

    ``softmax`` is a bool for the whole input, or with ``keep_rows`` (a bool
    tensor broadcasting over rows: "rank these rows as given") the softmax
    applies to the other rows only, as the histogram counts decide it batch
    by batch without a host sync. The softmax is bitwise
    ``torch.softmax(scores, 1)``, the probabilities users get from
    ``torch.softmax(logits, 1)`` (and fastai's ``get_preds``): a class-major
    softmax is faster but rounds differently, which breaks exact ties differently.
    """
    if softmax:
        soft = torch.softmax(scores if scores.is_floating_point() else scores.double(), dim=1)
        scores = soft if keep_rows is None else torch.where(keep_rows, scores, soft)
    if layout.binary_column is not None:
        scores = scores[:, layout.binary_column]
    return scores


def probabilities_of(f: Formatted) -> torch.Tensor:
    """The formatted scores as probabilities: a sigmoid where one was decided (it never changes a ranking)."""
    scores = f.scores if f.scores.is_floating_point() else f.scores.double()
    return torch.sigmoid(scores) if f.activation == "sigmoid" else scores


def as_float(preds: torch.Tensor) -> torch.Tensor:
    """Upcast half precision to float32; int and bool to the float that holds them exactly.

    Integers no float32 holds go to float64, and those past 2**53 stay int64
    (ranked exactly by their dense ranks; a softmax takes them as float64).
    """
    if preds.dtype in (torch.float16, torch.bfloat16):
        return preds.float()
    if preds.is_floating_point():
        return preds
    if preds.dtype == torch.bool or not preds.numel():
        return preds.float()
    lo, hi = (int(v) for v in torch.aminmax(preds.long()))
    big = max(-lo, hi)
    if big >= 2**53:
        return preds.long()
    return preds.double() if big >= 2**24 else preds.float()


def row_tolerance(rows: torch.Tensor, in_dtype: torch.dtype) -> torch.Tensor:
    """(N,) how far each row of probabilities may sum from 1: the precision of its values, not of its container.

    ``in_dtype``'s tolerance, loosened to a 16-bit float's for a row whose
    values that float holds exactly: probabilities rounded to bfloat16 are
    still probabilities after an epoch mixed them with float32 batches (the
    epoch's buffer is float32 then). A pure function of the values, so one
    batch at a time (histogram mode) and the whole epoch (exact mode) agree.
    """
    base = DISTRIBUTION_TOL.get(in_dtype, 1e-3)
    tol = torch.full(rows.shape[:1], base, dtype=rows.dtype, device=rows.device)
    for fmt, fmt_tol in DISTRIBUTION_TOL.items():
        if fmt_tol > base:
            # (reductions into int or float, not bool: several times faster along a row of a few classes)
            if fmt == torch.bfloat16 and rows.dtype == torch.float32:  # bfloat16 is float32's top half: one test
                held = (rows.view(torch.int32) & 0xFFFF).amax(1) == 0 if rows.shape[1] else tol > 0
            else:  # no value moved by the round trip: a sum of |differences| is 0 (NaN and inf are not)
                held = (rows.to(fmt).to(rows.dtype) - rows).abs_().sum(1) == 0  # (not in place: rows may be fmt)
            tol = torch.where(held, tol.clamp(min=fmt_tol), tol)
    return tol


def distribution_excess(rows: torch.Tensor, in_dtype: torch.dtype) -> torch.Tensor:
    """(N,) each row's distance from summing to 1 beyond :func:`row_tolerance`: <= 0 for a distribution."""
    return (rows.sum(1) - 1).abs() - row_tolerance(rows, in_dtype)


def _some_row_unnormalised(rows: torch.Tensor, in_dtype: torch.dtype) -> bool:
    """Whether some row's :func:`distribution_excess` is positive (one host sync, two where some row is off by
    more than the tightest tolerance): only those rows are tested against their loosened tolerance."""
    off = (rows.sum(1) - 1).abs() > DISTRIBUTION_TOL.get(in_dtype, 1e-3)  # row_tolerance is never below it
    if not bool(off.any()):
        return False
    return bool((distribution_excess(rows[off], in_dtype) > 0).any())


def softmax_applies(layout: Layout, ndim: int) -> bool:
    """Whether ``activation="auto"`` may softmax these scores: (N, C) multiclass, or a binary (N, 2) head."""
    return ndim == 2 and (layout.task == "multiclass" or layout.binary_column is not None)


def decide_activation(preds: torch.Tensor, in_dtype: torch.dtype, layout: Layout, activation: Optional[str]):
    """``activation="auto"`` resolved for these scores: ``"softmax"``, ``"sigmoid"`` or None; others pass through.

    torchmetrics' rule, on the values alone (one host sync): (N, C) multiclass
    scores and a binary (N, 2) head are logits, softmaxed, when any value lies
    outside [0, 1], and ranked as given otherwise, whether or not their rows
    sum to 1 (:func:`interpret` notes the rows that do not). Other scores are
    ranked as given; ``"sigmoid"`` (which changes no ranking, only the
    thresholds shown) when any lies outside [0, 1]. ``in_dtype`` is the
    input's dtype before upcasting (the rule does not depend on it).
    """
    if activation != "auto":
        return activation
    if not preds.numel():
        return None
    lo, hi = torch.aminmax(preds)
    outside = bool((lo < 0) | (hi > 1))  # one host sync
    if softmax_applies(layout, preds.ndim):
        return "softmax" if outside else None
    return "sigmoid" if outside else None


def one_hot_layout(target: torch.Tensor, layout: Layout, opts: Options) -> Layout:
    """The layout to score: multiclass for an inferred multilabel input whose every target row is one-hot.

    Only where ``task`` was not given, under ``activation="auto"`` (the one
    activation it can change: logits are then softmaxed), and when no entry
    equals ``ignore_index``. One host sync for such input (none otherwise);
    the target itself is formatted by its argmax (:func:`shape_inputs`).
    """
    if opts.task is not None or opts.activation != "auto" or layout.task != "multilabel" or not target.numel():
        return layout
    t = target if target.dtype != torch.bool else target.to(torch.int8)
    one_hot = ((t == 0) | (t == 1)).all() & (t.sum(1) == 1).all()
    if opts.ignore_index is not None:
        one_hot &= ~(t == opts.ignore_index).any()
    return Layout("multiclass", layout.num_classes, None) if bool(one_hot) else layout


def interpret(preds: torch.Tensor, target: torch.Tensor, layout: Layout, opts: Options) -> Interpretation:
    """``activation="auto"`` decided once for the whole (checked) input, and the notes to warn with.

    ``layout`` is :func:`one_hot_layout`'s. Notes: hard-label predictions
    (an integer or bool dtype), a one-hot target scored as multiclass, and
    (N, C) scores in [0, 1] ranked as given although some row does not sum
    to 1 (beyond :func:`row_tolerance`). The exact accumulator calls it once
    per epoch, every public function once per call.
    """
    notes = []
    if not preds.is_floating_point():
        notes.append(hard_label_note(preds.dtype))
    if layout.task == "multiclass" and target.ndim == 2 and target.shape[1] > 1:
        notes.append(ONE_HOT_NOTE)
    scores = kept_inputs(preds, target, layout, opts)[0]
    in_dtype = scores.dtype
    scores = as_float(scores)
    activation = decide_activation(scores, in_dtype, layout, opts.activation)
    if opts.activation == "auto" and activation is None and softmax_applies(layout, scores.ndim) and scores.numel():
        if _some_row_unnormalised(scores, in_dtype):
            notes.append(UNNORMALISED_NOTE if layout.task == "multiclass" else UNNORMALISED_HEAD_NOTE)
    return Interpretation(opts._replace(activation=activation), tuple(notes))


def row_problem(f: Formatted, layout: Layout, rows: Optional[torch.Tensor] = None) -> dict:
    """Arguments of :func:`._ranking.rank` for the one-vs-rest rows (all, or the subset ``rows``)."""
    if layout.task == "binary":
        valid = None if f.valid is None else f.valid.reshape(1, -1)
        return dict(scores=f.scores.reshape(1, -1), labels=f.target.reshape(1, -1), valid=valid)
    if layout.task == "multilabel":
        scores, labels = f.scores.T, f.target.T
        valid = None if f.valid is None else f.valid.T
        if rows is not None:
            scores, labels = scores[rows], labels[rows]
            valid = None if valid is None else valid[rows]
        return dict(scores=scores, labels=labels, valid=valid)
    scores, label_index = f.scores.T, f.target  # a view: pack() writes its contiguous keys from it in one pass
    if rows is not None:
        remap = torch.full((layout.num_classes,), -1, dtype=torch.int64, device=scores.device)
        remap[rows] = torch.arange(rows.numel(), device=scores.device)
        scores, label_index = scores[rows], remap[label_index]  # -1: a negative in every kept row
    return dict(scores=scores, label_index=label_index)


def class_weights(f: Formatted, layout: Layout) -> Tuple[torch.Tensor, torch.Tensor]:
    """(positives, negatives) per class or label: sums of ``f.weight``, float64 (:func:`class_counts` without weights)."""
    if f.weight is None:
        return class_counts(f, layout)
    w = f.weight
    if layout.task == "multiclass":
        pos = torch.zeros(layout.num_classes, dtype=torch.float64, device=w.device).index_add_(0, f.target, w)
        return pos, w.sum() - pos
    labels = f.target.reshape(f.target.shape[0], -1)
    keep = torch.ones_like(labels) if f.valid is None else f.valid.reshape(labels.shape)
    col = w.unsqueeze(1)
    pos = torch.where(labels & keep, col, 0.0).sum(0)
    return pos, torch.where(keep, col, 0.0).sum(0) - pos


def class_counts(f: Formatted, layout: Layout) -> Tuple[torch.Tensor, torch.Tensor]:
    """(positives, negatives) per class or label, int64."""
    if layout.task == "binary":
        lab = f.target if f.valid is None else f.target & f.valid
        pos = count_true(lab).reshape(1)
        n = f.target.numel() if f.valid is None else count_true(f.valid)
        return pos, n - pos
    if layout.task == "multiclass":
        pos = torch.bincount(f.target, minlength=layout.num_classes)
        return pos, f.target.numel() - pos
    if f.valid is None:
        pos = count_true(f.target.T)
        return pos, f.target.shape[0] - pos
    pos = count_true((f.target & f.valid).T)
    return pos, count_true(f.valid.T) - pos


def flatten(f: Formatted, layout: Layout) -> Formatted:
    """All (sample, class) entries as one binary problem (scikit-learn's 'micro')."""
    labels = f.target
    if layout.task == "multiclass":
        labels = torch.nn.functional.one_hot(f.target, layout.num_classes).bool()
    valid = None if f.valid is None else f.valid.reshape(-1)
    n_cols = labels.shape[1] if labels.ndim == 2 else 1
    weight = None if f.weight is None else f.weight.repeat_interleave(n_cols)  # each sample's weight on its entries
    return Formatted(f.scores.reshape(-1), labels.reshape(-1), valid, f.activation, None, weight)
