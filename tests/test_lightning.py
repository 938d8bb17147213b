"""AUROCCallback in real (tiny) Lightning trainings, checked against scikit-learn.

The reference is ``sklearn.metrics.roc_auc_score`` on the validation
probabilities of the trained model, computed here by running the model over
the validation set in the same batches (softmax of float32 logits, as the
core ranks them). The DDP tests run real processes on CPU/gloo through
``tests/_lightning_ddp_worker.py``.
"""

import csv
import functools
import importlib
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

lightning_callbacks = pytest.importorskip("auroc_callbacks.lightning")
pytest.importorskip("sklearn")

from _reference import delong_interval, delong_se  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, load_wine  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import auroc_callbacks as ac  # noqa: E402
from auroc_callbacks import calibration as cal  # noqa: E402

AUROCCallback = lightning_callbacks.AUROCCallback


def _importable(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


PACKAGES = [p for p in ("lightning.pytorch", "pytorch_lightning") if _importable(p)]
PL = PACKAGES[0]  # the package most tests train with
WORKER = Path(__file__).with_name("_lightning_ddp_worker.py")
VAL_BATCH = 32


# ----------------------------------------------------------------------------- tiny models and data


@functools.cache
def _dataset(name):
    loader = {"digits": load_digits, "wine": load_wine, "cancer": load_breast_cancer}[name]
    x, y = loader(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    n_val = len(y) * 2 // 5
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long)
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


@functools.cache
def _module_class(package):
    pl = importlib.import_module(package)

    class Classifier(pl.LightningModule):
        """An MLP whose validation/test step returns its outputs in the form ``output`` names."""

        def __init__(self, n_in, n_out, output="dict"):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_out))
            self.output = output
            self.dtypes = set()

        def forward(self, x):
            return self.net(x)

        def _loss(self, logits, y):
            if logits.shape[1] == 1:
                return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0].float(), y.float())
            return torch.nn.functional.cross_entropy(logits.float(), y)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return self._loss(self(x), y)

        def validation_step(self, batch, batch_idx, dataloader_idx=0):
            x, y = batch
            logits = self(x)
            self.dtypes.add(logits.dtype)
            out = {
                "dict": lambda: {"logits": logits, "target": y, "loss": self._loss(logits, y)},
                "preds": lambda: {"preds": logits, "target": y},
                "tuple": lambda: (logits, y),
                "custom_keys": lambda: {"scores": logits, "y": y},
                "loss": lambda: self._loss(logits, y),
                "none": lambda: None,
                "logits_only": lambda: {"logits": logits},
                "squeezed": lambda: {"logits": logits.squeeze(), "target": y},  # a one-row batch: 0-d logits
            }[self.output]
            return out()

        test_step = validation_step

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    return Classifier


def _model(package, data, output="dict"):
    x, y, _, _ = _dataset(data)
    n_out = 1 if data == "cancer" else int(y.max()) + 1
    return _module_class(package)(x.shape[1], n_out, output)


def _loaders(data):
    x, y, xv, yv = _dataset(data)
    return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), DataLoader(
        TensorDataset(xv, yv), batch_size=VAL_BATCH
    )


