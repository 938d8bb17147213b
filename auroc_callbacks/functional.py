"""Exact AUROC and ROC curves for torch tensors, on whatever device they live on.

Every number the library reports (the fastai metric, the Lightning callback,
the plots, the CLI, the benchmarks) comes from :func:`auroc_scores` or
:func:`roc_curve` here. Each public function is glue over small private
stages: check options -> check tensors -> format -> compute.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple, Union, cast

import torch

from . import _checks, _ranking
from ._checks import (
    InterpretationWarning,
    Layout,
    Options,
    UndefinedAUROCWarning,
    check_params,
    warn_no_positives,
    warn_ovo_absent,
    warn_undefined,
)
from ._format import (
    Formatted,
    class_counts,
    class_weights,
    flatten,
    format_inputs,
    interpret,
    one_hot_layout,
    probabilities_of,
    row_problem,
)

__all__ = [
    "UndefinedAUROCWarning",
    "InterpretationWarning",
    "AUROCScores",
    "APScores",
    "RankingScores",
    "checked_inputs",
    "checked_weight",
    "compute_scores",
    "compute_metrics",
    "compute_curves",
    "average_ovr",
    "auroc",
    "auroc_scores",
    "average_precision",
    "roc_curve",
    "precision_recall_curve",
    "probabilities",
    "DecisionCounts",
    "decision_counts",
]


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


class APScores(NamedTuple):
    """The average precision of one ranking of the data (the same sort as the AUROC's, when both are asked for).

    Attributes:
        value: the requested result: a 0-d tensor for an average, else the
            per-class vector. float64.
        per_class: (C,) one-vs-rest / per-label average precision, NaN for a
            class without positives. (1,) for binary. float64.
        support: (C,) number of positive samples of each class, int64.
        num_samples: number of samples scored (after ``ignore_index``).
    """

    value: torch.Tensor
    per_class: torch.Tensor
    support: torch.Tensor
    num_samples: int


class RankingScores(NamedTuple):
    """What :func:`compute_metrics` was asked for, from one ranking: each None when not asked for."""

    auroc: Optional[AUROCScores]
    ap: Optional[APScores]


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
    sample_weight: Optional[torch.Tensor] = None,
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
        task=task,
        num_classes=num_classes,
        average=average,
        multi_class=multi_class,
        activation=activation,
        max_fpr=max_fpr,
        ignore_index=ignore_index,
        pos_label=pos_label,
    )
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    weight = checked_weight(sample_weight, preds, opts)
    return compute_scores(preds, target, layout, opts, per_class=False, weight=weight).value


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


def checked_weight(sample_weight, preds: torch.Tensor, opts: Options) -> Optional[torch.Tensor]:
    """``sample_weight`` checked against the checked ``preds`` (one host sync for its values), or None.

    Refused with ``multi_class="ovo"``: Hand & Till's pairwise mean has no
    weighted form (scikit-learn refuses it too).
    """
    weight = _checks.check_sample_weight(sample_weight, preds.shape[0])
    if weight is not None and opts.multi_class == "ovo":
        raise ValueError(
            "`sample_weight` is not supported with multi_class='ovo' (Hand & Till's one-vs-one"
            " AUROC has no weighted form); use multi_class='ovr'"
        )
    return weight


def auroc_scores(preds: torch.Tensor, target: torch.Tensor, *, sample_weight=None, **options) -> AUROCScores:
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
    weight = checked_weight(sample_weight, preds, opts)
    return compute_scores(preds, target, layout, opts, per_class=True, weight=weight)


def average_precision(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = "macro",
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
    pos_label: Optional[int] = None,
    sample_weight: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Exact average precision (area under the precision-recall curve), equal to ``sklearn.metrics.average_precision_score``.

    scikit-learn's definition: step-wise, no interpolation,
    ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct thresholds, tied
    scores being one threshold. Binary, multiclass (one-vs-rest) and
    multilabel, read exactly as :func:`auroc` reads them (shapes, labels,
    ``activation``, ``ignore_index``, ``pos_label``). From the same sorted keys
    as the AUROC: :func:`compute_metrics` gives both from one sort.

    Args:
        preds, target, task, num_classes, activation, ignore_index, pos_label: as :func:`auroc`.
        average: ``"macro"`` (the mean over classes with positives),
            ``"weighted"`` (by positives; by their weights with
            ``sample_weight``), ``"micro"`` (every (sample, class) entry as
            one binary problem) or None (per class).
        sample_weight: ``(N,)`` non-negative weights, as scikit-learn's.

    Returns:
        float64 tensor on the device of ``preds``, 0-d (or ``(C,)`` for
        ``average=None``). A class without positives (or whose positives
        weigh 0) is NaN, with one :class:`UndefinedAUROCWarning`, and is left
        out of the macro and weighted averages; a class without negatives has
        AP 1.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> ac.average_precision(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        tensor(0.8333, dtype=torch.float64)
        >>> ac.average_precision(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]),
        ...                      sample_weight=torch.tensor([1.0, 0.0, 1.0, 1.0]))
        tensor(1., dtype=torch.float64)
    """
    opts = _checks.check_options(
        task=task,
        num_classes=num_classes,
        average=average,
        activation=activation,
        ignore_index=ignore_index,
        pos_label=pos_label,
    )
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    weight = checked_weight(sample_weight, preds, opts)
    metrics = compute_metrics(
        preds, target, layout, opts, per_class=False, auroc=False, average_precision=True, weight=weight
    )
    return cast(APScores, metrics.ap).value  # average_precision=True: set


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
    sample_weight: Optional[torch.Tensor] = None,
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
    of a binary target, as scikit-learn's ``roc_curve``). With
    ``sample_weight`` the counts are weighted, and samples of weight 0 set no
    threshold (scikit-learn drops them).

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
        task=task,
        num_classes=num_classes,
        activation=activation,
        ignore_index=ignore_index,
        average=average,
        pos_label=pos_label,
    )
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    weight = checked_weight(sample_weight, preds, opts)
    return compute_curves(preds, target, layout, opts, drop_intermediate=drop_intermediate, weight=weight)


