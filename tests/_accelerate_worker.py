"""Accelerate and the Trainer on 2 real gloo CPU processes, and the tiny model of tests/test_transformers.py.

Not a test module.

``run`` is the target of ``torch.multiprocessing.spawn`` with 2 processes.
``N`` (odd) samples in batches of ``BATCH`` leave the shards uneven: Accelerate
pads the last batch of a rank with repeated samples, and ``gather_for_metrics``
drops them again. Each rank writes ``OUT_DIR/rank{r}.json``: what its plain
loop and its ``Trainer.evaluate`` computed, and the rows the plain loop scored.
"""

import json
import os

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

N = 101
BATCH = 8
WORLD = 2


class TinyConfig(PretrainedConfig):
    model_type = "auroc-tiny"

    def __init__(self, n_features=64, hidden=16, multilabel=False, **kwargs):
        super().__init__(**kwargs)
        self.n_features, self.hidden, self.multilabel = n_features, hidden, multilabel


class Tiny(PreTrainedModel):
    """A two-layer perceptron over feature vectors, with the loss of its task: nothing to download."""

    config_class = TinyConfig

    def __init__(self, config):
        super().__init__(config)
        self.net = nn.Sequential(
            nn.Linear(config.n_features, config.hidden), nn.ReLU(), nn.Linear(config.hidden, config.num_labels)
        )
        self.post_init()

    def forward(self, x, labels=None):
        logits = self.net(x)
        loss = None
        if labels is not None and self.config.multilabel:
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.float())
        elif labels is not None:
            loss = nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def data():
    """(features, labels): 3 classes, scores on a coarse grid with ties."""
    g = torch.Generator().manual_seed(7)
    labels = torch.randint(0, 3, (N,), generator=g)
    x = torch.randn(N, 4, generator=g) + torch.nn.functional.one_hot(labels, 4)[:, :4].float()
    return x, labels


def model():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3)


def run(rank, outdir, port):
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        LOCAL_WORLD_SIZE=str(WORLD),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
    )
    torch.set_num_threads(1)
    from accelerate import Accelerator
    from torch.utils.data import DataLoader, TensorDataset

    import auroc_callbacks as ac

    accelerator = Accelerator(cpu=True)
    x, labels = data()
    net, loader = accelerator.prepare(model(), DataLoader(TensorDataset(x, labels, torch.arange(N)), batch_size=BATCH))
    acc = ac.AUROCAccumulator(sync_dist=False)  # gather_for_metrics gives every rank the whole, de-duplicated batch
    rows = []
    with torch.no_grad():
        for xb, yb, ib in loader:
            logits, target, index = accelerator.gather_for_metrics((net(xb), yb, ib))
            acc.update(logits, target)
            rows += index.tolist()
    out = {"loop": acc.compute().item(), "rows": rows, "world": accelerator.num_processes}
    out["trainer"] = _trainer(x, labels, outdir)
    with open(os.path.join(outdir, f"rank{rank}.json"), "w") as f:
        json.dump(out, f)
    accelerator.wait_for_everyone()


def _trainer(x, labels, outdir):
    """``Trainer.evaluate`` with ``batch_eval_metrics=True`` under the same 2 processes."""
    from transformers import Trainer, TrainingArguments

    from auroc_callbacks.transformers import AUROCMetric

    torch.manual_seed(0)
    net = Tiny(TinyConfig(n_features=4, num_labels=3))
    args = TrainingArguments(
        output_dir=os.path.join(outdir, "out"),
        per_device_eval_batch_size=BATCH,
        batch_eval_metrics=True,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    rows = [{"x": x[i], "labels": labels[i]} for i in range(N)]
    metric = AUROCMetric()
    trainer = Trainer(model=net, args=args, eval_dataset=rows, compute_metrics=metric)
    metrics = trainer.evaluate()
    predicted = trainer.predict(rows)  # the Trainer's own (gathered, de-duplicated) predictions
    return {
        "auroc": metrics["eval_auroc"],
        "num_samples": int(metric.last.scores.num_samples),
        "logits": predicted.predictions.tolist(),
        "labels": predicted.label_ids.tolist(),
    }