def _trainer(package, tmp_path, callbacks, **kwargs):
    pl = importlib.import_module(package)
    options = dict(
        max_epochs=2,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    options.update(kwargs)
    return pl.Trainer(callbacks=callbacks, **options)


def _fit(package, tmp_path, callbacks, data="wine", output="dict", val_dataloaders=None, **kwargs):
    """Train ``max_epochs`` (default 2) epochs (validating on ``val_dataloaders`` when given); return (trainer, model)."""
    importlib.import_module(package).seed_everything(0)
    model = _model(package, data, output)
    trainer = _trainer(package, tmp_path, callbacks, **kwargs)
    train, val = _loaders(data)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
        trainer.fit(model, train, val if val_dataloaders is None else val_dataloaders)
    return trainer, model


def _logits(model, data, bf16=False):
    """The model's validation logits, batch by batch as Lightning ran them."""
    _, _, xv, _ = _dataset(data)
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return torch.cat([model(xb) for xb in xv.split(VAL_BATCH)]).float()


def _reference(model, data, average="macro", bf16=False):
    """scikit-learn's AUROC of the model on the validation set."""
    logits = _logits(model, data, bf16)
    y = _dataset(data)[3].numpy()
    if logits.shape[1] == 1:
        return roc_auc_score(y, logits[:, 0].numpy())
    probs = torch.softmax(logits, dim=1).numpy()
    if average is None:
        return np.array([roc_auc_score(y == k, probs[:, k]) for k in range(probs.shape[1])])
    return roc_auc_score(y, probs, multi_class="ovr", average=average)


def _logged(trainer, key):
    return float(trainer.callback_metrics[key])


# ----------------------------------------------------------------------------- both packages, bare or in a list


@pytest.mark.parametrize("package", PACKAGES)
def test_callback_is_a_callback_of_every_installed_lightning_package(package):
    assert isinstance(AUROCCallback(), importlib.import_module(package).Callback)


@pytest.mark.parametrize("bare", [True, False], ids=["bare", "list"])
@pytest.mark.parametrize("package", PACKAGES)
def test_logged_value_equals_sklearn_on_the_validation_set(tmp_path, package, bare):
    cb = AUROCCallback(num_classes=10)
    trainer, model = _fit(package, tmp_path, cb if bare else [cb], data="digits")
    expected = _reference(model, "digits")
    assert _logged(trainer, "val_auroc") == pytest.approx(expected, abs=1e-9)
    assert [h["epoch"] for h in cb.history] == [0, 1]
    assert cb.history[-1]["value"] == pytest.approx(expected, abs=1e-9)
    assert cb.history[-1]["num_samples"] == len(_dataset("digits")[3])
    assert list(cb.history[-1]["support"].values()) == np.bincount(_dataset("digits")[3].numpy()).tolist()
    assert list(cb.history[-1]["support"]) == [str(k) for k in range(10)]


def test_binary_head_with_one_logit(tmp_path):
    cb = AUROCCallback(per_class=True)
    trainer, model = _fit(PL, tmp_path, [cb], data="cancer")
    assert _logged(trainer, "val_auroc") == pytest.approx(_reference(model, "cancer"), abs=1e-9)
    assert not [k for k in trainer.callback_metrics if k.startswith("val_auroc/")]  # binary: no per-class keys
    assert cb.history[-1]["per_class"] == pytest.approx({"1": _reference(model, "cancer")}, abs=1e-9)


# ----------------------------------------------------------------------------- what validation_step returns


@pytest.mark.parametrize(
    "output, options",
    [
        ("dict", {}),
        ("preds", {}),
        ("tuple", {}),
        ("custom_keys", {"preds_key": "scores", "target_key": "y"}),
        ("loss", None),  # the step returns only its loss: output_transform recomputes the logits from the batch
    ],
    ids=["dict-logits", "dict-preds", "tuple", "custom-keys", "output_transform"],
)
def test_predictions_are_read_from_each_output_form(tmp_path, output, options):
    importlib.import_module(PL).seed_everything(0)
    model = _model(PL, "wine", output)
    if options is None:
        options = {"output_transform": lambda outputs, batch: (model(batch[0]), batch[1])}
    cb = AUROCCallback(**options)
    trainer = _trainer(PL, tmp_path, [cb])
    trainer.fit(model, *_loaders("wine"))
    assert _logged(trainer, "val_auroc") == pytest.approx(_reference(model, "wine"), abs=1e-9)


@pytest.mark.parametrize("output", ["loss", "none", "logits_only"])
def test_outputs_without_predictions_raise_one_clear_error_on_the_first_batch(tmp_path, output):
    cb = AUROCCallback()
    with pytest.raises(TypeError, match="found no predictions in what `validation_step` returned") as err:
        _fit(PL, tmp_path, [cb], output=output, num_sanity_val_steps=0)
    message = str(err.value)
    assert "'logits' or 'preds'" in message and "'target'" in message and "output_transform=" in message
    assert cb.accumulator.num_samples == 0


def test_missing_predictions_fail_during_the_sanity_check(tmp_path):
    cb = AUROCCallback()
    trainer = _trainer(PL, tmp_path, [cb], num_sanity_val_steps=1)
    with pytest.raises(TypeError, match="found no predictions"):
        trainer.fit(_model(PL, "wine", "loss"), *_loaders("wine"))
    assert trainer.global_step == 0  # before any training


def test_output_transform_must_return_a_pair(tmp_path):
    cb = AUROCCallback(output_transform=lambda outputs, batch: outputs["logits"])
    with pytest.raises(TypeError, match="`output_transform` must return a \\(preds, target\\) pair"):
        _fit(PL, tmp_path, [cb], num_sanity_val_steps=0)


# ----------------------------------------------------------------------------- logging and monitoring


def test_model_checkpoint_and_early_stopping_monitor_val_auroc(tmp_path):
    pl = importlib.import_module(PL)
    cb = AUROCCallback(num_classes=3)
    ckpt = pl.callbacks.ModelCheckpoint(
        dirpath=str(tmp_path / "ckpt"), monitor="val_auroc", mode="max", filename="{epoch}-{val_auroc:.6f}"
    )
    stop = pl.callbacks.EarlyStopping(monitor="val_auroc", mode="max", patience=2)
    _fit(PL, tmp_path, [cb, ckpt, stop], max_epochs=4, enable_checkpointing=True)
    values = [h["value"] for h in cb.history]
    best = max(values)
    assert float(ckpt.best_model_score) == pytest.approx(best, abs=1e-12)
    assert f"val_auroc={best:.6f}" in os.path.basename(ckpt.best_model_path)
    assert f"epoch={values.index(best)}-" in os.path.basename(ckpt.best_model_path)
    assert float(stop.best_score) == pytest.approx(best, abs=1e-12)


def test_per_class_values_are_logged_under_class_names(tmp_path):
    names = ["barolo", "grignolino", "barbera d'asti"]
    cb = AUROCCallback(per_class=True, class_names=names)
    trainer, model = _fit(PL, tmp_path, [cb])
    expected = _reference(model, "wine", average=None)
    keys = ["val_auroc/barolo", "val_auroc/grignolino", "val_auroc/barbera_d_asti"]  # tag-safe names
    assert sorted(k for k in trainer.callback_metrics if k.startswith("val_auroc/")) == sorted(keys)
    np.testing.assert_allclose([_logged(trainer, k) for k in keys], expected, rtol=0, atol=1e-9)
    assert cb.history[-1]["per_class"] == pytest.approx(dict(zip(names, expected)), abs=1e-9)


def test_average_none_logs_the_per_class_values_only(tmp_path):
    cb = AUROCCallback(average=None)
    trainer, model = _fit(PL, tmp_path, [cb], max_epochs=1)
    assert "val_auroc" not in trainer.callback_metrics
    np.testing.assert_allclose(
        [_logged(trainer, f"val_auroc/{k}") for k in range(3)],
        _reference(model, "wine", average=None),
        rtol=0,
        atol=1e-9,
    )
    assert len(cb.history[-1]["value"]) == 3


def test_csv_logger_receives_the_scalars(tmp_path):
    pl = importlib.import_module(PL)
    logger = pl.loggers.CSVLogger(str(tmp_path), name="csv")
    cb = AUROCCallback(per_class=True, name="auroc")
    _fit(PL, tmp_path, [cb], logger=logger)
    with open(os.path.join(logger.log_dir, "metrics.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r.get("auroc")]
    assert [float(r["auroc"]) for r in rows] == pytest.approx([h["value"] for h in cb.history], abs=1e-12)
    assert [float(r["auroc/2"]) for r in rows] == pytest.approx([h["per_class"]["2"] for h in cb.history], abs=1e-12)


@pytest.mark.parametrize("package", PACKAGES)
def test_tensorboard_gets_scalars_and_the_roc_figure_per_epoch(tmp_path, package):
    pytest.importorskip("tensorboard")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    pl = importlib.import_module(package)
    logger = pl.loggers.TensorBoardLogger(str(tmp_path), name="tb")
    cb = AUROCCallback(per_class=True, class_names=["a", "b", "c"], log_curve=True, pr_curves=True)
    _fit(package, tmp_path, [cb], logger=logger)
    ea = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    ea.Reload()
    assert {"val_auroc/pr/a", "val_auroc/pr/b", "val_auroc/pr/c"} <= set(ea.Tags()["tensors"])
    assert [len(ea.Scalars(t)) for t in ("val_auroc", "val_auroc/a")] == [len(cb.history)] * 2  # written once
    scalars = ea.Scalars("val_auroc")
    assert [s.value for s in scalars] == pytest.approx([h["value"] for h in cb.history], abs=1e-6)  # TB: float32
    assert [s.value for s in ea.Scalars("val_auroc/c")] == pytest.approx(
        [h["per_class"]["c"] for h in cb.history], abs=1e-6
    )
    images = ea.Images("val_auroc/roc")
    assert [im.step for im in images] == [h["step"] for h in cb.history]  # trainer.global_step
    assert all(im.width > 100 and im.height > 100 for im in images)


@functools.cache
def _metrics_only_logger(package):
    pl = importlib.import_module(package)

    class MetricsOnlyLogger(pl.loggers.Logger):
        """A logger that takes no figures."""

        name, version = "metrics_only", 0

        def log_hyperparams(self, params, *args, **kwargs):
            pass

        def log_metrics(self, metrics, step=None):
            pass

    return MetricsOnlyLogger


@pytest.mark.parametrize("options", [{"log_curve": True}, {"pr_curves": True}, {"log_curve": True, "pr_curves": True}])
def test_figures_asked_for_without_a_logger_that_takes_them_warn_once_naming_the_loggers_that_do(tmp_path, options):
    cb = AUROCCallback(**options)
    with pytest.warns(UserWarning, match="draws figures") as record:
        trainer, _ = _fit(PL, tmp_path, [cb], max_epochs=2, logger=_metrics_only_logger(PL)())
    assert "val_auroc" in trainer.callback_metrics  # the scalars are logged all the same
    (message,) = [str(w.message) for w in record if "draws figures" in str(w.message)]  # once per fit
    asked = ", ".join(f"{k}=True" for k in options)
    assert f"AUROCCallback({asked})" in message and "MetricsOnlyLogger" in message
    assert all(k in message for k in ("TensorBoardLogger", "WandbLogger", "MLFlowLogger", "CSVLogger"))


def test_figures_not_asked_for_or_with_a_tensorboard_logger_do_not_warn(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib").use("Agg")
    pl = importlib.import_module(PL)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _fit(
            PL,
            tmp_path,
            [AUROCCallback(), AUROCCallback(name="b", log_curve=None)],
            max_epochs=1,
            logger=_metrics_only_logger(PL)(),
        )
        _fit(
            PL,
            tmp_path,
            [AUROCCallback(log_curve=True)],
            max_epochs=1,
            logger=pl.loggers.TensorBoardLogger(str(tmp_path), name="tb"),
        )
    assert not [w for w in record if "draws figures" in str(w.message)]


# ----------------------------------------------------------------------------- stages


def test_sanity_check_batches_never_reach_the_first_epoch(tmp_path):
    pl = importlib.import_module(PL)
    cb = AUROCCallback()
    seen = {}

    class Spy(pl.Callback):
        def on_sanity_check_end(self, trainer, pl_module):
            seen.update(
                samples=cb.accumulator.num_samples,
                history=list(cb.history),
                logged="val_auroc" in trainer.callback_metrics,
            )

    # 2 sanity batches of 32 from an untrained model: had they leaked, the count and the value would show it
    trainer, model = _fit(PL, tmp_path, [cb, Spy()], max_epochs=1, num_sanity_val_steps=2)
    assert seen == {"samples": 0, "history": [], "logged": False}
    assert len(cb.history) == 1
    assert cb.history[0]["num_samples"] == len(_dataset("wine")[3])
    assert _logged(trainer, "val_auroc") == pytest.approx(_reference(model, "wine"), abs=1e-9)


def test_test_stage_logs_test_auroc_when_asked(tmp_path):
    pl = importlib.import_module(PL)
    pl.seed_everything(0)
    model = _model(PL, "wine")
    _, test_loader = _loaders("wine")
    results = _trainer(PL, tmp_path, [AUROCCallback(test=True)]).test(model, test_loader, verbose=False)
    assert results[0]["test_auroc"] == pytest.approx(_reference(model, "wine"), abs=1e-9)
    results = _trainer(PL, tmp_path, [AUROCCallback()]).test(model, test_loader, verbose=False)
    assert "test_auroc" not in results[0]


def test_validate_appends_to_history(tmp_path):
    cb = AUROCCallback()
    trainer = _trainer(PL, tmp_path, [cb])
    model = _model(PL, "wine")
    (result,) = trainer.validate(model, _loaders("wine")[1], verbose=False)
    assert result["val_auroc"] == pytest.approx(_reference(model, "wine"), abs=1e-9)
    assert len(cb.history) == 1


def test_bf16_mixed_logits_are_scored_exactly(tmp_path):
    cb = AUROCCallback(num_classes=10)
    trainer, model = _fit(PL, tmp_path, [cb], data="digits", max_epochs=1, precision="bf16-mixed")
    assert torch.bfloat16 in model.dtypes  # the callback did receive half-precision logits
    expected = _reference(model, "digits", bf16=True)
    assert _logged(trainer, "val_auroc") == pytest.approx(expected, abs=1e-9)


def test_nan_predictions_warn_and_log_nan_instead_of_crashing(tmp_path):
    cb = AUROCCallback(output_transform=lambda out, batch: (torch.full_like(out["logits"], math.nan), batch[1]))
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN"):
        trainer, _ = _fit(PL, tmp_path, [cb], max_epochs=1, num_sanity_val_steps=0)
    assert math.isnan(_logged(trainer, "val_auroc"))


@pytest.mark.parametrize("ddp", [False, True], ids=["one-process", "ddp-every-rank-empty"])
def test_an_epoch_without_samples_warns_once_and_training_goes_on(tmp_path, monkeypatch, ddp):
    """No row scored (here every batch is empty): no value logged, one warning, no crash; under DDP the
    computes raise EmptyEpochError on every rank together, which the callback turns into the same warning."""
    if ddp:
        monkeypatch.setattr(lightning_callbacks, "_distributed", lambda trainer: True)
    cb = AUROCCallback(output_transform=lambda out, batch: (out["logits"][:0], batch[1][:0]))
    with pytest.warns(UserWarning, match="no samples were scored this epoch" + (" on any rank" if ddp else "")) as rec:
        trainer, _ = _fit(PL, tmp_path, [cb], max_epochs=2, num_sanity_val_steps=0)
    assert trainer.current_epoch == 2 and "val_auroc" not in trainer.callback_metrics and cb.history == []
    assert sum("no samples were scored" in str(w.message) for w in rec) == 1


# ----------------------------------------------------------------------------- checkpoints


def test_history_survives_checkpoint_and_resume(tmp_path):
    pl = importlib.import_module(PL)
    first = AUROCCallback(num_classes=3)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_last=True)
    _fit(PL, tmp_path, [first, ckpt], max_epochs=2, enable_checkpointing=True)
    last = str(tmp_path / "ckpt" / "last.ckpt")
    state = torch.load(last, weights_only=False)["callbacks"][first.state_key]
    assert state["history"] == first.history

    resumed = AUROCCallback(num_classes=3)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_last=True)
    trainer = _trainer(PL, tmp_path, [resumed, ckpt], max_epochs=3, enable_checkpointing=True)
    model = _model(PL, "wine")
    trainer.fit(model, *_loaders("wine"), ckpt_path=last)
    assert resumed.history[:2] == first.history
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2]
    assert resumed.history[2]["value"] == pytest.approx(_reference(model, "wine"), abs=1e-9)


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"average": "mean"}, ValueError, "`average` must be one of"),
        ({"task": "regression"}, ValueError, "`task` must be one of"),
        ({"max_fpr": 1.5}, ValueError, "`max_fpr`"),
        ({"name": 3}, TypeError, "`name` must be a non-empty str; got int 3"),
        ({"name": ""}, ValueError, "`name` must be a non-empty str"),
        ({"preds_key": []}, TypeError, "`preds_key` must be a str or a non-empty sequence"),
        ({"class_names": "abc"}, TypeError, "`class_names` must be a sequence"),
        ({"num_classes": 3, "class_names": ["a", "b"]}, ValueError, "`class_names` must have `num_classes` = 3"),
        ({"class_names": ["a b", "a/b", "c"]}, ValueError, "give the key `val_auroc/a_b` twice"),
        ({"output_transform": "logits"}, TypeError, "`output_transform` must be None or a callable"),
        ({"per_class": 1}, TypeError, "`per_class` must be a bool"),
        ({"calibration": 1}, TypeError, "`calibration` must be a bool or a Mapping; got int 1"),
        ({"calibration": {"n_bins": 0}}, ValueError, "`n_bins` must be an int >= 1; got 0"),
        ({"calibration": {"n_bins": "15"}}, TypeError, "`n_bins` must be an int >= 1; got str '15'"),
        ({"calibration": {"strategy": "equal"}}, ValueError, "`strategy` must be one of 'uniform', 'quantile'"),
        (
            {"calibration": {"bins": 10}},
            ValueError,
            "`calibration` takes the options 'n_bins' and 'strategy'; got 'bins'",
        ),
        ({"calibration": True, "mode": "histogram"}, ValueError, "`calibration` needs mode='exact'.*'histogram'"),
        ({"sync_dist": False}, TypeError, "`sync_dist` is set by the callback itself"),
        ({"nan_strategy": "error"}, TypeError, "`nan_strategy` is set by the callback itself"),
        ({"calibartion": True}, TypeError, r"unexpected option `calibartion` \(did you mean `calibration`\?\)"),
        ({"calibration_bins": 10}, TypeError, r"unexpected option `calibration_bins` \(now `calibration="),
    ],
)
def test_bad_arguments_raise_errors_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        AUROCCallback(**kwargs)


