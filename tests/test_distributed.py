"""Real processes on the gloo backend: uneven shards, an empty rank, the same answer on every rank."""

import json
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.metrics import roc_auc_score

import auroc_callbacks as ac

N = 1001


def _data():
    g = torch.Generator().manual_seed(11)
    logits = torch.randn(N, 4, generator=g)
    target = torch.randint(0, 4, (N,), generator=g)
    binary = torch.randn(N, generator=g).round(decimals=1)  # ties across ranks
    return logits, target, binary, (target == 1).long()


def _worker(rank, world, bounds, outdir):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{outdir}/rendezvous", rank=rank, world_size=world)
    try:
        logits, target, binary, btarget = _data()
        lo, hi = bounds[rank]
        result = {}
        for name, preds, tgt, opts in [
            ("multiclass", logits, target, {"average": None}),
            ("binary", binary, btarget, {}),
        ]:
            acc = ac.AUROCAccumulator(**opts)
            for start in range(lo, hi, 64):  # an empty shard makes no update at all
                acc.update(preds[start : min(start + 64, hi)], tgt[start : min(start + 64, hi)])
            result[name] = acc.compute().tolist()
            result[name + "_gathered"] = int(acc.gather()[0].shape[0])
            result[name + "_local"] = acc.num_samples
        for mode in ("exact", "histogram"):  # nothing on any rank: every rank raises together, none hangs
            acc = ac.AUROCAccumulator(num_classes=4, mode=mode)
            try:
                acc.compute()
                result["empty_" + mode] = "no error"
            except ac.EmptyEpochError as err:
                result["empty_" + mode] = str(err)
        with open(f"{outdir}/rank{rank}.json", "w") as fh:
            json.dump(result, fh)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize(
    "bounds",
    [
        [(0, 700), (700, N)],  # 2 ranks, uneven
        [(0, 0), (0, 600), (600, N)],  # 3 ranks, rank 0 empty
        [(0, 500), (500, N), (N, N)],  # 3 ranks, last rank empty
    ],
    ids=["2-uneven", "3-first-empty", "3-last-empty"],
)
def test_compute_gathers_every_rank_exactly(bounds, tmp_path):
    world = len(bounds)
    mp.spawn(_worker, args=(world, bounds, str(tmp_path)), nprocs=world, join=True)
    logits, target, binary, btarget = _data()
    p, y = torch.softmax(logits, 1).numpy(), target.numpy()
    want_mc = [roc_auc_score(y == k, p[:, k]) for k in range(4)]
    want_bin = roc_auc_score(btarget.numpy(), binary.numpy())
    for rank in range(world):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        np.testing.assert_allclose(got["multiclass"], want_mc, rtol=0, atol=1e-12)
        assert abs(got["binary"] - want_bin) < 1e-12
        assert got["multiclass_gathered"] == N
        assert got["multiclass_local"] == bounds[rank][1] - bounds[rank][0]
        assert got["empty_exact"] == "no rank accumulated any samples: nothing to gather"
        assert got["empty_histogram"] == "no rank accumulated any samples: nothing to reduce"


def test_single_process_needs_no_process_group():
    assert not dist.is_initialized()
    acc = ac.AUROCAccumulator()
    acc.update(torch.randn(10), torch.arange(10) % 2)
    assert acc.compute().isfinite()
