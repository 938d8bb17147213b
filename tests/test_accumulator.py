"""AUROCAccumulator: the factory and the protocol both accumulators share; the exact one's epoch value equals the
one-shot value, no host sync per batch, bounded bookkeeping. (The histogram one's values: tests/test_histogram.py.)"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

import auroc_callbacks as ac
from _reference import delong_interval, delong_se  # noqa: E402
from auroc_callbacks import histogram
from auroc_callbacks.accumulator import AUROCAccumulator, ExactAccumulator, ExactEpoch, HistogramAccumulator

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _feed(acc, preds, target, sizes):
    start = 0
    for size in sizes:
        acc.update(preds[start:start + size], target[start:start + size])
        start += size
    acc.update(preds[start:], target[start:])


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 97), max_size=12), task=st.sampled_from(["binary", "multiclass", "multilabel"]))
def test_epoch_value_equals_auroc_on_the_concatenation(sizes, task):
    g = torch.Generator().manual_seed(len(sizes))
    n = 400
    if task == "binary":
        preds, target = torch.randn(n, generator=g), torch.arange(n) % 2
    elif task == "multiclass":
        preds, target = torch.randn(n, 4, generator=g), torch.arange(n) % 4
    else:
        preds, target = torch.randn(n, 3, generator=g), torch.randint(0, 2, (n, 3), generator=g)
    acc = ac.AUROCAccumulator(average=None)
    _feed(acc, preds, target, sizes)
    assert acc.num_samples == n
    np.testing.assert_array_equal(acc.compute().numpy(), ac.auroc(preds, target, average=None).numpy())


def test_minibatch_mean_is_not_the_epoch_value_but_ours_is():
    """The classic mistake, on real data: averaging per-batch AUROC."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    scores = torch.tensor(x[:, 0] - x[:, 1] / 10)  # a weak, real-valued score
    target = torch.tensor(y)
    acc = ac.AUROCAccumulator()
    batch_values = []
    for i in range(0, len(y), 16):
        acc.update(scores[i:i + 16], target[i:i + 16])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
            batch_values.append(ac.auroc(scores[i:i + 16], target[i:i + 16]).item())
    exact = roc_auc_score(y, scores.numpy())
    assert abs(acc.compute().item() - exact) < 1e-12
    assert abs(np.nanmean(batch_values) - exact) > 1e-3


class _NoSync:
    """Make every host-synchronising Tensor method raise while active."""

    METHODS = ("item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__", "nonzero")

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def __enter__(self):
        def boom(*_, **__):
            raise AssertionError("host sync in update()")

        for name in self.METHODS:
            self.monkeypatch.setattr(torch.Tensor, name, boom)

    def __exit__(self, *exc):
        self.monkeypatch.undo()


def test_update_makes_no_host_sync_even_with_bad_labels(monkeypatch):
    acc = ac.AUROCAccumulator()
    preds, target = torch.randn(64, 3), torch.full((64,), 7)  # label 7 is invalid for 3 classes
    with _NoSync(monkeypatch):
        for _ in range(5):
            acc.update(preds, target)
    with pytest.raises(ValueError, match="label 7"):  # value checks run once, at compute
        acc.compute()


def test_shape_errors_are_raised_at_update():
    acc = ac.AUROCAccumulator()
    acc.update(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="batch shapes changed"):
        acc.update(torch.randn(4, 5), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="same number of samples"):
        acc.update(torch.randn(4, 3), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="`preds`"):
        acc.update(np.zeros((4, 3)), torch.tensor([0, 1, 2, 0]))


@pytest.mark.parametrize("preds, target", [
    (torch.tensor(0.3), torch.tensor(1)),  # a squeezed last batch of one sample
    (torch.randn(4, 1), torch.tensor([0, 1, 0, 1])),  # (N, 1) after (N,): not silently broadcast
    (torch.randn(4), torch.tensor([[0], [1], [0], [1]])),
    (torch.randn(4, dtype=torch.complex64), torch.tensor([0, 1, 0, 1])),
])
def test_a_batch_unlike_the_first_is_a_clear_error(preds, target):
    acc = ac.AUROCAccumulator()
    acc.update(torch.randn(4), torch.tensor([0, 1, 0, 1]))
    with pytest.raises((ValueError, TypeError)) as info:
        acc.update(preds, target)
    message = str(info.value)
    assert type(info.value) in (ValueError, TypeError)
    assert "`preds`" in message or "batch shapes" in message


