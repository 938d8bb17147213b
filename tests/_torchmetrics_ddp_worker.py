"""The torchmetrics ``AUROC`` on 2 real gloo processes, for tests/test_torchmetrics.py. Not a test module.

``run`` is the target of ``torch.multiprocessing.spawn`` with 2 processes.
Every case of :func:`cases` is fed twice: in uneven shards (rank 0 the first
``SPLIT`` rows, rank 1 the rest), and through a ``DistributedSampler``, which
pads ``N`` (odd) rows to an even count by repeating the first one. Each rank
writes ``OUT_DIR/rank{r}.json``: every computed value, and the rows it saw.
"""

import json
import os

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from auroc_callbacks.torchmetrics import AUROC

N = 101  # odd: the sampler pads one row
SPLIT = 30
WORLD = 2


def cases():
    """(name, preds, target, options): scores on a 1/256 grid, exact in float16, so both modes equal sklearn."""
    g = torch.Generator().manual_seed(5)
    target = torch.randint(0, 3, (N,), generator=g)
    probs = (torch.randn(N, 3, generator=g) + 1.5 * torch.nn.functional.one_hot(target, 3)).softmax(1)
    binary = torch.randint(0, 256, (N,), generator=g) / 256
    labels = torch.randint(0, 2, (N, 3), generator=g)
    multilabel = torch.randint(0, 256, (N, 3), generator=g) / 256
    return [
        ("exact/multiclass", probs, target, {}),
        ("exact/ovo", probs, target, {"multi_class": "ovo"}),
        ("exact/binary", binary, (target == 1).long(), {}),
        ("histogram/binary", binary, (target == 1).long(), {"mode": "histogram", "task": "binary"}),
        (
            "histogram/multilabel",
            multilabel,
            labels,
            {"mode": "histogram", "task": "multilabel", "num_classes": 3, "average": None},
        ),
    ]


def sampler_rows(rank):
    """The rows ``DistributedSampler`` gives ``rank`` (in order, the padding included)."""
    return list(DistributedSampler(range(N), num_replicas=WORLD, rank=rank, shuffle=False))


def run(rank, outdir):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{outdir}/rendezvous", rank=rank, world_size=WORLD)
    try:
        result = {}
        for name, preds, target, options in cases():
            lo, hi = (0, SPLIT) if rank == 0 else (SPLIT, N)
            metric = AUROC(**options)
            for start in range(lo, hi, 16):
                metric.update(preds[start : min(start + 16, hi)], target[start : min(start + 16, hi)])
            result[f"uneven/{name}"] = metric.compute().tolist()
            metric.reset()
            data = TensorDataset(preds, target)
            sampler = DistributedSampler(data, num_replicas=WORLD, rank=rank, shuffle=False)
            for p, t in DataLoader(data, batch_size=16, sampler=sampler):
                metric.update(p, t)
            result[f"padded/{name}"] = metric.compute().tolist()
        result["rows"] = sampler_rows(rank)
        with open(os.path.join(outdir, f"rank{rank}.json"), "w") as f:
            json.dump(result, f)
    finally:
        dist.destroy_process_group()
