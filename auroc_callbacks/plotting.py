"""ROC curves drawn with matplotlib, every number taken from the core.

matplotlib is imported inside the functions that draw (install it with
``pip install "auroc-callbacks[plot]"``); importing this module does not
import it.

The per-class, micro and macro AUROC in the legend come from
:func:`auroc_callbacks.auroc_scores` and :func:`auroc_callbacks.auroc`, the
curves from :func:`auroc_callbacks.roc_curve`. The one thing computed here is
the macro-average *curve*: the mean of the per-class TPRs, interpolated
linearly on the union of every class's FPRs (scikit-learn's ROC example does
the same on a fixed grid). On that grid the mean curve is exact, so its area
is the core's macro AUROC that labels it.

Every artist has a ``gid`` so that it can be found and restyled:

========================================  ======================================
gid                                       artist
========================================  ======================================
``roc/class/{c}``                         ROC curve of class ``c`` (index)
``roc/binary``                            the curve of a binary problem
``roc/micro``                             micro-average curve
``roc/macro``                             macro-average curve
``roc/chance``                            chance diagonal
``roc/operating_point/{c}``, ``.../binary``  marker of the default decision
``pr/class/{c}``, ``pr/binary``, ``pr/micro``  precision-recall curves (:func:`plot_pr`)
``pr/baseline/{c}``, ``pr/baseline/binary``  prevalence of the class (a random ranking's AP)
``pr/operating_point/{c}``, ``.../binary``   marker of the default decision
========================================  ======================================

:func:`plot_pr` draws the precision-recall curves the same way: the curves
from :func:`auroc_callbacks.precision_recall_curve` as steps (the area under
the steps is the average precision), each labelled with
:func:`auroc_callbacks.average_precision`.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from . import _checks, _optional
from .accumulator import AUROCAccumulator, data_or_epoch
from .calibration import Calibrator, Reliability
from .calibration.metrics import BIN_RULES, DATA_OPTIONS, check_data_options, pooled_reliability
from .functional import (
    UndefinedAUROCWarning,
    auroc,
    auroc_scores,
    average_precision,
    decision_counts,
    precision_recall_curve,
    probabilities,
    roc_curve,
)
from .stats import auroc_ci, resolve_ci

__all__ = ["plot_roc", "plot_pr", "plot_reliability"]

#: options of :func:`auroc_callbacks.auroc` that shape the curves.
_CURVE_OPTIONS = ("task", "num_classes", "activation", "ignore_index")
#: options accepted for symmetry with :func:`auroc_callbacks.auroc` that do not change the plot.
_SUMMARY_OPTIONS = ("average", "multi_class", "max_fpr")

_AUTO_TOP_K = 10  # classes drawn by default when there are more than _MAX_ALL_CLASSES
_MAX_ALL_CLASSES = 12
_LEGEND_INSIDE_MAX = 6  # legend entries that still fit inside the axes
_LEGEND_ROWS = 28  # entries per legend column
_NAME_CHARS = 28  # class names are shortened to this in the legend
_LINESTYLES = ("-", "--", "-.", ":")


class _Line(NamedTuple):
    gid: str
    fpr: Optional[np.ndarray]  # None: a legend entry without a curve (undefined AUROC)
    tpr: Optional[np.ndarray]
    label: str
    color: object
    style: dict


class _Plan(NamedTuple):
    """Everything to draw, computed before any matplotlib call."""

    lines: List[_Line]  # class curves (in legend order), then micro, macro
    points: List[Tuple[str, float, float, object]]  # (gid, fpr, tpr, color)
    point_label: Optional[str]
    legend_title: Optional[str]
    title: str


def plot_roc(
    preds: Optional[torch.Tensor] = None,
    target: Optional[torch.Tensor] = None,
    *,
    accumulator: Optional[AUROCAccumulator] = None,
    class_names: Optional[Sequence[object]] = None,
    ax=None,
    top_k: Optional[int] = None,
    show_micro: bool = True,
    show_macro: bool = True,
    show_operating_points: bool = True,
    title: Optional[str] = None,
    ci: Optional[bool] = None,
    ci_level: Optional[float] = None,
    **auroc_options,
):
    """Draw ROC curves, one per class, labelled with the core's exact AUROC.

    Give either ``preds`` and ``target`` or a filled ``accumulator`` (whose
    options are then used). Binary input draws one curve. Multiclass
    (one-vs-rest) and multilabel input draw one curve per class labelled
    ``"{name} (AUC = 0.xxx)"``, the micro- and macro-average curves and the
    chance diagonal. A class whose AUROC is undefined (no positive or no
    negative samples) gets a legend entry saying so and no curve, with one
    :class:`~auroc_callbacks.UndefinedAUROCWarning`.

    The marker on each curve is the default decision: the argmax class for
    multiclass, ``probability >= 0.5`` for binary and multilabel (drawn only
    when the scores are probabilities). With more than 12 classes (or
    ``top_k`` given), only the ``ceil(k/2)`` best and ``floor(k/2)`` worst
    classes by AUROC are drawn (``k = 10`` by default); the legend title says so.

    Every value shown is the full-curve AUROC, the area under what is drawn:
    ``average``, ``multi_class`` and ``max_fpr`` (of the accumulator or the
    options) do not change the plot.

    Args:
        preds: scores, logits or probabilities, ``(N,)`` / ``(N, 1)`` / ``(N, 2)``
            binary, ``(N, C)`` multiclass or multilabel, as for
            :func:`auroc_callbacks.auroc`.
        target: labels, ``(N,)`` or ``(N, C)`` (multilabel).
        accumulator: an :class:`~auroc_callbacks.AUROCAccumulator` holding the
            epoch, instead of ``preds``/``target``. Under ``torch.distributed``
            its ``gather`` is a collective call: call ``compute_scores()`` on
            every rank first, then plot on one rank (the gathered epoch is cached).
        class_names: ``C`` names (binary: 1 or 2, the last names the positive
            class); default ``"0"``..``"C-1"``.
        ax: a matplotlib ``Axes`` to draw on; by default a new figure sized
            to fit the legend.
        top_k: draw only the best and worst ``top_k`` classes (int >= 1).
        show_micro: draw the micro-average curve (multiclass/multilabel).
        show_macro: draw the macro-average curve (multiclass/multilabel).
        show_operating_points: mark the default decision on each curve.
        title: axes title; default says the kind of curve and the sample count.
        ci: add DeLong's confidence interval (:func:`auroc_callbacks.auroc_ci`,
            its default shape) to each AUROC in the legend, per class and for
            the macro average: ``"(AUC = 0.912, 95% CI 0.880-0.940)"``.
            Default: the accumulator's ``ci`` (False with tensors).
        ci_level: the interval's level (default: the accumulator's
            ``ci_level``, else 0.95).
        **auroc_options: ``task``, ``num_classes``, ``activation`` and
            ``ignore_index`` as for :func:`auroc_callbacks.auroc` (and
            ``average``, ``multi_class``, ``max_fpr``, accepted but unused).

    Returns:
        ``(fig, ax)``.

    Raises:
        ValueError: both or neither of ``preds``/``target`` and ``accumulator``;
            options given with an accumulator; bad ``class_names`` or ``top_k``.
        ModuleNotFoundError: matplotlib is not installed.

    Example:
        >>> import torch
        >>> from auroc_callbacks.plotting import plot_roc
        >>> fig, ax = plot_roc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> [t.get_text() for t in ax.get_legend().get_texts()]
        ['ROC curve (AUC = 0.750)', 'decision at p >= 0.5', 'chance (AUC = 0.5)']
        >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    _optional.require_matplotlib("plot_roc")
    preds, target, options = _resolve_inputs(preds, target, accumulator, auroc_options)
    plan = _plan(
        preds,
        target,
        options,
        class_names=class_names,
        top_k=top_k,
        show_micro=show_micro,
        show_macro=show_macro,
        show_operating_points=show_operating_points,
        title=title,
        ci=resolve_ci(ci, ci_level, accumulator),
    )
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=_figsize(plan), layout="constrained")
        ax.set_anchor("W")  # the legend on the right follows the axes; keep the slack past it
    else:
        fig = ax.figure
    _draw(ax, plan)
    return fig, ax