def test_infinite_logits_warn_and_give_nan_in_a_training_loop():
    acc = ac.AUROCAccumulator(nan_strategy="warn")
    logits = torch.randn(30, 3)
    logits[4, 2] = float("inf")  # float16 overflow, say
    acc.update(logits, torch.arange(30) % 3)
    with pytest.warns(ac.UndefinedAUROCWarning, match="inf"):
        assert torch.isnan(acc.compute())


def test_buffer_grows_geometrically_not_one_tensor_per_batch():
    acc = ac.AUROCAccumulator()
    preds, target = torch.randn(16000, 3), torch.randint(0, 3, (16000,))
    for i in range(0, 16000, 8):
        acc.update(preds[i:i + 8], target[i:i + 8])
    assert acc.num_samples == 16000
    rows = [c.shape[0] for c in acc._preds.chunks]
    assert rows == [1024, 1024, 2048, 4096, 8192]  # each chunk as large as all before it: O(log n) chunks
    assert torch.equal(acc.gather()[0], preds)


def test_dtype_promotes_when_a_later_batch_is_wider():
    acc = ac.AUROCAccumulator()
    a, b = torch.randn(50, 3), torch.randn(50, 3)
    t = torch.arange(100) % 3
    acc.update(a.half(), t[:50])
    acc.update(b, t[50:])
    assert acc._preds.chunks[-1].dtype == torch.float32
    assert acc.compute().item() == ac.auroc(torch.cat([a.half().float(), b]), t).item()


def test_reset_forgets_and_compute_before_update_is_a_clear_error():
    acc = ac.AUROCAccumulator()
    with pytest.raises(ValueError, match=r"has no samples: nothing was passed to update\(\), or only empty batches"):
        acc.compute()
    acc.update(torch.randn(10), torch.arange(10) % 2)
    acc.reset()
    assert acc.num_samples == 0
    with pytest.raises(ValueError, match=r"has no samples: nothing was passed to update\(\), or only empty batches"):
        acc.compute()


def test_truncate_keeps_the_first_samples():
    preds, target = torch.randn(100), torch.arange(100) % 2
    acc = ac.AUROCAccumulator()
    _feed(acc, preds, target, [30, 30])
    acc.truncate(70)
    assert acc.num_samples == 70
    assert acc.compute().item() == ac.auroc(preds[:70], target[:70]).item()
    with pytest.raises(ValueError, match="`num_samples`"):
        acc.truncate(-1)


def test_truncate_across_chunks():
    preds, target = torch.randn(5000, 3), torch.arange(5000) % 3
    acc = ac.AUROCAccumulator()
    _feed(acc, preds, target, [100] * 49)
    assert len(acc._preds.chunks) > 2
    acc.truncate(3000)
    assert acc.num_samples == 3000 and torch.equal(acc.gather()[1], target[:3000])
    assert acc.compute().item() == ac.auroc(preds[:3000], target[:3000]).item()


def test_nan_scores_warn_instead_of_raising_when_asked():
    preds = torch.randn(20, 3)
    preds[3, 1] = float("nan")
    target = torch.arange(20) % 3
    strict = ac.AUROCAccumulator()
    strict.update(preds, target)
    with pytest.raises(ValueError, match="NaN"):
        strict.compute()
    lenient = ac.AUROCAccumulator(nan_strategy="warn")
    lenient.update(preds, target)
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN") as rec:
        scores = lenient.compute_scores()
    assert len(rec) == 1
    assert torch.isnan(scores.value) and torch.isnan(scores.per_class).all()
    assert scores.support.tolist() == [7, 7, 6]


