"""auroc_callbacks.fastai on tiny real fastai trainings, checked against scikit-learn.

Every expected value is ``sklearn.metrics.roc_auc_score`` on what
``learn.get_preds()`` returns for the same model (probabilities after the
loss's activation), never a number from the code under test.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("fastai")
pytest.importorskip("auroc_callbacks.fastai")

import fastai.callback.fp16
import fastai.callback.schedule  # noqa: F401  (patches Learner.fit_one_cycle, lr_find)
from _reference import delong_interval, delong_se
from fastai.callback.progress import ProgressCallback
from fastai.data.core import Datasets
from fastai.data.transforms import Categorize, IndexSplitter, ItemGetter, ToTensor
from fastai.learner import AvgMetric, Learner
from fastai.losses import BCEWithLogitsLossFlat, CrossEntropyLossFlat, FocalLossFlat, MSELossFlat
from fastai.metrics import RocAuc, RocAucBinary, accuracy
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.metrics import roc_auc_score

import auroc_callbacks as ac
from auroc_callbacks import calibration as cal
from auroc_callbacks.fastai import AUROC, AUROCCallback, loss_activation

TOL = 1e-6
ROOT = Path(__file__).resolve().parents[1]
DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


# ----------------------------------------------------------------------------- data and learners


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models on a shared machine: one intra-op thread is several times faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x[:900] / 16).astype(np.float32), y[:900]  # 720 train, 180 valid rows (3 batches): quick fits


@pytest.fixture(scope="module")
def cancer():
    x, y = load_breast_cancer(return_X_y=True)
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32), y


def _dls(x, y, *, valid_idx=None, categorize=True, bs=64):
    """DataLoaders over (features, label) pairs; every 5th row is validation unless told otherwise."""
    items = list(zip(x, y))
    valid_idx = range(0, len(items), 5) if valid_idx is None else valid_idx
    y_tfms = [ItemGetter(1), Categorize()] if categorize else [ItemGetter(1), ToTensor()]
    dsets = Datasets(items, tfms=[[ItemGetter(0), ToTensor()], y_tfms], splits=IndexSplitter(list(valid_idx))(items))
    return dsets.dataloaders(bs=bs, num_workers=0)


def _mlp(n_in, n_out, hidden=32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def _learner(dls, model, **kwargs):
    learn = Learner(dls, model, **kwargs)
    learn.remove_cb(ProgressCallback)
    learn.logger = lambda *args: None
    return learn


def _digits_learner(digits, *, names=False, valid_idx=None, **kwargs):
    x, y = digits
    labels = np.array(DIGIT_NAMES)[y] if names else y
    kwargs.setdefault("loss_func", CrossEntropyLossFlat())
    return _learner(_dls(x, labels, valid_idx=valid_idx), _mlp(64, 10), **kwargs)


def _binary_learner(cancer, *, valid_idx=None, **kwargs):
    """One logit, BCEWithLogitsLossFlat, float targets of shape (bs, 1)."""
    x, y = cancer
    dls = _dls(x, y.astype(np.float32)[:, None], valid_idx=valid_idx, categorize=False)
    return _learner(dls, _mlp(30, 1, hidden=16), loss_func=BCEWithLogitsLossFlat(), **kwargs)


def _fit(learn, n_epoch=1, lr=1e-2, one_cycle=False):
    """Train; return each epoch's Recorder row by column name.

    Read right after the fit: ``get_preds`` and ``validate`` start a new
    Recorder run, which replaces ``recorder.values`` with rows that lack ``train_loss``.
    """
    (learn.fit_one_cycle if one_cycle else learn.fit)(n_epoch, lr)
    names = list(learn.recorder.metric_names)
    assert names[:2] == ["epoch", "train_loss"]
    return [dict(zip(names[1:], row)) for row in learn.recorder.values]


def _sk_multiclass(learn, **kwargs):
    probs, target = learn.get_preds()
    return roc_auc_score(target.numpy(), probs.numpy(), multi_class=kwargs.pop("multi_class", "ovr"), **kwargs)


def _sk_binary(learn):
    probs, target = learn.get_preds()
    return roc_auc_score(target.numpy().ravel(), probs.numpy().ravel())


# ----------------------------------------------------------------------------- the metric


@pytest.mark.parametrize("metric", [AUROC, AUROC()], ids=["class", "instance"])
def test_metric_equals_sklearn_on_multiclass_digits(digits, metric):
    learn = _digits_learner(digits, metrics=[accuracy, metric])
    rec = _fit(learn, 2)
    auroc_metric = learn.metrics[1]
    assert type(auroc_metric) is AUROC and not isinstance(auroc_metric, AvgMetric)  # fastai did not wrap it
    assert learn.recorder.metric_names[-2:] == ["auroc", "time"]
    assert auroc_metric.accumulator.options.activation == "softmax"  # CrossEntropyLossFlat's
    assert auroc_metric.accumulator.num_samples == len(learn.dls.valid_ds)
    assert abs(rec[-1]["auroc"] - _sk_multiclass(learn)) < TOL


def test_metric_options_reach_the_core(digits):
    metrics = [
        AUROC(name="weighted", average="weighted"),
        AUROC(name="micro", average="micro"),
        AUROC(name="ovo", multi_class="ovo"),
        AUROC(name="ovo_weighted", multi_class="ovo", average="weighted"),
    ]
    learn = _digits_learner(digits, metrics=metrics)
    rec = _fit(learn, 1)
    assert abs(rec[-1]["weighted"] - _sk_multiclass(learn, average="weighted")) < TOL
    assert abs(rec[-1]["micro"] - _sk_multiclass(learn, average="micro")) < TOL
    assert abs(rec[-1]["ovo"] - _sk_multiclass(learn, multi_class="ovo")) < TOL
    want = _sk_multiclass(learn, multi_class="ovo", average="weighted")
    assert abs(rec[-1]["ovo_weighted"] - want) < TOL


def test_metric_with_average_none_gives_the_per_class_vector(digits):
    learn = _digits_learner(digits, metrics=AUROC(average=None))
    _fit(learn, 1)
    got = learn.metrics[0].value
    np.testing.assert_allclose(got.numpy(), _sk_multiclass(learn, average=None), rtol=0, atol=TOL)


def test_one_logit_binary_bce_is_right_where_fastai_rocaucbinary_gives_half(cancer):
    learn = _binary_learner(cancer, metrics=[RocAucBinary(), AUROC()])
    rec = _fit(learn, 2)
    assert learn.metrics[1].accumulator.options.activation == "sigmoid"
    want = _sk_binary(learn)
    assert want > 0.9
    assert rec[-1]["roc_auc_score"] == 0.5  # softmax over a single column: constant scores
    assert abs(rec[-1]["auroc"] - want) < TOL


def test_loss_activation_follows_what_get_preds_applies():
    assert loss_activation(CrossEntropyLossFlat()) == "softmax"
    assert loss_activation(CrossEntropyLossFlat(axis=1)) == "softmax"
    assert loss_activation(FocalLossFlat()) == "softmax"
    assert loss_activation(BCEWithLogitsLossFlat()) == "sigmoid"
    assert loss_activation(MSELossFlat()) == "auto"  # fastai's identity
    assert loss_activation(nn.CrossEntropyLoss()) == "auto"  # no activation attribute: the core decides
    assert loss_activation(torch.nn.functional.cross_entropy) == "auto"


def test_explicit_activation_overrides_the_loss(digits):
    learn = _digits_learner(digits, metrics=[AUROC(activation=None, name="raw"), AUROC(activation="auto")])
    rec = _fit(learn, 1)
    assert learn.metrics[0].accumulator.options.activation is None
    assert learn.metrics[1].accumulator.options.activation == "auto"
    raw, target = learn.get_preds(act=lambda t: t)  # logits: the per-column ranking is not softmax's
    want_raw = roc_auc_score(target.numpy(), torch.softmax(raw, 1).numpy(), multi_class="ovr")
    assert abs(rec[-1]["auroc"] - want_raw) < TOL
    logit_ovr = np.mean([roc_auc_score(target.numpy() == k, raw[:, k].numpy()) for k in range(10)])
    assert abs(rec[-1]["raw"] - logit_ovr) < TOL


# ----------------------------------------------------------------------------- the callback


@pytest.mark.parametrize("cb", [AUROCCallback, AUROCCallback()], ids=["class", "instance"])
def test_callback_class_and_instance_record_the_sklearn_value(digits, cb):
    learn = _digits_learner(digits, metrics=accuracy, cbs=cb)
    rec = _fit(learn, 2)
    assert isinstance(learn.auroc, AUROCCallback)
    assert learn.recorder.metric_names[-3:] == ["accuracy", "auroc", "time"]
    want = _sk_multiclass(learn)
    assert abs(rec[-1]["auroc"] - want) < TOL
    assert [h["epoch"] for h in learn.auroc.history] == [0, 1]
    assert abs(learn.auroc.history[-1]["value"] - want) < TOL


def test_per_class_columns_are_named_from_vocab_and_come_before_time(digits):
    learn = _digits_learner(digits, names=True, metrics=accuracy, cbs=AUROCCallback(per_class=True))
    rec = _fit(learn, 2)
    vocab = list(learn.dls.vocab)  # fastai sorts the names
    cols = ["auroc"] + [f"auroc_{c}" for c in vocab]
    assert learn.recorder.metric_names == ["epoch", "train_loss", "valid_loss", "accuracy"] + cols + ["time"]
    probs, target = learn.get_preds()
    per_class = roc_auc_score(target.numpy(), probs.numpy(), multi_class="ovr", average=None)
    for k, name in enumerate(vocab):
        assert abs(rec[-1][f"auroc_{name}"] - per_class[k]) < TOL
        assert abs(learn.auroc.history[-1]["per_class"][name] - per_class[k]) < TOL
    assert learn.auroc.history[-1]["support"] == dict(zip(vocab, np.bincount(target.numpy(), minlength=10).tolist()))
    assert learn.auroc.history[-1]["num_samples"] == len(target)
    assert learn.auroc.columns == cols


def test_fit_one_cycle_records_every_epoch(digits):
    learn = _digits_learner(digits, cbs=AUROCCallback(name="val_auroc"))
    rec = _fit(learn, 3, one_cycle=True)
    assert isinstance(learn.val_auroc, AUROCCallback) and len(learn.val_auroc.history) == 3
    assert [r["val_auroc"] for r in rec] == [h["value"] for h in learn.val_auroc.history]
    assert abs(rec[-1]["val_auroc"] - _sk_multiclass(learn)) < TOL


def test_validate_returns_the_value_without_adding_history(digits):
    learn = _digits_learner(digits, metrics=AUROC(name="metric_auroc"), cbs=AUROCCallback())
    _fit(learn, 1)
    want = _sk_multiclass(learn)
    res = learn.validate()
    names = list(learn.recorder.metric_names)
    named = dict(zip(names[names.index("valid_loss") :], res))  # validate() returns [valid_loss, *metrics]
    assert abs(named["auroc"] - want) < TOL and abs(named["metric_auroc"] - want) < TOL
    assert len(learn.auroc.history) == 1 and abs(learn.auroc.last.scores.value.item() - want) < TOL


def test_lr_find_neither_breaks_nor_records(digits):
    learn = _digits_learner(digits, metrics=AUROC(name="metric_auroc"), cbs=AUROCCallback(per_class=True))
    _fit(learn, 1)
    history, last = list(learn.auroc.history), learn.auroc.last
    learn.lr_find(num_it=10, show_plot=False)
    assert learn.auroc.history == history and learn.auroc.last is last
    assert "auroc" not in learn.recorder.metric_names  # no column for a run that never validates


def test_get_preds_and_a_test_set_without_labels_record_nothing(digits):
    learn = _digits_learner(digits, metrics=AUROC(name="metric_auroc"), cbs=AUROCCallback())
    _fit(learn, 1)
    last = learn.auroc.last
    learn.get_preds()
    assert learn.metrics[0].value is None  # get_preds returns predictions: the metric collected nothing
    test_dl = learn.dls.test_dl(list(zip(digits[0][:50], digits[1][:50])), with_labels=False)
    probs, _ = learn.get_preds(dl=test_dl)
    assert probs.shape == (50, 10) and learn.auroc.last is last and len(learn.auroc.history) == 1


def test_tabular_learner_with_column_targets():
    tab = pytest.importorskip("fastai.tabular.all")
    x, y = load_wine(return_X_y=True, as_frame=True)
    df = x.assign(target=np.array(["class_0", "class_1", "class_2"])[y])
    dls = tab.TabularDataLoaders.from_df(
        df,
        y_names="target",
        cont_names=list(x.columns),
        procs=[tab.Normalize],
        y_block=tab.CategoryBlock(),
        valid_idx=list(range(0, len(df), 3)),
        bs=32,
        num_workers=0,
    )
    assert dls.one_batch()[-1].shape[1:] == (1,)  # targets shaped (bs, 1)
    torch.manual_seed(0)
    learn = tab.tabular_learner(dls, layers=[16], metrics=AUROC, cbs=AUROCCallback(per_class=True, name="cb"))
    learn.remove_cb(ProgressCallback)
    rec = _fit(learn, 2)
    assert learn.recorder.metric_names[-6:] == ["auroc", "cb", "cb_class_0", "cb_class_1", "cb_class_2", "time"]
    probs, target = learn.get_preds()
    want = roc_auc_score(target.numpy().ravel(), probs.numpy(), multi_class="ovr")
    assert abs(rec[-1]["auroc"] - want) < TOL and abs(rec[-1]["cb"] - want) < TOL


def test_text_classifier_learner():
    text = pytest.importorskip("fastai.text.all")
    rng = np.random.default_rng(0)
    pos, neg, filler = ["good", "great", "fine", "nice"], ["bad", "awful", "poor", "sad"], ["the", "a", "movie", "was"]
    items = []
    for i in range(200):  # pre-tokenized: fastai's default tokenizer needs spacy, not installed here
        label = ("neg", "pos")[i % 2]
        words = list(rng.choice(filler, 6)) + list(rng.choice(pos if label == "pos" else neg, 2))
        items.append((list(rng.permutation(words)), label))
    dsets = Datasets(
        items,
        tfms=[[ItemGetter(0), text.Numericalize(min_freq=1)], [ItemGetter(1), Categorize()]],
        splits=IndexSplitter(list(range(0, 200, 5)))(items),
    )
    dls = dsets.dataloaders(bs=32, num_workers=0)
    config = dict(text.awd_lstm_clas_config, emb_sz=16, n_hid=16, n_layers=1)
    torch.manual_seed(0)
    learn = text.text_classifier_learner(
        dls,
        text.AWD_LSTM,
        seq_len=8,
        config=config,
        pretrained=False,
        metrics=AUROC(),
        cbs=AUROCCallback(per_class=True, name="cb"),
    )
    learn.remove_cb(ProgressCallback)
    rec = _fit(learn, 1)
    probs, target = learn.get_preds()
    want = roc_auc_score(target.numpy(), probs[:, 1].numpy())
    assert abs(rec[-1]["auroc"] - want) < TOL and abs(rec[-1]["cb"] - want) < TOL
    assert learn.cb.columns == ["cb", "cb_neg", "cb_pos"]  # the class vocab, not the token vocab


def test_multilabel_targets_with_bce(digits):
    x, y = digits
    labels = np.stack([y % 2 == 0, y > 4, np.isin(y, [2, 3, 5, 7])], 1).astype(np.float32)
    learn = _learner(
        _dls(x, labels, categorize=False),
        _mlp(64, 3),
        loss_func=BCEWithLogitsLossFlat(),
        metrics=AUROC(),
        cbs=AUROCCallback(name="cb", per_class=True, class_names=["even", "big", "prime"]),
    )
    rec = _fit(learn, 2)
    assert learn.metrics[0].accumulator.options.activation == "sigmoid"
    probs, target = learn.get_preds()
    want = roc_auc_score(target.numpy(), probs.numpy())
    assert abs(rec[-1]["auroc"] - want) < TOL and abs(rec[-1]["cb"] - want) < TOL
    per_label = roc_auc_score(target.numpy(), probs.numpy(), average=None)
    assert all(abs(rec[-1][f"cb_{n}"] - v) < TOL for n, v in zip(["even", "big", "prime"], per_label))


# ----------------------------------------------------------------------------- TensorBoard


def _events(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    ea.Reload()
    return ea


def test_tensorboard_callback_writes_each_per_class_number_once_and_gets_the_roc_figure(digits, tmp_path):
    """fastai's TensorBoardCallback writes the Recorder columns (``auroc_<class>``); ours only draws: no ``auroc/<class>``
    copy of the same numbers."""
    tb = pytest.importorskip("fastai.callback.tensorboard")
    pytest.importorskip("matplotlib")
    tbcb = tb.TensorBoardCallback(log_dir=tmp_path, trace_model=False, log_preds=False)
    learn = _digits_learner(digits, names=True, cbs=[tbcb, AUROCCallback(per_class=True, ci=True, pr_curves=False)])
    learn.recorder.add_time = False  # fastai's callback drops the last column: ours must survive anyway
    _fit(learn, 2)
    ea = _events(tmp_path)
    scalars, images = set(ea.Tags()["scalars"]), set(ea.Tags()["images"])
    vocab = list(learn.dls.vocab)
    assert set(learn.auroc.columns) <= scalars  # every column, the skipped last one included
    ours = [t for t in scalars if t.startswith("auroc")]
    assert sorted(ours) == sorted(learn.auroc.columns)  # 10 numbers, 10 per-class tags: none written twice
    for tag in learn.auroc.columns:
        assert len(ea.Scalars(tag)) == 2, tag  # once per epoch
    assert "auroc/roc" in images and len(ea.Images("auroc/roc")) == 2  # one figure per epoch
    logged = {e.step: e.value for e in ea.Scalars("auroc")}
    steps = sorted(logged)
    assert len(steps) == 2
    assert abs(logged[steps[-1]] - _sk_multiclass(learn)) < 1e-6  # float32 in the event file
    per_class = [e.value for e in ea.Scalars(f"auroc_{vocab[3]}")]
    assert abs(per_class[-1] - learn.auroc.history[-1]["per_class"][vocab[3]]) < 1e-6
    assert abs(ea.Scalars(learn.auroc.columns[-1])[-1].value - learn.auroc.history[-1]["per_class"][vocab[-1]]) < 1e-6


def test_tensorboard_callback_with_calibration_writes_no_second_copy_of_the_columns(cancer, tmp_path):
    tb = pytest.importorskip("fastai.callback.tensorboard")
    pytest.importorskip("matplotlib")
    tbcb = tb.TensorBoardCallback(log_dir=tmp_path, trace_model=False, log_preds=False)
    learn = _binary_learner(cancer, cbs=[tbcb, AUROCCallback(calibration=True)])
    _fit(learn, 1)
    ea = _events(tmp_path)
    assert {"auroc", "ece", "ece_tempered", "brier"} <= set(ea.Tags()["scalars"])
    assert not [t for t in ea.Tags()["scalars"] if t.startswith("calibration/")]
    assert "calibration/reliability" in ea.Tags()["images"]


def test_tensorboard_callback_without_time_column_still_gets_the_value_it_skips(digits, tmp_path):
    """fastai's callback writes every Recorder column but the last: when ``auroc`` is last, ours writes it."""
    tb = pytest.importorskip("fastai.callback.tensorboard")
    tbcb = tb.TensorBoardCallback(log_dir=tmp_path, trace_model=False, log_preds=False)
    learn = _digits_learner(digits, cbs=[tbcb, AUROCCallback(log_curve=False, pr_curves=False)])
    learn.recorder.add_time = False
    _fit(learn, 2)
    assert learn.recorder.metric_names[-1] == "auroc"
    assert len(_events(tmp_path).Scalars("auroc")) == 2


