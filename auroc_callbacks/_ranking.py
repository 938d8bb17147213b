"""The one ranking kernel: every Mann-Whitney count and every ROC curve of the library comes from here.

AUROC is the Mann-Whitney statistic: over every (positive, negative) pair, 1 if
the positive scores higher, 0.5 on a tie, 0 otherwise, divided by
``n_pos * n_neg``. Its one definition is :func:`twice_u`: each positive (or
group of positives with one score, weighted by its size) adds the negatives
scored strictly below it plus those at or below it, so an ordered pair counts
2 and a tie 1, in int64. Every path reduces its own placements to it, so they
agree by construction, and :func:`auroc_value` turns the count into the float64
value:

* sorted keys (:func:`mann_whitney`, the plain value, the bootstrap's ranking,
  DeLong's binary path): each score becomes an order-preserving non-negative
  integer *code*, the label is packed into the lowest bit of the key
  ``code << 1 | label``, and the keys are sorted by value only (no index
  array). Negatives precede positives within a tie group, so for the j-th
  positive (0-based) at position k, ``k - j`` negatives score lower *or
  equal*; the ties are the mixed tie groups' ``pos_g * neg_g``, found only
  where they can occur. The totals over a row are the aggregated form of the
  same sum (the kernel is linear);
* per-positive placements from :func:`below_and_tied` (DeLong's several-class
  path, without sorting the samples), the bootstrap's resampling weights over
  the sorted order, one-vs-one's binary searches;
* counts per distinct score (:func:`twice_u_of_counts`): a histogram, which is
  sorted keys already grouped.

The curves likewise have one builder, :func:`curve_from_counts`, from positive
and negative counts per distinct score; :func:`curve_from_sorted` groups sorted
keys into those counts first. :func:`partial_auc` (McClish) reads either.
"""

from __future__ import annotations

import functools
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple, Optional, Tuple, cast

import torch

_INT32_SIGN = 0x7FFFFFFF


class Keys(NamedTuple):
    """Packed ``code << 1 | label`` keys of rows of scores, and how to read a score back."""

    keys: torch.Tensor  # (R, N) contiguous int32 or int64, label bit set
    decode: Callable[[torch.Tensor], torch.Tensor]  # codes (keys >> 1) -> float64 scores


def pack(
    scores: torch.Tensor,
    labels: Optional[torch.Tensor] = None,
    *,
    label_index: Optional[torch.Tensor] = None,
    valid: Optional[torch.Tensor] = None,
) -> Keys:
    """Build sortable ``code << 1 | label`` keys for rows of scores (R, N), any strides (the keys are contiguous).

    A transposed view (the (N, C) scores' ``.T``) is read once, as the keys are written: no separate copy.

    The code of a score is a non-negative integer with the same order and ties:
    float32 scores in [0, 1] (probabilities) keep their raw bits (at most
    0x3F800000, so the key fits int32), and the key is written in one pass (``-0.0`` and ``+0.0`` collapse as the
    sign bit shifts out), as int32; other float32 scores whose magnitudes span fewer than 2**29 bit patterns (logits)
    are renumbered into int32 keys (:func:`_pack_f32_compressed`), the rest use the sign-flip trick (int64 keys);
    float64 scores in [0, 1] keep their raw bits (int64 keys); anything else is
    replaced by its dense rank, exact for any dtype.

    Labels come as a (R, N) 0/1 tensor or, for multiclass one-vs-rest, as
    ``label_index`` (N,): the row whose label bit is set in each column, or -1
    for none (a scatter of N bits instead of a pass over R*N). ``valid`` (R, N)
    marks the entries to keep; the rest get a sentinel that sorts after every
    real key with label 0, so it changes no count.
    """
    if scores.dtype in (torch.float16, torch.bfloat16):
        scores = scores.float()
    dense = scores.T if scores.ndim == 2 and not scores.is_contiguous() and scores.T.is_contiguous() else scores
    lo, hi = (v.item() for v in torch.aminmax(dense))  # the same values: read in memory order, 30x faster
    out_shape = tuple(scores.shape)
    if scores.dtype == torch.float32 and lo >= 0 and hi <= 1:
        keys = _blockwise_keys(
            scores.view(torch.int32), labels, lambda bits, out: torch.bitwise_left_shift(bits, 1, out=out)
        )
        labels = None  # set block by block
        decode = _decode_f32_unsigned
    elif scores.dtype == torch.float32 and (packed := _pack_f32_compressed(scores, out_shape, max(-lo, hi), labels)):
        keys, decode = packed
        labels = None  # set in the scores' own memory order, before the one transposing copy
    elif scores.dtype == torch.float32:
        bits = (scores + 0.0).view(torch.int32)  # -0.0 -> +0.0 so that they tie
        flip = (bits >> 31).bitwise_and_(_INT32_SIGN).bitwise_xor_(bits)  # in place: each new N-tensor costs
        keys = torch.empty(out_shape, dtype=torch.int64, device=scores.device)  # page faults on a CPU
        keys.copy_(flip)
        del bits, flip
        keys.add_(2**31).bitwise_left_shift_(1)
        decode = _decode_f32_signed
    elif scores.dtype == torch.float64 and lo >= 0 and hi <= 1:
        keys = torch.empty(out_shape, dtype=torch.int64, device=scores.device)
        torch.bitwise_left_shift(scores.view(torch.int64), 1, out=keys)
        decode = _decode_f64_unsigned
    else:
        uniq, inverse = torch.unique(scores, sorted=True, return_inverse=True)
        keys = torch.empty(out_shape, dtype=torch.int64, device=scores.device)
        torch.bitwise_left_shift(inverse.reshape(out_shape), 1, out=keys)
        uniq = uniq.double()
        decode = uniq.__getitem__
    if labels is not None:
        keys.bitwise_or_(_label_bits(labels))
    if label_index is not None:
        n = keys.shape[1]
        has_row = label_index >= 0  # -1: a negative in every row
        flat = torch.arange(n, device=keys.device).add_(label_index, alpha=n)[has_row]
        keys.view(-1).index_add_(0, flat, torch.ones_like(flat, dtype=keys.dtype))
    if valid is not None:
        keys.masked_fill_(~valid, torch.iinfo(keys.dtype).max - 1)
    return Keys(keys, decode)


#: a compressed signed float32 code must fit 29 bits either side of zero, so that its key fits int32, label included
_COMPRESSED_SPAN = 1 << 29