def roc_figure(accumulator: AUROCAccumulator, class_names=None, interval=None, *, scores=None, bound=None):
    """A pyplot-free figure of :func:`plot_roc` for writers (no GUI backend, safe off the main thread).

    Histogram mode: the curves of the counts (``scores`` and ``bound`` from
    its ``compute_bound()``), each AUC labelled with its certified bound.
    """
    _optional.require_matplotlib("log_auroc(figure=True)")
    from matplotlib.figure import Figure

    if accumulator.mode == "histogram":
        plan = _histogram_plan(accumulator, scores, bound, class_names)
    else:
        preds, target, options = _resolve_inputs(None, None, accumulator, {})
        level = resolve_ci(None, None, accumulator)
        if interval is not None and (interval.level != level or accumulator.options.average != "macro"):
            interval = None  # not the macro interval the legend shows: compute it
        plan = _plan(preds, target, options, class_names=class_names, ci=level, interval=interval)
    fig = Figure(figsize=_figsize(plan), layout="constrained")
    ax = fig.add_subplot()
    ax.set_anchor("W")
    _draw(ax, plan)
    return fig


def _histogram_plan(accumulator: AUROCAccumulator, scores, bound, class_names) -> _Plan:
    """Per-class ROC curves from a histogram-mode accumulator's counts, each AUC with its certified bound."""
    binary = accumulator.epoch().layout.task == "binary"  # the epoch compute_bound cached
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)  # warned when the scores were computed
        curves = accumulator.compute_curves()
    curves = [curves] if binary else curves
    per_class = scores.per_class.cpu().numpy()
    bounds = np.full_like(per_class, np.nan) if bound is None else bound.per_class_bound.cpu().numpy()
    names = _checks.check_class_names(class_names, len(curves), binary_default="ROC curve")
    defined = [c for c in range(len(curves)) if not np.isnan(per_class[c])]
    shown, legend_title = _select(per_class, defined, len(curves), None, "classes")
    lines = []
    for (color, style), c in zip(_palette(len(shown)), shown):
        gid = "binary" if binary else str(c)
        if np.isnan(per_class[c]):
            lines.append(
                _Line(f"roc/undefined/{gid}", None, None, f"{_shorten(names[c])} (AUC undefined)", color, style)
            )
            continue
        fpr, tpr, _ = curves[c]
        label = f"{_shorten(names[c])} (AUC = {per_class[c]:.3f} \u00b1 {bounds[c]:.1e})"
        lines.append(
            _Line(
                f"roc/{'binary' if binary else 'class/' + gid}",
                fpr.cpu().numpy(),
                tpr.cpu().numpy(),
                label,
                color,
                style,
            )
        )
    dtype = str(accumulator.histogram_dtype).replace("torch.", "")
    return _Plan(lines, [], None, legend_title, f"ROC from {dtype} buckets (n = {scores.num_samples:,})")


