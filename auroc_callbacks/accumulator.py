"""The epoch buffer behind every callback, usable on its own in a plain PyTorch loop."""

from __future__ import annotations

import warnings
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import torch

from . import _checks, histogram
from .distributed import EmptyEpochError, gather_uneven, is_distributed
from .functional import AUROCScores, UndefinedAUROCWarning, compute_curves, compute_scores
from .histogram import AUROCBound
from .stats import AUROCInterval, check_interval_options, check_level, compute_interval

_MIN_CAPACITY = 1024
NAN_STRATEGIES = ("error", "warn")
MODES = ("exact", "histogram")


class _Buffer:
    """Geometrically sized chunks: one device copy per append, nothing ever re-copied, no host sync.

    Each new chunk holds as many rows as all earlier ones together, so an epoch
    of n rows lives in O(log n) chunks with at most 2x over-allocation, joined
    once at the end. Never re-copying also means an asynchronous device-to-host
    copy into a pinned chunk can never race a reallocation.
    """

    __slots__ = ("chunks", "fills", "size", "pin")

    def __init__(self, pin: bool):
        self.chunks: List[torch.Tensor] = []
        self.fills: List[int] = []
        self.size = 0
        self.pin = pin

    def append(self, x: torch.Tensor, device: torch.device) -> None:
        n = x.shape[0]
        if self.chunks:  # the common case first: the batch fits the last chunk
            last, fill = self.chunks[-1], self.fills[-1]
            if fill + n <= last.shape[0] and x.dtype == last.dtype:
                last.narrow(0, fill, n).copy_(x, non_blocking=True)
                self.fills[-1] = fill + n
                self.size += n
                return
        while x.shape[0]:  # at most twice: the rest of the last chunk, then a new one
            last = self.chunks[-1] if self.chunks else None
            if last is None or self.fills[-1] == last.shape[0] or _wider(x.dtype, last.dtype):
                dtype = x.dtype if last is None else torch.promote_types(last.dtype, x.dtype)
                rows = max(x.shape[0], _MIN_CAPACITY, self.size)
                last = torch.empty((rows,) + tuple(x.shape[1:]), dtype=dtype, device=device, pin_memory=self.pin)
                self.chunks.append(last)
                self.fills.append(0)
            fill = self.fills[-1]
            take = min(last.shape[0] - fill, x.shape[0])
            last[fill: fill + take].copy_(x[:take], non_blocking=True)
            self.fills[-1] = fill + take
            self.size += take
            x = x[take:]

    def truncate(self, rows: int) -> None:
        keep, fills = [], []
        for chunk, fill in zip(self.chunks, self.fills):
            take = min(fill, rows - sum(fills))
            if take <= 0:
                break
            keep.append(chunk)
            fills.append(take)
        self.chunks, self.fills, self.size = keep, fills, sum(fills)

    def view(self) -> Optional[torch.Tensor]:
        if not self.chunks:
            return None
        if len(self.chunks) == 1:
            return self.chunks[0][: self.fills[0]]
        return torch.cat([chunk[:fill] for chunk, fill in zip(self.chunks, self.fills)])


def _wider(new: torch.dtype, old: torch.dtype) -> bool:
    return new != old and torch.promote_types(new, old) != old


