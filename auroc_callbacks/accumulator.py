"""The epoch buffer behind every callback, usable on its own in a plain PyTorch loop.

Two accumulators, one protocol (:class:`AUROCAccumulator`): :class:`ExactAccumulator`
keeps every prediction and ranks the epoch once; :class:`HistogramAccumulator`
keeps 16-bit counts in bounded memory, exact for the rounded scores, with a
certified bound. ``AUROCAccumulator(mode="exact" | "histogram", ...)`` builds either.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union, cast

import torch

from . import _checks, histogram
from ._checks import NONEMPTY_STR, Choice, Interval, Layout, Options
from ._format import interpret, one_hot_layout
from ._histogram_counts import HistogramCounts
from .distributed import EmptyEpochError, gather_uneven, is_distributed
from .functional import (
    APScores,
    AUROCScores,
    RankingScores,
    UndefinedAUROCWarning,
    compute_curves,
    compute_metrics,
    compute_scores,
)
from .histogram import HISTOGRAM_DTYPES, AUROCBound
from .stats import AUROCInterval, check_interval_options, compute_interval

__all__ = ["AUROCAccumulator", "ExactAccumulator", "ExactEpoch", "HistogramAccumulator", "data_or_epoch"]

_MIN_CAPACITY = 1024
#: the histogram mode counts its kept batches together once they hold this many scores (a few MB at most)
_COUNT_ENTRIES = 1 << 18
#: version 2: histogram counts are int16 with their spilled counts (version 1's int32 counts load as they were)
_STATE_VERSION = 2
_READABLE_VERSIONS = (1, 2)
NAN_STRATEGIES = ("error", "warn")
MODES = ("exact", "histogram")


class _Buffer:
    """One epoch's batches of one tensor, joined once at the end; no host sync, no copy per batch on the same device.

    A batch that stays on its device is kept as it came (detached): a list
    append, not a copy. It is checked at the end to be unchanged: a batch
    modified in place after ``update`` (a reused output buffer) raises rather
    than counting the new values. A small view of a much larger tensor is
    copied, so that the epoch does not keep the rest alive.

    A batch that moves (``buffer_device``, e.g. to a pinned host buffer) is
    copied into geometrically sized chunks: each new chunk holds as many rows
    as all earlier ones together, so an epoch of n rows lives in O(log n)
    chunks with at most 2x over-allocation. Never re-copying also means an
    asynchronous device-to-host copy into a pinned chunk can never race a
    reallocation.
    """

    __slots__ = ("chunks", "fills", "versions", "size", "pin")

    def __init__(self, pin: bool):
        self.chunks: List[torch.Tensor] = []
        self.fills: List[int] = []
        self.versions: List[int] = []  # a kept batch's version counter; -1 for our own chunks and copies
        self.size = 0
        self.pin = pin

    def keep(self, x: torch.Tensor) -> None:
        """Keep a batch that stays on its device, by reference (see the class)."""
        x = _plain(x)  # (a dense copy of a sparse batch is never written to: its version holds)
        inference = x.is_inference()
        if inference:  # no version counter to check it by (Lightning validates under inference_mode): a copy
            x = x.clone()
        if x.requires_grad:
            x = x.detach()
        if x.untyped_storage().nbytes() > 2 * x.nbytes + 4096:  # a view of something larger: do not hold it
            x = x.clone()
        self.chunks.append(x)
        self.fills.append(x.shape[0])
        self.versions.append(-1 if inference else x._version)  # -1: our own copy
        self.size += x.shape[0]

    def append(self, x: torch.Tensor, device: torch.device) -> None:
        """Copy a batch onto ``device`` (see the class)."""
        n = x.shape[0]
        last: Optional[torch.Tensor]
        if self.chunks and self.versions[-1] == -1:  # the common case first: the batch fits the last chunk
            last, fill = self.chunks[-1], self.fills[-1]
            if x.shape[1:] != last.shape[1:]:  # (N,) next to (N, 1): one layout, stored as the first batch was
                x = x.reshape((n,) + tuple(last.shape[1:]))
            if fill + n <= last.shape[0] and x.dtype == last.dtype:
                last.narrow(0, fill, n).copy_(x, non_blocking=True)
                self.fills[-1] = fill + n
                self.size += n
                return
        while x.shape[0]:  # at most twice: the rest of the last chunk, then a new one
            last = self.chunks[-1] if self.chunks else None
            # a new chunk when the last one is full, narrower, or a kept batch (the caller's: never written to)
            if (
                last is None
                or self.fills[-1] == last.shape[0]
                or self.versions[-1] != -1
                or _wider(x.dtype, last.dtype)
            ):
                dtype = x.dtype if last is None else torch.promote_types(last.dtype, x.dtype)
                rows = max(x.shape[0], _MIN_CAPACITY, self.size)
                last = torch.empty((rows,) + tuple(x.shape[1:]), dtype=dtype, device=device, pin_memory=self.pin)
                self.chunks.append(last)
                self.fills.append(0)
                self.versions.append(-1)
            fill = self.fills[-1]
            take = min(last.shape[0] - fill, x.shape[0])
            last[fill : fill + take].copy_(x[:take], non_blocking=True)
            self.fills[-1] = fill + take
            self.size += take
            x = x[take:]

    def truncate(self, rows: int) -> None:
        keep: List[torch.Tensor] = []
        fills: List[int] = []
        for chunk, fill in zip(self.chunks, self.fills):
            take = min(fill, rows - sum(fills))
            if take <= 0:
                break
            keep.append(chunk)
            fills.append(take)
        self.chunks, self.fills, self.size = keep, fills, sum(fills)
        self.versions = self.versions[: len(keep)]

    def view(self) -> Optional[torch.Tensor]:
        """Every row, in order: one tensor (a copy, unless it is the one chunk of our own)."""
        if not self.chunks:
            return None
        for i, (chunk, version) in enumerate(zip(self.chunks, self.versions)):
            if version != -1 and chunk._version != version:
                raise RuntimeError(
                    f"a batch passed to AUROCAccumulator.update() (batch {i} of those it holds) was modified in"
                    " place afterwards: its values are no longer those of the update; pass a copy"
                    " (preds.clone()) if its tensor is reused"
                )
        if len(self.chunks) == 1 and self.versions[0] == -1:  # ours (a chunk or a copy), not a caller's tensor
            return self.chunks[0][: self.fills[0]]
        trailing = tuple(self.chunks[0].shape[1:])  # (N,) next to (N, 1): stored as the first batch was
        return torch.cat([chunk[:fill].reshape((fill,) + trailing) for chunk, fill in zip(self.chunks, self.fills)])


class _Staging:
    """Histogram batches not counted yet, copied into one block allocated once and reused: counted together.

    A copy, not a reference: a caller reusing its output tensor must not
    change a batch not yet counted. Writing into one block (instead of a new
    tensor per batch, joined at count time) costs one ``copy_`` per tensor and
    no allocation; the block stays in cache. The block holds ``2**18`` scores
    (on the CPU, pages the epoch never fills are never touched) and is counted when the
    next batch does not fit: the blocks the counts decide ``activation="auto"``
    by are those of the batches joined before. A batch of a wider dtype widens
    the block (as joining them would promote them); one on another device, or
    of other row sizes, counts the block first; one of a whole block's scores
    is counted as it is, after the block.
    """

    __slots__ = ("preds", "target", "fill", "kind")

    def __init__(self):
        self.preds: Optional[torch.Tensor] = None
        self.target: Optional[torch.Tensor] = None
        self.fill = 0
        self.kind: Optional[tuple] = None  # what the block holds: its device, scores and labels per row

    def add(
        self, preds: torch.Tensor, target: torch.Tensor, count: Callable[[torch.Tensor, torch.Tensor], None]
    ) -> None:
        """Copy one batch in (``count`` the block first where it does not fit)."""
        preds, target = _plain(preds.detach()), _plain(target.detach())
        n = preds.shape[0]
        kind = (preds.device, math.prod(preds.shape[1:]), math.prod(target.shape[1:]))
        rows = max(1, _COUNT_ENTRIES // max(kind[1], 1))
        if kind != self.kind or self.fill + n > rows:
            self.flush(count)
        if n >= rows:  # a whole block's worth: counted now, no copy needed
            count(preds, target.to(preds.device))
            return
        block, labels, same = self.preds, self.target, kind == self.kind
        if block is None or not same or self._retype(preds.dtype, block.dtype):
            block = self._block(rows, preds, block)
        if labels is None or not same or self._retype(target.dtype, labels.dtype):
            labels = self._block(rows, target, labels)
        self.preds, self.target, self.kind = block, labels, kind
        if preds.shape[1:] != block.shape[1:]:  # (N,) next to (N, 1): stored as the block's first batch was
            preds = preds.reshape((n,) + block.shape[1:])
        if target.shape[1:] != labels.shape[1:]:
            target = target.reshape((n,) + labels.shape[1:])
        fill = self.fill
        block[fill : fill + n].copy_(preds)
        labels[fill : fill + n].copy_(target)
        self.fill = fill + n

    def _retype(self, dtype: torch.dtype, held: torch.dtype) -> bool:
        """Whether a block of ``held`` must change for a batch of ``dtype``: an empty block takes the batch's own
        (counted as it came: int scores stay int), one with staged rows the type they promote to."""
        return dtype != held and (not self.fill or _wider(dtype, held))

    def _block(self, rows: int, batch: torch.Tensor, old: Optional[torch.Tensor]) -> torch.Tensor:
        """A block of ``rows`` rows for ``batch``, on its device, holding ``old``'s staged rows (same kind)."""
        staged = old if old is not None and self.fill else None
        dtype = batch.dtype if staged is None else torch.promote_types(staged.dtype, batch.dtype)
        shape = (rows,) + (batch.shape[1:] if staged is None else staged.shape[1:])
        with torch.inference_mode(False):  # a plain tensor, written to in or out of inference mode
            block = torch.empty(shape, dtype=dtype, device=batch.device)
        if staged is not None:
            block[: self.fill].copy_(staged[: self.fill])
        return block

    def flush(self, count: Callable[[torch.Tensor, torch.Tensor], None]) -> None:
        """``count`` the rows copied so far, and empty the block."""
        if self.fill:  # emptied once counted: rows a failed count did not take stay staged
            count(cast(torch.Tensor, self.preds)[: self.fill], cast(torch.Tensor, self.target)[: self.fill])
            self.fill = 0