def _pack_f32_compressed(scores: torch.Tensor, out_shape, biggest: float, labels: Optional[torch.Tensor]):
    """int32 keys of signed float32 scores whose magnitudes span fewer than 2**29 bit patterns; else None.

    A float32's magnitude bits ``m`` are in its order, but a signed score
    needs 32 bits and the label one more, so keys would be int64: twice the
    bytes to sort and to read in every pass after. Yet logits use a narrow
    band of magnitudes (from the smallest nonzero ``|x|``, ``m_lo``, to the
    largest, ``m_hi``): ``c = m - m_lo + 1`` (0 for zero) numbers the patterns that can
    occur, ``+-c`` keeps the order and the ties (``-0.0`` ties ``+0.0``), and
    ``(C +- c) << 1 | label`` is a non-negative int32 when ``C = m_hi - m_lo + 1 < 2**29``
    (randn logits: about 2**28). In terms of the sign-flipped bits ``s`` (``m``
    for ``x >= 0``, ``-1 - m`` below), ``C +- c`` is ``s - clamp(s, -m_lo, m_lo - 1) + C``.

    Two passes over the scores, block by block in their memory order (a
    transposed (N, C) matrix included: blocks of whole rows), each in cache
    with reused scratch: one finds ``m_lo``, one writes the keys, ``labels``
    included. A new tensor the size of the scores costs page faults, several
    times the arithmetic, so on a CPU the keys are the only one (off it, the
    one block's scratch is the scores' size too).
    """
    import numpy as np

    m_hi = int(np.float32(biggest).view(np.int32))
    if not 0 <= m_hi < 0x7F800000:  # inf or NaN: the wide path
        return None
    scores, labels = _as_rows(scores, labels)
    blocks = _column_blocks(scores.shape, scores.device)
    bits = scores.view(torch.int32)
    scratch = torch.empty(min(_BLOCK, scores.numel()), dtype=torch.int32, device=scores.device)
    lows = torch.empty(len(blocks), dtype=torch.int32, device=scores.device)
    for i, (start, stop) in enumerate(blocks):  # the smallest magnitude but 0: (m - 1) & MAX maps 0 to the largest
        m = _block_out(scratch, bits, start, stop)
        torch.bitwise_and(bits[:, start:stop], _INT32_SIGN, out=m).sub_(1).bitwise_and_(_INT32_SIGN)
        lows[i] = m.amin()
    m_lo = int(lows.amin()) + 1 if m_hi else 1  # (m_hi > 0: some score is not 0)
    span = m_hi - m_lo + 1
    if span >= _COMPRESSED_SPAN:
        return None
    clamped = scratch  # the m_lo pass is done with it

    def write(b: torch.Tensor, s: torch.Tensor) -> None:
        torch.bitwise_right_shift(b, 31, out=s).bitwise_and_(_INT32_SIGN).bitwise_xor_(b)  # order-preserving ints
        s.sub_(torch.clamp(s, -m_lo, m_lo - 1, out=_block_out(clamped, b, 0, b.shape[1])))
        s.add_(span).bitwise_left_shift_(1)

    keys = _blockwise_keys(bits, labels, write)

    def decode(codes: torch.Tensor) -> torch.Tensor:
        signed = codes.long() - span
        mag = signed.abs()
        m = torch.where(mag == 0, 0, mag + (m_lo - 1))
        bits = torch.where(signed < 0, m - 2**31, m)  # a negative float's int32 pattern: magnitude and sign bit
        return bits.to(torch.int32).view(torch.float32).double()

    return keys.reshape(out_shape), decode


def _blockwise_keys(bits: torch.Tensor, labels: Optional[torch.Tensor], write) -> torch.Tensor:
    """Contiguous int32 keys of (R, N) score bits (any layout), written block by block while in cache.

    ``write(bits_block, out)`` fills ``out`` (laid out as the block) with the
    keys' ``code << 1``; the label bit is then ORed in. A block is written
    straight into the keys when they share its layout, else through scratch
    (a transposed (N, C) matrix: one transposing copy per block).
    """
    shape = bits.shape
    bits, labels = _as_rows(bits, labels)
    keys = torch.empty(bits.shape, dtype=torch.int32, device=bits.device)
    direct = bits.shape[0] == 1 or bits.is_contiguous()
    scratch = None if direct else torch.empty(min(_BLOCK, bits.numel()), dtype=torch.int32, device=bits.device)
    for start, stop in _column_blocks(bits.shape, bits.device):
        out = keys[:, start:stop] if scratch is None else _block_out(scratch, bits, start, stop)
        write(bits[:, start:stop], out)
        if labels is not None:
            out.bitwise_or_(_label_bits(labels[:, start:stop]))
        if scratch is not None:
            keys[:, start:stop] = out
    return keys.reshape(shape)


def _as_rows(scores: torch.Tensor, labels: Optional[torch.Tensor]):
    """Scores (and labels broadcast to them) as the (R, N) rows the blocks run along: a contiguous input of any
    shape as one row (its memory order, so that a row-major (N, C) matrix is read in long runs), a transposed
    (N, C) matrix's ``.T`` as it is."""
    if labels is not None and labels.shape != scores.shape:
        labels = labels.expand(scores.shape)
    if scores.ndim == 2 and not scores.is_contiguous():
        return scores, labels
    if labels is not None and not labels.is_contiguous():
        labels = labels.contiguous()
    return scores.reshape(1, -1), None if labels is None else labels.reshape(1, -1)