def test_log_dir_writes_events_without_fastai_tensorboard_callback(cancer, tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    learn = _binary_learner(cancer, cbs=AUROCCallback(log_dir=tmp_path, pr_curves=True))
    _fit(learn, 1)
    ea = _events(tmp_path)
    assert abs(ea.Scalars("auroc")[-1].value - _sk_binary(learn)) < 1e-6
    assert "auroc/roc" in ea.Tags()["images"] and "auroc/pr" in ea.Tags()["tensors"]


# ----------------------------------------------------------------------------- degenerate epochs


def _count(record, category=ac.UndefinedAUROCWarning):
    return sum(issubclass(w.category, category) for w in record)


def test_missing_class_completes_the_fit_with_nan_and_one_warning_per_epoch(digits):
    _, y = digits
    valid_idx = [i for i in range(0, len(y), 5) if y[i] != 9]  # no 9 in the validation set
    learn = _digits_learner(digits, valid_idx=valid_idx, metrics=AUROC())
    with pytest.warns(ac.UndefinedAUROCWarning, match="class") as record:
        rec = _fit(learn, 2)
    assert _count(record) == 2  # one per epoch, not per batch
    probs, target = learn.get_preds()
    present = [roc_auc_score(target.numpy() == k, probs[:, k].numpy()) for k in range(9)]
    assert abs(rec[-1]["auroc"] - np.mean(present)) < TOL

    cb_learn = _digits_learner(digits, valid_idx=valid_idx, cbs=AUROCCallback(per_class=True))
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        cb_rec = _fit(cb_learn, 1)
    assert _count(record) == 1
    assert math.isnan(cb_rec[-1]["auroc_9"]) and cb_learn.auroc.history[-1]["support"]["9"] == 0


def test_fastai_rocauc_aborts_the_fit_on_a_missing_class(digits):
    _, y = digits
    valid_idx = [i for i in range(0, len(y), 5) if y[i] != 9]
    learn = _digits_learner(digits, valid_idx=valid_idx, metrics=RocAuc())
    with pytest.raises(ValueError):
        _fit(learn, 1)


def test_single_class_binary_validation_gives_nan_and_warns(cancer):
    _, y = cancer
    valid_idx = np.flatnonzero(y == 0)[::3]  # negatives only
    learn = _binary_learner(cancer, valid_idx=valid_idx, metrics=AUROC())
    with pytest.warns(ac.UndefinedAUROCWarning, match="only one class") as record:
        rec = _fit(learn, 1)
    assert _count(record) == 1 and math.isnan(rec[-1]["auroc"])


def test_nan_logits_give_nan_and_warn_instead_of_raising(digits):
    learn = _digits_learner(digits, metrics=AUROC(name="metric_auroc"), cbs=AUROCCallback(per_class=True))
    with torch.no_grad():
        learn.model[-1].bias.fill_(float("nan"))  # a diverged model
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN") as record:
        rec = _fit(learn, 2)
    assert _count(record) == 4  # two epochs, the metric and the callback once each
    assert all(math.isnan(r["auroc"]) and math.isnan(r["metric_auroc"]) for r in rec)
    assert all(math.isnan(v) for v in learn.auroc.history[-1]["per_class"].values())


# ----------------------------------------------------------------------------- precision and devices


@pytest.mark.filterwarnings("ignore:.*CUDA is not available:UserWarning")
def test_to_fp16_trains_and_matches_sklearn(digits):
    learn = _digits_learner(digits, metrics=AUROC()).to_fp16()  # on a CPU, fastai disables autocast
    rec = _fit(learn, 1)
    assert abs(rec[-1]["auroc"] - _sk_multiclass(learn)) < TOL


class _HalfLogits(nn.Module):
    def forward(self, x):
        return x.half()


class _UpcastCrossEntropy(CrossEntropyLossFlat):
    """fastai's Recorder cannot average a float16 loss: compute it in float32 (the activation stays softmax)."""

    def __call__(self, inp, targ, **kwargs):
        return super().__call__(inp.float(), targ, **kwargs)


def test_half_precision_logits_are_upcast_before_the_softmax(digits):
    learn = _digits_learner(digits, metrics=AUROC(), loss_func=_UpcastCrossEntropy())
    learn.model.append(_HalfLogits())
    rec = _fit(learn, 1)
    logits, target = learn.get_preds(act=lambda t: t)
    assert logits.dtype == torch.float16
    want = roc_auc_score(target.numpy(), torch.softmax(logits.float(), 1).numpy(), multi_class="ovr")
    assert abs(rec[-1]["auroc"] - want) < TOL


def test_no_host_copy_or_sync_per_validation_batch(digits, monkeypatch):
    metric, cb = AUROC(name="metric_auroc"), AUROCCallback(per_class=True)
    learn = _digits_learner(digits, metrics=metric, cbs=cb)
    inside, calls = [False], []
    for method in ("cpu", "item", "tolist", "numpy", "__bool__", "__float__", "__int__"):
        original = getattr(torch.Tensor, method)

        def spy(self, *args, _original=original, _name=method, **kwargs):
            if inside[0]:
                calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, method, spy)

    def watched(fn):
        def run(*args):
            inside[0] = True
            try:
                return fn(*args)
            finally:
                inside[0] = False

        return run

    monkeypatch.setattr(metric, "accumulate", watched(metric.accumulate))
    monkeypatch.setattr(cb._collector, "update", watched(cb._collector.update))
    _fit(learn, 1)
    assert calls == []
    device = next(learn.model.parameters()).device
    for acc in (metric.accumulator, cb.accumulator):
        preds, target = acc.gather()
        assert preds.device == device and target.device == device


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _on_cuda(learn):
    learn.dls.to(torch.device("cuda"))  # fastai's TrainEvalCallback moves the model to the data's device
    return learn


