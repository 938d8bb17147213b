"""Figures to every Lightning logger (auroc_callbacks.loggers), read back from the real services in their local modes.

W&B runs offline (``WANDB_MODE=offline``, its files under the test's tmp
dir): what was logged is read back from the run's ``.wandb`` transaction
log (wandb's own protobuf records) and its ``media/`` files. MLflow uses a
``file:`` tracking URI under the tmp dir, read back with ``MlflowClient``.
The CSV logger's PNGs are opened with ``matplotlib.image.imread``. No
network is used. The accumulators are filled with scikit-learn models'
predictions on its bundled data; the reference curves come from scikit-learn.
"""

import csv as csv_module
import importlib
import json
import math
import os
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

pl = pytest.importorskip("lightning.pytorch")
pytest.importorskip("matplotlib").use("Agg")
pytest.importorskip("sklearn")

from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.image import imread  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, load_wine  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import auroc_callbacks as ac  # noqa: E402
from auroc_callbacks import _callback  # noqa: E402
from auroc_callbacks.loggers import (  # noqa: E402
    MAX_TABLE_POINTS,
    CSVWriter,
    MLflowWriter,
    WandbWriter,
    figure_writers,
    log_epoch_figures,
    pr_curve_figure,
)
from auroc_callbacks.tensorboard import log_auroc  # noqa: E402