def test_compute_scores_and_curves_share_one_gather():
    preds, target = torch.randn(60, 3), torch.arange(60) % 3
    acc = ac.AUROCAccumulator(average="weighted")
    acc.update(preds, target)
    s = acc.compute_scores()
    assert s.value.item() == ac.auroc(preds, target, average="weighted").item()
    np.testing.assert_array_equal(s.per_class.numpy(), ac.auroc(preds, target, average=None).numpy())
    curves = acc.compute_curves()
    assert len(curves) == 3 and curves[0][2][0] == float("inf")
    assert acc.gather() is acc.gather()


def test_cpu_buffer_option():
    acc = ac.AUROCAccumulator(buffer_device="cpu")
    preds, target = torch.randn(50), torch.arange(50) % 2
    acc.update(preds, target)
    assert acc._preds.chunks[0].device.type == "cpu"
    assert acc.compute().item() == ac.auroc(preds, target).item()


# ----------------------------------------------------------------------------- GPU (skipped without one)


@cuda
@pytest.mark.gpu
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_gpu_result_equals_cpu_result(task, average):
    g = torch.Generator().manual_seed(7)
    if task == "binary":
        preds, target = torch.randn(5000, generator=g).round(decimals=1), torch.randint(0, 2, (5000,), generator=g)
    elif task == "multiclass":
        preds, target = torch.randn(5000, 6, generator=g), torch.randint(0, 6, (5000,), generator=g)
    else:
        preds, target = torch.randn(5000, 6, generator=g).round(), torch.randint(0, 2, (5000, 6), generator=g)
    cpu = ac.auroc(preds, target, average=average)
    gpu = ac.auroc(preds.cuda(), target.cuda(), average=average)
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), atol=1e-12)
    if task == "multiclass" and average != "micro":
        ovo = ac.auroc(preds.cuda(), target.cuda(), multi_class="ovo", average=average)
        np.testing.assert_allclose(ovo.cpu().numpy(), ac.auroc(preds, target, multi_class="ovo", average=average).numpy(),
                                   atol=1e-12)


@cuda
@pytest.mark.gpu
def test_gpu_scores_with_cpu_labels_just_work():
    preds, target = torch.randn(300, 4), torch.randint(0, 4, (300,))
    got = ac.auroc(preds.cuda(), target)
    assert got.device.type == "cuda" and got.item() == pytest.approx(ac.auroc(preds, target).item(), abs=1e-12)


@cuda
@pytest.mark.gpu
@pytest.mark.parametrize("buffer_device", [None, "cpu"])
def test_gpu_update_never_syncs_with_the_host(buffer_device):
    acc = ac.AUROCAccumulator(num_classes=10, buffer_device=buffer_device)
    preds, target = torch.randn(256, 10, device="cuda"), torch.randint(0, 10, (256,), device="cuda")
    acc.update(preds, target)  # first batch allocates
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(50):
            acc.update(preds, target)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    want = ac.auroc(preds.repeat(51, 1).cpu(), target.repeat(51).cpu())
    assert abs(acc.compute().item() - want.item()) < 1e-12
    assert {c.device.type for c in acc._preds.chunks} == {"cpu" if buffer_device else "cuda"}
    assert all(c.is_pinned() for c in acc._preds.chunks) == bool(buffer_device)


# ----------------------------------------------------------------------------- ci=True (issue 6)


def test_compute_interval_is_delong_of_the_epoch_and_its_value_is_compute():
    g = torch.Generator().manual_seed(11)
    preds, target = torch.randn(500, generator=g).round(decimals=1), torch.randint(0, 2, (500,), generator=g)
    acc = ac.AUROCAccumulator(ci=True, ci_level=0.9)
    _feed(acc, preds, target, [64] * 7)
    iv = acc.compute_interval()
    assert torch.equal(iv.value, acc.compute()) and iv.level == 0.9
    _, se = delong_se(preds.numpy(), target.numpy())
    assert iv.std_error.item() == pytest.approx(se, rel=1e-10)
    _, lo, hi = delong_interval(preds.numpy(), target.numpy(), level=0.9)  # the default logit-t interval
    assert (iv.lower.item(), iv.upper.item()) == pytest.approx((lo, hi), rel=1e-10)
    assert acc.compute_interval(ci_level=0.5).level == 0.5
    with pytest.raises(ValueError, match=r"`ci_level` must be a float in \(0, 1\); got 2"):
        acc.compute_interval(ci_level=2)
    assert "ci=True, ci_level=0.9" in repr(acc)