# ----------------------------------------------------------------------------- DDP: real processes on CPU


def _ddp_reference(ranks, run, part=None):
    """sklearn on every distinct validation sample the ranks scored (those of ``part`` = (lo, hi) dataset indices
    when given), and on every row (duplicates kept)."""
    idx, logits, target = [], [], []
    for r in ranks:
        idx += r[run]["idx"]
        logits += r[run]["logits"]
        target += r[run]["target"]
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float32), dim=1).numpy()
    target, idx = np.array(target), np.array(idx)
    if part is not None:
        inside = (idx >= part[0]) & (idx < part[1])
        probs, target, idx = probs[inside], target[inside], idx[inside]
    _, first = np.unique(idx, return_index=True)
    unique = roc_auc_score(target[first], probs[first], multi_class="ovr")
    with_duplicates = roc_auc_score(target, probs, multi_class="ovr")
    return unique, with_duplicates, len(first), len(idx)


def _ddp_calibration_reference(ranks, run, n_bins=15):
    """Top-label ECE (numpy, from its definition) and sklearn's Brier score on each distinct sample once."""
    from sklearn.metrics import brier_score_loss

    idx, logits, target = [], [], []
    for r in ranks:
        idx += r[run]["idx"]
        logits += r[run]["logits"]
        target += r[run]["target"]
    _, first = np.unique(np.array(idx), return_index=True)
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float32), dim=1).double().numpy()[first]
    target = np.array(target)[first]
    conf, hit = probs.max(1), (probs.argmax(1) == target).astype(float)
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)  # (e_k-1, e_k]; 0 joins the first
    ece = sum(
        abs(hit[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean()
        for b in range(n_bins)
        if (bins == b).any()
    )
    return ece, brier_score_loss(target, probs, labels=list(range(10)))


def _ddp_histogram_reference(ranks, run, dedupe=True):
    """A single-process histogram accumulator over the validation rows the ranks scored (each sample once)."""
    idx, logits, target = [], [], []
    for r in ranks:
        idx += r[run]["idx"]
        logits += r[run]["logits"]
        target += r[run]["target"]
    logits, target = torch.tensor(logits, dtype=torch.float32), torch.tensor(target)
    if dedupe:
        first = torch.tensor(np.unique(np.array(idx), return_index=True)[1])
        logits, target = logits[first], target[first]
    acc = ac.AUROCAccumulator(mode="histogram", num_classes=10)
    acc.update(logits, target)
    return acc.compute_bound()


@pytest.mark.slow
@pytest.mark.parametrize(
    "devices, package",
    [(2, "lightning.pytorch"), (3, "pytorch_lightning")],
    ids=["2-ranks-lightning.pytorch", "3-ranks-pytorch_lightning"],
)
def test_ddp_value_is_exact_over_uneven_shards_without_sampler_duplicates(tmp_path, devices, package):
    if package not in PACKAGES:
        pytest.skip(f"{package} is not installed")
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path), package, str(devices)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=root,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(devices)]
    assert [r["world_size"] for r in ranks] == [devices] * devices

    for run in ("fit", "shuffled", "wrapped"):
        unique, with_duplicates, n_unique, n_rows = _ddp_reference(ranks, run)
        assert n_unique == 1001 and n_rows == devices * math.ceil(1001 / devices) > 1001  # the sampler did pad
        for r in ranks:
            assert r[run]["logged"] == [pytest.approx(unique, abs=1e-9)], run
            assert r[run]["history"][-1]["num_samples"] == 1001, run
            assert r[run]["warnings"] == [], run
        assert len({r[run]["logged"][0] for r in ranks}) == 1  # every rank logs the same value
        assert abs(with_duplicates - unique) > 1e-6  # keeping the duplicates would have given another value
    # two dataloaders of odd sizes: each scored on its own, its padding dropped, its value in its own result dict
    for i, (lo, hi) in enumerate([(0, 499), (499, 1000)]):
        unique, with_duplicates, n_unique, n_rows = _ddp_reference(ranks, "two", part=(lo, hi))
        assert n_unique == hi - lo and n_rows == devices * math.ceil((hi - lo) / devices)
        for r in ranks:
            assert r["two"]["logged"][i] == pytest.approx(unique, abs=1e-9)
            assert r["two"]["history"][i]["num_samples"] == hi - lo and r["two"]["history"][i]["dataloader_idx"] == i
            returned = r["two"]["returned"][i]
            assert returned[f"val_auroc/dataloader_idx_{i}"] == pytest.approx(unique, abs=1e-9)
            assert not [k for k in returned if k.endswith(f"dataloader_idx_{1 - i}")]
            assert r["two"]["warnings"] == []
        if n_rows > n_unique:  # padded: keeping the duplicates would have given another value
            assert abs(with_duplicates - unique) > 1e-6
    # calibration=True under DDP: from the gathered, deduplicated epoch, the same on every rank
    ece, brier = _ddp_calibration_reference(ranks, "fit")
    for r in ranks:
        assert r["fit"]["ece"] == [pytest.approx(ece, abs=1e-9)] and r["fit"]["brier"] == [
            pytest.approx(brier, abs=1e-9)
        ]
    steps = ranks[0]["fit"]["steps"]
    assert len(steps) == 2 and all(r["fit"]["steps"] == steps for r in ranks)  # the sanity check added no epoch
    if _importable("tensorboard"):  # rank 0 drew one ROC figure per epoch, then one per trainer.validate()
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        ea = EventAccumulator(str(tmp_path / "tb" / "version_0"), size_guidance={"images": 0})
        ea.Reload()
        assert [im.step for im in ea.Images("val_auroc/roc")] == steps + [steps[-1]] * 4
        for i in (0, 1):  # the two dataloaders' figures, one each, under the suffixed tag
            assert [im.step for im in ea.Images(f"val_auroc/roc/dataloader_idx_{i}")] == [steps[-1]]
    assert all(r["fit"]["sync_dist_advice"] == [] for r in ranks)

    # the user's own DistributedSampler subclass: its padding cannot be known; warned once (by the exact and by
    # the histogram callback), duplicates counted
    unique, with_duplicates, _, _ = _ddp_reference(ranks, "custom")
    for r in ranks:
        assert r["custom"]["logged"] == [pytest.approx(with_duplicates, abs=1e-9)]
        assert len(r["custom"]["warnings"]) == 2 and "OwnDistributedSampler" in r["custom"]["warnings"][0]
        assert r["custom"]["warnings"][0] == r["custom"]["warnings"][1]

    # limit_val_batches=0.5: each rank scored part of its shard; exact over what was scored, warned once (each)
    unique, _, n_unique, n_rows = _ddp_reference(ranks, "partial")
    assert n_unique == n_rows < 1001
    for r in ranks:
        assert r["partial"]["logged"] == [pytest.approx(unique, abs=1e-9)]
        assert len(r["partial"]["warnings"]) == 2 and "limit_val_batches" in r["partial"]["warnings"][0]

    # mode="histogram": counts summed over ranks, padding dropped batch by batch: the single-process histogram
    # value and bound over the same samples (the real ones; with the custom sampler, every row scored)
    for run in ("fit", "shuffled", "wrapped", "custom", "partial", "two"):
        want = _ddp_histogram_reference(ranks, run, dedupe=run != "custom")
        for r in ranks:
            got = r[run]["hist"]
            assert got["history"]["value"] == want.value.item() and got["history"]["bound"] == want.bound.item(), run
            assert got["logged"] == pytest.approx(want.value.item(), abs=1e-12)
            assert got["bound"] == pytest.approx(want.bound.item(), abs=1e-12)
            assert got["history"]["num_samples"] == want.num_samples
        assert abs(_ddp_reference(ranks, run)[0 if run != "custom" else 1] - want.value.item()) <= want.bound.item()
    if _importable("tensorboard"):  # the histogram callback's figure, from the summed counts, on rank 0
        assert [im.step for im in ea.Images("val_auroc_hist/roc")] == steps + [steps[-1]] * 5


