"""HistogramAccumulator (``AUROCAccumulator(mode="histogram")``): exact for the scores rounded to 16 bits, within
its certified bound of the full-precision value, bounded memory, no host sync, every rank's counts summed under gloo.

References, never this library's exact mode: scikit-learn (or a brute-force pairwise count, ties 1/2) on the scores
the exact mode ranks (softmax for multiclass logits, as given otherwise), rounded with torch's own ``.to(float16)``
for the value, unrounded for the full-precision value the bound certifies.
"""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

import auroc_callbacks as ac
from auroc_callbacks._checks import InterpretationWarning
from auroc_callbacks.histogram import AUROCBound, Epoch, bucket_keys, bucket_values
from conftest import brute_force_auroc

DTYPES = [torch.float16, torch.bfloat16]


def _feed(acc, preds, target, batch=None, sizes=None):
    start = 0
    for size in sizes or []:
        acc.update(preds[start : start + size], target[start : start + size])
        start += size
    step = batch or max(len(target), 1)
    for i in range(start, len(target), step):
        acc.update(preds[i : i + step], target[i : i + step])
    return acc


def _hist(preds, target, batch=None, sizes=None, **options):
    return _feed(ac.AUROCAccumulator(mode="histogram", **options), preds, target, batch, sizes)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        return fn(*args, **kwargs)


def _data(task, n, seed, n_cls=4, scale=1.0, decimals=None):
    g = torch.Generator().manual_seed(seed)
    if task == "binary":
        preds, target = torch.randn(n, generator=g), torch.randint(0, 2, (n,), generator=g)
    elif task == "multiclass":
        target = torch.randint(0, n_cls, (n,), generator=g)
        preds = torch.randn(n, n_cls, generator=g) + 2 * torch.nn.functional.one_hot(target, n_cls)
    else:
        target = torch.randint(0, 2, (n, n_cls), generator=g)
        preds = torch.randn(n, n_cls, generator=g) + target
    preds = preds * scale
    if decimals is not None:
        preds = preds.round(decimals=decimals)
    return preds, target


def _ranked(preds, target, task):
    """The scores the exact mode ranks (softmax for multiclass logits, raw otherwise), as numpy float64."""
    if task == "multiclass":
        return torch.softmax(preds, 1).double().numpy()
    return preds.double().numpy()


def _sklearn(scores, target, task, average, max_fpr=None, ignore_index=None):
    """scikit-learn, class by class on the given scores, averaged as the library defines it (NaN: undefined).

    +-inf become +-1e300 (scikit-learn refuses infinities): the same order, past every 16-bit value.
    """
    s, y = np.nan_to_num(np.asarray(scores, dtype=np.float64), posinf=1e300, neginf=-1e300), np.asarray(target)
    if task == "binary":
        s, y = s.reshape(-1, 1), y.reshape(-1, 1)
    elif task == "multiclass":
        keep = np.ones(len(y), bool) if ignore_index is None else y != ignore_index
        s, y = s[keep], np.eye(s.shape[1], dtype=np.int64)[y[keep]]
    valid = np.ones(y.shape, bool) if ignore_index is None or task == "multiclass" else y != ignore_index
    if task == "binary" and ignore_index is not None:
        valid = y != ignore_index

    def one(yy, ss):
        if yy.min() == yy.max():
            return math.nan
        return roc_auc_score(yy, ss, max_fpr=max_fpr)

    if average == "micro":
        return one(y[valid], s[valid])
    per = np.array([one(y[valid[:, c], c], s[valid[:, c], c]) for c in range(y.shape[1])])
    if task == "binary":
        return per[0]
    if average is None:
        return per
    ok = ~np.isnan(per)
    if not ok.any():
        return math.nan
    weights = np.ones(len(per)) if average == "macro" else (y * valid).sum(0)
    return float((per[ok] * weights[ok]).sum() / weights[ok].sum())


def _sklearn_ovo(scores, target, average):
    """Hand & Till one-vs-one from scikit-learn's binary AUROC of each pair, as sklearn's ``multi_class="ovo"``
    averages it (which itself refuses rounded probabilities: their rows no longer sum to 1).

    ``average=None``: the (C, C) matrix of pair values, NaN on the diagonal and for pairs with an absent class.
    """
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(target)
    n_cls = s.shape[1]
    pair = np.full((n_cls, n_cls), math.nan)
    for a in range(n_cls):
        for b in range(a + 1, n_cls):
            if (y == a).any() and (y == b).any():
                m = (y == a) | (y == b)
                pair[a, b] = pair[b, a] = 0.5 * (roc_auc_score(y[m] == a, s[m, a]) + roc_auc_score(y[m] == b, s[m, b]))
    if average is None:
        return pair
    iu = np.triu_indices(n_cls, 1)
    vals = pair[iu]
    weights = (
        np.ones_like(vals)
        if average == "macro"
        else np.bincount(y, minlength=n_cls)[iu[0]] + np.bincount(y, minlength=n_cls)[iu[1]]
    )
    ok = ~np.isnan(vals)
    return float((vals[ok] * weights[ok]).sum() / weights[ok].sum())


# ----------------------------------------------------------------------------- exact for the rounded scores