def test_compute_interval_reuses_the_gathered_epoch(monkeypatch):
    """Under torch.distributed the interval comes from the cached gather: no second collective."""
    from auroc_callbacks import accumulator as acc_module

    calls = []
    monkeypatch.setattr(acc_module, "is_distributed", lambda group=None: True)
    monkeypatch.setattr(acc_module, "gather_uneven", lambda tensors, group=None: calls.append(1) or tensors)
    acc = ac.AUROCAccumulator(num_classes=3, ci=True)
    acc.update(torch.randn(60, 3), torch.arange(60) % 3)
    acc.compute_scores()
    iv = acc.compute_interval()
    assert len(calls) == 1 and iv.value.ndim == 0


def test_ci_options_are_checked_at_construction():
    with pytest.raises(ValueError, match="`average='micro'` has no interval"):
        ac.AUROCAccumulator(average="micro", ci=True)
    with pytest.raises(ValueError, match="`max_fpr` must be None"):
        ac.AUROCAccumulator(max_fpr=0.5, ci=True)
    with pytest.raises(ValueError, match=r"`ci_level` must be a float in \(0, 1\); got 95"):
        ac.AUROCAccumulator(ci_level=95)
    with pytest.raises(TypeError, match="`ci` must be a bool"):
        ac.AUROCAccumulator(ci="yes")
    ac.AUROCAccumulator(average="micro")  # no interval asked for: fine


def test_nan_scores_with_warn_strategy_give_a_nan_interval():
    acc = ac.AUROCAccumulator(num_classes=3, nan_strategy="warn", ci=True)
    preds = torch.randn(30, 3)
    preds[4, 1] = float("nan")
    acc.update(preds, torch.arange(30) % 3)
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN"):
        iv = acc.compute_interval()
    assert torch.isnan(iv.value) and torch.isnan(iv.lower) and torch.isnan(iv.per_class_upper).all()
    assert iv.support.tolist() == [10, 10, 10]


def test_an_epoch_is_checked_once_whatever_computes_from_it(monkeypatch):
    """compute, compute_interval and a calibration summary of one epoch run the value checks once; an update re-arms them."""
    from auroc_callbacks import _checks
    from auroc_callbacks.calibration import calibration_summary

    calls = []
    real = _checks.check_values
    monkeypatch.setattr(_checks, "check_values", lambda *a, **k: calls.append(1) or real(*a, **k))
    g = torch.Generator().manual_seed(3)
    preds, target = torch.randn(200, 3, generator=g), torch.randint(0, 3, (200,), generator=g)
    acc = ac.AUROCAccumulator(ci=True)
    acc.update(preds, target)
    acc.compute_scores(), acc.compute_interval(), acc.compute()
    calibration_summary(accumulator=acc)
    assert len(calls) == 1
    acc.update(preds[:10], target[:10])
    acc.compute()
    assert len(calls) == 2
    bad = ac.AUROCAccumulator()
    bad.update(preds, torch.full((200,), 7))
    for _ in range(2):  # a failed check is not remembered: it raises every time
        with pytest.raises(ValueError, match="`target`"):
            bad.compute()


# ----------------------------------------------------------------------------- two accumulators, one protocol

PROTOCOL = {"update", "reset", "epoch", "compute", "compute_scores", "compute_curves", "num_samples", "layout",
            "options", "mode", "nan_strategy", "sync_dist", "process_group"}


def _public(acc) -> set:
    return {name for name in dir(acc) if not name.startswith("_")}


def _three_classes(n=300, seed=5):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 3, generator=g) + 2 * torch.nn.functional.one_hot(target, 3), target


