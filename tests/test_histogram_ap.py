"""Histogram-mode average precision (:func:`auroc_callbacks.histogram.average_precision_from_epoch`): exact for the
scores rounded to 16 bits, its certified interval holds the full-precision AP, and both ends are attained.

References, never this library's code: scikit-learn's ``average_precision_score`` on the scores rounded with
torch's own ``.to(float16)`` (the value) or unrounded (the full-precision AP the interval certifies), a brute-force
walk over every threshold, and ``math.fsum`` for the harmonic differences.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

import auroc_callbacks as ac
from auroc_callbacks.histogram import APBound, average_precision_from_epoch, harmonic_difference, nan_ap_bound

TOL = 1e-12


def _hist(preds, target, batch=None, **options):
    acc = ac.AUROCAccumulator(mode="histogram", **options)
    step = batch or len(target)
    for i in range(0, len(target), step):
        acc.update(preds[i : i + step], target[i : i + step])
    return acc


def _ap(acc, per_class=True) -> APBound:
    return average_precision_from_epoch(acc.epoch(), acc.options, per_class=per_class)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        return fn(*args, **kwargs)


def _sk_binary(y, s):
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    return math.nan if not (y == 1).any() else float(average_precision_score(y, s))


def _sk(y, s, average, valid=None):
    """scikit-learn per column of 0/1 ``y`` (N, C) on ``s`` (N, C), averaged as the library defines it."""
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    valid = np.ones(y.shape, bool) if valid is None else np.asarray(valid)
    if average == "micro":
        return _sk_binary(y[valid], s[valid])
    per = np.array([_sk_binary(y[valid[:, c], c], s[valid[:, c], c]) for c in range(y.shape[1])])
    if average is None:
        return per
    ok = ~np.isnan(per)
    weights = np.ones(len(per)) if average == "macro" else (y * valid).sum(0)
    return float((per[ok] * weights[ok]).sum() / weights[ok].sum()) if ok.any() else math.nan


def _brute_ap(y, s):
    """Walk every distinct threshold from the top: sum over thresholds of (new positives / P) * precision."""
    y, s = list(map(int, y)), list(map(float, s))
    total_pos, ap = sum(y), 0.0
    for t in sorted(set(s), reverse=True):
        tp = sum(1 for yi, si in zip(y, s) if si >= t and yi == 1)
        fp = sum(1 for yi, si in zip(y, s) if si >= t and yi == 0)
        new = sum(1 for yi, si in zip(y, s) if si == t and yi == 1)
        ap += new / total_pos * tp / (tp + fp)
    return ap


def _assert_close(got, want, tol=TOL):
    got = np.asarray(torch.as_tensor(got).cpu().double())
    np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=0, atol=tol, equal_nan=True)


def _contains(b: APBound, full, tol=TOL):
    lo, up = np.asarray(b.lower), np.asarray(b.upper)
    full = np.asarray(full, dtype=np.float64)
    ok = np.isnan(full) & np.isnan(lo) | (lo - tol <= full) & (full <= up + tol)
    assert ok.all(), (lo, full, up)


def _ordered(b: APBound):
    for lo, v, up in ((b.lower, b.value, b.upper), (b.per_class_lower, b.per_class, b.per_class_upper)):
        defined = ~torch.isnan(v)
        assert bool((lo[defined] <= v[defined]).all() & (v[defined] <= up[defined]).all())
        assert bool(torch.isnan(lo[~defined]).all() & torch.isnan(up[~defined]).all())


def _bucket_data(n_buckets, per_bucket, seed, dtype=torch.float64):
    """Scores crowded into few float16 buckets (values k/16) with full-precision ties inside them, labels random."""
    g = torch.Generator().manual_seed(seed)
    bucket = torch.randint(1, n_buckets + 1, (n_buckets * per_bucket,), generator=g).double() / 16
    wiggle = torch.randint(-5, 6, bucket.shape, generator=g).double() * 1e-6  # within half a float16 ulp
    target = torch.randint(0, 2, bucket.shape, generator=g)
    return (bucket + wiggle).to(dtype), target


# ----------------------------------------------------------------------------- the harmonic difference


@pytest.mark.parametrize("a", [0, 1, 17, 62, 63, 64, 65, 1000, 10**6, 999_999_937, 3 * 10**9, 10**12])
@pytest.mark.parametrize("p", [1, 2, 7, 63, 64, 500, 30_000])
def test_harmonic_difference_has_relative_accuracy_against_fsum(a, p):
    want = math.fsum(1.0 / (a + i) for i in range(1, p + 1))
    got = float(harmonic_difference(a, p))
    assert abs(got - want) <= 1e-14 * want


def test_harmonic_difference_is_vectorised_and_zero_without_terms():
    a = torch.tensor([[0, 5, 10**9], [70, 3, 0]])
    p = torch.tensor([[0, 100, 3], [1, 0, 64]])
    got = harmonic_difference(a, p)
    want = [
        [math.fsum(1.0 / (int(x) + i) for i in range(1, int(n) + 1)) for x, n in zip(ra, rp)]
        for ra, rp in zip(a.tolist(), p.tolist())
    ]
    assert got.shape == (2, 3) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-14, atol=0)


# ----------------------------------------------------------------------------- exact for the rounded scores


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_binary_value_equals_sklearn_on_rounded_scores(dtype):
    preds, target = _bucket_data(6, 40, seed=1)
    preds = torch.cat([preds, torch.rand(300, generator=torch.Generator().manual_seed(2)).double()])
    target = torch.cat([target, torch.randint(0, 2, (300,), generator=torch.Generator().manual_seed(3))])
    b = _ap(_hist(preds, target, batch=97, histogram_dtype=dtype))
    rounded = preds.to(dtype).double()
    _assert_close(b.value, _sk_binary(target, rounded))
    _assert_close(b.value, _brute_ap(target, rounded))
    _contains(b, _sk_binary(target, preds))
    _ordered(b)
    assert b.value.shape == () and b.per_class.shape == (1,) and b.dtype == dtype
    assert b.support.tolist() == [int(target.sum())] and b.support.dtype == torch.int64
    assert b.num_samples == len(target)


@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_multiclass_softmax_probabilities_are_one_vs_rest(average):
    g = torch.Generator().manual_seed(5)
    n, n_cls = 2000, 5
    target = torch.randint(0, n_cls, (n,), generator=g)
    logits = torch.randn(n, n_cls, generator=g) + 1.5 * torch.nn.functional.one_hot(target, n_cls)
    probs = torch.softmax(logits, 1)
    b = _ap(_hist(probs, target, batch=300, average=average))
    onehot = np.eye(n_cls, dtype=np.int64)[target.numpy()]
    _assert_close(b.value, _sk(onehot, probs.to(torch.float16).double(), average))
    _assert_close(b.per_class, _sk(onehot, probs.to(torch.float16).double(), None))
    _contains(b, _sk(onehot, probs.double(), average))
    _ordered(b)
    assert b.value.shape == (() if average is not None else (n_cls,))
    if average == "macro":  # scikit-learn's own multiclass average agrees
        _assert_close(b.value, average_precision_score(target.numpy(), probs.to(torch.float16).double().numpy()))


def test_multiclass_logits_rank_their_softmax():
    g = torch.Generator().manual_seed(6)
    target = torch.randint(0, 3, (500,), generator=g)
    logits = 3 * torch.randn(500, 3, generator=g)
    b = _ap(_hist(logits, target, batch=128, average=None))
    onehot = np.eye(3, dtype=np.int64)[target.numpy()]
    _assert_close(b.value, _sk(onehot, torch.softmax(logits, 1).to(torch.float16).double(), None))


def test_one_vs_one_option_still_gives_one_vs_rest():
    g = torch.Generator().manual_seed(7)
    target = torch.randint(0, 4, (400,), generator=g)
    probs = torch.softmax(torch.randn(400, 4, generator=g), 1)
    for average in ("macro", "weighted", None):  # (micro is refused with multi_class="ovo")
        ovr = _ap(_hist(probs, target, average=average))
        ovo = _ap(_hist(probs, target, average=average, multi_class="ovo"))
        for field in ("value", "lower", "upper", "per_class", "per_class_lower", "per_class_upper"):
            torch.testing.assert_close(getattr(ovo, field), getattr(ovr, field), rtol=0, atol=1e-15)


def test_max_fpr_is_ignored():
    preds, target = _bucket_data(5, 30, seed=8)
    plain, partial = _ap(_hist(preds, target)), _ap(_hist(preds, target, max_fpr=0.2))
    assert plain == partial


@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_multilabel_with_ignore_index(average):
    g = torch.Generator().manual_seed(9)
    n, n_lab = 600, 4
    target = torch.randint(0, 2, (n, n_lab), generator=g)
    target[:, 3] = 1  # a label without negatives: AP 1
    target[torch.rand(n, n_lab, generator=g) < 0.2] = -1
    preds = (
        torch.randint(0, 12, (n, n_lab), generator=g).double() / 16
        + torch.randint(-3, 4, (n, n_lab), generator=g).double() * 1e-6
    )
    b = _ap(_hist(preds, target, batch=111, task="multilabel", num_classes=n_lab, ignore_index=-1, average=average))
    y, valid = target.clamp(min=0).numpy(), (target != -1).numpy()
    _assert_close(b.value, _sk(y, preds.to(torch.float16).double(), average, valid))
    _contains(b, _sk(y, preds, average, valid))
    _ordered(b)
    assert b.per_class[3] == 1 and b.per_class_lower[3] == 1 and b.per_class_upper[3] == 1
    assert b.support.tolist() == (target == 1).sum(0).tolist()
    assert b.num_samples == n


# ----------------------------------------------------------------------------- the interval holds the full AP


@settings(max_examples=60, deadline=None)
@given(
    n_buckets=st.integers(1, 6),
    per_bucket=st.integers(1, 60),
    spread=st.integers(0, 6),
    prevalence=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**31 - 1),
    dtype=st.sampled_from([torch.float16, torch.bfloat16]),
)
def test_full_precision_ap_always_lies_in_the_interval(n_buckets, per_bucket, spread, prevalence, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    n = n_buckets * per_bucket
    bucket = torch.randint(1, n_buckets + 1, (n,), generator=g).double() / 16
    preds = bucket + torch.randint(-spread, spread + 1, (n,), generator=g).double() * 1e-6  # heavy ties
    target = (torch.rand(n, generator=g) < prevalence).long()
    if not bool(target.any()):
        target[0] = 1
    b = _ap(_hist(preds, target, histogram_dtype=dtype))
    _assert_close(b.value, _sk_binary(target, preds.to(dtype).double()))
    _contains(b, _sk_binary(target, preds))
    _ordered(b)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), average=st.sampled_from(["macro", "weighted", "micro", None]))
def test_full_precision_multilabel_ap_lies_in_the_interval(seed, average):
    g = torch.Generator().manual_seed(seed)
    n, n_lab = 300, 3
    preds = (
        torch.randint(1, 5, (n, n_lab), generator=g).double() / 16
        + torch.randint(-4, 5, (n, n_lab), generator=g).double() * 1e-6
    )
    target = torch.randint(0, 2, (n, n_lab), generator=g)
    b = _quiet(_ap, _hist(preds, target, task="multilabel", num_classes=n_lab, average=average))
    _assert_close(b.value, _sk(target.numpy(), preds.to(torch.float16).double(), average))
    _contains(b, _sk(target.numpy(), preds, average))


# ----------------------------------------------------------------------------- the ends are attained


def _adversarial(counts, *, upper: bool):
    """Full-precision scores for ``counts`` = [(bucket value, positives, negatives)], each inside its float16 bucket.

    ``upper``: every bucket's positives tied, just above its negatives; else its negatives above, positives distinct.
    """
    preds, target = [], []
    for v, p, q in counts:
        if upper:
            preds += [v + 1e-6] * p + [v - 1e-6] * q
        else:
            preds += [v - 1e-6 * (i + 1) / (p + 1) for i in range(p)] + [v + 1e-6] * q
        target += [1] * p + [0] * q
    preds, target = torch.tensor(preds, dtype=torch.float64), torch.tensor(target)
    return preds, target


@pytest.mark.parametrize("seed", range(6))
def test_both_ends_are_attained_by_adversarial_data(seed):
    rng = np.random.default_rng(seed)
    values = sorted(rng.choice(np.arange(1, 16), size=rng.integers(1, 8), replace=False) / 16)
    counts = [(float(v), int(rng.integers(0, 40)), int(rng.integers(0, 40))) for v in values]
    if not any(p for _, p, _ in counts):
        counts[0] = (counts[0][0], 3, counts[0][2])
    hi_preds, hi_target = _adversarial(counts, upper=True)
    lo_preds, lo_target = _adversarial(counts, upper=False)
    for preds in (hi_preds, lo_preds):  # every score stays in its bucket: both give the same counts
        assert torch.equal(
            preds.to(torch.float16).double().unique(),
            torch.tensor(values, dtype=torch.float64)[[i for i, (_, p, q) in enumerate(counts) if p + q]],
        )
    hi, lo = _ap(_hist(hi_preds, hi_target)), _ap(_hist(lo_preds, lo_target))
    for field in APBound._fields:
        assert str(getattr(hi, field)) == str(getattr(lo, field)), field
    _assert_close(hi.upper, _sk_binary(hi_target, hi_preds))
    _assert_close(lo.lower, _sk_binary(lo_target, lo_preds))
    _assert_close(lo.lower, _brute_ap(lo_target, lo_preds))


def test_attained_ends_with_many_samples_in_a_bucket():
    counts = [(0.25, 2000, 30_000), (0.5, 1, 5000), (0.75, 700, 1)]
    hi_preds, hi_target = _adversarial(counts, upper=True)
    lo_preds, lo_target = _adversarial(counts, upper=False)
    hi, lo = _ap(_hist(hi_preds, hi_target)), _ap(_hist(lo_preds, lo_target))
    _assert_close(hi.upper, _sk_binary(hi_target, hi_preds))
    _assert_close(lo.lower, _sk_binary(lo_target, lo_preds))
    assert lo.lower < lo.value < lo.upper


def test_every_score_in_one_bucket():
    n_pos, n_neg = 40, 60
    hi_preds, target = _adversarial([(0.5, n_pos, n_neg)], upper=True)
    lo_preds, _ = _adversarial([(0.5, n_pos, n_neg)], upper=False)
    b = _ap(_hist(hi_preds, target))
    _assert_close(b.value, n_pos / (n_pos + n_neg))  # one threshold: the prevalence
    _assert_close(b.upper, 1.0)
    _assert_close(b.lower, math.fsum(i / (i + n_neg) for i in range(1, n_pos + 1)) / n_pos)
    _assert_close(b.lower, _sk_binary(target, lo_preds))


# ----------------------------------------------------------------------------- edge cases


def test_one_positive():
    preds = torch.tensor([0.1, 0.3, 0.5, 0.50001, 0.9])
    target = torch.tensor([0, 0, 1, 0, 0])
    b = _ap(_hist(preds, target))
    _assert_close(b.value, _sk_binary(target, preds.to(torch.float16).double()))  # 0.5 and 0.50001 tie
    _assert_close(b.value, 1 / 3)  # 0.9 above, the tied negative counted too: precision 1/3
    _assert_close(b.lower, b.value)  # one positive: distinct below the negative = tied with it
    _assert_close(b.upper, 0.5)  # above the negative: 1 of 2
    _contains(b, _sk_binary(target, preds.double()))


def test_no_positive_is_nan_and_warns():
    preds, target = torch.rand(20), torch.zeros(20, dtype=torch.long)
    acc = _hist(preds, target)
    with pytest.warns(ac.UndefinedAUROCWarning, match="average precision") as record:
        b = _ap(acc)
    assert len([w for w in record if issubclass(w.category, ac.UndefinedAUROCWarning)]) == 1
    assert math.isnan(b.value) and math.isnan(b.lower) and math.isnan(b.upper)
    assert b.support.tolist() == [0]


def test_class_without_positives_is_left_out_of_the_average_with_one_warning():
    g = torch.Generator().manual_seed(11)
    target = torch.randint(0, 3, (300,), generator=g)  # class 3 never appears
    probs = torch.softmax(torch.randn(300, 4, generator=g), 1)
    acc = _hist(probs, target, num_classes=4)
    with pytest.warns(ac.UndefinedAUROCWarning, match=r"average precision is undefined for class\(es\) 3") as rec:
        b = _ap(acc)
    assert len([w for w in rec if issubclass(w.category, ac.UndefinedAUROCWarning)]) == 1
    assert torch.isnan(b.per_class[3]) and torch.isnan(b.per_class_lower[3]) and torch.isnan(b.per_class_upper[3])
    _assert_close(b.value, b.per_class[:3].mean())
    _assert_close(b.lower, b.per_class_lower[:3].mean())
    _assert_close(b.upper, b.per_class_upper[:3].mean())


def test_micro_without_positive_entries_is_nan_and_warns():
    target = torch.zeros(10, 3, dtype=torch.long)
    acc = _hist(torch.rand(10, 3), target, task="multilabel", num_classes=3, average="micro")
    with pytest.warns(ac.UndefinedAUROCWarning, match="micro-averaged average precision"):
        b = _ap(acc, per_class=False)
    assert math.isnan(b.value) and math.isnan(b.lower) and math.isnan(b.upper)


def test_no_negatives_gives_one():
    preds = torch.tensor([0.2, 0.2, 0.7, 0.70001, 0.9])
    b = _ap(_hist(preds, torch.ones(5, dtype=torch.long)))
    assert (b.value.item(), b.lower.item(), b.upper.item()) == (1.0, 1.0, 1.0)


def test_weighted_average_weights_the_ends_by_support():
    g = torch.Generator().manual_seed(12)
    target = torch.randint(0, 2, (500, 3), generator=g)
    target[:, 0] = (torch.rand(500, generator=g) < 0.05).long()
    preds = torch.randint(0, 6, (500, 3), generator=g).float() / 8
    b = _ap(_hist(preds, target, task="multilabel", num_classes=3, average="weighted"))
    w = b.support.double()
    _assert_close(b.lower, (b.per_class_lower * w).sum() / w.sum())
    _assert_close(b.upper, (b.per_class_upper * w).sum() / w.sum())


def test_nan_ap_bound_keeps_supports_and_shapes():
    target = torch.randint(0, 2, (50, 3), generator=torch.Generator().manual_seed(13))
    for average, shape in (("macro", ()), (None, (3,))):
        acc = _hist(torch.rand(50, 3), target, task="multilabel", num_classes=3, average=average)
        b = nan_ap_bound(acc.epoch(), acc.options)
        assert b.value.shape == shape and bool(torch.isnan(b.value).all() & torch.isnan(b.upper).all())
        assert b.per_class.shape == (3,) and b.support.tolist() == target.sum(0).tolist()
    acc = _hist(torch.rand(50), target[:, 0])
    assert nan_ap_bound(acc.epoch(), acc.options).value.shape == ()


def test_scores_gives_the_value_per_class_and_support():
    preds, target = _bucket_data(4, 25, seed=14)
    b = _ap(_hist(preds, target))
    s = b.scores()
    assert s.value is b.value and s.per_class is b.per_class and s.support is b.support
    assert s.num_samples == b.num_samples