# ----------------------------------------------------------------------------- checks


def _resolve_inputs(preds, target, accumulator, auroc_options: dict):
    """Check the argument combination; return ``(preds, target, curve options)``."""
    unknown = sorted(set(auroc_options) - set(_CURVE_OPTIONS) - set(_SUMMARY_OPTIONS))
    if unknown:
        allowed = ", ".join(_CURVE_OPTIONS + _SUMMARY_OPTIONS)
        raise TypeError(f"plot_roc got unexpected keyword argument(s) {', '.join(unknown)}; options are {allowed}")
    options = {k: auroc_options[k] for k in _CURVE_OPTIONS if k in auroc_options}
    return data_or_epoch(preds, target, accumulator, options, _CURVE_OPTIONS, given=auroc_options)


def _auc_text(value: float, interval, c: Optional[int]) -> str:
    """``AUC = 0.912``, with ``, 95% CI 0.880-0.940`` when there is an interval (``c`` None: the average)."""
    text = f"AUC = {value:.3f}"
    if interval is None:
        return text
    lo, hi = (
        (interval.lower, interval.upper) if c is None else (interval.per_class_lower[c], interval.per_class_upper[c])
    )
    lo, hi = float(lo), float(hi)
    if math.isnan(lo):
        return text + ", no CI"
    return text + f", {100 * interval.level:g}% CI {lo:.3f}\u2013{hi:.3f}"


def _check_top_k(top_k) -> None:
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral)):
        raise TypeError(f"`top_k` must be an int or None; got {type(top_k).__name__} {top_k!r}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"`top_k` must be >= 1; got {top_k!r}")


# ----------------------------------------------------------------------------- what to draw


def _plan(
    preds,
    target,
    options: dict,
    *,
    class_names=None,
    top_k=None,
    show_micro=True,
    show_macro=True,
    show_operating_points=True,
    title=None,
    ci: Optional[float] = None,
    interval=None,
) -> _Plan:
    """What to draw. ``ci``: the level of the intervals to show in the legend, or None for none.

    ``interval``: the epoch's macro :class:`AUROCInterval` at that level when the caller has it (not recomputed).
    """
    _check_top_k(top_k)
    probs, target_f, _ = probabilities(preds, target, **options)
    binary = probs.ndim == 1
    multilabel = target_f.ndim == 2
    n_cls = 1 if binary else probs.shape[1]
    names = [_shorten(n) for n in _checks.check_class_names(class_names, n_cls, binary_default="ROC curve")]

    if ci is None:
        scores, interval = auroc_scores(preds, target, average="macro", **options), None  # warns once if undefined
    else:
        if interval is None:
            interval = auroc_ci(preds, target, average="macro", ci_level=ci, **options)  # one ranking, one warning
        scores = interval.scores()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)  # already warned above
        curves = roc_curve(preds, target, **options)
        if binary:
            curves = [curves]
        micro = micro_auc = None
        if not binary and show_micro:
            micro = roc_curve(preds, target, average="micro", **options)
            micro_auc = float(auroc(preds, target, average="micro", **options))
    per_class = scores.per_class.cpu().numpy()
    curves = [(f.cpu().numpy(), t.cpu().numpy()) for f, t, _ in curves]
    points = _operating_points(probs, target_f, target, options.get("ignore_index"), multilabel)

    defined = [c for c in range(n_cls) if not math.isnan(per_class[c])]
    shown, legend_title = _select(per_class, defined, n_cls, top_k, "labels" if multilabel else "classes")
    marked = points if show_operating_points else None
    lines, marks = _class_lines(shown, per_class, curves, names, interval, binary, marked)
    if micro is not None and not math.isnan(micro_auc):
        lines.append(_micro_line(micro, micro_auc))
    macro_auc = float(scores.value)
    if not binary and show_macro and defined and not math.isnan(macro_auc):
        lines.append(_macro_line([curves[c] for c in defined], macro_auc, interval))
    return _titled_plan(lines, marks, legend_title, title, "ROC", binary, multilabel, scores.num_samples)


def _titled_plan(lines, marks, legend_title, title, curve: str, binary: bool, multilabel: bool, n: int) -> _Plan:
    """A plan with its decision marks' legend label and, unless given, its title (``curve``: "ROC" or "PR")."""
    point_label = None
    if marks:
        point_label = "argmax decision" if not binary and not multilabel else "decision at p >= 0.5"
    if title is None:
        if binary:
            title = f"{curve} curve (n = {n:,})"
        else:
            title = f"{curve} curves{' per label' if multilabel else ', one-vs-rest'} (n = {n:,})"
    return _Plan(lines, marks, point_label, legend_title, title)


