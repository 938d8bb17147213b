"""Average precision and sample weights through every integration, checked against scikit-learn.

Every expected value is ``sklearn.metrics.average_precision_score`` (or
``roc_auc_score``, weighted where the run is) on what the trained model
predicts for the validation set (Lightning: ``trainer.predict``; fastai:
``learn.get_preds``), never a number from the code under test. The DDP runs
(gloo, 2 and 3 ranks, uneven shards, weights) go through ``tests/_ap_ddp_worker.py``.
"""

import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score
from sklearn.preprocessing import label_binarize

import auroc_callbacks as ac
from auroc_callbacks import _callback

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("_ap_ddp_worker.py")
TOL = 1e-9


def _data(name):
    x, y = (load_digits if name == "digits" else load_breast_cancer)(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    n_val = len(y) * 2 // 5
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long)
    w = torch.tensor((np.arange(len(y)) % 4) * 0.5, dtype=torch.float32)  # weights 0, 0.5, 1, 1.5
    return (x[n_val:], y[n_val:], w[n_val:]), (x[:n_val], y[:n_val], w[:n_val])


def _sk_ap(y, probs, average="macro", weight=None):
    """scikit-learn's AP: binary on the positive column, else one-vs-rest on the binarised labels."""
    if probs.ndim == 1:
        return average_precision_score(y, probs, sample_weight=weight)
    onehot = label_binarize(y, classes=np.arange(probs.shape[1]))
    return average_precision_score(onehot, probs, average=average, sample_weight=weight)


# ----------------------------------------------------------------------------- the shared epoch result


def test_keys_order_and_history_are_the_one_naming_rule():
    acc = ac.AUROCAccumulator(num_classes=3)
    g = torch.Generator().manual_seed(0)
    p, t = torch.randn(90, 3, generator=g), torch.arange(90) % 3
    acc.update(p, t)
    options = _callback.check_callback_options(
        acc, name="val_auroc", per_class=True, class_names=["a", "b", "c"], average_precision=True
    )
    result = _callback.compute_epoch(acc, options)
    values = result.values("val_auroc", per_class=True)
    assert list(values) == [
        "val_auroc",
        "val_auroc/a",
        "val_auroc/b",
        "val_auroc/c",
        "val_ap",
        "val_ap/a",
        "val_ap/b",
        "val_ap/c",
    ]
    probs = torch.softmax(p.double(), 1).numpy()
    assert abs(float(values["val_ap"]) - _sk_ap(t.numpy(), probs)) < TOL
    assert abs(float(values["val_ap/b"]) - average_precision_score(t.numpy() == 1, probs[:, 1])) < TOL
    rec = result.record(epoch=0)
    assert rec["ap"] == pytest.approx(float(values["val_ap"]), abs=0) and set(rec["ap_per_class"]) == {"a", "b", "c"}
    assert _callback.scalar_keys("auroc", class_keys=["x"], sep="_", ap=True) == ["auroc", "auroc_x", "ap", "ap_x"]
    assert _callback.scalar_keys("cb", ap=True) == ["cb", "cb_ap"]


def test_one_sort_serves_both_in_exact_mode(monkeypatch):
    from auroc_callbacks import _ranking

    calls = []
    real = _ranking.rank
    monkeypatch.setattr(_ranking, "rank", lambda *a, **k: calls.append(k.get("with_ap")) or real(*a, **k))
    acc = ac.AUROCAccumulator(num_classes=4)
    acc.update(torch.randn(200, 4), torch.arange(200) % 4)
    options = _callback.check_callback_options(acc, name="val_auroc", average_precision=True)
    result = _callback.compute_epoch(acc, options)
    assert calls == [True] and result.ap is not None


