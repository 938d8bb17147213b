"""AUROCAccumulator: the factory and the protocol both accumulators share; the exact one's epoch value equals the
one-shot value, no host sync per batch, bounded bookkeeping. (The histogram one's values: tests/test_histogram.py.)"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from _reference import delong_interval, delong_se
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

import auroc_callbacks as ac
from auroc_callbacks import histogram
from auroc_callbacks.accumulator import AUROCAccumulator, ExactAccumulator, ExactEpoch, HistogramAccumulator, _Buffer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _feed(acc, preds, target, sizes):
    start = 0
    for size in sizes:
        acc.update(preds[start : start + size], target[start : start + size])
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
        acc.update(scores[i : i + 16], target[i : i + 16])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
            batch_values.append(ac.auroc(scores[i : i + 16], target[i : i + 16]).item())
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


@pytest.mark.parametrize(
    "preds, target",
    [
        (torch.tensor(0.3), torch.tensor([1, 0])),  # 0-d next to two samples
        (torch.randn(4, 2), torch.tensor([0, 1, 0, 1])),  # a (N, 2) head after (N,): another layout
        (torch.randn(4, 3), torch.tensor([0, 1, 0, 1])),
        (torch.randn(4), torch.tensor([[0, 1], [1, 0], [0, 1], [1, 0]])),
        (torch.randn(4, dtype=torch.complex64), torch.tensor([0, 1, 0, 1])),
    ],
)
def test_a_batch_unlike_the_first_is_a_clear_error(preds, target):
    acc = ac.AUROCAccumulator()
    acc.update(torch.randn(4), torch.tensor([0, 1, 0, 1]))
    with pytest.raises((ValueError, TypeError)) as info:
        acc.update(preds, target)
    message = str(info.value)
    assert type(info.value) in (ValueError, TypeError)
    assert "`preds`" in message or "`target`" in message or "batch shapes" in message


def test_infinite_logits_warn_and_give_nan_in_a_training_loop():
    acc = ac.AUROCAccumulator(nan_strategy="warn")
    logits = torch.randn(30, 3)
    logits[4, 2] = float("inf")  # float16 overflow, say
    acc.update(logits, torch.arange(30) % 3)
    with pytest.warns(ac.UndefinedAUROCWarning, match="inf"):
        assert torch.isnan(acc.compute())


def test_buffer_copies_grow_geometrically_not_one_tensor_per_batch():
    # the copying path (a batch that moves to ``buffer_device``): each chunk as large as all before it
    buffer = _Buffer(pin=False)
    preds = torch.randn(16000, 3)
    for i in range(0, 16000, 8):
        buffer.append(preds[i : i + 8], torch.device("cpu"))
    assert buffer.size == 16000
    assert [c.shape[0] for c in buffer.chunks] == [1024, 1024, 2048, 4096, 8192]  # O(log n) chunks
    assert torch.equal(buffer.view(), preds)


def test_batches_on_their_device_are_kept_not_copied_and_a_slice_does_not_hold_its_base():
    acc = ac.AUROCAccumulator()
    batches = [torch.randn(64, 3) for _ in range(5)]
    target = torch.arange(320) % 3
    for i, b in enumerate(batches):
        acc.update(b, target[64 * i : 64 * (i + 1)])
    assert [c.data_ptr() for c in acc._preds.chunks] == [b.data_ptr() for b in batches]  # no copy per batch
    assert torch.equal(acc.gather()[0], torch.cat(batches))
    assert acc.compute().item() == ac.auroc(torch.cat(batches), target).item()
    big = torch.randn(100_000, 3)  # a small slice of a large tensor is copied: the epoch must not keep all of it
    acc.reset()
    acc.update(big[:10], target[:10])
    assert acc._preds.chunks[0].untyped_storage().nbytes() == 10 * 3 * 4


def test_a_batch_modified_in_place_after_update_is_an_error_not_a_wrong_number():
    acc = ac.AUROCAccumulator()
    out = torch.randn(32, 3)  # an output buffer the caller reuses
    acc.update(out, torch.arange(32) % 3)
    out.mul_(-1)
    with pytest.raises(
        RuntimeError,
        match=r"batch passed to AUROCAccumulator.update\(\) \(batch 0 of those it holds\) was modified in place",
    ):
        acc.compute()
    acc.reset()
    with torch.inference_mode():  # inference tensors have no version counter: kept, and fine
        acc.update(torch.randn(32, 3), torch.arange(32) % 3)
    assert 0 <= acc.compute().item() <= 1


def test_a_tensor_subclass_is_kept_as_a_plain_tensor():
    class Sub(torch.Tensor):
        pass

    acc = ac.AUROCAccumulator()
    x = torch.randn(40, 3).as_subclass(Sub)
    acc.update(x, torch.arange(40) % 3)
    assert type(acc._preds.chunks[0]) is torch.Tensor and type(acc.gather()[0]) is torch.Tensor


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
        np.testing.assert_allclose(
            ovo.cpu().numpy(), ac.auroc(preds, target, multi_class="ovo", average=average).numpy(), atol=1e-12
        )


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
    monkeypatch.setattr(acc_module, "_any_rank", lambda flag, preds, group: flag)  # the weights flag's all-reduce
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

PROTOCOL = {
    "update",
    "reset",
    "epoch",
    "compute",
    "compute_scores",
    "compute_curves",
    "num_samples",
    "layout",
    "options",
    "mode",
    "nan_strategy",
    "sync_dist",
    "process_group",
}


def _public(acc) -> set:
    return {name for name in dir(acc) if not name.startswith("_")}


def _three_classes(n=300, seed=5):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 3, generator=g) + 2 * torch.nn.functional.one_hot(target, 3), target


@pytest.mark.parametrize(
    "kwargs, cls",
    [
        ({}, ExactAccumulator),
        ({"mode": "exact", "buffer_device": "cpu", "ci": True}, ExactAccumulator),
        ({"mode": "histogram"}, HistogramAccumulator),
        ({"mode": "histogram", "histogram_dtype": torch.bfloat16, "num_classes": 4}, HistogramAccumulator),
    ],
)
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
        acc.update(preds[i : i + 64], target[i : i + 64])
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
    assert _public(exact) - _public(hist) == {"buffer_device", "ci_level", "gather_weight", "validated_layout"}
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
    for call in (
        hist.gather,
        lambda: hist.truncate(5),
        hist.compute_interval,
        lambda: hist.compute_interval(ci_level=0.5),
    ):
        with pytest.raises(ValueError, match="mode='exact'"):
            call()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
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
        (
            {"buffer_device": "gpu"},
            ValueError,
            "`buffer_device` must name a device, such as 'cpu' or 'cuda:0'; got 'gpu'",
        ),
        (
            {"histogram_dtype": torch.float16},
            ValueError,
            "`histogram_dtype` is for mode='histogram'; got torch.float16",
        ),
        (
            {"mode": "histogram", "histogram_dtype": torch.float32},
            ValueError,
            "`histogram_dtype` must be None or one of torch.float16, torch.bfloat16; got torch.float32",
        ),
        ({"average": "mean"}, ValueError, "`average` must be one of 'macro', 'weighted', 'micro', None; got 'mean'"),
        ({"average": "mean", "mode": "histogram"}, ValueError, "`average` must be one of"),
    ],
)
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


# ----------------------------------------------------------------------------- issue 13


MODES = ["exact", "histogram"]


def _rounded(x):
    """What histogram mode ranks: the scores rounded to float16."""
    return x.half().double()


def _ovr(y, probs):
    """sklearn's one-vs-rest macro AUROC, class by class (rounded probabilities no longer sum to 1 for sklearn)."""
    return np.mean([roc_auc_score(y.numpy() == k, probs[:, k].numpy()) for k in range(probs.shape[1])])