def _class_lines(shown, per_class, curves, names, interval, binary: bool, points):
    """The curves of the ``shown`` classes, in legend order, and their decisions' marks (``points`` None: none)."""
    palette = _palette(len(shown))
    lines, marks = [], []
    for i, c in enumerate(shown):
        color, style = palette[i]
        gid = "binary" if binary else str(c)
        if math.isnan(per_class[c]):
            lines.append(_Line(f"roc/undefined/{gid}", None, None, f"{names[c]} (AUC undefined)", color, style))
            continue
        fpr, tpr = curves[c]
        auc_text = _auc_text(per_class[c], interval, c)
        lines.append(
            _Line(f"roc/{'binary' if binary else 'class/' + gid}", fpr, tpr, f"{names[c]} ({auc_text})", color, style)
        )
        if points is not None:
            marks.append((f"roc/operating_point/{gid}", points[0][c], points[1][c], color))
    return lines, marks


def _micro_line(micro, micro_auc: float) -> _Line:
    """The micro-average curve: every (sample, class) entry pooled into one ranking."""
    return _Line(
        "roc/micro",
        micro[0].cpu().numpy(),
        micro[1].cpu().numpy(),
        f"micro-average (AUC = {micro_auc:.3f})",
        "black",
        dict(ls=":", lw=2.4),
    )


def _macro_line(defined_curves, macro_auc: float, interval) -> _Line:
    """The macro-average curve: the mean TPR of the defined classes' curves."""
    fpr, tpr = _mean_curve(defined_curves)
    return _Line(
        "roc/macro",
        fpr,
        tpr,
        f"macro-average ({_auc_text(macro_auc, interval, None)})",
        "0.3",
        dict(ls=(0, (6, 1.5, 1.5, 1.5)), lw=2.2),
    )


def _shorten(name: str) -> str:
    """Collapse whitespace; cut long names in the middle, keeping the end (``"... class 17"`` stays distinct)."""
    name = re.sub(r"\s+", " ", name).strip()
    if len(name) <= _NAME_CHARS:
        return name
    head = (_NAME_CHARS - 1) // 2
    return name[:head] + "\u2026" + name[len(name) - (_NAME_CHARS - 1 - head) :]


def _select(per_class: np.ndarray, defined: List[int], n_cls: int, top_k, what: str):
    """Classes to draw, in legend order, and the legend title."""
    k = top_k if top_k is not None else (_AUTO_TOP_K if n_cls > _MAX_ALL_CLASSES else None)
    if k is None or k >= len(defined):
        return list(range(n_cls)), None
    ranked = sorted(defined, key=lambda c: (-per_class[c], c))  # best first; ties by index
    n_best = (k + 1) // 2
    n_worst = k - n_best
    shown = ranked[:n_best] + (ranked[-n_worst:] if n_worst else [])
    title = f"{n_best} best" + (f" and {n_worst} worst" if n_worst else "") + f" of {n_cls} {what}"
    if len(defined) < n_cls:
        title += f" ({n_cls - len(defined)} undefined)"
    return shown, title


