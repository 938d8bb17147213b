"""fastai's own distributed mode on CPU (gloo), run by test_fastai.py under ``torch.distributed.run``.

Usage: ``python -m torch.distributed.run --standalone --nproc_per_node=2 tests/_fastai_ddp_worker.py OUT_DIR``.
Each rank trains the same digits MLP inside ``learn.distrib_ctx()`` with an
``AUROC`` metric, an ``AUROC(mode="histogram")`` metric and an
``AUROCCallback``, then writes ``OUT_DIR/rank{R}.json`` with the recorded
values, the accumulators' sample counts and scikit-learn's AUROC of the
trained model on the whole validation set (and on its float16 probabilities).

One patch makes fastai's distributed mode run on a CPU-only machine:
``DistributedDL._broadcast`` moves the index list to CUDA for NCCL; with gloo
it is broadcast from the CPU. ``ACCELERATE_USE_CPU=1`` tells accelerate (which
fastai's ``DistributedTrainer`` wraps the model with) that this is a multi-CPU
run, so it really wraps the model in ``DistributedDataParallel``.
"""

import json
import os
import sys
from pathlib import Path

os.environ["CUDA_VISIBLE_DEVICES"] = ""  # a CPU run, gloo, even on a machine with a GPU (before torch loads)
os.environ["ACCELERATE_USE_CPU"] = "1"  # accelerate: a multi-CPU run, so prepare() wraps the model in DDP

import numpy as np
import torch
import torch.distributed as dist
from torch import nn


def _broadcast_on_cpu(self, t, rank):
    t = torch.tensor(t, dtype=torch.int64)
    dist.broadcast(t, rank)
    return t.tolist()


def main(out_dir: Path) -> None:
    dist.init_process_group("gloo")
    torch.set_num_threads(1)

    from fastai.callback.core import Callback
    from fastai.callback.progress import ProgressCallback
    from fastai.data.core import Datasets
    from fastai.data.transforms import Categorize, IndexSplitter, ItemGetter, ToTensor
    from fastai.distributed import DistributedDL
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat
    from sklearn.datasets import load_digits
    from sklearn.metrics import roc_auc_score

    from auroc_callbacks.fastai import AUROC, AUROCCallback

    DistributedDL._broadcast = _broadcast_on_cpu

    class SeenInValidation(Callback):
        """What the validation loop ran on: proof that fastai's distributed mode was on."""

        def after_validate(self):
            self.seen = (type(self.learn.model).__name__, type(self.learn.dl).__name__)

    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32)
    valid_idx = list(range(0, len(y), 5))[1:]  # 359 rows: odd, so the sampler pads one rank
    items = list(zip(x, y))
    dsets = Datasets(
        items, tfms=[[ItemGetter(0), ToTensor()], [ItemGetter(1), Categorize()]], splits=IndexSplitter(valid_idx)(items)
    )
    dls = dsets.dataloaders(bs=64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    metric, cb = AUROC(name="metric_auroc"), AUROCCallback()
    hist = AUROC(name="hist_auroc", mode="histogram")
    seen = SeenInValidation()
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(), metrics=[metric, hist], cbs=[cb, seen])
    learn.remove_cb(ProgressCallback)
    with learn.distrib_ctx():
        learn.fit(2, 1e-2)

    # The reference: the trained model on the whole validation set, by hand (get_preds would gather again).
    with torch.no_grad():
        probs = torch.softmax(learn.model.eval()(torch.from_numpy(x[valid_idx])), 1)
    names = list(learn.recorder.metric_names)
    recorded = dict(zip(names[1:], learn.recorder.values[-1]))
    result = {
        "rank": dist.get_rank(),
        "world_size": dist.get_world_size(),
        "valid_size": len(valid_idx),
        "metric": recorded["metric_auroc"],
        "callback": cb.history[-1]["value"],
        "model_and_dl": list(seen.seen),
        "num_samples": metric.accumulator.num_samples,
        "num_samples_cb": cb.accumulator.num_samples,
        "gathered": [len(acc.gather()[0]) for acc in (metric.accumulator, cb.accumulator)],
        "sklearn": roc_auc_score(y[valid_idx], probs.numpy(), multi_class="ovr"),
        "hist_metric": recorded["hist_auroc"],
        "hist_bound": hist.accumulator.compute_bound().bound.item(),
        "hist_num_samples": hist.accumulator.num_samples,
        "sklearn_half": float(
            np.mean([roc_auc_score(y[valid_idx] == k, probs[:, k].half().double().numpy()) for k in range(10)])
        ),
    }
    (out_dir / f"rank{dist.get_rank()}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
