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
* :func:`shape_inputs` and :func:`ranked_scores` -- the two sync-free steps of
  :func:`format_inputs` that the histogram counts run on every batch (they
  decide ``activation="auto"`` per batch, on the device, with
  :func:`distribution_excess`: the counts cannot be re-scored at the end).

A private module with public names: what it offers its siblings is named.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch

from ._checks import Layout, Options

__all__ = [
    "DISTRIBUTION_TOL", "Formatted", "format_inputs", "probabilities_of", "as_float", "row_tolerance",
    "distribution_excess", "decide_activation", "row_problem", "class_counts", "flatten", "shape_inputs",
    "ranked_scores",
]


class Formatted(NamedTuple):
    """One input, formatted once."""

    scores: torch.Tensor  # (N,) binary, (N, C) otherwise; activated where it matters
    target: torch.Tensor  # (N,) bool binary, (N,) int64 multiclass, (N, C) bool multilabel
    valid: Optional[torch.Tensor]  # (N, C) multilabel entries kept by ignore_index
    activation: Optional[str]  # the activation decided for this input
    logits: Optional[torch.Tensor] = None  # the float scores before any activation, every column (N,) or (N, C)


DISTRIBUTION_TOL = {torch.bfloat16: 5e-2, torch.float16: 1e-2}


def format_inputs(preds: torch.Tensor, target: torch.Tensor, layout: Layout, opts: Options) -> Formatted:
    """Detach, drop ``ignore_index``, upcast, decide and apply the activation, pick a binary head's column."""
    preds, target = shape_inputs(preds, target, layout)
    valid = None
    if opts.ignore_index is not None:
        keep = target != opts.ignore_index
        if not bool(keep.all()):
            if layout.task == "multilabel":
                valid = keep
            else:
                preds, target = preds[keep], target[keep]
    in_dtype = preds.dtype
    preds = as_float(preds)
    logits = preds
    activation = decide_activation(preds, in_dtype, layout, opts.activation)
    preds = ranked_scores(preds, layout, softmax=activation == "softmax")
    target = target.long() if layout.task == "multiclass" else target == 1
    return Formatted(preds, target, valid, activation, logits)


def shape_inputs(preds: torch.Tensor, target: torch.Tensor, layout: Layout, device=None):
    """Detached ``(preds, target)`` on one device (``device``, else the scores'), target ``(N,)`` unless
    multilabel, ``(N, 1)`` scores as ``(N,)``. No host sync: the histogram counts call it on every batch."""
    device = preds.device if device is None else device
    preds, target = preds.detach().to(device), target.detach().to(device)  # labels follow the scores' device
    if layout.task != "multilabel":
        target = target.reshape(-1)
    if preds.ndim == 2 and preds.shape[1] == 1:
        preds = preds.reshape(-1)
    return preds, target


def ranked_scores(scores: torch.Tensor, layout: Layout, *, softmax, keep_rows=None) -> torch.Tensor:
    """The scores that are ranked, from float scores: softmax where it applies, then a binary head's column.

    ``softmax`` is a bool for the whole input, or with ``keep_rows`` (a bool
    tensor broadcasting over rows: "these rows are distributions already")
    the softmax applies to the other rows only, as the histogram counts
    decide it batch by batch without a host sync. The softmax is bitwise
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
            held = (rows.to(fmt).to(rows.dtype) == rows).all(1)
            tol = torch.where(held, tol.clamp(min=fmt_tol), tol)
    return tol


def distribution_excess(rows: torch.Tensor, in_dtype: torch.dtype) -> torch.Tensor:
    """(N,) each row's distance from summing to 1 beyond :func:`row_tolerance`: <= 0 for a distribution."""
    return (rows.sum(1) - 1).abs() - row_tolerance(rows, in_dtype)


def decide_activation(preds: torch.Tensor, in_dtype: torch.dtype, layout: Layout, activation: Optional[str]):
    """``activation="auto"`` resolved for these scores: ``"softmax"``, ``"sigmoid"`` or None; others pass through."""
    if activation != "auto":
        return activation
    if preds.ndim == 2 and (layout.task == "multiclass" or layout.binary_column is not None):
        lo, hi = torch.aminmax(preds)
        dev = (preds.sum(1) - 1).abs()
        base = DISTRIBUTION_TOL.get(in_dtype, 1e-3)
        in_range, within = torch.stack([(lo >= 0) & (hi <= 1), dev.max() <= base]).tolist()  # one host sync
        if not in_range or within:
            return None if in_range else "softmax"
        loose = dev > base  # only these rows need the per-row precision test
        return None if bool((distribution_excess(preds[loose], in_dtype) <= 0).all()) else "softmax"
    lo, hi = torch.aminmax(preds)
    return "sigmoid" if bool((lo < 0) | (hi > 1)) else None


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
        return dict(scores=scores.contiguous(), labels=labels, valid=valid)
    scores, label_index = f.scores.T, f.target
    if rows is not None:
        remap = torch.full((layout.num_classes,), -1, dtype=torch.int64, device=scores.device)
        remap[rows] = torch.arange(rows.numel(), device=scores.device)
        scores, label_index = scores[rows], remap[label_index]  # -1: a negative in every kept row
    return dict(scores=scores.contiguous(), label_index=label_index)


def class_counts(f: Formatted, layout: Layout) -> Tuple[torch.Tensor, torch.Tensor]:
    """(positives, negatives) per class or label, int64."""
    if layout.task == "binary":
        lab = f.target if f.valid is None else f.target & f.valid
        pos = lab.sum(dtype=torch.int64).reshape(1)
        n = f.target.numel() if f.valid is None else f.valid.sum(dtype=torch.int64)
        return pos, n - pos
    if layout.task == "multiclass":
        pos = torch.bincount(f.target, minlength=layout.num_classes)
        return pos, f.target.numel() - pos
    if f.valid is None:
        pos = f.target.sum(0, dtype=torch.int64)
        return pos, f.target.shape[0] - pos
    pos = (f.target & f.valid).sum(0, dtype=torch.int64)
    return pos, f.valid.sum(0, dtype=torch.int64) - pos


def flatten(f: Formatted, layout: Layout) -> Formatted:
    """All (sample, class) entries as one binary problem (scikit-learn's 'micro')."""
    labels = f.target
    if layout.task == "multiclass":
        labels = torch.nn.functional.one_hot(f.target, layout.num_classes).bool()
    valid = None if f.valid is None else f.valid.reshape(-1)
    return Formatted(f.scores.reshape(-1), labels.reshape(-1), valid, f.activation)