# ----------------------------------------------------------------------------- ci=True (issue 6)


def test_ci_logs_val_auroc_lo_and_hi_from_delong(tmp_path):
    pl = importlib.import_module(PL)
    cb = AUROCCallback(ci=True)
    trainer, model = _fit(PL, tmp_path, [cb], data="cancer", logger=pl.loggers.CSVLogger(str(tmp_path)))
    want = _reference(model, "cancer")
    se = delong_se(_logits(model, "cancer").numpy(), _dataset("cancer")[3].numpy())[1]
    assert _logged(trainer, "val_auroc") == pytest.approx(want, abs=1e-9)
    _, lo, hi = delong_interval(_logits(model, "cancer").numpy(), _dataset("cancer")[3].numpy())  # logit-t
    assert se > 0 and _logged(trainer, "val_auroc_lo") == pytest.approx(lo, abs=1e-9)
    assert _logged(trainer, "val_auroc_hi") == pytest.approx(hi, abs=1e-9)
    assert cb.history[-1]["lower"] == pytest.approx(_logged(trainer, "val_auroc_lo"), abs=1e-12)
    assert cb.last.interval.std_error.item() == pytest.approx(se, rel=1e-9)
    with open(Path(trainer.logger.log_dir) / "metrics.csv") as fh:
        header = next(csv.reader(fh))
    assert {"val_auroc", "val_auroc_lo", "val_auroc_hi"} <= set(header)


