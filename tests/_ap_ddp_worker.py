"""Real multi-process DDP run for tests/test_ap_integrations.py (CPU, gloo). Not a test module.

Usage: python tests/_ap_ddp_worker.py OUT_DIR DEVICES

One ``trainer.validate`` of a fixed MLP on 1001 digits (uneven shards: the
DistributedSampler pads them with duplicates), whose ``validation_step``
returns per-sample weights. Two callbacks score it: an exact one with
``average_precision=True, per_class=True`` (weighted), and a histogram one
with ``average_precision=True`` reading no weights (``output_transform``).
Each rank writes ``OUT_DIR/rank{r}.json``: what each callback logged, and
every validation row it saw (dataset index, logits, target, weight), so the
test computes scikit-learn's reference on the de-duplicated set.
"""

import json
import sys
import warnings

N_VAL, BATCH = 1001, 64


def main() -> None:
    import lightning.pytorch as pl
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    from torch.utils.data import DataLoader, Dataset

    from auroc_callbacks.lightning import AUROCCallback

    out_dir, devices = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(1)
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))[:N_VAL]
    x = torch.tensor(x[order] / 16.0, dtype=torch.float32)
    y = torch.tensor(y[order], dtype=torch.long)
    w = torch.tensor((np.arange(N_VAL) % 5) * 0.25, dtype=torch.float32)  # zeros included

    class Indexed(Dataset):
        def __len__(self):
            return N_VAL

        def __getitem__(self, i):
            return x[i], y[i], w[i], i

    class Model(pl.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
            self.rows = []

        def forward(self, xb):
            return self.net(xb)

        def validation_step(self, batch, batch_idx):
            xb, yb, wb, ib = batch
            logits = self(xb)
            self.rows += [
                [int(i), row, int(t), float(v)] for i, row, t, v in zip(ib, logits.tolist(), yb.tolist(), wb.tolist())
            ]
            return {"logits": logits, "target": yb, "weight": wb}

    exact = AUROCCallback(num_classes=10, per_class=True, average_precision=True)
    hist = AUROCCallback(
        name="hist_auroc",
        num_classes=10,
        mode="histogram",
        average_precision=True,
        output_transform=lambda out, batch: (torch.softmax(out["logits"], 1), out["target"]),
    )
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy="ddp",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[exact, hist],
    )
    model = Model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.validate(model, DataLoader(Indexed(), batch_size=BATCH))
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    out = {
        "rows": model.rows,
        "exact": {k: v for k, v in logged.items() if k.startswith(("val_ap", "val_auroc"))},
        "hist": {k: v for k, v in logged.items() if k.startswith(("hist_",))},
        # Lightning's advice to log epoch values with sync_dist=True, which ours are exempt from (already global)
        "sync_dist_advice": [str(w.message) for w in caught if "sync_dist=True" in str(w.message)],
    }
    with open(f"{out_dir}/rank{trainer.global_rank}.json", "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
