"""Issue 13's core items, through the real frameworks a user trains with: Lightning ``Trainer`` and fastai ``Learner``.

Each scenario is one the user trial ran into (the item number is in each test's
docstring). Every expected value comes from scikit-learn (or pROC's published
behaviour) on the model's own outputs, never from the code under test. Tiny
models on scikit-learn's toy datasets keep each fit to a second or two.
"""

import functools
import importlib
import math
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader, TensorDataset

import auroc_callbacks as ac

VAL_BATCH = 32


def _lightning():
    pytest.importorskip("auroc_callbacks.lightning")
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    pytest.skip("no Lightning package")


@functools.cache
def _dataset(name):
    x, y = {"digits": load_digits, "cancer": load_breast_cancer}[name](return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    n_val = len(y) * 2 // 5
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long)
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def _interpretations(record, fragment=""):
    return [
        str(w.message)
        for w in record
        if issubclass(w.category, ac.functional.InterpretationWarning) and fragment in str(w.message)
    ]


# ----------------------------------------------------------------------------- Lightning


def _module(pl, n_in, n_out, validation_output):
    """An MLP trained with cross-entropy (BCE for one output); ``validation_output(logits, y, batch_idx)`` is what
    its validation step returns."""

    class Classifier(pl.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_out))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            if n_out == 1:
                return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y.float().reshape(-1))
            return torch.nn.functional.cross_entropy(logits, y)

        def validation_step(self, batch, batch_idx):
            x, y = batch
            return validation_output(self(x), y, batch_idx)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    return Classifier()


def _fit(pl, tmp_path, callbacks, data, validation_output, *, val=None, max_epochs=1, **trainer_options):
    pl.seed_everything(0)
    x, y, xv, yv = _dataset(data) if val is None else (*_dataset(data)[:2], *val)
    model = _module(pl, x.shape[1], 1 if data == "cancer" else 10, validation_output)
    options = dict(
        max_epochs=max_epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    options.update(trainer_options)
    trainer = pl.Trainer(callbacks=callbacks, **options)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
        trainer.fit(
            model,
            DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True),
            DataLoader(TensorDataset(xv, yv), batch_size=VAL_BATCH),
        )
    return trainer, model


def _val_logits(model, xv):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(xb) for xb in xv.split(VAL_BATCH)])


def test_lightning_sigmoid_head_with_integer_targets_is_ranked_per_column_once_warned_per_epoch(tmp_path):
    """Item 2: a sigmoid one-vs-rest head with integer targets was softmaxed (0.7208 where sklearn's per-column
    ranking and torchmetrics give 0.7062). Now ranked as given, with one warning per epoch, not per batch."""
    pl = _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    cb = AUROCCallback(num_classes=10)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        trainer, model = _fit(
            pl,
            tmp_path,
            [cb],
            "digits",
            lambda logits, y, i: {"preds": torch.sigmoid(logits), "target": y},
            max_epochs=2,
        )
    _, _, xv, yv = _dataset("digits")
    probs = torch.sigmoid(_val_logits(model, xv))
    want = np.mean([roc_auc_score(yv.numpy() == k, probs[:, k].numpy()) for k in range(10)])
    assert float(trainer.callback_metrics["val_auroc"]) == pytest.approx(want, abs=1e-9)
    softmaxed = roc_auc_score(yv.numpy(), torch.softmax(probs, 1).numpy(), multi_class="ovr")
    assert abs(want - softmaxed) > 1e-4  # the old reading gave another number
    assert len(_interpretations(record, "do not sum to 1")) == 2  # two validation epochs of several batches


