"""The Hugging Face Trainer adapter, through a real ``Trainer``: values equal sklearn on the Trainer's own predictions.

Tiny models built from configs (a two-layer perceptron over sklearn's bundled
digits / breast cancer features, a two-layer BERT over synthetic token ids):
nothing is downloaded.
"""

import gc
import os
import socket
import warnings

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("transformers")
from _accelerate_worker import Tiny, TinyConfig
from _reference import delong_interval
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import average_precision_score, roc_auc_score
from transformers import EvalPrediction, Trainer, TrainingArguments

import auroc_callbacks as ac
from auroc_callbacks import accumulator
from auroc_callbacks.transformers import AUROCCallback, AUROCMetric, compute_metrics


def _digits(n_eval=None):
    x, y = load_digits(return_X_y=True)
    rows = [{"x": torch.tensor(a / 16, dtype=torch.float32), "labels": torch.tensor(b)} for a, b in zip(x, y)]
    return rows[:1200], rows[1200:] if n_eval is None else rows[1200 : 1200 + n_eval]


def _args(tmp_path, **kwargs):
    base = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=64,
        per_device_eval_batch_size=100,
        num_train_epochs=1,
        learning_rate=1e-2,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        save_strategy="no",
        seed=0,
    )
    return TrainingArguments(**{**base, **kwargs})


def _trainer(tmp_path, metric, *, train=None, eval_rows=None, config=None, callbacks=(), **args):
    torch.manual_seed(0)
    model = Tiny(config or TinyConfig(num_labels=10))
    return Trainer(
        model=model,
        args=_args(tmp_path, **args),
        train_dataset=train,
        eval_dataset=eval_rows,
        compute_metrics=metric,
        callbacks=list(callbacks),
    )


def _softmax(logits):
    """Probabilities as the library makes them from float32 logits: softmax in float32 (its ties included)."""
    return torch.tensor(np.asarray(logits), dtype=torch.float32).softmax(1).double().numpy()


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("batched", [True, False], ids=["batch_eval_metrics", "default"])
def test_trainer_values_equal_sklearn_on_its_own_predictions(tmp_path, batched):
    train, rows = _digits()
    metric = AUROCMetric(per_class=True, class_names=[f"d{i}" for i in range(10)], ci=True, average_precision=True)
    trainer = _trainer(tmp_path, metric, train=train, eval_rows=rows, batch_eval_metrics=batched)
    trainer.train()
    metrics = trainer.evaluate()
    out = trainer.predict(rows)
    probs, y = _softmax(out.predictions), out.label_ids
    assert metrics["eval_auroc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"), abs=1e-12)
    for c in range(10):
        assert metrics[f"eval_auroc/d{c}"] == pytest.approx(roc_auc_score(y == c, probs[:, c]), abs=1e-12)
        assert metrics[f"eval_ap/d{c}"] == pytest.approx(average_precision_score(y == c, probs[:, c]), abs=1e-12)
    assert metrics["eval_ap"] == pytest.approx(average_precision_score(np.eye(10)[y], probs), abs=1e-12)
    assert metrics["eval_auroc_lo"] < metrics["eval_auroc"] < metrics["eval_auroc_hi"]  # macro: DeLong per class
    assert out.metrics["test_auroc"] == metrics["eval_auroc"]  # predict() scores the same set again, from empty


def test_binary_breast_cancer_interval_equals_delong(tmp_path):
    x, y = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    rows = [{"x": torch.tensor(a, dtype=torch.float32), "labels": torch.tensor(b)} for a, b in zip(x, y)]
    metric = AUROCMetric(ci=True)
    trainer = _trainer(
        tmp_path,
        metric,
        train=rows[:300],
        eval_rows=rows[300:],
        batch_eval_metrics=True,
        config=TinyConfig(n_features=30, num_labels=2),
        per_device_eval_batch_size=37,
    )
    trainer.train()
    metrics = trainer.evaluate()
    out = trainer.predict(rows[300:])
    p1 = _softmax(out.predictions)[:, 1]
    assert metrics["eval_auroc"] == pytest.approx(roc_auc_score(out.label_ids, p1), abs=1e-12)
    _, lo, hi = delong_interval(p1, out.label_ids)
    assert (metrics["eval_auroc_lo"], metrics["eval_auroc_hi"]) == pytest.approx((lo, hi), abs=1e-9)