def test_undefined_class_warns_once_for_auroc_and_ap():
    for extra in ({}, {"ci": True}, {"mode": "histogram"}):
        acc = ac.AUROCAccumulator(num_classes=3, **extra)
        acc.update(torch.rand(40, 3), torch.arange(40) % 2)  # class 2 absent
        options = _callback.check_callback_options(acc, name="val_auroc", average_precision=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _callback.compute_epoch(acc, options)
        ours = [w for w in caught if issubclass(w.category, ac.UndefinedAUROCWarning)]
        assert len(ours) == 1, (extra, [str(w.message) for w in ours])
        assert torch.isnan(result.ap.per_class[2]) and not torch.isnan(result.ap.value)


def test_histogram_epoch_logs_ap_and_its_certified_interval():
    g = torch.Generator().manual_seed(1)
    probs = torch.rand(3000, generator=g)
    target = (torch.rand(3000, generator=g) < probs).long()
    acc = ac.AUROCAccumulator(mode="histogram")
    acc.update(probs, target)
    options = _callback.check_callback_options(acc, name="val_auroc", average_precision=True)
    values = _callback.compute_epoch(acc, options).values("val_auroc")
    assert list(values) == ["val_auroc", "val_auroc_bound", "val_ap", "val_ap_lo", "val_ap_hi"]
    exact = average_precision_score(target.numpy(), probs.double().numpy())
    assert float(values["val_ap_lo"]) <= exact <= float(values["val_ap_hi"])
    rounded = average_precision_score(target.numpy(), probs.to(torch.float16).double().numpy())
    assert abs(float(values["val_ap"]) - rounded) < TOL


def test_average_precision_option_is_checked():
    acc = ac.AUROCAccumulator(num_classes=3, multi_class="ovo")
    with pytest.raises(ValueError, match="average_precision=True.*multi_class='ovr'"):
        _callback.check_callback_options(acc, name="val_auroc", average_precision=True)
    with pytest.raises(TypeError, match="average_precision"):
        _callback.check_callback_options(ac.AUROCAccumulator(), name="val_auroc", average_precision="yes")


def test_weights_allowed_is_checked_before_any_batch():
    for options, match in (
        ({"ci": True}, "ci=True"),
        ({"mode": "histogram"}, "mode='exact'"),
        ({"num_classes": 3, "multi_class": "ovo"}, "ovo"),
    ):
        with pytest.raises(ValueError, match=match):
            ac.AUROCAccumulator(**options).check_weights_allowed()
    ac.AUROCAccumulator().check_weights_allowed()  # exact mode: fine


# ----------------------------------------------------------------------------- Lightning


def _lightning():
    for package in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(package)
        except Exception:
            continue
    pytest.skip("no Lightning package")


def _lightning_fit(tmp_path, callback, data, *, weighted=False, logger=False, epochs=2):
    pl = _lightning()
    pl.seed_everything(0)
    (x, y, w), (xv, yv, wv) = _data(data)
    n_out = 1 if data == "cancer" else 10

    class Model(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, n_out))

        def forward(self, xb):
            return self.net(xb)

        def _loss(self, logits, yb):
            if n_out == 1:
                return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], yb.float())
            return torch.nn.functional.cross_entropy(logits, yb)

        def training_step(self, batch, batch_idx):
            xb, yb, _ = batch
            return self._loss(self(xb), yb)

        def validation_step(self, batch, batch_idx):
            xb, yb, wb = batch
            logits = self(xb)
            out = {"logits": logits, "target": yb}
            if weighted:
                out["weight"] = wb
            return out

        def predict_step(self, batch, batch_idx):
            return self(batch[0])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    from torch.utils.data import DataLoader, TensorDataset

    model = Model()
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
        callbacks=[callback],
    )
    val = DataLoader(TensorDataset(xv, yv, wv), batch_size=32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        trainer.fit(model, DataLoader(TensorDataset(x, y, w), batch_size=32, shuffle=True), val)
        trainer.logged = dict(trainer.callback_metrics)  # predict() clears them
        logits = torch.cat(trainer.predict(model, val)).float()
    probs = torch.sigmoid(logits[:, 0]) if n_out == 1 else torch.softmax(logits, 1)
    return trainer, probs.double().numpy(), yv.numpy(), wv.double().numpy()


@pytest.mark.slow
def test_lightning_logs_val_ap_per_class_equal_to_sklearn_on_predict(tmp_path):
    from auroc_callbacks.lightning import AUROCCallback

    cb = AUROCCallback(num_classes=10, per_class=True, average_precision=True)
    trainer, probs, y, _ = _lightning_fit(tmp_path, cb, "digits")
    logged = trainer.logged
    assert abs(float(logged["val_ap"]) - _sk_ap(y, probs)) < TOL
    for k in (0, 3, 9):
        assert abs(float(logged[f"val_ap/{k}"]) - average_precision_score(y == k, probs[:, k])) < TOL
    assert abs(float(logged["val_auroc"]) - roc_auc_score(y, probs, multi_class="ovr")) < TOL
    assert len(cb.history) == 2 and cb.history[-1]["ap"] == pytest.approx(_sk_ap(y, probs), abs=TOL)


@pytest.mark.slow
def test_lightning_reads_weights_from_validation_step(tmp_path):
    from auroc_callbacks.lightning import AUROCCallback

    cb = AUROCCallback(average_precision=True)
    trainer, probs, y, w = _lightning_fit(tmp_path, cb, "cancer", weighted=True)
    logged = trainer.logged
    assert abs(float(logged["val_auroc"]) - roc_auc_score(y, probs, sample_weight=w)) < TOL
    assert abs(float(logged["val_ap"]) - average_precision_score(y, probs, sample_weight=w)) < TOL
    assert abs(float(logged["val_auroc"]) - roc_auc_score(y, probs)) > 1e-6  # the weights changed the value


@pytest.mark.slow
def test_lightning_weights_with_histogram_fail_at_the_sanity_check(tmp_path):
    from auroc_callbacks.lightning import AUROCCallback

    with pytest.raises(ValueError, match="`weight` needs mode='exact'"):
        _lightning_fit(tmp_path, AUROCCallback(mode="histogram"), "cancer", weighted=True, epochs=1)


@pytest.mark.slow
def test_lightning_histogram_and_ci_modes_log_ap(tmp_path):
    from auroc_callbacks.lightning import AUROCCallback

    hist = AUROCCallback(name="hist_auroc", mode="histogram", average_precision=True)
    trainer, probs, y, _ = _lightning_fit(tmp_path, hist, "cancer", epochs=1)
    logged = trainer.logged
    exact = average_precision_score(y, probs)
    assert float(logged["hist_ap_lo"]) <= exact + 1e-12 and exact - 1e-12 <= float(logged["hist_ap_hi"])
    ci = AUROCCallback(ci=True, average_precision=True)
    trainer, probs, y, _ = _lightning_fit(tmp_path, ci, "cancer", epochs=1)
    assert abs(float(trainer.logged["val_ap"]) - average_precision_score(y, probs)) < TOL
    assert "val_auroc_lo" in trainer.logged


@pytest.mark.slow
def test_lightning_tensorboard_gets_the_pr_figure_next_to_the_roc(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from auroc_callbacks.lightning import AUROCCallback

    pl = _lightning()
    logger = pl.loggers.TensorBoardLogger(str(tmp_path), name="tb")
    cb = AUROCCallback(num_classes=10, log_curve=True, average_precision=True)
    _lightning_fit(tmp_path, cb, "digits", logger=logger, epochs=1)
    ea = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    assert {"val_auroc/roc", "val_auroc/pr_figure"} <= set(ea.Tags()["images"])
    assert "val_ap" in ea.Tags()["scalars"]


# ----------------------------------------------------------------------------- fastai


def _fastai_learner(data, cb, *, weighted_data=True):
    pytest.importorskip("fastai")
    from fastai.callback.progress import ProgressCallback
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader as FastDL
    from fastai.learner import Learner

    (x, y, w), (xv, yv, wv) = _data(data)
    n_out = 1 if data == "cancer" else 10
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, n_out))

    def rows(xs, ys, ws):
        return [(a, b, c) for a, b, c in zip(xs, ys, ws)] if weighted_data else [(a, b) for a, b in zip(xs, ys)]

    dls = DataLoaders(
        FastDL(rows(x, y, w), bs=64, shuffle=True, drop_last=True), FastDL(rows(xv, yv, wv), bs=64), device="cpu"
    )
    dls.n_inp = 1

    def loss(pred, yb, *_):
        if n_out == 1:
            return torch.nn.functional.binary_cross_entropy_with_logits(pred[:, 0], yb.float())
        return torch.nn.functional.cross_entropy(pred, yb)

    learn = Learner(dls, model, loss_func=loss, cbs=cb, lr=1e-2)
    learn.remove_cb(ProgressCallback)
    learn.logger = lambda *a: None
    return learn, (xv, yv, wv), n_out