def test_ci_macro_interval_surrounds_the_value_and_state_round_trips(tmp_path):
    cb = AUROCCallback(num_classes=3, ci=True, ci_level=0.8)
    trainer, _ = _fit(PL, tmp_path, [cb])
    lo, value, hi = (_logged(trainer, k) for k in ("val_auroc_lo", "val_auroc", "val_auroc_hi"))
    assert lo < value < hi
    restored = AUROCCallback(ci=True)
    restored.load_state_dict(cb.state_dict())
    assert restored.history[-1]["upper"] == pytest.approx(hi, abs=1e-12)


def test_ci_needs_options_with_an_interval():
    with pytest.raises(ValueError, match="`max_fpr` must be None"):
        AUROCCallback(ci=True, max_fpr=0.3)
    with pytest.raises(TypeError, match="`ci` must be a bool"):
        AUROCCallback(ci=1)


# ----------------------------------------------------------------------------- mode="histogram" (issue 7)


def test_histogram_mode_logs_the_value_of_float16_probabilities_and_its_bound(tmp_path):
    pl = importlib.import_module(PL)
    cb = AUROCCallback(mode="histogram", histogram_dtype=torch.bfloat16)
    logger = pl.loggers.CSVLogger(str(tmp_path))
    trainer, model = _fit(PL, tmp_path, [cb], data="digits", max_epochs=1, logger=logger)
    probs = torch.softmax(_logits(model, "digits"), 1)
    half, y = probs.to(torch.bfloat16).double().numpy(), _dataset("digits")[3].numpy()
    want = np.mean([roc_auc_score(y == k, half[:, k]) for k in range(10)])
    assert _logged(trainer, "val_auroc") == pytest.approx(want, abs=1e-12)
    assert cb.history[-1]["value"] == pytest.approx(want, abs=1e-12)
    bound = _logged(trainer, "val_auroc_bound")
    assert bound == cb.history[-1]["bound"] == cb.last.bound.bound.item() > 0  # bfloat16: 8 bits, ties happen
    assert abs(_reference(model, "digits") - want) <= bound + 1e-12
    with open(Path(trainer.logger.log_dir) / "metrics.csv") as fh:
        assert {"val_auroc", "val_auroc_bound"} <= set(next(csv.reader(fh)))
    restored = AUROCCallback(mode="histogram")
    restored.load_state_dict(cb.state_dict())
    assert restored.history[-1]["bound"] == bound


def test_histogram_mode_rejects_what_it_cannot_do():
    with pytest.raises(ValueError, match="`ci=True` needs mode='exact'"):
        AUROCCallback(mode="histogram", ci=True)
    with pytest.raises(TypeError, match="`histogram_dtype`"):
        AUROCCallback(mode="histogram", histogram_dtype="bf16")


# ----------------------------------------------------------------------------- calibration=True (issue 7)


def _sk_ece(y_true, y_prob, n_bins=15):
    """ECE from sklearn's calibration_curve: sum over its non-empty bins of count / N * |prob_true - prob_pred|."""
    from sklearn.calibration import calibration_curve

    y_prob = np.asarray(y_prob, dtype=np.float64).ravel()
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=n_bins)
    count = np.bincount(np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], y_prob), minlength=n_bins)  # its bins
    count = count[count > 0]
    return float(np.sum(count / len(y_prob) * np.abs(prob_true - prob_pred)))