def test_histogram_mode_equals_sklearn_on_float16_scores(tmp_path):
    train, rows = _digits()
    metric = AUROCMetric(mode="histogram", task="multiclass", num_classes=10)
    trainer = _trainer(tmp_path, metric, train=train, eval_rows=rows, batch_eval_metrics=True)
    trainer.train()
    metrics = trainer.evaluate()
    out = trainer.predict(rows)
    probs16 = torch.tensor(out.predictions).float().softmax(1).half().double().numpy()
    y = out.label_ids
    expected = np.mean([roc_auc_score(y == c, probs16[:, c]) for c in range(10)])  # ovr macro; rows no longer sum to 1
    assert metrics["eval_auroc"] == pytest.approx(expected, abs=1e-12)
    assert 0 <= metrics["eval_auroc_bound"] < 0.01


def test_multilabel_logits_take_sigmoid(tmp_path):
    x, digit = load_digits(return_X_y=True)
    labels = np.stack([digit % 2, digit >= 5, np.isin(digit, [2, 3, 5, 7])], 1).astype(np.float32)
    rows = [{"x": torch.tensor(a / 16, dtype=torch.float32), "labels": torch.tensor(b)} for a, b in zip(x, labels)]
    metric = AUROCMetric(task="multilabel", num_classes=3, per_class=True)
    trainer = _trainer(
        tmp_path,
        metric,
        train=rows[:1200],
        eval_rows=rows[1200:],
        batch_eval_metrics=True,
        config=TinyConfig(num_labels=3, multilabel=True),
    )
    trainer.train()
    metrics = trainer.evaluate()
    out = trainer.predict(rows[1200:])
    probs = torch.tensor(out.predictions).float().sigmoid().double().numpy()
    assert metrics["eval_auroc"] == pytest.approx(roc_auc_score(out.label_ids, probs), abs=1e-12)
    for c in range(3):
        assert metrics[f"eval_auroc/{c}"] == pytest.approx(roc_auc_score(out.label_ids[:, c], probs[:, c]), abs=1e-12)


@pytest.mark.slow
def test_bert_token_classification_masks_padding_and_ignored_labels(tmp_path):
    from transformers import BertConfig, BertForTokenClassification

    g = torch.Generator().manual_seed(0)
    rows = []
    for _ in range(96):
        n = int(torch.randint(5, 17, (1,), generator=g))
        ids = torch.randint(1, 100, (n,), generator=g)
        labels = (ids % 3).clone()  # learnable from the token alone
        labels[torch.rand(n, generator=g) < 0.2] = -100  # e.g. sub-word continuations
        rows.append({"input_ids": ids, "labels": labels})

    def collate(batch):  # pads ids with 0, labels with -100, to the batch's longest row: lengths vary per batch
        size = max(len(r["input_ids"]) for r in batch)
        ids = torch.zeros(len(batch), size, dtype=torch.long)
        labels = torch.full((len(batch), size), -100)
        for k, r in enumerate(batch):
            ids[k, : len(r["input_ids"])], labels[k, : len(r["labels"])] = r["input_ids"], r["labels"]
        return {"input_ids": ids, "attention_mask": (ids > 0).long(), "labels": labels}

    torch.manual_seed(0)
    config = BertConfig(
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=100,
        num_labels=3,
        max_position_embeddings=32,
    )
    metric = AUROCMetric(per_class=True)
    trainer = Trainer(
        model=BertForTokenClassification(config),
        args=_args(tmp_path, batch_eval_metrics=True, per_device_eval_batch_size=16, num_train_epochs=3),
        train_dataset=rows[:64],
        eval_dataset=rows[64:],
        data_collator=collate,
        compute_metrics=metric,
    )
    trainer.train()
    metrics = trainer.evaluate()
    out = trainer.predict(rows[64:])  # padded to the longest row of the set, with -100
    keep = out.label_ids != -100
    probs, y = _softmax(out.predictions[keep]), out.label_ids[keep]
    assert keep.sum() == sum(int((r["labels"] != -100).sum()) for r in rows[64:])
    assert metrics["eval_auroc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"), abs=1e-12)
    for c in range(3):
        assert metrics[f"eval_auroc/{c}"] == pytest.approx(roc_auc_score(y == c, probs[:, c]), abs=1e-12)


