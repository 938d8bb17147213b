"""The sort at the heart of every number this library reports.

AUROC is the Mann-Whitney statistic: over every (positive, negative) pair, 1 if
the positive scores higher, 0.5 on a tie, 0 otherwise, divided by
``n_pos * n_neg``. Peers argsort each column and gather the labels. We need
less than that: each score is turned into an order-preserving non-negative
integer *code*, the label is packed into the lowest bit of the key
``code << 1 | label``, and the keys are sorted by value only (no index array).

In a sorted row, negatives precede positives within a tie group, so for the
j-th positive (0-based) at position k, ``k - j`` negatives score lower *or
equal*. Summing, ``sum(k) - P(P-1)/2`` counts pairs with ties as 1; the exact
statistic subtracts half of ``T = sum over tie groups of pos_g * neg_g``. A
tie group holding both labels shows up as a negative key immediately followed
by the positive key one above it, which we look for only where it can occur.
Everything is counted in int64: exact far past 2**24 samples.

The same sorted keys give the ROC curve (``curve_from_sorted``), so the curve,
the AUROC and the partial AUROC all come from one ranking.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple, Optional

import numpy as np
import torch

_INT32_SIGN = 0x7FFFFFFF
# codes of float32 scores in [0, 1] fit 30 bits, so `code << 1 | label` fits int32
_F32_ONE_BITS = 0x3F800000


class Codes(NamedTuple):
    """Order-preserving non-negative integer codes of scores, and their inverse."""

    codes: torch.Tensor
    decode: Callable[[torch.Tensor], torch.Tensor]  # codes -> float64 scores


def encode(scores: torch.Tensor) -> Codes:
    """Map floating scores to non-negative integer codes with the same order and ties.

    float32 scores in [0, 1] (probabilities) keep their raw bits as int32 codes;
    other float32 scores use the sign-flip trick into 32 bits (held in int64);
    float64 scores in [0, 1] keep their raw bits (62 bits); anything else is
    replaced by its dense rank, which is exact for any dtype.
    ``-0.0`` is folded onto ``+0.0`` first so that they tie, as they compare equal.
    """
    if scores.dtype in (torch.float16, torch.bfloat16):
        scores = scores.float()
    scores = scores + 0.0  # -0.0 -> +0.0; also a private copy we may overwrite
    lo, hi = (v.item() for v in torch.aminmax(scores))
    if scores.dtype == torch.float32:
        bits = scores.view(torch.int32)
        if lo >= 0 and hi <= 1:
            return Codes(bits, lambda c: c.to(torch.int32).view(torch.float32).double())
        codes = (bits ^ ((bits >> 31) & _INT32_SIGN)).long() + 2**31
        return Codes(codes, _decode_f32_signed)
    if scores.dtype == torch.float64 and lo >= 0 and hi <= 1:
        return Codes(scores.view(torch.int64), lambda c: c.view(torch.float64))
    uniq, inverse = torch.unique(scores, sorted=True, return_inverse=True)
    uniq = uniq.double()
    return Codes(inverse.reshape(scores.shape), lambda c: uniq[c])


def _decode_f32_signed(codes: torch.Tensor) -> torch.Tensor:
    bits = (codes - 2**31).to(torch.int32)
    bits = bits ^ ((bits >> 31) & _INT32_SIGN)
    return bits.view(torch.float32).double()


def pack(codes: torch.Tensor, labels: Optional[torch.Tensor] = None, *, label_index: Optional[torch.Tensor] = None,
         valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Build ``code << 1 | label`` keys for rows of codes (R, N).

    Labels come either as a (R, N) 0/1 tensor or, for multiclass one-vs-rest,
    as ``label_index`` (N,): the row whose label bit is set in each column, or
    -1 for none (a scatter of N bits instead of a pass over R*N). ``valid`` (R, N) marks
    entries to keep; the rest get a sentinel key that sorts after every real one.
    """
    keys = codes << 1  # a fresh tensor: safe to modify in place
    if labels is not None:
        keys |= labels.to(keys.dtype)
    if label_index is not None:
        cols = torch.arange(keys.shape[1], device=keys.device)
        has_row = label_index >= 0  # -1: positive in none of the rows
        keys[label_index[has_row], cols[has_row]] += 1
    if valid is not None:
        keys.masked_fill_(~valid, torch.iinfo(keys.dtype).max - 1)
    return keys


def sort_rows(keys: torch.Tensor) -> torch.Tensor:
    """Sort each row of integer keys ascending, values only.

    On CPU, numpy sorts in place without building an index array (torch.sort
    always returns indices); rows are spread over ``torch.get_num_threads()``
    threads (numpy releases the GIL while sorting). On an accelerator,
    ``torch.sort`` (a device radix sort).
    """
    if keys.device.type != "cpu":
        return torch.sort(keys, dim=-1).values
    keys = keys.contiguous()
    arr = keys.numpy()
    rows = arr.reshape(-1, arr.shape[-1])
    workers = min(torch.get_num_threads(), os.cpu_count() or 1, rows.shape[0])
    if workers <= 1:
        rows.sort(axis=-1)
    else:
        chunks = np.array_split(np.arange(rows.shape[0]), workers)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda idx: rows[idx[0]: idx[-1] + 1].sort(axis=-1), [c for c in chunks if len(c)]))
    return keys