lightning_callbacks = importlib.import_module("auroc_callbacks.lightning")
WIRED = hasattr(lightning_callbacks, "figure_writers")  # the wiring (issue 17) is in lightning.py
needs_wiring = pytest.mark.skipif(not WIRED, reason="AUROCCallback does not use auroc_callbacks.loggers yet")
STEP = 5


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """W&B offline and MLflow on a local file store, everything under tmp_path: nothing leaves the machine."""
    for key, sub in (
        ("WANDB_DIR", "wandb"),
        ("WANDB_CONFIG_DIR", "wandb-config"),
        ("WANDB_CACHE_DIR", "wandb-cache"),
        ("WANDB_DATA_DIR", "wandb-data"),
        ("WANDB_ARTIFACT_DIR", "wandb-artifacts"),
    ):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(key, str(tmp_path / sub))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    monkeypatch.setenv("WANDB_DISABLE_CODE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 refuses a file store without it
    yield
    plt.close("all")
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:  # a failed test must not leave its run to the next one
        wandb.finish()


# ----------------------------------------------------------------------------- epochs from scikit-learn models


def _predictions(loader, binary: bool):
    x, y = loader(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    n = len(y) // 2
    model = LogisticRegression(max_iter=300, C=0.05).fit(x[:n], y[:n])
    probs = model.predict_proba(x[n:]).astype(np.float32)
    return (probs[:, 1] if binary else probs), y[n:]


def _epoch(loader, *, binary=False, class_names=None, **callback):
    """An accumulator filled with a fitted model's probabilities, its checked options and its epoch result."""
    probs, y = _predictions(loader, binary)
    acc = ac.AUROCAccumulator(**({} if binary else {"num_classes": probs.shape[1]}))
    acc.update(torch.from_numpy(probs), torch.from_numpy(y))
    options = _callback.check_callback_options(acc, name="val_auroc", class_names=class_names, **callback)
    return acc, options, _callback.compute_epoch(acc, options), probs, y


def _png_ok(path) -> bool:
    image = imread(str(path))
    return image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def _csv_logger(tmp_path):
    return pl.loggers.CSVLogger(str(tmp_path), name="csv")


def _mlflow_logger():
    pytest.importorskip("mlflow")
    return pl.loggers.MLFlowLogger(experiment_name="auroc", tracking_uri=os.environ["MLFLOW_TRACKING_URI"])


def _wandb_logger(tmp_path):
    pytest.importorskip("wandb")
    return pl.loggers.WandbLogger(project="auroc", save_dir=str(tmp_path / "wandb"), offline=True)


# ----------------------------------------------------------------------------- reading a W&B offline run back


def _records(raw: bytes):
    """The records of a W&B transaction log (LevelDB log format: 32 KiB blocks, 7-byte record headers)."""
    pos, block, chunk = 7, 32768, b""  # after the file header ':W&B' + magic + version
    while pos + 7 <= len(raw):
        left = block - pos % block
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        if pos + 7 + length > len(raw):  # still being written
            return
        chunk += raw[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST
            yield chunk
            chunk = b""


def _wandb_history(run_dir: Path) -> list:
    """Every history row of the offline run in ``run_dir``: ``{key: value}``, nested keys joined with ``/``."""
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = run_dir.glob("run-*.wandb")
    for _ in range(300):  # wandb.finish() can return before wandb-core has written the run's last records
        records = []
        for data in _records(path.read_bytes()):
            records.append(pb.Record())
            records[-1].ParseFromString(data)
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"{path} has no exit record: the run was not finished")
    return [
        {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
        for r in records
        if r.WhichOneof("record_type") == "history"
    ]


def _finish_wandb(run) -> Path:
    import wandb

    run_dir = Path(run.dir).parent  # .../offline-run-<time>-<id>/files -> the run's folder
    wandb.finish()
    return run_dir


# ----------------------------------------------------------------------------- which writer for which logger


class _ListLogger(pl.loggers.Logger):
    """A logger that takes no figures: it keeps the metrics it is given."""

    def __init__(self):
        super().__init__()
        self.metrics = []

    @property
    def name(self):
        return "list"

    @property
    def version(self):
        return 0

    def log_hyperparams(self, params, *args, **kwargs):
        pass

    def log_metrics(self, metrics, step=None):
        self.metrics.append((step, dict(metrics)))


def test_figure_writers_gives_one_writer_per_logger_that_takes_figures_in_order_and_skips_the_others(tmp_path):
    tb = pytest.importorskip("tensorboard") and pl.loggers.TensorBoardLogger(str(tmp_path), name="tb")
    loggers = [_ListLogger(), _csv_logger(tmp_path), tb, _mlflow_logger(), _wandb_logger(tmp_path)]
    writers = figure_writers(loggers)
    assert [type(w) for w in writers[:1] + writers[2:]] == [CSVWriter, MLflowWriter, WandbWriter]
    assert writers[1] is tb.experiment  # TensorBoard's own SummaryWriter, unchanged
    assert [w.logger for w in writers if hasattr(w, "logger")] == [loggers[1], loggers[3], loggers[4]]
    assert figure_writers([]) == [] and figure_writers([_ListLogger()]) == []
    with pytest.raises(TypeError, match=r"`loggers` must be a list of loggers \(trainer.loggers\); got CSVLogger"):
        figure_writers(loggers[1])


def test_the_module_imports_no_framework_and_neither_wandb_nor_mlflow():
    code = (
        "import sys, auroc_callbacks.loggers; print(sorted(m for m in ('wandb', 'mlflow', 'lightning', 'fastai',"
        " 'pytorch_lightning', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- each writer, on sklearn predictions


def test_csv_writer_saves_each_figure_as_a_png_beside_metrics_csv(tmp_path):
    acc, options, result, _, _ = _epoch(load_digits, per_class=True, calibration=True, log_curve=True, pr_curves=True)
    logger = _csv_logger(tmp_path)
    (writer,) = figure_writers([logger])
    log_epoch_figures([writer], acc, result, tag="val_auroc", step=STEP, options=options)
    folder = Path(logger.log_dir) / "figures"
    assert writer.folder == folder
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    expected = [
        "val_auroc/roc/step_000005.png",
        "val_calibration/reliability/step_000005.png",
        *(f"val_auroc/pr/{c}/step_000005.png" for c in range(10)),
    ]
    assert found == sorted(expected)
    assert all(_png_ok(folder / p) for p in found)
    assert plt.get_fignums() == []  # every figure closed


def test_one_dataloaders_figures_get_its_suffix_and_histogram_mode_draws_its_counts(tmp_path):
    probs, y = _predictions(load_breast_cancer, binary=True)
    acc = ac.AUROCAccumulator(mode="histogram")
    acc.update(torch.from_numpy(probs), torch.from_numpy(y))
    options = _callback.check_callback_options(acc, name="val_auroc", log_curve=True)
    result = _callback.compute_epoch(acc, options)
    logger = _csv_logger(tmp_path)
    log_epoch_figures(
        figure_writers([logger]), acc, result, tag="val_auroc", step=3, options=options, suffix="/dataloader_idx_1"
    )
    (png,) = (Path(logger.log_dir) / "figures").rglob("*.png")
    assert png.relative_to(logger.log_dir).as_posix() == "figures/val_auroc/roc/dataloader_idx_1/step_000003.png"
    assert _png_ok(png)


def test_mlflow_writer_stores_the_figures_as_run_artifacts(tmp_path):
    from mlflow import MlflowClient

    acc, options, result, _, _ = _epoch(
        load_wine, per_class=True, class_names=["a", "b", "c"], calibration=True, log_curve=True, pr_curves=True
    )
    logger = _mlflow_logger()
    log_epoch_figures(figure_writers([logger]), acc, result, tag="val_auroc", step=STEP, options=options)
    logger.finalize("success")
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])

    def files(path):
        out = []
        for info in client.list_artifacts(logger.run_id, path):
            out += files(info.path) if info.is_dir else [info.path]
        return out

    assert sorted(files(None)) == sorted(
        [
            "val_auroc/roc/step_000005.png",
            "val_calibration/reliability/step_000005.png",
            *(f"val_auroc/pr/{c}/step_000005.png" for c in "abc"),
        ]
    )
    local = client.download_artifacts(logger.run_id, "val_auroc/roc/step_000005.png", str(tmp_path))
    assert _png_ok(local)
    assert plt.get_fignums() == []


def test_wandb_writer_logs_images_and_a_roc_table_equal_to_sklearns_curves(tmp_path):
    acc, options, result, probs, y = _epoch(
        load_digits, per_class=True, calibration=True, log_curve=True, pr_curves=True
    )
    logger = _wandb_logger(tmp_path)
    log_epoch_figures(figure_writers([logger]), acc, result, tag="val_auroc", step=STEP, options=options)
    run_dir = _finish_wandb(logger.experiment)
    rows = _wandb_history(run_dir)
    keys = {k.rsplit("/", 1)[0] for row in rows for k in row if k.endswith("/_type")}
    assert keys == {
        "val_auroc/roc",
        "val_calibration/reliability",
        "val_auroc/roc_points",
        *(f"val_auroc/pr/{c}" for c in range(10)),
    }
    assert all(row["trainer/global_step"] == STEP for row in rows)  # Lightning's step key
    (roc,) = [row for row in rows if "val_auroc/roc/_type" in row]
    assert roc["val_auroc/roc/_type"] == "image-file" and _png_ok(run_dir / "files" / roc["val_auroc/roc/path"])
    (table_row,) = [row for row in rows if "val_auroc/roc_points/_type" in row]
    table = json.loads((run_dir / "files" / table_row["val_auroc/roc_points/path"]).read_text())
    assert table["columns"] == ["class", "fpr", "tpr", "threshold"]
    data = np.array([r[1:] for r in table["data"]], dtype=np.float64)
    names = np.array([r[0] for r in table["data"]])
    assert sorted(set(names)) == [str(c) for c in range(10)]
    for c in range(10):
        fpr, tpr, thresholds = roc_curve(y == c, probs[:, c])
        mine = data[names == str(c)]
        np.testing.assert_allclose(mine[:, 0], fpr, atol=1e-12)
        np.testing.assert_allclose(mine[:, 1], tpr, atol=1e-12)
        np.testing.assert_allclose(mine[:, 2], thresholds, rtol=1e-6)  # the first is inf, as in scikit-learn
    assert plt.get_fignums() == []


def test_wandb_table_thins_a_long_curve_keeping_its_ends(tmp_path):
    rng = np.random.default_rng(0)
    scores = torch.from_numpy(rng.random(20_000))
    target = torch.from_numpy(rng.random(20_000) < 0.3 + 0.4 * scores.numpy())
    acc = ac.AUROCAccumulator()
    acc.update(scores, target)
    options = _callback.check_callback_options(acc, name="val_auroc", log_curve=True)
    logger = _wandb_logger(tmp_path)
    (writer,) = figure_writers([logger])
    writer.add_roc_table("val_auroc/roc_points", acc, ["1"], global_step=1)
    run_dir = _finish_wandb(logger.experiment)
    (row,) = [r for r in _wandb_history(run_dir) if "val_auroc/roc_points/path" in r]
    data = np.array(
        [r[1:] for r in json.loads((run_dir / "files" / row["val_auroc/roc_points/path"]).read_text())["data"]],
        dtype=np.float64,
    )
    fpr, tpr, _ = roc_curve(target.numpy(), scores.numpy())
    assert len(fpr) > MAX_TABLE_POINTS and len(data) == MAX_TABLE_POINTS
    np.testing.assert_allclose(data[[0, -1], :2], [[fpr[0], tpr[0]], [fpr[-1], tpr[-1]]])
    assert options.log_curve is True


def test_pr_figure_draws_sklearns_curve_labelled_with_its_average_precision():
    probs, y = _predictions(load_breast_cancer, binary=True)
    fig = pr_curve_figure(y, probs, title="val_auroc/pr")
    ax = fig.axes[0]
    assert ax.get_legend().get_texts()[0].get_text() == f"AP = {average_precision_score(y, probs):.3f}"
    precision, recall, _ = precision_recall_curve(y, probs)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), recall, atol=1e-12)
    np.testing.assert_allclose(line.get_ydata(), precision, atol=1e-12)
    assert ax.get_title() == "val_auroc/pr" and plt.get_fignums() == []  # no pyplot figure