@pytest.mark.gpu
@needs_cuda
def test_on_a_gpu_batches_stay_on_the_device_without_a_host_sync(digits, monkeypatch):
    metric, cb = AUROC(), AUROCCallback(per_class=True, name="cb")
    learn = _on_cuda(_digits_learner(digits, metrics=metric, cbs=cb))

    def no_sync(fn):  # any device-to-host synchronisation inside raises
        def run(*args):
            torch.cuda.set_sync_debug_mode("error")
            try:
                return fn(*args)
            finally:
                torch.cuda.set_sync_debug_mode("default")

        return run

    monkeypatch.setattr(metric, "accumulate", no_sync(metric.accumulate))
    monkeypatch.setattr(cb._collector, "update", no_sync(cb._collector.update))
    rec = _fit(learn, 2)
    for acc in (metric.accumulator, cb.accumulator):
        preds, target = acc.gather()
        assert preds.is_cuda and target.is_cuda
    want = _sk_multiclass(learn)
    assert abs(rec[-1]["auroc"] - want) < TOL and abs(rec[-1]["cb"] - want) < TOL


@pytest.mark.gpu
@needs_cuda
def test_to_fp16_on_a_gpu_matches_sklearn(digits):
    learn = _on_cuda(_digits_learner(digits, metrics=AUROC())).to_fp16()  # real float16 autocast
    rec = _fit(learn, 2)
    assert abs(rec[-1]["auroc"] - _sk_multiclass(learn)) < TOL