def mann_whitney(sorted_keys: torch.Tensor, n_pos: torch.Tensor) -> torch.Tensor:
    """Twice the Mann-Whitney U (ties as 1/2) of each row of sorted packed keys, as int64.

    Sentinel (invalid) keys sort last with label 0 and do not change it.
    """
    rows, n = sorted_keys.shape
    device = sorted_keys.device
    labels = sorted_keys & 1
    if n < 2**26:  # float64 dot products are exact while the sums stay below 2**53
        pos_sum = torch.mv(labels.double(), torch.arange(n, dtype=torch.float64, device=device)).round().long()
    else:
        pos_sum = (labels.long() * torch.arange(n, device=device)).sum(1)
    two_u = 2 * pos_sum - n_pos * (n_pos - 1)
    # Mixed tie groups: a negative key directly followed by the positive key one above it.
    start = ((sorted_keys[:, 1:] - sorted_keys[:, :-1]) == 1) & (labels[:, 1:] == 1)
    if bool(start.any()):
        two_u = two_u - _tie_pairs(sorted_keys, start)
    return two_u


def _tie_pairs(sorted_keys: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """Per row, the sum over tie groups of n_pos_in_group * n_neg_in_group."""
    out = torch.zeros(sorted_keys.shape[0], dtype=torch.int64, device=sorted_keys.device)
    hit_rows, hit_cols = start.nonzero(as_tuple=True)
    hit_cols = hit_cols + 1  # position of the group's first positive
    for r in hit_rows.unique().tolist():
        row = sorted_keys[r]
        k = hit_cols[hit_rows == r]
        pos_key = row[k]
        neg_first = torch.searchsorted(row, pos_key - 1, side="left")
        pos_end = torch.searchsorted(row, pos_key, side="right")
        out[r] = ((k - neg_first) * (pos_end - k)).sum()
    return out


def curve_from_sorted(
    sorted_row: torch.Tensor,
    n_valid: int,
    decode: Callable[[torch.Tensor], torch.Tensor],
    *,
    drop_intermediate: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """False/true positive counts and thresholds, with scikit-learn's contract.

    Returns ``(fps, tps, thresholds)`` as float64, thresholds decreasing, the
    first one ``inf`` with no sample above it. Element i counts the samples
    scoring ``>= thresholds[i]``.
    """
    row = sorted_row[:n_valid]
    labels = (row & 1).long()
    codes = row >> 1
    device = row.device
    last = torch.ones(n_valid, dtype=torch.bool, device=device)
    last[:-1] = codes[1:] != codes[:-1]  # last element of each group of equal scores
    ends = last.nonzero(as_tuple=True)[0]
    pos_le = labels.cumsum(0)[ends]
    neg_le = ends + 1 - pos_le
    n_pos, n_neg = pos_le[-1], neg_le[-1]
    zero = torch.zeros(1, dtype=torch.int64, device=device)
    # counts scoring >= each group's score, groups in decreasing score order
    tps = (n_pos - torch.cat([zero, pos_le[:-1]])).flip(0).double()
    fps = (n_neg - torch.cat([zero, neg_le[:-1]])).flip(0).double()
    thresholds = decode(codes[ends]).flip(0)
    if drop_intermediate and fps.numel() > 2:
        keep = torch.ones(fps.numel(), dtype=torch.bool, device=device)
        keep[1:-1] = (torch.diff(fps, 2) != 0) | (torch.diff(tps, 2) != 0)
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    zero_f = torch.zeros(1, dtype=torch.float64, device=device)
    inf = torch.full((1,), float("inf"), dtype=torch.float64, device=device)
    return torch.cat([zero_f, fps]), torch.cat([zero_f, tps]), torch.cat([inf, thresholds])


def partial_auc(fpr: torch.Tensor, tpr: torch.Tensor, max_fpr: float) -> float:
    """McClish-standardised partial AUC over FPR in [0, max_fpr] (scikit-learn's definition)."""
    stop = int(torch.searchsorted(fpr, torch.tensor([max_fpr], dtype=fpr.dtype, device=fpr.device), side="right"))
    x0, x1 = fpr[stop - 1], fpr[stop]
    y0, y1 = tpr[stop - 1], tpr[stop]
    y_at = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0)
    xs = torch.cat([fpr[:stop], fpr.new_tensor([max_fpr])])
    ys = torch.cat([tpr[:stop], y_at.reshape(1)])
    area = float(torch.trapezoid(ys, xs))
    min_area = 0.5 * max_fpr**2
    return 0.5 * (1 + (area - min_area) / (max_fpr - min_area))
