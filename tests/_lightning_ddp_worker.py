"""Real multi-process DDP run for tests/test_lightning.py (CPU, gloo). Not a test module.

Usage: python tests/_lightning_ddp_worker.py OUT_DIR PACKAGE DEVICES

Lightning's launcher re-runs this script once per extra rank, so everything
happens under the ``__main__`` guard. Each rank writes ``OUT_DIR/rank{r}.json``
with, for each run, what the callback logged on that rank and what the model
produced for every validation row it scored (dataset index, logits, target),
so the test can compute scikit-learn's reference on the whole validation set.

Runs, in one set of processes:

* ``fit``: 2 epochs (2 sanity-check batches first), default sampler, 1001
  validation samples (uneven shards, padded with duplicates by DistributedSampler),
  a TensorBoardLogger with ``log_curve=True``;
* ``shuffled``: ``trainer.validate`` on a shuffled loader (the padding is then
  a random sample);
* ``wrapped``: a custom ``Sampler`` (reversed order), which Lightning wraps in
  its ``DistributedSamplerWrapper``: padded like the default, removable too;
* ``custom``: the user's own ``DistributedSampler`` subclass with its own
  ``__iter__``: the callback cannot know its padding and must warn once;
* ``partial``: ``trainer.validate`` with ``limit_val_batches=0.5``: each rank
  sees only part of its shard, which the callback must warn about once;
* ``two``: ``trainer.validate`` on two dataloaders of odd sizes (499 and 501
  samples, both padded on 2 ranks): the exact callback scores each on its
  own (``val_auroc/dataloader_idx_{i}``, one per result dict); the histogram
  callback, ``pool_dataloaders=True``, scores them as one set.

The exact callback also has ``calibration=True``: its ``val_ece`` and ``val_brier`` are recorded.

A second callback, ``AUROCCallback(mode="histogram", name="val_auroc_hist")``,
scores every run too (counts summed over ranks, the sampler's padding dropped
batch by batch); its value, bound and history are recorded under ``hist``.
"""

import json
import os
import sys
import warnings

N_TRAIN, N_VAL, BATCH = 796, 1001, 64


def main() -> None:
    import importlib

    import matplotlib
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

    from auroc_callbacks.lightning import AUROCCallback

    out_dir, package, devices = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    matplotlib.use("Agg")
    pl = importlib.import_module(package)

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x = torch.tensor(x[order] / 16.0, dtype=torch.float32)
    y = torch.tensor(y[order], dtype=torch.long)

    class Indexed(Dataset):
        def __init__(self, x, y, offset=0):
            self.x, self.y, self.offset = x, y, offset

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return self.x[i], self.y[i], i + self.offset  # the index in the whole validation set

    train = Indexed(x[:N_TRAIN], y[:N_TRAIN])
    val = Indexed(x[N_TRAIN : N_TRAIN + N_VAL], y[N_TRAIN : N_TRAIN + N_VAL])
    assert len(val) == N_VAL

    class Model(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
            self.records = []

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y, _ = batch
            return torch.nn.functional.cross_entropy(self(x), y)

        def on_validation_epoch_start(self):
            self.records = []

        def validation_step(self, batch, batch_idx, dataloader_idx=0):
            x, y, idx = batch
            logits = self(x)
            if not self.trainer.sanity_checking:
                self.records.append((idx.tolist(), logits.tolist(), y.tolist()))
            return {"logits": logits, "target": y}

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    class Reversed(Sampler):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

    class OwnDistributedSampler(DistributedSampler):
        def __iter__(self):
            return iter(list(super().__iter__()))

    pl.seed_everything(0)
    model = Model()
    cb = AUROCCallback(num_classes=10, log_curve=True, calibration=True)  # figures are drawn on rank 0 only
    hist = AUROCCallback(num_classes=10, log_curve=True, mode="histogram", name="val_auroc_hist", pool_dataloaders=True)
    trainer = pl.Trainer(
        strategy="ddp",
        accelerator="cpu",
        devices=devices,
        max_epochs=2,
        num_sanity_val_steps=2,
        callbacks=[cb, hist],
        logger=pl.loggers.TensorBoardLogger(out_dir, name="tb", version=0),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    results = {}

    def record(run, caught=(), loaders=1):
        idx, logits, target = [], [], []
        for i, lg, t in model.records:
            idx += i
            logits += lg
            target += t
        metrics = trainer.callback_metrics
        suffixes = [""] if loaders == 1 else [f"/dataloader_idx_{i}" for i in range(loaders)]
        results[run] = {
            "logged": [float(metrics[f"val_auroc{s}"]) for s in suffixes],
            "ece": [float(metrics[f"val_ece{s}"]) for s in suffixes],
            "brier": [float(metrics[f"val_brier{s}"]) for s in suffixes],
            "history": cb.history[-loaders:],
            "idx": idx,
            "logits": logits,
            "target": target,
            "warnings": [str(w.message) for w in caught if "AUROCCallback" in str(w.message)],
            "hist": {
                "logged": float(trainer.callback_metrics["val_auroc_hist"]),
                "bound": float(trainer.callback_metrics["val_auroc_hist_bound"]),
                "history": hist.history[-1],
            },
        }

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, DataLoader(train, batch_size=BATCH, shuffle=True), DataLoader(val, batch_size=BATCH))
    record("fit", caught)
    results["fit"]["steps"] = [h["step"] for h in cb.history]
    results["fit"]["sync_dist_advice"] = [str(w.message) for w in caught if "sync_dist=True" in str(w.message)]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.validate(model, DataLoader(val, batch_size=BATCH, shuffle=True), verbose=False)
    record("shuffled", caught)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.validate(model, DataLoader(val, batch_size=BATCH, sampler=Reversed(len(val))), verbose=False)
    record("wrapped", caught)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.validate(
            model, DataLoader(val, batch_size=BATCH, sampler=OwnDistributedSampler(val, shuffle=False)), verbose=False
        )
    record("custom", caught)

    trainer.limit_val_batches = 0.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.validate(model, DataLoader(val, batch_size=BATCH), verbose=False)
    record("partial", caught)

    trainer.limit_val_batches = 1.0
    first = Indexed(val.x[:499], val.y[:499])
    second = Indexed(val.x[499:1000], val.y[499:1000], offset=499)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        returned = trainer.validate(
            model, [DataLoader(first, batch_size=BATCH), DataLoader(second, batch_size=BATCH)], verbose=False
        )
    record("two", caught, loaders=2)
    results["two"]["returned"] = returned

    results["rank"] = trainer.global_rank
    results["world_size"] = trainer.world_size
    with open(os.path.join(out_dir, f"rank{trainer.global_rank}.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