# ----------------------------------------------------------------------------- arguments


def test_bad_arguments_raise_naming_the_argument():
    with pytest.raises(ValueError, match="`average`"):
        AUROC(average="mean")
    with pytest.raises(ValueError, match="`activation`"):
        AUROC(activation="relu")
    with pytest.raises(ValueError, match="`max_fpr`"):
        AUROC(max_fpr=1.5)
    with pytest.raises(TypeError, match="`name`"):
        AUROC(name=3)
    with pytest.raises(TypeError, match="`per_class`"):
        AUROCCallback(per_class="yes")
    with pytest.raises(ValueError, match="`average`.*per_class=True"):
        AUROCCallback(average=None)
    with pytest.raises(TypeError, match="`class_names`"):
        AUROCCallback(class_names="abc")
    with pytest.raises(TypeError, match="`log_dir`"):
        AUROCCallback(log_dir=3)


def test_per_class_without_vocab_asks_for_class_names(cancer):
    learn = _binary_learner(cancer, cbs=AUROCCallback(per_class=True))
    with pytest.raises(ValueError, match="class_names"):
        _fit(learn, 1)
    learn = _binary_learner(cancer, cbs=AUROCCallback(per_class=True, class_names=["benign", "malignant"]))
    rec = _fit(learn, 1)
    want = _sk_binary(learn)
    # one score column: class 0's one-vs-rest AUROC is class 1's, so both columns hold it
    assert abs(rec[-1]["auroc_benign"] - want) < TOL and abs(rec[-1]["auroc_malignant"] - want) < TOL
    last = learn.auroc.history[-1]
    assert list(last["per_class"]) == ["malignant"] and abs(last["per_class"]["malignant"] - want) < TOL
    assert last["support"] == {"malignant": int(cancer[1][::5].sum())}