def test_calibration_logs_ece_and_brier_equal_to_sklearn_and_draws_the_diagram(tmp_path):
    pytest.importorskip("tensorboard")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from sklearn.metrics import brier_score_loss
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    pl = importlib.import_module(PL)
    logger = pl.loggers.TensorBoardLogger(str(tmp_path), name="tb")
    cb = AUROCCallback(calibration=True, test=True, log_curve=True)
    trainer, model = _fit(PL, tmp_path, [cb], data="cancer", logger=logger)
    logits, y = _logits(model, "cancer"), _dataset("cancer")[3]
    probs = torch.sigmoid(logits[:, 0]).double().numpy()  # float32 probabilities, scored in float64
    assert _logged(trainer, "val_ece") == pytest.approx(_sk_ece(y.numpy(), probs), abs=1e-9)
    assert _logged(trainer, "val_brier") == pytest.approx(brier_score_loss(y.numpy(), probs), abs=1e-9)
    scaler = cal.fit_temperature(logits, y)  # fitted on the validation logits, as the callback does
    tempered = cal.calibration_error(scaler(logits), y, activation=None)
    assert _logged(trainer, "val_ece_tempered") == pytest.approx(tempered.item(), abs=1e-6)
    last = cb.history[-1]["calibration"]
    assert set(last) == {"ece", "ece_tempered", "mce", "brier", "nll", "temperature"}
    assert [last[k] for k in ("ece", "ece_tempered", "brier")] == [
        _logged(trainer, k) for k in ("val_ece", "val_ece_tempered", "val_brier")
    ]
    assert last["temperature"] == pytest.approx(scaler.temperature.item(), rel=1e-6)

    ea = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    steps = [h["step"] for h in cb.history]
    for key in ("val_ece", "val_ece_tempered", "val_brier"):  # through pl_module.log, once per epoch
        assert [s.value for s in ea.Scalars(key)] == pytest.approx(
            [h["calibration"][key[4:]] for h in cb.history], rel=1e-6
        )
    assert not [t for t in ea.Tags()["scalars"] if t.startswith("val_calibration/")]  # scalars=False: not twice
    images = ea.Images("val_calibration/reliability")
    assert [im.step for im in images] == steps and all(im.width > 100 for im in images)

    (result,) = trainer.test(model, _loaders("cancer")[1], verbose=False)  # the test stage: the same numbers
    assert result["test_ece"] == pytest.approx(last["ece"], abs=1e-9)
    assert len(cb.history) == 2


def test_calibration_with_nan_predictions_logs_nan_with_one_warning(tmp_path):
    cb = AUROCCallback(
        calibration=True, output_transform=lambda out, batch: (torch.full_like(out["logits"], math.nan), batch[1])
    )
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN") as record:
        trainer, _ = _fit(PL, tmp_path, [cb], max_epochs=1, num_sanity_val_steps=0)
    assert [w.category for w in record if issubclass(w.category, ac.UndefinedAUROCWarning)] == [
        ac.UndefinedAUROCWarning
    ]  # the AUROC's; calibration had the same reason and stayed silent
    assert all(math.isnan(_logged(trainer, k)) for k in ("val_auroc", "val_ece", "val_ece_tempered", "val_brier"))
    assert all(math.isnan(v) for v in cb.history[-1]["calibration"].values())


def test_calibration_keys_are_exempt_from_lightnings_sync_dist_advice():
    from types import SimpleNamespace

    cb = AUROCCallback(calibration=True, name="auroc")
    advice = (
        "It is recommended to use `self.log({!r}, ..., sync_dist=True)` when logging on epoch level in"
        " distributed setting to accumulate the metric across devices."
    )
    with warnings.catch_warnings(record=True) as caught:  # restores the process-global filters afterwards
        warnings.simplefilter("always")
        cb.setup(SimpleNamespace(world_size=2, loggers=[]), None, "fit")
        for key in ("ece", "ece_tempered", "brier", "test_ece", "test_brier", "auroc_lo", "val_ece", "loss"):
            warnings.warn(advice.format(key), UserWarning, stacklevel=2)
    assert [str(w.message) for w in caught] == [advice.format("val_ece"), advice.format("loss")]


def test_calibration_with_a_tensorboard_logger_needs_matplotlib_at_setup(tmp_path, monkeypatch):
    from types import SimpleNamespace

    pytest.importorskip("tensorboard")
    logger = importlib.import_module(PL).loggers.TensorBoardLogger(str(tmp_path))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError, match=r"AUROCCallback\(log_curve=True\).*auroc-callbacks\[plot\]"):
        AUROCCallback(calibration=True, log_curve=True).setup(
            SimpleNamespace(world_size=1, loggers=[logger]), None, "fit"
        )
    AUROCCallback(calibration=True, log_curve=True).setup(SimpleNamespace(world_size=1, loggers=[]), None, "fit")
    AUROCCallback(calibration=True).setup(SimpleNamespace(world_size=1, loggers=[logger]), None, "fit")  # no figure


# ----------------------------------------------------------------------------- several dataloaders (issue 13)


@functools.cache
def _two_sets():
    """Digits' validation rows in two sets of odd sizes: the first clean, the second noisy (a harder set)."""
    _, _, xv, yv = _dataset("digits")
    noise = torch.randn(xv[361:].shape, generator=torch.Generator().manual_seed(1)) * 1.5
    return (xv[:361], yv[:361]), (xv[361:] + noise, yv[361:])


def _val_loaders(sets):
    return [DataLoader(TensorDataset(x, y), batch_size=VAL_BATCH) for x, y in sets]


def _sk(model, x, y, average="macro"):
    """scikit-learn on the model's predictions for (x, y), in the batches Lightning ran."""
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(xb) for xb in x.split(VAL_BATCH)]).float()
    if logits.shape[1] == 1:
        return roc_auc_score(y.numpy(), logits[:, 0].numpy())
    probs = torch.softmax(logits, 1).numpy()
    if average is None:
        return np.array([roc_auc_score(y.numpy() == k, probs[:, k]) for k in range(probs.shape[1])])
    return roc_auc_score(y.numpy(), probs, multi_class="ovr", average=average)


