"""``AUROC``: a :class:`torchmetrics.Metric` over the library's exact AUROC, for ``self.log``, Fabric and plain loops.

A thin translation of torchmetrics' protocol into the shared pipeline:
``update`` checks each batch's types and shapes (no host sync) and appends
it to torchmetrics states; ``compute`` hands the epoch to the same core as
every callback. The states follow torchmetrics' contract, so its own
distributed sync, ``merge_state``, ``clone``, ``compute_on_cpu`` and
``state_dict`` work unchanged:

- ``mode="exact"`` (default): ``cat`` states of the predictions and targets
  (torchmetrics all-gathers them);
- ``mode="histogram"``: ``sum`` states of fixed size, the 16-bit counts of
  :class:`~auroc_callbacks.HistogramAccumulator` (one all-reduce, whatever
  the number of samples; exact for the rounded scores). It needs ``task`` and
  ``num_classes`` at construction, to size the states.

Unlike ``torchmetrics.classification.AUROC``: one-vs-one, an undefined AUROC is
NaN with an :class:`~auroc_callbacks.UndefinedAUROCWarning` (never 0.0), and
``activation="auto"`` is decided once on the whole epoch (exact mode), not per batch.

``DistributedSampler`` pads the last shards with repeated samples, and a
torchmetrics state cannot know which: under DDP the value is the AUROC of the
padded set. :class:`auroc_callbacks.lightning.AUROCCallback` removes the padding.
"""

from __future__ import annotations

import torch
import torchmetrics
from torchmetrics.utilities import dim_zero_cat

from . import _checks, histogram
from ._callback import build_accumulator
from ._checks import Layout
from ._histogram_counts import HistogramCounts
from .distributed import EmptyEpochError
from .functional import UndefinedAUROCWarning
from .histogram import APBound, AUROCBound

__all__ = ["AUROC", "AveragePrecision"]

#: the keyword arguments of ``torchmetrics.Metric.__init__``, passed to it untouched
METRIC_KWARGS = (
    "compute_on_cpu",
    "dist_sync_on_step",
    "process_group",
    "dist_sync_fn",
    "distributed_available_fn",
    "sync_on_compute",
    "compute_with_cache",
)
#: the accumulator options this adapter takes (the others need the callbacks: intervals, buffer placement)
AUROC_OPTIONS = (
    "task",
    "num_classes",
    "average",
    "multi_class",
    "activation",
    "max_fpr",
    "ignore_index",
    "pos_label",
    "mode",
    "histogram_dtype",
    "nan_strategy",
)
#: what the callbacks set that this adapter fixes: torchmetrics syncs the states, so the accumulator never gathers
_FIXED = {"sync_dist": False, "ci": False, "ci_level": 0.95, "buffer_device": None}