@pytest.mark.parametrize("kwargs, cls", [
    ({}, ExactAccumulator),
    ({"mode": "exact", "buffer_device": "cpu", "ci": True}, ExactAccumulator),
    ({"mode": "histogram"}, HistogramAccumulator),
    ({"mode": "histogram", "histogram_dtype": torch.bfloat16, "num_classes": 4}, HistogramAccumulator),
])
def test_the_factory_builds_the_class_its_mode_names(kwargs, cls):
    acc = AUROCAccumulator(**kwargs)
    assert type(acc) is cls and isinstance(acc, AUROCAccumulator) and acc.mode == kwargs.get("mode", "exact")
    assert ac.AUROCAccumulator is AUROCAccumulator
    if "histogram_dtype" in kwargs:
        assert acc.histogram_dtype is torch.bfloat16 and acc.options.num_classes == 4
    if "buffer_device" in kwargs:
        assert acc.buffer_device == torch.device("cpu") and acc.ci is True
    direct = cls(**{k: v for k, v in kwargs.items() if k != "mode"})  # each class can be built directly too
    assert type(direct) is cls and repr(direct) == repr(acc)


def test_a_class_built_directly_refuses_the_other_mode():
    with pytest.raises(ValueError, match="`mode` must be 'exact' for ExactAccumulator; got 'histogram'"):
        ExactAccumulator(mode="histogram")
    with pytest.raises(ValueError, match="`mode` must be 'histogram' for HistogramAccumulator; got 'exact'"):
        HistogramAccumulator(mode="exact")
    assert type(ExactAccumulator(mode="exact")) is ExactAccumulator


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_both_accumulators_satisfy_one_protocol(mode):
    preds, target = _three_classes()
    acc = AUROCAccumulator(mode=mode, activation="softmax")
    assert PROTOCOL <= _public(acc)
    assert acc.num_samples == 0 and acc.layout is None
    with pytest.raises(ac.EmptyEpochError):
        acc.epoch()
    for i in range(0, 300, 64):
        acc.update(preds[i:i + 64], target[i:i + 64])
    assert acc.num_samples == 300 and acc.layout.task == "multiclass" and acc.layout.num_classes == 3
    epoch = acc.epoch()
    assert type(epoch) is (ExactEpoch if mode == "exact" else histogram.Epoch) and acc.epoch() is epoch
    probs = torch.softmax(preds, 1).double()
    ranked = (probs if mode == "exact" else probs.to(torch.float16).double()).numpy()  # what each one ranks
    per_class = [roc_auc_score(target.numpy() == k, ranked[:, k]) for k in range(3)]
    scores = acc.compute_scores()
    np.testing.assert_allclose(scores.per_class.numpy(), per_class, rtol=0, atol=1e-12)
    assert scores.support.tolist() == torch.bincount(target, minlength=3).tolist() and scores.num_samples == 300
    assert acc.compute().item() == scores.value.item() == pytest.approx(np.mean(per_class), abs=1e-12)
    curves = acc.compute_curves()
    assert len(curves) == 3 and all(thr[0] == float("inf") for _, _, thr in curves)
    fpr, tpr, _ = sk_roc_curve(target.numpy() == 0, ranked[:, 0])
    np.testing.assert_allclose(curves[0][0].numpy(), fpr, atol=1e-12)
    np.testing.assert_allclose(curves[0][1].numpy(), tpr, atol=1e-12)
    assert acc.epoch() is epoch  # the computes read the cached epoch
    clone = copy.deepcopy(acc)  # frameworks copy and pickle callbacks, accumulators included
    assert type(clone) is type(acc) and clone.compute().item() == acc.compute().item()
    assert type(pickle.loads(pickle.dumps(acc))) is type(acc)
    acc.reset()
    assert acc.num_samples == 0 and acc.layout is None
    with pytest.raises(ac.EmptyEpochError):
        acc.compute()