def _palette(n: int) -> List[Tuple[object, dict]]:
    """Qualitative colours (tab10, tab20 past 10); past 20, the line style changes too."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    size = cmap.N
    return [(cmap(i % size), dict(ls=_LINESTYLES[(i // size) % len(_LINESTYLES)], lw=1.6)) for i in range(n)]


def _operating_points(probs, target_f, target_raw, ignore_index, multilabel: bool):
    """(FPR, TPR) arrays, one entry per class, of the default decision; None if scores are not probabilities."""
    if probs.ndim == 1 or multilabel:
        if bool((probs.min() < 0) | (probs.max() > 1)):
            return None  # activation=None on raw scores: 0.5 means nothing
    valid = target_raw != ignore_index if multilabel and ignore_index is not None else None
    tp, fp, pos, neg = (c.double() for c in decision_counts(probs, target_f, threshold=0.5, valid=valid))
    return (fp / neg).cpu().numpy(), (tp / pos).cpu().numpy()


def _mean_curve(curves: List[Tuple[np.ndarray, np.ndarray]]) -> Tuple[np.ndarray, np.ndarray]:
    """Macro-average ROC curve: the mean TPR of piecewise-linear curves on the union of their FPRs.

    Each grid point is taken twice, once as the lowest and once as the highest
    TPR a curve reaches there, so vertical steps stay exact.
    """
    grid = np.unique(np.concatenate([fpr for fpr, _ in curves]))
    low = np.zeros_like(grid)
    high = np.zeros_like(grid)
    for fpr, tpr in curves:
        low += _interp(grid, fpr, tpr, side="left")
        high += _interp(grid, fpr, tpr, side="right")
    x = np.repeat(grid, 2)
    y = np.empty_like(x)
    y[0::2], y[1::2] = low / len(curves), high / len(curves)
    return x, y


def _interp(x: np.ndarray, fpr: np.ndarray, tpr: np.ndarray, side: str) -> np.ndarray:
    """TPR of one curve at ``x``: the lowest ("left") or highest ("right") where the curve is vertical."""
    if side == "left":
        j = np.searchsorted(fpr, x, side="left")  # first index with fpr >= x
        hit = fpr[np.minimum(j, len(fpr) - 1)] == x
        lo, hi = np.maximum(j - 1, 0), np.minimum(j, len(fpr) - 1)
    else:
        j = np.searchsorted(fpr, x, side="right") - 1  # last index with fpr <= x
        hit = fpr[np.maximum(j, 0)] == x
        lo, hi = np.maximum(j, 0), np.minimum(j + 1, len(fpr) - 1)
    span = fpr[hi] - fpr[lo]
    w = np.divide(x - fpr[lo], span, out=np.zeros_like(x), where=span > 0)
    between = tpr[lo] + w * (tpr[hi] - tpr[lo])
    exact = tpr[np.clip(j, 0, len(fpr) - 1)]
    return np.where(hit, exact, between)


# ----------------------------------------------------------------------------- drawing


def _legend_size(plan: _Plan) -> Tuple[int, int, int]:
    """(entries, columns, longest label)."""
    labels = [line.label for line in plan.lines]
    labels += [plan.point_label] if plan.point_label else []
    labels.append("chance (AUC = 0.5)")
    longest = max(len(s) for s in labels + [plan.legend_title or ""])
    n = len(labels)
    return n, max(1, math.ceil(n / _LEGEND_ROWS)), longest


def _figsize(plan: _Plan) -> Tuple[float, float]:
    n, ncol, longest = _legend_size(plan)
    side = 5.2
    if n <= _LEGEND_INSIDE_MAX:
        return (side, side + 0.2)
    return (side + ncol * (0.7 + 0.064 * longest), side)


def _draw(ax, plan: _Plan) -> None:
    from matplotlib.lines import Line2D

    handles = []
    for line in plan.lines:
        if line.fpr is None:  # a legend entry without a curve
            handles.append(Line2D([], [], color=line.color, lw=1.6, ls=(0, (1, 3)), label=line.label))
            continue
        zorder = 2.5 if line.gid in ("roc/micro", "roc/macro") else 3
        (h,) = ax.plot(
            line.fpr,
            line.tpr,
            color=line.color,
            label=line.label,
            gid=line.gid,
            clip_on=False,
            zorder=zorder,
            **line.style,
        )
        handles.append(h)
    for gid, x, y, color in plan.points:
        ax.plot(
            [x], [y], ls="none", marker="o", ms=7, mfc=color, mec="white", mew=1.2, gid=gid, clip_on=False, zorder=4
        )
    if plan.point_label:
        handles.append(
            Line2D([], [], ls="none", marker="o", ms=7, mfc="0.5", mec="white", mew=1.2, label=plan.point_label)
        )
    (chance,) = ax.plot(
        [0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance (AUC = 0.5)", gid="roc/chance", zorder=1
    )
    handles.append(chance)

    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.grid(True, alpha=0.3, lw=0.6)
    if plan.title:
        ax.set_title(plan.title)
    n, ncol, _ = _legend_size(plan)
    common = dict(handles=handles, fontsize="small", title=plan.legend_title, title_fontsize="small", handlelength=3.0)
    if n <= _LEGEND_INSIDE_MAX:
        ax.legend(loc="lower right", **common)
    else:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            frameon=False,
            ncols=ncol,
            alignment="left",
            **common,
        )


# ----------------------------------------------------------------------------- precision-recall curves


class _PRPlan(NamedTuple):
    """A precision-recall figure: :class:`_Plan`'s curves (``fpr``/``tpr`` hold recall/precision) and baselines."""

    plan: _Plan
    baselines: List[Tuple[str, float, object]]  # (gid, prevalence, color)