def test_two_val_dataloaders_are_scored_each_on_its_own_under_lightnings_keys(tmp_path):
    pl = importlib.import_module(PL)
    sets = _two_sets()
    cb = AUROCCallback(num_classes=10, per_class=True, ci=True, calibration=True)
    ckpt = pl.callbacks.ModelCheckpoint(
        dirpath=str(tmp_path / "ckpt"), monitor="val_auroc/dataloader_idx_1", mode="max"
    )
    pl.seed_everything(0)
    model = _model(PL, "digits")
    trainer = _trainer(PL, tmp_path, [cb, ckpt], enable_checkpointing=True)
    trainer.fit(model, _loaders("digits")[0], _val_loaders(sets))
    want = [_sk(model, x, y) for x, y in sets]
    assert abs(want[0] - want[1]) > 1e-3  # two different sets: one pooled value would be neither
    for i, (x, y) in enumerate(sets):
        per_class = _sk(model, x, y, average=None)
        assert _logged(trainer, f"val_auroc/dataloader_idx_{i}") == pytest.approx(want[i], abs=1e-9)
        assert _logged(trainer, f"val_auroc/3/dataloader_idx_{i}") == pytest.approx(per_class[3], abs=1e-9)
        lo, hi = (_logged(trainer, f"val_auroc_{e}/dataloader_idx_{i}") for e in ("lo", "hi"))
        assert lo < want[i] < hi
        assert f"val_ece/dataloader_idx_{i}" in trainer.callback_metrics
    assert "val_auroc" not in trainer.callback_metrics and "val_auroc/3" not in trainer.callback_metrics
    assert [(h["epoch"], h["dataloader_idx"]) for h in cb.history] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [h["num_samples"] for h in cb.history[-2:]] == [len(sets[0][1]), len(sets[1][1])]
    assert [h["value"] for h in cb.history[-2:]] == pytest.approx(want, abs=1e-9)
    assert sorted(cb.last_by_dataloader) == [0, 1]
    # the suffixed keys are monitorable: ModelCheckpoint followed dataloader 1's own value
    assert float(ckpt.best_model_score) == pytest.approx(
        max(h["value"] for h in cb.history if h["dataloader_idx"] == 1), abs=1e-12
    )

    results = trainer.validate(model, _val_loaders(sets), verbose=False)
    for i, result in enumerate(results):  # each value in its own dataloader's dict, as for self.log metrics
        assert result[f"val_auroc/dataloader_idx_{i}"] == pytest.approx(want[i], abs=1e-9)
        assert not [k for k in result if k.endswith(f"dataloader_idx_{1 - i}")]
    assert len(cb.history) == 6


def test_pool_dataloaders_scores_them_as_one_set_under_the_plain_key(tmp_path):
    sets = _two_sets()
    cb = AUROCCallback(num_classes=10, pool_dataloaders=True)
    model = _model(PL, "digits")
    results = _trainer(PL, tmp_path, [cb]).validate(model, _val_loaders(sets), verbose=False)
    want = _sk(model, torch.cat([sets[0][0], sets[1][0]]), torch.cat([sets[0][1], sets[1][1]]))
    assert [r["val_auroc"] for r in results] == pytest.approx([want, want], abs=1e-9)
    assert cb.history[-1]["num_samples"] == len(sets[0][1]) + len(sets[1][1])
    assert "dataloader_idx" not in cb.history[-1]


def test_one_dataloader_keeps_the_plain_keys_and_history(tmp_path):
    cb = AUROCCallback(num_classes=10, per_class=True)
    model = _model(PL, "digits")
    (result,) = _trainer(PL, tmp_path, [cb]).validate(model, _val_loaders(_two_sets()[:1]), verbose=False)
    assert result["val_auroc"] == pytest.approx(_sk(model, *_two_sets()[0]), abs=1e-9)
    assert "val_auroc/3" in result and not [k for k in result if "dataloader_idx" in k]
    assert "dataloader_idx" not in cb.history[-1]


