"""Gathering uneven per-rank buffers under ``torch.distributed``.

Shapes first, then pad, all_gather, trim (the torchmetrics recipe). Every rank
makes exactly the same collective calls whether or not it holds any data, so
an empty rank cannot deadlock the others.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.distributed as dist

# dtypes travel as small integers in the metadata exchange
_DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
           torch.float16, torch.bfloat16, torch.float32, torch.float64]


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
        ValueError: no rank holds data, or ranks disagree on trailing shapes.
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
            meta[2 + 2 * i] = _DTYPES.index(t.dtype)
    else:
        meta[0] = 0
    meta = meta.to(dev)
    metas = [torch.empty_like(meta) for _ in range(world)]
    dist.all_gather(metas, meta, group=group)
    metas = torch.stack(metas).cpu()
    sizes = metas[:, 0].tolist()
    holders = metas[metas[:, 1] >= 0]
    if holders.shape[0] == 0:
        raise ValueError("no rank accumulated any samples: nothing to gather")
    out = []
    max_n = max(sizes)
    for i in range(k):
        shapes = holders[:, 1 + 2 * i].unique()
        if shapes.numel() != 1:
            raise ValueError(f"ranks disagree on the number of columns of tensor {i}: {shapes.tolist()}")
        dtype = _DTYPES[int(holders[0, 2 + 2 * i])]
        for code in holders[1:, 2 + 2 * i].tolist():
            dtype = torch.promote_types(dtype, _DTYPES[code])
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