@settings(max_examples=30, deadline=None)
@given(
    task=st.sampled_from(["binary", "multiclass", "multilabel"]),
    dtype=st.sampled_from(DTYPES),
    average=st.sampled_from(["macro", "weighted", "micro", None]),
    max_fpr=st.sampled_from([None, None, 0.3]),
    ignore=st.booleans(),
    n=st.integers(5, 300),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1.0, 1e-3, 3e4, 1e6]),
    decimals=st.sampled_from([None, 1]),
    batch=st.integers(1, 97),
)
def test_value_equals_sklearn_on_scores_rounded_to_16_bits_and_the_bound_holds(
    task, dtype, average, max_fpr, ignore, n, seed, scale, decimals, batch
):
    preds, target = _data(task, n, seed, scale=scale, decimals=decimals)
    ignore_index = None
    if ignore:
        ignore_index = -1
        target = target.clone()
        target[torch.rand(target.shape, generator=torch.Generator().manual_seed(seed)) < 0.15] = -1
        if bool((target == -1).all()):
            return
    options = dict(average=average, max_fpr=max_fpr, ignore_index=ignore_index)
    if task == "multiclass":  # logits: said so, because histogram mode decides "auto" batch by batch, and a one-row
        options["activation"] = "softmax"  # batch of rounded logits like [0.2, 0.3, 0.5, 0] is a distribution
    acc = _hist(preds, target, batch, histogram_dtype=dtype, **options)
    got = _quiet(acc.compute_bound)
    rounded = torch.tensor(_ranked(preds, target, task)).to(dtype).double().numpy()
    want = _sklearn(rounded, target.numpy(), task, average, max_fpr, ignore_index)
    np.testing.assert_allclose(got.value.numpy(), want, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(_quiet(acc.compute).numpy(), got.value.numpy())  # NaN equals NaN here
    # certified: the full-precision value (sklearn's on the unrounded scores) is within the bound
    full = _sklearn(_ranked(preds, target, task), target.numpy(), task, average, max_fpr, ignore_index)
    diff = np.nan_to_num(np.abs(full - got.value.numpy()))  # NaN: undefined in both
    assert np.all(diff <= np.nan_to_num(got.bound.numpy()) + 1e-12), (diff, got.bound)
    per_full = np.reshape(_sklearn(_ranked(preds, target, task), target.numpy(), task, None, max_fpr, ignore_index), -1)
    per_diff = np.nan_to_num(np.abs(per_full - got.per_class.numpy()))
    assert np.all(per_diff <= np.nan_to_num(got.per_class_bound.numpy()) + 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_one_vs_one_equals_sklearn_on_rounded_probabilities(dtype, average):
    preds, target = _data("multiclass", 400, 3, n_cls=5, decimals=1)
    acc = _hist(preds, target, 64, histogram_dtype=dtype, multi_class="ovo", average=average)
    got = acc.compute_bound()
    probs = torch.softmax(preds, 1)
    want = _sklearn_ovo(probs.to(dtype).double().numpy(), target.numpy(), average)
    np.testing.assert_allclose(got.value.numpy(), want, rtol=0, atol=1e-12)
    full = _sklearn_ovo(probs.double().numpy(), target.numpy(), average)
    diff = np.nan_to_num(np.abs(full - got.value.numpy()))
    assert np.all(diff <= np.nan_to_num(got.bound.numpy()) + 1e-12)
    buckets = {torch.float16: 15362, torch.bfloat16: 16258}[dtype]  # probabilities: the patterns of -0.0 to 1.0
    assert acc._counts.counts.numel() == 5 * 5 * buckets + 1  # counts per (true class, column, bucket)


def test_one_vs_one_with_an_absent_class_warns_like_the_exact_mode():
    preds, target = _data("multiclass", 200, 4, n_cls=4)
    target[target == 2] = 1
    with pytest.warns(ac.UndefinedAUROCWarning) as hist_warnings:
        got = _hist(preds, target, multi_class="ovo").compute()
    with pytest.warns(ac.UndefinedAUROCWarning) as exact_warnings:  # the message only: the value is sklearn's
        ac.auroc(torch.softmax(preds, 1).half().double(), target, multi_class="ovo", activation=None)
    assert [str(w.message) for w in hist_warnings] == [str(w.message) for w in exact_warnings]
    want = _sklearn_ovo(torch.softmax(preds, 1).half().double().numpy(), target.numpy(), "macro")  # the pairs present
    assert got.item() == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_curves_are_the_roc_curves_of_the_rounded_scores(dtype):
    preds, target = _data("multiclass", 300, 5, n_cls=3, decimals=1)
    curves = _hist(preds, target, 50, histogram_dtype=dtype).compute_curves()
    rounded = torch.softmax(preds, 1).to(dtype).double().numpy()
    assert len(curves) == 3
    for k, (f, t, thr) in enumerate(curves):
        wf, wt, wthr = sk_roc_curve(target.numpy() == k, rounded[:, k])
        np.testing.assert_allclose(f.numpy(), wf, atol=1e-12)
        np.testing.assert_allclose(t.numpy(), wt, atol=1e-12)
        np.testing.assert_array_equal(thr.numpy(), wthr)
    binary, labels = _data("binary", 200, 6, scale=5.0)  # logits: thresholds on the probability scale
    fpr, tpr, thr = _hist(binary, labels, histogram_dtype=dtype).compute_curves()
    wf, wt, wthr = sk_roc_curve(labels.numpy(), binary.to(dtype).double().numpy())
    np.testing.assert_allclose(fpr.numpy(), wf, atol=1e-12)
    np.testing.assert_allclose(tpr.numpy(), wt, atol=1e-12)
    assert thr[0] == math.inf
    np.testing.assert_allclose(thr[1:].numpy(), torch.sigmoid(torch.from_numpy(wthr[1:])).numpy(), atol=1e-12)


# ----------------------------------------------------------------------------- the certified bound


@pytest.mark.parametrize("dtype", DTYPES)
def test_bound_is_attained_when_each_bucket_hides_a_perfect_ranking(dtype):
    """Scores within one 16-bit ulp: the histogram sees ties where full precision sees a perfect ranking."""
    bases = torch.tensor([0.1, 0.25, 0.5, 0.75], dtype=torch.float32)
    ulp32 = torch.finfo(torch.float32).eps
    neg = torch.cat([b * (1 + ulp32 * torch.arange(1, 6)) for b in bases])  # just above each base
    pos = torch.cat([b * (1 + ulp32 * torch.arange(10, 13)) for b in bases])  # above the negatives, same bucket
    assert bool((bucket_keys(neg.reshape(4, 5), dtype) == bucket_keys(pos.reshape(4, 3)[:, :1], dtype)).all())
    scores, labels = torch.cat([neg, pos]), torch.cat([torch.zeros(20), torch.ones(12)]).long()
    got = _hist(scores, labels, histogram_dtype=dtype).compute_bound()
    full = roc_auc_score(labels.numpy(), scores.double().numpy())
    # 16 of the 240 pairs cross buckets ... all pairs within a bucket are hidden ties
    assert abs(full - got.value.item()) == pytest.approx(got.bound.item(), abs=1e-15)
    assert got.value.item() == roc_auc_score(labels.numpy(), scores.to(dtype).double().numpy())
    # the partial AUROC's bound is attained too (positives first in every bucket)
    for max_fpr in (0.1, 0.3, 0.55):
        part = _hist(scores, labels, histogram_dtype=dtype, max_fpr=max_fpr).compute_bound()
        full = roc_auc_score(labels.numpy(), scores.double().numpy(), max_fpr=max_fpr)
        assert abs(full - part.value.item()) == pytest.approx(part.bound.item(), rel=1e-9), max_fpr


@settings(max_examples=20, deadline=None)
@given(
    n_buckets=st.integers(1, 6),
    per_bucket=st.integers(2, 40),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(DTYPES),
    max_fpr=st.sampled_from([None, 0.05, 0.2, 0.5, 0.9]),
)
def test_bound_holds_on_adversarial_near_ties(n_buckets, per_bucket, seed, dtype, max_fpr):
    """Every score within a few float32 ulps of a bucket's value, in random order inside the bucket."""
    g = torch.Generator().manual_seed(seed)
    bases = torch.rand(n_buckets, generator=g) * 0.9 + 0.05
    bases = bases.to(dtype).float()  # exactly a 16-bit value: offsets of a few float32 ulps stay in its bucket
    offsets = torch.randint(-3, 4, (n_buckets, per_bucket), generator=g).float()
    scores = (bases.unsqueeze(1) * (1 + offsets * torch.finfo(torch.float32).eps)).reshape(-1)
    labels = torch.randint(0, 2, (scores.numel(),), generator=g)
    labels[:2] = torch.tensor([0, 1])
    got = _hist(scores, labels, 7, histogram_dtype=dtype, max_fpr=max_fpr).compute_bound()
    full = roc_auc_score(labels.numpy(), scores.double().numpy(), max_fpr=max_fpr)
    assert abs(full - got.value.item()) <= got.bound.item() + 1e-12
    assert got.value.item() == pytest.approx(
        roc_auc_score(labels.numpy(), scores.to(dtype).double().numpy(), max_fpr=max_fpr), abs=1e-12
    )


def test_weighted_and_micro_bounds_hold_and_binary_bound_is_the_tied_pair_share():
    scores = torch.tensor([0.5, 0.5001, 0.2, 0.9])  # 0.5 and 0.5001 share a float16 bucket
    labels = torch.tensor([0, 1, 0, 1])
    got = _hist(scores, labels).compute_bound()
    assert got.value.item() == 0.875 and got.bound.item() == 0.125  # 1 tied pair of 4, counted 1/2
    assert roc_auc_score(labels, scores) == 1.0
    preds, target = _data("multilabel", 500, 8, scale=2e-3)
    preds = preds + 1  # near 1, where the float16 ulp is 1e-3: many share a bucket
    for average in ("weighted", "micro"):
        b = _hist(preds, target, 64, average=average).compute_bound()
        assert b.value.item() == pytest.approx(roc_auc_score(target, preds.half().double(), average=average), abs=1e-12)
        assert abs(roc_auc_score(target, preds.double(), average=average) - b.value.item()) <= b.bound.item()
        assert b.bound.item() > 1e-3


# ----------------------------------------------------------------------------- buckets


def test_keys_preserve_order_and_merge_the_two_zeros():
    x = torch.tensor(
        [
            -math.inf,
            -1e9,
            -70000.0,
            -65504.0,
            -1.0,
            -1e-9,
            -0.0,
            0.0,
            1e-9,
            1e-5,
            0.1,
            1.0,
            65504.0,
            70000.0,
            1e9,
            math.inf,
        ]
    )
    for dtype in DTYPES:
        keys = bucket_keys(x, dtype)
        assert bool((keys[1:] >= keys[:-1]).all()) and int(keys.min()) >= 0
        values = bucket_values(dtype)[keys]
        assert torch.equal(values, x.to(dtype).double())
    assert bucket_keys(torch.tensor([-0.0]))[0] == bucket_keys(torch.tensor([0.0]))[0]
    got = _hist(torch.tensor([-0.0, 0.0, 1.0]), torch.tensor([1, 0, 1])).compute_bound()
    assert got.value.item() == 0.75 and got.bound.item() == 0.25  # -0.0 == +0.0: a real tie, counted 1/2
    assert brute_force_auroc([-0.0, 0.0, 1.0], [1, 0, 1]) == 0.75


def test_scores_beyond_the_float16_range_fall_into_the_infinite_buckets():
    scores = torch.tensor([-1e6, -7e4, 1.0, 7e4, 1e6, math.inf])
    labels = torch.tensor([0, 1, 0, 0, 1, 1])
    got = _hist(scores, labels).compute_bound()
    # -1e6 and -7e4 become -inf, 7e4, 1e6 and inf become +inf: 3 of the 9 pairs tie, all 3 won at full precision
    assert got.value.item() == pytest.approx(5.5 / 9, abs=1e-15) and got.bound.item() == pytest.approx(1.5 / 9)
    assert got.value.item() == _sklearn(scores.half().double(), labels, "binary", None)
    full = brute_force_auroc(scores.double(), labels)  # sklearn refuses inf; the pairwise count does not
    assert full - got.value.item() == pytest.approx(got.bound.item(), abs=1e-15)
    bf = _hist(scores, labels, histogram_dtype=torch.bfloat16).compute_bound()  # float32's range: no tie
    assert bf.bound.item() == 0.0 and bf.value.item() == brute_force_auroc(scores.bfloat16().double(), labels) == full


# ----------------------------------------------------------------------------- accumulation


def test_memory_is_bounded_whatever_the_number_of_samples():
    acc = ac.AUROCAccumulator(mode="histogram", num_classes=10)
    for i in range(10):
        preds, target = _data("multiclass", 2000, i, n_cls=10)
        acc.update(preds, target)
    assert acc.num_samples == 20_000
    acc.epoch()  # counts what it kept (it counts a few batches together)
    # multiclass scores are probabilities: buckets from -0.0 to 1.0 only (15,362 float16 patterns), int16 counts
    assert acc._counts.counts.numel() == 2 * 10 * 15362 + 1 and acc._counts.counts.dtype == torch.int16
    assert acc.state_bytes / 10 <= 64 * 1024  # per class
    assert not hasattr(acc, "_preds") and not hasattr(acc, "_target")  # no prediction buffer, not even an empty one


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_probability_buckets_take_at_most_64_kib_per_class_and_other_scores_256(dtype):
    probs = _hist(*_data("multiclass", 300, 1, n_cls=4), histogram_dtype=dtype, num_classes=4)
    assert probs.state_bytes / 4 <= 64 * 1024
    ovo = _hist(*_data("multiclass", 300, 1, n_cls=4), histogram_dtype=dtype, num_classes=4, multi_class="ovo")
    assert ovo.state_bytes / 16 <= 64 * 1024
    logits = _hist(*_data("multilabel", 300, 1, n_cls=4), histogram_dtype=dtype, task="multilabel", num_classes=4)
    # any 16-bit pattern can occur: 65,536 int16 pairs per class, and one block of 256 more for the trash slot
    assert logits.state_bytes == 2 * (4 * 2 * 65536 + 256)


def test_probability_buckets_hold_zero_signed_zero_and_one_and_a_nan_stays_out_of_other_columns():
    preds = torch.tensor([[1.0, 0.0, 0.0], [-0.0, 1.0, 0.0], [0.5, 0.25, 0.25], [0.0, 0.0, 1.0]] * 5)
    target = torch.tensor([0, 1, 0, 2] * 5)
    got = _hist(preds, target, num_classes=3, average=None).compute()
    want = roc_auc_score(np.eye(3)[target.numpy()], preds.double().numpy(), average=None)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-15)
    acc = ac.AUROCAccumulator(mode="histogram", num_classes=3, nan_strategy="warn")
    bad = preds.clone()
    bad[0, 0] = float("nan")
    acc.update(bad, target)
    acc._count_pending()
    counts = acc._counts.counts[:-1].reshape(acc._counts.shape)
    assert counts.sum((0, 2)).tolist() == [20, 20, 20]  # the NaN counted in its own column's last bucket
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN"):
        assert torch.isnan(acc.compute())


def test_staged_batches_of_every_kind_count_as_one_epoch(monkeypatch):
    """Batches are copied into one reused block (64 scores here) and counted when it fills: sizes that cross it,
    a batch larger than a block, (N,) next to (N, 1), float16 next to float32, bool and float targets, a reused
    output buffer, inference tensors: each batch counts once, as given, as sklearn scores the rounded epoch."""
    from auroc_callbacks import accumulator

    monkeypatch.setattr(accumulator, "_COUNT_ENTRIES", 64)
    g = torch.Generator().manual_seed(3)
    acc = ac.AUROCAccumulator(mode="histogram")
    out = torch.empty(300)  # an output buffer the caller reuses
    scores, labels = [], []
    plan = [(1, "plain"), (5, "plain"), (63, "plain"), (64, "column"), (200, "plain"), (7, "half"), (40, "bool")]
    plan += [(9, "float"), (30, "inference"), (70, "inference"), (12, "plain")]
    for n, kind in plan:
        y = torch.randint(0, 2, (n,), generator=g)
        x = out[:n].copy_(torch.rand(n, generator=g) * 0.5 + 0.4 * y)
        preds, target = x, y
        if kind == "column":
            preds = x.unsqueeze(1)
        elif kind == "half":
            preds = x.half()
        elif kind == "bool":
            target = y.bool()
        elif kind == "float":
            target = y.float()
        if kind == "inference":
            with torch.inference_mode():
                acc.update(preds.clone(), target.clone())
        else:
            acc.update(preds, target)
        scores.append(preds.reshape(-1).half().double())
        labels.append(y)
        out.fill_(0.99)  # reused: what was staged must not change
        assert acc.num_samples == sum(len(s) for s in scores)
    want = roc_auc_score(torch.cat(labels).numpy(), torch.cat(scores).numpy())
    assert acc.compute().item() == pytest.approx(want, abs=1e-15)
    assert acc._counts.rows == sum(len(s) for s in scores)  # compute counted every staged row, once
    acc.reset()  # the block is kept; the rows staged before the reset are forgotten
    acc.update(torch.tensor([0.2, 0.7, 0.7]), torch.tensor([0, 1, 0]))
    acc.reset()
    acc.update(torch.tensor([0.2, 0.7]), torch.tensor([0, 1]))
    assert acc.num_samples == 2 and acc.compute().item() == 1.0


def test_counted_under_inference_mode_then_computed_outside_it(monkeypatch):
    """Blocks counted inside ``torch.inference_mode`` (the counts allocated there) take later counts outside it;
    a count that fails keeps its rows staged."""
    from auroc_callbacks import accumulator

    monkeypatch.setattr(accumulator, "_COUNT_ENTRIES", 64)
    g = torch.Generator().manual_seed(6)
    preds, target = torch.rand(6400, generator=g), torch.randint(0, 2, (6400,), generator=g)
    acc = ac.AUROCAccumulator(mode="histogram")
    with torch.inference_mode():
        for i in range(0, 6016, 32):
            acc.update(preds[i : i + 32], target[i : i + 32])
    for i in range(6016, 6400, 32):
        acc.update(preds[i : i + 32], target[i : i + 32])
    assert acc.num_samples == 6400
    want = roc_auc_score(target.numpy(), preds.half().double().numpy())
    assert acc.compute().item() == pytest.approx(want, abs=1e-15)

    acc = ac.AUROCAccumulator(mode="histogram")
    acc.update(preds[:10], target[:10])

    def broken(*_):
        raise RuntimeError("the device went away")

    monkeypatch.setattr(acc._counts, "update", broken)
    with pytest.raises(RuntimeError, match="went away"):
        acc.compute()
    assert acc.num_samples == 10  # still staged, not dropped
    monkeypatch.undo()
    assert acc.compute().item() == roc_auc_score(target[:10].numpy(), preds[:10].half().double().numpy())


def test_a_small_first_batch_in_0_1_joins_the_logits_after_it_as_the_exact_mode_reads_them():
    """activation='auto' is decided per counted block: the block is 2**18 scores whatever the first batch's size,
    so 8 rows in [0, 1] before 2,000 rows of logits are softmaxed with them (as the exact mode does)."""
    g = torch.Generator().manual_seed(0)
    batches = [(torch.rand(8, 3, generator=g), torch.arange(8) % 3)]
    batches.append((torch.randn(2000, 3, generator=g) * 3, torch.arange(2000) % 3))
    hist, exact = ac.AUROCAccumulator(mode="histogram", num_classes=3), ac.AUROCAccumulator(num_classes=3)
    for x, y in batches:
        hist.update(x, y)
        exact.update(x, y)
    logits, target = torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])
    probs = torch.softmax(logits, 1).half().double().numpy()
    want = np.mean([roc_auc_score(target.numpy() == k, probs[:, k]) for k in range(3)])
    assert hist.compute().item() == pytest.approx(want, abs=1e-15)
    assert abs(hist.compute().item() - exact.compute().item()) <= hist.compute_bound().bound.item()