def _probs(model, xv, n_out):
    model.eval()
    with torch.no_grad():
        logits = model(xv)
    return (torch.sigmoid(logits[:, 0]) if n_out == 1 else torch.softmax(logits, 1)).double().numpy()


@pytest.mark.slow
def test_fastai_ap_columns_before_time_equal_sklearn():
    from auroc_callbacks.fastai import AUROCCallback

    cb = AUROCCallback(num_classes=10, per_class=True, average_precision=True, activation="softmax")
    learn, (xv, yv, _), n_out = _fastai_learner("digits", cb, weighted_data=False)
    learn.fit(2, 1e-2)
    names = list(learn.recorder.metric_names)
    assert names[-1] == "time" and names.index("ap") > names.index("auroc_9") and names[-2] == "ap_9"
    row = dict(zip(names[1:], learn.recorder.values[-1]))
    probs = _probs(learn.model, xv, n_out)
    y = yv.numpy()
    assert abs(row["ap"] - _sk_ap(y, probs)) < 1e-7
    assert abs(row["ap_3"] - average_precision_score(y == 3, probs[:, 3])) < 1e-7
    logits, targs = learn.get_preds()  # fastai's own predictions (a plain loss: no activation applied)
    assert abs(row["ap"] - _sk_ap(targs.numpy(), torch.softmax(logits.double(), 1).numpy())) < 1e-6