@pytest.mark.parametrize("value", ["cuda", "cuda:3", torch.device("cuda")])
def test_buffer_device_cuda_without_cuda_is_refused_at_construction(monkeypatch, value):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"`buffer_device`=.*cuda.* needs CUDA, which is not available"):
        ac.AUROCAccumulator(buffer_device=value)


def test_buffer_device_past_the_cuda_devices_is_refused_at_construction(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"`buffer_device`='cuda:3' names CUDA device 3, but only 2 device\(s\)"):
        ac.AUROCAccumulator(buffer_device="cuda:3")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="an MPS device is there")
def test_buffer_device_of_a_backend_not_here_is_refused_at_construction():
    with pytest.raises(ValueError, match="`buffer_device`='mps' is not available here"):
        ac.AUROCAccumulator(buffer_device="mps")


@pytest.mark.parametrize("mode", MODES)
def test_binary_batches_alternating_n1_and_n_are_one_epoch(mode):
    g = torch.Generator().manual_seed(1)
    preds, target = torch.randn(200, generator=g), torch.randint(0, 2, (200,), generator=g)
    acc = ac.AUROCAccumulator(mode=mode)
    for k, start in enumerate(range(0, 200, 25)):
        p, t = preds[start : start + 25], target[start : start + 25]
        acc.update(p.unsqueeze(1) if k % 2 == 0 else p, t.unsqueeze(1) if k % 3 == 0 else t)
    ref = preds if mode == "exact" else _rounded(preds)
    assert acc.compute().item() == pytest.approx(roc_auc_score(target.numpy(), ref.numpy()), abs=1e-12)
    if mode == "exact":
        gathered, _ = acc.gather()
        assert tuple(gathered.shape) == (200, 1)  # stored as the first batch was
    for first, later in [  # real changes of layout are still refused
        ((torch.randn(8), torch.randint(0, 2, (8,))), (torch.randn(8, 2), torch.randint(0, 2, (8,)))),
        ((torch.randn(8, 3), torch.arange(8) % 3), (torch.randn(8, 4), torch.arange(8) % 3)),
        ((torch.randn(8, 3), torch.randint(0, 2, (8, 3))), (torch.randn(8, 3), torch.arange(8) % 3)),
    ]:
        acc.reset()
        acc.update(*first)
        with pytest.raises(ValueError, match="batch shapes changed within an epoch"):
            acc.update(*later)


