"""Exact AUROC and ROC curves for torch tensors, on whatever device they live on.

Every number the library reports (the fastai metric, the Lightning callback,
the plots, the CLI, the benchmarks) comes from :func:`auroc_scores` or
:func:`roc_curve` here. Each public function is glue over small private
stages: check options -> check tensors -> format -> compute.
"""

from __future__ import annotations

import warnings
from typing import List, NamedTuple, Optional, Tuple, Union

import torch

from . import _checks, _ranking
from ._checks import Layout, Options

__all__ = ["UndefinedAUROCWarning", "AUROCScores", "auroc", "auroc_scores", "roc_curve", "probabilities"]


class UndefinedAUROCWarning(UserWarning):
    """AUROC is undefined for a class (no positive or no negative samples) or for NaN scores.

    The affected values are NaN; averages are taken over the defined classes.
    Filter it like any warning: ``warnings.simplefilter("ignore", UndefinedAUROCWarning)``.
    """


class AUROCScores(NamedTuple):
    """Everything one ranking of the data yields.

    Attributes:
        value: the requested result: a 0-d tensor for an average, else the
            per-class vector (or, for ``multi_class="ovo"``, the (C, C) matrix
            of pairwise Hand & Till AUROCs). float64.
        per_class: (C,) one-vs-rest / per-label AUROC, NaN where undefined.
            (1,) for binary. float64.
        support: (C,) number of positive samples of each class, int64.
        num_samples: number of samples scored (after ``ignore_index``).
    """

    value: torch.Tensor
    per_class: torch.Tensor
    support: torch.Tensor
    num_samples: int


# ----------------------------------------------------------------------------- public API


def auroc(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = "macro",
    multi_class: str = "ovr",
    activation: Optional[str] = "auto",
    max_fpr: Optional[float] = None,
    ignore_index: Optional[int] = None,
) -> torch.Tensor:
    """Exact area under the ROC curve, equal to ``sklearn.metrics.roc_auc_score``.

    Args:
        preds: scores, logits or probabilities. ``(N,)`` or ``(N, 1)`` for
            binary, ``(N, C)`` for multiclass and multilabel. ``(N, 2)`` with
            ``task="binary"`` scores column 1 (a two-logit binary head).
        target: labels. ``(N,)`` 0/1 (binary), ``(N,)`` in ``[0, C)``
            (multiclass), ``(N, C)`` 0/1 (multilabel). bool, int or integral float.
        task: ``"binary"``, ``"multiclass"``, ``"multilabel"``, or None to infer
            it from the shapes: 1 column -> binary; ``(N, C)`` with ``(N,)``
            target -> multiclass; ``(N, C)`` with ``(N, C)`` target -> multilabel.
        num_classes: optional check on the number of columns.
        average: ``"macro"``, ``"weighted"`` (by positives), ``"micro"``
            (all class/sample pairs as one binary problem) or None (per class).
            Undefined classes are NaN and left out of macro and weighted.
        multi_class: ``"ovr"`` (one-vs-rest) or ``"ovo"`` (Hand & Till
            one-vs-one; with ``average=None`` the (C, C) pair matrix).
        activation: ``"auto"``, ``"softmax"``, ``"sigmoid"`` or None. Decided
            once for the whole input. ``"auto"``: multiclass applies softmax
            (bitwise ``torch.softmax(preds, 1)``, in float32 for half inputs)
            unless every row is already a probability distribution. Sigmoid
            never changes a ranking, so binary and multilabel scores are
            ranked as given (no float32 saturation ties).
        max_fpr: McClish-standardised partial AUROC over FPR in ``[0, max_fpr]``;
            for binary, and per class for one-vs-rest and multilabel.
        ignore_index: samples (multilabel: entries) with this target are dropped.

    Returns:
        float64 tensor on the device of ``preds``: 0-d for an average,
        ``(C,)`` for ``average=None``. NaN (with one
        :class:`UndefinedAUROCWarning`) where AUROC is undefined.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> ac.auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        tensor(0.7500, dtype=torch.float64)
        >>> probs = torch.tensor([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.2, 0.6], [0.4, 0.5, 0.1]])
        >>> ac.auroc(probs, torch.tensor([0, 0, 2, 1]), average=None)  # rows are distributions: no softmax
        tensor([0.7500, 1.0000, 1.0000], dtype=torch.float64)
    """
    opts = _checks.check_options(
        task=task, num_classes=num_classes, average=average, multi_class=multi_class,
        activation=activation, max_fpr=max_fpr, ignore_index=ignore_index,
    )
    layout = _checks.check_layout(preds, target, opts)
    _checks.check_values(preds, target, layout, opts)
    return compute_scores(preds, target, layout, opts, per_class=False).value