def test_lightning_one_hot_target_with_logits_is_scored_as_multiclass(tmp_path):
    """Item 2: an (N, C) one-hot target next to logits was multilabel (raw logits per column); it is multiclass,
    one-vs-rest on the softmax, unless task='multilabel' says otherwise."""
    pl = _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    def one_hot(logits, y, i):
        return {"logits": logits, "target": torch.nn.functional.one_hot(y, 10)}

    inferred, per_label = AUROCCallback(), AUROCCallback(name="val_per_label", task="multilabel")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        trainer, model = _fit(pl, tmp_path, [inferred, per_label], "digits", one_hot)
    _, _, xv, yv = _dataset("digits")
    logits = _val_logits(model, xv)
    want = roc_auc_score(yv.numpy(), torch.softmax(logits, 1).numpy(), multi_class="ovr")
    assert float(trainer.callback_metrics["val_auroc"]) == pytest.approx(want, abs=1e-9)
    columns = roc_auc_score(torch.nn.functional.one_hot(yv, 10).numpy(), logits.numpy())
    assert float(trainer.callback_metrics["val_per_label"]) == pytest.approx(columns, abs=1e-9)
    assert len(_interpretations(record, "`target` is one-hot")) == 1  # the inferred one, once


def test_lightning_squeezed_logits_with_a_last_batch_of_one_row(tmp_path):
    """Item 6: ``logits.squeeze()`` turns a last batch of one row into a 0-d prediction, next to a (1, 1) target."""
    pl = _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    _, _, xv, yv = _dataset("cancer")
    xv, yv = xv[: 5 * VAL_BATCH + 1], yv[: 5 * VAL_BATCH + 1].float().unsqueeze(1)  # unsqueezed y, (N, 1)
    cb = AUROCCallback()
    trainer, model = _fit(
        pl, tmp_path, [cb], "cancer", lambda logits, y, i: {"logits": logits.squeeze(), "target": y}, val=(xv, yv)
    )
    want = roc_auc_score(yv.numpy().ravel(), _val_logits(model, xv).numpy().ravel())
    assert float(trainer.callback_metrics["val_auroc"]) == pytest.approx(want, abs=1e-9)
    assert cb.history[-1]["num_samples"] == len(yv)


def test_lightning_class_indices_as_predictions_fail_before_any_training(tmp_path):
    """Item 7: ``{"preds": logits.argmax(1), "target": y}`` failed after the first epoch with "`target` must be
    0/1 for task 'binary'; got 9". It fails at the first batch (the sanity check), saying what to pass."""
    pl = _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    with pytest.raises(ValueError, match=r"AUROC needs scores, not class indices: `preds` holds integer labels up to"):
        _fit(pl, tmp_path, [AUROCCallback()], "digits", lambda logits, y, i: {"preds": logits.argmax(1), "target": y})


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("value", ["cuda", "cuda:3"])
def test_callbacks_with_buffer_device_cuda_without_cuda_fail_at_construction(value):
    """Item 8: the raw ``AssertionError: Torch not compiled with CUDA enabled`` came at the first update."""
    _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    with pytest.raises(ValueError, match=rf"`buffer_device`='{value}' needs CUDA, which is not available"):
        AUROCCallback(buffer_device=value)
    pytest.importorskip("auroc_callbacks.fastai")
    from auroc_callbacks.fastai import AUROCCallback as FastaiCallback

    with pytest.raises(ValueError, match=r"`buffer_device`=.* needs CUDA"):
        FastaiCallback(buffer_device=value)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_lightning_binary_batches_alternating_n1_and_n(tmp_path, mode):
    """Item 9: batches of (N, 1) and (N,) predictions in one epoch were refused ("batch shapes changed")."""
    pl = _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    def alternating(logits, y, i):
        return {"logits": logits if i % 2 == 0 else logits[:, 0], "target": y.unsqueeze(1) if i % 3 == 0 else y}

    trainer, model = _fit(pl, tmp_path, [AUROCCallback(mode=mode)], "cancer", alternating)
    _, _, xv, yv = _dataset("cancer")
    logits = _val_logits(model, xv)[:, 0]
    scores = logits if mode == "exact" else logits.half().double()
    assert float(trainer.callback_metrics["val_auroc"]) == pytest.approx(
        roc_auc_score(yv.numpy(), scores.numpy()), abs=1e-9
    )