@pytest.mark.parametrize("mode", MODES)
def test_multiclass_targets_alternating_n1_and_n_are_one_epoch(mode):
    g = torch.Generator().manual_seed(2)
    preds, target = torch.randn(120, 3, generator=g), torch.randint(0, 3, (120,), generator=g)
    acc = ac.AUROCAccumulator(mode=mode)
    acc.update(preds[:60], target[:60])
    acc.update(preds[60:], target[60:].unsqueeze(1))
    probs = torch.softmax(preds, 1)
    ref = probs if mode == "exact" else _rounded(probs)
    assert acc.compute().item() == pytest.approx(_ovr(target, ref), abs=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("target_shape", [(), (1,), (1, 1)])
def test_a_0d_last_batch_next_to_one_target_is_one_sample(mode, target_shape):
    """``logits.squeeze()`` on a last batch of one row: a 0-d prediction."""
    g = torch.Generator().manual_seed(3)
    preds, target = torch.randn(65, generator=g), torch.arange(65) % 2
    acc = ac.AUROCAccumulator(mode=mode)
    acc.update(preds[:64], target[:64])
    acc.update(preds[64:].squeeze(), target[64:].reshape(target_shape))
    assert acc.num_samples == 65
    ref = preds if mode == "exact" else _rounded(preds)
    assert acc.compute().item() == pytest.approx(roc_auc_score(target.numpy(), ref.numpy()), abs=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_class_indices_as_predictions_are_refused_at_the_first_batch(mode):
    g = torch.Generator().manual_seed(4)
    acc = ac.AUROCAccumulator(mode=mode)
    with pytest.raises(ValueError, match="AUROC needs scores, not class indices: `preds` holds integer labels up to 9"):
        acc.check_batch(torch.randn(32, 10, generator=g).argmax(1), torch.arange(32) % 10)


def test_class_indices_are_looked_for_once_per_epoch_and_never_in_float_scores(monkeypatch):
    acc = ac.AUROCAccumulator()
    with pytest.raises(ValueError, match="not class indices"):
        acc.update(torch.tensor([3, 1, 2, 0]), torch.tensor([3, 1, 0, 2]))
    acc.reset()
    hard, y = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0])
    acc.update(hard, y)  # the first batch of the epoch: looked at once
    with _NoSync(monkeypatch):
        for _ in range(3):
            acc.update(hard, y)
    acc.reset()
    with _NoSync(monkeypatch):
        acc.update(torch.rand(4), y)  # float scores: never


