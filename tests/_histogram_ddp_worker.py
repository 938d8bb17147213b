"""Histogram-mode accumulators on real gloo processes, for tests/test_histogram.py. Not a test module.

``run`` is the target of ``torch.multiprocessing.spawn`` with 3 processes. Each
layout of ``LAYOUTS`` runs over its own process group: ``"3-first-empty"``
over the world (rank 0 holds nothing), ``"2-uneven"`` over a group of ranks 1
and 2. Rank ``r`` feeds its rows of every case in batches of 64 (an empty
shard makes no update), computes, and writes ``OUT_DIR/rank{r}.json``.
"""

import json
import os

import torch
import torch.distributed as dist

import auroc_callbacks as ac

N = 1001
LAYOUTS = {"3-first-empty": [(0, 0), (0, 600), (600, N)], "2-uneven": [None, (0, 700), (700, N)]}


def cases():
    """(name, preds, target, options): the data every rank slices, and the single-process reference uses."""
    g = torch.Generator().manual_seed(21)
    target = torch.randint(0, 4, (N,), generator=g)
    logits = (torch.randn(N, 4, generator=g) + 2 * torch.nn.functional.one_hot(target, 4)).round(decimals=1)
    binary = torch.randn(N, generator=g).round(decimals=2) * 1e-3  # many ties, many shared buckets
    return [
        ("multiclass", logits, target, {"average": None}),
        ("weighted_pauc", logits, target, {"average": "weighted", "max_fpr": 0.2, "histogram_dtype": torch.bfloat16}),
        ("ovo", logits, target, {"multi_class": "ovo"}),
        ("binary", binary, (target == 1).long(), {}),
    ]


def feed(acc, preds, target, lo, hi, batch=64):
    for start in range(lo, hi, batch):
        stop = min(start + batch, hi)
        acc.update(preds[start:stop], target[start:stop])
    return acc


def run(rank, outdir):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{outdir}/rendezvous", rank=rank, world_size=3)
    try:
        pair = dist.new_group([1, 2])  # every rank takes part in creating it
        result = {}
        for layout, bounds in LAYOUTS.items():
            if bounds[rank] is None:
                continue
            group = None if None not in bounds else pair  # the world, or ranks 1 and 2
            lo, hi = bounds[rank]
            for name, preds, target, options in cases():
                acc = ac.AUROCAccumulator(mode="histogram", process_group=group, **options)
                b = feed(acc, preds, target, lo, hi).compute_bound()
                assert acc.compute().tolist() == b.value.tolist()  # cached: no second reduction
                result[f"{layout}/{name}"] = {
                    "value": b.value.tolist(),
                    "bound": b.bound.tolist(),
                    "support": b.support.tolist(),
                    "num_samples": b.num_samples,
                    "local": acc.num_samples,
                }
        with open(f"{outdir}/rank{rank}.json", "w") as fh:
            json.dump(result, fh)
    finally:
        dist.destroy_process_group()
