"""The torchmetrics ``AUROC`` adapter: plain update/compute, torchmetrics' protocol, Lightning, Fabric and gloo DDP.

References are ``sklearn.metrics.roc_auc_score`` on the same predictions (for
the histogram mode, on scores exact in float16, or rounded to it), never the
code under test.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("torchmetrics")
pytest.importorskip("sklearn")

import torchmetrics
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader, TensorDataset

import auroc_callbacks as ac
from auroc_callbacks.torchmetrics import AUROC


def _data(task, n=240, seed=0, n_cls=4):
    g = torch.Generator().manual_seed(seed)
    if task == "binary":
        target = torch.randint(0, 2, (n,), generator=g)
        return torch.randn(n, generator=g) + target, target
    if task == "multilabel":
        target = torch.randint(0, 2, (n, n_cls), generator=g)
        return torch.randn(n, n_cls, generator=g) + target, target
    target = torch.randint(0, n_cls, (n,), generator=g)
    return torch.randn(n, n_cls, generator=g) + torch.nn.functional.one_hot(target, n_cls), target


def _feed(metric, preds, target, batch=50):
    for start in range(0, len(target), batch):
        metric.update(preds[start : start + batch], target[start : start + batch])
    return metric


def _sklearn(preds, target, task, *, average="macro", multi_class="ovr", max_fpr=None, rounded=False):
    """roc_auc_score on the scores the core ranks: sigmoid/softmax of logits, float16-rounded for the histogram."""
    if rounded:  # the histogram rounds what it ranks: probabilities of a softmax, raw binary / multilabel scores
        scores = (preds.softmax(1) if task == "multiclass" else preds).to(torch.float16).double()
    else:
        scores = (preds.softmax(1) if task == "multiclass" else preds.sigmoid()).double()
    if task == "multiclass" and multi_class == "ovr":  # one-hot: rounded probabilities need not sum to 1
        onehot = torch.nn.functional.one_hot(target, preds.shape[1])
        return roc_auc_score(onehot.numpy(), scores.numpy(), average=average)
    if task == "multiclass" and rounded:  # sklearn's one-vs-one pairs, each a binary roc_auc_score
        return _pairwise_ovo(scores.numpy(), target.numpy(), average)
    if task == "multiclass":
        return roc_auc_score(target.numpy(), scores.numpy(), average=average, multi_class=multi_class)
    return roc_auc_score(target.numpy(), scores.numpy(), average=average, max_fpr=max_fpr)


def _pairwise_ovo(scores, target, average):
    """sklearn's ``_average_multiclass_ovo_score`` in binary ``roc_auc_score`` calls: rows need not sum to 1."""
    classes = np.unique(target)
    values, weights = [], []
    for i, a in enumerate(classes):
        for b in classes[i + 1 :]:
            keep = (target == a) | (target == b)
            ab = roc_auc_score(target[keep] == a, scores[keep, a])
            ba = roc_auc_score(target[keep] == b, scores[keep, b])
            values.append((ab + ba) / 2)
            weights.append(keep.mean())
    return np.average(values, weights=weights if average == "weighted" else None)


CASES = [
    ("binary", {}),
    ("binary", {"max_fpr": 0.3}),
    ("multiclass", {}),
    ("multiclass", {"average": "weighted"}),
    ("multiclass", {"average": None}),
    ("multiclass", {"multi_class": "ovo"}),
    ("multilabel", {}),
    ("multilabel", {"average": None}),
]


# ----------------------------------------------------------------------------- plain update / compute


@pytest.mark.parametrize("task,options", CASES)
def test_exact_mode_equals_sklearn(task, options):
    preds, target = _data(task)
    got = _feed(AUROC(**options), preds, target).compute()
    assert got.dtype == torch.float64
    want = _sklearn(preds, target, task, **options)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("task,options", CASES)