def _plain(x: torch.Tensor) -> torch.Tensor:
    """A plain strided tensor of a batch: fastai's TensorBase and other subclasses as a copy gives, a sparse
    batch its values, dense."""
    if type(x) is not torch.Tensor:
        x = x.as_subclass(torch.Tensor)
    return x.to_dense() if x.layout != torch.strided else x


def _wider(new: torch.dtype, old: torch.dtype) -> bool:
    return new != old and torch.promote_types(new, old) != old


# ----------------------------------------------------------------------------- the protocol and its factory

_RULES = {
    "mode": [Choice(MODES)],
    "sync_dist": [bool],
    "nan_strategy": [Choice(NAN_STRATEGIES)],
    "ci": [bool],
    "ci_level": [Interval(float, 0, 1, closed="neither")],
    "buffer_device": [None, NONEMPTY_STR, torch.device],
    "histogram_dtype": [None, Choice(HISTOGRAM_DTYPES)],
}


class AUROCAccumulator:
    """Collects ``(preds, target)`` batches on their device; computes the epoch AUROC. Builds one of two classes.

    ``AUROCAccumulator(mode="exact", ...)`` (the default) returns an
    :class:`ExactAccumulator`, which keeps every prediction and ranks the
    epoch once; ``AUROCAccumulator(mode="histogram", ...)`` returns a
    :class:`HistogramAccumulator`, which keeps 16-bit counts in bounded
    memory. Both are ``AUROCAccumulator`` instances with one protocol:
    :meth:`update`, :meth:`reset`, :meth:`epoch` (the epoch object, cached
    until the next ``update``), :meth:`compute`, :meth:`compute_scores`,
    :meth:`compute_curves`, :attr:`num_samples`, :attr:`layout`, and
    :attr:`mode` (``"exact"`` or ``"histogram"``). What only one of them
    has (``gather``, ``compute_interval``, ``compute_bound``...) raises a
    ``ValueError`` on the other, naming the mode it needs.

    Takes every option of :func:`auroc_callbacks.auroc`, plus:

    Args:
        mode: ``"exact"`` (default) or ``"histogram"``: which class to build.
        sync_dist: when ``torch.distributed`` is initialised, gather every
            rank's samples (sum every rank's counts) before computing
            (default True). Turn off when the framework already gathers each
            batch (fastai's ``to_detach``).
        process_group: the group to gather over (default: the world).
        nan_strategy: ``"error"`` (default) raises ``ValueError`` on NaN
            scores; ``"warn"`` returns NaN with an :class:`UndefinedAUROCWarning`
            instead, so a diverged model cannot crash a training run.
        buffer_device, ci, ci_level: :class:`ExactAccumulator` only.
        histogram_dtype: :class:`HistogramAccumulator` only.

    ``update`` checks types and shapes of each batch and stores it without
    host synchronisation: no ``.item()``, no ``.cpu()`` (integer predictions:
    one look per epoch, for class indices). Value checks (label range, NaN)
    need a sync, so they run once per epoch, at compute, where the epoch is
    read as :func:`auroc_callbacks.auroc` reads one input, with at most one
    :class:`~auroc_callbacks.functional.InterpretationWarning` of each kind
    per epoch. :meth:`state_dict` and :meth:`load_state_dict` save and
    restore the epoch so far (a mid-epoch checkpoint).

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> acc = ac.AUROCAccumulator(mode="histogram")
        >>> type(acc).__name__, isinstance(acc, ac.AUROCAccumulator), acc.mode
        ('HistogramAccumulator', True, 'histogram')
    """

    #: ``"exact"`` or ``"histogram"``: which of the two classes this is.
    mode: str = ""

    def __new__(cls, *args, **kwargs):
        if cls is AUROCAccumulator:  # the factory: the mode picks the class
            mode = kwargs.get("mode", "exact")
            _checks.check_params(_RULES, mode=mode)
            cls = ExactAccumulator if mode == "exact" else HistogramAccumulator
        return super().__new__(cls)

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
        pos_label: Optional[int] = None,
        sync_dist: bool = True,
        process_group=None,
        nan_strategy: str = "error",
        mode: Optional[str] = None,
    ):
        self.options = _checks.check_options(
            task=task,
            num_classes=num_classes,
            average=average,
            multi_class=multi_class,
            activation=activation,
            max_fpr=max_fpr,
            ignore_index=ignore_index,
            pos_label=pos_label,
        )
        mode = self.mode if mode is None else mode
        _checks.check_params(_RULES, mode=mode, sync_dist=sync_dist, nan_strategy=nan_strategy)
        if mode != self.mode:
            raise ValueError(
                f"`mode` must be {self.mode!r} for {type(self).__name__}; got {mode!r}"
                f" (AUROCAccumulator(mode={mode!r}) builds that accumulator)"
            )
        self.sync_dist = sync_dist
        self.process_group = process_group
        self.nan_strategy = nan_strategy
        self._layout: Optional[Layout] = None
        self._shapes: Optional[tuple] = None
        self._indices_checked = False

    @property
    def layout(self) -> Optional[Layout]:
        """What the first batch's shapes said about the problem (task, classes), or None before it."""
        return self._layout

    @property
    def num_samples(self) -> int:
        """Samples held by this rank (no sync)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    # ------------------------------------------------------------------ accumulation

    def reset(self) -> None:
        """Forget every sample (call at the start of each epoch)."""
        self._layout = None
        self._shapes = None
        self._raw_shapes: Optional[tuple] = None
        self._indices_checked = False
        self._weighted: Optional[bool] = None

    def update(self, preds: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor] = None) -> None:
        """Add one batch. Detaches; keeps what it stores on the batch's device (exact: or ``buffer_device``).

        Raises ``TypeError``/``ValueError`` at once for wrong types or shapes,
        including shapes that disagree with earlier batches. A 0-d prediction
        next to a target of one sample is one sample (``logits.squeeze()`` on
        a last batch of one row); ``(N,)`` and ``(N, 1)`` batches mix freely.

        ``weight``: ``(N,)`` non-negative sample weights (exact mode; every
        batch of an epoch has them, or none does), as ``sample_weight`` of
        :func:`auroc_callbacks.auroc`; their values are checked once, at compute.
        """
        preds, target = _checks.one_sample(preds, target)
        self._check_batch(preds, target)
        if weight is not None or self._weighted:
            weight = self._check_weight(weight, preds)
        if preds.shape[0]:
            self._weighted = weight is not None
            self._store(preds, target, weight)

    def check_weights_allowed(self) -> None:
        """Raise the ``ValueError`` that ``update(..., weight=...)`` would raise for these options, if any.

        For callbacks that learn at construction that weights will come
        (``mode="histogram"``, ``ci=True`` and ``multi_class="ovo"`` take none).
        """
        self._check_weight(torch.ones(0, dtype=torch.float64), torch.zeros(0))

    def _check_weight(self, weight, preds) -> Optional[torch.Tensor]:
        """One batch's weights, types and shapes only (no sync); every batch of an epoch weighted, or none."""
        weight = _checks.check_sample_weight(weight, preds.shape[0], name="weight", values=False)
        if weight is not None and self.options.multi_class == "ovo":
            raise ValueError(
                "`weight` is not supported with multi_class='ovo' (Hand & Till's one-vs-one AUROC has"
                " no weighted form); use multi_class='ovr'"
            )
        weighted = weight is not None
        if preds.shape[0] and self._weighted is not None and weighted != self._weighted:
            had = "with" if self._weighted else "without"
            raise ValueError(
                f"`weight` must be given for every batch of an epoch or for none: earlier batches came"
                f" {had} weights, this one {'with' if weighted else 'without'}"
            )
        if preds.shape[0]:
            self._weighted = weighted
        return weight

    def check_batch(self, preds, target) -> Layout:
        """Types and shapes of one batch, against the first batch's since ``reset`` (no host sync); its layout.

        Sets :attr:`layout`. ``update`` runs it; an adapter that stores the
        batch itself (torchmetrics' states) runs it alone, after
        :func:`auroc_callbacks._checks.one_sample`. Shapes that mean the same
        layout agree (``(N,)`` and ``(N, 1)``, a 0-d value next to one
        sample). Integer ``(N,)`` predictions are looked at once per epoch
        (the first such batch after ``reset``; one host sync, float scores
        never): class indices (``logits.argmax(1)``) are refused at once.
        """
        return self._check_batch(*_checks.one_sample(preds, target))

    def _check_batch(self, preds, target) -> Layout:
        """:meth:`check_batch` after :func:`auroc_callbacks._checks.one_sample`."""
        tensors = isinstance(preds, torch.Tensor) and isinstance(target, torch.Tensor)
        if tensors and self._raw_shapes is not None:  # the common case: the same shapes and dtypes as the last batch
            raw = (preds.ndim, preds.shape[1:], preds.dtype, target.ndim, target.shape[1:], target.dtype)
            if raw == self._raw_shapes:
                if preds.shape[0] != target.shape[0]:
                    raise ValueError(
                        f"`preds` and `target` must have the same number of samples; got preds"
                        f" {tuple(preds.shape)} and target {tuple(target.shape)}"
                    )
                return cast(Layout, self._layout)
        # Re-check whenever rank, trailing shape or dtype changes (a squeezed last batch, a (N, 2) head).
        shapes = (*_columns(preds), preds.dtype, *_columns(target), target.dtype) if tensors else None
        if shapes is None or shapes != self._shapes:
            layout = _checks.check_layout(preds, target, self.options, allow_empty=True)
            new = cast(tuple, shapes)  # tensors: check_layout raised otherwise
            same_rank = self._shapes is None or (new[0], new[1], new[3], new[4]) == (
                self._shapes[0],
                self._shapes[1],
                self._shapes[3],
                self._shapes[4],
            )
            if self._layout is not None and (layout != self._layout or not same_rank):
                raise ValueError(
                    f"batch shapes changed within an epoch: `preds` {tuple(preds.shape)}, `target` "
                    f"{tuple(target.shape)} after batches of preds {_shape_of(*cast(tuple, self._shapes)[:2])}, target"
                    f" {_shape_of(*cast(tuple, self._shapes)[3:5])}"
                )
            self._layout, self._shapes = layout, shapes
        elif preds.shape[0] != target.shape[0]:
            raise ValueError(
                f"`preds` and `target` must have the same number of samples; got preds {tuple(preds.shape)}"
                f" and target {tuple(target.shape)}"
            )
        if not self._indices_checked and not preds.is_floating_point() and preds.shape[0]:
            _checks.check_class_indices(preds, target, self.options)  # one sync, integer preds only
            self._indices_checked = True
        if tensors and (self._indices_checked or preds.is_floating_point()):  # the fast path above may skip it all
            self._raw_shapes = (preds.ndim, preds.shape[1:], preds.dtype, target.ndim, target.shape[1:], target.dtype)
        return cast(Layout, self._layout)  # set by the first batch's check above

    def _store(self, preds: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor] = None) -> None:
        """Keep one checked, non-empty batch (and its checked weights); forget the cached epoch."""
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    # ------------------------------------------------------------------ results

    def epoch(self):
        """The epoch this accumulator computes from, cached until the next ``update``, ``truncate`` or ``reset``.

        Under ``torch.distributed`` (with ``sync_dist``) a collective call: every rank calls it.

        Raises:
            EmptyEpochError: nothing was accumulated (on any rank); a ``ValueError``. Every compute raises it too.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    def compute(self) -> torch.Tensor:
        """The epoch AUROC over every sample since the last ``reset``, shaped as :func:`auroc_callbacks.auroc` returns it."""
        return self._scores(per_class=False).value

    def compute_scores(self) -> AUROCScores:
        """The configured value plus per-class AUROC and supports, from one ranking (one pass over the counts)."""
        return self._scores(per_class=True)

    def compute_average_precision(self) -> APScores:
        """The epoch's average precision (configured average, per class, supports), as :func:`auroc_callbacks.average_precision`.

        One-vs-rest whatever ``multi_class`` says; ``max_fpr`` does not apply.
        """
        return cast(APScores, self.compute_metrics(auroc=False, average_precision=True).ap)

    def compute_metrics(self, *, auroc: bool = True, average_precision: bool = True) -> RankingScores:
        """AUROC and average precision scores of the epoch, from one ranking (exact: one sort; histogram: the counts)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    def _scores(self, *, per_class: bool) -> AUROCScores:
        """The epoch's scores; the per-class values only when ``per_class`` (else they may be NaN)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    def compute_curves(self, *, drop_intermediate: bool = True):
        """ROC curve(s) of the epoch, as :func:`auroc_callbacks.roc_curve` returns them.

        Raises:
            ValueError: the scores cannot be ranked (NaN), whatever ``nan_strategy``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict:
        """This rank's epoch so far, to resume it from a checkpoint: plain data only.

        Tensors, ints, strs, floats, bools, None and lists/dicts of them, so
        ``torch.save`` then ``torch.load(..., weights_only=True)`` restore it.
        Exact mode: the predictions and targets, concatenated; histogram
        mode: the counts and their device counters. With the options, which
        :meth:`load_state_dict` checks. Under ``torch.distributed``, each rank
        saves and loads its own part (nothing is gathered).

        Example:
            >>> import torch, auroc_callbacks as ac
            >>> acc = ac.AUROCAccumulator()
            >>> acc.update(torch.tensor([0.1, 0.4]), torch.tensor([0, 0]))
            >>> resumed = ac.AUROCAccumulator()
            >>> resumed.load_state_dict(acc.state_dict())
            >>> resumed.update(torch.tensor([0.35, 0.8]), torch.tensor([1, 1]))
            >>> resumed.compute()
            tensor(0.7500, dtype=torch.float64)
        """
        return {"version": _STATE_VERSION, "mode": self.mode, "options": dict(self.options._asdict()), **self._state()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Replace this epoch by a saved one (:meth:`state_dict`): ``compute`` then gives what it gave at saving.

        Raises:
            ValueError: the state is no accumulator's, or was saved with other
                options (mode, task, num_classes, ... ; histogram: its dtype).
        """
        state = state_dict
        if not isinstance(state, dict) or state.get("version") not in _READABLE_VERSIONS or "options" not in state:
            raise ValueError(
                f"`state_dict` must be an AUROCAccumulator.state_dict() (version {_STATE_VERSION} or 1);"
                f" got {type(state).__name__}"
            )
        if state.get("mode") != self.mode:
            raise ValueError(
                f"`state_dict` was saved with mode={state.get('mode')!r}; this accumulator has mode={self.mode!r}"
            )
        own, saved = self.options._asdict(), state["options"]
        differ = [k for k in own if saved.get(k) != own[k]] + sorted(set(saved) - set(own))
        if differ:
            raise ValueError(
                "`state_dict` was saved with other options: "
                + ", ".join(f"{k}={saved.get(k)!r} (here {own.get(k)!r})" for k in differ)
            )
        self.reset()
        self._load_state(state)

    def _state(self) -> dict:
        """The mode's own part of :meth:`state_dict`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    def _load_state(self, state: dict) -> None:
        """Restore the mode's own part into this freshly reset accumulator."""
        raise NotImplementedError(f"{type(self).__name__} does not implement it")

    def _repr_options(self) -> str:
        """This class's own options, for ``repr``."""
        return ""

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options._asdict().items())
        return f"{type(self).__name__}({opts}{self._repr_options()}, num_samples={self.num_samples})"