@pytest.mark.slow
def test_bert_logits_tuple_scores_the_logits(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 100, (80, 12), generator=g)
    rows = [{"input_ids": r, "labels": torch.tensor(int(r[0]) % 2)} for r in ids]
    torch.manual_seed(0)
    config = BertConfig(
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=100,
        num_labels=2,
        output_hidden_states=True,
    )
    metric = AUROCMetric()
    trainer = Trainer(
        model=BertForSequenceClassification(config),
        args=_args(tmp_path, batch_eval_metrics=True, per_device_eval_batch_size=16),
        train_dataset=rows[:48],
        eval_dataset=rows[48:],
        compute_metrics=metric,
    )
    trainer.train()
    metrics = trainer.evaluate()
    out = trainer.predict(rows[48:])
    assert isinstance(out.predictions, tuple)  # (logits, hidden states)
    p1 = _softmax(out.predictions[0])[:, 1]
    assert metrics["eval_auroc"] == pytest.approx(roc_auc_score(out.label_ids, p1), abs=1e-12)


def test_logits_index_picks_the_entry():
    y = np.array([0, 0, 1, 1])
    logits = np.array([0.1, 0.4, 0.35, 0.8])
    noise = np.array([0.9, 0.1, 0.2, 0.3])
    got = AUROCMetric(logits_index=1)(EvalPrediction(predictions=(noise, logits), label_ids=y))
    assert got == {"auroc": 0.75}
    assert compute_metrics(EvalPrediction(predictions=(logits, noise), label_ids=y)) == {"auroc": 0.75}


# ----------------------------------------------------------------------------- the compute_result contract


def test_batches_accumulate_until_compute_result_then_reset():
    g = torch.Generator().manual_seed(3)
    metric = AUROCMetric(per_class=True)
    for _ in range(2):
        y = torch.randint(0, 3, (90,), generator=g)
        logits = torch.randn(90, 3, generator=g) + y.unsqueeze(1).eq(torch.arange(3)).float()
        y[::7] = -100  # ignored: the Trainer's padding label
        outs = [
            metric(EvalPrediction(predictions=logits[i : i + 30], label_ids=y[i : i + 30]), compute_result=i == 60)
            for i in (0, 30, 60)
        ]
        assert outs[:2] == [{}, {}]
        keep = (y != -100).numpy()
        expected = roc_auc_score(y.numpy()[keep], logits.double().softmax(1).numpy()[keep], multi_class="ovr")
        assert outs[2]["auroc"] == pytest.approx(expected, abs=1e-12)  # this epoch's batches only
        assert metric.accumulator.num_samples == 0
        assert metric.last.scores.num_samples == keep.sum()


def test_a_batch_that_fails_its_checks_drops_the_epoch():
    metric = AUROCMetric()
    metric(EvalPrediction(predictions=np.array([0.1, 0.9]), label_ids=np.array([0, 1])), compute_result=False)
    with pytest.raises(ValueError, match="batch shapes changed"):
        metric(EvalPrediction(predictions=np.ones((2, 3)), label_ids=np.array([0, 2])), compute_result=False)
    out = metric(EvalPrediction(predictions=np.array([0.4, 0.35]), label_ids=np.array([0, 1])), compute_result=True)
    assert out == {"auroc": 0.0} and metric.last.scores.num_samples == 2  # this evaluation alone