def _three_tasks(task, n=240, seed=5):
    g = torch.Generator().manual_seed(seed)
    if task == "binary":
        return torch.randn(n, generator=g), torch.randint(0, 2, (n,), generator=g), {}
    if task == "multiclass":
        return torch.randn(n, 4, generator=g), torch.randint(0, 4, (n,), generator=g), {"num_classes": 4}
    return torch.randn(n, 3, generator=g), torch.randint(0, 2, (n, 3), generator=g), {"task": "multilabel"}


def _sk(task, preds, target, mode):
    scores = torch.softmax(preds, 1) if task == "multiclass" else preds
    scores = scores if mode == "exact" else _rounded(scores)
    if task == "multiclass":
        return _ovr(target, scores)
    return roc_auc_score(target.numpy(), scores.numpy())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_state_dict_resumes_a_mid_epoch_checkpoint_with_weights_only_load(tmp_path, mode, task):
    preds, target, options = _three_tasks(task)
    whole = ac.AUROCAccumulator(mode=mode, **options)
    saved = ac.AUROCAccumulator(mode=mode, **options)
    for start in range(0, 120, 40):
        whole.update(preds[start : start + 40], target[start : start + 40])
        saved.update(preds[start : start + 40], target[start : start + 40])
    before = saved.compute_scores()
    torch.save(saved.state_dict(), tmp_path / "acc.pt")
    saved.update(preds[120:], target[120:])  # the saved state does not move with the accumulator
    resumed = ac.AUROCAccumulator(mode=mode, **options)
    resumed.load_state_dict(torch.load(tmp_path / "acc.pt", weights_only=True))
    again = resumed.compute_scores()
    assert torch.equal(again.value, before.value) and torch.equal(again.support, before.support)
    assert resumed.num_samples == 120 and again.num_samples == before.num_samples
    for start in range(120, 240, 40):
        whole.update(preds[start : start + 40], target[start : start + 40])
        resumed.update(preds[start : start + 40], target[start : start + 40])
    assert torch.equal(resumed.compute(), whole.compute())
    assert resumed.compute().item() == pytest.approx(_sk(task, preds, target, mode), abs=1e-12)
    if mode == "histogram":
        assert torch.equal(resumed.compute_bound().bound, whole.compute_bound().bound)


@pytest.mark.parametrize("mode", MODES)
def test_state_dict_of_an_empty_accumulator_loads_as_empty(mode):
    resumed = ac.AUROCAccumulator(mode=mode)
    resumed.load_state_dict(ac.AUROCAccumulator(mode=mode).state_dict())
    assert resumed.num_samples == 0
    with pytest.raises(ac.EmptyEpochError):
        resumed.compute()


@pytest.mark.parametrize(
    "saved, loading, fragment",
    [
        ({"mode": "exact"}, {"mode": "histogram"}, "mode='exact'"),
        ({"task": "binary"}, {"task": "multiclass"}, "task='binary' (here 'multiclass')"),
        ({"num_classes": 3}, {"num_classes": 4}, "num_classes=3 (here 4)"),
        (
            {"mode": "histogram"},
            {"mode": "histogram", "histogram_dtype": torch.bfloat16},
            "histogram_dtype=torch.float16",
        ),
        ({"pos_label": 2}, {}, "pos_label=2 (here None)"),
    ],
)
def test_load_state_dict_with_other_options_is_a_clear_error(saved, loading, fragment):
    acc = ac.AUROCAccumulator(**saved)
    if saved.get("task") == "binary" or "pos_label" in saved:
        acc.update(torch.rand(4), torch.tensor([1, 2, 1, 2]) if "pos_label" in saved else torch.tensor([0, 1, 0, 1]))
    else:
        acc.update(torch.rand(6, 3), torch.arange(6) % 3)
    with pytest.raises(ValueError, match="`state_dict` was saved with") as info:
        ac.AUROCAccumulator(**loading).load_state_dict(acc.state_dict())
    assert fragment in str(info.value)


def test_load_state_dict_of_something_else_is_a_clear_error():
    with pytest.raises(ValueError, match="must be an AUROCAccumulator.state_dict()"):
        ac.AUROCAccumulator().load_state_dict({"preds": torch.zeros(3)})


def _interpretations(record):
    return [str(w.message) for w in record if issubclass(w.category, ac.functional.InterpretationWarning)]