def _columns(t: torch.Tensor) -> tuple:
    """``(rank, trailing shape)`` of a batch, ``(N, 1)`` counted as ``(N,)``: the same layout."""
    if t.ndim == 2 and t.shape[1] == 1:
        return 1, ()
    return t.ndim, tuple(t.shape[1:])


def _shape_of(ndim: int, trailing: tuple) -> str:
    return "()" if ndim == 0 else "(N,)" if ndim == 1 else f"(N, {', '.join(map(str, trailing))})"


# ----------------------------------------------------------------------------- every prediction


class ExactEpoch(NamedTuple):
    """The gathered epoch of an :class:`ExactAccumulator`, its values checked once (labels, scores)."""

    preds: torch.Tensor  # every rank's, in rank order
    target: torch.Tensor
    layout: Layout  # the epoch's: multiclass for a one-hot target (task not given)
    nan_reason: Optional[str] = None  # why every AUROC is NaN (unrankable scores, nan_strategy="warn"), else None
    # the accumulator's, ``activation="auto"`` decided for this epoch (always given: epoch() passes it)
    options: Options = cast(Options, None)
    weight: Optional[torch.Tensor] = None  # (N,) sample weights, checked, with ``update(..., weight=...)``


class ExactAccumulator(AUROCAccumulator):
    """Keeps every ``(preds, target)`` batch on its device; computes the exact epoch AUROC.

    Takes every option of :class:`AUROCAccumulator` (``mode`` must be
    ``"exact"``), plus:

    Args:
        buffer_device: where to keep the epoch's predictions. None (default):
            the device of the first batch. ``"cpu"`` keeps them in pinned host
            memory, copied asynchronously, for GPUs with little memory to spare;
            the AUROC is then computed on the CPU.
        ci: the epoch's confidence interval is wanted: the callbacks log
            ``<name>_lo`` and ``<name>_hi`` next to the value. Checks at
            construction that the options have one (one-vs-rest, no
            ``max_fpr``, not ``"micro"``). :meth:`compute_interval` works either way.
        ci_level: the interval's confidence level (default 0.95).

    :meth:`epoch` is an :class:`ExactEpoch`: the gathered predictions, checked once.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> acc = ac.AUROCAccumulator()
        >>> acc.update(torch.tensor([0.1, 0.4]), torch.tensor([0, 0]))  # one class only: fine
        >>> acc.update(torch.tensor([0.35, 0.8]), torch.tensor([1, 1]))
        >>> acc.compute()
        tensor(0.7500, dtype=torch.float64)
    """

    mode = "exact"

    def __init__(
        self,
        *,
        buffer_device: Union[str, torch.device, None] = None,
        ci: bool = False,
        ci_level: float = 0.95,
        histogram_dtype: Optional[torch.dtype] = None,
        **options,
    ):
        super().__init__(**options)
        _checks.check_params(_RULES, buffer_device=buffer_device, ci=ci, ci_level=ci_level)
        if histogram_dtype is not None:
            raise ValueError(f"`histogram_dtype` is for mode='histogram'; got {histogram_dtype!r} with mode='exact'")
        if ci:
            check_interval_options(self.options, level=ci_level)
        self.ci = ci
        self.ci_level = float(ci_level)
        self.buffer_device = None if buffer_device is None else _device(buffer_device)
        self.reset()

    # ------------------------------------------------------------------ accumulation

    def reset(self) -> None:
        """Forget every sample (call at the start of each epoch)."""
        super().reset()
        self._preds = _Buffer(pin=False)
        self._target = _Buffer(pin=False)
        self._weight = _Buffer(pin=False)
        self._async_host_copy = False
        self._gathered: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
        self._gathered_weight: Optional[torch.Tensor] = None
        self._epoch: Optional[ExactEpoch] = None

    def _check_weight(self, weight, preds) -> Optional[torch.Tensor]:
        if weight is not None and self.ci:
            raise ValueError(
                "`weight` is not supported with ci=True: the DeLong interval has no exact weighted form;"
                " drop ci=True or the weights"
            )
        return super()._check_weight(weight, preds)

    def _store(self, preds: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor] = None) -> None:
        if self.buffer_device is None:  # the common case: kept on the batch's device
            self._preds.keep(preds)
            self._target.keep(target)
            if weight is not None:
                self._weight.keep(weight.to(torch.float64))
            self._gathered = self._gathered_weight = self._epoch = None
            return
        device = self.buffer_device
        if not self._preds.chunks and device.type == "cpu" and preds.device.type == "cuda":
            self._preds.pin = self._target.pin = self._weight.pin = True
            self._async_host_copy = True
        if device == preds.device:
            self._preds.keep(preds)
            self._target.keep(target)
            if weight is not None:
                self._weight.keep(weight.to(torch.float64))
        else:
            self._preds.append(preds.detach(), device)
            self._target.append(target.detach(), device)
            if weight is not None:
                self._weight.append(weight.detach().to(torch.float64), device)
        self._gathered = self._gathered_weight = self._epoch = None

    def truncate(self, num_samples: int) -> None:
        """Keep only the first ``num_samples`` samples of this rank.

        Used to drop the duplicates a ``DistributedSampler`` pads the last ranks with.
        """
        _checks.check_params({"num_samples": [Interval(int, 0)]}, num_samples=num_samples)
        self._preds.truncate(num_samples)
        self._target.truncate(num_samples)
        if self._weight.chunks:
            self._weight.truncate(num_samples)
        self._gathered = self._gathered_weight = self._epoch = None

    @property
    def num_samples(self) -> int:
        """Samples held by this rank (no sync)."""
        return self._preds.size

    # ------------------------------------------------------------------ the epoch

    def gather(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The epoch's ``(preds, target)``: every rank's under ``torch.distributed`` (a collective call).

        Unchecked (see :meth:`epoch` for the checked epoch); cached until the next ``update``.

        Raises:
            EmptyEpochError: nothing was accumulated (on any rank); a ``ValueError``. Every compute raises it too.
        """
        if self._gathered is not None:
            return self._gathered
        if self._async_host_copy:
            torch.cuda.synchronize()
        preds, target, weight = self._preds.view(), self._target.view(), self._weight.view()
        if self.sync_dist and is_distributed(self.process_group):
            if _any_rank(weight is not None, preds, self.process_group):  # every rank makes the same calls
                if weight is None:  # a rank without samples: an empty weight tensor
                    weight = torch.zeros(
                        0 if preds is None else preds.shape[0],
                        dtype=torch.float64,
                        device=None if preds is None else preds.device,
                    )
                preds, target, weight = gather_uneven([preds, target, weight], group=self.process_group)
            else:
                preds, target = gather_uneven([preds, target], group=self.process_group)
        elif preds is None:
            raise EmptyEpochError(
                "AUROCAccumulator has no samples: nothing was passed to update(), or only empty batches"
            )
        gathered = (preds, cast(torch.Tensor, target))  # stored together with preds
        self._gathered, self._gathered_weight = gathered, weight
        return gathered

    def gather_weight(self) -> Optional[torch.Tensor]:
        """The epoch's sample weights in :meth:`gather`'s order (every rank's; a collective call), or None."""
        self.gather()
        return self._gathered_weight

    def epoch(self) -> ExactEpoch:
        """The gathered epoch with its values checked, once per epoch whatever computes from it.

        Bad labels raise ``ValueError`` (every time: a failed check is not
        cached); so do NaN scores with ``nan_strategy="error"``. With
        ``"warn"`` they give an epoch whose ``nan_reason`` says why every AUROC is NaN.
        Here, once per epoch, the epoch is read as :func:`auroc_callbacks.auroc`
        reads one input (a one-hot target, ``activation="auto"``), with at
        most one :class:`~auroc_callbacks.functional.InterpretationWarning` of each kind.
        """
        if self._epoch is None:
            preds, target = self.gather()
            opts = self.options
            layout = one_hot_layout(target, self._layout or _checks.check_layout(preds, target, opts), opts)
            reason = _checks.bad_scores(preds, layout, opts.activation) if self.nan_strategy == "warn" else None
            checked = preds if reason is None else torch.zeros_like(preds)  # NaN scores: the labels are still checked
            _checks.check_values(checked, target, layout, opts)
            weight = self._gathered_weight
            if weight is not None:
                weight = _checks.check_sample_weight(weight, preds.shape[0], name="weight")  # its values, once
            if reason is None:
                meaning = interpret(preds, target, layout, opts)
                opts = meaning.options
                _checks.warn_interpretations(meaning.notes)
            self._epoch = ExactEpoch(preds, target, layout, reason, opts, weight)
        return self._epoch

    def validated_layout(self) -> Optional[Layout]:
        """The layout of the gathered epoch if a compute already checked its values (labels, NaN), else None.

        Lets later stages of the same epoch (calibration) skip a second pass of checks.
        """
        epoch = self._epoch
        return epoch.layout if epoch is not None and epoch.nan_reason is None else None

    # ------------------------------------------------------------------ results

    def _scores(self, *, per_class: bool) -> AUROCScores:
        epoch = self.epoch()
        if epoch.nan_reason is not None:
            return self._nan_scores(epoch)
        return compute_scores(
            epoch.preds, epoch.target, epoch.layout, epoch.options, per_class=per_class, weight=epoch.weight
        )

    def compute_metrics(self, *, auroc: bool = True, average_precision: bool = True) -> RankingScores:
        """AUROC and average precision scores of the epoch from one sort of each class row (per-class values too)."""
        epoch = self.epoch()
        if epoch.nan_reason is not None:
            s = self._nan_scores(epoch)
            return RankingScores(s if auroc else None, APScores(*s) if average_precision else None)
        return compute_metrics(
            epoch.preds,
            epoch.target,
            epoch.layout,
            epoch.options,
            per_class=True,
            auroc=auroc,
            average_precision=average_precision,
            weight=epoch.weight,
        )

    def compute_curves(self, *, drop_intermediate: bool = True):
        """ROC curve(s) of the epoch, as :func:`auroc_callbacks.roc_curve` returns them (from the gathered epoch)."""
        return self._curves("roc", drop_intermediate)

    def compute_pr_curves(self, *, drop_intermediate: bool = False):
        """Precision-recall curve(s) of the epoch, as :func:`auroc_callbacks.precision_recall_curve` returns them."""
        return self._curves("pr", drop_intermediate)

    def _curves(self, kind: str, drop_intermediate: bool):
        epoch = self.epoch()
        if epoch.nan_reason is not None:
            raise ValueError(
                f"{epoch.nan_reason}: no {'ROC' if kind == 'roc' else 'precision-recall'} curve can be drawn"
            )
        opts = epoch.options._replace(average=None, max_fpr=None)
        return compute_curves(
            epoch.preds,
            epoch.target,
            epoch.layout,
            opts,
            drop_intermediate=drop_intermediate,
            weight=epoch.weight,
            kind=kind,
        )

    def compute_interval(
        self,
        *,
        ci_level: Optional[float] = None,
        method: str = "delong",
        interval: Optional[str] = None,
        n_boot: int = 2000,
        seed: int = 0,
    ) -> AUROCInterval:
        """The epoch's AUROC with its confidence interval, as :func:`auroc_callbacks.auroc_ci` returns it.

        Computed from the gathered epoch (the same cache as :meth:`compute`:
        no second collective under ``torch.distributed``), from one ranking;
        ``value`` equals :meth:`compute`. ``ci_level`` defaults to the
        accumulator's. With NaN scores and ``nan_strategy="warn"``, every number is NaN.
        """
        level = self.ci_level if ci_level is None else ci_level
        _checks.check_params(_RULES, ci_level=level)
        check_interval_options(self.options, level=level, method=method, interval=interval, n_boot=n_boot, seed=seed)
        epoch = self.epoch()
        if epoch.weight is not None:
            raise ValueError(
                "compute_interval() does not take sample weights: the DeLong interval has no exact"
                " weighted form (this epoch was updated with `weight`)"
            )
        if epoch.nan_reason is not None:
            s = self._nan_scores(epoch)
            pc = s.per_class
            return _checks.nan_like(
                AUROCInterval(
                    s.value, s.value, s.value, s.value, float(level), method, pc, pc, pc, pc, s.support, s.num_samples
                )
            )
        return compute_interval(
            epoch.preds,
            epoch.target,
            epoch.layout,
            epoch.options,
            level=level,
            method=method,
            interval=interval,
            n_boot=n_boot,
            seed=seed,
        )

    def compute_bound(self):
        """Histogram mode only: an exact accumulator's value has no bound to report.

        Raises:
            ValueError: always.
        """
        raise ValueError("compute_bound() is for mode='histogram'; mode='exact' computes the exact value")

    def compute_ap_bound(self):
        """Histogram mode only: an exact accumulator's average precision has no bound to report.

        Raises:
            ValueError: always.
        """
        raise ValueError(
            "compute_ap_bound() is for mode='histogram'; mode='exact' computes the exact average"
            " precision (compute_average_precision())"
        )

    def _nan_scores(self, epoch: ExactEpoch) -> AUROCScores:
        """NaN everywhere, with the true supports (scores of the NaN-free stand-in are discarded); warns once."""
        _checks.warn(f"{epoch.nan_reason}: the epoch AUROC is NaN", UndefinedAUROCWarning)
        zeros = torch.zeros_like(epoch.preds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedAUROCWarning)
            s = compute_scores(
                zeros, epoch.target, epoch.layout, self.options._replace(multi_class="ovr"), per_class=True
            )
        return _checks.nan_like(s)

    def _state(self) -> dict:
        if self._async_host_copy:
            torch.cuda.synchronize()
        preds, target, weight = self._preds.view(), self._target.view(), self._weight.view()
        if len(self._preds.chunks) == 1:  # a view of a larger chunk: save these rows only
            preds, target = cast(torch.Tensor, preds).clone(), cast(torch.Tensor, target).clone()
            weight = None if weight is None else weight.clone()
        return {"preds": preds, "target": target, "weight": weight}

    def _load_state(self, state: dict) -> None:
        preds, target = state.get("preds"), state.get("target")
        if (preds is None) != (target is None):
            raise ValueError("`state_dict` holds `preds` without `target` (or the reverse)")
        if preds is not None:
            self.update(preds, cast(torch.Tensor, target), state.get("weight"))

    def _repr_options(self) -> str:
        return f", ci=True, ci_level={self.ci_level!r}" if self.ci else ""


def _device(buffer_device) -> torch.device:
    """``buffer_device`` as a device this process can allocate on, checked at construction (not at the first update).

    CUDA is asked whether it is there and how many devices it has, which
    creates no CUDA context (safe before a DDP fork); other backends
    (``"mps"``, ...) are tried with an empty tensor.
    """
    try:
        device = torch.device(buffer_device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"`buffer_device` must name a device, such as 'cpu' or 'cuda:0'; got {buffer_device!r}"
        ) from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"`buffer_device`={buffer_device!r} needs CUDA, which is not available (torch.cuda.is_available() is"
                " False); use None (the batches' device) or 'cpu'"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"`buffer_device`={buffer_device!r} names CUDA device {device.index}, but only {count} device(s) are"
                f" available (cuda:0 to cuda:{count - 1})"
            )
    elif device.type != "cpu":
        try:
            torch.empty(0, device=device)
        except (RuntimeError, AssertionError) as err:
            raise ValueError(f"`buffer_device`={buffer_device!r} is not available here: {err}") from err
    return device


# ----------------------------------------------------------------------------- 16-bit counts


class HistogramAccumulator(AUROCAccumulator):
    """Counts ``(preds, target)`` batches over the 65,536 values of a 16-bit float: bounded memory.

    Keeps, per class, positive and negative 16-bit counts over the 16-bit
    patterns a score can take: 60 KiB for multiclass probabilities (64 KiB
    with bfloat16), 256 KiB for binary and multilabel scores (``C`` times
    that for ``multi_class="ovo"``), whatever the number of samples; a bucket
    that reaches ``2**15`` samples also takes 16 bytes of sparse int64 counts
    (at most one per ``2**15`` scores counted), so no count overflows. Batches
    are copied into one staging block and counted together once it holds ``2**18`` scores. Its value is exact for
    the scores the exact mode ranks rounded to
    ``histogram_dtype`` (equal to ``roc_auc_score`` on
    ``probs.to(histogram_dtype)``), and :meth:`compute_bound` certifies how
    far the full-precision AUROC can be from it. See :mod:`auroc_callbacks.histogram`.
    ``activation="auto"`` is decided block by block (the batches counted
    together) on the values seen so far (the counts cannot be re-scored): a
    block is softmaxed once any value of the epoch has been outside [0, 1], so
    blocks ranked as given before the first logits disagree with the exact mode's epoch and give a
    ``ValueError`` at compute (NaN and an :class:`UndefinedAUROCWarning` with
    ``nan_strategy="warn"``). An inferred multilabel input is counted both
    as given and as a multiclass epoch would score it (twice the counts),
    and compute keeps the one the exact mode would: multiclass if the target
    was one-hot in every row. int32/int64 logits are softmaxed in float64.

    Takes every option of :class:`AUROCAccumulator` (``mode`` must be
    ``"histogram"``), plus:

    Args:
        histogram_dtype: ``torch.float16`` (default: 11 significant bits,
            finite from 6e-8 to 65504) or ``torch.bfloat16`` (8 bits,
            float32's range: better when probabilities crowd below 1e-7, as
            an over-confident model's do, or raw scores pass 65504). The
            bound says which suits the data.

    No ``gather``, ``truncate``, ``compute_interval``, ``ci=True`` or
    ``buffer_device``: they need the predictions. :meth:`epoch` is the
    summed :class:`auroc_callbacks.histogram.Epoch`.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> hist = ac.AUROCAccumulator(mode="histogram")  # bounded memory
        >>> hist.update(torch.tensor([0.1, 0.4, 0.35, 0.8, 0.80001]), torch.tensor([0, 0, 1, 1, 0]))
        >>> b = hist.compute_bound()  # 0.8 and 0.80001 share a float16 bucket: that pair counts 1/2
        >>> b.value.item(), b.bound.item()  # the full-precision AUROC is within 1/12 of 0.5833
        (0.5833333333333334, 0.08333333333333333)
    """

    mode = "histogram"
    #: never: a DeLong interval needs every prediction (:meth:`compute_bound` reports a certified bound instead)
    ci = False

    def __init__(
        self,
        *,
        histogram_dtype: Optional[torch.dtype] = None,
        ci: bool = False,
        ci_level: float = 0.95,
        buffer_device: Union[str, torch.device, None] = None,
        **options,
    ):
        super().__init__(**options)
        _checks.check_params(
            _RULES, histogram_dtype=histogram_dtype, ci=ci, ci_level=ci_level, buffer_device=buffer_device
        )
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
        self._counts = HistogramCounts(self.options, dtype)
        self._staging = _Staging()
        self.reset()

    @property
    def histogram_dtype(self) -> torch.dtype:
        """The 16-bit type the scores are rounded to."""
        return self._counts.dtype

    # ------------------------------------------------------------------ accumulation

    def reset(self) -> None:
        """Forget every count (call at the start of each epoch)."""
        super().reset()
        self._counts.reset()
        self._staging.fill = 0  # (its block is kept for the next epoch)
        self._epoch: Optional[histogram.Epoch] = None

    def _check_weight(self, weight, preds) -> None:
        if weight is not None:
            raise ValueError(
                "`weight` needs mode='exact': mode='histogram' keeps integer counts per bucket, and"
                " weighted counts would lose their exactness and certified bound"
            )
        return None

    def _store(self, preds: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor] = None) -> None:
        """Copy the batch into the staging block; count the block once it holds ``_COUNT_ENTRIES`` scores."""
        self._staging.add(preds, target, self._count)
        self._epoch = None

    def _count(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self._counts.update(preds, target, cast(Layout, self._layout))  # after check_batch

    def _count_pending(self) -> None:
        """Count the staged batches as one (a few dozen device ops for them all, instead of per batch)."""
        self._staging.flush(self._count)

    def truncate(self, num_samples: int) -> None:
        """Exact mode only: counts cannot forget given samples.

        Raises:
            ValueError: always.
        """
        raise ValueError(
            "truncate() needs mode='exact': mode='histogram' keeps counts, which cannot forget given samples;"
            " drop samples before update()"
        )

    @property
    def num_samples(self) -> int:
        """Samples counted by this rank (no sync)."""
        return self._counts.rows + self._staging.fill

    # ------------------------------------------------------------------ the epoch

    def gather(self):
        """Exact mode only: no predictions are kept.

        Raises:
            ValueError: always.
        """
        raise ValueError(
            "AUROCAccumulator(mode='histogram') keeps per-bucket counts, not the predictions: gather() (and the"
            " plots and reports built on it) needs mode='exact'; compute_curves() gives the ROC curves from the"
            " counts"
        )

    def epoch(self) -> histogram.Epoch:
        """The epoch's counts, summed over ranks under ``torch.distributed`` (collective calls), only occupied buckets.

        Read as the exact mode reads its epoch (a one-hot target in every
        batch: multiclass), with its notes warned once per epoch
        (:func:`auroc_callbacks.histogram.interpret_epoch`).
        """
        if self._epoch is None:
            self._count_pending()
            epoch = self._counts.epoch(sync_dist=self.sync_dist, process_group=self.process_group)
            self._epoch, notes = histogram.interpret_epoch(epoch, self.options)
            _checks.warn_interpretations(notes)
        return self._epoch

    @property
    def state_bytes(self) -> int:
        """Bytes of counts this accumulator holds (fixed by the classes, whatever the number of samples).

        Counts the batches it copied first. Besides the counts it keeps one
        staging block, allocated once, that holds copies of up to ``2**18``
        scores of recent batches (1 MiB of float32 and their labels), to count them together.
        """
        self._count_pending()
        return self._counts.nbytes

    # ------------------------------------------------------------------ results

    def compute_bound(self) -> AUROCBound:
        """The value with its certified bound, per-class values and bounds, supports.

        ``|AUROC at full precision - value| <= bound``, per class and for the
        configured average (see :mod:`auroc_callbacks.histogram`);
        ``.scores()`` is what :meth:`compute_scores` returns. Under
        ``torch.distributed`` the counts of every rank are summed (collective
        calls, cached until the next ``update``). With NaN scores and
        ``nan_strategy="warn"``, value and bound are NaN.
        """
        return self._bound(per_class=True)

    def _scores(self, *, per_class: bool) -> AUROCScores:
        return self._bound(per_class=per_class).scores()

    def _bound(self, *, per_class: bool) -> AUROCBound:
        epoch = self.epoch()
        reason = histogram.epoch_problem(epoch, self.options, self.nan_strategy)
        if reason is not None:
            _checks.warn(f"{reason}: the epoch AUROC is NaN", UndefinedAUROCWarning)
            return histogram.nan_bound(epoch, self.options)
        return histogram.scores_from_epoch(epoch, self.options, per_class=per_class)

    def compute_ap_bound(self) -> histogram.APBound:
        """The average precision of the rounded scores with its certified ``[lower, upper]`` (per class too).

        The full-precision average precision always lies in ``[lower, upper]``
        (see :mod:`auroc_callbacks.histogram`); ``.scores()`` is what
        :meth:`compute_average_precision` returns. One pass over the same
        cached counts as :meth:`compute_bound`.
        """
        epoch = self.epoch()
        reason = histogram.epoch_problem(epoch, self.options, self.nan_strategy)
        if reason is not None:
            _checks.warn(f"{reason}: the epoch average precision is NaN", UndefinedAUROCWarning)
            return histogram.nan_ap_bound(epoch, self.options)
        return histogram.average_precision_from_epoch(epoch, self.options, per_class=True)

    def compute_metrics(self, *, auroc: bool = True, average_precision: bool = True) -> RankingScores:
        """AUROC and average precision scores of the rounded scores, from the same counts."""
        return RankingScores(
            self._scores(per_class=True) if auroc else None,
            self.compute_ap_bound().scores() if average_precision else None,
        )

    def compute_curves(self, *, drop_intermediate: bool = True):
        """ROC curve(s) from the counts: one point per occupied bucket, the bucket values as thresholds.

        The curves of the rounded scores, as :func:`auroc_callbacks.roc_curve` returns them.
        """
        return self._curves("roc", drop_intermediate)

    def compute_pr_curves(self, *, drop_intermediate: bool = False):
        """Precision-recall curve(s) of the rounded scores from the counts, as :func:`auroc_callbacks.precision_recall_curve`."""
        return self._curves("pr", drop_intermediate)

    def _curves(self, kind: str, drop_intermediate: bool):
        epoch = self.epoch()
        reason = histogram.epoch_problem(epoch, self.options, "warn")
        if reason is not None:
            raise ValueError(f"{reason}: no {'ROC' if kind == 'roc' else 'precision-recall'} curve can be drawn")
        return histogram.curves_from_epoch(epoch, self.options, drop_intermediate=drop_intermediate, kind=kind)

    def compute_interval(self, **_):
        """Exact mode only: a DeLong interval needs every prediction (see :meth:`compute_bound`).

        Raises:
            ValueError: always.
        """
        raise ValueError("compute_interval() needs mode='exact'; mode='histogram' has compute_bound()")

    def _state(self) -> dict:
        self._count_pending()
        c = self._counts
        state = {"histogram_dtype": str(c.dtype), "counts": None}
        if c.counts is None:
            return state
        layout, shapes = cast(Layout, c.layout), cast(tuple, self._shapes)  # set with the counts
        ints, extremes = cast(torch.Tensor, c.ints), cast(torch.Tensor, c.extremes)
        return dict(
            state,
            counts=c.counts.clone(),  # int16 (narrow, with the spilled counts) or as allocated
            spill=None if c.narrow_counts is None else c.narrow_counts.state(),
            ints=ints.clone(),
            extremes=extremes.clone(),
            layout=[layout.task, layout.num_classes, layout.binary_column],
            in_dtype=str(c.in_dtype),
            rows=c.rows,
            shapes=[shapes[0], list(shapes[1]), str(shapes[2]), shapes[3], list(shapes[4]), str(shapes[5])],
            indices_checked=self._indices_checked,
        )

    def _load_state(self, state: dict) -> None:
        if state.get("histogram_dtype") != str(self.histogram_dtype):
            raise ValueError(
                f"`state_dict` was saved with histogram_dtype={state.get('histogram_dtype')}; this"
                f" accumulator has histogram_dtype={self.histogram_dtype}"
            )
        if state.get("counts") is None:
            return
        c = self._counts
        task, n, column = state["layout"]
        layout = Layout(task, n, column)
        c.layout = layout
        counts = state["counts"].clone()
        groups, cols, buckets = c.shape
        if c.compact and counts.shape == (groups * cols * histogram.NUM_BUCKETS + 1,):  # saved by 0.1: 65,536 keys
            first = histogram.NUM_BUCKETS // 2 - 1  # -0.0: probabilities use the keys from it to 1.0 only
            body = counts[:-1].reshape(groups, cols, -1)[..., first : first + buckets]
            counts = torch.cat([body.reshape(-1), counts[-1:]])
        if tuple(counts.shape) != (c.size,) or state["ints"].numel() != len(histogram.COUNTERS):
            raise ValueError("`state_dict` holds counts of another shape than its layout's")
        c.allocate(
            layout,
            counts.device,
            counts=counts,
            ints=state["ints"].clone().to(counts.device),
            extremes=state["extremes"].clone().to(counts.device),
            spill=_spill_state(state.get("spill"), counts),
        )
        c.in_dtype, c.rows = _dtype(state["in_dtype"]), int(state["rows"])
        p_ndim, p_trail, p_dtype, t_ndim, t_trail, t_dtype = state["shapes"]
        self._layout = layout
        self._shapes = (p_ndim, tuple(p_trail), _dtype(p_dtype), t_ndim, tuple(t_trail), _dtype(t_dtype))
        self._indices_checked = bool(state["indices_checked"])

    def _repr_options(self) -> str:
        return f", histogram_dtype={self.histogram_dtype}"


def _spill_state(spill, counts: torch.Tensor):
    """The saved ``[index, value, since]`` of narrow (int16) counts; None for wider ones."""
    if counts.dtype != torch.int16:
        return None
    if not (
        isinstance(spill, (list, tuple)) and len(spill) == 3 and all(isinstance(x, torch.Tensor) for x in spill[:2])
    ):
        raise ValueError("`state_dict` holds int16 counts without their spilled counts")
    index, value, since = spill
    if isinstance(since, bool) or not isinstance(since, int) or not 0 <= since <= 2**15:
        raise ValueError(f"`state_dict` holds rows since the last spill that no spill leaves: {since!r}")
    if index.shape != value.shape or index.ndim != 1 or index.is_floating_point() or value.is_floating_point():
        raise ValueError("`state_dict` holds spilled counts of another shape or type than its counts'")
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= counts.numel() or int(value.min()) < 0):
        raise ValueError("`state_dict` holds spilled counts outside its counts")
    # after a spill every count is below 2**15, and each row since adds at most 1 (the trash slot holds anything)
    if counts.numel() > 1 and int(counts[:-1].long().bitwise_and(0xFFFF).max()) >= 2**15 + since:
        raise ValueError("`state_dict` holds int16 counts larger than its rows since the last spill allow")
    return [index, value, since]