def test_neither_accumulator_carries_the_other_ones_state_or_options():
    exact, hist = AUROCAccumulator(), AUROCAccumulator(mode="histogram")
    assert _public(exact) - _public(hist) == {"buffer_device", "ci_level", "validated_layout"}
    assert _public(hist) - _public(exact) == {"histogram_dtype", "state_bytes"}
    assert not hasattr(exact, "_counts") and not hasattr(hist, "_preds") and not hasattr(hist, "_gathered")
    assert hist.ci is False  # a histogram never has an interval: readers may ask either accumulator
    preds, target = _three_classes(60)
    exact.update(preds, target)
    hist.update(preds, target)
    assert type(exact.gather()) is tuple and type(exact.epoch()) is ExactEpoch
    assert type(hist.epoch()) is histogram.Epoch
    with pytest.raises(ValueError, match=r"compute_bound\(\) is for mode='histogram'"):
        exact.compute_bound()
    for call in (hist.gather, lambda: hist.truncate(5), hist.compute_interval, lambda: hist.compute_interval(ci_level=.5)):
        with pytest.raises(ValueError, match="mode='exact'"):
            call()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"sync_dist": "yes"}, TypeError, "`sync_dist` must be a bool; got str 'yes'"),
    ({"nan_strategy": "ignore"}, ValueError, "`nan_strategy` must be one of 'error', 'warn'; got 'ignore'"),
    ({"nan_strategy": "ignore", "mode": "histogram"}, ValueError, "`nan_strategy` must be one of 'error', 'warn'"),
    ({"mode": "fast"}, ValueError, "`mode` must be one of 'exact', 'histogram'; got 'fast'"),
    ({"mode": None}, TypeError, "`mode` must be one of 'exact', 'histogram'; got NoneType None"),
    ({"ci": 1}, TypeError, "`ci` must be a bool; got int 1"),
    ({"ci_level": "0.9"}, TypeError, r"`ci_level` must be a float in \(0, 1\); got str '0.9'"),
    ({"ci_level": 1.0, "mode": "histogram"}, ValueError, r"`ci_level` must be a float in \(0, 1\); got 1.0"),
    ({"buffer_device": 3}, TypeError, "`buffer_device` must be None or a non-empty str or a device; got int 3"),
    ({"buffer_device": ""}, ValueError, "`buffer_device` must be None or a non-empty str or a device; got ''"),
    ({"buffer_device": "gpu"}, ValueError, "`buffer_device` must name a device, such as 'cpu' or 'cuda:0'; got 'gpu'"),
    ({"histogram_dtype": torch.float16}, ValueError, "`histogram_dtype` is for mode='histogram'; got torch.float16"),
    ({"mode": "histogram", "histogram_dtype": torch.float32}, ValueError,
     "`histogram_dtype` must be None or one of torch.float16, torch.bfloat16; got torch.float32"),
    ({"average": "mean"}, ValueError, "`average` must be one of 'macro', 'weighted', 'micro', None; got 'mean'"),
    ({"average": "mean", "mode": "histogram"}, ValueError, "`average` must be one of"),
])
def test_bad_options_name_the_argument_what_is_allowed_and_what_came(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        AUROCAccumulator(**kwargs)
    assert type(info.value) is error


def test_truncate_refuses_a_bad_count_naming_it():
    acc = AUROCAccumulator()
    with pytest.raises(ValueError, match="`num_samples` must be an int >= 0; got -1"):
        acc.truncate(-1)
    with pytest.raises(TypeError, match="`num_samples` must be an int >= 0; got float 2.5"):
        acc.truncate(2.5)


def test_the_exact_epoch_is_checked_once_and_says_why_it_is_nan():
    preds, target = _three_classes(90)
    acc = AUROCAccumulator(nan_strategy="warn")
    acc.update(preds, target)
    assert acc.validated_layout() is None  # nothing computed yet
    epoch = acc.epoch()
    assert epoch.nan_reason is None and acc.validated_layout() is epoch.layout == acc.layout
    assert epoch.preds is acc.gather()[0] and epoch.target is acc.gather()[1]
    bad = preds.clone()
    bad[7, 2] = float("nan")
    acc.update(bad, target)
    nan_epoch = acc.epoch()
    assert nan_epoch is not epoch and "NaN" in nan_epoch.nan_reason and acc.validated_layout() is None
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN"):
        assert torch.isnan(acc.compute())
    with pytest.raises(ValueError, match="NaN.*no ROC curve can be drawn"):
        acc.compute_curves()
    strict = AUROCAccumulator()
    strict.update(bad, target)
    with pytest.raises(ValueError, match="NaN"):
        strict.epoch()