@pytest.mark.slow
def test_fastai_weight_func_weights_auroc_and_ap():
    from auroc_callbacks.fastai import AUROCCallback

    cb = AUROCCallback(average_precision=True, activation="sigmoid", weight_func=lambda learn: learn.yb[1])
    learn, (xv, yv, wv), n_out = _fastai_learner("cancer", cb)
    learn.fit(1, 1e-2)
    names = list(learn.recorder.metric_names)
    row = dict(zip(names[1:], learn.recorder.values[-1]))
    probs, y, w = _probs(learn.model, xv, n_out), yv.numpy(), wv.double().numpy()
    assert abs(row["auroc"] - roc_auc_score(y, probs, sample_weight=w)) < 1e-7
    assert abs(row["ap"] - average_precision_score(y, probs, sample_weight=w)) < 1e-7
    assert cb.history[-1]["ap"] == pytest.approx(row["ap"], abs=1e-12)


def test_fastai_weight_func_is_checked_at_construction():
    pytest.importorskip("fastai")
    from auroc_callbacks.fastai import AUROCCallback

    with pytest.raises(ValueError, match="ci=True"):
        AUROCCallback(ci=True, weight_func=lambda learn: learn.yb[1])
    with pytest.raises(TypeError, match="weight_func"):
        AUROCCallback(weight_func="yb")
    with pytest.raises(ValueError, match="multi_class='ovr'"):
        AUROCCallback(num_classes=3, multi_class="ovo", average_precision=True)


# ----------------------------------------------------------------------------- torchmetrics


def test_torchmetrics_average_precision_equals_sklearn():
    tm = pytest.importorskip("auroc_callbacks.torchmetrics")
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(500, 5, generator=g)
    target = torch.randint(0, 5, (500,), generator=g)
    probs = torch.softmax(logits.double(), 1).numpy()
    for average in ("macro", "weighted"):
        metric = tm.AveragePrecision(num_classes=5, average=average)
        for chunk in range(0, 500, 64):
            metric.update(logits[chunk : chunk + 64], target[chunk : chunk + 64])
        assert abs(float(metric.compute()) - _sk_ap(target.numpy(), probs, average)) < TOL
    hist = tm.AveragePrecision(task="multiclass", num_classes=5, mode="histogram")
    hist.update(torch.softmax(logits, 1), target)
    bound = hist.compute_bound()
    assert float(bound.lower) <= _sk_ap(target.numpy(), probs) <= float(bound.upper)
    with pytest.raises(ValueError, match="ovo"):
        tm.AveragePrecision(num_classes=5, multi_class="ovo")