def precision_recall_curve(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
    drop_intermediate: bool = False,
    average: Optional[str] = None,
    pos_label: Optional[int] = None,
    sample_weight: Optional[torch.Tensor] = None,
) -> Union[Tuple[torch.Tensor, torch.Tensor, torch.Tensor], List[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
    """Precision-recall curve(s) with scikit-learn's contract (``sklearn.metrics.precision_recall_curve``).

    Returns ``(precision, recall, thresholds)`` for binary input, else a list
    with one such triple per class (one-vs-rest) or label; ``average="micro"``
    gives the one curve of every (sample, class) entry. float64 tensors:
    ``thresholds`` ascending, one per distinct score (on the probability
    scale when an activation was applied, as :func:`roc_curve`);
    ``precision[i]`` and ``recall[i]`` are those of the samples scoring
    ``>= thresholds[i]``, followed by the final point (precision 1, recall
    0). ``drop_intermediate`` keeps the first and last point of each run of
    equal recall. A class without positives gets a NaN ``recall`` (scikit-learn:
    1) and a warning. The other options are :func:`auroc`'s and :func:`roc_curve`'s.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> p, r, t = ac.precision_recall_curve(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> [round(x, 3) for x in p.tolist()], r.tolist(), t.tolist()
        ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], [0.10000000149011612, 0.3499999940395355, 0.4000000059604645, 0.800000011920929])
    """
    if average not in (None, "micro"):
        raise ValueError(f"`average` must be None or 'micro' for a precision-recall curve; got {average!r}")
    check_params({"drop_intermediate": [bool]}, drop_intermediate=drop_intermediate)
    opts = _checks.check_options(
        task=task,
        num_classes=num_classes,
        activation=activation,
        ignore_index=ignore_index,
        average=average,
        pos_label=pos_label,
    )
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    weight = checked_weight(sample_weight, preds, opts)
    return compute_curves(preds, target, layout, opts, drop_intermediate=drop_intermediate, weight=weight, kind="pr")


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
    opts = _checks.check_options(
        task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index, pos_label=pos_label
    )
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    f = format_inputs(preds, target, layout, opts)
    labels = f.target
    if isinstance(target, torch.Tensor) and labels.untyped_storage().data_ptr() == target.untyped_storage().data_ptr():
        labels = labels.clone()  # a bool target is its own positive mask: never hand the caller's tensor back
    return probabilities_of(f), labels, f.activation


# ----------------------------------------------------------------------------- compute


def compute_scores(
    preds, target, layout: Layout, opts: Options, *, per_class: bool = True, weight: Optional[torch.Tensor] = None
) -> AUROCScores:
    """The compute stage of :func:`auroc_scores`, on inputs already validated by :mod:`._checks`."""
    return cast(AUROCScores, compute_metrics(preds, target, layout, opts, per_class=per_class, weight=weight).auroc)


def compute_metrics(
    preds,
    target,
    layout: Layout,
    opts: Options,
    *,
    per_class: bool = True,
    auroc: bool = True,
    average_precision: bool = False,
    weight: Optional[torch.Tensor] = None,
) -> RankingScores:
    """The AUROC and/or the average precision of validated inputs, from one ranking (one sort per class row).

    The compute stage of :func:`auroc_scores` and :func:`average_precision`,
    and what an epoch result asks for when it wants both: the sorted keys
    that count the Mann-Whitney statistic also give the average precision.
    ``weight``: checked sample weights (:func:`checked_weight`). The average
    precision is one-vs-rest whatever ``multi_class`` says, and ignores ``max_fpr``.
    """
    f = format_inputs(preds, target, layout, opts, weight)
    n_samples = int(f.target.shape[0])
    pos, neg = class_counts(f, layout)
    wpos, wneg = (pos, neg) if f.weight is None else class_weights(f, layout)
    binary = layout.task == "binary"
    ovo = opts.multi_class == "ovo" and layout.task == "multiclass"
    need_auroc = auroc and (per_class or binary or not ovo and opts.average != "micro")
    need_ap = average_precision and (per_class or binary or opts.average != "micro")
    none = torch.zeros_like(wpos, dtype=torch.bool)
    if need_auroc:
        warn_undefined(layout, wpos, wneg, opts.average, also_ap=need_ap)
    elif need_ap:
        warn_no_positives(layout, wpos, opts.average)
    per_auroc, per_ap = _ovr(
        f, layout, (wpos > 0) & (wneg > 0) if need_auroc else none, wpos > 0 if need_ap else none, opts.max_fpr
    )
    micro = (None, None)
    if opts.average == "micro" and not binary:
        micro = _micro(f, layout, opts.max_fpr, auroc=auroc and not ovo, average_precision=average_precision)
    result_auroc = result_ap = None
    if auroc:
        if binary:
            value = per_auroc[0]
        elif ovo:
            value = _ovo(f, layout, pos, opts.average)
        elif opts.average == "micro":
            value = micro[0]
        else:
            value = average_ovr(per_auroc, wpos, (wpos > 0) & (wneg > 0), layout, opts.average)
        result_auroc = AUROCScores(value, per_auroc, pos, n_samples)
    if average_precision:
        if opts.average == "micro" and not binary:
            value = micro[1]
        else:
            value = average_ovr(per_ap, wpos, wpos > 0, layout, opts.average)
        result_ap = APScores(value, per_ap, pos, n_samples)
    return RankingScores(result_auroc, result_ap)


def _ovr(f: Formatted, layout: Layout, auroc_rows: torch.Tensor, ap_rows: torch.Tensor, max_fpr):
    """Per-class (one-vs-rest, per-label) AUROC where ``auroc_rows`` and AP where ``ap_rows``, from one ranking.

    Unweighted, the sort's own counts (:func:`._ranking.rank`); weighted, each
    sorted row's weights gathered by the sort's permutation and summed per
    distinct score (:func:`._ranking.group_counts`). NaN elsewhere.
    """
    per_auroc = torch.full(auroc_rows.shape, float("nan"), dtype=torch.float64, device=auroc_rows.device)
    per_ap = per_auroc.clone()
    rows = (auroc_rows | ap_rows).nonzero(as_tuple=True)[0]
    if rows.numel() == 0:
        return per_auroc, per_ap
    subset = None if rows.numel() == auroc_rows.numel() else rows
    weighted = f.weight is not None
    want_ap = bool(ap_rows.any())
    ranked = _ranking.rank(**row_problem(f, layout, subset), with_ids=weighted, with_ap=want_ap and not weighted)
    partial = max_fpr is not None and max_fpr != 1
    if not weighted:
        if want_ap:
            per_ap[rows] = cast(torch.Tensor, ranked.ap).to(per_ap.device)  # with_ap
        if not partial:
            per_auroc[rows] = _ranking.auroc_value(ranked.two_u, ranked.n_pos, ranked.n_valid - ranked.n_pos).to(
                per_auroc.device
            )
    for k, r in enumerate(rows.tolist()):
        if not weighted and not partial:
            break
        n_valid = int(ranked.n_valid[k])
        w = (
            None
            if not weighted
            else cast(torch.Tensor, f.weight).index_select(0, cast(torch.Tensor, ranked.ids)[k, :n_valid])
        )
        pos, neg, codes = _ranking.group_counts(ranked.keys[k], n_valid, w)
        if partial:
            curve = _ranking.curve_from_counts(pos, neg, ranked.decode(codes), drop_intermediate=False)
            per_auroc[r] = _ranking.partial_auc(*_ranking.as_rates(curve)[:2], max_fpr)
        else:
            per_auroc[r] = _ranking.auroc_value(_ranking.twice_u_of_counts(pos, neg), pos.sum(), neg.sum())
        if want_ap and weighted:
            per_ap[r] = _ranking.average_precision_of_counts(pos, neg)
    per_auroc[~auroc_rows] = float("nan")
    per_ap[~ap_rows] = float("nan")
    return per_auroc, per_ap


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


def _micro(f: Formatted, layout: Layout, max_fpr: Optional[float], *, auroc: bool, average_precision: bool):
    """``(AUROC, AP)`` of all (sample, class) entries as one binary problem (scikit-learn's 'micro'), as asked."""
    f, flat = flatten(f, layout), Layout("binary", 1, None)
    pos, neg = class_weights(f, flat)
    nan = torch.tensor(float("nan"), dtype=torch.float64, device=f.scores.device)
    if auroc and not bool((pos > 0).all() & (neg > 0).all()):
        also = "; so is the average precision" if average_precision and not bool((pos > 0).all()) else ""
        _checks.warn(
            "micro-averaged AUROC is undefined: every entry of `target` has the same label; returning NaN" + also,
            UndefinedAUROCWarning,
        )
    elif average_precision and not bool((pos > 0).all()):
        _checks.warn(
            "micro-averaged average precision is undefined: no entry of `target` is positive; returning NaN",
            UndefinedAUROCWarning,
        )
    none = torch.zeros_like(pos, dtype=torch.bool)
    per_auroc, per_ap = _ovr(
        f, flat, (pos > 0) & (neg > 0) if auroc else none, pos > 0 if average_precision else none, max_fpr
    )
    return (per_auroc[0] if auroc else nan), (per_ap[0] if average_precision else nan)


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


def compute_curves(
    preds,
    target,
    layout: Layout,
    opts: Options,
    *,
    drop_intermediate: bool = True,
    weight: Optional[torch.Tensor] = None,
    kind: str = "roc",
):
    """The compute stage of :func:`roc_curve` (``kind="roc"``) and :func:`precision_recall_curve` (``"pr"``)."""
    f = format_inputs(preds, target, layout, opts, weight)
    if opts.average == "micro" and layout.task != "binary":
        f, layout = flatten(f, layout), Layout("binary", 1, None)
    weighted = f.weight is not None
    ranked = _ranking.rank(**row_problem(f, layout), with_ids=weighted)
    pos, neg = class_weights(f, layout)
    sigmoid = f.activation == "sigmoid"
    curves = []
    for r in range(ranked.keys.shape[0]):
        n_valid = int(ranked.n_valid[r])
        w = (
            cast(torch.Tensor, f.weight).index_select(0, cast(torch.Tensor, ranked.ids)[r, :n_valid])
            if weighted
            else None
        )
        p, n, codes = _ranking.group_counts(ranked.keys[r], n_valid, w)
        if kind == "roc":
            curve = _ranking.curve_from_counts(p, n, ranked.decode(codes), drop_intermediate=drop_intermediate)
            curves.append(_ranking.as_rates(curve, sigmoid=sigmoid))
        else:
            precision, recall, thresholds = _ranking.pr_from_counts(
                p, n, ranked.decode(codes), drop_intermediate=drop_intermediate
            )
            curves.append((precision, recall, torch.sigmoid(thresholds) if sigmoid else thresholds))
    if kind == "roc" and bool(((pos == 0) | (neg == 0)).any()):
        warn_undefined(layout, pos, neg, None)
    elif kind == "pr":
        warn_no_positives(layout, pos, None)
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
    return DecisionCounts(
        tp,
        (decision & negative).sum(0, dtype=torch.int64),
        positive.sum(0, dtype=torch.int64),
        negative.sum(0, dtype=torch.int64),
    )
