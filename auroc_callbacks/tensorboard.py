"""Log an epoch's AUROC to TensorBoard: one function shared by the fastai and Lightning callbacks.

:func:`log_auroc` takes any writer with ``add_scalar`` (and ``add_figure`` /
``add_pr_curve`` when those are asked for): a
``torch.utils.tensorboard.SummaryWriter``, which is what Lightning's
``TensorBoardLogger.experiment`` and fastai's ``TensorBoardCallback.writer``
are. Nothing here imports tensorboard or matplotlib at module import time;
the figure needs matplotlib (``pip install "auroc-callbacks[plot]"``), a
``SummaryWriter`` needs tensorboard (``pip install "auroc-callbacks[tensorboard]"``).

Tags written, for ``tag="auroc"`` (the default) and class names after
sanitising (every run of characters other than letters, digits, ``_``, ``.``
and ``-`` becomes ``_``):

====================  ===========  ==============================================================
tag                   kind         written when
====================  ===========  ==============================================================
``auroc``             scalar       the configured value is a scalar (not ``average=None``) and not NaN
``auroc_lo``          scalar       ``accumulator.ci`` (or ``interval=`` given): the interval's ends, when not NaN
``auroc_hi``          scalar       (:meth:`~auroc_callbacks.AUROCAccumulator.compute_interval`)
``auroc_bound``       scalar       ``mode="histogram"``: the certified bound of the value, when not NaN
``auroc/{class}``     scalar       multiclass / multilabel: each class whose AUROC is defined (not NaN)
``auroc/roc``         image        ``figure=True``: :func:`auroc_callbacks.plotting.plot_roc` of the epoch
``auroc/pr_figure``   image        ``pr_figure=True``: :func:`auroc_callbacks.plotting.plot_pr` of the epoch
``auroc/pr/{class}``  PR curve     ``pr_curves=True``, multiclass / multilabel: each class with a positive
``auroc/pr``          PR curve     ``pr_curves=True``, binary (if there is a positive)
====================  ===========  ==============================================================

Classes with an undefined AUROC (no positive or no negative samples) get no
scalar: TensorBoard charts draw NaN badly, and the core has already warned
with :class:`~auroc_callbacks.UndefinedAUROCWarning`. When the epoch's scores
contain NaN (an accumulator with ``nan_strategy="warn"``), neither the figure
nor the PR curves are drawn. PR curves are TensorBoard's own binned display
(127 thresholds) of the probabilities of :func:`auroc_callbacks.probabilities`;
no number this library reports comes from them.

An accumulator in ``mode="histogram"`` holds counts, not predictions: its
figure is drawn from :meth:`~auroc_callbacks.AUROCAccumulator.compute_curves`
(one point per occupied 16-bit bucket; per-class curves, the AUROC and its
bound in the legend) and it has no PR curves.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import List, Optional, Sequence

import torch

from . import _checks, _optional
from .accumulator import AUROCAccumulator
from .calibration import CalibrationSummary
from .functional import AUROCScores, UndefinedAUROCWarning, probabilities
from .histogram import AUROCBound
from .stats import AUROCInterval

__all__ = ["log_auroc", "log_calibration", "tag_name"]

_UNSAFE = re.compile(r"[^\w.\-]+")


def tag_name(name: object) -> str:
    """A class name made safe for a TensorBoard tag: runs of other characters than ``[\\w.-]`` become ``_``.

    Example:
        >>> tag_name("sea lion/seal")
        'sea_lion_seal'
    """
    return _UNSAFE.sub("_", str(name)) or "_"


def log_auroc(
    writer,
    accumulator: AUROCAccumulator,
    *,
    step: int,
    tag: str = "auroc",
    class_names: Optional[Sequence[object]] = None,
    scores: Optional[AUROCScores] = None,
    figure: bool = True,
    pr_curves: bool = True,
    scalars: bool = True,
    interval: Optional[AUROCInterval] = None,
    bound: Optional[AUROCBound] = None,
    pr_figure: bool = False,
) -> AUROCScores:
    """Write the epoch's AUROC, per-class AUROC, ROC figure and PR curves to a TensorBoard writer.

    See the module docstring for the tags. Under ``torch.distributed``,
    ``accumulator.gather()`` is a collective call: compute the scores on every
    rank (``accumulator.compute_scores()``) and call this on one rank with
    ``scores=``; the accumulator then reuses its gathered epoch.

    Args:
        writer: a ``torch.utils.tensorboard.SummaryWriter`` or anything with
            ``add_scalar(tag, value, global_step=)``, plus ``add_figure`` and
            ``add_pr_curve`` when ``figure`` / ``pr_curves`` are on.
        accumulator: the :class:`~auroc_callbacks.AUROCAccumulator` holding the epoch.
        step: the global step to log at.
        tag: prefix of every tag (``"val/auroc"`` works too).
        class_names: ``C`` names, used in the per-class tags and the figure
            (binary: 1 or 2, figure only); default ``"0"``..``"C-1"``.
        scores: the :class:`~auroc_callbacks.AUROCScores` already computed
            from ``accumulator``, to avoid ranking the epoch again; default
            ``accumulator.compute_scores()``.
        figure: log the ROC figure (needs matplotlib).
        pr_curves: log a precision-recall curve per class.
        scalars: log the scalars; off when they already reach TensorBoard
            another way (Lightning's ``pl_module.log``).
        interval: the :class:`~auroc_callbacks.AUROCInterval` already
            computed from ``accumulator``: its ends are logged as
            ``{tag}_lo`` and ``{tag}_hi`` (and ``scores`` default to its
            own). Default: ``accumulator.compute_interval()`` when the
            accumulator was built with ``ci=True``, else no interval.
        bound: ``mode="histogram"``: the :class:`~auroc_callbacks.histogram.AUROCBound`
            already computed from ``accumulator``: its bound is logged as
            ``{tag}_bound`` (and ``scores`` default to its own). Default:
            ``accumulator.compute_bound()`` when scalars are logged.
        pr_figure: also log the precision-recall figure (each class's curve
            and average precision; histogram mode: from the counts, each AP
            with its certified interval), next to the ROC figure. Needs matplotlib.

    Returns:
        The :class:`~auroc_callbacks.AUROCScores` that were logged.

    Raises:
        TypeError: ``writer`` lacks ``add_scalar``, ``accumulator`` is not an
            ``AUROCAccumulator``, or ``step``/``tag``/``scores`` have the wrong type.
        ValueError: ``class_names`` has the wrong length, or two names give the same tag.
        ModuleNotFoundError: ``figure=True`` and matplotlib is not installed
            (raised before anything is written).

    Example:
        >>> import tempfile, torch, auroc_callbacks as ac
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> from auroc_callbacks.tensorboard import log_auroc
        >>> acc = ac.AUROCAccumulator()
        >>> acc.update(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> with tempfile.TemporaryDirectory() as logdir:
        ...     with SummaryWriter(logdir) as writer:
        ...         scores = log_auroc(writer, acc, step=0)  # tags 'auroc', 'auroc/roc', 'auroc/pr'
        >>> scores.value
        tensor(0.7500, dtype=torch.float64)
    """
    _checks.check_writer(writer, step, tag)
    if not isinstance(accumulator, AUROCAccumulator):
        raise TypeError(f"`accumulator` must be an AUROCAccumulator; got {type(accumulator).__name__}")
    if scores is not None and not isinstance(scores, AUROCScores):
        raise TypeError(f"`scores` must be an AUROCScores or None; got {type(scores).__name__}")
    if interval is not None and not isinstance(interval, AUROCInterval):
        raise TypeError(f"`interval` must be an AUROCInterval or None; got {type(interval).__name__}")
    if bound is not None and not isinstance(bound, AUROCBound):
        raise TypeError(f"`bound` must be an AUROCBound or None; got {type(bound).__name__}")
    if figure or pr_figure:
        _optional.require_matplotlib("log_auroc(figure=True)")  # before anything is written
    tag = tag.strip("/")
    step = int(step)
    if accumulator.mode == "histogram":
        scores = _log_histogram(writer, accumulator, step, tag, class_names, scores, figure, scalars, bound)
        if pr_figure and not bool(torch.isnan(scores.value).any()):
            _log_pr_figure(writer, accumulator, f"{tag}/pr_figure", step, class_names)
        return scores

    if interval is None and scalars and accumulator.ci:
        interval = accumulator.compute_interval()
    if scores is None:
        scores = accumulator.compute_scores() if interval is None else interval.scores()
    preds, target = accumulator.gather()  # cached by compute_scores: no second collective
    layout = _checks.check_layout(preds, target, accumulator.options)
    binary = layout.task == "binary"
    names = None if binary else _tag_names(class_names, layout.num_classes)

    ends = {} if interval is None else {"_lo": interval.lower, "_hi": interval.upper}
    _log_scalars(writer, tag, step, scores, names, scalars, ends)

    if preds.is_floating_point() and bool(torch.isnan(preds).any()):
        return scores  # nan_strategy="warn": the core warned; nothing can be drawn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)  # warned when the scores were computed
        if figure:
            _log_figure(writer, accumulator, f"{tag}/roc", step, class_names, interval)
        if pr_curves:
            _log_pr_curves(writer, preds, target, accumulator, tag, step, names)
        if pr_figure:
            _log_pr_figure(writer, accumulator, f"{tag}/pr_figure", step, class_names)
    return scores


def _log_histogram(
    writer,
    accumulator,
    step: int,
    tag: str,
    class_names,
    scores,
    figure: bool,
    scalars: bool,
    bound: Optional[AUROCBound],
) -> AUROCScores:
    """``log_auroc`` for counts: the scalars and the bound, and the figure drawn from the counts' curves."""
    if bound is None and (scores is None or scalars):
        bound = accumulator.compute_bound()
    if scores is None:
        scores = bound.scores()
    layout = accumulator.epoch().layout  # cached by compute_bound: no second collective
    binary = layout.task == "binary"
    names = None if binary else _tag_names(class_names, layout.num_classes)
    _log_scalars(writer, tag, step, scores, names, scalars, {} if bound is None else {"_bound": bound.bound})
    if figure and not bool(torch.isnan(scores.value).any()):
        _log_figure(writer, accumulator, f"{tag}/roc", step, class_names, scores=scores, bound=bound)
    return scores


def _log_scalars(
    writer, tag: str, step: int, scores: AUROCScores, names: Optional[List[str]], scalars: bool, ends: dict
) -> None:
    """The value and the ``ends`` (``{suffix: 0-d tensor}``) unless NaN, then each defined class's value."""
    value = scores.value
    if scalars and value.ndim == 0 and not bool(torch.isnan(value)):
        writer.add_scalar(tag, float(value), global_step=step)
    for suffix, end in ends.items():
        if scalars and end.ndim == 0 and not bool(torch.isnan(end)):
            writer.add_scalar(f"{tag}{suffix}", float(end), global_step=step)
    if scalars and names is not None:
        for name, v in zip(names, scores.per_class.tolist()):
            if v == v:  # not NaN
                writer.add_scalar(f"{tag}/{name}", v, global_step=step)


def _tag_names(class_names, num_classes: int) -> List[str]:
    """:func:`~auroc_callbacks._checks.check_class_names`, made tag-safe; two names giving one tag are refused."""
    resolved = _checks.check_class_names(class_names, num_classes, binary_default="1")
    names = [tag_name(n) for n in resolved]
    seen = {}
    for raw, name in zip(resolved if class_names is None else class_names, names):
        if name in seen:
            raise ValueError(
                f"`class_names` {seen[name]!r} and {raw!r} both become the tag name {name!r}; make them distinct"
            )
        seen[name] = raw
    return names


def _log_figure(writer, accumulator, tag: str, step: int, class_names, interval=None, **histogram) -> None:
    from matplotlib import pyplot as plt

    from .plotting import roc_figure

    fig = roc_figure(accumulator, class_names, interval=interval, **histogram)
    try:
        writer.add_figure(tag, fig, global_step=step)
    finally:
        plt.close(fig)


def _log_pr_figure(writer, accumulator, tag: str, step: int, class_names) -> None:
    from matplotlib import pyplot as plt

    from .plotting import pr_figure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)  # warned when the scores were computed
        fig = pr_figure(accumulator, class_names)
    try:
        writer.add_figure(tag, fig, global_step=step)
    finally:
        plt.close(fig)


def _log_pr_curves(writer, preds, target, accumulator, tag: str, step: int, names: Optional[List[str]]) -> None:
    opts = accumulator.options
    probs, labels, _ = probabilities(
        preds,
        target,
        task=opts.task,
        num_classes=opts.num_classes,
        activation=opts.activation,
        ignore_index=opts.ignore_index,
        pos_label=opts.pos_label,
    )
    if bool((probs.min() < 0) | (probs.max() > 1)):
        _checks.warn(
            f"PR curves need probabilities in [0, 1]; with activation={opts.activation!r} the scores are outside"
            " it, so no PR curve is logged (use activation='auto', 'sigmoid' or 'softmax')",
            UserWarning,
        )
        return
    probs = probs.detach().float().cpu()
    if names is None:  # binary
        labels = labels.cpu()
        if bool(labels.any()):
            writer.add_pr_curve(f"{tag}/pr", labels.to(torch.int64).numpy(), probs.numpy(), global_step=step)
        return
    valid = None
    if labels.ndim == 1:  # multiclass (ignore_index already dropped those samples)
        labels = torch.nn.functional.one_hot(labels, probs.shape[1]).bool()
    elif opts.ignore_index is not None:  # multilabel: ignored entries are kept in place, drop them per label
        valid = (target != opts.ignore_index).cpu()
    labels = labels.cpu()
    for c, name in enumerate(names):
        y, p = labels[:, c], probs[:, c]
        if valid is not None:
            y, p = y[valid[:, c]], p[valid[:, c]]
        if bool(y.any()):
            writer.add_pr_curve(f"{tag}/pr/{name}", y.to(torch.int64).numpy(), p.numpy(), global_step=step)


# ----------------------------------------------------------------------------- calibration


def log_calibration(
    writer,
    summary: CalibrationSummary,
    *,
    step: int,
    tag: str = "calibration",
    figure: bool = True,
    scalars: bool = True,
) -> None:
    """Write a :class:`~auroc_callbacks.calibration.CalibrationSummary` to a TensorBoard ``SummaryWriter``.

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
        summary: from :func:`auroc_callbacks.calibration.calibration_summary`.
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
        >>> import tempfile, torch
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> from auroc_callbacks.calibration import calibration_summary
        >>> from auroc_callbacks.tensorboard import log_calibration
        >>> logits, y = torch.tensor([-2.0, -1.0, 0.5, 1.0, 2.0, -0.5]), torch.tensor([0, 0, 0, 1, 1, 1])
        >>> s = calibration_summary(logits, y)
        >>> with tempfile.TemporaryDirectory() as logdir:
        ...     with SummaryWriter(logdir) as writer:
        ...         log_calibration(writer, s, step=0)  # calibration/ece, ..., calibration/reliability
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
        from .plotting import reliability_figure

        curves = [("model", summary.reliability)]
        if not math.isnan(float(summary.temperature)):
            curves.append((f"temperature-scaled (T = {float(summary.temperature):.2f})", summary.reliability_tempered))
        fig = reliability_figure(curves, summary.task, summary.strategy, pyplot=False)  # no GUI backend needed
        writer.add_figure(f"{tag}/reliability", fig, global_step=step)