def _column_blocks(shape, device: torch.device) -> list:
    """``(start, stop)`` column ranges of (R, N) rows: about :data:`_BLOCK` entries each on a CPU (in cache),
    :data:`_DEVICE_BLOCK` elsewhere (few kernel launches; and every float64 partial sum of a block's positions,
    below ``width**2 / 2``, stays exact)."""
    rows, n = shape
    width = max(1, (_BLOCK if device.type == "cpu" else _DEVICE_BLOCK) // max(rows, 1))
    return [(start, min(start + width, n)) for start in range(0, n, width)]


def _block_out(scratch: torch.Tensor, like: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """A view of ``scratch`` shaped and laid out as ``like[:, start:stop]`` (a transposed ``like``: transposed),
    for an ``out=``; a new tensor where the scratch is too small."""
    rows, width = like.shape[0], stop - start
    size = rows * width
    if size > scratch.numel():
        return torch.empty((rows, width), dtype=scratch.dtype, device=scratch.device)
    if rows > 1 and like.stride(1) != 1:  # column-major, as the (N, C) scores' .T
        return scratch[:size].view(width, rows).T
    return scratch[:size].view(rows, width)


def _decode_f32_unsigned(codes: torch.Tensor) -> torch.Tensor:
    return codes.to(torch.int32).view(torch.float32).double()


def _decode_f64_unsigned(codes: torch.Tensor) -> torch.Tensor:
    return codes.view(torch.float64)


def _decode_f32_signed(codes: torch.Tensor) -> torch.Tensor:
    bits = (codes - 2**31).to(torch.int32)
    bits = bits ^ ((bits >> 31) & _INT32_SIGN)
    return bits.view(torch.float32).double()


def _label_bits(labels: torch.Tensor) -> torch.Tensor:
    """0/1 labels to OR into keys in place: bool and integer as they are (cast on the fly, no int copy)."""
    return labels.bool() if labels.is_floating_point() else labels


def count_true(mask: torch.Tensor) -> torch.Tensor:
    """How many entries of a bool tensor are True along its last dimension, as int64 (``mask.sum(-1)``).

    On a CPU ``sum`` of a bool tensor casts it to int64 first, 4 ns per
    entry. A contiguous mask whose rows hold a multiple of 8 entries is read
    as int64 words instead, 8 bools each: multiplying a word by
    ``0x0101010101010101`` gathers the sum of its 8 bytes (each 0 or 1, so at
    most 8: no carry between bytes) into its top byte, and the products are
    summed. Exact, and about 10x faster. The transposed view of an (N, C) mask
    is counted by columns in place (:func:`_column_counts`); other strides are copied first.

    Example:
        >>> count_true(torch.tensor([[True, False] * 8, [True] * 16]))
        tensor([ 8, 16])
    """
    n = mask.shape[-1] if mask.ndim else 1
    if mask.device.type != "cpu" or mask.ndim == 0 or mask.numel() < 1 << 16:
        return mask.sum(-1, dtype=torch.int64)
    if mask.ndim == 2 and not mask.is_contiguous() and mask.T.is_contiguous():  # the (N, C) labels' .T
        return _column_counts(mask.T)
    if n % 8:
        return mask.sum(-1, dtype=torch.int64)
    if not mask.is_contiguous() or mask.storage_offset() % 8:  # a slice off the 8-byte grid, or other strides
        mask = mask.clone(memory_format=torch.contiguous_format)  # 1 byte an entry
    words = mask.reshape(-1).view(torch.int64).reshape(mask.shape[:-1] + (n // 8,))  # (strides of size-1 dims: any)
    return words.mul(0x0101010101010101).bitwise_right_shift_(56).sum(-1)


def _column_counts(mask: torch.Tensor) -> torch.Tensor:
    """The True entries of each column of a contiguous (N, C) bool matrix, int64 (C,), without transposing it.

    Blocks of rows, in cache, as float32 (a float sum is several times faster
    than an integer one, and exact: a block's counts stay below 2**24).
    """
    rows, cols = mask.shape
    step = max(1, _BLOCK // max(cols, 1))
    buf = torch.empty(min(rows, step) * cols, dtype=torch.float32)
    total = torch.zeros(cols, dtype=torch.int64)
    for start in range(0, rows, step):
        block = mask[start : start + step]
        total += buf[: block.numel()].view(block.shape).copy_(block).sum(0).long()
    return total


# ----------------------------------------------------------------------------- the statistic


def twice_u(below: torch.Tensor, at_or_below: torch.Tensor, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Twice the Mann-Whitney U over the last dimension: ``sum(weight * (below + at_or_below))``.

    The one definition of the statistic. Each entry along the last dimension
    is a positive, or a group of ``weight`` positives sharing one score:
    ``below`` counts the negatives scored strictly lower, ``at_or_below``
    those lower or equal. An ordered pair thus counts 2 and a tied pair 1:
    twice U, ties as 1/2. Integer counts give an exact int64 count (float64
    weights, e.g. the bootstrap's resampling counts, hold integers exactly
    below 2**53). The sum is linear: a path with only its totals passes them
    with a last dimension of 1.

    Example:
        >>> import torch
        >>> # positives at 0.4 and 0.8 among negatives 0.1, 0.4, 0.6: 1 + 1/2 and 3 pairs won
        >>> twice_u(torch.tensor([1, 3]), torch.tensor([2, 3]))
        tensor(9)
    """
    total = below + at_or_below
    if weight is not None:
        total = weight * total
    return total.sum(-1)


def twice_u_of_counts(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Twice the Mann-Whitney U of rows of counts per distinct score, ascending (a histogram; sorted keys grouped).

    ``pos`` and ``neg`` (..., B) count the positives and negatives of each
    score: :func:`twice_u` with each group of positives weighted by its size.
    """
    at_or_below = neg.cumsum(-1)
    return twice_u(at_or_below - neg, at_or_below, pos)


def average_precision_of_counts(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """scikit-learn's average precision of rows of counts per distinct score, ascending (a histogram, weights).

    ``pos`` and ``neg`` (..., B): positives and negatives (or their weights)
    of each score. Each group is one threshold: ``sum_b pos_b * precision_b / P``
    with ``precision_b = tp_b / (tp_b + fp_b)`` over the scores at or above
    ``b``. Empty groups add nothing. float64 (...,); NaN without positives.

    Example:
        >>> average_precision_of_counts(torch.tensor([0, 1, 0, 1]), torch.tensor([1, 0, 1, 0]))
        tensor(0.8333, dtype=torch.float64)
    """
    pos, neg = pos.double(), neg.double()
    tp = pos.flip(-1).cumsum(-1).flip(-1)  # at or above each score
    above = tp + neg.flip(-1).cumsum(-1).flip(-1)
    precision = torch.where(above > 0, tp / torch.where(above > 0, above, 1.0), 0.0)
    return (pos * precision).sum(-1) / pos.sum(-1)


def auroc_value(two_u, n_pos, n_neg) -> torch.Tensor:
    """The AUROC from twice the Mann-Whitney U and the class sizes: ``two_u / (2 n_pos n_neg)`` in float64.

    The one expression every path's value goes through (the sizes multiplied
    in their own integer type, then divided in float64), so that the plain,
    DeLong and bootstrap values are the same bits.

    Example:
        >>> auroc_value(torch.tensor(9), 2, 3)
        tensor(0.7500, dtype=torch.float64)
    """
    pairs = 2 * torch.as_tensor(n_pos) * torch.as_tensor(n_neg)
    return torch.as_tensor(two_u).double() / pairs.double()


def sort_rows(keys: torch.Tensor, *, radix: bool = True) -> torch.Tensor:
    """Sort each row of integer keys ascending, values only (:func:`sort_and_count`).

    ``radix=False`` keeps long CPU rows off torch's multi-threaded radix sort:
    for callers that already run one sort per thread.
    """
    return sort_and_count(keys, radix=radix)[0]


class Sorted(NamedTuple):
    """Rows of packed keys sorted ascending, with their Mann-Whitney counts and, on request, the sort's permutation."""

    keys: torch.Tensor  # (R, N) sorted packed keys
    two_u: Optional[torch.Tensor]  # (R,) int64 twice the Mann-Whitney U, or None without ``n_pos``
    ids: Optional[torch.Tensor]  # (R, N) int64 the column each sorted key came from, or None
    ap: Optional[torch.Tensor] = None  # (R,) float64 average precision, with ``n_valid``


def sort_and_count(
    keys: torch.Tensor,
    n_pos: Optional[torch.Tensor] = None,
    *,
    with_ids: bool = False,
    n_valid: Optional[torch.Tensor] = None,
    radix: bool = True,
) -> Sorted:
    """Sort each row of packed keys and, given ``n_pos``, count its Mann-Whitney statistic.

    On CPU, rows of at least 32768 keys are sorted one at a time by torch's
    parallel radix sort (fbgemm's, where torch has it; linear, on torch's
    threads) where it is the faster sort on this CPU (:func:`_radix_sort_faster`); other rows, in chunks of
    about 2**20 keys, in place by numpy
    (which releases the GIL) on ``torch.get_num_threads()`` threads. Each
    chunk is counted by :func:`mann_whitney` right after its sort, while it
    is still in cache. On an accelerator, one batched ``torch.sort``, then the
    same count.

    ``with_ids`` also returns the permutation (the stratified bootstrap maps
    each resampled sample to its sorted position). The column index then rides in the
    low bits of an int64 key when key and index fit 63 bits together
    (float32 probabilities always do), so the sort stays values-only; wider
    keys fall back to ``torch.sort``'s indices.

    ``n_valid`` (R,) (the keys of each row that are not sentinels; needs
    ``n_pos``) also gives each row's average precision
    (:func:`average_precision_sorted`), from the same positions as the count.
    """
    rows, n = keys.shape
    shift = 0
    ids: Optional[torch.Tensor]
    if with_ids:
        shift = max(n - 1, 1).bit_length()
        width = 31 if keys.dtype == torch.int32 else int(keys.max()).bit_length() if keys.numel() else 1
        if width + shift > 63:  # keys too wide to share 64 bits with an index (e.g. float64 scores)
            keys, ids = torch.sort(keys, dim=1)
            keys = keys.long()
            two_u, ap = _counts(keys, n_pos, n_valid)
            return Sorted(keys, two_u, ids, ap)
    if keys.device.type != "cpu":
        if shift:
            keys = torch.add(torch.arange(n, device=keys.device), keys, alpha=1 << shift)  # key << shift | column
        keys = torch.sort(keys, dim=-1).values
        keys, ids = _split(keys, shift)
        two_u, ap = _counts(keys, n_pos, n_valid)
        return Sorted(keys, two_u, ids, ap)
    src = keys
    keys = torch.empty(src.shape, dtype=torch.int64) if shift else src.contiguous()
    arr = keys.numpy()
    two_u = None if n_pos is None else torch.empty(rows, dtype=torch.int64)
    ap = None if n_valid is None else torch.empty(rows, dtype=torch.float64)
    ids = torch.empty_like(keys) if shift else None
    per_chunk = max(1, (1 << 20) // max(n, 1))
    column = torch.arange(n) if shift else None
    # The tensors each branch of work() reads are set whenever that branch runs (mypy cannot see it).
    column_t, ids_t, two_u_t = cast(torch.Tensor, column), cast(torch.Tensor, ids), cast(torch.Tensor, two_u)
    n_pos_t, n_valid_t = cast(torch.Tensor, n_pos), cast(torch.Tensor, n_valid)

    radix = radix and n >= _RADIX_MIN and _radix_sort_faster(keys.dtype, min(rows, torch.get_num_threads()))
    scratch = (torch.empty(n, dtype=keys.dtype), torch.empty(n, dtype=torch.int64)) if radix else None

    def work(start: int) -> None:
        stop = min(start + per_chunk, rows)
        if shift:  # key << shift | column, written chunk by chunk, in cache
            torch.add(column_t, src[start:stop], alpha=1 << shift, out=keys[start:stop])
        if scratch is not None:  # torch's parallel radix sort of one row at a time (its own threads)
            for row in range(start, stop):
                torch.sort(keys[row], stable=True, out=scratch)
                keys[row].copy_(scratch[0])
        else:
            arr[start:stop].sort(axis=-1)
        if shift:  # split in place while the chunk is in cache: key back in the high bits, column out
            torch.bitwise_and(keys[start:stop], (1 << shift) - 1, out=ids_t[start:stop])
            keys[start:stop].bitwise_right_shift_(shift)
        if ap is not None:
            two_u_t[start:stop], ap[start:stop] = _counts(keys[start:stop], n_pos_t[start:stop], n_valid_t[start:stop])
        elif two_u is not None:
            two_u[start:stop] = mann_whitney(keys[start:stop], n_pos_t[start:stop])

    starts = range(0, rows, per_chunk)
    workers = 1 if radix else min(torch.get_num_threads(), os.cpu_count() or 1, len(starts))
    if workers <= 1:
        for start in starts:
            work(start)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, starts))
    return Sorted(keys, two_u, ids, ap)


#: rows at least this long are sorted by torch's radix sort where it has one (``at::internal::GRAIN_SIZE``)
_RADIX_MIN = 32768


@functools.cache
def _radix_sort_available() -> bool:
    """torch sorts a long 1-D integer tensor with fbgemm's OpenMP radix sort (``stable=True``, ascending).

    That sort is linear and runs on torch's threads: 2-4x faster than numpy's
    sort of the same keys where numpy has no AVX-512 sort, and close to it
    where it has. Without fbgemm or OpenMP, torch would fall back to a
    comparison sort slower than numpy's, so numpy sorts instead.
    """
    return "fbgemm" in torch.backends.quantized.supported_engines and torch.backends.openmp.is_available()


def _radix_sort_faster(dtype: torch.dtype, rows_at_once: int) -> bool:
    """Whether torch's radix sort (where it has one) beats numpy's sort here, for long rows of ``dtype`` keys.

    Which is faster depends on the CPU, not the data: numpy's vectorised
    sort (x86-simd-sort) is 3x faster than the radix sort on one AVX2
    machine we measured and 2-4x slower on another without it. So both
    are timed once per process and key type (:func:`_sort_times`, about
    0.1 s), and the radix sort (one row at a time, on torch's threads) is
    chosen when it beats numpy sorting ``rows_at_once`` rows side by side.
    The sorted keys are the same either way.
    """
    if not _radix_sort_available():
        return False
    radix_time, numpy_time = _sort_times(dtype)
    return radix_time < numpy_time / max(rows_at_once, 1)


@functools.cache
def _sort_times(dtype: torch.dtype) -> Tuple[float, float]:
    """Seconds for torch's radix sort and numpy's sort of 2**20 random non-negative ``dtype`` keys (best of 2)."""
    import time

    g = torch.Generator().manual_seed(0)  # its own: the caller's random stream is left alone
    keys = torch.randint(0, 2**30 if dtype == torch.int32 else 2**34, (1 << 20,), dtype=dtype, generator=g)
    out = (torch.empty_like(keys), torch.empty(keys.shape, dtype=torch.int64))
    best = [float("inf"), float("inf")]
    for _ in range(2):
        start = time.perf_counter()
        torch.sort(keys, stable=True, out=out)
        best[0] = min(best[0], time.perf_counter() - start)
        arr = keys.numpy().copy()
        start = time.perf_counter()
        arr.sort()
        best[1] = min(best[1], time.perf_counter() - start)
    return best[0], best[1]


def _counts(keys: torch.Tensor, n_pos: Optional[torch.Tensor], n_valid: Optional[torch.Tensor]):
    """``(two_u, ap)`` of sorted rows: what was asked for, else None."""
    if n_pos is None:
        return None, None
    if n_valid is None:
        return mann_whitney(keys, n_pos), None
    return mann_whitney(keys, n_pos, n_valid=n_valid)


def _split(keys: torch.Tensor, shift: int):
    if not shift:
        return keys, None
    return keys >> shift, keys & ((1 << shift) - 1)


def mann_whitney(sorted_keys: torch.Tensor, n_pos: torch.Tensor, *, n_valid: Optional[torch.Tensor] = None):
    """Twice the Mann-Whitney U (ties as 1/2) of each row of sorted packed keys, as int64.

    The sort path's placements, totalled over each row's positives: the j-th
    positive at position k has ``k - j`` negatives at or below it, so the row
    has ``sum(k) - P(P-1)/2`` of them; of those, the mixed tie groups hold
    ``sum pos_g * neg_g`` tied ones. :func:`twice_u` of the totals. Sentinel
    (invalid) keys sort last with label 0 and do not change it.

    Without ``n_valid``, where at least one key in :data:`_LINEAR_SHARE` is a
    positive, the positions are summed in linear passes over the keys
    (:func:`positive_sums`), not gathered. With ``n_valid`` (R,), returns
    ``(two_u, ap)``: the average precision of each row too
    (:func:`average_precision_sorted`), from the positions of every positive
    and the same mixed groups.
    """
    rows, n = sorted_keys.shape
    tied = None
    if n_valid is None and _LINEAR_SHARE * int(n_pos.sum()) >= rows * n:
        pos_sum, _, tied = positive_sums(sorted_keys)
        groups = None
    else:
        hit_rows, hit_cols = (sorted_keys & 1).nonzero(as_tuple=True)  # every positive, in sorted order
        pos_sum = torch.zeros(rows, dtype=torch.int64, device=sorted_keys.device).index_add_(0, hit_rows, hit_cols)
        gaps = None if n_valid is None else key_gaps(sorted_keys, hit_rows, hit_cols)
        groups = mixed_groups(sorted_keys, hit_rows, hit_cols, gaps)
    at_or_below = pos_sum - n_pos * (n_pos - 1) // 2
    below = at_or_below
    if groups is not None:
        tied = torch.zeros_like(at_or_below).index_add_(0, groups.row, groups.n_pos * groups.n_neg)
    if tied is not None:
        below = at_or_below - tied
    two_u = twice_u(below.unsqueeze(-1), at_or_below.unsqueeze(-1))
    if n_valid is None:
        return two_u
    return two_u, average_precision_sorted(hit_rows, hit_cols, gaps, groups, n_pos, n_valid)


#: :func:`mann_whitney` reads every key (:func:`positive_sums`) where at least 1 in this many is a positive, else
#: it gathers at the positives (their cost grows with their number, the linear passes' with the row's)
_LINEAR_SHARE = 8

#: :func:`pack` and :func:`positive_sums` work through about this many keys at a time on a CPU, in cache: a new
#: tensor the size of the scores costs page faults, several times the arithmetic on it (all at once elsewhere)
_BLOCK = 1 << 18
_DEVICE_BLOCK = 1 << 24


def positive_sums(sorted_keys: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row of sorted packed keys: the sum of its positives' positions, their number, and its tied pairs.

    ``(pos_sum, n_pos, tied)``, int64 (R,) each; ``tied`` is ``sum pos_g * neg_g``
    over the row's mixed tie groups. Linear passes over blocks of columns,
    in cache, with no index per positive and none per tie group:

    * the label bits, as float64, give each block's count and position sum
      (a sum and a dot product, exact: every partial sum is an integer below 2**53);
    * a mixed group begins wherever a key is one more than the key before it
      (its negative code ``2c``, then its positive ``2c + 1``: ``a ^ b == 1``).
      Its sizes are read off the same pass: ``neg_g >= j`` where the ``j - 1``
      keys before the group's last negative equal their neighbours, ``pos_g >= j``
      likewise after its first positive, so shifted views of one "equals the key
      before" mask count both, up to :data:`_TIE_WINDOW` each. Only a group wider
      than that is located and galloped (:func:`_run_edge`). The cost does not
      grow with the number of ties.
    """
    rows, n = sorted_keys.shape
    device = sorted_keys.device
    k = _TIE_WINDOW
    blocks = _column_blocks((rows, n), device)
    width = max((stop - start for start, stop in blocks), default=1)
    column = torch.arange(width, dtype=torch.float64, device=device)
    counts = torch.zeros(rows, dtype=torch.int64, device=device)
    sums = torch.zeros(rows, dtype=torch.int64, device=device)
    tied = torch.zeros(rows, dtype=torch.int64, device=device)
    # scratch, reused by every block (uint8 masks: a comparison into bool output is several times slower here)
    step_buf = torch.empty(rows * (width + 2 * k), dtype=sorted_keys.dtype, device=device)
    floats = torch.empty(rows * width, dtype=torch.float64, device=device)
    same_buf = torch.empty(rows * (width + 2 * k), dtype=torch.uint8, device=device)
    u8 = [torch.empty(rows * width, dtype=torch.uint8, device=device) for _ in range(4)]
    pair_sum = torch.empty(rows * width, dtype=torch.float64, device=device)
    zero, one = (torch.tensor(v, dtype=sorted_keys.dtype, device=device) for v in (0, 1))  # (2x faster than 0, 1)
    wide = []
    for start, stop in blocks:
        w = stop - start
        label = torch.bitwise_and(sorted_keys[:, start:stop], 1, out=step_buf[: rows * w].view(rows, w))
        b = floats[: rows * w].view(rows, w).copy_(label)
        count = b.sum(-1).long()  # float64 sums of integers: exact, and several times faster than integer ones
        counts += count
        sums += torch.mv(b, column[:w]).long() + count * start
        first = max(start, 1)
        w = stop - first
        if w <= 0:
            continue
        # step[:, j]: the key at column lo + j xor the key before it (0 marks a tie, 1 a mixed group's boundary);
        # same[:, j]: 1 where that key equals the key before it, 0 outside the row's columns 1 .. n - 1
        lo, hi = first - k, stop + k
        v0, v1 = max(lo, 1), min(hi, n)
        step = step_buf[: rows * (v1 - v0)].view(rows, v1 - v0)
        torch.bitwise_xor(sorted_keys[:, v0 - 1 : v1 - 1], sorted_keys[:, v0:v1], out=step)
        same = same_buf[: rows * (hi - lo)].view(rows, hi - lo)
        same[:, : v0 - lo].zero_()
        same[:, v1 - lo :].zero_()
        torch.eq(step, zero, out=same[:, v0 - lo : v1 - lo])

        mid = first - lo  # same[:, mid + d : mid + d + w]: at each column of [first, stop) plus d
        bufs = [x[: rows * w].view(rows, w) for x in u8]
        edge = torch.eq(step[:, first - v0 : stop - v0], one, out=bufs[0])  # a mixed group's first positive
        sizes = []
        for side, run in ((-1, bufs[1]), (1, bufs[2])):  # the negatives' run before, the positives' after
            run.copy_(same[:, mid + side : mid + side + w])  # the group holds at least 2
            size = run + 1
            for j in range(2, k + 1):
                size += run.bitwise_and_(same[:, mid + side * j : mid + side * j + w])
            sizes.append(size)  # min(size, k + 1); run now marks groups with more than k on this side
        longer = torch.bitwise_or(bufs[1], bufs[2], out=bufs[3]).bitwise_and_(edge)
        counted = torch.bitwise_xor(edge, longer, out=bufs[1])  # the wider ones are galloped below
        pairs = sizes[0].mul_(sizes[1]).mul_(counted)
        tied += pair_sum[: rows * w].view(rows, w).copy_(pairs).sum(-1).long()  # float64: exact
        at = _flat_nonzero(longer)
        if at.numel():
            r = torch.div(at, w, rounding_mode="floor")
            wide.append((r, r * n + at % w + first))
    if wide:  # groups wider than the window on a side: located and galloped
        row, at = (torch.cat(parts) for parts in zip(*wide))
        flat = sorted_keys.view(-1)
        key = flat[at]
        neg_g = at - _run_edge(flat, at - 1, key - 1, row * n, forward=False)
        pos_g = _run_edge(flat, at, key, row * n + n, forward=True) - at
        tied.index_add_(0, row, pos_g * neg_g)
    return sums, counts, tied


#: :func:`positive_sums` counts a mixed tie group's negatives and positives up to this many each, in one pass
_TIE_WINDOW = 3


def _flat_nonzero(mask: torch.Tensor) -> torch.Tensor:
    """The flat positions of the nonzero entries of a contiguous 0/1 uint8 tensor, int64.

    On a CPU numpy's (which skips zero bytes 8 at a time), several times faster than ``torch.nonzero``.
    """
    if mask.device.type == "cpu":
        import numpy as np

        return torch.from_numpy(np.flatnonzero(mask.view(torch.bool).numpy()))
    return mask.view(-1).nonzero().squeeze(1)


def average_precision_sorted(hit_rows, hit_cols, gaps, groups: Optional[MixedGroups], n_pos, n_valid):
    """scikit-learn's average precision of each row of sorted packed keys, from the positions of its positives.

    Step-wise, one threshold per distinct score: ``AP = (1/P) sum_positives
    precision(threshold group of the positive)``, i.e. ``sum_n (R_n - R_{n-1})
    P_n``. A group of tied samples starts at position ``s`` (ascending;
    its negatives precede its positives) and its first positive is the
    ``j``-th (0-based): above its threshold are ``n_valid - s`` samples, of
    which ``P - j`` positives, and every positive of the group has that
    precision. Only the positives are read (their sorted positions
    ``hit_rows``, ``hit_cols``, row by row): one starts a group unless its
    key equals the key before it (``gaps``, :func:`key_gaps`), and the start
    of a mixed group is its first negative (``groups``). float64; NaN for a
    row without positives.

    Example:
        >>> import torch
        >>> keys = pack(torch.tensor([[0.1, 0.4, 0.35, 0.8]]), torch.tensor([[0, 0, 1, 1]])).keys
        >>> s = sort_and_count(keys, torch.tensor([2]), n_valid=torch.tensor([4]))
        >>> round(float(s.ap), 6)  # (1/2) * (1/1 + 2/3)
        0.833333
    """
    rows = n_pos.shape[0]
    ap = torch.zeros(rows, dtype=torch.float64, device=n_pos.device)
    m = hit_rows.numel()
    if m:
        lead = (gaps != 0).nonzero(as_tuple=True)[0]  # each group's first positive (every row's first is one)
        size = torch.diff(lead, append=lead.new_tensor([m]))  # its positives: up to the next group's first
        row = hit_rows.index_select(0, lead)
        start = hit_cols.index_select(0, lead)
        if groups is not None:  # a mixed group starts at its first negative
            start = start.index_add(0, torch.searchsorted(lead, groups.hit), -groups.n_neg)
        row_start = torch.cumsum(n_pos, 0) - n_pos  # index of each row's first positive among them all
        above_pos = (n_pos + row_start).index_select(0, row) - lead  # P - j
        above = n_valid.index_select(0, row) - start  # n_valid - s
        share = size.double().mul_(above_pos).div_(above)
        if rows == 1:
            ap += share.sum()
        else:
            ap.index_add_(0, row, share)
    return ap / n_pos.double()


class MixedGroups(NamedTuple):
    """The tie groups of sorted rows that hold both labels (the only ties that change a count)."""

    row: torch.Tensor  # the row of each group
    at: torch.Tensor  # flat position of the group's first positive (its negatives end right before it)
    n_pos: torch.Tensor  # positives in the group
    n_neg: torch.Tensor  # negatives in the group
    hit: torch.Tensor  # index of the group's first positive among the positions passed to :func:`mixed_groups`


def key_gaps(sorted_keys: torch.Tensor, hit_rows: torch.Tensor, hit_cols: torch.Tensor) -> torch.Tensor:
    """For each positive (flat positions ``hit_rows * n + hit_cols``): its key minus the key before it in its row.

    1 marks the first positive of a mixed tie group, 0 a positive tied with
    the positive before it; a row's first key gets 2 (no key before it).
    """
    flat = sorted_keys.view(-1)
    if sorted_keys.shape[0] == 1:  # one row (binary): the columns are the flat positions, and only the first can be 0
        gap = flat.index_select(0, hit_cols).sub_(flat.index_select(0, (hit_cols - 1).clamp_(min=0)))
        gap[:1].masked_fill_(hit_cols[:1] == 0, 2)
        return gap
    at = hit_rows * sorted_keys.shape[1] + hit_cols
    gap = flat[at] - flat[at - 1]  # (at - 1 = -1 reads the last key: overwritten below)
    return gap.masked_fill_(hit_cols == 0, 2)


def mixed_groups(
    sorted_keys: torch.Tensor, hit_rows: torch.Tensor, hit_cols: torch.Tensor, gaps: Optional[torch.Tensor] = None
) -> Optional[MixedGroups]:
    """The mixed tie groups of sorted packed keys, from the positions of every positive; None if there are none.

    A mixed group is a run of negative keys ``2c`` followed by positive keys
    ``2c + 1``: its first positive directly follows the negative key one
    below it, looked for only at the positives. Each group's extent is then
    galloped from that boundary (:func:`_run_edge`, one side each): a tie
    group of length ``g`` costs about ``2 log2 g`` gathers, not a binary
    search over the whole row. ``gaps``: :func:`key_gaps`, when the caller has them.
    """
    n = sorted_keys.shape[1]
    flat = sorted_keys.view(-1)
    mixed = (key_gaps(sorted_keys, hit_rows, hit_cols) if gaps is None else gaps) == 1
    if not bool(mixed.any()):
        return None
    hit = mixed.nonzero(as_tuple=True)[0]
    row = hit_rows[hit]
    at = row * n + hit_cols[hit]
    start = row * n
    pos_key = flat[at]
    neg_first = _run_edge(flat, at - 1, pos_key - 1, start, forward=False)  # the negatives' run ends at at - 1
    pos_end = _run_edge(flat, at, pos_key, start + n, forward=True)
    return MixedGroups(row, at, pos_end - at, at - neg_first, hit)


def _run_edge(flat: torch.Tensor, at: torch.Tensor, key: torch.Tensor, bound: torch.Tensor, *, forward: bool):
    """The edge of the run of equal ``key`` through each sorted position ``at`` (``flat[at] == key``), within its row.

    ``forward``: one past the run's last position, at most ``bound`` (the
    row's end); else its first position, at least ``bound`` (the row's start).
    Galloping: every round probes each unfinished run twice as far on (1, 2,
    4, ... past the farthest position known inside it), so most runs (tie
    groups of a few keys) end after a round or two; a run whose probe fell
    outside it is then binary-searched within that last step only.
    """
    step = 1 if forward else -1
    last = flat.numel() - 1
    edge = at + 1 if forward else at.clone()  # a run of one, until a probe finds more
    todo = torch.arange(at.numel(), device=at.device)
    far, key_t, bound_t = at, key, bound  # the unfinished runs' farthest known position, key and bound
    d = 1
    while todo.numel():
        probe = far + step * d
        inside = probe < bound_t if forward else probe >= bound_t
        same = inside & (flat[probe.clamp(0, last)] == key_t)
        if d > 1:  # the run ends between far and probe: binary search that step only
            out = (~same).nonzero(as_tuple=True)[0]
            if out.numel():
                f, k, b, p = far[out], key_t[out], bound_t[out], probe[out]
                if forward:
                    found = _bisect(flat, f + 1, torch.minimum(p, b), k, right=True, span=d)
                else:
                    found = _bisect(flat, torch.maximum(p + 1, b), f, k, right=False, span=d)
                edge[todo[out]] = found
        keep = same.nonzero(as_tuple=True)[0]
        todo, far, key_t, bound_t = todo[keep], probe[keep], key_t[keep], bound_t[keep]
        edge[todo] = far + 1 if forward else far
        d *= 2
    return edge


def _bisect(flat: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, values: torch.Tensor, *, right: bool, span: int):
    """Vectorised ``searchsorted`` of each value in its own sorted slice ``flat[lo:hi]``, none longer than ``span``."""
    lo, hi = lo.clone(), hi.clone()
    last = flat.numel() - 1
    for _ in range(int(span).bit_length() + 1):
        mid = (lo + hi) // 2
        v = flat[mid.clamp(max=last)]
        go = ((v <= values) if right else (v < values)) & (lo < hi)
        lo = torch.where(go, mid + 1, lo)
        hi = torch.where(go, hi, mid)
    return lo


def below_and_tied(codes: torch.Tensor, ref: torch.Tensor, *, bits: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """For each code, how many of ``ref`` are smaller and how many equal: ``searchsorted`` left and right, exactly.

    ``codes`` (N,) and ``ref`` (M,) are non-negative integer codes (see
    :func:`pack`), ``ref`` sorted ascending. Returns two (N,) integer tensors
    (int32 when ``M < 2**30``, to halve the memory traffic; else int64).

    A binary search of N values among M costs about 85 ns each on a CPU
    (cache misses, mispredicted branches), more than sorting them. Instead
    the distinct values of ``ref`` go into ``2**bits`` buckets by their code's
    leading bits (a bincount and a cumsum): one gather gives every code its
    bucket's first distinct value and their number, and only the codes whose
    bucket holds any are compared with those values: one vectorised pass per
    value of the fullest bucket, or, when that is deeper than 16, a binary
    search within each code's bucket. The buckets span ``ref``'s own range: a code
    outside it needs no comparison. Ties in ``ref`` cost nothing (distinct
    values are bucketed, each with its run length).
    """
    device = codes.device
    n, m = codes.shape[0], ref.shape[0]
    if m == 0 or n == 0:
        zero = torch.zeros(n, dtype=torch.int64, device=device)
        return zero, zero.clone()
    new_run = torch.ones(m, dtype=torch.bool, device=device)
    new_run[1:] = ref[1:] != ref[:-1]
    first = new_run.nonzero().squeeze(1)  # the first of each run of equal values
    values = ref[first]  # (U,) distinct, ascending
    below_run = torch.cat([first, first.new_tensor([m])])  # (U + 1,) ref values below each distinct value (and all)
    if m < 2**30:  # (and twice it too: callers add the two results)
        below_run = below_run.int()  # half the memory traffic of the (N,) results
    lo, hi = int(values[0]), int(values[-1])
    shift = max(0, (hi - lo).bit_length() - min(bits, max(4, (8 * values.numel()).bit_length())))
    n_buckets = ((hi - lo) >> shift) + 1
    # bucket b >= 1 holds the codes lo + (b - 1) * 2**shift onwards; bucket 0 every code below lo: empty, and it
    # points at the first distinct value, so those codes need no test (a code above hi lands in the last bucket,
    # and its comparisons find every value smaller). Codes minus lo, clamped to [-1, hi - lo]: nothing overflows.
    per_bucket = torch.zeros(n_buckets + 1, dtype=torch.int64, device=device)
    per_bucket[1:] = torch.bincount((values - lo) >> shift, minlength=n_buckets)
    start = torch.cumsum(per_bucket, 0) - per_bucket  # index in ``values`` of each bucket's first distinct value
    bucket = ((codes - lo).clamp_(-1, hi - lo) >> shift) + 1
    if values.numel() < 2**31 and sys.byteorder == "little":  # one gather gives both, read back as int32 halves
        pair = ((start << 32) | per_bucket).index_select(0, bucket).view(torch.int32).view(-1, 2)
        at, count = pair[:, 1], pair[:, 0]
    else:
        at, count = start.index_select(0, bucket), per_bucket.index_select(0, bucket)
    busy = count.nonzero().squeeze(1)
    tied = torch.zeros(n, dtype=below_run.dtype, device=device)
    if busy.numel():
        c, base, k = codes.index_select(0, busy), at.index_select(0, busy), count.index_select(0, busy)
        deepest = int(k.max())
        if deepest <= 16:  # a pass per distinct value of the fullest bucket
            smaller = torch.zeros_like(base)
            for j in range(deepest):
                v = values.index_select(0, (base + j).clamp_(max=values.numel() - 1))
                smaller += (v < c) & (k > j)
            pos = base + smaller
        else:  # deep buckets (values packed into a narrow range): a binary search inside the bucket
            pos = _bisect(values, base, base + k, c, right=False, span=deepest)
        at = at.index_copy(0, busy, pos.to(at.dtype))
        equal = (pos < base + k) & (values.index_select(0, pos.clamp(max=values.numel() - 1)) == c)
        run = below_run.index_select(0, (pos + 1).clamp_(max=values.numel())) - below_run.index_select(0, pos)
        tied.index_copy_(0, busy, torch.where(equal, run, 0).to(tied.dtype))
    return below_run.index_select(0, at), tied


def curve_from_counts(pos: torch.Tensor, neg: torch.Tensor, values: torch.Tensor, *, drop_intermediate: bool = True):
    """The one ROC curve builder: ``(fps, tps, thresholds)`` from counts per distinct score, scikit-learn's contract.

    ``pos`` and ``neg`` (B,) count the positives and negatives scoring each of
    the ``values`` (B,), ascending (empty scores are left out). Returns float64
    false and true positive counts and thresholds: thresholds decreasing, the
    first one ``inf`` with no sample above it, element ``i`` counting the
    samples scoring ``>= thresholds[i]``. ``drop_intermediate`` drops the
    points collinear with their neighbours, as ``sklearn.metrics.roc_curve``.

    Example:
        >>> import torch
        >>> fps, tps, thr = curve_from_counts(torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]),
        ...                                   torch.tensor([0.1, 0.4, 0.8], dtype=torch.float64))
        >>> fps.tolist(), tps.tolist(), thr.tolist()
        ([0.0, 0.0, 1.0, 2.0], [0.0, 1.0, 2.0, 2.0], [inf, 0.8, 0.4, 0.1])
    """
    occupied = (pos + neg) > 0
    if not bool(occupied.all()):  # a histogram's empty buckets (sorted keys have none)
        keep = occupied.nonzero(as_tuple=True)[0]
        pos, neg, values = pos[keep], neg[keep], values[keep]
    device = values.device
    n_points = values.numel() + 1  # one per score, after the leading (0, 0) of threshold inf
    fps, tps, thresholds = (torch.empty(n_points, dtype=torch.float64, device=device) for _ in range(3))
    fps[0] = tps[0] = 0.0
    thresholds[0] = float("inf")
    torch.cumsum(neg.flip(0), 0, dtype=torch.float64, out=fps[1:])  # descending scores; integers, exact below 2**53
    torch.cumsum(pos.flip(0), 0, dtype=torch.float64, out=tps[1:])
    thresholds[1:] = values.flip(0)
    if drop_intermediate and n_points > 3:  # keep the first and last point after (0, 0), drop collinear ones between
        keep = torch.ones(n_points, dtype=torch.bool, device=device)
        keep[2:-1] = (torch.diff(fps[1:], 2) != 0) | (torch.diff(tps[1:], 2) != 0)
        at = keep.nonzero(as_tuple=True)[0]
        fps, tps, thresholds = fps[at], tps[at], thresholds[at]
    return fps, tps, thresholds


def pr_from_counts(pos: torch.Tensor, neg: torch.Tensor, values: torch.Tensor, *, drop_intermediate: bool = False):
    """The precision-recall curve from counts per distinct score, ascending: scikit-learn's ``precision_recall_curve``.

    Returns float64 ``(precision, recall, thresholds)``: thresholds
    ascending, one per occupied score; ``precision[i]`` and ``recall[i]``
    for the samples scoring ``>= thresholds[i]``, then the final point
    (precision 1, recall 0). Precision is 0 where nothing scores at or
    above a threshold (zero weights). ``drop_intermediate`` keeps only the
    first and last point of each run of equal recall. Recall is NaN for a
    class without positives (scikit-learn: 1, with a warning; the caller warns).

    Example:
        >>> p, r, t = pr_from_counts(torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]),
        ...                          torch.tensor([0.1, 0.4, 0.8], dtype=torch.float64))
        >>> p.tolist(), r.tolist(), t.tolist()
        ([0.5, 0.6666666666666666, 1.0, 1.0], [1.0, 1.0, 0.5, 0.0], [0.1, 0.4, 0.8])
    """
    fps, tps, thresholds = curve_from_counts(pos, neg, values, drop_intermediate=False)
    fps, tps, thresholds = fps[1:], tps[1:], thresholds[1:]  # descending; without the leading (inf) point
    if drop_intermediate and tps.numel() > 2:
        keep = torch.ones(tps.numel(), dtype=torch.bool, device=tps.device)
        keep[1:-1] = (torch.diff(tps[:-1]) != 0) | (torch.diff(tps[1:]) != 0)
        at = keep.nonzero(as_tuple=True)[0]
        fps, tps, thresholds = fps[at], tps[at], thresholds[at]
    seen = tps + fps
    precision = torch.where(seen != 0, tps / torch.where(seen != 0, seen, 1.0), 0.0)
    recall = tps / tps[-1] if tps.numel() else tps
    one, zero = precision.new_ones(1), precision.new_zeros(1)
    return torch.cat([precision.flip(0), one]), torch.cat([recall.flip(0), zero]), thresholds.flip(0)


def group_counts(sorted_row: torch.Tensor, n_valid: int, weight: Optional[torch.Tensor] = None):
    """Positives and negatives per distinct score of one sorted row of packed keys, and the codes of those scores.

    ``(pos, neg, codes)``, ascending, of the first ``n_valid`` keys: int64
    counts, or float64 sums of ``weight`` (the sample weight of each sorted
    key, in sorted order) when given.
    """
    row = sorted_row[:n_valid]
    codes = row >> 1
    last = torch.ones(n_valid, dtype=torch.bool, device=row.device)
    last[:-1] = codes[1:] != codes[:-1]  # the last key of each group of equal scores
    ends = last.nonzero(as_tuple=True)[0]
    label = (row & 1).bool()
    if weight is None:
        pos_le = label.long().cumsum(0)[ends]  # positives up to each group's end
        all_le = ends + 1
    else:
        w = weight[:n_valid].double()
        pos_le = torch.where(label, w, 0.0).cumsum(0)[ends]
        all_le = w.cumsum(0)[ends]
    pos, seen = pos_le.clone(), all_le.clone()
    pos[1:] -= pos_le[:-1]
    seen[1:] -= all_le[:-1]
    return pos, seen - pos, codes[ends]


def curve_from_sorted(
    sorted_row: torch.Tensor,
    n_valid: int,
    decode: Callable[[torch.Tensor], torch.Tensor],
    *,
    drop_intermediate: bool = True,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`curve_from_counts` of one sorted row of packed keys: its first ``n_valid`` grouped by score.

    Every run of equal codes is one distinct score, with its positives and
    negatives counted from a cumulative sum of the label bits; ``decode``
    gives the scores back. With ``n_valid == 0`` the one point (0, 0) (the
    caller's rates are then 0/0 = NaN).
    """
    pos, neg, codes = group_counts(sorted_row, n_valid)
    return curve_from_counts(pos, neg, decode(codes), drop_intermediate=drop_intermediate)


def as_rates(curve, *, sigmoid: bool = False) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(fpr, tpr, thresholds)`` of a curve of counts; ``sigmoid`` maps the thresholds to probabilities.

    Rates are NaN for a class without positives (negatives). ``sigmoid(inf)``
    is 1: the leading threshold stays ``inf``, as scikit-learn's.
    """
    fps, tps, thresholds = curve
    if sigmoid:
        thresholds = torch.sigmoid(thresholds)
        thresholds[0] = float("inf")
    return fps / fps[-1], tps / tps[-1], thresholds


def partial_auc(fpr: torch.Tensor, tpr: torch.Tensor, max_fpr: float) -> float:
    """McClish-standardised partial AUC over FPR in [0, max_fpr] (scikit-learn's definition), from a curve's rates.

    At ``max_fpr == 1`` the standardisation is the identity: the area under
    the whole curve (callers count the full AUROC exactly instead).
    """
    if max_fpr >= 1:
        return float(torch.trapezoid(tpr, fpr))
    stop = int(torch.searchsorted(fpr, torch.tensor([max_fpr], dtype=fpr.dtype, device=fpr.device), side="right"))
    x0, x1 = fpr[stop - 1], fpr[stop]
    y0, y1 = tpr[stop - 1], tpr[stop]
    y_at = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0)
    xs = torch.cat([fpr[:stop], fpr.new_tensor([max_fpr])])
    ys = torch.cat([tpr[:stop], y_at.reshape(1)])
    area = float(torch.trapezoid(ys, xs))
    min_area = 0.5 * max_fpr**2
    return 0.5 * (1 + (area - min_area) / (max_fpr - min_area))


class Ranked(NamedTuple):
    """Rows of scores ranked against their labels: the sorted keys and the exact Mann-Whitney counts."""

    keys: torch.Tensor  # (R, N) sorted packed keys of the ranked rows
    decode: Callable[[torch.Tensor], torch.Tensor]  # codes -> float64 scores (Keys.decode)
    n_pos: torch.Tensor  # (R,) int64
    n_valid: torch.Tensor  # (R,) int64
    two_u: torch.Tensor  # (R,) int64
    ids: Optional[torch.Tensor] = None  # (R, N) the column of each sorted key, with ``with_ids``
    ap: Optional[torch.Tensor] = None  # (R,) float64 average precision, with ``with_ap``


def rank(
    scores: torch.Tensor, *, labels=None, label_index=None, valid=None, with_ids: bool = False, with_ap: bool = False
) -> Ranked:
    """Rank rows of scores (R, N) against labels given as (R, N) 0/1, or as the positive row of each column.

    :func:`pack` then :func:`sort_and_count`; ``with_ids`` also keeps the
    sort's permutation, ``with_ap`` each row's average precision (the same
    sort). The arguments are those :func:`._format.row_problem` builds.
    """
    packed = pack(scores, labels, label_index=label_index, valid=valid)
    keys = packed.keys
    n_rows, n = keys.shape
    if labels is not None:
        lab = labels if valid is None else labels & valid
        n_pos = count_true(lab)
    else:
        n_pos = torch.bincount(label_index[label_index >= 0], minlength=n_rows)
    n_valid = torch.full_like(n_pos, n) if valid is None else count_true(valid)
    keys, two_u, ids, ap = sort_and_count(keys, n_pos, with_ids=with_ids, n_valid=n_valid if with_ap else None)
    return Ranked(keys, packed.decode, n_pos, n_valid, cast(torch.Tensor, two_u), ids, ap)  # n_pos given: counted