def test_histogram_mode_equals_sklearn_on_float16_scores(task, options):
    preds, target = _data(task)
    n_cls = None if task == "binary" else preds.shape[1]
    metric = AUROC(mode="histogram", task=task, num_classes=n_cls, **options)
    got = _feed(metric, preds, target).compute()
    want = _sklearn(preds, target, task, rounded=True, **options)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-12)
    bound = metric.compute_bound()
    assert bound.value.tolist() == got.tolist() and bool((bound.bound >= 0).all())


@pytest.mark.parametrize("activation", ["auto", "softmax"])
def test_histogram_mode_ranks_two_column_binary_scores_by_their_softmax(activation):
    logits, target = _data("multiclass", n_cls=2)
    got = _feed(AUROC(mode="histogram", task="binary", activation=activation), logits, target).compute()
    want = roc_auc_score(target.numpy(), logits.softmax(1)[:, 1].to(torch.float16).double().numpy())
    assert got.item() == pytest.approx(want, abs=1e-12)
    assert got.item() == pytest.approx(_feed(AUROC(task="binary"), logits, target).compute().item(), abs=1e-3)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_ignore_index_leaves_those_samples_out(mode):
    preds, target = _data("multiclass")
    kept = target.clone()
    target[::5] = -100
    metric = _feed(AUROC(mode=mode, task="multiclass", num_classes=4, ignore_index=-100), preds, target)
    keep = target != -100
    want = _sklearn(preds[keep], kept[keep], "multiclass", rounded=mode == "histogram")
    assert metric.compute().item() == pytest.approx(want, abs=1e-12)


