"""Gathering uneven per-rank buffers, and summing per-rank counts, under ``torch.distributed``.

Samples (exact mode): shapes first, then pad, all_gather, trim (the
torchmetrics recipe). Counts (histogram mode): one all_reduce(SUM), one
all_reduce(MAX) for the checks' extremes. Every rank makes exactly the same
collective calls whether or not it holds any data, so an empty rank cannot
deadlock the others.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.distributed as dist

# dtypes travel as small integers in the metadata exchange
DTYPES = [
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
]


class EmptyEpochError(ValueError):
    """No sample was accumulated, on this rank or (under ``torch.distributed``) on any rank.

    Raised by :class:`auroc_callbacks.AUROCAccumulator`'s computes. Under
    ``torch.distributed`` every rank raises it together (the ranks first
    exchange their sizes), so catching it cannot leave one rank in a collective.
    A ``ValueError``, so code that caught that before still does.
    """


def is_distributed(group=None) -> bool:
    """True when torch.distributed is initialised with more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def _comm_device(group, local: Optional[torch.device]) -> torch.device:
    backend = dist.get_backend(group)
    if backend == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    if backend == "gloo":
        return torch.device("cpu")
    return local if local is not None else torch.device("cpu")


def gather_uneven(tensors: Sequence[Optional[torch.Tensor]], group=None) -> List[torch.Tensor]:
    """All-gather tensors whose first dimension differs between ranks.

    Args:
        tensors: this rank's tensors, all with the same first dimension, or
            ``None`` each when the rank has no data (its shapes and dtypes are
            then taken from the other ranks).
        group: the process group (default: the world).

    Returns:
        The concatenation over ranks, in rank order, of each tensor, on this
        rank's device (or the communication device for an empty rank).

    Raises:
        EmptyEpochError: no rank holds data.
        ValueError: ranks disagree on trailing shapes.
    """
    has = tensors[0] is not None
    local_dev = tensors[0].device if has else None
    dev = _comm_device(group, local_dev)
    world = dist.get_world_size(group)
    k = len(tensors)
    # meta: [n, then per tensor: ndim-code (0: 1-d, c: (n, c)), dtype index]; -1 when absent
    meta = torch.full((1 + 2 * k,), -1, dtype=torch.int64)
    if has:
        meta[0] = tensors[0].shape[0]
        for i, t in enumerate(tensors):
            meta[1 + 2 * i] = 0 if t.ndim == 1 else t.shape[1]
            meta[2 + 2 * i] = DTYPES.index(t.dtype)
    else:
        meta[0] = 0
    meta = meta.to(dev)
    metas = [torch.empty_like(meta) for _ in range(world)]
    dist.all_gather(metas, meta, group=group)
    metas = torch.stack(metas).cpu()
    sizes = metas[:, 0].tolist()
    holders = metas[metas[:, 1] >= 0]
    if holders.shape[0] == 0:
        raise EmptyEpochError("no rank accumulated any samples: nothing to gather")
    out = []
    max_n = max(sizes)
    for i in range(k):
        shapes = holders[:, 1 + 2 * i].unique()
        if shapes.numel() != 1:
            raise ValueError(f"ranks disagree on the number of columns of tensor {i}: {shapes.tolist()}")
        dtype = DTYPES[int(holders[0, 2 + 2 * i])]
        for code in holders[1:, 2 + 2 * i].tolist():
            dtype = torch.promote_types(dtype, DTYPES[code])
        trailing: Tuple[int, ...] = () if int(shapes[0]) == 0 else (int(shapes[0]),)
        # gloo has no bool or bfloat16 collectives: travel in a type that holds them exactly
        wire = {torch.bool: torch.uint8, torch.bfloat16: torch.float32}.get(dtype, dtype)
        padded = torch.zeros((max_n,) + trailing, dtype=wire, device=dev)
        if has and sizes[dist.get_rank(group)] > 0:
            padded[: tensors[i].shape[0]] = tensors[i].to(dev)
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded, group=group)
        gathered = torch.cat([p[:n] for p, n in zip(parts, sizes)]).to(dtype)
        out.append(gathered.to(local_dev) if local_dev is not None else gathered)
    return out


def reduce_uneven(
    sums: Optional[torch.Tensor], maxes: Optional[torch.Tensor], meta: Sequence[int], group=None
) -> Tuple[torch.Tensor, torch.Tensor, List[List[int]]]:
    """All-reduce an int64 tensor by SUM and a float64 tensor by MAX, over ranks that may hold nothing.

    For counts (histograms) rather than samples: three collective calls,
    made by every rank whether or not it holds data (a small all_gather of
    ``[has data, sizes, *meta]``, then the two all_reduce calls). A rank with
    nothing passes None for both tensors and contributes 0 and -inf.

    Args:
        sums: this rank's int64 tensor to sum (1-d), or None.
        maxes: this rank's float64 tensor to max-reduce (1-d), or None (with ``sums``).
        meta: small ints describing this rank's data, the same length on
            every rank (read only from ranks holding data).
        group: the process group (default: the world).

    Returns:
        ``(summed, maxed, metas)``: the reduced tensors on this rank's device
        (the communication device for an empty rank), and the ``meta`` of
        every rank holding data, in rank order.

    Raises:
        EmptyEpochError: no rank holds data.
        ValueError: ranks holding data disagree on the sizes.
    """
    has = sums is not None
    local_dev = sums.device if has else None
    dev = _comm_device(group, local_dev)
    world = dist.get_world_size(group)
    head = [1, sums.numel(), maxes.numel()] if has else [0, -1, -1]
    info = torch.tensor(head + [int(v) for v in meta], dtype=torch.int64, device=dev)
    infos = [torch.empty_like(info) for _ in range(world)]
    dist.all_gather(infos, info, group=group)
    rows = [row.tolist() for row in torch.stack(infos).cpu()]
    holders = [row for row in rows if row[0] == 1]
    if not holders:
        raise EmptyEpochError("no rank accumulated any samples: nothing to reduce")
    sizes = {tuple(row[1:3]) for row in holders}
    if len(sizes) != 1:
        raise ValueError(f"ranks disagree on the sizes of the tensors to reduce: {sorted(sizes)}")
    n_sum, n_max = holders[0][1:3]
    # clones: the caller's own tensors stay this rank's (all_reduce works in place)
    summed = sums.to(dev, copy=True) if has else torch.zeros(n_sum, dtype=torch.int64, device=dev)
    maxed = maxes.to(dev, copy=True) if has else torch.full((n_max,), float("-inf"), dtype=torch.float64, device=dev)
    dist.all_reduce(summed, op=dist.ReduceOp.SUM, group=group)
    dist.all_reduce(maxed, op=dist.ReduceOp.MAX, group=group)
    if local_dev is not None:
        summed, maxed = summed.to(local_dev), maxed.to(local_dev)
    return summed, maxed, [row[3:] for row in holders]