def test_log_auroc_with_scalars_sends_them_to_the_loggers_log_metrics_and_pyplot_figures_are_closed(tmp_path):
    acc, _, result, probs, y = _epoch(load_wine, class_names=["a", "b", "c"])
    logger = _ListLogger()
    writer = CSVWriter(logger)  # any logger's log_metrics takes the scalars
    log_auroc(writer, acc, step=2, tag="val_auroc", class_names=["a", "b", "c"], figure=False, pr_curves=False)
    assert [step for step, _ in logger.metrics] == [2] * 4
    got = {k: v for _, m in logger.metrics for k, v in m.items()}
    assert got["val_auroc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"), abs=1e-12)
    assert got["val_auroc/b"] == pytest.approx(roc_auc_score(y == 1, probs[:, 1]), abs=1e-12)
    csv = _csv_logger(tmp_path)
    fig = plt.figure()
    fig.gca().plot([0, 1])
    figure_writers([csv])[0].add_figure("drawn/by/pyplot", fig, global_step=1)
    assert plt.get_fignums() == [] and _png_ok(Path(csv.log_dir) / "figures/drawn/by/pyplot/step_000001.png")


# ----------------------------------------------------------------------------- through a real Lightning fit


class _Classifier(pl.LightningModule):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_out))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        return {"logits": self(x), "target": y}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def _wine():
    x, y = load_wine(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    x = torch.tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32)
    y = torch.tensor(y)
    n_val = len(y) * 2 // 5
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def _fit(tmp_path, callbacks, loggers, max_epochs=2):
    pl.seed_everything(0)
    x, y, xv, yv = _wine()
    model = _Classifier(x.shape[1], 3)
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        devices=1,
        logger=loggers,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        trainer.fit(
            model,
            DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True),
            DataLoader(TensorDataset(xv, yv), batch_size=32),
        )
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(xv), dim=1).numpy()
    return trainer, probs, yv.numpy()