def auroc_scores(preds: torch.Tensor, target: torch.Tensor, **options) -> AUROCScores:
    """Like :func:`auroc`, but also return per-class values and supports from the same ranking.

    Takes the same keyword options as :func:`auroc`.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> s = ac.auroc_scores(torch.tensor([[0.7, 0.3], [0.4, 0.6], [0.2, 0.8]]), torch.tensor([0, 1, 1]))
        >>> s.value.item(), s.support.tolist()
        (1.0, [1, 2])
    """
    opts = _checks.check_options(**options)
    layout = _checks.check_layout(preds, target, opts)
    _checks.check_values(preds, target, layout, opts)
    return compute_scores(preds, target, layout, opts, per_class=True)


def roc_curve(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
    drop_intermediate: bool = True,
    average: Optional[str] = None,
) -> Union[Tuple[torch.Tensor, torch.Tensor, torch.Tensor], List[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
    """ROC curve(s) with scikit-learn's contract.

    Returns ``(fpr, tpr, thresholds)`` for binary input, else a list with one
    such triple per class (one-vs-rest) or label. float64 tensors;
    ``thresholds`` decrease, the first is ``inf``, and element ``i`` is the
    rate among samples scoring ``>= thresholds[i]``. Thresholds are on the
    probability scale when an activation was applied (sigmoid is applied to
    the thresholds, not the scores, so no ties are created). A class with no
    positives (no negatives) gets a NaN ``tpr`` (``fpr``) and a warning.
    ``average="micro"`` returns the single curve of every (sample, class)
    entry as one binary problem, the curve of ``auroc(average="micro")``.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> fpr, tpr, thr = ac.roc_curve(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
        >>> thr[0].item()
        inf
    """
    if average not in (None, "micro"):
        raise ValueError(f"`average` must be None or 'micro' for a ROC curve; got {average!r}")
    opts = _checks.check_options(
        task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index, average=average
    )
    layout = _checks.check_layout(preds, target, opts)
    _checks.check_values(preds, target, layout, opts)
    return compute_curves(preds, target, layout, opts, drop_intermediate=drop_intermediate)


def probabilities(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
) -> Tuple[torch.Tensor, torch.Tensor, Optional[str]]:
    """The probabilities the AUROC ranks, with the activation decided for them.

    Applies the same once-per-input ``activation`` decision as :func:`auroc`
    (here sigmoid is applied too, for display and thresholds). Returns
    ``(probs, target, activation)``: probs ``(N,)`` for binary, else
    ``(N, C)``; target formatted as ``(N,)`` bool (binary), ``(N,)`` int64
    (multiclass) or ``(N, C)`` bool (multilabel), after ``ignore_index``
    (multilabel keeps its shape: ignored entries are not marked).

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> p, t, act = ac.probabilities(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 1]))
        >>> act, p.argmax(1).tolist()
        ('softmax', [0, 1])
    """
    opts = _checks.check_options(task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index)
    layout = _checks.check_layout(preds, target, opts)
    _checks.check_values(preds, target, layout, opts)
    f = _format(preds, target, layout, opts)
    scores = f.scores if f.scores.is_floating_point() else f.scores.double()
    probs = torch.sigmoid(scores) if f.activation == "sigmoid" else scores
    return probs, f.target, f.activation


# ----------------------------------------------------------------------------- formatting


class _Formatted(NamedTuple):
    scores: torch.Tensor  # (N,) binary, (N, C) otherwise; activated where it matters
    target: torch.Tensor  # (N,) bool binary, (N,) int64 multiclass, (N, C) bool multilabel
    valid: Optional[torch.Tensor]  # (N, C) multilabel entries kept by ignore_index
    activation: Optional[str]  # the activation decided for this input


_DISTRIBUTION_TOL = {torch.bfloat16: 5e-2, torch.float16: 1e-2}


def _format(preds: torch.Tensor, target: torch.Tensor, layout: Layout, opts: Options) -> _Formatted:
    preds, target = preds.detach(), target.detach().to(preds.device)  # labels follow the scores' device
    if layout.task != "multilabel":
        target = target.reshape(-1)
    if preds.ndim == 2 and preds.shape[1] == 1:
        preds = preds.reshape(-1)
    valid = None
    if opts.ignore_index is not None:
        keep = target != opts.ignore_index
        if not bool(keep.all()):
            if layout.task == "multilabel":
                valid = keep
            else:
                preds, target = preds[keep], target[keep]
    in_dtype = preds.dtype
    preds = _as_float(preds)
    activation = _decide_activation(preds, in_dtype, layout, opts.activation)
    if activation == "softmax":
        # Bitwise the probabilities users get from torch.softmax(logits, 1) (and fastai's get_preds):
        # a class-major softmax is faster but rounds differently, which breaks exact ties differently.
        preds = torch.softmax(preds if preds.is_floating_point() else preds.double(), dim=1)
    if layout.binary_column is not None:
        preds = preds[:, layout.binary_column]
    target = target.long() if layout.task == "multiclass" else target == 1
    return _Formatted(preds, target, valid, activation)


def _as_float(preds: torch.Tensor) -> torch.Tensor:
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


def _row_tolerance(rows: torch.Tensor, in_dtype: torch.dtype) -> torch.Tensor:
    """(N,) how far each row of probabilities may sum from 1: the precision of its values, not of its container.

    ``in_dtype``'s tolerance, loosened to a 16-bit float's for a row whose
    values that float holds exactly: probabilities rounded to bfloat16 are
    still probabilities after an epoch mixed them with float32 batches (the
    epoch's buffer is float32 then). A pure function of the values, so one
    batch at a time (histogram mode) and the whole epoch (exact mode) agree.
    """
    tol = torch.full(rows.shape[:1], _DISTRIBUTION_TOL.get(in_dtype, 1e-3), dtype=rows.dtype, device=rows.device)
    for fmt, fmt_tol in _DISTRIBUTION_TOL.items():
        if fmt_tol > _DISTRIBUTION_TOL.get(in_dtype, 1e-3):
            held = (rows.to(fmt).to(rows.dtype) == rows).all(1)
            tol = torch.where(held, tol.clamp(min=fmt_tol), tol)
    return tol


def _distribution_excess(rows: torch.Tensor, in_dtype: torch.dtype) -> torch.Tensor:
    """(N,) each row's distance from summing to 1 beyond :func:`_row_tolerance`: <= 0 for a distribution."""
    return (rows.sum(1) - 1).abs() - _row_tolerance(rows, in_dtype)


def _decide_activation(preds: torch.Tensor, in_dtype: torch.dtype, layout: Layout, activation: Optional[str]):
    if activation != "auto":
        return activation
    if preds.ndim == 2 and (layout.task == "multiclass" or layout.binary_column is not None):
        lo, hi = torch.aminmax(preds)
        dev = (preds.sum(1) - 1).abs()
        base = _DISTRIBUTION_TOL.get(in_dtype, 1e-3)
        in_range, within = torch.stack([(lo >= 0) & (hi <= 1), dev.max() <= base]).tolist()  # one host sync
        if not in_range or within:
            return None if in_range else "softmax"
        loose = dev > base  # only these rows need the per-row precision test
        return None if bool((_distribution_excess(preds[loose], in_dtype) <= 0).all()) else "softmax"
    lo, hi = torch.aminmax(preds)
    return "sigmoid" if bool((lo < 0) | (hi > 1)) else None


# ----------------------------------------------------------------------------- compute


class _Ranked(NamedTuple):
    keys: torch.Tensor  # (R, N) sorted packed keys of the ranked rows
    decode: object
    n_pos: torch.Tensor  # (R,) int64
    n_valid: torch.Tensor  # (R,) int64
    two_u: torch.Tensor  # (R,) int64
    ids: Optional[torch.Tensor] = None  # (R, N) the column of each sorted key, with ``with_ids``


def _rank(scores: torch.Tensor, *, labels=None, label_index=None, valid=None, with_ids: bool = False) -> _Ranked:
    """Rank rows of scores (R, N) against labels given as (R, N) 0/1, or as the positive row of each column.

    ``with_ids`` also keeps the sort's permutation (see :func:`_ranking.sort_and_count`).
    """
    packed = _ranking.pack(scores, labels, label_index=label_index, valid=valid)
    keys = packed.keys
    n_rows, n = keys.shape
    if labels is not None:
        lab = labels if valid is None else labels & valid
        n_pos = lab.sum(1, dtype=torch.int64)
    else:
        n_pos = torch.bincount(label_index[label_index >= 0], minlength=n_rows)
    n_valid = torch.full_like(n_pos, n) if valid is None else valid.sum(1, dtype=torch.int64)
    keys, two_u, ids = _ranking.sort_and_count(keys, n_pos, with_ids=with_ids)
    return _Ranked(keys, packed.decode, n_pos, n_valid, two_u, ids)


def _row_problem(f: _Formatted, layout: Layout, rows: Optional[torch.Tensor] = None) -> dict:
    """Arguments of :func:`_rank` for the one-vs-rest rows (all, or the subset ``rows``)."""
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


def _class_counts(f: _Formatted, layout: Layout) -> Tuple[torch.Tensor, torch.Tensor]:
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


def compute_scores(preds, target, layout: Layout, opts: Options, *, per_class: bool = True) -> AUROCScores:
    """The compute stage, on inputs already validated by :mod:`._checks`."""
    f = _format(preds, target, layout, opts)
    n_samples = f.target.shape[0]
    pos, neg = _class_counts(f, layout)
    defined = (pos > 0) & (neg > 0)
    need_ovr = per_class or opts.multi_class == "ovr" and opts.average != "micro" or layout.task == "binary"
    per = torch.full(pos.shape, float("nan"), dtype=torch.float64, device=pos.device)
    ranked = None
    if need_ovr:
        _warn_undefined(layout, pos, neg, opts.average)
        rows = defined.nonzero(as_tuple=True)[0]
        if rows.numel():
            subset = None if rows.numel() == pos.numel() else rows
            ranked = _rank(**_row_problem(f, layout, subset))
            k = rows.numel()
            if opts.max_fpr is None or opts.max_fpr == 1:
                vals = ranked.two_u.double() / (2 * pos[rows] * neg[rows]).double()
            else:
                vals = torch.tensor(
                    [_partial(ranked, r, opts.max_fpr) for r in range(k)], dtype=torch.float64, device=pos.device
                )
            per[rows] = vals

    if layout.task == "binary":
        value = per[0]
    elif opts.multi_class == "ovo" and layout.task == "multiclass":
        value = _ovo(f, layout, pos, opts.average)
    elif opts.average == "micro":
        value = _micro(f, layout, opts.max_fpr)
    else:
        value = average_ovr(per, pos, defined, layout, opts.average)
    return AUROCScores(value, per, pos, int(n_samples))


def average_ovr(per: torch.Tensor, pos: torch.Tensor, defined: torch.Tensor, layout: Layout, average):
    """The reported value from per-class (one-vs-rest, per-label) AUROCs: the one averaging rule.

    Binary: its one value. ``average=None``: ``per`` itself. ``"macro"``: the
    mean over the defined classes; ``"weighted"``: weighted by their support
    ``pos``. NaN when no class is defined.
    """
    if layout.task == "binary":
        return per[0]
    if average is None:
        return per
    if not bool(defined.any()):
        return per.new_tensor(float("nan"))
    if average == "macro":
        return per[defined].mean()
    w = pos[defined].double()
    return (per[defined] * w).sum() / w.sum()


def _partial(ranked: _Ranked, r: int, max_fpr: float) -> float:
    fps, tps, _ = _ranking.curve_from_sorted(ranked.keys[r], int(ranked.n_valid[r]), ranked.decode)
    return _ranking.partial_auc(fps / fps[-1], tps / tps[-1], max_fpr)


def _flatten(f: _Formatted, layout: Layout) -> _Formatted:
    """All (sample, class) entries as one binary problem (scikit-learn's 'micro')."""
    labels = f.target
    if layout.task == "multiclass":
        labels = torch.nn.functional.one_hot(f.target, layout.num_classes).bool()
    valid = None if f.valid is None else f.valid.reshape(-1)
    return _Formatted(f.scores.reshape(-1), labels.reshape(-1), valid, f.activation)


def _micro(f: _Formatted, layout: Layout, max_fpr: Optional[float]) -> torch.Tensor:
    """AUROC of all (sample, class) entries as one binary problem (scikit-learn's 'micro')."""
    f = _flatten(f, layout)
    scores, labels = f.scores.reshape(1, -1), f.target.reshape(1, -1)
    valid = None if f.valid is None else f.valid.reshape(1, -1)
    n_pos = int((labels if valid is None else labels & valid).sum())
    n_all = labels.numel() if valid is None else int(valid.sum())
    if n_pos == 0 or n_pos == n_all:
        _checks.warn(
            "micro-averaged AUROC is undefined: every entry of `target` has the same label; returning NaN",
            UndefinedAUROCWarning,
        )
        return torch.tensor(float("nan"), dtype=torch.float64, device=scores.device)
    ranked = _rank(scores, labels=labels, valid=valid)
    if max_fpr is not None and max_fpr != 1:
        return torch.tensor(_partial(ranked, 0, max_fpr), dtype=torch.float64, device=scores.device)
    return (ranked.two_u[0].double() / (2.0 * n_pos * (n_all - n_pos))).to(scores.device)


def _ovo(f: _Formatted, layout: Layout, counts: torch.Tensor, average: Optional[str]) -> torch.Tensor:
    """Hand & Till (2001) one-vs-one AUROC: the mean over class pairs of (A(a|b) + A(b|a)) / 2.

    For each column a, one values-only sort of ``(class << bits) | code`` keys
    puts the class-a scores of every class in order; A(a|b) then counts, for
    each class-a sample, the class-b samples below it (ties 1/2) by binary search.
    """
    n_cls = layout.num_classes
    device = f.scores.device
    codes = _ranking.pack(f.scores).keys.long() >> 1
    bits = max(int(codes.max()).bit_length(), 1)
    if bits + max(n_cls - 1, 1).bit_length() > 62:  # no room for the class: dense ranks instead
        codes = torch.unique(codes, sorted=True, return_inverse=True)[1].reshape(codes.shape)
        bits = max(int(codes.max()).bit_length(), 1)
    present = (counts > 0).nonzero(as_tuple=True)[0]
    warn_ovo_absent((counts == 0).nonzero(as_tuple=True)[0].tolist())
    offsets = torch.cumsum(counts, 0) - counts
    wins = torch.full((n_cls, n_cls), float("nan"), dtype=torch.float64, device=device)  # A(a|b), x 2 n_a n_b
    cls_shift = f.target << bits
    for a in present.tolist():
        keys = (cls_shift | codes[:, a]).unsqueeze(0)
        keys = _ranking.sort_rows(keys)[0]
        v = codes[f.target == a, a]
        others = present[present != a]
        if others.numel() == 0:
            continue
        queries = (others.unsqueeze(1) << bits) | v.unsqueeze(0)  # (B, n_a)
        below = torch.searchsorted(keys, queries, side="left") - offsets[others].unsqueeze(1)
        below_eq = torch.searchsorted(keys, queries, side="right") - offsets[others].unsqueeze(1)
        wins[a, others] = (below + below_eq).sum(1).double() / (2.0 * counts[a] * counts[others]).double()
    pair = (wins + wins.T) / 2
    if average is None:
        return pair
    iu = torch.triu_indices(n_cls, n_cls, 1, device=device)
    vals = pair[iu[0], iu[1]]
    ok = ~torch.isnan(vals)
    if not bool(ok.any()):
        return torch.tensor(float("nan"), dtype=torch.float64, device=device)
    if average == "macro":
        return vals[ok].mean()
    w = (counts[iu[0]] + counts[iu[1]]).double()[ok]
    return (vals[ok] * w).sum() / w.sum()


def warn_ovo_absent(absent: List[int]) -> None:
    """The one warning for one-vs-one pairs whose classes have no samples (NaN, left out of the average)."""
    if absent:
        _checks.warn(
            f"one-vs-one AUROC is undefined for pairs with class(es) {_list(absent)}: they have no samples;"
            " those pairs are NaN and left out of the average",
            UndefinedAUROCWarning,
        )


def _list(items: list, limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def one_class_message(no_positives: bool) -> str:
    """The one wording of a binary AUROC without positives (or without negatives)."""
    which = "negative" if no_positives else "positive"
    return f"AUROC is undefined: only one class is present in `target` (every sample is {which}); returning NaN"


def _warn_undefined(layout: Layout, pos: torch.Tensor, neg: torch.Tensor, average: Optional[str]) -> None:
    no_pos = (pos == 0).nonzero(as_tuple=True)[0].tolist()
    no_neg = (neg == 0).nonzero(as_tuple=True)[0].tolist()
    if not no_pos and not no_neg:
        return
    if layout.task == "binary":
        msg = one_class_message(bool(no_pos))
    else:
        what = "class" if layout.task == "multiclass" else "label"
        parts = []
        if no_pos:
            parts.append(f"{what}(es) {_list(no_pos)} (no positive samples)")
        if no_neg:
            parts.append(f"{what}(es) {_list(no_neg)} (no negative samples)")
        tail = f"; left out of the {average!r} average" if average in ("macro", "weighted") else ""
        msg = f"AUROC is undefined for {' and '.join(parts)}: NaN{tail}"
    _checks.warn(msg, UndefinedAUROCWarning)


def compute_curves(preds, target, layout: Layout, opts: Options, *, drop_intermediate: bool = True):
    """The compute stage of :func:`roc_curve`, on validated inputs."""
    f = _format(preds, target, layout, opts)
    if opts.average == "micro" and layout.task != "binary":
        f, layout = _flatten(f, layout), Layout("binary", 1, None)
    ranked = _rank(**_row_problem(f, layout))
    pos, neg = _class_counts(f, layout)
    curves = []
    for r in range(ranked.keys.shape[0]):
        fps, tps, thr = _ranking.curve_from_sorted(
            ranked.keys[r], int(ranked.n_valid[r]), ranked.decode, drop_intermediate=drop_intermediate
        )
        if f.activation == "sigmoid":
            thr = torch.sigmoid(thr)  # sigmoid(inf) = 1: keep sklearn's leading inf
            thr[0] = float("inf")
        curves.append((fps / fps[-1], tps / tps[-1], thr))
    if bool(((pos == 0) | (neg == 0)).any()):
        _warn_undefined(layout, pos, neg, None)
    return curves[0] if layout.task == "binary" else curves
