"""The per-batch counting state behind ``AUROCAccumulator(mode="histogram")``: no host sync per batch.

:class:`HistogramCounts` turns each validated batch into counts over the
65,536 bucket keys of :mod:`auroc_callbacks.histogram` (the exact mode's
scores, rounded to 16 bits), plus the device-side counters of
:data:`auroc_callbacks.histogram.COUNTERS` and :data:`~auroc_callbacks.histogram.EXTREMES`
that the compute-time checks read. :meth:`HistogramCounts.epoch` sums them
over ranks into a :class:`auroc_callbacks.histogram.Epoch`; everything
computed from the counts lives in :mod:`auroc_callbacks.histogram`.
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple, cast

import torch

from ._checks import TASKS, Layout, Options
from ._format import distribution_excess, is_positive, positive_label, ranked_scores, shape_inputs, softmax_applies
from .distributed import DTYPES, EmptyEpochError, is_distributed, reduce_uneven
from .histogram import COUNTERS, EXTREMES, NUM_BUCKETS, Epoch, bucket_values, check_histogram_dtype, sign_flip

__all__ = ["HistogramCounts", "NarrowCounts"]


def _static_sizes(device: torch.device) -> bool:
    """Spills size their tensors by what they could hold, not by what they find: no host sync (off the CPU)."""
    return device.type != "cpu"


_ZERO_KEY = NUM_BUCKETS // 2  # the key of +0.0; -0.0 counts one below it until epoch() merges them
#: the last key of each 16-bit type's 1.0 (float16 0x3C00, bfloat16 0x3F80): probabilities need keys up to it only
_ONE_KEY = {torch.float16: _ZERO_KEY + 0x3C00, torch.bfloat16: _ZERO_KEY + 0x3F80}
_INT32_LIMIT = 2**31 - 1
#: a narrow count holds at most this many rows between two spills: after a spill every count is below 2**15, so
#: it stays below 2**16 and reads exactly as uint16 from its int16 bits
_SPILL_ROWS = 1 << 15
_UNIT = 1 << 15  # what a spill moves out of a count of 2**15 or more (int16 bits: negative), into the sparse counts
_SPILL_BLOCK = 256  # a spill looks only into blocks of this many counts whose minimum is negative
_SPARSE_SHARE = 8  # widen every count once the sparse counts (16 bytes each) hold more than 1 in 8 of the buckets
# the exact mode's float: half precision, bool and small integers in float32; int32 and int64 in float64
# (exact below 2**53; the exact mode picks float32 for those too when every value is below 2**24)
_FLOAT32_INPUTS = (torch.float16, torch.bfloat16, torch.bool, torch.uint8, torch.int8, torch.int16)


class NarrowCounts:
    """Flat int16 counts read as uint16, with sparse int64 counts for the buckets that reach ``2**15``.

    One row adds at most 1 to a count (besides the trash slot, never read), so
    at most ``2**15`` rows are counted between two :meth:`spill` calls
    (:meth:`must_spill`, :meth:`room`): a spill moves ``2**15`` out of every
    count of ``2**15`` or more into :attr:`index` / :attr:`value` (flat
    index, count in units of ``2**15``: one entry per bucket that ever
    reached ``2**15``, so at most one per ``2**15`` scores counted), and every
    count is below ``2**15`` again, so below ``2**16`` until the next spill.
    A spill reads one minimum per block of 256 counts, then only the blocks
    holding such a count. On the CPU it sizes the sparse counts by what it
    finds; elsewhere by the most they could hold (``torch.nonzero_static``,
    padded with the trash index): no host sync.

    Example:
        >>> import torch
        >>> counts = NarrowCounts(5, torch.device("cpu"))
        >>> _ = counts.counts.index_add_(0, torch.zeros(40_000, dtype=torch.long), torch.ones(40_000, dtype=torch.int16))
        >>> counts.counts.tolist()  # 40,000 read as uint16 (int16: -25,536)
        [-25536, 0, 0, 0, 0]
        >>> counts.spill(40_000, 1)
        >>> counts.counts.tolist(), counts.index.tolist(), counts.value.tolist(), counts.wide().tolist()
        ([7232, 0, 0, 0, 0], [0], [1], [40000, 0, 0, 0, 0])
    """

    def __init__(self, size: int, device: torch.device, saved=None):
        blocks = -(-size // _SPILL_BLOCK)  # padded with zeros to whole blocks
        self.storage = torch.zeros(blocks * _SPILL_BLOCK, dtype=torch.int16, device=device)
        self.counts = self.storage[:size]  # the last one is the trash slot
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        self.index, self.value, self.since = empty, empty.clone(), 0
        if saved is not None:  # (counts, index, value, since), from state()
            counts, index, value, self.since = saved
            self.counts.copy_(counts)
            self.index, self.value = index.to(device, torch.int64), value.to(device, torch.int64)

    def state(self) -> list:
        """``[index, value, since]`` (copies): with the counts, what :class:`NarrowCounts` restores."""
        return [self.index.clone(), self.value.clone(), self.since]

    @property
    def nbytes(self) -> int:
        """The counts (padded to whole blocks) and the sparse counts (two int64 each)."""
        return self.storage.numel() * self.storage.element_size() + self.index.numel() * 16

    def must_spill(self, rows: int) -> bool:
        """Counting ``rows`` more (or ``2**15`` of them) could take a count past ``2**16 - 1``: spill first."""
        return self.since + min(rows, _SPILL_ROWS) > _SPILL_ROWS

    def room(self, rows: int) -> int:
        """How many of ``rows`` rows fit before the next spill."""
        return min(rows, _SPILL_ROWS - self.since)

    def spill(self, counted: int, per_row: int) -> None:
        """Move ``2**15`` out of every count of ``2**15`` or more into the sparse counts (see the class).

        Every size follows from ``counted`` (rows counted so far) and
        ``per_row`` (counts each row adds to): no host sync off the CPU.
        """
        storage, trash, step = self.storage, self.counts.numel() - 1, _SPILL_BLOCK
        storage[trash] = 0  # never read, and it may hold anything
        blocks = storage.view(-1, step)
        found = blocks.amin(1) < 0  # a block holding a count of 2**15 or more (negative as int16)
        static = _static_sizes(storage.device)
        most = min(trash, counted * per_row // _UNIT)  # spilled buckets, at most
        real = None
        if static:  # the size is what could be found; the rest of picked is -1 (read block 0, change nothing)
            picked = torch.nonzero_static(found, size=min(blocks.shape[0], most), fill_value=-1).squeeze(1)
            real, picked = picked >= 0, picked.clamp(min=0)
        else:
            picked = found.nonzero().squeeze(1)
        big = blocks.index_select(0, picked) < 0
        if real is not None:
            big &= real.unsqueeze(1)
        blocks.index_add_(0, picked, big.to(torch.int16) * -_UNIT)  # 2**15 or more, less 2**15 (int16 wraps)
        flat = (picked.unsqueeze(1) * step + torch.arange(step, device=storage.device)).reshape(-1)
        big = big.reshape(-1)
        if static:
            new_index, new_value = torch.where(big, flat, trash), big.long()  # the trash slot: nothing
        else:
            new_index = flat[big]
            new_value = torch.ones_like(new_index)
        index, order = torch.cat([self.index, new_index]).sort()
        value = torch.cat([self.value, new_value])[order]
        first = torch.ones_like(index, dtype=torch.bool)
        first[1:] = index[1:] != index[:-1]
        group = first.cumsum(0) - 1
        merged = torch.full_like(index, trash).scatter_(0, group, index)
        summed = torch.zeros_like(value).index_add_(0, group, value)
        # static: distinct buckets <= most, and the trash (nothing) sorts last; else exactly the distinct ones
        keep = min(index.numel(), most) if static else (int(group[-1]) + 1 if index.numel() else 0)
        self.index, self.value, self.since = merged[:keep], summed[:keep], 0

    @property
    def outweighed(self) -> bool:
        """The sparse counts (16 bytes each) hold more than 1 in ``_SPARSE_SHARE`` buckets: time to widen."""
        return self.index.numel() > (self.counts.numel() - 1) // _SPARSE_SHARE

    def wide(self) -> torch.Tensor:
        """Flat int64: each count's uint16 value plus its spilled counts."""
        return self.counts.long().bitwise_and_(0xFFFF).index_add_(0, self.index, self.value * _UNIT)

    def spilled(self, shape: Tuple[int, int, int], groups: slice):
        """The spilled counts in the kept ``groups`` of ``shape`` ``(G, R, K)``: (group from the first kept,
        column, bucket, count)."""
        _, cols, buckets = shape
        real = self.index < self.counts.numel() - 1  # the rest hold nothing (static sizes)
        index, value = self.index[real], self.value[real] * _UNIT
        group, col, bucket = index // (cols * buckets), index // buckets % cols, index % buckets
        if groups.start is not None:
            kept = (group >= groups.start) & (group < groups.stop)
            group, col, bucket, value = group[kept] - groups.start, col[kept], bucket[kept], value[kept]
        return group, col, bucket, value