def test_exact_epoch_warns_once_whatever_computes_from_it():
    """Scores, interval, curves and calibration of one epoch read it once: one warning, then one per epoch."""
    from auroc_callbacks.calibration import calibration_summary

    g = torch.Generator().manual_seed(6)
    probs, y = torch.rand(200, 3, generator=g), torch.randint(0, 3, (200,), generator=g)
    acc = ac.AUROCAccumulator()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for start in range(0, 200, 20):
            acc.update(probs[start : start + 20], y[start : start + 20])
        acc.compute()
        acc.compute_scores()
        acc.compute_interval()
        acc.compute_curves()
        with pytest.raises(ValueError, match="calibration needs multiclass probabilities whose rows sum to 1"):
            calibration_summary(accumulator=acc)  # per-class scores are no multiclass probabilities: not re-warned
        assert len(_interpretations(record)) == 1
        acc.reset()
        acc.update(probs, y)
        acc.compute()
    assert len(_interpretations(record)) == 2
    want = np.mean([roc_auc_score(y.numpy() == k, probs[:, k].numpy()) for k in range(3)])
    assert acc.compute().item() == pytest.approx(want, abs=1e-12)


def test_histogram_epoch_warns_once_whatever_computes_from_it():
    g = torch.Generator().manual_seed(7)
    probs, y = torch.rand(200, 3, generator=g), torch.randint(0, 3, (200,), generator=g)
    acc = ac.AUROCAccumulator(mode="histogram")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for start in range(0, 200, 20):
            acc.update(probs[start : start + 20], y[start : start + 20])
        acc.compute()
        acc.compute_bound()
        acc.compute_curves()
    assert _interpretations(record) == [
        "rows of `preds` lie in [0, 1] but do not sum to 1: ranked as per-class scores (one-vs-rest, as given);"
        " pass activation='softmax' if they are logits"
    ]
    want = np.mean([roc_auc_score(y.numpy() == k, _rounded(probs)[:, k].numpy()) for k in range(3)])
    assert acc.compute().item() == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_a_one_hot_target_epoch_is_multiclass_in_both_modes(mode):
    g = torch.Generator().manual_seed(8)
    logits, y = torch.randn(150, 4, generator=g), torch.randint(0, 4, (150,), generator=g)
    acc = ac.AUROCAccumulator(mode=mode)
    with pytest.warns(ac.functional.InterpretationWarning, match="`target` is one-hot: scored as multiclass"):
        for start in range(0, 150, 32):
            acc.update(logits[start : start + 32], torch.nn.functional.one_hot(y[start : start + 32], 4))
        got = acc.compute_scores()
    probs = torch.softmax(logits, 1)
    ref = probs if mode == "exact" else _rounded(probs)
    assert got.value.item() == pytest.approx(_ovr(y, ref), abs=1e-12)
    assert got.support.tolist() == torch.bincount(y, minlength=4).tolist()
    _multilabel_batches_one_hot_by_chance_stay_multilabel(mode)


def _multilabel_batches_one_hot_by_chance_stay_multilabel(mode):
    """Sparse multilabel targets: the first batch and a one-row last batch are one-hot, another batch is not.
    The epoch is multilabel (raw logits per column) in both modes: histogram mode decides it at compute."""
    g = torch.Generator().manual_seed(9)
    logits, y = torch.randn(97, 3, generator=g), torch.randint(0, 3, (97,), generator=g)
    target = torch.nn.functional.one_hot(y, 3)
    target[50, (y[50] + 1) % 3] = 1  # one row with two labels, in the second batch
    acc = ac.AUROCAccumulator(mode=mode)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for start in (0, 32, 64, 96):
            acc.update(logits[start : start + 32], target[start : start + 32])
        got = acc.compute()
    ref = logits if mode == "exact" else _rounded(logits)
    assert got.item() == pytest.approx(roc_auc_score(target.numpy(), ref.numpy()), abs=1e-12)
    assert _interpretations(record) == []


def test_histogram_update_makes_no_host_sync_with_a_multilabel_target(monkeypatch):
    acc = ac.AUROCAccumulator(mode="histogram")
    logits, target = torch.randn(64, 3), torch.nn.functional.one_hot(torch.arange(64) % 3, 3)
    with _NoSync(monkeypatch):
        for _ in range(3):
            acc.update(logits, target)
    with pytest.warns(ac.functional.InterpretationWarning, match="one-hot"):
        acc.compute()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("labels, pos_label", [((-1, 1), None), ((1, 2), 2), ((0, 5), 0)])