@needs_wiring
@pytest.mark.slow
def test_a_fit_draws_into_csv_and_wandb_and_each_gets_the_per_class_values(tmp_path):
    csv, wandb_logger = _csv_logger(tmp_path), _wandb_logger(tmp_path)
    cb = lightning_callbacks.AUROCCallback(
        per_class=True, class_names=["a", "b", "c"], log_curve=True, pr_curves=True, calibration=True
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        trainer, probs, y = _fit(tmp_path, [cb], [csv, wandb_logger])
    assert not [w for w in record if "no figure is logged" in str(w.message)]
    steps = [h["step"] for h in cb.history]
    assert len(steps) == 2 and plt.get_fignums() == []
    last = cb.history[-1]  # the callback's numbers are scikit-learn's on the model's own predictions
    assert last["value"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"), abs=1e-6)
    for c, name in enumerate("abc"):
        assert last["per_class"][name] == pytest.approx(roc_auc_score(y == c, probs[:, c]), abs=1e-6)
    figures = ["val_auroc/roc", "val_calibration/reliability", *(f"val_auroc/pr/{c}" for c in "abc")]

    # CSV: a PNG per figure and step, and the per-class values in metrics.csv
    folder = Path(csv.log_dir) / "figures"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png")) == sorted(
        f"{f}/step_{s:06d}.png" for f in figures for s in steps
    )
    assert _png_ok(folder / f"val_auroc/roc/step_{steps[-1]:06d}.png")
    with open(Path(csv.log_dir) / "metrics.csv") as f:
        rows = [r for r in csv_module.DictReader(f) if r.get("val_auroc/b")]
    assert [float(r["val_auroc/b"]) for r in rows] == pytest.approx([h["per_class"]["b"] for h in cb.history], abs=1e-6)

    # W&B: images and ROC tables at Lightning's steps, the per-class values in the history
    run_dir = _finish_wandb(wandb_logger.experiment)
    rows = _wandb_history(run_dir)
    for key in [*figures, "val_auroc/roc_points"]:
        assert [r["trainer/global_step"] for r in rows if f"{key}/_type" in r] == steps, key
    assert [r["val_auroc/a"] for r in rows if "val_auroc/a" in r] == pytest.approx(
        [h["per_class"]["a"] for h in cb.history], abs=1e-6
    )
    (first, *_) = [r for r in rows if "val_auroc/roc/path" in r]
    assert _png_ok(run_dir / "files" / first["val_auroc/roc/path"])


@needs_wiring
@pytest.mark.slow
def test_a_fit_draws_into_mlflow_and_its_numbers_are_the_runs_metrics(tmp_path):
    """Without per_class: MLflow's file store keeps a metric in a file named after its key, so ``val_auroc`` and
    ``val_auroc/a`` cannot both be stored (a database store or a tracking server can)."""
    from mlflow import MlflowClient

    mlflow = _mlflow_logger()
    cb = lightning_callbacks.AUROCCallback(log_curve=True, pr_curves=True, calibration=True)
    _fit(tmp_path, [cb], [mlflow])
    steps = [h["step"] for h in cb.history]
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    for f in ["val_auroc/roc", "val_calibration/reliability", *(f"val_auroc/pr/{c}" for c in range(3))]:
        assert [a.path for a in client.list_artifacts(mlflow.run_id, f)] == [f"{f}/step_{s:06d}.png" for s in steps]
    for key, value in (("val_auroc", lambda h: h["value"]), ("val_ece", lambda h: h["calibration"]["ece"])):
        history = client.get_metric_history(mlflow.run_id, key)
        assert [m.value for m in history] == pytest.approx([value(h) for h in cb.history], abs=1e-6)
    local = client.download_artifacts(mlflow.run_id, f"val_auroc/roc/step_{steps[0]:06d}.png", str(tmp_path))
    assert _png_ok(local) and plt.get_fignums() == []


@needs_wiring
def test_figures_asked_for_with_no_logger_that_takes_them_warn_once_naming_the_loggers(tmp_path):
    logger = _ListLogger()
    with pytest.warns(UserWarning, match="no figure is logged") as record:
        trainer, _, _ = _fit(tmp_path, [lightning_callbacks.AUROCCallback(per_class=True, log_curve=True)], [logger])
    (message,) = [str(w.message) for w in record if "no figure is logged" in str(w.message)]
    assert "_ListLogger" in message and all(
        k in message for k in ("TensorBoardLogger", "WandbLogger", "MLFlowLogger", "CSVLogger")
    )
    per_class = [m["val_auroc/2"] for _, m in logger.metrics if "val_auroc/2" in m]  # the numbers arrive all the same
    assert len(per_class) == 2 and per_class[-1] == pytest.approx(float(trainer.callback_metrics["val_auroc/2"]))


@needs_wiring
def test_the_default_log_curve_draws_into_a_csv_logger_without_warning(tmp_path):
    csv = _csv_logger(tmp_path)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _fit(tmp_path, [lightning_callbacks.AUROCCallback(log_curve=None)], [csv], max_epochs=1)
    assert not [w for w in record if "no figure is logged" in str(w.message)]
    assert [p.name for p in (Path(csv.log_dir) / "figures" / "val_auroc" / "roc").iterdir()] == ["step_000004.png"]


# ----------------------------------------------------------------------------- fastai's WandbCallback


@pytest.mark.slow
@pytest.mark.skipif(
    not hasattr(importlib.import_module("auroc_callbacks.loggers"), "fastai_wandb_writers"), reason="no fastai writer"
)
def test_fastai_wandb_callback_gets_the_figures_at_the_step_of_its_epoch_row(tmp_path, monkeypatch):
    pytest.importorskip("fastai")
    fastai_callbacks = pytest.importorskip("auroc_callbacks.fastai")
    if not hasattr(fastai_callbacks, "log_epoch_figures"):
        pytest.skip("auroc_callbacks.fastai does not use auroc_callbacks.loggers yet")
    wandb = pytest.importorskip("wandb")
    import fastai.callback.wandb as fastai_wandb
    from fastai.data.core import Datasets
    from fastai.data.transforms import Categorize, IndexSplitter, ItemGetter, ToTensor
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat

    def format_config(config):  # fastai#4173: the released one fails on every int, str or bool (fastcore's init_args)
        return {
            k: format_config(v) if isinstance(v, dict) else v if isinstance(v, (bool, int, float, str)) else str(v)
            for k, v in config.items()
        }

    monkeypatch.setattr(fastai_wandb, "_format_config", format_config)
    x, y, xv, yv = _wine()
    items = list(zip(torch.cat([xv, x]).numpy(), torch.cat([yv, y]).numpy()))
    dsets = Datasets(
        items,
        tfms=[[ItemGetter(0), ToTensor()], [ItemGetter(1), Categorize()]],
        splits=IndexSplitter(list(range(len(yv))))(items),
    )
    dls = dsets.dataloaders(bs=32, num_workers=0)
    run = wandb.init(project="auroc", dir=str(tmp_path / "wandb"), mode="offline")
    cb = fastai_callbacks.AUROCCallback(per_class=True, class_names=["a", "b", "c"], log_curve=True, pr_curves=True)
    learn = Learner(
        dls,
        _Classifier(x.shape[1], 3).net,
        loss_func=CrossEntropyLossFlat(),
        cbs=[fastai_wandb.WandbCallback(log_preds=False, log_model=False, log=None), cb],
    )
    with learn.no_bar(), learn.no_logging():
        learn.fit(2, 1e-2)
    run_dir = _finish_wandb(run)
    rows = _wandb_history(run_dir)
    epochs = [r for r in rows if "auroc" in r]  # the rows where fastai's WandbCallback logged the Recorder columns
    assert [r["auroc_b"] for r in epochs] == pytest.approx([h["per_class"]["b"] for h in cb.history], abs=1e-6)
    for key in ("auroc/roc", "auroc/pr/a", "auroc/roc_points"):
        assert [r["_step"] for r in rows if f"{key}/_type" in r] == [r["_step"] for r in epochs], key
    assert math.isfinite(cb.history[-1]["value"]) and plt.get_fignums() == []