def test_the_staging_block_takes_each_epochs_own_dtype_and_promotes_mixed_batches(monkeypatch):
    """Batches staged together are promoted as joining them would; an empty block takes the next batch's dtype,
    so an epoch of int scores after a float epoch is still read as hard labels."""
    from auroc_callbacks import accumulator

    monkeypatch.setattr(accumulator, "_COUNT_ENTRIES", 1 << 10)
    acc = ac.AUROCAccumulator(mode="histogram")
    acc.update(torch.tensor([0.25, 0.5], dtype=torch.float16), torch.tensor([0, 1]))
    acc.update(torch.tensor([0.75, 0.125]), torch.tensor([True, False]))  # float32 scores, bool labels: widened
    assert (acc._staging.preds.dtype, acc._staging.target.dtype) == (torch.float32, torch.int64)
    assert acc.compute().item() == roc_auc_score([0, 1, 1, 0], [0.25, 0.5, 0.75, 0.125])
    acc.reset()
    acc.update(torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0]))  # int scores: the block is int again
    assert acc._staging.preds.dtype == torch.int64
    with pytest.warns(InterpretationWarning, match="hard"):
        assert acc.compute().item() == roc_auc_score([0, 1, 0, 0], [0, 1, 1, 0])


def test_staged_multiclass_logits_count_as_sklearn_scores_their_rounded_softmax(monkeypatch):
    from auroc_callbacks import accumulator

    monkeypatch.setattr(accumulator, "_COUNT_ENTRIES", 3 * 50)  # a block of 50 rows
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(333, 3, generator=g) * 2
    target = torch.randint(0, 3, (333,), generator=g)
    acc = _hist(logits, target, sizes=[1, 49, 60, 33, 150, 17, 23], num_classes=3, average=None)
    probs = torch.softmax(logits, 1).half().double().numpy()
    want = roc_auc_score(np.eye(3)[target.numpy()], probs, average=None)
    np.testing.assert_allclose(acc.compute().numpy(), want, rtol=0, atol=1e-15)