def test_histogram_states_are_fixed_size_sums_known_at_construction():
    metric = AUROC(mode="histogram", task="multiclass", num_classes=3)
    before = metric.counts.shape
    _feed(metric, *_data("multiclass", n_cls=3))
    assert metric.counts.shape == before == (2 * 3 * 15362 + 1,)  # probability buckets: -0.0 to 1.0
    assert int(metric.counts.sum()) == 240 * 3  # one count per sample and column, none in the trash
    # int64 states: the counter cannot widen a state it does not own, and its row count restarts with reset()
    assert metric.counts.dtype == torch.int64
    metric.reset()
    assert metric._counter.rows == 0


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_undefined_class_is_nan_with_one_warning_never_zero(mode):
    target = torch.zeros(20, dtype=torch.long)
    metric = _feed(AUROC(mode=mode, task="binary"), torch.rand(20), target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = metric.compute()
    assert torch.isnan(value)
    assert [w.category for w in caught] == [ac.UndefinedAUROCWarning]


def test_absent_class_is_nan_per_class_and_left_out_of_the_average():
    preds, target = _data("multiclass")
    target[target == 2] = 1
    with pytest.warns(ac.UndefinedAUROCWarning):
        per = _feed(AUROC(average=None), preds, target).compute()
    assert torch.isnan(per[2]) and not torch.isnan(per[[0, 1, 3]]).any()
    onehot = torch.nn.functional.one_hot(target, 4).numpy()
    want = [roc_auc_score(onehot[:, c], preds.softmax(1)[:, c].numpy()) for c in (0, 1, 3)]
    np.testing.assert_allclose(per[[0, 1, 3]].numpy(), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_nan_scores_raise_by_default_and_give_nan_with_warn(mode):
    preds, target = _data("binary")
    preds[3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        _feed(AUROC(mode=mode, task="binary"), preds, target).compute()
    metric = _feed(AUROC(mode=mode, task="binary", nan_strategy="warn"), preds, target)
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN"):
        assert torch.isnan(metric.compute())


def test_logits_are_decided_on_the_whole_epoch_not_per_batch():
    """A first batch that happens to lie in [0, 1] is ranked with the rest, on one scale (torchmetrics #1989)."""
    preds, target = _data("binary")
    preds[:50] = preds[:50].sigmoid()  # this batch looks like probabilities; the others are logits
    got = _feed(AUROC(), preds, target).compute()
    assert got.item() == pytest.approx(roc_auc_score(target.numpy(), preds.numpy()), abs=1e-12)


# ----------------------------------------------------------------------------- options


def test_histogram_mode_needs_task_and_num_classes():
    with pytest.raises(ValueError, match="`task` and `num_classes`"):
        AUROC(mode="histogram")
    with pytest.raises(ValueError, match="num_classes=None"):
        AUROC(mode="histogram", task="multiclass")
    AUROC(mode="histogram", task="binary")  # binary: one column, no num_classes needed


def test_bad_options_fail_at_construction_naming_them():
    with pytest.raises(ValueError, match="`average`"):
        AUROC(average="mean")
    with pytest.raises(TypeError, match="did you mean `average`"):
        AUROC(averag="macro")
    with pytest.raises(TypeError, match="`ci`.*AUROCCallback"):
        AUROC(ci=True)
    with pytest.raises(TypeError, match="`sync_dist`"):
        AUROC(sync_dist=True)
    with pytest.raises(ValueError, match="histogram_dtype"):
        AUROC(histogram_dtype=torch.float16)  # exact mode


def test_batch_shapes_are_checked_in_update():
    metric = AUROC()
    metric.update(torch.rand(4, 3), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="batch shapes changed"):
        metric.update(torch.rand(4, 4), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="same number of samples"):
        AUROC().update(torch.rand(4), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="`preds` must be a torch.Tensor"):
        AUROC().update([0.1, 0.2], torch.tensor([0, 1]))


def test_empty_metric_raises_empty_epoch_error():
    for metric in (AUROC(), AUROC(mode="histogram", task="binary")):
        metric.update(torch.rand(0), torch.zeros(0, dtype=torch.long))  # an empty batch is fine
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchmetrics: compute before update
            with pytest.raises(ac.EmptyEpochError):
                metric.compute()


def test_attributes_torchmetrics_and_lightning_read():
    assert AUROC.higher_is_better is True and AUROC.full_state_update is False
    assert AUROC.is_differentiable is False
    assert (AUROC.plot_lower_bound, AUROC.plot_upper_bound) == (0.0, 1.0)
    assert isinstance(AUROC(), torchmetrics.Metric)


# ----------------------------------------------------------------------------- torchmetrics' protocol


def test_forward_returns_the_batch_value_and_accumulates_the_epoch():
    preds, target = _data("multiclass")
    metric = AUROC()
    batch = metric(preds[:120], target[:120])
    np.testing.assert_allclose(batch.numpy(), _sklearn(preds[:120], target[:120], "multiclass"), atol=1e-12)
    metric(preds[120:], target[120:])
    np.testing.assert_allclose(metric.compute().numpy(), _sklearn(preds, target, "multiclass"), atol=1e-12)


def test_metric_collection_beside_torchmetrics_accuracy():
    preds, target = _data("multiclass")
    coll = torchmetrics.MetricCollection(
        {
            "auroc": AUROC(),
            "acc": torchmetrics.classification.MulticlassAccuracy(num_classes=4),
            "hist": AUROC(mode="histogram", task="multiclass", num_classes=4),
        }
    )
    _feed(coll, preds, target)
    out = coll.compute()
    assert out["auroc"].item() == pytest.approx(_sklearn(preds, target, "multiclass"), abs=1e-12)
    assert out["hist"].item() == pytest.approx(_sklearn(preds, target, "multiclass", rounded=True), abs=1e-12)
    assert 0 < out["acc"].item() <= 1
    coll.reset()
    _feed(coll, preds[:100], target[:100])
    assert coll.compute()["auroc"].item() == pytest.approx(_sklearn(preds[:100], target[:100], "multiclass"), abs=1e-12)


def test_metric_collection_compute_groups_share_the_predictions_between_differently_averaged_aurocs():
    preds, target = _data("multiclass")
    coll = torchmetrics.MetricCollection(
        {"ovr": AUROC(), "ovo": AUROC(multi_class="ovo"), "per": AUROC(average=None)}, compute_groups=True
    )
    _feed(coll, preds, target)
    out = coll.compute()
    assert out["ovr"].item() == pytest.approx(_sklearn(preds, target, "multiclass"), abs=1e-12)
    assert out["ovo"].item() == pytest.approx(_sklearn(preds, target, "multiclass", multi_class="ovo"), abs=1e-12)
    np.testing.assert_allclose(out["per"].numpy(), _sklearn(preds, target, "multiclass", average=None), atol=1e-12)


def test_import_auroc_callbacks_does_not_load_torchmetrics():
    import subprocess
    import sys

    code = "import sys, auroc_callbacks; print('torchmetrics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_clone_is_independent_and_merge_state_joins_two_shards(mode):
    preds, target = _data("binary")
    a = _feed(AUROC(mode=mode, task="binary"), preds[:100], target[:100])
    b = a.clone()
    b.reset()
    _feed(b, preds[100:], target[100:])
    a.merge_state(b)
    want = _sklearn(preds, target, "binary", rounded=mode == "histogram")
    assert a.compute().item() == pytest.approx(want, abs=1e-12)
    assert b.compute().item() == pytest.approx(
        _sklearn(preds[100:], target[100:], "binary", rounded=mode == "histogram"), abs=1e-12
    )


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_reset_forgets_every_sample(mode):
    preds, target = _data("multiclass")
    metric = _feed(AUROC(mode=mode, task="multiclass", num_classes=4), preds, target)
    metric.reset()
    _feed(metric, preds[:100], target[:100])
    want = _sklearn(preds[:100], target[:100], "multiclass", rounded=mode == "histogram")
    assert metric.compute().item() == pytest.approx(want, abs=1e-12)


def test_compute_on_cpu_moves_the_predictions_and_gives_the_same_value():
    preds, target = _data("multiclass")
    metric = _feed(AUROC(compute_on_cpu=True), preds, target)
    assert all(p.device.type == "cpu" for p in metric.preds)
    assert metric.compute().item() == pytest.approx(_sklearn(preds, target, "multiclass"), abs=1e-12)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_state_dict_round_trip_restores_the_epoch(mode):
    preds, target = _data("multiclass")
    metric = _feed(AUROC(mode=mode, task="multiclass", num_classes=4), preds, target)
    metric.persistent(True)
    state = copy.deepcopy(metric.state_dict())
    fresh = AUROC(mode=mode, task="multiclass", num_classes=4)
    fresh.persistent(True)
    fresh.load_state_dict(state)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The ``compute`` method", UserWarning)  # torchmetrics: no update() yet
        assert fresh.compute().tolist() == metric.compute().tolist()


def test_states_stay_out_of_state_dict_unless_persistent():
    metric = _feed(AUROC(), *_data("binary"))
    assert metric.state_dict() == {}


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_pickled_metric_computes_the_same_value(mode):
    preds, target = _data("binary")
    metric = _feed(AUROC(mode=mode, task="binary"), preds, target)
    again = pickle.loads(pickle.dumps(metric))
    assert again.compute().tolist() == metric.compute().tolist()
    _feed(again, preds, target)  # still counts after unpickling
    assert again.compute().item() == pytest.approx(metric.compute().item(), abs=1e-12)


def test_plot_draws_the_roc_figure():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    metric = _feed(AUROC(), *_data("multiclass"))
    fig, ax = metric.plot()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("AUC =" in t for t in texts)
    plt.close(fig)
    with pytest.raises(ValueError, match="mode='exact'"):
        _feed(AUROC(mode="histogram", task="binary"), *_data("binary")).plot()


# ----------------------------------------------------------------------------- Lightning and Fabric


def _digits():
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x = torch.tensor((x[order] / 16.0), dtype=torch.float32)
    y = torch.tensor(y[order], dtype=torch.long)
    n_val = len(y) // 3
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])


def _net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))