def test_binary_labels_as_other_libraries_write_them(mode, labels, pos_label):
    g = torch.Generator().manual_seed(10)
    preds = torch.rand(160, generator=g)
    target = torch.tensor(labels)[torch.randint(0, 2, (160,), generator=g)]
    acc = ac.AUROCAccumulator(mode=mode, pos_label=pos_label)
    for start in range(0, 160, 50):
        acc.update(preds[start : start + 50], target[start : start + 50])
    positive = 1 if pos_label is None else pos_label
    ref = preds if mode == "exact" else _rounded(preds)
    assert acc.compute().item() == pytest.approx(roc_auc_score(target.numpy() == positive, ref.numpy()), abs=1e-12)
    assert acc.compute_scores().support.tolist() == [int((target == positive).sum())]
    fpr, tpr, _ = acc.compute_curves()
    ref_fpr, ref_tpr, _ = sk_roc_curve(target.numpy(), ref.numpy(), pos_label=positive)
    np.testing.assert_allclose(fpr.numpy(), ref_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr.numpy(), ref_tpr, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "target, pos_label, fragments",
    [
        (torch.tensor([-1, 0, 1, 1]), None, ["more than two labels", "-1", "0", "1"]),
        (torch.tensor([0, 2, 2, 0]), None, ["0, 2", "pass pos_label"]),
        (torch.tensor([1, 2, 3, 2]), 2, ["more than two labels", "1", "3"]),
    ],
)
def test_ambiguous_binary_labels_fail_at_compute_in_both_modes(mode, target, pos_label, fragments):
    acc = ac.AUROCAccumulator(mode=mode, pos_label=pos_label)
    acc.update(torch.rand(2), target[:2])
    acc.update(torch.rand(2), target[2:])
    with pytest.raises(ValueError) as info:
        acc.compute()
    assert all(f in str(info.value) for f in fragments), str(info.value)


def test_pos_label_reaches_plots_and_reports_as_0_1_labels():
    from auroc_callbacks.accumulator import data_or_epoch

    acc = ac.AUROCAccumulator(pos_label=2, ignore_index=-100)
    acc.update(torch.tensor([0.2, 0.9, 0.4, 0.7]), torch.tensor([1, 2, -100, 2]))
    _, target, options = data_or_epoch(None, None, acc, {}, ("task", "ignore_index"), given=())
    assert target.tolist() == [0, 1, -100, 1] and options == {"task": None, "ignore_index": -100}


def test_a_sparse_batch_is_kept_dense():
    acc = ac.AUROCAccumulator()
    dense = torch.tensor([0.1, 0.9, 0.4, 0.0])
    acc.update(dense.to_sparse(), torch.tensor([0, 1, 1, 0]))
    assert acc.compute().item() == roc_auc_score([0, 1, 1, 0], dense.numpy())


@pytest.mark.parametrize("mode", ["exact", "histogram"])
def test_a_reused_output_buffer_is_never_counted_twice(mode):
    """Inference tensors have no version counter (copied); histogram batches are copied until counted."""
    g = torch.Generator().manual_seed(0)
    parts = [(torch.rand(100, generator=g), torch.randint(0, 2, (100,), generator=g)) for _ in range(3)]
    want = roc_auc_score(torch.cat([t for _, t in parts]).numpy(), torch.cat([p for p, _ in parts]).numpy())
    for inference in (True, False):
        acc = ac.AUROCAccumulator(mode=mode)
        with torch.inference_mode(inference):
            buf = torch.empty(100)
            for p, t in parts:
                buf.copy_(p)
                acc.update(buf, t)
        if mode == "exact" and not inference:
            with pytest.raises(RuntimeError, match="modified in place"):
                acc.compute()
        else:
            assert acc.compute().item() == pytest.approx(want, abs=1e-3 if mode == "histogram" else 1e-12)


def test_a_copy_after_truncate_never_writes_into_a_kept_batch():
    buffer = _Buffer(pin=False)
    kept = torch.arange(10.0)
    buffer.keep(kept)
    buffer.truncate(5)
    buffer.append(torch.full((3,), -1.0), torch.device("cpu"))
    assert torch.equal(kept, torch.arange(10.0))  # the caller's tensor untouched
    assert buffer.view().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, -1.0, -1.0, -1.0]