def _any_rank(flag: bool, preds, group) -> bool:
    """Whether any rank has ``flag`` set (one small all-reduce), so that every rank gathers the same tensors."""
    device = preds.device if preds is not None else torch.device("cpu")
    if torch.distributed.get_backend(group) == "nccl" and device.type != "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    t = torch.tensor([int(flag)], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX, group=group)
    return bool(t.item())


def _dtype(name: str) -> torch.dtype:
    """``"torch.float32"`` back to ``torch.float32``."""
    dtype = getattr(torch, name.replace("torch.", ""), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"`state_dict` names no dtype: {name!r}")
    return dtype


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
        preds, target = cast("ExactAccumulator", accumulator).gather()  # histogram mode's gather() raises
        own = accumulator.options._asdict()
        if own["pos_label"] is not None and "pos_label" not in names:  # a binary target: given as 0/1 to them
            target = _as_zero_one(target, own["pos_label"], own["ignore_index"])
        return preds, target, {k: own[k] for k in names}
    if preds is None:
        raise ValueError("`preds` is None but `target` was given: pass both")
    if target is None:
        raise ValueError("`target` is None but `preds` was given: pass both")
    return preds, target, options


def _as_zero_one(target: torch.Tensor, pos_label: int, ignore_index: Optional[int]) -> torch.Tensor:
    """A binary target as 0/1 labels (1 where it equals ``pos_label``), ``ignore_index`` entries kept as they are.

    Unchanged where ``ignore_index`` is 0 or 1 (it would become a label): the callee then asks for ``pos_label``.
    """
    positive = (target == pos_label).to(torch.int64)
    if ignore_index is None:
        return positive
    if ignore_index in (0, 1):
        return target
    return torch.where(target == ignore_index, torch.full_like(positive, ignore_index), positive)