def test_single_class_epoch_gives_nan_and_warns(tmp_path):
    _, rows = _digits()
    zeros = [r for r in rows if int(r["labels"]) == 0] * 2
    metric = AUROCMetric(task="binary")
    trainer = _trainer(
        tmp_path,
        metric,
        eval_rows=[{"x": r["x"], "labels": torch.tensor(0)} for r in zeros],
        config=TinyConfig(num_labels=2),
        batch_eval_metrics=True,
        per_device_eval_batch_size=16,
    )
    with pytest.warns(ac.UndefinedAUROCWarning):
        metrics = trainer.evaluate()
    assert np.isnan(metrics["eval_auroc"])


def test_epoch_of_empty_batches_gives_nan_and_warns():
    metric = AUROCMetric()
    empty = EvalPrediction(predictions=np.zeros((0, 3), np.float32), label_ids=np.zeros((0,), np.int64))
    with pytest.warns(ac.UndefinedAUROCWarning, match="no labelled sample"):
        assert np.isnan(metric(empty, compute_result=True)["auroc"])


def test_options_are_checked_at_construction():
    with pytest.raises(TypeError, match="unexpected option `averge`.*did you mean `average`"):
        AUROCMetric(averge=None)
    with pytest.raises(TypeError, match="`sync_dist` is set by the callback itself"):
        AUROCMetric(sync_dist=True)
    with pytest.raises(TypeError, match="`logits_index` must be a"):
        AUROCMetric(logits_index="0")
    with pytest.raises(ValueError, match="needs mode='exact'"):
        AUROCCallback(AUROCMetric(mode="histogram"), pr_curves=True)
    with pytest.raises(TypeError, match="`metric` must be the AUROCMetric"):
        AUROCCallback(compute_metrics)
    with pytest.raises(ValueError, match=r"give the key `auroc_a_b` twice"):  # one class's value would be lost
        AUROCMetric(num_classes=2, per_class=True, class_names=["a b", "a_b"], sep="_")
    with pytest.raises(TypeError, match=r"its own options are name, per_class, class_names, calibration"):
        AUROCMetric(colour="red")


# ----------------------------------------------------------------------------- the Trainer's own machinery


def test_metric_for_best_model_loads_the_best_auroc_checkpoint(tmp_path):
    train, rows = _digits(300)
    metric = AUROCMetric()
    trainer = _trainer(
        tmp_path,
        metric,
        train=train,
        eval_rows=rows,
        batch_eval_metrics=True,
        num_train_epochs=3,
        learning_rate=3e-3,
        eval_strategy="epoch",
        save_strategy="epoch",
        load_best_model_at_end=True,
        metric_for_best_model="auroc",
        save_total_limit=None,
    )
    trainer.train()
    evals = [h for h in trainer.state.log_history if "eval_auroc" in h]
    best = max(evals, key=lambda h: h["eval_auroc"])
    assert len(evals) == 3 and trainer.state.best_metric == best["eval_auroc"]
    assert trainer.state.best_model_checkpoint.endswith(f"checkpoint-{best['step']}")
    assert trainer.evaluate()["eval_auroc"] == pytest.approx(best["eval_auroc"], abs=1e-12)  # the best weights


def test_callback_logs_figure_and_per_class_values_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train, rows = _digits()
    metric = AUROCMetric()  # per-class values not returned: the callback logs them
    cb = AUROCCallback(metric, log_dir=str(tmp_path / "tb"))
    trainer = _trainer(
        tmp_path,
        metric,
        train=train,
        eval_rows=rows,
        batch_eval_metrics=True,
        report_to=["tensorboard"],
        eval_strategy="epoch",
        num_train_epochs=2,
        callbacks=[cb],
    )
    trainer.train()
    out = trainer.predict(rows)
    probs, y = _softmax(out.predictions), out.label_ids
    ea = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    steps = [h["step"] for h in trainer.state.log_history if "eval_auroc" in h]
    assert [e.step for e in ea.Images("eval/auroc/roc")] == steps
    for c in range(10):
        last = ea.Scalars(f"eval/auroc/{c}")[-1]
        assert last.step == steps[-1] and last.value == pytest.approx(roc_auc_score(y == c, probs[:, c]), abs=1e-6)
    assert "eval/auroc" not in ea.Tags()["scalars"]  # the Trainer's TensorBoardCallback logs that one
    assert metric.last_accumulator is None  # drawn, then freed