def _val_sklearn(net, x, y, rounded=False):
    with torch.no_grad():
        logits = torch.cat([net(x[i : i + 64]) for i in range(0, len(y), 64)])
    return _sklearn(logits, y, "multiclass", rounded=rounded)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_lightning_module_logs_the_metric_and_checkpoints_on_it(tmp_path, mode):
    pl = pytest.importorskip("lightning.pytorch")
    (x_tr, y_tr), (x_va, y_va) = _digits()

    class Digits(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = _net()
            self.val_auroc = AUROC(task="multiclass", num_classes=10, mode=mode)

        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x), y)

        def validation_step(self, batch, _):
            x, y = batch
            self.val_auroc.update(self.net(x), y)
            self.log("val_auroc", self.val_auroc, on_epoch=True, on_step=False)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_auroc", mode="max")
    trainer = pl.Trainer(
        max_epochs=3,
        accelerator="cpu",
        logger=pl.loggers.CSVLogger(tmp_path),
        callbacks=[checkpoint],
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        deterministic=True,
    )
    model = Digits()
    trainer.fit(
        model,
        DataLoader(TensorDataset(x_tr, y_tr), batch_size=64, shuffle=True),
        DataLoader(TensorDataset(x_va, y_va), batch_size=64),
    )
    logged = trainer.callback_metrics["val_auroc"]
    rounded = mode == "histogram"
    assert logged.item() == pytest.approx(_val_sklearn(model.net, x_va, y_va, rounded), abs=1e-6)
    import csv

    rows = list(csv.DictReader(open(next(tmp_path.rglob("metrics.csv")))))
    values = [float(r["val_auroc"]) for r in rows if r.get("val_auroc")]
    assert len(values) == 3 and values[-1] == pytest.approx(logged.item(), abs=1e-6)
    assert checkpoint.best_model_score.item() == pytest.approx(max(values), abs=1e-6)
    best = Digits()
    best.load_state_dict(torch.load(checkpoint.best_model_path, weights_only=False)["state_dict"])
    assert _val_sklearn(best.net, x_va, y_va, rounded) == pytest.approx(max(values), abs=1e-6)