class AUROCAccumulator:
    """Collects ``(preds, target)`` batches on their device; computes the exact epoch AUROC.

    Takes every option of :func:`auroc_callbacks.auroc`, plus:

    Args:
        mode: ``"exact"`` (default) keeps every prediction and ranks the
            epoch once. ``"histogram"`` keeps, per class, positive and
            negative int64 counts over the 65,536 values of a 16-bit float:
            ``C * 1 MiB`` (``C * C * 512 KiB`` for ``multi_class="ovo"``)
            whatever the number of samples. Its value is exact for the
            scores the exact mode ranks rounded to ``histogram_dtype`` (equal
            to ``roc_auc_score`` on ``probs.to(histogram_dtype)``), and
            :meth:`compute_bound` certifies how far the full-precision AUROC
            can be from it. See :mod:`auroc_callbacks.histogram`.
            ``activation="auto"`` is decided batch by batch there (the
            counts cannot be re-scored): batches that disagree (some
            probability rows, some logits) give a ``ValueError`` at compute
            (NaN and an :class:`UndefinedAUROCWarning` with
            ``nan_strategy="warn"``). int32/int64 logits are softmaxed in float64.
            No ``gather``, ``truncate``, ``ci`` or ``buffer_device``.
        histogram_dtype: ``torch.float16`` (default: 11 significant bits,
            finite from 6e-8 to 65504) or ``torch.bfloat16`` (8 bits,
            float32's range: better when probabilities crowd below 1e-7, as
            an over-confident model's do, or raw scores pass 65504). The
            bound says which suits the data. Histogram mode only.
        buffer_device: where to keep the epoch's predictions. None (default):
            the device of the first batch. ``"cpu"`` keeps them in pinned host
            memory, copied asynchronously, for GPUs with little memory to spare;
            the AUROC is then computed on the CPU.
        sync_dist: when ``torch.distributed`` is initialised, gather every
            rank's samples before computing (default True). Turn off when the
            framework already gathers each batch (fastai's ``to_detach``).
        process_group: the group to gather over (default: the world).
        nan_strategy: ``"error"`` (default) raises ``ValueError`` on NaN
            scores; ``"warn"`` returns NaN with an :class:`UndefinedAUROCWarning`
            instead, so a diverged model cannot crash a training run.
        ci: the epoch's confidence interval is wanted: the callbacks log
            ``<name>_lo`` and ``<name>_hi`` next to the value. Checks at
            construction that the options have one (one-vs-rest, no
            ``max_fpr``, not ``"micro"``). :meth:`compute_interval` works either way.
        ci_level: the interval's confidence level (default 0.95).

    ``update`` checks types and shapes of each batch and appends it with one
    device copy: no host synchronisation, no ``.item()``, no ``.cpu()``. Value
    checks (label range, NaN) need a sync, so they run once, in ``compute``.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> acc = ac.AUROCAccumulator()
        >>> acc.update(torch.tensor([0.1, 0.4]), torch.tensor([0, 0]))  # one class only: fine
        >>> acc.update(torch.tensor([0.35, 0.8]), torch.tensor([1, 1]))
        >>> acc.compute()
        tensor(0.7500, dtype=torch.float64)
        >>> hist = ac.AUROCAccumulator(mode="histogram")  # bounded memory
        >>> hist.update(torch.tensor([0.1, 0.4, 0.35, 0.8, 0.80001]), torch.tensor([0, 0, 1, 1, 0]))
        >>> b = hist.compute_bound()  # 0.8 and 0.80001 share a float16 bucket: that pair counts 1/2
        >>> b.value.item(), b.bound.item()  # the full-precision AUROC is within 1/12 of 0.5833
        (0.5833333333333334, 0.08333333333333333)
    """

    def __init__(
        self,
        *,
        task: Optional[str] = None,
        num_classes: Optional[int] = None,
        average: Optional[str] = "macro",
        multi_class: str = "ovr",
        activation: Optional[str] = "auto",
        max_fpr: Optional[float] = None,
        ignore_index: Optional[int] = None,
        buffer_device: Union[str, torch.device, None] = None,
        sync_dist: bool = True,
        process_group=None,
        nan_strategy: str = "error",
        ci: bool = False,
        ci_level: float = 0.95,
        mode: str = "exact",
        histogram_dtype: Optional[torch.dtype] = None,
    ):
        self.options = _checks.check_options(
            task=task, num_classes=num_classes, average=average, multi_class=multi_class,
            activation=activation, max_fpr=max_fpr, ignore_index=ignore_index,
        )
        if not isinstance(ci, bool):
            raise TypeError(f"`ci` must be a bool; got {type(ci).__name__} {ci!r}")
        check_level(ci_level, "ci_level")
        if ci:
            check_interval_options(self.options, level=ci_level)
        self.ci = ci
        self.ci_level = float(ci_level)
        if nan_strategy not in NAN_STRATEGIES:
            raise ValueError(f"`nan_strategy` must be one of 'error', 'warn'; got {nan_strategy!r}")
        if not isinstance(sync_dist, bool):
            raise TypeError(f"`sync_dist` must be a bool; got {type(sync_dist).__name__} {sync_dist!r}")
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of 'exact', 'histogram'; got {mode!r}")
        self._counts: Optional[histogram.HistogramCounts] = None
        if mode == "histogram":
            if ci:
                raise ValueError(
                    "`ci=True` needs mode='exact': a DeLong interval needs every prediction; mode='histogram'"
                    " reports a certified bound instead (compute_bound())"
                )
            if buffer_device is not None:
                raise ValueError(
                    f"`buffer_device` is for mode='exact' (where the predictions are kept); got {buffer_device!r}"
                    " with mode='histogram', whose counts stay on the batches' device"
                )
            dtype = torch.float16 if histogram_dtype is None else histogram_dtype
            self._counts = histogram.HistogramCounts(self.options, histogram.check_histogram_dtype(dtype))
        elif histogram_dtype is not None:
            raise ValueError(f"`histogram_dtype` is for mode='histogram'; got {histogram_dtype!r} with mode='exact'")
        self.mode = mode
        self.buffer_device = None if buffer_device is None else torch.device(buffer_device)
        self.sync_dist = sync_dist
        self.process_group = process_group
        self.nan_strategy = nan_strategy
        self.reset()

    @property
    def layout(self) -> Optional[_checks.Layout]:
        """What the first batch's shapes said about the problem (task, classes), or None before it."""
        return self._layout

    @property
    def histogram_dtype(self) -> Optional[torch.dtype]:
        """The 16-bit type the histogram mode rounds scores to (None in exact mode)."""
        return None if self._counts is None else self._counts.dtype

    # ------------------------------------------------------------------ accumulation

    def reset(self) -> None:
        """Forget every sample (call at the start of each epoch)."""
        self._layout: Optional[_checks.Layout] = None
        self._shapes: Optional[Tuple[tuple, tuple]] = None
        self._preds = _Buffer(pin=False)
        self._target = _Buffer(pin=False)
        self._async_host_copy = False
        self._cache = None
        if self._counts is not None:
            self._counts.reset()

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Append one batch. Detaches; keeps the tensors on their device (or ``buffer_device``).

        Raises ``TypeError``/``ValueError`` at once for wrong types or shapes,
        including shapes that disagree with earlier batches.
        """
        tensors = isinstance(preds, torch.Tensor) and isinstance(target, torch.Tensor)
        # Re-check whenever rank, trailing shape or dtype changes (a squeezed last batch, a (N, 1) target).
        shapes = (preds.ndim, preds.shape[1:], preds.dtype, target.ndim, target.shape[1:], target.dtype) if tensors else None
        if shapes is None or shapes != self._shapes:
            layout = _checks.check_layout(preds, target, self.options, allow_empty=True)
            same_rank = self._shapes is None or (shapes[0], shapes[1], shapes[3], shapes[4]) == (
                self._shapes[0], self._shapes[1], self._shapes[3], self._shapes[4])
            if self._layout is not None and (layout != self._layout or not same_rank):
                raise ValueError(
                    f"batch shapes changed within an epoch: `preds` {tuple(preds.shape)}, `target` "
                    f"{tuple(target.shape)} after batches of preds (N, *{tuple(self._shapes[1])}), target"
                    f" (N, *{tuple(self._shapes[4])})"
                )
            self._layout, self._shapes = layout, shapes
        elif preds.shape[0] != target.shape[0]:
            raise ValueError(
                f"`preds` and `target` must have the same number of samples; got preds {tuple(preds.shape)}"
                f" and target {tuple(target.shape)}"
            )
        if preds.shape[0] == 0:
            return
        if self._counts is not None:
            self._counts.update(preds, target, self._layout)
            self._cache = None
            return
        device = self.buffer_device or preds.device
        if not self._preds.chunks and device.type == "cpu" and preds.device.type == "cuda":
            self._preds.pin = self._target.pin = True
            self._async_host_copy = True
        self._preds.append(preds.detach(), device)
        self._target.append(target.detach(), device)
        self._cache = None

    def truncate(self, num_samples: int) -> None:
        """Keep only the first ``num_samples`` samples of this rank.

        Used to drop the duplicates a ``DistributedSampler`` pads the last ranks with.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 0:
            raise ValueError(f"`num_samples` must be a non-negative int; got {num_samples!r}")
        if self._counts is not None:
            raise ValueError(
                "truncate() needs mode='exact': mode='histogram' keeps counts, which cannot forget given samples;"
                " drop samples before update()"
            )
        self._preds.truncate(num_samples)
        self._target.truncate(num_samples)
        self._cache = None

    @property
    def num_samples(self) -> int:
        """Samples held by this rank (no sync)."""
        return self._preds.size if self._counts is None else self._counts.rows

    # ------------------------------------------------------------------ results

    def gather(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The epoch's ``(preds, target)``: every rank's under ``torch.distributed`` (a collective call).

        Raises:
            EmptyEpochError: nothing was accumulated (on any rank); a ``ValueError``. Every compute raises it too.
            ValueError: in histogram mode (no predictions are kept).
        """
        if self._counts is not None:
            raise ValueError(
                "AUROCAccumulator(mode='histogram') keeps per-bucket counts, not the predictions: gather() (and the"
                " plots and reports built on it) needs mode='exact'; compute_curves() gives the ROC curves from the"
                " counts"
            )
        if self._cache is not None:
            return self._cache
        if self._async_host_copy:
            torch.cuda.synchronize()
        preds, target = self._preds.view(), self._target.view()
        if self.sync_dist and is_distributed(self.process_group):
            preds, target = gather_uneven([preds, target], group=self.process_group)
        elif preds is None:
            raise EmptyEpochError("AUROCAccumulator has no samples: nothing was passed to update(), or only empty batches")
        self._cache = (preds, target)
        return self._cache

    def validated_layout(self) -> Optional[_checks.Layout]:
        """The layout of the gathered epoch if a compute already checked its values (labels, NaN), else None.

        Lets later stages of the same epoch (calibration) skip a second pass of checks.
        """
        done = getattr(self, "_validated", None)
        return done[1] if done is not None and self._cache is not None and done[0] is self._cache else None

    def _checked(self):
        """The gathered epoch, its values checked once (not again by the next compute of the same epoch)."""
        preds, target = self.gather()
        layout = self.validated_layout()
        if layout is not None:
            return preds, target, layout
        layout = self._layout or _checks.check_layout(preds, target, self.options)
        reason = _checks.bad_scores(preds, layout, self.options.activation) if self.nan_strategy == "warn" else None
        if reason is not None:
            _checks.warn(f"{reason}: the epoch AUROC is NaN", UndefinedAUROCWarning)
            return None
        _checks.check_values(preds, target, layout, self.options)
        self._validated = (self._cache, layout)  # valid while this gathered epoch is
        return preds, target, layout

    def compute_scores(self) -> AUROCScores:
        """The configured value plus per-class AUROC and supports, from one ranking."""
        if self._counts is not None:
            return self._histogram(per_class=True).scores()
        checked = self._checked()
        if checked is None:
            return self._nan_scores()
        preds, target, layout = checked
        return compute_scores(preds, target, layout, self.options, per_class=True)

    def compute(self) -> torch.Tensor:
        """The exact AUROC over every sample since the last ``reset``; equals ``auroc`` on the concatenation.

        In histogram mode: the AUROC of the scores rounded to ``histogram_dtype`` (see :meth:`compute_bound`).
        """
        if self._counts is not None:
            return self._histogram(per_class=False).value
        checked = self._checked()
        if checked is None:
            return self._nan_scores().value
        preds, target, layout = checked
        return compute_scores(preds, target, layout, self.options, per_class=False).value

    def compute_curves(self, *, drop_intermediate: bool = True):
        """ROC curve(s) of the epoch, as :func:`auroc_callbacks.roc_curve` returns them.

        In histogram mode, from the counts: one point per occupied bucket, the
        bucket values as thresholds (the curve of the rounded scores).
        """
        if self._counts is not None:
            epoch = self._histogram_epoch()
            reason = histogram.epoch_problem(epoch, self.options, "warn")
            if reason is not None:
                raise ValueError(f"{reason}: no ROC curve can be drawn")
            return histogram.curves_from_epoch(epoch, self.options, drop_intermediate=drop_intermediate)
        checked = self._checked()
        if checked is None:
            raise ValueError("`preds` contains NaN: no ROC curve can be drawn")
        preds, target, layout = checked
        opts = self.options._replace(average=None, max_fpr=None)
        return compute_curves(preds, target, layout, opts, drop_intermediate=drop_intermediate)

    def compute_interval(
        self, *, level: Optional[float] = None, method: str = "delong", interval: Optional[str] = None,
        n_boot: int = 2000, seed: int = 0,
    ) -> AUROCInterval:
        """The epoch's AUROC with its confidence interval, as :func:`auroc_callbacks.auroc_ci` returns it.

        Computed from the gathered epoch (the same cache as :meth:`compute`:
        no second collective under ``torch.distributed``), from one ranking;
        ``value`` equals :meth:`compute`. ``level`` defaults to ``ci_level``.
        With NaN scores and ``nan_strategy="warn"``, every number is NaN.
        """
        if self._counts is not None:
            raise ValueError("compute_interval() needs mode='exact'; mode='histogram' has compute_bound()")
        level = self.ci_level if level is None else level
        check_interval_options(self.options, level=level, method=method, interval=interval, n_boot=n_boot, seed=seed)
        checked = self._checked()
        if checked is None:
            s = self._nan_scores()
            nan = torch.full_like(s.value, float("nan"))
            per = torch.full_like(s.per_class, float("nan"))
            return AUROCInterval(nan, nan, nan, nan, float(level), method, per, per, per, per, s.support, s.num_samples)
        preds, target, layout = checked
        return compute_interval(
            preds, target, layout, self.options, level=level, method=method, interval=interval, n_boot=n_boot,
            seed=seed,
        )

    def compute_bound(self) -> AUROCBound:
        """Histogram mode: the value with its certified bound, per-class values and bounds, supports.

        ``|AUROC at full precision - value| <= bound``, per class and for the
        configured average (see :mod:`auroc_callbacks.histogram`);
        ``.scores()`` is what :meth:`compute_scores` returns. Under
        ``torch.distributed`` the counts of every rank are summed (collective
        calls, cached until the next ``update``). With NaN scores and
        ``nan_strategy="warn"``, value and bound are NaN.

        Raises:
            ValueError: in exact mode (it has no bound to report: its value is exact).
        """
        if self._counts is None:
            raise ValueError("compute_bound() is for mode='histogram'; mode='exact' computes the exact value")
        return self._histogram(per_class=True)

    def _histogram_epoch(self) -> "histogram.Epoch":
        if self._cache is None:
            self._cache = self._counts.epoch(sync_dist=self.sync_dist, process_group=self.process_group)
        return self._cache

    def _histogram(self, *, per_class: bool) -> AUROCBound:
        epoch = self._histogram_epoch()
        reason = histogram.epoch_problem(epoch, self.options, self.nan_strategy)
        if reason is not None:
            _checks.warn(f"{reason}: the epoch AUROC is NaN", UndefinedAUROCWarning)
            return histogram.nan_bound(epoch, self.options)
        return histogram.scores_from_epoch(epoch, self.options, per_class=per_class)

    def _nan_scores(self) -> AUROCScores:
        """NaN everywhere, with the true supports (scores of the NaN-free stand-in are discarded)."""
        preds, target = self.gather()
        layout = self._layout or _checks.check_layout(preds, target, self.options)
        _checks.check_values(torch.zeros_like(preds), target, layout, self.options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedAUROCWarning)
            s = compute_scores(torch.zeros_like(preds), target, layout, self.options, per_class=True)
        return AUROCScores(torch.full_like(s.value, float("nan")), torch.full_like(s.per_class, float("nan")),
                           s.support, s.num_samples)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options._asdict().items())
        ci = f", ci=True, ci_level={self.ci_level!r}" if self.ci else ""
        mode = f", mode='histogram', histogram_dtype={self.histogram_dtype}" if self._counts is not None else ""
        return f"AUROCAccumulator({opts}{ci}{mode}, num_samples={self.num_samples})"


def data_or_epoch(preds, target, accumulator, options: dict, names: Sequence[str], given: Iterable[str]):
    """``(preds, target, options)`` from either tensors or a filled accumulator (for plots and reports).

    ``options`` are the caller's values, ``given`` the option names it
    received explicitly: refused with an accumulator, whose own options (for
    ``names``) are used instead.
    """
    has_data = preds is not None or target is not None
    if has_data and accumulator is not None:
        raise ValueError("pass either `preds` and `target` or `accumulator`, not both")
    if not has_data and accumulator is None:
        raise ValueError("pass `preds` and `target`, or `accumulator`; got neither")
    if accumulator is not None:
        if not isinstance(accumulator, AUROCAccumulator):
            raise TypeError(f"`accumulator` must be an AUROCAccumulator; got {type(accumulator).__name__}")
        given = sorted(given)
        if given:
            raise ValueError(f"options come from the accumulator when `accumulator` is given; got {', '.join(given)}")
        preds, target = accumulator.gather()
        own = accumulator.options._asdict()
        return preds, target, {k: own[k] for k in names}
    if preds is None:
        raise ValueError("`preds` is None but `target` was given: pass both")
    if target is None:
        raise ValueError("`target` is None but `preds` was given: pass both")
    return preds, target, options