def test_given_int32_counts_widen_to_int64_before_a_bucket_could_overflow():
    """Counts a caller owns (a version-1 state, the torchmetrics states) widen as int32 must; int16 never need to."""
    acc = ac.AUROCAccumulator(mode="histogram")
    preds, target = torch.tensor([0.25, 0.75, 0.75]), torch.tensor([0, 1, 0])
    acc.update(preds, target)
    acc._count_pending()
    assert acc._counts.counts.dtype == torch.int16
    acc._counts.rows = 2**31 - 3  # as if that many rows had been counted
    acc.update(preds, target)
    acc._count_pending()
    assert acc._counts.counts.dtype == torch.int16  # narrow counts spill, whatever the rows
    counts = acc._counts
    counts.allocate(
        counts.layout, torch.device("cpu"), counts=counts.wide().int(), ints=counts.ints, extremes=counts.extremes
    )
    counts.rows = 2**31 - 3
    acc.update(preds, target)
    acc._count_pending()
    assert acc._counts.counts.dtype == torch.int64
    assert acc.compute().item() == roc_auc_score([0, 1, 0] * 3, [0.25, 0.75, 0.75] * 3)


def _spill_cases(n):
    """Inputs whose counts pass 2**16 (and 2**15 many times): few distinct scores over many rows."""
    g = torch.Generator().manual_seed(5)
    few = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.1, 0.9, -0.0, 0.0])  # half the rows at 0.5
    one_hot = torch.nn.functional.one_hot(torch.randint(0, 3, (n // 3,), generator=g), 3)
    logits = torch.randint(0, 2, (n // 3, 3), generator=g).float()
    guess = 2.0 * torch.nn.functional.one_hot(torch.randint(0, 3, (n // 3,), generator=g), 3)  # 2 values a column
    return {
        "binary": (few[torch.randint(0, 8, (n,), generator=g)], torch.randint(0, 2, (n,), generator=g), {}),
        "multiclass": (torch.softmax(guess, 1), one_hot.argmax(1), {"average": None}),
        "ovo": (torch.softmax(guess, 1), one_hot.argmax(1), {"multi_class": "ovo", "average": None}),
        "multilabel": (logits * 3 - 1, torch.randint(0, 2, (n // 3, 3), generator=g), {"task": "multilabel"}),
        "one-hot multilabel": (guess, one_hot, {"average": None}),  # counted twice (dual)
    }


def _wide_reference(preds, target, **options):
    """The same epoch counted into int64 counts from the start (no spills): what the narrow counts must equal."""
    acc = ac.AUROCAccumulator(mode="histogram", **options)
    acc.update(preds[:1], target[:1])
    acc._count_pending()
    c = acc._counts
    c.allocate(c.layout, torch.device("cpu"), counts=c.wide(), ints=c.ints, extremes=c.extremes)
    acc.update(preds[1:], target[1:])
    return acc


@pytest.mark.parametrize("static", [False, True], ids=["cpu-sizes", "static-sizes"])
@pytest.mark.parametrize("case", ["binary", "multiclass", "ovo", "multilabel", "one-hot multilabel"])
def test_int16_counts_spill_past_2_15_and_stay_exact(case, static, monkeypatch):
    """Buckets of over 100,000 samples in int16 counts: spills move 2**15 at a time into the sparse counts."""
    import auroc_callbacks._histogram_counts as hc

    monkeypatch.setattr(hc, "_static_sizes", lambda device: static)  # the accelerators' sizes, on the CPU
    preds, target, options = _spill_cases(330_000 if case == "binary" else 900_000)[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InterpretationWarning)
        acc = _hist(preds, target, 7_777, **options)
        got, want = acc.epoch(), _wide_reference(preds, target, **options).epoch()
    assert acc._counts.counts.dtype == torch.int16 and acc._counts.narrow_counts.index.numel() > 0
    assert int(got.counts.max()) > 65_535  # past what int16 (and uint16) could hold
    assert torch.equal(got.counts, want.counts) and torch.equal(got.values, want.values)
    rounded = preds.to(torch.float16).double().numpy()
    if case == "binary":  # and against counts made here: rounded values by label
        for label in (0, 1):
            values, counts = np.unique(np.abs(rounded[target.numpy() == label]), return_counts=True)
            assert got.values.tolist() == values.tolist() and got.counts[label, 0].tolist() == counts.tolist()
        assert acc.compute().item() == pytest.approx(roc_auc_score(target.numpy(), rounded), abs=1e-12)
    elif case in ("multiclass", "multilabel"):
        y = np.eye(3)[target.numpy()] if case == "multiclass" else target.numpy()
        np.testing.assert_allclose(
            acc.compute().numpy(),
            roc_auc_score(y, rounded, average=None if case == "multiclass" else "macro"),
            rtol=0,
            atol=1e-12,
        )


def test_spills_make_no_host_sync_with_static_sizes(monkeypatch):
    from test_accumulator import _NoSync

    import auroc_callbacks._histogram_counts as hc

    monkeypatch.setattr(hc, "_static_sizes", lambda device: True)
    preds, target, _ = _spill_cases(200_000)["binary"]
    acc = ac.AUROCAccumulator(mode="histogram")
    acc.update(preds[:4096], target[:4096])
    with _NoSync(monkeypatch):
        for i in range(4096, 200_000, 4096):
            acc.update(preds[i : i + 4096], target[i : i + 4096])
        acc._count_pending()
    assert acc._counts.narrow_counts.index.numel() > 0  # it spilled under _NoSync
    want = roc_auc_score(target.numpy(), preds.to(torch.float16).double().numpy())
    assert acc.compute().item() == pytest.approx(want, abs=1e-12)


def test_counts_widen_to_int64_once_the_sparse_counts_would_outweigh_them(monkeypatch):
    import auroc_callbacks._histogram_counts as hc

    monkeypatch.setattr(hc, "_SPARSE_SHARE", 2**40)  # any spilled bucket is too many
    preds, target, _ = _spill_cases(200_000)["binary"]
    acc = _hist(preds, target, 10_000)
    acc._count_pending()
    assert acc._counts.counts.dtype == torch.int64 and acc._counts.narrow_counts is None
    want = roc_auc_score(target.numpy(), preds.to(torch.float16).double().numpy())
    assert acc.compute().item() == pytest.approx(want, abs=1e-12)
    assert acc.state_bytes == (2 * 65536 + 1) * 8


def test_a_state_with_spilled_counts_resumes_exactly_and_a_version_1_state_still_loads(tmp_path):
    preds, target, _ = _spill_cases(300_000)["binary"]
    half = _hist(preds[:150_000], target[:150_000], 10_000)
    state = half.state_dict()
    assert state["counts"].dtype == torch.int16 and state["spill"][0].numel() > 0
    torch.save(state, tmp_path / "hist.pt")
    resumed = ac.AUROCAccumulator(mode="histogram")
    resumed.load_state_dict(torch.load(tmp_path / "hist.pt", weights_only=True))
    _feed(resumed, preds[150_000:], target[150_000:], 10_000, None)
    whole = _hist(preds, target, 10_000)
    assert torch.equal(resumed.epoch().counts, whole.epoch().counts)
    # version 1 saved int32 counts and no spilled ones: they load as given, and count on
    old = dict(state, version=1, counts=half._counts.wide().int())
    del old["spill"]
    v1 = ac.AUROCAccumulator(mode="histogram")
    v1.load_state_dict(old)
    assert v1._counts.counts.dtype == torch.int32
    _feed(v1, preds[150_000:], target[150_000:], 10_000, None)
    assert torch.equal(v1.epoch().counts, whole.epoch().counts)
    for bad, match in [
        (dict(state, spill=None), "without their spilled counts"),
        (dict(state, spill=[state["spill"][0], state["spill"][1][:-1], 0]), "another shape"),
        (dict(state, spill=[state["spill"][0] + 10**9, state["spill"][1], 0]), "outside its counts"),
        (dict(state, spill=[state["spill"][0].double(), state["spill"][1], 0]), "another shape or type"),
        (dict(state, spill=[*state["spill"][:2], "3"]), "rows since the last spill"),
        (dict(state, spill=[*state["spill"][:2], 2**15 + 1]), "rows since the last spill"),
        # a count of 2**15 or more with no row counted since the last spill: no spill leaves that
        (dict(state, counts=state["counts"].clone().fill_(-1), spill=[*state["spill"][:2], 0]), "larger than"),
    ]:
        with pytest.raises(ValueError, match=match):
            ac.AUROCAccumulator(mode="histogram").load_state_dict(bad)


def test_update_makes_no_host_sync_even_with_bad_labels_and_nan(monkeypatch):
    """Counting too, as off the CPU (static sizes): the softmax decision, the rows-sum-to-1 test, the keys."""
    from test_accumulator import _NoSync

    import auroc_callbacks._histogram_counts as hc

    for options, target in [
        ({}, torch.full((64,), 7)),
        ({"activation": "auto", "ignore_index": -1}, torch.arange(64) % 3 - 1),
        ({"num_classes": 3}, torch.arange(64) % 3),  # probabilities first, logits after: both blocks decided
        ({"activation": "auto"}, torch.nn.functional.one_hot(torch.arange(64) % 3, 3)),  # dual counts
    ]:
        acc = ac.AUROCAccumulator(mode="histogram", **options)
        preds = torch.randn(64, 3)
        preds[5, 1] = math.nan
        monkeypatch.setattr(hc, "_static_sizes", lambda device: True)  # (each _NoSync undoes every patch)
        with _NoSync(monkeypatch):
            if "num_classes" in options:
                acc.update(torch.softmax(preds, 1), target)
                acc._count_pending()
            for _ in range(3):
                acc.update(preds, target)
            acc._count_pending()
        assert acc._counts.rows == 64 * (4 if "num_classes" in options else 3)  # counted under _NoSync
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InterpretationWarning)
            with pytest.raises(ValueError, match="label 7|NaN|disagree"):
                acc.compute()


def test_bad_labels_and_scores_get_the_exact_modes_messages():
    cases = [
        (torch.randn(30, 3), torch.arange(30) % 4, {}),  # label out of range
        (torch.randn(30, 3), torch.arange(30) % 3 - 1, {}),  # negative label
        (torch.randn(30, 3), (torch.arange(30) % 3).float() + 0.5, {}),  # fractional
        (torch.randn(30), torch.arange(30) % 3, {}),  # binary label 2
        (torch.randn(30, 3), torch.full((30,), -100), {"ignore_index": -100}),  # everything ignored
        (torch.tensor([0.1, math.nan, 0.3]), torch.tensor([0, 1, 1]), {}),  # NaN score
        (torch.tensor([[0.1, math.inf], [0.0, 1.0]]), torch.tensor([0, 1]), {}),  # inf logit under softmax
    ]
    for preds, target, options in cases:
        with pytest.raises(ValueError) as exact:
            ac.auroc(preds, target, **options)
        acc = _hist(preds, target, 7, **options)
        with pytest.raises(ValueError) as hist:
            acc.compute()
        assert str(hist.value) == str(exact.value)


def test_nan_scores_with_warn_strategy_give_nan_and_the_true_supports():
    preds, target = torch.randn(30, 3), torch.arange(30) % 3
    preds[4, 1] = math.nan
    acc = _hist(preds, target, 8, nan_strategy="warn")
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN") as rec:
        got = acc.compute_bound()
    assert len(rec) == 1
    assert torch.isnan(got.value) and torch.isnan(got.bound) and torch.isnan(got.per_class).all()
    assert got.support.tolist() == [10, 10, 10] and got.num_samples == 30
    with pytest.raises(ValueError, match="NaN"):
        acc.compute_curves()


def test_undefined_classes_give_nan_and_the_exact_modes_one_warning():
    preds, target = _data("multiclass", 60, 9, n_cls=4)
    target[target == 3] = 0
    with pytest.warns(ac.UndefinedAUROCWarning) as exact:  # the message only: the values are sklearn's
        ac.auroc_scores(preds, target)
    with pytest.warns(ac.UndefinedAUROCWarning) as hist:
        got = _hist(preds, target, 16).compute_scores()
    assert [str(w.message) for w in hist] == [str(w.message) for w in exact] and len(hist) == 1
    rounded = torch.softmax(preds, 1).half().double().numpy()
    want = [roc_auc_score(target.numpy() == k, rounded[:, k]) for k in range(3)]
    np.testing.assert_allclose(got.per_class[:3].numpy(), want, rtol=0, atol=1e-12)
    assert got.value.item() == pytest.approx(np.mean(want), abs=1e-12)
    assert torch.isnan(got.per_class[3]) and got.support.tolist() == torch.bincount(target, minlength=4).tolist()
    assert got.support[3] == 0 and got.num_samples == 60
    with pytest.warns(ac.UndefinedAUROCWarning, match="only one class"):
        assert torch.isnan(_hist(torch.randn(10), torch.zeros(10)).compute())


def _count_now(acc):
    """Count the batches the accumulator kept (it counts a few together): as if many more rows had come."""
    acc._count_pending()
    return acc


def test_auto_activation_is_decided_per_counted_block_and_a_disagreeing_block_is_an_error():
    probs = torch.softmax(torch.randn(100, 3), 1)
    target = torch.arange(100) % 3
    acc = _hist(probs, target, 10)  # every batch is a distribution: ranked as given, like the exact mode
    rounded = probs.half().double().numpy()
    assert acc.compute().item() == pytest.approx(_sklearn(rounded, target.numpy(), "multiclass", "macro"), abs=1e-12)
    mixed = torch.cat([probs[:50], torch.randn(50, 3) * 3])
    softmaxed = _sklearn(torch.softmax(mixed, 1).half().double().numpy(), target.numpy(), "multiclass", "macro")
    # counted together (the batches kept until 2**18 scores): softmaxed as a whole, as the exact mode does
    assert _hist(mixed, target, 10).compute().item() == pytest.approx(softmaxed, abs=1e-12)
    split = ac.AUROCAccumulator(mode="histogram")
    _count_now(_feed(split, probs[:50], target[:50], 10))  # counted before the first logits came: as given
    _feed(split, mixed[50:], target[50:], 10)
    with pytest.raises(ValueError, match="activation='auto'.*50 rows.*50 in batches"):
        split.compute()
    lenient = ac.AUROCAccumulator(mode="histogram", nan_strategy="warn")
    _count_now(_feed(lenient, probs[:50], target[:50], 10))
    _feed(lenient, mixed[50:], target[50:], 10)
    with pytest.warns(ac.UndefinedAUROCWarning, match="activation='softmax'"):
        assert torch.isnan(lenient.compute())
    explicit = _hist(mixed, target, 10, activation="softmax").compute()  # the way out
    assert explicit.item() == pytest.approx(softmaxed, abs=1e-12)


def test_a_block_in_0_1_before_the_first_logits_disagrees_and_one_after_them_is_softmaxed_like_the_exact_mode():
    """The exact mode softmaxes the whole epoch once any value is outside [0, 1]. The counts decide each counted
    block on the values seen so far: a small block of logits that all happen to lie in [0, 1] is softmaxed after
    logits (as in the exact mode), and makes the epoch disagree before them (it was ranked as given)."""
    g = torch.Generator().manual_seed(3)
    logits, target = torch.randn(41, 3, generator=g) * 3, torch.arange(41) % 3
    inside = torch.tensor([[0.3, 0.8, 0.1]])  # one row of logits, every value in [0, 1]
    epoch = torch.cat([logits[:40], inside])
    want = _sklearn(torch.softmax(epoch, 1).half().double().numpy(), target.numpy(), "multiclass", "macro")
    after = ac.AUROCAccumulator(mode="histogram")
    _count_now(_feed(after, logits[:40], target[:40]))
    after.update(inside, target[40:])
    assert after.compute().item() == pytest.approx(want, abs=1e-12)
    before = ac.AUROCAccumulator(mode="histogram")
    _count_now(_feed(before, inside, target[40:]))
    before.update(logits[:40], target[:40])
    with pytest.raises(ValueError, match="activation='auto'.*1 rows came in batches ranked as given.*40 in batches"):
        before.compute()
    together = ac.AUROCAccumulator(mode="histogram")  # one block: the exact mode's decision for the whole epoch
    together.update(inside, target[40:])
    together.update(logits[:40], target[:40])
    want = _sklearn(
        torch.softmax(torch.cat([inside, logits[:40]]), 1).half().double().numpy(),
        torch.cat([target[40:], target[:40]]).numpy(),
        "multiclass",
        "macro",
    )
    assert together.compute().item() == pytest.approx(want, abs=1e-12)


def test_bfloat16_probability_batches_next_to_float32_ones_agree_with_the_exact_mode():
    """Each batch's rows are judged by the precision of their values, as the exact mode judges the epoch's."""
    g = torch.Generator().manual_seed(8)
    probs = torch.softmax(3 * torch.randn(600, 10, generator=g), 1)
    target = torch.randint(0, 10, (600,), generator=g)
    acc = ac.AUROCAccumulator(num_classes=10, mode="histogram")
    acc.update(probs[:300].bfloat16(), target[:300])
    acc.update(probs[300:], target[300:])
    epoch = torch.cat([probs[:300].bfloat16().float(), probs[300:]])
    want = _sklearn(epoch.half().double().numpy(), target.numpy(), "multiclass", "macro")
    assert acc.compute().item() == pytest.approx(want, abs=1e-12)


def test_the_epoch_is_cached_until_the_next_update_and_reset_forgets():
    preds, target = _data("binary", 100, 10)
    acc = _hist(preds, target)
    epoch = acc.epoch()
    assert isinstance(epoch, Epoch) and acc.epoch() is epoch
    assert (
        acc.compute_bound().value.item()
        == acc.compute().item()
        == pytest.approx(roc_auc_score(target, preds.half().double()), abs=1e-12)
    )
    assert acc.epoch() is epoch  # the computes read the cached epoch
    acc.update(torch.empty(0), torch.empty(0, dtype=torch.long))  # an empty batch changes nothing
    assert acc.epoch() is epoch
    acc.update(preds, target)
    assert acc.epoch() is not epoch and acc.num_samples == 200 and int(acc.epoch().counts.sum()) == 200
    acc.reset()
    assert acc.num_samples == 0 and acc.layout is None
    with pytest.raises(ValueError, match=r"has no samples: nothing was passed to update\(\), or only empty batches"):
        acc.compute()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mode": "fast"}, ValueError, "`mode` must be one of 'exact', 'histogram'; got 'fast'"),
        ({"mode": "histogram", "histogram_dtype": torch.float32}, ValueError, "`histogram_dtype`.*got torch.float32"),
        ({"mode": "histogram", "histogram_dtype": "float16"}, TypeError, "`histogram_dtype`.*got str 'float16'"),
        ({"histogram_dtype": torch.float16}, ValueError, "`histogram_dtype` is for mode='histogram'"),
        ({"mode": "histogram", "ci": True}, ValueError, "`ci=True` needs mode='exact'"),
        ({"mode": "histogram", "buffer_device": "cpu"}, ValueError, "`buffer_device` is for mode='exact'"),
    ],
)
def test_bad_arguments_raise_errors_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        ac.AUROCAccumulator(**kwargs)


def test_what_needs_the_predictions_fails_clearly_in_histogram_mode():
    acc = _hist(torch.randn(20), torch.arange(20) % 2)
    for call in (acc.gather, lambda: acc.truncate(5), acc.compute_interval):
        with pytest.raises(ValueError, match="mode='exact'"):
            call()
    with pytest.raises(ValueError, match="compute_bound\\(\\) is for mode='histogram'"):
        ac.AUROCAccumulator().compute_bound()
    assert repr(acc).startswith("HistogramAccumulator(") and "histogram_dtype=torch.float16, num_samples=20" in repr(
        acc
    )
    assert isinstance(acc.compute_bound(), AUROCBound)
    pytest.importorskip("matplotlib")
    from auroc_callbacks.plotting import plot_roc

    with pytest.raises(ValueError, match="compute_curves\\(\\)"):
        plot_roc(accumulator=acc)


# ----------------------------------------------------------------------------- distributed: real gloo processes


def _sklearn_of_case(preds, target, options):
    """scikit-learn's value of one case of the gloo worker, on the rounded scores."""
    task = "binary" if preds.ndim == 1 else "multiclass"
    dtype = options.get("histogram_dtype", torch.float16)
    rounded = torch.tensor(_ranked(preds, target, task)).to(dtype).double().numpy()
    if options.get("multi_class") == "ovo":
        return _sklearn_ovo(rounded, target.numpy(), options.get("average", "macro"))
    return _sklearn(rounded, target.numpy(), task, options.get("average", "macro"), options.get("max_fpr"))


@pytest.mark.slow
def test_gloo_ranks_sum_their_counts_into_the_single_process_value_and_bound(tmp_path):
    """3 processes: over the world with an empty rank 0, then over a group of 2 ranks with uneven shards."""
    import json

    from _histogram_ddp_worker import LAYOUTS, cases, feed, run

    mp.spawn(run, args=(str(tmp_path),), nprocs=3, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(3)]
    for name, preds, target, options in cases():
        want = feed(ac.AUROCAccumulator(mode="histogram", **options), preds, target, 0, len(target)).compute_bound()
        np.testing.assert_allclose(want.value.numpy(), _sklearn_of_case(preds, target, options), rtol=0, atol=1e-12)
        for layout, bounds in LAYOUTS.items():
            for rank, shard in enumerate(bounds):
                if shard is None:
                    continue
                got = ranks[rank][f"{layout}/{name}"]
                assert got["value"] == want.value.tolist(), (layout, name, rank)
                assert got["bound"] == want.bound.tolist(), (layout, name, rank)
                assert got["support"] == want.support.tolist() and got["num_samples"] == len(target)
                assert got["local"] == shard[1] - shard[0]


# ----------------------------------------------------------------------------- GPU (skipped without one)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("options", [{}, {"ignore_index": -1, "average": "micro"}, {"multi_class": "ovo"}])
def test_gpu_update_never_syncs_and_gives_the_cpu_value_and_bound(options):
    preds, target = _data("multiclass", 4096, 30, n_cls=10)
    if "ignore_index" in options:
        target[::7] = -1
    acc = ac.AUROCAccumulator(mode="histogram", **options)
    p, t = preds.cuda(), target.cuda()
    acc.update(p[:256], t[:256])  # allocates the counts
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for i in range(256, 4096, 256):
            acc.update(p[i : i + 256], t[i : i + 256])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    got, want = acc.compute_bound(), _hist(preds, target, 256, **options).compute_bound()
    assert got.value.device.type == "cuda"
    np.testing.assert_allclose(got.value.cpu().numpy(), want.value.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.bound.cpu().numpy(), want.bound.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_one_vs_one_over_two_classes_is_counted_by_class_not_as_one_vs_rest(average):
    """Review find: 2-class one-vs-one has two count groups, like one-vs-rest, and was read as one-vs-rest."""
    g = torch.Generator().manual_seed(2)
    logits, y = torch.randn(300, 2, generator=g), torch.randint(0, 2, (300,), generator=g)
    acc = ac.AUROCAccumulator(mode="histogram", multi_class="ovo", average=average)
    for i in range(0, 300, 64):
        acc.update(logits[i : i + 64], y[i : i + 64])
    b = acc.compute_bound()
    rounded = torch.softmax(logits, 1).to(torch.float16).double().numpy()
    # Hand & Till over one pair: the mean of A(0|1) and A(1|0), each by its own column, on the rounded scores
    want = 0.5 * (roc_auc_score(y.numpy() == 0, rounded[:, 0]) + roc_auc_score(y.numpy() == 1, rounded[:, 1]))
    value = b.value if b.value.ndim == 0 else b.value[0, 1]
    assert value.item() == pytest.approx(want, abs=1e-12)
    probs = torch.softmax(logits, 1).double().numpy()  # the full-precision value, from sklearn too
    full = 0.5 * (roc_auc_score(y.numpy() == 0, probs[:, 0]) + roc_auc_score(y.numpy() == 1, probs[:, 1]))
    bound = b.bound if b.bound.ndim == 0 else b.bound[0, 1]
    assert abs(full - value.item()) <= bound.item() + 1e-12


def test_bucket_functions_refuse_other_dtypes_naming_the_argument():
    with pytest.raises(ValueError, match="`dtype` must be torch.float16 or torch.bfloat16; got torch.float32"):
        bucket_keys(torch.tensor([0.5]), torch.float32)
    with pytest.raises(TypeError, match="`dtype` must be torch.float16 or torch.bfloat16; got str"):
        bucket_values("float16")