class HistogramCounts:
    """One epoch's counts: ``(G, R, K)`` 16-bit counts, widened only where they could overflow. No host sync per batch.

    ``K`` is 65,536 buckets, one per 16-bit pattern, or, where every ranked
    score is a probability (multiclass under ``activation="auto"`` or
    ``"softmax"``: softmaxed, or as given only while the epoch lies in
    [0, 1]), only the patterns from ``-0.0`` to ``1.0``: 15,362 (float16) or
    16,258 (bfloat16), so a class's two rows take 60 (64) KiB instead of
    256 KiB.

    **Narrow counts.** Each count is int16 whose bits read as uint16
    (exact up to 65,535). One row adds at most 1 to a count, so after at
    most ``2**15`` rows the counts *spill*: every count of ``2**15`` or
    more moves ``2**15`` into sparse counts (:class:`NarrowCounts`)
    (sparse int64 counts in units of ``2**15``, one entry per bucket that
    ever reached ``2**15``: at most one per ``2**15`` scores counted), and
    what stays is below ``2**15`` again. A spill reads one minimum per block
    of 256 counts and then only the blocks holding such a count; on the CPU
    it sizes the sparse counts by what it finds, elsewhere by the most
    they could hold (``torch.nonzero_static``: no host sync). Should the
    sparse counts ever need more memory than the narrow ones (an eighth as
    many entries: past about ``4096 * K`` scores per column), the counts
    widen to int64 at once.
    Counts passed in by the caller (:meth:`allocate`) stay as given, int32
    or int64 (int32 widens to int64 once this rank has counted ``2**31 - 1``
    rows).

    ``R`` is the number of ranked columns (1 for binary, else C). ``G`` is 2
    (negative, positive) for one-vs-rest and multilabel (4 for a multilabel
    input that may prove one-hot, :attr:`dual`); for one-vs-one it is
    the true class (``C``), so that ``counts[a, c]`` counts class-``a``
    samples by their column-``c`` score: ``C * C * 65536`` counts. A flat
    trash slot at the end takes ignored entries and invalid labels.

    Per batch the key is the raw sign-flip of the 16-bit pattern (4
    elementwise passes); ``-0.0`` (key 32767) joins ``+0.0`` (key 32768) once,
    in :meth:`epoch`.

    Example:
        >>> import torch
        >>> from auroc_callbacks._checks import Layout, check_options
        >>> counts = HistogramCounts(check_options(), torch.float16)
        >>> counts.update(torch.tensor([0.1, 0.8, 0.8]), torch.tensor([0, 1, 0]), Layout("binary", 1, None))
        >>> epoch = counts.epoch(sync_dist=False)
        >>> epoch.values.tolist(), epoch.counts.tolist()  # (negative, positive) x column x occupied bucket
        ([0.0999755859375, 0.7998046875], [[[1, 1]], [[0, 1]]])
    """

    def __init__(self, options: Options, dtype: torch.dtype):
        self.options = options
        self.dtype = check_histogram_dtype(dtype)
        self.reset()

    def reset(self) -> None:
        """Forget every count (the memory is allocated again by the next batch)."""
        self.counts: Optional[torch.Tensor] = None  # flat (G * R * K + 1,): the last slot is the trash
        self.narrow_counts: Optional[NarrowCounts] = None  # the counts, where they are int16 (see the class)
        self.ints: Optional[torch.Tensor] = None  # (len(COUNTERS),) int64
        self.extremes: Optional[torch.Tensor] = None  # (len(EXTREMES),) float64
        self.layout: Optional[Layout] = None
        self.in_dtype: Optional[torch.dtype] = None
        self.rows = 0

    def allocate(
        self,
        layout: Layout,
        device: torch.device,
        *,
        counts: Optional[torch.Tensor] = None,
        ints: Optional[torch.Tensor] = None,
        extremes: Optional[torch.Tensor] = None,
        spill: Optional[list] = None,
    ) -> None:
        """Fix the layout and give the counts their memory: zeros, or the given tensors, counted into in place.

        ``counts`` (flat ``(G * R * K + 1,)``, see :attr:`size`), ``ints``
        (``(len(COUNTERS),)`` int64) and ``extremes`` (``(len(EXTREMES),)``
        float64, ``-inf`` when empty) let a caller own the state, as the
        torchmetrics adapter's ``sum`` and ``max`` states do: int32 or int64
        counts are counted into as they are; int16 counts (a saved
        :class:`NarrowCounts`) are copied, with ``spill`` from
        :meth:`NarrowCounts.state`.
        """
        self.layout = layout
        size, cols = self.size, self.shape[1]
        self.narrow_counts = None
        if counts is None or counts.dtype == torch.int16:
            saved = None if counts is None else (counts, *cast(list, spill))
            self.narrow_counts = NarrowCounts(size, device, saved)
            counts = self.narrow_counts.counts
        self.counts = counts
        self.ints = torch.zeros(len(COUNTERS), dtype=torch.int64, device=device) if ints is None else ints
        if extremes is None:
            extremes = torch.full((len(EXTREMES),), -math.inf, dtype=torch.float64, device=device)
        self.extremes = extremes
        self._int_views, self._extreme_views = self.ints.unbind(), self.extremes.unbind()  # in-place, one op each
        self._index_dtype = torch.int32 if size < 2**31 else torch.int64
        self._one = torch.ones(1, dtype=self.counts.dtype, device=device)
        buckets, zero_key = self.shape[2], (1 if self.compact else _ZERO_KEY)
        self._col_base = (torch.arange(cols, device=device) * buckets + zero_key).to(self._index_dtype)
        self._group_step = cols * buckets

    @property
    def nbytes(self) -> int:
        """Bytes of counts held: the counts (narrow: padded to whole spill blocks) and the spilled counts."""
        if self.narrow_counts is not None:
            return self.narrow_counts.nbytes
        return 0 if self.counts is None else self.counts.numel() * self.counts.element_size()

    @property
    def size(self) -> int:
        """Entries of the flat counts: ``G * R * K`` plus the trash slot (needs a layout)."""
        groups, cols, buckets = self.shape
        return groups * cols * buckets + 1

    @property
    def shape(self) -> Tuple[int, int, int]:
        """``(G, R, K)`` of the counts (needs a layout): ``K`` buckets per row, see the class."""
        layout = self.layout
        assert layout is not None, "needs a layout"
        cols = 1 if layout.task == "binary" else layout.num_classes
        buckets = _ONE_KEY[self.dtype] - _ZERO_KEY + 2 if self.compact else NUM_BUCKETS
        return (layout.num_classes if self.ovo else 4 if self.dual else 2), cols, buckets

    @property
    def compact(self) -> bool:
        """Every ranked score is a probability (needs a layout): buckets from ``-0.0`` to ``1.0`` only."""
        assert self.layout is not None, "needs a layout"
        return self.layout.task == "multiclass" and self.options.activation in ("auto", "softmax")

    @property
    def dual(self) -> bool:
        """Two interpretations counted side by side (needs a layout): an inferred multilabel input under
        ``activation="auto"`` may prove one-hot over the epoch (then multiclass: softmaxed logits). Groups 0, 1
        count the scores as given, groups 2, 3 as a multiclass epoch scores them; :meth:`epoch` keeps one pair."""
        assert self.layout is not None, "needs a layout"
        return self.layout.task == "multilabel" and self.options.task is None and self.options.activation == "auto"

    @property
    def ovo(self) -> bool:
        """Counts by true class (one-vs-one), not by label (needs a layout). Never read from the shape:
        one-vs-one over 2 classes has 2 groups too."""
        assert self.layout is not None, "needs a layout"
        return self.options.multi_class == "ovo" and self.layout.task == "multiclass"

    # ------------------------------------------------------------------ one batch

    def update(self, preds: torch.Tensor, target: torch.Tensor, layout: Layout) -> None:
        """Count one validated, non-empty batch, on its device. No ``.item()``, no boolean indexing.

        Counts into plain tensors in or out of ``torch.inference_mode`` (Lightning validates under it; a plain loop
        may count under it and compute after it): an inference tensor could never be written to outside it.
        """
        with torch.inference_mode(False):
            self._update(preds, target, layout)

    def _update(self, preds: torch.Tensor, target: torch.Tensor, layout: Layout) -> None:
        if self.counts is None:
            self.allocate(layout, preds.device)
        counts = self.counts
        assert counts is not None  # allocated above
        if counts.dtype == torch.int32 and self.rows + preds.shape[0] > _INT32_LIMIT:  # given int32 could overflow
            self.counts = counts = counts.long()
            self._one = self._one.long()
        preds, target = shape_inputs(preds, target, layout, counts.device)
        in_dtype = preds.dtype
        self.in_dtype = in_dtype if self.in_dtype is None else torch.promote_types(self.in_dtype, in_dtype)
        scores = preds.float() if in_dtype in _FLOAT32_INPUTS else preds
        if not scores.is_floating_point():
            scores = scores.double()
        keep = None if self.options.ignore_index is None else target != self.options.ignore_index
        t = target.double()
        as_given = self._summarise_scores(scores, in_dtype, keep, layout, self._one_hot(t, keep, layout))
        bad = self._summarise_labels(t, target.is_floating_point(), keep, layout)
        trash = counts.numel() - 1
        index = self._keys(scores, None if self.dual else as_given, layout)
        valid = self._add_groups(index, t, keep, bad, layout)
        indices = [torch.where(valid, index, trash)]  # (N, R) each; invalid entries to the trash slot
        if self.dual:  # the same entries again, scored as a multiclass epoch would score them
            soft = self._keys(scores, as_given, layout) + 2 * self._group_step
            self._add_groups(soft, t, keep, bad, layout)
            indices.append(torch.where(valid, soft, trash))
        self._count(indices, preds.shape[0])
        self.rows += preds.shape[0]

    def _count(self, indices: List[torch.Tensor], rows: int) -> None:
        """Add 1 at every index of the ``(rows, R)`` tensors: one ``index_add_``, split where a spill must come first."""
        start, per_row = 0, self.shape[1] * (2 if self.dual else 1)  # counts one row adds to (besides the trash)
        while start < rows:
            take, narrow = rows - start, self.narrow_counts
            if narrow is not None:  # at most _SPILL_ROWS rows between two spills
                if narrow.must_spill(take):
                    narrow.spill(self.rows + start, per_row)
                    if narrow.outweighed:  # the sparse counts would outweigh the narrow ones: widen them all
                        self.counts, self._one, self.narrow_counts = narrow.wide(), self._one.long(), None
                take = narrow.room(take) if self.narrow_counts is not None else take
            parts = [i if take == rows else i.narrow(0, start, take) for i in indices]
            index = parts[0].reshape(-1) if len(parts) == 1 else torch.cat([p.reshape(-1) for p in parts])
            cast(torch.Tensor, self.counts).index_add_(0, index, self._one.expand(index.numel()))
            if self.narrow_counts is not None:
                self.narrow_counts.since += take
            start += take

    def wide(self) -> torch.Tensor:
        """The counts as flat int64 (narrow counts: their uint16 value plus the spilled counts)."""
        counts = cast(torch.Tensor, self.counts)
        return counts.long() if self.narrow_counts is None else self.narrow_counts.wide()

    def _one_hot(self, t: torch.Tensor, keep, layout: Layout) -> Optional[torch.Tensor]:
        """A 0-d bool: this multilabel batch's target is one-hot (no entry ignored); None unless :attr:`dual`."""
        if not self.dual:
            return None
        one_hot = ((t == 0) | (t == 1)).all() & (t.sum(1) == 1).all()
        return one_hot if keep is None else one_hot & keep.all()

    def _summarise_scores(self, scores, in_dtype, keep, layout: Layout, one_hot) -> Optional[torch.Tensor]:
        """Record NaN / inf anywhere, the scored rows' extremes and distance from summing to 1; decide the batch.

        Returns a 0-d bool, "rank this batch as given" (else: softmax it), or
        None where ``activation="auto"`` has no softmax to decide. The exact
        mode's rule, on the values seen so far (no sync): softmax once any
        value of the epoch has been outside [0, 1]. Batches ranked as given
        before a later one was softmaxed make the epoch disagree (at compute).
        For a :attr:`dual` input it decides the multiclass groups, and
        ``one_hot`` (this batch's target is one-hot) is counted.
        """
        row_keep = None if keep is None or layout.task == "multilabel" else keep  # the exact mode drops these rows
        all_rows = torch.full((), scores.shape[0], dtype=torch.int64, device=scores.device)
        kept_rows = all_rows if row_keep is None else row_keep.sum()
        lo, hi = torch.aminmax(scores)  # min and max propagate NaN
        self._add(
            nan=torch.isnan(lo) | torch.isnan(hi),
            inf=torch.isinf(lo) | torch.isinf(hi),
            rows=all_rows if layout.task == "multilabel" else kept_rows,
            float_rows=all_rows if in_dtype.is_floating_point else 0,
        )
        if one_hot is not None:
            self._add(onehot_rows=all_rows * one_hot)
        if row_keep is not None:
            mask = row_keep.reshape((-1,) + (1,) * (scores.ndim - 1))
            lo, hi = torch.where(mask, scores, math.inf).min(), torch.where(mask, scores, -math.inf).max()
        self._at_least(neg_lo=-lo, hi=hi)
        if self.options.activation != "auto" or not (softmax_applies(layout, scores.ndim) or one_hot is not None):
            return None
        views = self._extreme_views
        softmax = (views[EXTREMES.index("neg_lo")] > 0) | (views[EXTREMES.index("hi")] > 1)  # this epoch's, so far
        # The rows' distance from summing to 1 only matters to an epoch that softmaxes no row. On the CPU, where
        # reading a flag waits for nothing, it is skipped once the epoch softmaxes (logits: a tenth of the count or more).
        if _static_sizes(scores.device) or not bool(softmax):
            dev = distribution_excess(scores, in_dtype)  # the exact mode's test of the rows that do not sum to 1
            self._at_least(dev=(dev if row_keep is None else torch.where(row_keep, dev, -math.inf)).max())
        self._add(raw_rows=kept_rows * ~softmax, soft_rows=kept_rows * softmax)  # dual: of the multiclass groups
        return ~softmax

    def _summarise_labels(self, t: torch.Tensor, floating: bool, keep, layout: Layout) -> Optional[torch.Tensor]:
        """Record the scored labels' count and range and one non-integral label; return where labels are not integers.

        Binary targets also record their positives (``target == pos_label``,
        default 1) and the range of their other labels, so that compute
        can tell 0/1 and -1/1 from three labels. The mask is None for integer
        and bool targets (``floating`` False).
        """
        if keep is None:
            t_lo, t_hi = torch.aminmax(t)
        else:
            t_lo, t_hi = torch.where(keep, t, math.inf).min(), torch.where(keep, t, -math.inf).max()
        self._add(kept=t.numel() if keep is None else keep.sum())
        self._at_least(neg_t_lo=-t_lo, t_hi=t_hi)
        if layout.task == "binary":
            positive = is_positive(t, positive_label(layout, self.options))
            other = ~positive if keep is None else ~positive & keep
            self._add(pos=(positive.sum() if keep is None else (positive & keep).sum()))
            self._at_least(neg_n_lo=-torch.where(other, t, math.inf).min(), n_hi=torch.where(other, t, -math.inf).max())
        if not floating:
            return None
        bad = (t != t.round()) | ~torch.isfinite(t)
        bad = bad if keep is None else bad & keep
        self._add(bad=bad.sum())
        self._at_least(t_bad=torch.where(bad, t, -math.inf).max())
        return bad

    def _keys(self, scores: torch.Tensor, as_given, layout: Layout) -> torch.Tensor:
        """The scores the exact mode ranks, rounded, as bucket keys offset by their column: ``(N, R)``."""
        if as_given is not None and not _static_sizes(scores.device):  # on the CPU, reading the decision waits for
            scores = ranked_scores(scores, layout, softmax=not bool(as_given))  # nothing: one of the two is computed
        else:  # off it, both, and the decision picks (no host sync)
            softmax = self.options.activation == "softmax" or as_given is not None
            scores = ranked_scores(scores, layout, softmax=softmax, keep_rows=as_given)
        if scores.ndim == 1:
            scores = scores.unsqueeze(1)
        bits = scores.to(self.dtype).view(torch.int16).to(self._index_dtype)
        if self.compact:  # probabilities: the patterns of +0.0 to 1.0 are their own order; -0.0 (the only negative
            # pattern) -> -1. A NaN, counted and reported at compute, is clamped into its column.
            return bits.clamp_(-1, _ONE_KEY[self.dtype] - _ZERO_KEY).add_(self._col_base)
        return sign_flip(bits).add_(self._col_base)  # order-preserving; -0.0 joins +0.0 in epoch()

    def _add_groups(self, index: torch.Tensor, t: torch.Tensor, keep, bad, layout: Layout) -> torch.Tensor:
        """Offset ``index`` in place by each entry's count group; return which entries count (the rest: trash)."""
        step = self._group_step
        if layout.task == "multiclass":
            label = t.long()
            valid = (label >= 0) & (label < layout.num_classes)
            if bad is not None:
                valid &= t == label.double()
            if keep is not None:
                valid &= keep
            label = label.clamp(0, layout.num_classes - 1).unsqueeze(1)
            if not self.ovo:  # one-vs-rest: the positive is in its own column, negative elsewhere
                index.scatter_add_(1, label, torch.full_like(label, step, dtype=index.dtype))
            else:  # one-vs-one: every column under the sample's class
                index += (label * step).to(index.dtype)
            return valid.unsqueeze(1)
        positive = is_positive(t, positive_label(layout, self.options))
        if layout.task == "binary":  # every label counts, the positive's as positive: compute checks the labels
            valid = torch.ones_like(positive) if bad is None else ~bad
            positive, valid = positive.unsqueeze(1), valid.unsqueeze(1)
        else:  # multilabel: entry by entry, 0/1 labels
            valid = (t == 0) | positive
        if keep is not None:
            valid &= keep if layout.task != "binary" else keep.unsqueeze(1)
        index += positive.to(index.dtype) * step
        return valid

    def _add(self, **values) -> None:
        """Add to the named :data:`~auroc_callbacks.histogram.COUNTERS`, in place on the device."""
        for name, value in values.items():
            self._int_views[COUNTERS.index(name)].add_(value)

    def _at_least(self, **values) -> None:
        """Raise the named :data:`~auroc_callbacks.histogram.EXTREMES` to at least ``value``, in place on the device."""
        for name, value in values.items():
            view = self._extreme_views[EXTREMES.index(name)]
            torch.maximum(view, value, out=view)

    # ------------------------------------------------------------------ the epoch

    def meta(self) -> List[int]:
        """What another rank needs to read these counts: task, classes, binary column, input dtype."""
        if self.layout is None:
            return [-1, -1, -1, -1]
        layout = self.layout
        column = -1 if layout.binary_column is None else layout.binary_column
        return [TASKS.index(layout.task), layout.num_classes, column, DTYPES.index(cast(torch.dtype, self.in_dtype))]

    def epoch(self, *, sync_dist: bool, process_group=None) -> Epoch:
        """The epoch's counts, summed over ranks under ``torch.distributed`` (two collectives; every rank calls it).

        Raises:
            EmptyEpochError: nothing was counted (on any rank).
        """
        counts, ints, extremes = self.counts, self.ints, self.extremes
        layout, in_dtype = self.layout, self.in_dtype
        if sync_dist and is_distributed(process_group):
            counts, ints, extremes, layout, in_dtype = self._reduce(process_group)
        elif counts is None:
            raise EmptyEpochError(
                "AUROCAccumulator has no samples: nothing was passed to update(), or only empty batches"
            )
        # counted: here (allocate sets all five) or on some rank (_reduce)
        assert ints is not None and extremes is not None and layout is not None and in_dtype is not None
        if self.layout is None:
            self.layout = layout
        groups = slice(None)
        if self.dual:  # one of the two interpretations: multiclass if the target was one-hot in every row
            ints = ints.cpu().clone()
            rows, one_hot = ints[COUNTERS.index("rows")], ints[COUNTERS.index("onehot_rows")]
            if bool(one_hot == rows):
                groups = slice(2, 4)
            else:  # scored as given: nothing was softmaxed
                groups = slice(0, 2)
                ints[COUNTERS.index("raw_rows")], ints[COUNTERS.index("soft_rows")] = rows, 0
        counts = counts[:-1].reshape(self.shape)[groups]
        # narrow (this rank's own): uint16 counts plus the spilled ones, (group, column, bucket, count) each
        narrow = self.narrow_counts if counts.dtype == torch.int16 else None
        spilled = None if narrow is None else narrow.spilled(self.shape, groups)
        # Only occupied buckets matter (empty ones add nothing to any count, curve or bound): keep those.
        zero_key = 1 if self.compact else _ZERO_KEY
        occupied = counts.ne(0).flatten(0, 1).any(0)
        if spilled is not None:
            occupied[spilled[2]] = True
        occupied[zero_key] |= occupied[zero_key - 1]  # -0.0 == +0.0: one bucket
        occupied[zero_key - 1] = False
        keys = occupied.nonzero(as_tuple=True)[0]
        picked = torch.cat([keys, keys.new_full((1,), zero_key - 1)])  # and -0.0's, to add to +0.0's
        wide = counts.index_select(2, picked).long()
        if spilled is not None:
            wide.bitwise_and_(0xFFFF)
            column = torch.full((counts.shape[2],), -1, dtype=torch.int64, device=keys.device)
            column[picked] = torch.arange(picked.numel(), device=keys.device)
            group, col, bucket, count = spilled
            wide.index_put_((group, col, column[bucket]), count, accumulate=True)
        compact = wide[..., :-1]
        zero = int((keys < zero_key).sum())
        if zero < keys.numel() and int(keys[zero]) == zero_key:
            compact[..., zero] += wide[..., -1]
        values = bucket_values(self.dtype, keys.device)[keys + (_ZERO_KEY - zero_key)]
        return Epoch(compact, values, ints.cpu(), extremes.cpu(), layout, in_dtype, self.dtype, self.ovo)

    def _reduce(self, process_group):
        """Every rank's counts, counters and extremes summed (maximised), and the layout and dtype they agree on."""
        sums = None if self.counts is None else torch.cat([self.wide(), cast(torch.Tensor, self.ints)])
        sums, extremes, metas = reduce_uneven(sums, self.extremes, self.meta(), group=process_group)
        first = metas[0]
        for other in metas[1:]:
            if other[:3] != first[:3]:
                raise ValueError(
                    f"ranks disagree on the problem they count: (task, classes, binary column) {first[:3]}"
                    f" and {other[:3]}"
                )
        layout = Layout(TASKS[first[0]], first[1], None if first[2] < 0 else first[2])
        in_dtype = DTYPES[first[3]]
        for other in metas[1:]:
            in_dtype = torch.promote_types(in_dtype, DTYPES[other[3]])
        n = len(COUNTERS)
        return sums[:-n], sums[-n:], extremes, layout, in_dtype