def test_fabric_loop_tracks_the_epoch_auroc():
    fabric_mod = pytest.importorskip("lightning.fabric")
    (x_tr, y_tr), (x_va, y_va) = _digits()
    fabric = fabric_mod.Fabric(accelerator="cpu", devices=1)
    net = _net()
    net, opt = fabric.setup(net, torch.optim.SGD(net.parameters(), lr=0.05))
    train = fabric.setup_dataloaders(DataLoader(TensorDataset(x_tr, y_tr), batch_size=64, shuffle=True))
    val = fabric.setup_dataloaders(DataLoader(TensorDataset(x_va, y_va), batch_size=64))
    metric = AUROC().to(fabric.device)
    for _ in range(2):
        for x, y in train:
            opt.zero_grad()
            fabric.backward(torch.nn.functional.cross_entropy(net(x), y))
            opt.step()
        metric.reset()
        with torch.no_grad():
            for x, y in val:
                metric.update(net(x), y)
        value = metric.compute()
    assert value.item() == pytest.approx(_val_sklearn(net, x_va, y_va), abs=1e-12)


# ----------------------------------------------------------------------------- gloo DDP


@pytest.mark.slow
def test_gloo_ranks_sync_the_states_and_padding_counts_as_sklearn_on_the_padded_set(tmp_path):
    """2 processes: uneven shards give the one-process value; a padding sampler, sklearn on the padded set."""
    import json

    import torch.multiprocessing as mp
    from _torchmetrics_ddp_worker import WORLD, cases, run, sampler_rows

    mp.spawn(run, args=(str(tmp_path),), nprocs=WORLD, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    padded_rows = sampler_rows(0) + sampler_rows(1)
    assert len(padded_rows) == 102 and sorted(set(padded_rows)) == list(range(101))  # one row counted twice
    for name, preds, target, options in cases():
        kw = {"average": options.get("average", "macro")}
        if preds.ndim == 2 and target.ndim == 1:
            kw["multi_class"] = options.get("multi_class", "ovr")
        full = roc_auc_score(target.numpy(), preds.double().numpy(), **kw)
        padded = roc_auc_score(target[padded_rows].numpy(), preds[padded_rows].double().numpy(), **kw)
        assert not np.allclose(full, padded), name  # the repeated row moves every case: the check can tell them apart
        for r in range(WORLD):
            np.testing.assert_allclose(ranks[r][f"uneven/{name}"], full, rtol=0, atol=1e-12, err_msg=name)
            np.testing.assert_allclose(ranks[r][f"padded/{name}"], padded, rtol=0, atol=1e-12, err_msg=name)


# ----------------------------------------------------------------------------- GPU (skipped without one)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_gpu_update_never_syncs_and_gives_the_cpu_value(mode):
    preds, target = _data("multiclass", n=4096, n_cls=10)
    metric = AUROC(mode=mode, task="multiclass", num_classes=10).cuda()
    p, t = preds.cuda(), target.cuda()
    metric.update(p[:256], t[:256])
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for i in range(256, 4096, 256):
            metric.update(p[i : i + 256], t[i : i + 256])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    got = metric.compute()
    assert got.device.type == "cuda"
    want = _sklearn(preds, target, "multiclass", rounded=mode == "histogram")
    assert got.item() == pytest.approx(want, abs=1e-12)


# ----------------------------------------------------------------------------- issue 13


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_binary_batches_alternating_n1_and_n_and_a_0d_last_batch_are_one_epoch(mode):
    preds, target = _data("binary", n=201)
    preds = preds.clamp(-8, 8) / 16 + 0.5  # probabilities exact enough in float16 for both modes' reference
    metric = AUROC(mode=mode, task="binary")
    for k, start in enumerate(range(0, 200, 40)):
        p, t = preds[start : start + 40], target[start : start + 40]
        metric.update(p.unsqueeze(1) if k % 2 else p, t.unsqueeze(1) if k % 3 == 1 else t)
    metric.update(preds[200:].squeeze(), target[200:])  # logits.squeeze() on a last batch of one row
    ref = preds if mode == "exact" else preds.half().double()
    assert metric.compute().item() == pytest.approx(roc_auc_score(target.numpy(), ref.numpy()), abs=1e-12)


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_pos_label_and_minus_one_one_labels_pass_through(mode):
    preds, target = _data("binary")
    preds = torch.sigmoid(preds)
    for labels, pos_label in (((-1, 1), None), ((3, 8), 8)):
        y = torch.tensor(labels)[target]
        metric = AUROC(mode=mode, task="binary", pos_label=pos_label)
        _feed(metric, preds, y)
        ref = preds if mode == "exact" else preds.half().double()
        assert metric.compute().item() == pytest.approx(roc_auc_score(target.numpy(), ref.numpy()), abs=1e-12)


def test_multiclass_scores_in_0_1_are_ranked_per_column_like_torchmetrics_own_auroc():
    preds, target = _data("multiclass")
    probs = torch.sigmoid(preds)  # a one-vs-rest sigmoid head: rows do not sum to 1
    ours = AUROC(num_classes=4)
    theirs = torchmetrics.classification.MulticlassAUROC(num_classes=4)
    for start in range(0, 240, 60):
        ours.update(probs[start : start + 60], target[start : start + 60])
        theirs.update(probs[start : start + 60], target[start : start + 60])
    with pytest.warns(UserWarning, match="do not sum to 1"):
        value = ours.compute()
    want = np.mean([roc_auc_score(target.numpy() == k, probs[:, k].numpy()) for k in range(4)])
    assert value.item() == pytest.approx(want, abs=1e-12)
    assert value.item() == pytest.approx(theirs.compute().item(), abs=1e-6)