# ----------------------------------------------------------------------------- plot_pr and the report


def _classifier_outputs():
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(x[:1000], y[:1000])
    return torch.tensor(model.predict_proba(x[1000:])), torch.tensor(y[1000:])


def test_plot_pr_legend_baselines_and_decisions_equal_sklearn():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from auroc_callbacks.plotting import plot_pr

    probs, y = _classifier_outputs()
    fig, ax = plot_pr(probs, y)
    try:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        for k in (0, 8):
            assert f"{k} (AP = {average_precision_score(y.numpy() == k, probs[:, k].numpy()):.3f})" in labels
        onehot = label_binarize(y.numpy(), classes=np.arange(10))
        assert f"micro-average (AP = {average_precision_score(onehot, probs.numpy(), average='micro'):.3f})" in labels
        base = {line.get_gid(): line.get_ydata()[0] for line in ax.lines if str(line.get_gid()).startswith("pr/base")}
        assert base["pr/baseline/4"] == pytest.approx(float((y == 4).double().mean()), abs=1e-12)
        prec, rec, _, _ = precision_recall_fscore_support(
            y.numpy(), probs.argmax(1).numpy(), labels=range(10), zero_division=np.nan
        )
        point = next(line for line in ax.lines if line.get_gid() == "pr/operating_point/2")
        assert point.get_xdata()[0] == pytest.approx(rec[2]) and point.get_ydata()[0] == pytest.approx(prec[2])
    finally:
        plt.close(fig)


def test_plot_pr_marks_a_class_without_positives_and_warns_once():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from auroc_callbacks.plotting import plot_pr

    probs = torch.softmax(torch.randn(60, 3), 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plot_pr(probs, torch.arange(60) % 2)
    plt.close(fig)
    assert sum(issubclass(w.category, ac.UndefinedAUROCWarning) for w in caught) == 1
    assert "2 (AP undefined: no positives)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_report_has_an_ap_column_equal_to_sklearn():
    probs, y = _classifier_outputs()
    r = ac.report(probs, y)
    for k in (1, 9):
        assert abs(r.classes[k].ap - average_precision_score(y.numpy() == k, probs[:, k].numpy())) < TOL
    assert abs(r.macro.ap - _sk_ap(y.numpy(), probs.numpy(), "macro")) < TOL
    assert abs(r.weighted.ap - _sk_ap(y.numpy(), probs.numpy(), "weighted")) < TOL
    assert "AP" in r.to_text().splitlines()[0].split()


# ----------------------------------------------------------------------------- DDP


def _ddp(tmp_path, devices):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path), str(devices)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(devices)]


@pytest.mark.slow
@pytest.mark.parametrize("devices", [2, 3])
def test_ddp_uneven_shards_with_weights_equal_sklearn(tmp_path, devices):
    _lightning()
    ranks = _ddp(tmp_path, devices)
    rows = {}
    for r in ranks:
        for i, logits, target, weight in r["rows"]:
            rows[i] = (logits, target, weight)  # the sampler's duplicates land on the same index
    assert sorted(rows) == list(range(len(rows)))
    logits = torch.tensor([rows[i][0] for i in sorted(rows)])
    y = np.array([rows[i][1] for i in sorted(rows)])
    w = np.array([rows[i][2] for i in sorted(rows)])
    probs = torch.softmax(logits, 1).double().numpy()
    for r in ranks:  # every rank logs the same, de-duplicated values
        assert r["sync_dist_advice"] == []
        assert abs(r["exact"]["val_ap"] - _sk_ap(y, probs, weight=w)) < 1e-7
        assert abs(r["exact"]["val_auroc"] - roc_auc_score(y, probs, multi_class="ovr", sample_weight=w)) < 1e-7
        assert abs(r["exact"]["val_ap/3"] - average_precision_score(y == 3, probs[:, 3], sample_weight=w)) < 1e-7
        lo, hi = r["hist"]["hist_ap_lo"], r["hist"]["hist_ap_hi"]
        assert lo - 1e-9 <= _sk_ap(y, probs) <= hi + 1e-9