def plot_pr(
    preds: Optional[torch.Tensor] = None,
    target: Optional[torch.Tensor] = None,
    *,
    accumulator: Optional[AUROCAccumulator] = None,
    class_names: Optional[Sequence[object]] = None,
    ax=None,
    top_k: Optional[int] = None,
    show_micro: bool = True,
    show_baseline: bool = True,
    show_operating_points: bool = True,
    title: Optional[str] = None,
    sample_weight: Optional[torch.Tensor] = None,
    **auroc_options,
):
    """Draw precision-recall curves, one per class, labelled with the core's exact average precision.

    :func:`plot_roc`'s sibling, with its inputs (``preds`` and ``target``, or
    a filled ``accumulator``), ``class_names``, ``top_k`` and options. Each
    class (one-vs-rest; label) gets its curve as steps, whose area is its
    average precision, labelled ``"{name} (AP = 0.xxx)"``; the micro-average
    curve for multiclass and multilabel input; a dotted line at each class's
    prevalence (the AP of a random ranking, the baseline to beat); and a
    marker at the default decision (the argmax class for multiclass, ``p >=
    0.5`` for binary and multilabel probabilities). A class without positives
    gets a legend entry saying so and no curve, with one
    :class:`~auroc_callbacks.UndefinedAUROCWarning`. With more than 12
    classes, the best and worst by AP are drawn, as in :func:`plot_roc`.
    ``sample_weight`` (or an accumulator's weights) weights the curves, the
    APs and the prevalences; the decision markers are then left out.

    Returns:
        ``(fig, ax)``.

    Example:
        >>> import torch
        >>> from auroc_callbacks.plotting import plot_pr
        >>> fig, ax = plot_pr(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> [t.get_text() for t in ax.get_legend().get_texts()]
        ['PR curve (AP = 0.833)', 'decision at p >= 0.5', 'prevalence (random ranking)']
        >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    _optional.require_matplotlib("plot_pr")
    _check_top_k(top_k)
    preds, target, options = _resolve_inputs(preds, target, accumulator, auroc_options)
    w = accumulator.gather_weight() if accumulator is not None and accumulator.mode == "exact" else sample_weight
    ap = average_precision(preds, target, average=None, sample_weight=w, **options)  # warns once if undefined
    probs, target_f, _ = probabilities(preds, target, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)  # warned above
        curves = precision_recall_curve(preds, target, sample_weight=w, **options)
        micro = None
        if probs.ndim == 2 and show_micro:
            micro = (
                precision_recall_curve(preds, target, average="micro", sample_weight=w, **options),
                float(average_precision(preds, target, average="micro", sample_weight=w, **options)),
            )
    points = None
    if show_operating_points and w is None:
        points = _pr_points(probs, target_f, target, options.get("ignore_index"), target_f.ndim == 2)
    support, n = _class_support(probs, target_f, target, options.get("ignore_index"), w)
    figure = _pr_plan(
        curves,
        ap,
        support,
        n,
        class_names,
        micro=micro,
        points=points,
        top_k=top_k,
        title=title,
        baseline=show_baseline,
        multilabel=target_f.ndim == 2,
    )
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=_figsize(figure.plan), layout="constrained")
        ax.set_anchor("W")
    else:
        fig = ax.figure
    _draw_pr(ax, figure)
    return fig, ax


def pr_figure(accumulator: AUROCAccumulator, class_names=None, *, ap_bound=None):
    """A pyplot-free figure of :func:`plot_pr` for writers; histogram mode: the counts' curves, AP with its interval.

    ``ap_bound``: histogram mode, the epoch's :class:`~auroc_callbacks.histogram.APBound` when the caller has it.
    """
    _optional.require_matplotlib("a precision-recall figure")
    from matplotlib.figure import Figure

    if accumulator.mode == "histogram":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedAUROCWarning)  # warned when the scores were computed
            bound = ap_bound if ap_bound is not None else accumulator.compute_ap_bound()
            curves = accumulator.compute_pr_curves()
        layout = accumulator.epoch().layout
        dtype = str(accumulator.histogram_dtype).replace("torch.", "")
        figure = _pr_plan(
            curves,
            bound.per_class,
            bound.support.double() / max(bound.num_samples, 1),
            bound.num_samples,
            class_names,
            multilabel=layout.task == "multilabel",
            bound=bound,
            title=f"PR from {dtype} buckets (n = {bound.num_samples:,})",
        )
    else:
        fig = Figure(figsize=(7.5, 5.2), layout="constrained")
        plot_pr(accumulator=accumulator, class_names=class_names, ax=fig.add_subplot())
        return fig
    fig = Figure(figsize=_figsize(figure.plan), layout="constrained")
    ax = fig.add_subplot()
    ax.set_anchor("W")
    _draw_pr(ax, figure)
    return fig


def _class_support(probs, target_f, target_raw, ignore_index, weight):
    """``(prevalence per class, samples)``: the (weighted) share of positives, each class's random-ranking AP."""
    valid = torch.ones(target_f.shape, dtype=torch.bool, device=target_f.device)
    if target_f.ndim == 2 and ignore_index is not None:
        valid = target_raw != ignore_index
    w = torch.ones(target_f.shape[0], dtype=torch.float64, device=probs.device) if weight is None else weight.double()
    w = w.to(probs.device)
    if target_f.ndim == 1 and ignore_index is not None and target_raw.ndim == 1:  # the rows probabilities() kept
        w = w[(target_raw != ignore_index).to(w.device)]
    if target_f.ndim == 2:  # multilabel: per label, over its kept entries
        wv = w[:, None] * valid
        return (wv * target_f).sum(0) / wv.sum(0), int(target_f.shape[0])
    if probs.ndim == 1:
        return (w * target_f).sum().reshape(1) / w.sum(), int(target_f.shape[0])
    return torch.zeros(probs.shape[1], dtype=torch.float64, device=w.device).index_add_(0, target_f, w) / w.sum(), int(
        target_f.shape[0]
    )


def _pr_points(probs, target_f, target_raw, ignore_index, multilabel: bool):
    """(recall, precision) arrays of the default decision, one entry per class (NaN: nothing predicted); or None."""
    if (probs.ndim == 1 or multilabel) and bool((probs.min() < 0) | (probs.max() > 1)):
        return None  # scores that are no probabilities: 0.5 means nothing
    valid = target_raw != ignore_index if multilabel and ignore_index is not None else None
    tp, fp, pos, _ = (c.double() for c in decision_counts(probs, target_f, threshold=0.5, valid=valid))
    return (tp / pos).cpu().numpy(), (tp / (tp + fp)).cpu().numpy()