def test_lightning_mid_epoch_checkpoint_of_the_accumulator_resumes_exactly(tmp_path):
    """Item 11 (the accumulator's half): its state_dict, saved mid-epoch by ``torch.save``, loads with
    ``weights_only=True`` into a fresh accumulator, which carries on to the epoch's value."""
    pl = _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    auroc_cb = AUROCCallback(num_classes=10)
    path = tmp_path / "mid_epoch.pt"

    class SaveMidEpoch(pl.Callback):
        def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
            if not trainer.sanity_checking and batch_idx == 2:  # after AUROCCallback took this batch
                torch.save(auroc_cb.accumulator.state_dict(), path)

    trainer, model = _fit(
        pl, tmp_path, [auroc_cb, SaveMidEpoch()], "digits", lambda logits, y, i: {"logits": logits, "target": y}
    )
    _, _, xv, yv = _dataset("digits")
    logits = _val_logits(model, xv)
    resumed = ac.AUROCAccumulator(num_classes=10)
    resumed.load_state_dict(torch.load(path, weights_only=True))
    assert resumed.num_samples == 3 * VAL_BATCH
    resumed.update(logits[3 * VAL_BATCH :], yv[3 * VAL_BATCH :])  # the rest of the epoch
    want = roc_auc_score(yv.numpy(), torch.softmax(logits, 1).numpy(), multi_class="ovr")
    assert resumed.compute().item() == pytest.approx(want, abs=1e-9)
    assert resumed.compute().item() == pytest.approx(float(trainer.callback_metrics["val_auroc"]), abs=1e-9)


@pytest.mark.parametrize("labels, pos_label", [((-1, 1), None), ((1, 2), 2)])
def test_lightning_binary_labels_as_other_libraries_write_them(tmp_path, labels, pos_label):
    """Item 13: {-1, 1} labels were refused ("`target` holds negative labels"); any pair works with pos_label."""
    pl = _lightning()
    from auroc_callbacks.lightning import AUROCCallback

    low, high = labels
    cb = AUROCCallback(**({} if pos_label is None else {"pos_label": pos_label}))
    trainer, model = _fit(
        pl, tmp_path, [cb], "cancer", lambda logits, y, i: {"logits": logits, "target": torch.where(y == 1, high, low)}
    )
    _, _, xv, yv = _dataset("cancer")
    y_written = torch.where(yv == 1, high, low).numpy()
    fpr_positive = high if pos_label is None else pos_label
    want = roc_auc_score(y_written == fpr_positive, _val_logits(model, xv)[:, 0].numpy())
    assert float(trainer.callback_metrics["val_auroc"]) == pytest.approx(want, abs=1e-9)
    assert cb.history[-1]["support"] == {"1": int((y_written == fpr_positive).sum())}


# ----------------------------------------------------------------------------- fastai


def _fastai():
    pytest.importorskip("fastai")
    return pytest.importorskip("auroc_callbacks.fastai")


def _fastai_learner(x, y, model, loss_func, metrics, *, categorize=True):
    from fastai.callback.progress import ProgressCallback
    from fastai.data.core import Datasets
    from fastai.data.transforms import Categorize, IndexSplitter, ItemGetter, ToTensor
    from fastai.learner import Learner

    items = list(zip(x, y))
    y_tfms = [ItemGetter(1), Categorize()] if categorize else [ItemGetter(1), ToTensor()]
    dsets = Datasets(
        items, tfms=[[ItemGetter(0), ToTensor()], y_tfms], splits=IndexSplitter(list(range(0, len(items), 5)))(items)
    )
    learn = Learner(dsets.dataloaders(bs=64, num_workers=0), model, loss_func=loss_func, metrics=metrics)
    learn.remove_cb(ProgressCallback)
    learn.logger = lambda *args: None
    return learn


def _digits_np():
    x, y = load_digits(return_X_y=True)
    return (x[:900] / 16).astype(np.float32), y[:900]