def test_callback_shares_the_tensorboard_callbacks_writer(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from transformers.integrations import TensorBoardCallback

    train, rows = _digits(200)
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(tmp_path / "tb")
    try:
        tb = TensorBoardCallback()
        metric = AUROCMetric(per_class=True)
        trainer = _trainer(
            tmp_path,
            metric,
            train=train[:200],
            eval_rows=rows,
            eval_strategy="epoch",
            callbacks=[tb, AUROCCallback(metric, tb_writer=tb)],
        )
        trainer.train()
    finally:
        del os.environ["TENSORBOARD_LOGGING_DIR"]
    files = os.listdir(tmp_path / "tb")
    ea = EventAccumulator(str(tmp_path / "tb" / files[0]), size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    assert len(files) == 1 and "eval/auroc/roc" in ea.Tags()["images"] and "eval/auroc" in ea.Tags()["scalars"]


def test_callback_logs_to_wandb(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    logged = []
    train, rows = _digits(300)
    metric = AUROCMetric()
    trainer = _trainer(
        tmp_path,
        metric,
        train=train,
        eval_rows=rows,
        report_to=["wandb"],
        eval_strategy="epoch",
        callbacks=[AUROCCallback(metric)],
    )
    original = wandb.sdk.wandb_run.Run.log

    def spy(self, data, *args, **kwargs):
        logged.append(dict(data))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(wandb.sdk.wandb_run.Run, "log", spy)
    try:
        trainer.train()
        probs, y = _softmax(trainer.predict(rows).predictions), np.array([int(r["labels"]) for r in rows])
    finally:
        wandb.finish()
    ours = [d for d in logged if "eval/auroc/roc" in d]
    assert len(ours) == 1 and isinstance(ours[0]["eval/auroc/roc"], wandb.Image)
    assert [d for d in logged if "test/auroc/roc" in d]  # predict() too
    assert ours[0]["eval/auroc/4"] == pytest.approx(roc_auc_score(y == 4, probs[:, 4]), abs=1e-9)


def test_callback_logs_to_mlflow(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow-skinny: no database backend
    train, rows = _digits(300)
    metric = AUROCMetric(sep="_")  # the file store cannot hold both eval_auroc and eval_auroc/4
    trainer = _trainer(
        tmp_path,
        metric,
        train=train,
        eval_rows=rows,
        report_to=["mlflow"],
        eval_strategy="epoch",
        callbacks=[AUROCCallback(metric)],
    )
    trainer.train()
    run = mlflow.last_active_run() or mlflow.active_run()
    mlflow.end_run()
    client = mlflow.tracking.MlflowClient()
    probs, y = _softmax(trainer.predict(rows).predictions), np.array([int(r["labels"]) for r in rows])
    history = client.get_metric_history(run.info.run_id, "eval_auroc_4")
    assert history[-1].value == pytest.approx(roc_auc_score(y == 4, probs[:, 4]), abs=1e-6)
    assert any(a.path.endswith(".png") for a in client.list_artifacts(run.info.run_id))


# ----------------------------------------------------------------------------- memory


def _live_tensor_bytes() -> int:
    """Bytes of every CPU tensor storage Python can reach now, each storage once."""
    seen, total = set(), 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isinstance on every object touches deprecated module attributes
        tensors = [obj for obj in gc.get_objects() if isinstance(obj, torch.Tensor) and obj.device.type == "cpu"]
    for t in tensors:
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
    return total


class _Repeat(torch.utils.data.Dataset):
    """``n`` samples drawn from the held-out digits: the dataset holds the same tensors whatever ``n``."""

    def __init__(self, rows, n):
        self.rows, self.n = rows, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.rows[i % len(self.rows)]


def _peak_growth(tmp_path, mode, batched):
    """Bytes per extra sample: (peak tensor memory evaluating 20,000 samples - evaluating 2,000) / 18,000."""
    from transformers import TrainerCallback

    class Probe(TrainerCallback):  # after a batch's prediction step: the first batches, and the last (kept grows)
        peak, calls = 0, 0

        def __init__(self, steps):
            self.steps = steps

        def on_prediction_step(self, args, state, control, **kwargs):
            self.calls += 1
            if self.calls <= 3 or self.calls >= self.steps - 1:
                self.peak = max(self.peak, _live_tensor_bytes())

    options = {"task": "multiclass", "num_classes": 10} if mode == "histogram" else {}
    _, rows = _digits()
    peaks = []
    for n in (2_000, 20_000):
        probe = Probe(n // 500)
        trainer = _trainer(
            tmp_path,
            AUROCMetric(mode=mode, **options),
            eval_rows=_Repeat(rows, n),
            batch_eval_metrics=batched,
            per_device_eval_batch_size=500,
            callbacks=[probe],
        )
        trainer.evaluate()
        peaks.append(probe.peak)
    return (peaks[1] - peaks[0]) / 18_000


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_eval_set_in_histogram_mode(tmp_path, monkeypatch):
    """Batched histogram mode keeps fixed-size counts: what grows is the Trainer's own per-sample loss alone.

    Every tensor alive after each batch is counted (the probe). The Trainer keeps ``loss.repeat(batch_size)``
    for every batch even under ``batch_eval_metrics`` (4 bytes a sample, float32); the histogram's counts are
    allocated once. The two controls show that the probe sees what is kept: exact mode keeps every score and
    label by design (10 x 4 + 8 bytes a sample, on the device), and the Trainer's default mode keeps every logit
    and label until the end.
    """
    kept = 10 * 4 + 8  # float32 logits of 10 classes and an int64 label
    # the histogram counts the batches it kept once they hold 2**18 scores (26,214 rows here: more than this test
    # evaluates); a block of 4,096 shows that nothing beyond one block is kept
    monkeypatch.setattr(accumulator, "_COUNT_ENTRIES", 4096)
    assert _peak_growth(tmp_path, "exact", True) >= kept
    assert _peak_growth(tmp_path, "histogram", False) >= kept
    assert _peak_growth(tmp_path, "histogram", True) <= 4 + 0.5  # the Trainer's losses, and nothing of ours


# ----------------------------------------------------------------------------- Accelerate


def test_accelerate_gather_for_metrics_loop_single_process():
    from _accelerate_worker import N, data, model
    from accelerate import Accelerator
    from torch.utils.data import DataLoader, TensorDataset

    accelerator = Accelerator(cpu=True)
    x, y = data()
    net, loader = accelerator.prepare(model(), DataLoader(TensorDataset(x, y), batch_size=8))
    acc = ac.AUROCAccumulator(sync_dist=False)
    with torch.no_grad():
        for xb, yb in loader:
            acc.update(*accelerator.gather_for_metrics((net(xb), yb)))
    probs = model()(x).double().softmax(1).detach().numpy()
    assert acc.num_samples == N
    assert acc.compute().item() == pytest.approx(roc_auc_score(y.numpy(), probs, multi_class="ovr"), abs=1e-12)


@pytest.mark.slow
def test_accelerate_and_trainer_on_two_processes_drop_the_padding(tmp_path):
    import json

    import torch.multiprocessing as mp
    from _accelerate_worker import WORLD, N, data, model, run

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(run, args=(str(tmp_path), port), nprocs=WORLD, join=True)
    x, y = data()
    probs = model()(x).double().softmax(1).detach().numpy()
    expected = roc_auc_score(y.numpy(), probs, multi_class="ovr")
    for rank in range(WORLD):
        out = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert out["world"] == WORLD and sorted(out["rows"]) == list(range(N))  # every sample once
        assert out["loop"] == pytest.approx(expected, abs=1e-12)
        t = out["trainer"]
        assert len(t["labels"]) == t["num_samples"] == N  # gather_for_metrics dropped the padding of the last batch
        assert t["auroc"] == pytest.approx(
            roc_auc_score(t["labels"], _softmax(t["logits"]), multi_class="ovr"), abs=1e-12
        )