def _pr_plan(
    curves,
    ap,
    prevalence,
    n: int,
    class_names,
    *,
    multilabel: bool,
    micro=None,
    points=None,
    top_k=None,
    title=None,
    baseline: bool = True,
    bound=None,
) -> _PRPlan:
    """What a precision-recall figure draws; ``bound``: a histogram's :class:`APBound` (each AP with its interval)."""
    binary = not isinstance(curves, list)
    curves = [curves] if binary else curves
    per_ap = ap.reshape(-1).cpu().numpy()
    prevalence = prevalence.cpu().numpy()
    names = [_shorten(c) for c in _checks.check_class_names(class_names, len(curves), binary_default="PR curve")]
    defined = [c for c in range(len(curves)) if not math.isnan(per_ap[c])]
    shown, legend_title = _select(per_ap, defined, len(curves), top_k, "labels" if multilabel else "classes")
    lines, marks, baselines = [], [], []
    for (color, style), c in zip(_palette(len(shown)), shown):
        gid = "binary" if binary else str(c)
        if math.isnan(per_ap[c]):
            lines.append(
                _Line(f"pr/undefined/{gid}", None, None, f"{names[c]} (AP undefined: no positives)", color, style)
            )
            continue
        precision, recall, _ = curves[c]
        text = f"AP = {per_ap[c]:.3f}"
        if bound is not None:
            lo, hi = (float(bound.per_class_lower.reshape(-1)[c]), float(bound.per_class_upper.reshape(-1)[c]))
            text += f" in [{lo:.3f}, {hi:.3f}]"
        lines.append(
            _Line(
                f"pr/{'binary' if binary else 'class/' + gid}",
                recall.cpu().numpy(),
                precision.cpu().numpy(),
                f"{names[c]} ({text})",
                color,
                style,
            )
        )
        if baseline:
            baselines.append((f"pr/baseline/{gid}", float(prevalence[c]), color))
        if points is not None and not math.isnan(points[1][c]):
            marks.append((f"pr/operating_point/{gid}", points[0][c], points[1][c], color))
    if micro is not None and not math.isnan(micro[1]):
        precision, recall, _ = micro[0]
        lines.append(
            _Line(
                "pr/micro",
                recall.cpu().numpy(),
                precision.cpu().numpy(),
                f"micro-average (AP = {micro[1]:.3f})",
                "black",
                dict(ls=":", lw=2.4),
            )
        )
    return _PRPlan(_titled_plan(lines, marks, legend_title, title, "PR", binary, multilabel, n), baselines)