def test_test_stage_with_two_dataloaders_gives_each_its_value_and_its_own_figure(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib").use("Agg")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    pl = importlib.import_module(PL)
    sets = _two_sets()
    logger = pl.loggers.TensorBoardLogger(str(tmp_path), name="tb")
    cb = AUROCCallback(num_classes=10, test=True, log_curve=True)
    model = _model(PL, "digits")
    results = _trainer(PL, tmp_path, [cb], logger=logger).test(model, _val_loaders(sets), verbose=False)
    for i, (x, y) in enumerate(sets):
        assert results[i] == {f"test_auroc/dataloader_idx_{i}": pytest.approx(_sk(model, x, y), abs=1e-9)}
    ea = EventAccumulator(logger.log_dir, size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    assert {"test_auroc/roc/dataloader_idx_0", "test_auroc/roc/dataloader_idx_1"} <= set(ea.Tags()["images"])
    assert "test_auroc/roc" not in ea.Tags()["images"]
    assert cb.history == []  # the test stage is not recorded


def test_dataloaders_without_a_length_are_scored_apart_at_the_epochs_end(tmp_path):
    """No batch count (an iterable dataset): each value is still its own, logged at the epoch's end in every dict."""
    from torch.utils.data import IterableDataset

    class Rows(IterableDataset):
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __iter__(self):
            return zip(self.x, self.y)

    sets = _two_sets()
    cb = AUROCCallback(num_classes=10)
    model = _model(PL, "digits")
    loaders = [DataLoader(Rows(x, y), batch_size=VAL_BATCH) for x, y in sets]
    results = _trainer(PL, tmp_path, [cb]).validate(model, loaders, verbose=False)
    want = {f"val_auroc/dataloader_idx_{i}": pytest.approx(_sk(model, x, y), abs=1e-9) for i, (x, y) in enumerate(sets)}
    assert all({k: r[k] for k in want} == want for r in results)
    assert [h["dataloader_idx"] for h in cb.history] == [0, 1]


# ----------------------------------------------------------------------------- early failures (issue 13)


@pytest.mark.parametrize("ddp", [False, True], ids=["one-process", "ddp-path"])
def test_a_squeezed_one_row_last_batch_is_one_sample(tmp_path, monkeypatch, ddp):
    """``logits.squeeze()`` of a one-row batch is 0-d: one sample, next to its (1,) target."""
    if ddp:  # the DDP path (padding trimmed batch by batch) without processes: no sampler padding to drop here
        monkeypatch.setattr(lightning_callbacks, "_distributed", lambda trainer: True)
    pl = importlib.import_module(PL)
    pl.seed_everything(0)
    x, y, xv, yv = _dataset("cancer")
    xv, yv = xv[: 7 * VAL_BATCH + 1], yv[: 7 * VAL_BATCH + 1]  # the last batch has one row
    model = _model(PL, "cancer", output="squeezed")
    cb = AUROCCallback()
    trainer = _trainer(PL, tmp_path, [cb], max_epochs=1)
    trainer.fit(
        model, DataLoader(TensorDataset(x, y), batch_size=32), DataLoader(TensorDataset(xv, yv), batch_size=VAL_BATCH)
    )
    assert _logged(trainer, "val_auroc") == pytest.approx(_sk(model, xv, yv), abs=1e-9)
    assert cb.history[-1]["num_samples"] == len(yv)


def test_bad_batches_fail_at_the_sanity_check_not_after_an_epoch(tmp_path):
    cb = AUROCCallback(output_transform=lambda out, batch: (out["logits"][:-1], batch[1]))  # one prediction short
    trainer = _trainer(PL, tmp_path, [cb], num_sanity_val_steps=1)
    with pytest.raises(ValueError, match="the same number of samples"):
        trainer.fit(_model(PL, "wine"), *_loaders("wine"))
    assert trainer.global_step == 0  # before any training


def test_class_indices_given_as_predictions_fail_at_the_sanity_check(tmp_path):
    cb = AUROCCallback(output_transform=lambda out, batch: (out["logits"].argmax(1), batch[1]))
    trainer = _trainer(PL, tmp_path, [cb], num_sanity_val_steps=1)
    with pytest.raises(ValueError, match="scores, not class indices"):
        trainer.fit(_model(PL, "digits"), *_loaders("digits"))
    assert trainer.global_step == 0


def test_checking_the_sanity_batches_leaves_the_first_epoch_exact(tmp_path):
    """The sanity check sees (N, 3) batches of an untrained model and checks them; the epoch then starts afresh."""
    cb = AUROCCallback(num_classes=3)
    trainer, model = _fit(PL, tmp_path, [cb], max_epochs=1, num_sanity_val_steps=2)
    assert _logged(trainer, "val_auroc") == pytest.approx(_reference(model, "wine"), abs=1e-9)
    assert cb.history[-1]["num_samples"] == len(_dataset("wine")[3])


# ----------------------------------------------------------------------------- undefined epochs vs trackers (issue 13)


def _single_class_val():
    """Breast-cancer validation rows of one class only (benign): every epoch's AUROC is undefined."""
    _, _, xv, yv = _dataset("cancer")
    return DataLoader(TensorDataset(xv[yv == 0], yv[yv == 0]), batch_size=VAL_BATCH)


def _undefined_first_epoch_model():
    """A cancer model whose validation set is one class in epoch 0, both classes after (reloaded every epoch)."""
    base = _module_class(PL)

    class Reloaded(base):
        def val_dataloader(self):
            _, _, xv, yv = _dataset("cancer")
            keep = (yv == 0) if self.current_epoch == 0 else torch.ones_like(yv, dtype=torch.bool)
            return DataLoader(TensorDataset(xv[keep], yv[keep]), batch_size=VAL_BATCH)

    x, _, _, _ = _dataset("cancer")
    return Reloaded(x.shape[1], 1)


def test_model_checkpoint_ranks_an_undefined_epoch_below_every_defined_one(tmp_path):
    pl = importlib.import_module(PL)
    pl.seed_everything(0)
    cb = AUROCCallback()
    ckpt = pl.callbacks.ModelCheckpoint(
        dirpath=str(tmp_path / "ckpt"), monitor="val_auroc", mode="max", filename="{epoch}-{val_auroc:.6f}"
    )
    trainer = _trainer(
        PL, tmp_path, [cb, ckpt], max_epochs=3, enable_checkpointing=True, reload_dataloaders_every_n_epochs=1
    )
    with pytest.warns(ac.UndefinedAUROCWarning, match="only one class") as record:
        trainer.fit(_undefined_first_epoch_model(), DataLoader(TensorDataset(*_dataset("cancer")[:2]), batch_size=32))
    assert sum(issubclass(w.category, ac.UndefinedAUROCWarning) for w in record) == 1  # epoch 0 only
    values = [h["value"] for h in cb.history]
    assert math.isnan(values[0]) and not any(math.isnan(v) for v in values[1:])
    assert float(ckpt.best_model_score) == pytest.approx(max(values[1:]), abs=1e-12)
    assert "nan" not in os.path.basename(ckpt.best_model_path)
    assert f"epoch={values.index(max(values[1:]))}-" in os.path.basename(ckpt.best_model_path)


def test_early_stopping_with_check_finite_is_named_once_in_the_undefined_warning(tmp_path):
    pl = importlib.import_module(PL)
    cb = AUROCCallback()
    stop = pl.callbacks.EarlyStopping(monitor="val_auroc", mode="max", check_finite=True)
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        trainer, _ = _fit(
            PL, tmp_path, [cb, stop], data="cancer", max_epochs=5, min_epochs=3, val_dataloaders=_single_class_val()
        )
    assert len(cb.history) == 3 and all(math.isnan(h["value"]) for h in cb.history)  # min_epochs kept it going
    messages = [str(w.message) for w in record if issubclass(w.category, ac.UndefinedAUROCWarning)]
    assert len(messages) == 3  # one warning per undefined epoch, not two
    noted = [m for m in messages if "EarlyStopping(monitor='val_auroc', check_finite=True)" in m]
    assert len(noted) == 1 and "only one class" in noted[0] and "check_finite=False" in noted[0]

    cb = AUROCCallback()  # check_finite=False waits the undefined epochs out (patience), and nothing is added
    stop = pl.callbacks.EarlyStopping(monitor="val_auroc", mode="max", check_finite=False, patience=5)
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        _fit(PL, tmp_path, [cb, stop], data="cancer", max_epochs=3, val_dataloaders=_single_class_val())
    assert len(cb.history) == 3
    assert not [w for w in record if "check_finite" in str(w.message)]


def test_early_stopping_on_another_key_adds_nothing(tmp_path):
    pl = importlib.import_module(PL)
    stop = pl.callbacks.EarlyStopping(monitor="val_loss_never_logged", mode="min", check_finite=True, strict=False)
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        _fit(PL, tmp_path, [AUROCCallback(), stop], data="cancer", max_epochs=2, val_dataloaders=_single_class_val())
    assert not [w for w in record if "check_finite" in str(w.message)]


# ----------------------------------------------------------------------------- pickling (issue 13)


def test_a_pickled_callback_carries_options_and_history_only_and_trains_again(tmp_path):
    import copy
    import pickle

    pl = importlib.import_module(PL)
    sizes = []
    for n_val in (60, len(_dataset("digits")[3])):
        cb = AUROCCallback(num_classes=10, calibration=True)
        pl.seed_everything(0)
        model = _model(PL, "digits")
        x, y, xv, yv = _dataset("digits")
        _trainer(PL, tmp_path, [cb], max_epochs=1).fit(
            model,
            DataLoader(TensorDataset(x, y), batch_size=32),
            DataLoader(TensorDataset(xv[:n_val], yv[:n_val]), batch_size=VAL_BATCH),
        )
        assert cb.accumulator.num_samples == n_val and cb.last is not None
        data = pickle.dumps(cb)
        sizes.append(len(data))
        assert b"Classifier" not in data and b"LightningModule" not in data  # no module, not even by name
    assert abs(sizes[1] - sizes[0]) < 200 and sizes[1] < 20_000  # no predictions: it does not grow with the set

    for restored in (pickle.loads(data), copy.deepcopy(cb)):
        assert restored.history == cb.history and restored.options == cb.options
        assert restored.accumulator.num_samples == 0 and restored.last is None
        assert not hasattr(restored, "log") and not hasattr(restored, "log_dict")
        assert cb.accumulator.num_samples == len(_dataset("digits")[3])  # the original is untouched
        trainer, model = _fit(PL, tmp_path, [restored], data="digits", max_epochs=1)
        assert _logged(trainer, "val_auroc") == pytest.approx(_reference(model, "digits"), abs=1e-9)
        assert len(restored.history) == 2 and restored.history[:1] == cb.history