def _mlp(n_in, n_out, *, sigmoid=False):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(n_in, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_out)]
    return torch.nn.Sequential(*layers, *([torch.nn.Sigmoid()] if sigmoid else []))


def _fit_fastai(learn):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        learn.fit(1, 1e-2)
    names = list(learn.recorder.metric_names)
    return dict(zip(names[1:], learn.recorder.values[-1])), record


def test_fastai_sigmoid_head_with_integer_targets_is_ranked_per_column(tmp_path):
    """Item 2 in fastai: a model ending in a sigmoid, trained one-vs-rest on integer labels (a loss with no
    activation of its own, so ``activation="auto"``): ranked per column, as sklearn and torchmetrics do."""
    fa = _fastai()
    x, y = _digits_np()

    def ovr_loss(probs, target):
        return torch.nn.functional.binary_cross_entropy(probs, torch.nn.functional.one_hot(target, 10).float())

    learn = _fastai_learner(x, y, _mlp(64, 10, sigmoid=True), ovr_loss, [fa.AUROC()])
    row, record = _fit_fastai(learn)
    probs, target = learn.get_preds()
    want = np.mean([roc_auc_score(target.numpy() == k, probs[:, k].numpy()) for k in range(10)])
    assert row["auroc"] == pytest.approx(want, abs=1e-6)
    assert abs(want - roc_auc_score(target.numpy(), torch.softmax(probs, 1).numpy(), multi_class="ovr")) > 1e-4
    assert len(_interpretations(record, "do not sum to 1")) == 1  # one validation epoch of several batches


def test_fastai_one_hot_targets_with_logits_are_scored_as_multiclass(tmp_path):
    """Item 2 in fastai: one-hot float targets next to logits, with a loss that has no activation."""
    fa = _fastai()
    x, y = _digits_np()
    one_hot = np.eye(10, dtype=np.float32)[y]

    def loss(logits, target):
        return torch.nn.functional.cross_entropy(logits, target.argmax(1))

    learn = _fastai_learner(x, one_hot, _mlp(64, 10), loss, [fa.AUROC()], categorize=False)
    row, record = _fit_fastai(learn)
    logits, target = learn.get_preds()
    want = roc_auc_score(target.argmax(1).numpy(), torch.softmax(logits, 1).numpy(), multi_class="ovr")
    assert row["auroc"] == pytest.approx(want, abs=1e-6)
    assert len(_interpretations(record, "`target` is one-hot")) == 1


def test_fastai_minus_one_one_labels(tmp_path):
    """Item 13 in fastai: a binary learner whose labels are -1/1 (a hinge-style loss)."""
    fa = _fastai()
    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    signed = (2 * y - 1).astype(np.float32)[:, None]

    def hinge(logits, target):
        return torch.relu(1 - logits * target).mean()

    learn = _fastai_learner(x, signed, _mlp(30, 1), hinge, [fa.AUROC()], categorize=False)
    row, _ = _fit_fastai(learn)
    scores, target = learn.get_preds()
    assert set(target.numpy().ravel().tolist()) == {-1.0, 1.0}
    assert row["auroc"] == pytest.approx(roc_auc_score(target.numpy().ravel(), scores.numpy().ravel()), abs=1e-6)


# ----------------------------------------------------------------------------- the statistics


def test_compare_auroc_of_a_model_with_itself_is_z_0_and_p_1_as_procs_roc_test():
    """Item 5: ``compare_auroc(a, a, y)`` gave z = NaN (0/0); pROC's ``roc.test`` gives Z = 0 and p = 1."""
    _, _, xv, yv = _dataset("cancer")
    a = xv[:, 0] - xv[:, 1]
    c = ac.compare_auroc(a, a, yv)
    assert c.z.item() == 0 and c.p_value.item() == 1 and c.difference.item() == 0 and c.std_error.item() == 0
    assert not math.isnan(c.z.item())