# ----------------------------------------------------------------------------- distributed


@pytest.mark.slow
def test_fastai_distributed_mode_gathers_once_and_matches_sklearn(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(ROOT / "tests" / "_fastai_ddp_worker.py"),
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for res in results:
        assert res["world_size"] == 2
        assert res["model_and_dl"] == ["DistributedDataParallel", "DistributedDL"]
        # fastai's to_detach gathered every rank's batches and dropped the sampler's padding; we did not gather again
        assert res["num_samples"] == res["num_samples_cb"] == res["valid_size"]
        assert res["gathered"] == [res["valid_size"]] * 2
        assert abs(res["metric"] - res["sklearn"]) < TOL
        assert abs(res["callback"] - res["sklearn"]) < TOL
        # mode="histogram" counts the same gathered, trimmed batches: the whole validation set once, no reduce
        assert res["hist_num_samples"] == res["valid_size"]
        assert abs(res["hist_metric"] - res["sklearn"]) <= res["hist_bound"] + TOL
        # the reference re-ran the model outside the loop: a float32 ulp may move a probability across a bucket
        assert abs(res["hist_metric"] - res["sklearn_half"]) < 1e-3
    assert results[0]["metric"] == results[1]["metric"]
    assert results[0]["hist_metric"] == results[1]["hist_metric"]


# ----------------------------------------------------------------------------- ci=True (issue 6)


def test_ci_adds_lo_and_hi_columns_after_the_value(cancer):
    learn = _binary_learner(cancer, metrics=accuracy, cbs=AUROCCallback(ci=True))
    rec = _fit(learn, 2)
    assert learn.recorder.metric_names[-5:] == ["accuracy", "auroc", "auroc_lo", "auroc_hi", "time"]
    assert learn.auroc.columns == ["auroc", "auroc_lo", "auroc_hi"]
    probs, target = learn.get_preds()
    want, se = _sk_binary(learn), delong_se(probs.numpy(), target.numpy())[1]
    assert abs(rec[-1]["auroc"] - want) < TOL
    _, lo, hi = delong_interval(probs.numpy(), target.numpy())  # the default logit-t interval
    assert se > 0 and abs(rec[-1]["auroc_lo"] - lo) < TOL and abs(rec[-1]["auroc_hi"] - hi) < TOL
    last = learn.auroc.history[-1]
    assert (last["lower"], last["upper"]) == (rec[-1]["auroc_lo"], rec[-1]["auroc_hi"])


def test_ci_columns_come_before_the_per_class_ones_and_reach_tensorboard(digits, tmp_path):
    pytest.importorskip("tensorboard")
    learn = _digits_learner(
        digits, cbs=AUROCCallback(ci=True, ci_level=0.9, per_class=True, log_dir=tmp_path, log_curve=False)
    )
    rec = _fit(learn, 1)
    assert learn.auroc.columns[:4] == ["auroc", "auroc_lo", "auroc_hi", "auroc_0"]
    assert rec[-1]["auroc_lo"] < rec[-1]["auroc"] < rec[-1]["auroc_hi"]
    ea = _events(tmp_path)
    assert {"auroc", "auroc_lo", "auroc_hi"} <= set(ea.Tags()["scalars"])
    assert abs(ea.Scalars("auroc_lo")[-1].value - rec[-1]["auroc_lo"]) < 1e-6


def test_ci_with_an_average_that_has_no_interval_fails_at_construction():
    with pytest.raises(ValueError, match="`average='micro'` has no interval"):
        AUROCCallback(ci=True, average="micro")
    with pytest.raises(ValueError, match=r"`ci_level` must be a float in \(0, 1\); got 1.5"):
        AUROCCallback(ci=True, ci_level=1.5)


# ----------------------------------------------------------------------------- mode="histogram" (issue 7)


def test_histogram_mode_adds_a_bound_column_and_equals_sklearn_on_float16_probabilities(digits, tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    cb = AUROCCallback(mode="histogram", per_class=True, log_dir=tmp_path)
    learn = _digits_learner(digits, metrics=AUROC(name="hist", mode="histogram"), cbs=cb)
    rec = _fit(learn, 1)
    assert learn.auroc.columns[:3] == ["auroc", "auroc_bound", "auroc_0"]
    probs, target = learn.get_preds()
    half, y = probs.half().double().numpy(), target.numpy()
    want = np.mean([roc_auc_score(y == k, half[:, k]) for k in range(10)])
    assert rec[-1]["auroc"] == pytest.approx(want, abs=1e-12) and rec[-1]["hist"] == rec[-1]["auroc"]
    exact = roc_auc_score(y, probs.numpy(), multi_class="ovr")
    assert abs(exact - rec[-1]["auroc"]) <= rec[-1]["auroc_bound"] + 1e-12
    assert learn.auroc.history[-1]["bound"] == rec[-1]["auroc_bound"]
    ea = _events(tmp_path)
    assert {"auroc", "auroc_bound", "auroc/0"} <= set(ea.Tags()["scalars"])
    assert ea.Tags()["images"] == ["auroc/roc"] and not ea.Tags()["tensors"]  # drawn from the counts
    assert abs(ea.Scalars("auroc_bound")[-1].value - rec[-1]["auroc_bound"]) < 1e-9


def test_histogram_mode_bad_options_fail_at_construction():
    with pytest.raises(ValueError, match="`histogram_dtype`"):
        AUROC(mode="histogram", histogram_dtype=torch.float32)
    with pytest.raises(ValueError, match="`ci=True` needs mode='exact'"):
        AUROCCallback(mode="histogram", ci=True)
    with pytest.raises(ValueError, match="`mode` must be one of"):
        AUROCCallback(mode="binned")
    with pytest.raises(ValueError, match="`pr_curves=True` needs mode='exact'"):  # PR curves take every prediction
        AUROCCallback(mode="histogram", pr_curves=True)


# ----------------------------------------------------------------------------- calibration=True (issue 7)


def _sk_ece(y_true, y_prob, n_bins=15, strategy="uniform"):
    """ECE from sklearn's calibration_curve: sum over its non-empty bins of count / N * |prob_true - prob_pred|."""
    from sklearn.calibration import calibration_curve

    y_true, y_prob = np.asarray(y_true).ravel(), np.asarray(y_prob, dtype=np.float64).ravel()
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=n_bins, strategy=strategy)
    if strategy == "uniform":  # calibration_curve's own bins: a value on an inner edge falls in the lower bin
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        edges = np.percentile(y_prob, np.linspace(0, 1, n_bins + 1) * 100)
    count = np.bincount(np.searchsorted(edges[1:-1], y_prob), minlength=n_bins)
    count = count[count > 0]
    return float(np.sum(count / len(y_prob) * np.abs(prob_true - prob_pred)))


def test_calibration_columns_equal_sklearn_and_reach_tensorboard(cancer, tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    from sklearn.metrics import brier_score_loss

    cb = AUROCCallback(calibration=True, per_class=True, class_names=["benign", "malignant"], log_dir=tmp_path)
    learn = _binary_learner(cancer, cbs=cb)
    rec = _fit(learn, 2)
    cols = ["ece", "ece_tempered", "brier"]
    assert learn.recorder.metric_names[-7:] == ["auroc", "auroc_benign", "auroc_malignant", *cols, "time"]
    assert learn.auroc.columns[-3:] == cols
    probs, target = learn.get_preds()
    y = target.numpy().ravel()
    assert abs(rec[-1]["ece"] - _sk_ece(y, probs.numpy())) < TOL
    assert abs(rec[-1]["brier"] - brier_score_loss(y, probs.double().numpy().ravel())) < TOL
    logits, _ = learn.get_preds(act=lambda t: t)
    scaler = cal.fit_temperature(logits, target)  # the temperature fitted on the validation set, as the callback does
    tempered = cal.calibration_error(scaler(logits), target, activation=None)
    assert abs(rec[-1]["ece_tempered"] - tempered.item()) < TOL
    last = learn.auroc.history[-1]["calibration"]
    assert set(last) == {"ece", "ece_tempered", "mce", "brier", "nll", "temperature"}
    assert [last[c] for c in cols] == [rec[-1][c] for c in cols]
    assert last["temperature"] == pytest.approx(scaler.temperature.item(), rel=1e-6)

    ea = _events(tmp_path)
    steps = [h["step"] for h in learn.auroc.history]
    for name in ("ece", "ece_tempered", "mce", "brier", "nll", "temperature"):
        events = ea.Scalars(f"calibration/{name}")
        assert [e.step for e in events] == steps
        assert [e.value for e in events] == pytest.approx(
            [h["calibration"][name] for h in learn.auroc.history], rel=1e-6
        )  # float32 in the event file
    images = ea.Images("calibration/reliability")
    assert [im.step for im in images] == steps and all(im.width > 100 for im in images)


def test_calibration_options_reach_the_core_top_label_on_multiclass(digits):
    from sklearn.metrics import brier_score_loss

    cb = AUROCCallback(name="val_auroc", calibration={"n_bins": 10, "strategy": "quantile"})
    learn = _digits_learner(digits, cbs=cb)
    rec = _fit(learn, 1)
    assert learn.recorder.metric_names[-5:] == ["val_auroc", "val_ece", "val_ece_tempered", "val_brier", "time"]
    probs, target = learn.get_preds()
    p, y = probs.numpy(), target.numpy()
    top_label = _sk_ece(p.argmax(1) == y, p.max(1), n_bins=10, strategy="quantile")
    assert abs(rec[-1]["val_ece"] - top_label) < TOL
    assert abs(rec[-1]["val_brier"] - brier_score_loss(y, p, labels=np.arange(10))) < TOL
    logits, _ = learn.get_preds(act=lambda t: t)
    scaler = cal.fit_temperature(logits, target)
    want = cal.calibration_error(scaler(logits), target, activation=None, n_bins=10, strategy="quantile")
    assert abs(rec[-1]["val_ece_tempered"] - want.item()) < TOL


def test_calibration_with_a_single_class_epoch_completes_with_nan_and_one_warning_each(cancer):
    from sklearn.metrics import brier_score_loss

    _, y = cancer
    valid_idx = np.flatnonzero(y == 0)[::3]  # negatives only
    learn = _binary_learner(cancer, valid_idx=valid_idx, cbs=AUROCCallback(calibration=True))
    with torch.no_grad():
        learn.model[-1].bias.fill_(-50.0)  # every negative right with a margin: no temperature minimises the NLL
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        rec = _fit(learn, 2)
    categories = [w.category for w in record if issubclass(w.category, ac.UndefinedAUROCWarning)]
    assert categories.count(ac.UndefinedAUROCWarning) == 2  # "only one class", from the AUROC
    assert categories.count(cal.UndefinedCalibrationWarning) == 2  # the temperature, once per epoch
    assert all(math.isnan(r["auroc"]) and math.isnan(r["ece_tempered"]) for r in rec)
    assert math.isnan(learn.auroc.history[-1]["calibration"]["temperature"])
    probs, target = learn.get_preds()  # ECE and Brier are defined on one class
    assert abs(rec[-1]["ece"] - _sk_ece(target.numpy(), probs.numpy())) < TOL
    assert abs(rec[-1]["brier"] - brier_score_loss(target.numpy().ravel(), probs.double().numpy().ravel())) < TOL


def test_calibration_with_nan_logits_gives_nan_columns_and_no_second_warning(digits):
    learn = _digits_learner(digits, cbs=AUROCCallback(calibration=True))
    with torch.no_grad():
        learn.model[-1].bias.fill_(float("nan"))  # a diverged model
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN") as record:
        rec = _fit(learn, 1)
    assert [w.category for w in record if issubclass(w.category, ac.UndefinedAUROCWarning)] == [
        ac.UndefinedAUROCWarning
    ]  # the AUROC's; calibration had the same reason and stayed silent
    assert all(math.isnan(rec[-1][c]) for c in ("auroc", "ece", "ece_tempered", "brier"))
    assert all(math.isnan(v) for v in learn.auroc.history[-1]["calibration"].values())


def test_calibration_bad_arguments_raise_naming_them():
    with pytest.raises(TypeError, match="`calibration` must be a bool or a Mapping; got str 'yes'"):
        AUROCCallback(calibration="yes")
    with pytest.raises(ValueError, match="`n_bins` must be an int >= 1; got 0"):
        AUROCCallback(calibration={"n_bins": 0})
    with pytest.raises(TypeError, match="`n_bins` must be an int >= 1; got float 2.5"):
        AUROCCallback(calibration={"n_bins": 2.5})
    with pytest.raises(ValueError, match="`strategy` must be one of 'uniform', 'quantile'; got 'equal'"):
        AUROCCallback(calibration={"strategy": "equal"})
    with pytest.raises(TypeError, match="`strategy` must be one of 'uniform', 'quantile'; got NoneType None"):
        AUROCCallback(calibration={"strategy": None})
    with pytest.raises(ValueError, match="`calibration` takes the options 'n_bins' and 'strategy'; got 'bins'"):
        AUROCCallback(calibration={"bins": 10})
    with pytest.raises(ValueError, match="`calibration` needs mode='exact'.*mode='histogram'"):
        AUROCCallback(calibration=True, mode="histogram")
    with pytest.raises(ValueError, match="`calibration` needs multiclass probabilities.*activation='sigmoid'"):
        AUROCCallback(calibration=True, task="multiclass", activation="sigmoid")
    with pytest.raises(TypeError, match="`sync_dist` is set by the callback itself"):
        AUROCCallback(sync_dist=True)
    with pytest.raises(TypeError, match=r"AUROCCallback got an unexpected option `figure` \(renamed `log_curve`\)"):
        AUROCCallback(figure=False)
    with pytest.raises(TypeError, match=r"AUROC got an unexpected option `per_class`; its own options are name"):
        AUROC(per_class=True)


def test_calibration_of_logits_declared_probabilities_is_nan_with_a_warning_and_the_fit_goes_on(digits):
    """activation=None on logits: the AUROC ranks them fine; calibration cannot bin them, and says so."""
    learn = _digits_learner(digits, cbs=AUROCCallback(calibration=True, activation=None))
    with pytest.warns(cal.UndefinedCalibrationWarning, match="calibration is NaN this epoch: calibration needs"):
        rec = _fit(learn, 1)
    probs, target = learn.get_preds(act=lambda x: x)  # the raw logits the callback saw
    want = np.mean([roc_auc_score(target.numpy() == c, probs[:, c].numpy()) for c in range(10)])  # OvR, as ranked
    assert abs(rec[-1]["auroc"] - want) < TOL
    assert all(math.isnan(rec[-1][c]) for c in ("ece", "ece_tempered", "brier"))


def test_a_vocab_that_does_not_fit_the_model_only_matters_for_per_class_columns(cancer):
    """dls.vocab names 3 classes but the model scores one logit: the value still trains and equals sklearn;
    per-class columns, which need the names, say what does not fit."""
    learn = _binary_learner(cancer, cbs=AUROCCallback())
    learn.dls.vocab = ["a", "b", "c"]
    rec = _fit(learn, 1)
    probs, target = learn.get_preds()
    assert abs(rec[-1]["auroc"] - roc_auc_score(target.numpy().ravel(), probs.numpy().ravel())) < TOL
    assert list(learn.auroc.history[-1]["per_class"]) == ["1"]  # numbered, not a wrong vocab name
    learn = _binary_learner(cancer, cbs=AUROCCallback(per_class=True))
    learn.dls.vocab = ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"3 class names came from the data .* but the model scores 1 column"):
        _fit(learn, 1)


# ----------------------------------------------------------------------------- column names (issue 13)


@pytest.mark.parametrize(
    "metrics, cbs, match",
    [
        (
            AUROC(),
            [AUROCCallback()],
            r"AUROCCallback\(name='auroc'.*adds the column 'auroc', which the metric AUROC\(name='auroc'",
        ),
        (
            None,
            [AUROCCallback(), AUROCCallback()],
            r"adds the column 'auroc', which another AUROCCallback\(name='auroc'",
        ),
        (
            AUROC(name="auroc_lo"),
            [AUROCCallback(ci=True)],
            r"adds the column 'auroc_lo', which the metric AUROC\(name='auroc_lo'",
        ),
        (accuracy, [AUROCCallback(name="accuracy")], r"adds the column 'accuracy', which the metric 'accuracy'"),
        (None, [AUROCCallback(name="valid_loss")], r"adds the column 'valid_loss', which the Recorder"),
    ],
    ids=["metric-and-callback", "two-callbacks", "interval-column", "another-metric", "recorder-column"],
)
def test_a_column_name_already_taken_is_refused_at_before_fit_naming_both(digits, metrics, cbs, match):
    learn = _digits_learner(digits, metrics=[] if metrics is None else metrics, cbs=cbs)
    with pytest.raises(ValueError, match=match) as err:
        _fit(learn, 1)
    assert "name=" in str(err.value) and "SaveModelCallback(monitor=" in str(err.value)
    assert getattr(learn, "train_iter", 0) == 0  # refused before any training


def test_renamed_columns_live_side_by_side_and_trackers_follow_the_one_named(digits, tmp_path):
    from fastai.callback.tracker import SaveModelCallback

    learn = _digits_learner(
        digits, metrics=AUROC(max_fpr=0.1), cbs=[AUROCCallback(name="cb_auroc"), SaveModelCallback(monitor="cb_auroc")]
    )
    learn.path = tmp_path
    rec = _fit(learn, 2)
    assert learn.save_model.best == max(h["value"] for h in learn.cb_auroc.history)  # (get_preds resets it)
    assert abs(rec[-1]["cb_auroc"] - _sk_multiclass(learn)) < TOL  # not the max_fpr=0.1 number next to it
    assert abs(rec[-1]["auroc"] - rec[-1]["cb_auroc"]) > 1e-3


# ----------------------------------------------------------------------------- undefined epochs vs trackers (issue 13)


def _one_class_valid(cancer):
    """Breast-cancer validation rows of one class only (benign, every 3rd): every epoch's AUROC is undefined."""
    return np.flatnonzero(cancer[1] == 0)[::3]


def _valid_from(epoch, dl):
    """A callback validating on ``dl`` from ``epoch`` on (the fit starts on a single-class validation set)."""
    from fastai.callback.core import Callback

    class ValidFrom(Callback):
        order = 0

        def before_epoch(self):
            if self.epoch == epoch:
                self.learn.dls.valid = dl

    return ValidFrom()


def test_save_model_callback_on_an_all_undefined_fit_keeps_the_final_weights_instead_of_crashing(cancer, tmp_path):
    from fastai.callback.tracker import SaveModelCallback

    learn = _binary_learner(
        cancer,
        valid_idx=_one_class_valid(cancer),
        cbs=[AUROCCallback(), SaveModelCallback(monitor="auroc", fname="best")],
    )
    learn.path = tmp_path
    with pytest.warns(UserWarning) as record:
        rec = _fit(learn, 2)  # fastai alone: FileNotFoundError at the end of fit (it never saved, then loads)
    assert all(math.isnan(r["auroc"]) for r in rec)
    assert _count(record) == 2  # the library's one UndefinedAUROCWarning per epoch
    kept = [str(w.message) for w in record if "saved no best model" in str(w.message)]
    assert len(kept) == 1 and "SaveModelCallback(monitor='auroc')" in kept[0] and "'best'" in kept[0]
    saved = torch.load(tmp_path / "models" / "best.pth", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in learn.model.state_dict().items())  # the final weights


def test_save_model_callback_after_an_undefined_first_epoch_saves_the_defined_one(cancer, tmp_path):
    from fastai.callback.tracker import SaveModelCallback

    mixed = _binary_learner(cancer).dls.valid  # every 5th row: both classes
    learn = _binary_learner(
        cancer,
        valid_idx=_one_class_valid(cancer),
        cbs=[AUROCCallback(), SaveModelCallback(monitor="auroc"), _valid_from(1, mixed)],
    )
    learn.path = tmp_path
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        rec = _fit(learn, 2)
    assert math.isnan(rec[0]["auroc"]) and not math.isnan(rec[1]["auroc"])
    assert not [w for w in record if "saved no best model" in str(w.message)]
    assert learn.save_model.best == rec[1]["auroc"]
    assert abs(rec[1]["auroc"] - _sk_binary(learn)) < TOL  # the loaded (epoch 1) model is the one scored


@pytest.mark.parametrize("first_defined", [None, 1], ids=["all-undefined", "undefined-then-defined"])
def test_early_stopping_callback_on_undefined_epochs_does_not_crash(cancer, first_defined):
    from fastai.callback.tracker import EarlyStoppingCallback

    cbs = [AUROCCallback(), EarlyStoppingCallback(monitor="auroc", patience=2)]
    if first_defined is not None:
        cbs.append(_valid_from(first_defined, _binary_learner(cancer).dls.valid))
    learn = _binary_learner(cancer, valid_idx=_one_class_valid(cancer), cbs=cbs)
    with pytest.warns(ac.UndefinedAUROCWarning):
        rec = _fit(learn, 4)
    if first_defined is None:
        assert len(rec) == 2 and all(math.isnan(r["auroc"]) for r in rec)  # patience ran out on NaN: stopped
    else:
        assert math.isnan(rec[0]["auroc"]) and not any(math.isnan(r["auroc"]) for r in rec[1:])


# ----------------------------------------------------------------------------- figures without a writer (issue 13)


@pytest.mark.parametrize("options", [{"log_curve": True}, {"pr_curves": True}])
def test_figures_asked_for_without_a_writer_warn_once_per_fit_naming_the_writers(cancer, options):
    learn = _binary_learner(cancer, cbs=AUROCCallback(**options))
    with pytest.warns(UserWarning, match="draws figures") as record:
        _fit(learn, 2)
    (message,) = [str(w.message) for w in record if "draws figures" in str(w.message)]
    assert "TensorBoardCallback" in message and "log_dir" in message


def test_the_default_log_curve_draws_only_when_a_writer_is_there_and_never_warns(cancer, tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _fit(_binary_learner(cancer, cbs=AUROCCallback()), 1)
        _fit(_binary_learner(cancer, cbs=AUROCCallback(log_curve=False, pr_curves=False)), 1)
    assert not [w for w in record if "draws figures" in str(w.message)]
    assert AUROCCallback().options.log_curve is None
    _fit(_binary_learner(cancer, cbs=AUROCCallback(log_dir=tmp_path)), 1)
    assert "auroc/roc" in _events(tmp_path).Tags()["images"]


# ----------------------------------------------------------------------------- export (issue 13)


def test_export_carries_options_and_history_not_the_last_epoch(digits, tmp_path):
    from fastai.learner import load_learner

    learn = _digits_learner(digits, cbs=AUROCCallback(per_class=True, calibration=True))
    _fit(learn, 1)
    assert learn.auroc.last is not None and learn.auroc.accumulator.num_samples > 0
    learn.export(tmp_path / "export.pkl")
    loaded = load_learner(tmp_path / "export.pkl", cpu=True)
    assert loaded.auroc.history == learn.auroc.history and loaded.auroc.options == learn.auroc.options
    assert loaded.auroc.last is None and loaded.auroc.accumulator is None and loaded.auroc._fresh is None
    assert learn.auroc.last is not None  # the learner exported is untouched


def test_get_preds_and_lr_find_work_with_a_tracker_monitoring_our_column(digits, tmp_path):
    """fastai's trackers assert at every before_fit that their column exists, get_preds and lr_find included."""
    from fastai.callback.tracker import SaveModelCallback

    learn = _digits_learner(digits, cbs=[AUROCCallback(), SaveModelCallback(monitor="auroc")])
    learn.path = tmp_path
    _fit(learn, 1)
    history = list(learn.auroc.history)
    probs, target = learn.get_preds()
    assert probs.shape == (len(target), 10)
    learn.lr_find(num_it=5, show_plot=False)
    assert learn.auroc.history == history