def _draw_pr(ax, figure: _PRPlan) -> None:
    from matplotlib.lines import Line2D

    plan, handles = figure.plan, []
    for line in plan.lines:
        if line.fpr is None:
            handles.append(Line2D([], [], color=line.color, lw=1.6, ls=(0, (1, 3)), label=line.label))
            continue
        (h,) = ax.plot(
            line.fpr,
            line.tpr,
            color=line.color,
            label=line.label,
            gid=line.gid,
            drawstyle="steps-post",
            clip_on=False,
            zorder=2.5 if line.gid == "pr/micro" else 3,
            **line.style,
        )
        handles.append(h)
    for gid, x, y, color in plan.points:
        ax.plot(
            [x], [y], ls="none", marker="o", ms=7, mfc=color, mec="white", mew=1.2, gid=gid, clip_on=False, zorder=4
        )
    if plan.point_label:
        handles.append(
            Line2D([], [], ls="none", marker="o", ms=7, mfc="0.5", mec="white", mew=1.2, label=plan.point_label)
        )
    for gid, y, color in figure.baselines:
        ax.axhline(y, color=color, ls=":", lw=1.0, alpha=0.7, gid=gid, zorder=1)
    if figure.baselines:
        handles.append(Line2D([], [], color="grey", ls=":", lw=1.0, label="prevalence (random ranking)"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.grid(True, alpha=0.3, lw=0.6)
    if plan.title:
        ax.set_title(plan.title)
    n, ncol, _ = _legend_size(plan)
    common = dict(handles=handles, fontsize="small", title=plan.legend_title, title_fontsize="small", handlelength=3.0)
    if n <= _LEGEND_INSIDE_MAX:
        ax.legend(loc="lower left", **common)
    else:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            frameon=False,
            ncols=ncol,
            alignment="left",
            **common,
        )


# ----------------------------------------------------------------------------- reliability diagrams

_RELIABILITY_AXIS_LABELS = {
    "binary": ("mean predicted probability", "fraction of positives", "samples"),
    "multiclass": ("confidence (top-label probability)", "accuracy", "samples"),
    "multilabel": ("predicted probability (every label pooled)", "fraction of positives", "entries"),
}
_STRATEGY_NAMES = {"uniform": "equal-width", "quantile": "equal-mass"}


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
    calibration. Every number comes from
    :func:`auroc_callbacks.calibration.reliability`; the ECE in the legend is
    that of the bins drawn, ``sum_b n_b |accuracy_b - confidence_b| / n``.

    Artists carry a ``gid`` so that they can be found and restyled:

    =================================  =========================================
    gid                                artist
    =================================  =========================================
    ``reliability/diagonal``           the perfectly calibrated diagonal
    ``reliability/model``              accuracy against confidence, per bin
    ``reliability/calibrated``         the same after calibration
    ``reliability/counts/model``       the samples per bin (lower axes)
    ``reliability/counts/calibrated``  the same after calibration
    =================================  =========================================

    Args:
        preds, target: scores and labels, as for
            :func:`auroc_callbacks.calibration.calibration_error`.
        accumulator: an :class:`~auroc_callbacks.AUROCAccumulator` holding
            the epoch instead (its options are used).
        calibrated: a fitted :class:`~auroc_callbacks.calibration.Calibrator`
            (applied to ``preds``) or a tensor of calibrated probabilities in
            the layout of ``preds``.
        n_bins, strategy: as for :func:`auroc_callbacks.calibration.calibration_error`.
        title: figure title; default says the sample and bin counts.
        **options: ``task``, ``num_classes``, ``activation``, ``ignore_index``.

    Returns:
        The matplotlib ``Figure``; ``fig.axes[0]`` is the diagram, ``fig.axes[1]`` the counts.

    Raises:
        ModuleNotFoundError: matplotlib is not installed.

    Example:
        >>> import torch
        >>> from auroc_callbacks.plotting import plot_reliability
        >>> p = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0])
        >>> fig = plot_reliability(p, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1]), n_bins=3)
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['perfectly calibrated', 'model (ECE = 0.139)']
        >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    _optional.require_matplotlib("plot_reliability")
    _checks.check_params(BIN_RULES, n_bins=n_bins, strategy=strategy)
    check_data_options(options, "plot_reliability")
    preds, target, options = data_or_epoch(preds, target, accumulator, options, DATA_OPTIONS, given=options)
    diagram, task = pooled_reliability(preds, target, n_bins=n_bins, strategy=strategy, **options)
    curves = [("model", diagram)]
    if calibrated is not None:
        if isinstance(calibrated, Calibrator):
            with torch.no_grad():
                after = calibrated(preds)
            name = calibrated.display_name
        elif isinstance(calibrated, torch.Tensor):
            after, name = calibrated, "calibrated"
        else:
            raise TypeError(
                f"`calibrated` must be a Calibrator, a tensor of probabilities or None; got {type(calibrated).__name__}"
            )
        after_options = {**options, "activation": None}  # probabilities
        curves.append((name, pooled_reliability(after, target, n_bins=n_bins, strategy=strategy, **after_options)[0]))
    return reliability_figure(curves, task, strategy, title=title, pyplot=True)


def reliability_figure(
    curves: List[Tuple[str, Reliability]], task: str, strategy: str, *, title: Optional[str] = None, pyplot: bool = True
):
    """A figure of one or two :class:`~auroc_callbacks.calibration.Reliability` curves, ``[(name, reliability)]``.

    ``pyplot=False`` builds a bare ``matplotlib.figure.Figure`` (no GUI
    backend, safe off the main thread) for writers.
    """
    if pyplot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(5.2, 6.0), layout="constrained")
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.2, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw=dict(height_ratios=[3, 1]))
    x_label, y_label, unit = _RELIABILITY_AXIS_LABELS[task]
    top.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated", gid="reliability/diagonal")
    n_total, n_bins = 0, 0
    for i, (name, rel) in enumerate(curves):
        kind = "model" if i == 0 else "calibrated"
        color = f"C{i}"
        count = rel.count.cpu().numpy()
        acc, conf = rel.accuracy.cpu().numpy(), rel.confidence.cpu().numpy()
        edges = rel.edges.cpu().numpy()
        filled = count > 0
        top.plot(
            conf[filled],
            acc[filled],
            marker="o",
            ms=4.5,
            lw=1.6,
            color=color,
            gid=f"reliability/{kind}",
            label=f"{name} (ECE = {_binned_ece(count, acc, conf):.3f})",
            clip_on=False,
            zorder=3,
        )
        bottom.stairs(
            count,
            edges,
            color=color,
            fill=i == 0,
            alpha=0.45 if i == 0 else 1.0,
            lw=1.4,
            gid=f"reliability/counts/{kind}",
        )
        if i == 0:
            n_total, n_bins = int(count.sum()), count.size
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel(y_label)
    top.grid(True, alpha=0.3, lw=0.6)
    top.legend(loc="upper left", fontsize="small")
    bottom.set_xlabel(x_label)
    bottom.set_ylabel(unit)
    bottom.grid(True, alpha=0.3, lw=0.6)
    if title is None:
        title = f"Reliability diagram (n = {n_total:,} {unit}, {n_bins} {_STRATEGY_NAMES[strategy]} bins)"
    top.set_title(title, fontsize="medium")
    return fig


def _binned_ece(count: np.ndarray, accuracy: np.ndarray, confidence: np.ndarray) -> float:
    """The ECE of the bins drawn: ``sum_b n_b |accuracy_b - confidence_b| / n``."""
    filled = count > 0
    return float(np.sum(count[filled] * np.abs(accuracy[filled] - confidence[filled])) / np.sum(count))