class AUROC(torchmetrics.Metric):
    """The exact epoch AUROC as a ``torchmetrics.Metric``: ``self.log("val_auroc", metric)`` in Lightning.

    Takes the options of :class:`~auroc_callbacks.AUROCAccumulator`
    (``task``, ``num_classes``, ``average``, ``multi_class``, ``activation``,
    ``max_fpr``, ``ignore_index``, ``pos_label``, ``mode``, ``histogram_dtype``,
    ``nan_strategy``), checked at construction, and torchmetrics' own
    ``Metric`` keyword arguments (``compute_on_cpu``, ``dist_sync_on_step``,
    ``process_group``, ``sync_on_compute``, ...), passed through.

    ``update(preds, target)`` takes ``(N,)`` / ``(N, 1)`` / ``(N, 2)``
    binary, ``(N, C)`` multiclass or multilabel scores as
    :func:`auroc_callbacks.auroc` does; ``compute()`` returns its float64 value
    (0-d, or ``(C,)`` for ``average=None``). States are not saved in
    ``state_dict`` unless ``metric.persistent(True)`` (torchmetrics' default).

    Example:
        >>> import torch
        >>> from auroc_callbacks.torchmetrics import AUROC
        >>> metric = AUROC()
        >>> metric.update(torch.tensor([0.1, 0.4]), torch.tensor([0, 0]))
        >>> metric.update(torch.tensor([0.35, 0.8]), torch.tensor([1, 1]))
        >>> metric.compute()
        tensor(0.7500, dtype=torch.float64)
    """

    _what = "AUROC"
    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    plot_lower_bound = 0.0
    plot_upper_bound = 1.0

    def __init__(self, **kwargs):
        metric_kwargs = {k: kwargs.pop(k) for k in METRIC_KWARGS if k in kwargs}
        super().__init__(**metric_kwargs)
        refused = sorted(set(kwargs) & set(_FIXED))
        if refused:
            raise TypeError(
                f"AUROC (torchmetrics) does not take `{refused[0]}`: use an AUROCCallback"
                f" (auroc_callbacks.lightning or .fastai) for it; AUROC takes {', '.join(AUROC_OPTIONS)}"
            )
        acc = build_accumulator(kwargs, who="AUROC", own=METRIC_KWARGS, **_FIXED)  # checks every option
        self.auroc_options = dict(kwargs)
        self.options, self.mode, self.nan_strategy = acc.options, acc.mode, acc.nan_strategy
        self._checker = acc
        if self.mode == "exact":
            self.add_state("preds", default=[], dist_reduce_fx="cat")
            self.add_state("target", default=[], dist_reduce_fx="cat")
            return
        task, n = self.options.task, self.options.num_classes
        if task is None or (n is None and task != "binary"):
            raise ValueError(
                "mode='histogram' in the torchmetrics AUROC needs `task` and `num_classes` (binary: `task` only)"
                f" to size its fixed states; got task={task!r}, num_classes={n!r}"
            )
        self.histogram_dtype = acc.histogram_dtype
        counter = HistogramCounts(self.options, self.histogram_dtype)
        counter.allocate(Layout(task, 1 if task == "binary" else n, None), torch.device("cpu"))
        # int64: states outlive the counter's host-side row count (it cannot widen a state it does not own)
        self.add_state("counts", default=counter.counts.long(), dist_reduce_fx="sum")
        self.add_state("counters", default=counter.ints, dist_reduce_fx="sum")
        self.add_state("extremes", default=counter.extremes, dist_reduce_fx="max")
        # the binary column of (N, 2) scores (-1: none; the counts' shape does not depend on it)
        self.add_state("binary_column", default=torch.tensor(-1), dist_reduce_fx="max")
        self._counter = counter

    # ------------------------------------------------------------------ accumulation

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch: types and shapes checked against the first batch's, no host sync.

        ``(N,)`` and ``(N, 1)`` batches mix; a 0-d prediction next to one sample is one sample.
        """
        preds, target = _checks.one_sample(preds, target)
        layout = self._checker.check_batch(preds, target)  # the accumulators' own per-batch checks
        if preds.shape[0] == 0:
            return
        preds, target = preds.detach(), target.detach()
        if self.mode == "exact":  # one column as (N,): the states of one epoch concatenate
            self.preds.append(preds.reshape(-1) if preds.ndim == 2 and preds.shape[1] == 1 else preds)
            self.target.append(target.reshape(-1) if target.ndim == 2 and target.shape[1] == 1 else target)
            return
        counter = self._counter
        # count into the states themselves, again after they were moved, reset or synced (new tensors)
        if counter.counts is not self.counts or counter.layout != layout:
            counter.allocate(layout, self.counts.device, counts=self.counts, ints=self.counters, extremes=self.extremes)
        counter.update(preds, target, layout)
        if layout.binary_column is not None:
            self.binary_column = torch.maximum(self.binary_column, torch.ones_like(self.binary_column))

    def reset(self) -> None:
        """Forget every sample (torchmetrics calls it after each epoch's ``compute`` under Lightning)."""
        super().reset()
        self._checker.reset()
        if self.mode != "exact":
            self._counter.rows = 0

    # ------------------------------------------------------------------ results

    def compute(self) -> torch.Tensor:
        """The epoch AUROC, from the shared core: NaN with an ``UndefinedAUROCWarning`` where undefined."""
        if self.mode == "exact":
            return self._accumulator().compute()
        return self._bound(per_class=False).value

    def compute_bound(self) -> AUROCBound:
        """Histogram mode: value, certified bound, per-class values and supports, as ``HistogramAccumulator``'s."""
        if self.mode != "histogram":
            raise ValueError("compute_bound() is for mode='histogram'; mode='exact' computes the exact value")
        with self.sync_context():
            return self._bound(per_class=True)

    def _accumulator(self):
        """A fresh exact accumulator holding this metric's (synced) epoch: its compute is the callbacks'."""
        acc = build_accumulator(self.auroc_options, who="AUROC", own=METRIC_KWARGS, **_FIXED)
        if len(self.preds):  # a list of batches, or one tensor once torchmetrics has synced the states
            acc.update(dim_zero_cat(self.preds), dim_zero_cat(self.target))
        return acc

    def _bound(self, *, per_class: bool) -> AUROCBound:
        return self._from_counts(histogram.scores_from_epoch, histogram.nan_bound, per_class=per_class)

    def _from_counts(self, compute, nan, *, per_class: bool):
        """``compute(epoch, options, per_class=)`` of the summed counts, or ``nan(epoch, options)`` with a warning."""
        ints = self.counters.cpu()
        if not bool(ints.any()):
            raise EmptyEpochError("AUROC has no samples: nothing was passed to update(), or only empty batches")
        task, n = self.options.task, self.options.num_classes
        column = int(self.binary_column)
        layout = Layout(task, 1 if task == "binary" else n, None if column < 0 else column)
        counter = HistogramCounts(self.options, self.histogram_dtype)
        counter.allocate(layout, self.counts.device, counts=self.counts, ints=self.counters, extremes=self.extremes)
        counter.in_dtype = torch.float32  # not kept by the states; the epoch's checks and values do not read it
        epoch = counter.epoch(sync_dist=False)  # torchmetrics has summed the states already
        epoch, notes = histogram.interpret_epoch(epoch, self.options)
        _checks.warn_interpretations(notes)
        reason = histogram.epoch_problem(epoch, self.options, self.nan_strategy)
        if reason is not None:
            _checks.warn(f"{reason}: the epoch {self._what} is NaN", UndefinedAUROCWarning)
            return nan(epoch, self.options)
        return compute(epoch, self.options, per_class=per_class)

    def plot(self, val=None, ax=None, **plot_options):
        """The epoch's ROC figure, through :func:`auroc_callbacks.plotting.plot_roc`: ``(fig, ax)``.

        Exact mode only. Under torchmetrics' distributed sync the states of every
        rank are drawn (a collective call: every rank calls it). ``val`` (values to
        plot, torchmetrics' other use of ``plot``) is not supported: the figure is the ROC curve.
        """
        if val is not None:
            raise ValueError("AUROC.plot() draws the epoch's ROC curves; `val` must be None")
        if self.mode != "exact":
            raise ValueError("AUROC.plot() needs mode='exact': mode='histogram' keeps counts, not the predictions")
        from .plotting import plot_roc

        with self.sync_context():
            acc = self._accumulator()
            preds, target = acc.gather()
        opts = {k: getattr(self.options, k) for k in ("task", "num_classes", "activation", "ignore_index")}
        return plot_roc(preds, target, ax=ax, **opts, **plot_options)

    def extra_repr(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options._asdict().items())
        return f"{opts}, mode={self.mode!r}"


class AveragePrecision(AUROC):
    """The exact epoch average precision as a ``torchmetrics.Metric``, with :class:`AUROC`'s options and states.

    scikit-learn's ``average_precision_score`` (one-vs-rest; ``multi_class="ovo"``
    is refused), from the same core as :func:`auroc_callbacks.average_precision`.
    Histogram mode: the AP of the rounded scores, and :meth:`compute_bound`
    its certified interval (:class:`~auroc_callbacks.histogram.APBound`).
    Unlike ``torchmetrics.classification.AveragePrecision``, a class without
    positives is NaN with one :class:`~auroc_callbacks.UndefinedAUROCWarning`,
    left out of the average. Sample weights: use :func:`auroc_callbacks.average_precision`
    or an accumulator (``update(preds, target, weight)``); this metric takes none.

    Example:
        >>> import torch
        >>> from auroc_callbacks.torchmetrics import AveragePrecision
        >>> metric = AveragePrecision()
        >>> metric.update(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> metric.compute()
        tensor(0.8333, dtype=torch.float64)
    """

    _what = "average precision"

    def __init__(self, **kwargs):
        if kwargs.get("multi_class") == "ovo":
            raise ValueError("AveragePrecision is one-vs-rest: `multi_class` must be 'ovr'; got 'ovo'")
        super().__init__(**kwargs)

    def compute(self) -> torch.Tensor:
        """The epoch's average precision: NaN with an ``UndefinedAUROCWarning`` where undefined."""
        if self.mode == "exact":
            return self._accumulator().compute_average_precision().value
        return self._from_counts(histogram.average_precision_from_epoch, histogram.nan_ap_bound, per_class=False).value

    def compute_bound(self) -> APBound:
        """Histogram mode: the AP of the rounded scores with its certified ``[lower, upper]``, per class too."""
        if self.mode != "histogram":
            raise ValueError("compute_bound() is for mode='histogram'; mode='exact' computes the exact value")
        with self.sync_context():
            return self._from_counts(histogram.average_precision_from_epoch, histogram.nan_ap_bound, per_class=True)

    def plot(self, val=None, ax=None, **plot_options):
        """The epoch's precision-recall figure, through :func:`auroc_callbacks.plotting.plot_pr`: ``(fig, ax)``."""
        if val is not None or self.mode != "exact":
            raise ValueError("AveragePrecision.plot() draws the epoch's PR curves: `val` must be None and mode 'exact'")
        from .plotting import plot_pr

        with self.sync_context():
            preds, target = self._accumulator().gather()
        opts = {k: getattr(self.options, k) for k in ("task", "num_classes", "activation", "ignore_index")}
        return plot_pr(preds, target, ax=ax, **opts, **plot_options)
