"""Exact AUROC and ROC curves for torch tensors, on whatever device they live on.

Every number the library reports (the fastai metric, the Lightning callback,
the plots, the CLI, the benchmarks) comes from :func:`auroc_scores` or
:func:`roc_curve` here. Each public function is glue over small private
stages: check options -> check tensors -> format -> compute.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple, Union

import torch

from . import _checks, _ranking
from ._checks import InterpretationWarning, Layout, Options, UndefinedAUROCWarning, check_params, warn_ovo_absent
from ._checks import warn_undefined
from ._format import Formatted, class_counts, flatten, format_inputs, interpret, one_hot_layout, probabilities_of
from ._format import row_problem

__all__ = ["UndefinedAUROCWarning", "InterpretationWarning", "AUROCScores", "checked_inputs", "compute_scores",
           "compute_curves", "average_ovr", "auroc", "auroc_scores", "roc_curve", "probabilities", "DecisionCounts",
           "decision_counts"]


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
    pos_label: Optional[int] = None,
) -> torch.Tensor:
    """Exact area under the ROC curve, equal to ``sklearn.metrics.roc_auc_score``.

    Args:
        preds: scores, logits or probabilities. ``(N,)`` or ``(N, 1)`` for
            binary, ``(N, C)`` for multiclass and multilabel. ``(N, 2)`` with
            ``task="binary"`` scores column 1 (a two-logit binary head). A
            0-d value next to a target of one sample is one sample
            (``logits.squeeze()`` on a batch of one).
        target: labels. ``(N,)`` 0/1 or -1/1 (binary; 1 is positive), or any
            two labels with ``pos_label``; ``(N,)`` in ``[0, C)``
            (multiclass), ``(N, C)`` 0/1 (multilabel). bool, int or integral
            float. ``(N,)`` and ``(N, 1)`` are the same.
        task: ``"binary"``, ``"multiclass"``, ``"multilabel"``, or None to infer
            it from the shapes: 1 column -> binary; ``(N, C)`` with ``(N,)``
            target -> multiclass; ``(N, C)`` with ``(N, C)`` target ->
            multilabel, unless every target row is one-hot (with
            ``activation="auto"``): then multiclass (the target's argmax, so
            logits are softmaxed; one :class:`InterpretationWarning`; pass
            ``task="multilabel"`` to score each column on its own).
        num_classes: optional check on the number of columns.
        average: ``"macro"``, ``"weighted"`` (by positives), ``"micro"``
            (all class/sample pairs as one binary problem) or None (per class).
            Undefined classes are NaN and left out of macro and weighted.
        multi_class: ``"ovr"`` (one-vs-rest) or ``"ovo"`` (Hand & Till
            one-vs-one; with ``average=None`` the (C, C) pair matrix).
        activation: ``"auto"``, ``"softmax"``, ``"sigmoid"`` or None. Decided
            once for the whole input. ``"auto"`` (torchmetrics' rule):
            multiclass scores (and a binary (N, 2) head) with any value
            outside [0, 1] are logits, softmaxed (bitwise
            ``torch.softmax(preds, 1)``, in float32 for half inputs); all in
            [0, 1], they are ranked as given, one-vs-rest, whether or not
            their rows sum to 1 (rows that do not give one
            :class:`InterpretationWarning`: pass ``"softmax"`` for logits).
            Sigmoid never changes a ranking, so binary and multilabel scores
            are ranked as given (no float32 saturation ties). Integer or
            bool predictions (hard labels) are scored, with a warning.
        max_fpr: McClish-standardised partial AUROC over FPR in ``[0, max_fpr]``;
            for binary, and per class for one-vs-rest and multilabel.
        ignore_index: samples (multilabel: entries) with this target are dropped.
        pos_label: binary only: the positive label; the target's other label
            is negative (at most two labels, as ``sklearn.metrics.roc_curve``'s
            ``pos_label``). None (default): 0/1 or -1/1, 1 positive.

    Returns:
        float64 tensor on the device of ``preds``: 0-d for an average,
        ``(C,)`` for ``average=None``. NaN (with one
        :class:`UndefinedAUROCWarning`) where AUROC is undefined.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> ac.auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        tensor(0.7500, dtype=torch.float64)
        >>> probs = torch.tensor([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.2, 0.6], [0.4, 0.5, 0.1]])
        >>> ac.auroc(probs, torch.tensor([0, 0, 2, 1]), average=None)  # all in [0, 1]: ranked as given
        tensor([0.7500, 1.0000, 1.0000], dtype=torch.float64)
        >>> ac.auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([-1, -1, 1, 1]))  # -1/1 labels
        tensor(0.7500, dtype=torch.float64)
        >>> ac.auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([2, 2, 7, 7]), pos_label=7)
        tensor(0.7500, dtype=torch.float64)
    """
    opts = _checks.check_options(
        task=task, num_classes=num_classes, average=average, multi_class=multi_class,
        activation=activation, max_fpr=max_fpr, ignore_index=ignore_index, pos_label=pos_label,
    )
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    return compute_scores(preds, target, layout, opts, per_class=False).value


def checked_inputs(preds, target, opts: Options) -> Tuple[torch.Tensor, torch.Tensor, Layout, Options]:
    """The check stages of every public function, once: ``(preds, target, layout, options)`` ready to compute.

    Shapes (a 0-d side next to one sample made ``(1,)``), the one-hot
    layout, values (labels, rankable scores; a few host syncs), then
    ``activation="auto"`` decided for the whole input, with one
    :class:`InterpretationWarning` per note (see :func:`._format.interpret`).
    """
    preds, target = _checks.one_sample(preds, target)
    layout = one_hot_layout(target, _checks.check_layout(preds, target, opts), opts)
    _checks.check_values(preds, target, layout, opts)
    meaning = interpret(preds, target, layout, opts)
    _checks.warn_interpretations(meaning.notes)
    return preds, target, layout, meaning.options


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
    preds, target, layout, opts = checked_inputs(preds, target, opts)
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
    pos_label: Optional[int] = None,
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
    The other options are :func:`auroc`'s (``pos_label``: the positive label
    of a binary target, as scikit-learn's ``roc_curve``).

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
    check_params({"drop_intermediate": [bool]}, drop_intermediate=drop_intermediate)
    opts = _checks.check_options(
        task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index, average=average,
        pos_label=pos_label,
    )
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    return compute_curves(preds, target, layout, opts, drop_intermediate=drop_intermediate)


def probabilities(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
    pos_label: Optional[int] = None,
) -> Tuple[torch.Tensor, torch.Tensor, Optional[str]]:
    """The probabilities the AUROC ranks, with the activation decided for them.

    Applies the same once-per-input ``activation`` decision as :func:`auroc`
    (here sigmoid is applied too, for display and thresholds). Returns
    ``(probs, target, activation)``: probs ``(N,)`` for binary, else
    ``(N, C)``; target formatted as ``(N,)`` bool (binary), ``(N,)`` int64
    (multiclass; a one-hot target's argmax) or ``(N, C)`` bool (multilabel),
    after ``ignore_index`` (multilabel keeps its shape: ignored entries are
    not marked); a binary target is True where it equals ``pos_label`` (default 1).

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> p, t, act = ac.probabilities(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 1]))
        >>> act, p.argmax(1).tolist()
        ('softmax', [0, 1])
    """
    opts = _checks.check_options(task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index,
                                 pos_label=pos_label)
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    f = format_inputs(preds, target, layout, opts)
    return probabilities_of(f), f.target, f.activation


# ----------------------------------------------------------------------------- compute


def compute_scores(preds, target, layout: Layout, opts: Options, *, per_class: bool = True) -> AUROCScores:
    """The compute stage, on inputs already validated by :mod:`._checks`."""
    f = format_inputs(preds, target, layout, opts)
    n_samples = f.target.shape[0]
    pos, neg = class_counts(f, layout)
    defined = (pos > 0) & (neg > 0)
    need_ovr = per_class or opts.multi_class == "ovr" and opts.average != "micro" or layout.task == "binary"
    per = torch.full(pos.shape, float("nan"), dtype=torch.float64, device=pos.device)
    ranked = None
    if need_ovr:
        warn_undefined(layout, pos, neg, opts.average)
        rows = defined.nonzero(as_tuple=True)[0]
        if rows.numel():
            subset = None if rows.numel() == pos.numel() else rows
            ranked = _ranking.rank(**row_problem(f, layout, subset))
            k = rows.numel()
            if opts.max_fpr is None or opts.max_fpr == 1:
                vals = _ranking.auroc_value(ranked.two_u, pos[rows], neg[rows])
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


def _partial(ranked: _ranking.Ranked, r: int, max_fpr: float) -> float:
    fpr, tpr, _ = _ranking.as_rates(_ranking.curve_from_sorted(ranked.keys[r], int(ranked.n_valid[r]), ranked.decode))
    return _ranking.partial_auc(fpr, tpr, max_fpr)


def _micro(f: Formatted, layout: Layout, max_fpr: Optional[float]) -> torch.Tensor:
    """AUROC of all (sample, class) entries as one binary problem (scikit-learn's 'micro')."""
    f = flatten(f, layout)
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
    ranked = _ranking.rank(scores, labels=labels, valid=valid)
    if max_fpr is not None and max_fpr != 1:
        return torch.tensor(_partial(ranked, 0, max_fpr), dtype=torch.float64, device=scores.device)
    return _ranking.auroc_value(ranked.two_u[0], n_pos, n_all - n_pos).to(scores.device)


def _ovo(f: Formatted, layout: Layout, counts: torch.Tensor, average: Optional[str]) -> torch.Tensor:
    """Hand & Till (2001) one-vs-one AUROC: the mean over class pairs of (A(a|b) + A(b|a)) / 2.

    For each column a, one values-only sort of ``(class << bits) | code`` keys
    puts the class-a scores of every class in order; for each class-a sample,
    two binary searches count the class-b samples below it and at or below it,
    the placements :func:`._ranking.twice_u` counts A(a|b) from.
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
        at_or_below = torch.searchsorted(keys, queries, side="right") - offsets[others].unsqueeze(1)
        wins[a, others] = _ranking.auroc_value(_ranking.twice_u(below, at_or_below), counts[a], counts[others])
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


def compute_curves(preds, target, layout: Layout, opts: Options, *, drop_intermediate: bool = True):
    """The compute stage of :func:`roc_curve`, on validated inputs."""
    f = format_inputs(preds, target, layout, opts)
    if opts.average == "micro" and layout.task != "binary":
        f, layout = flatten(f, layout), Layout("binary", 1, None)
    ranked = _ranking.rank(**row_problem(f, layout))
    pos, neg = class_counts(f, layout)
    curves = []
    for r in range(ranked.keys.shape[0]):
        curve = _ranking.curve_from_sorted(
            ranked.keys[r], int(ranked.n_valid[r]), ranked.decode, drop_intermediate=drop_intermediate
        )
        curves.append(_ranking.as_rates(curve, sigmoid=f.activation == "sigmoid"))
    if bool(((pos == 0) | (neg == 0)).any()):
        warn_undefined(layout, pos, neg, None)
    return curves[0] if layout.task == "binary" else curves


# ----------------------------------------------------------------------------- the default decision


class DecisionCounts(NamedTuple):
    """The confusion counts of one decision, per class or label: each ``(C,)`` int64 (``(1,)`` for binary).

    Attributes:
        tp: positives decided positive.
        fp: negatives decided positive.
        pos: positives (the support).
        neg: negatives.
    """

    tp: torch.Tensor
    fp: torch.Tensor
    pos: torch.Tensor
    neg: torch.Tensor


def decision_counts(
    probs: torch.Tensor, target: torch.Tensor, *, threshold: float = 0.5, valid: Optional[torch.Tensor] = None
) -> DecisionCounts:
    """Confusion counts of the default decision, on what :func:`probabilities` returns.

    Multiclass (``probs`` ``(N, C)``, ``target`` ``(N,)`` class indices):
    the argmax class (ties: the first), one-vs-rest per class. Binary
    (``probs`` ``(N,)``) and multilabel (``target`` ``(N, C)``):
    ``probs >= threshold`` per label. The reports' precision, recall and F1
    and the plots' operating points are ratios of these counts.

    Args:
        probs: probabilities (or scores), ``(N,)`` binary, else ``(N, C)``.
        target: ``(N,)`` bool (binary), ``(N,)`` int64 (multiclass) or ``(N, C)`` bool (multilabel).
        threshold: the decision threshold of binary and multilabel scores.
        valid: the entries to count, a bool mask shaped like ``target`` (multilabel
            entries kept by ``ignore_index``); default every entry.

    Returns:
        :class:`DecisionCounts`, int64 on the device of ``probs``.

    Example:
        >>> import torch
        >>> c = decision_counts(torch.tensor([0.2, 0.6, 0.7, 0.4]), torch.tensor([False, True, False, True]))
        >>> [t.tolist() for t in c]
        [[1], [1], [2], [2]]
    """
    n = probs.shape[0]
    keep = None if valid is None else valid.reshape(n, -1).to(probs.device).bool()
    if probs.ndim == 2 and target.ndim == 1:  # multiclass: the argmax, counted by bincount (no (N, C) mask)
        n_cls = probs.shape[1]
        pred, label = probs.argmax(1), target.to(probs.device).long()
        if keep is not None:
            pred, label = pred[keep[:, 0]], label[keep[:, 0]]
        tp = torch.bincount(label[pred == label], minlength=n_cls)
        pos = torch.bincount(label, minlength=n_cls)
        return DecisionCounts(tp, torch.bincount(pred, minlength=n_cls) - tp, pos, label.shape[0] - pos)
    decision = (probs >= threshold).reshape(n, -1)
    positive = target.to(probs.device).reshape(decision.shape).bool()
    if keep is not None:
        decision, positive = decision & keep, positive & keep
    negative = ~positive if keep is None else ~positive & keep
    tp = (decision & positive).sum(0, dtype=torch.int64)
    return DecisionCounts(tp, (decision & negative).sum(0, dtype=torch.int64), positive.sum(0, dtype=torch.int64),
                          negative.sum(0, dtype=torch.int64))
