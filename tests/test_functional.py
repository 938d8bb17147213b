"""ac.auroc / ac.auroc_scores / ac.roc_curve against scikit-learn and a brute-force pairwise count."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

import auroc_callbacks as ac
from conftest import brute_force_auroc

TOL = 1e-9


def _multiclass(n=600, c=5, ties=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g)
    if ties:
        logits = (logits * 2).round() / 2  # few distinct values: many ties
    target = torch.randint(0, c, (n,), generator=g)
    return logits, target


def _probs(logits):
    return torch.softmax(logits.float(), 1)


# ----------------------------------------------------------------------------- sklearn oracle


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_multiclass_ovr_equals_sklearn(average, ties):
    logits, target = _multiclass(ties=ties)
    got = ac.auroc(logits, target, average=average)
    want = roc_auc_score(target.numpy(), _probs(logits).numpy(), multi_class="ovr", average=average)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=TOL)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_ovo_equals_sklearn(average, ties):
    logits, target = _multiclass(ties=ties, c=4)
    got = ac.auroc(logits, target, multi_class="ovo", average=average)
    want = roc_auc_score(target.numpy(), _probs(logits).numpy(), multi_class="ovo", average=average)
    assert abs(got.item() - want) < TOL


def test_ovo_average_none_gives_symmetric_pair_matrix():
    logits, target = _multiclass(c=4)
    m = ac.auroc(logits, target, multi_class="ovo", average=None)
    p, y = _probs(logits).numpy(), target.numpy()
    assert m.shape == (4, 4) and torch.isnan(m.diagonal()).all()
    for a in range(4):
        for b in range(a + 1, 4):
            mask = (y == a) | (y == b)
            want = (roc_auc_score(y[mask] == a, p[mask, a]) + roc_auc_score(y[mask] == b, p[mask, b])) / 2
            assert abs(m[a, b].item() - want) < TOL and m[a, b] == m[b, a]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_multilabel_equals_sklearn(average, ties):
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(500, 4, generator=g)
    if ties:
        scores = scores.round()
    target = torch.randint(0, 2, (500, 4), generator=g)
    got = ac.auroc(scores, target, average=average)
    want = roc_auc_score(target.numpy(), scores.numpy(), average=average)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=TOL)


@pytest.mark.parametrize("max_fpr", [0.05, 0.3, 0.8, 1.0])
def test_binary_partial_auc_equals_sklearn(max_fpr):
    g = torch.Generator().manual_seed(2)
    target = torch.randint(0, 2, (400,), generator=g)
    scores = (torch.randn(400, generator=g) + target).round(decimals=1)  # ties too
    got = ac.auroc(scores, target, max_fpr=max_fpr)
    assert abs(got.item() - roc_auc_score(target.numpy(), scores.numpy(), max_fpr=max_fpr)) < TOL


def test_partial_auc_per_class_for_multiclass_ovr_and_multilabel():
    logits, target = _multiclass(c=4)
    p, y = _probs(logits).numpy(), target.numpy()
    got = ac.auroc(logits, target, max_fpr=0.2, average=None)
    want = [roc_auc_score(y == c, p[:, c], max_fpr=0.2) for c in range(4)]
    np.testing.assert_allclose(got.numpy(), want, atol=TOL)
    assert abs(ac.auroc(logits, target, max_fpr=0.2).item() - np.mean(want)) < TOL
    ml_target = torch.randint(0, 2, (600, 4))
    got = ac.auroc(logits, ml_target, max_fpr=0.2, average="macro")
    assert abs(got.item() - roc_auc_score(ml_target.numpy(), logits.numpy(), max_fpr=0.2)) < TOL


def test_two_logit_binary_head_scores_the_positive_column():
    logits, _ = _multiclass(c=2)
    target = torch.randint(0, 2, (600,))
    got = ac.auroc(logits, target, task="binary")
    assert abs(got.item() - roc_auc_score(target.numpy(), _probs(logits)[:, 1].numpy())) < TOL


# ----------------------------------------------------------------------------- brute force + properties


def test_brute_force_reference_agrees_with_sklearn_on_ties(rng):
    s, y = rng.integers(0, 4, 200), rng.integers(0, 2, 200)
    assert abs(brute_force_auroc(s, y) - roc_auc_score(y, s)) < 1e-12


finite_or_inf = st.one_of(
    st.floats(-1e6, 1e6, width=32), st.sampled_from([0.0, -0.0, 0.5, 1.0, float("inf"), float("-inf")])
)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=st.integers(2, 60))
def test_binary_matches_brute_force_for_any_scores(data, n):
    scores = np.array(data.draw(st.lists(finite_or_inf, min_size=n, max_size=n)), dtype=np.float32)
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    want = brute_force_auroc(scores, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        got = ac.auroc(torch.from_numpy(scores), torch.from_numpy(labels)).item()
    assert (np.isnan(want) and np.isnan(got)) or abs(got - want) < 1e-12


@settings(max_examples=60, deadline=None)
@given(
    probs=hnp.arrays(
        np.float32,
        st.tuples(st.integers(8, 40), st.integers(2, 5)),
        elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]),
    ),
    seed=st.integers(0, 2**16),
)
def test_multiclass_per_class_matches_brute_force_on_tie_heavy_scores(probs, seed):
    n, c = probs.shape
    target = np.random.default_rng(seed).integers(0, c, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        got = ac.auroc(torch.from_numpy(probs), torch.from_numpy(target), activation=None, average=None).numpy()
    want = np.array([brute_force_auroc(probs[:, k], target == k) for k in range(c)])
    np.testing.assert_allclose(got, want, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(6, 200), c=st.integers(2, 6), seed=st.integers(0, 2**16), dtype=st.sampled_from(["f32", "f64"]))
def test_sklearn_oracle_over_random_shapes(n, c, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64 if dtype == "f64" else torch.float32)
    target = torch.arange(n) % c  # every class present
    p, y = torch.softmax(logits, 1).numpy(), target.numpy()
    got = ac.auroc(logits, target, average="macro").item()
    assert abs(got - np.mean([roc_auc_score(y == k, p[:, k]) for k in range(c)])) < TOL


def test_exact_past_2_pow_24_samples():
    """Counts past float32's exact range: a grouped brute force computed in Python integers."""
    g = torch.Generator().manual_seed(3)
    pos = torch.randint(1_000_000, 2_000_000, (5,), generator=g)
    neg = torch.randint(2_000_000, 3_000_000, (5,), generator=g)
    assert int(pos.sum() + neg.sum()) > 2**24
    values = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5])
    scores = torch.cat([values.repeat_interleave(pos), values.repeat_interleave(neg)])
    target = torch.cat([torch.ones(int(pos.sum()), dtype=torch.long), torch.zeros(int(neg.sum()), dtype=torch.long)])
    p, q = pos.tolist(), neg.tolist()
    u2 = sum(p[v] * (2 * sum(q[:v]) + q[v]) for v in range(5))  # 2 * U, ties as 1/2, exact integers
    want = u2 / (2 * sum(p) * sum(q))
    assert abs(ac.auroc(scores, target).item() - want) < 1e-12


def test_one_vs_one_is_exact_when_the_pair_count_is_not_a_float32():
    """2 * 4001 * 4999 pairs: the denominator is the integer product (float32 would round it), as every path's."""
    sizes = [4001, 4999, 1000]
    target = torch.cat([torch.full((k,), c) for c, k in enumerate(sizes)])
    g = torch.Generator().manual_seed(9)
    levels = torch.tensor([0.1, 0.3, 0.6])  # three scores per column: the brute force counts groups
    pick = torch.randint(0, 3, (sum(sizes), 3), generator=g)
    probs = levels[pick]
    got = ac.auroc(probs, target, activation=None, multi_class="ovo", average=None)
    p, y = pick.numpy(), target.numpy()

    def a_given(a, b):  # A(a|b) from counts per score level, exact integers
        pos = np.bincount(p[y == a, a], minlength=3).tolist()
        neg = np.bincount(p[y == b, a], minlength=3).tolist()
        twice_u = sum(pos[v] * (2 * sum(neg[:v]) + neg[v]) for v in range(3))
        return twice_u / (2 * sizes[a] * sizes[b])

    for a in range(3):
        for b in range(a + 1, 3):
            want = (a_given(a, b) + a_given(b, a)) / 2
            assert got[a, b].item() == pytest.approx(want, rel=1e-15, abs=0)


# ----------------------------------------------------------------------------- dtypes and layouts


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_low_and_high_precision_inputs_equal_sklearn_on_same_probabilities(dtype):
    logits, target = _multiclass()
    logits = logits.to(dtype)
    same = torch.softmax(logits.float() if dtype != torch.float64 else logits, 1)
    want = roc_auc_score(target.numpy(), same.numpy(), multi_class="ovr")
    assert abs(ac.auroc(logits, target).item() - want) < TOL
    probs = same.to(dtype)  # already distributions (to the dtype's precision): used as given
    p, y = probs.double().numpy(), target.numpy()
    want = np.mean([roc_auc_score(y == k, p[:, k]) for k in range(p.shape[1])])
    assert abs(ac.auroc(probs, target).item() - want) < TOL


def test_non_contiguous_inputs():
    logits, target = _multiclass()
    wide = torch.zeros(600, 10)
    wide[:, ::2] = logits
    strided = wide[:, ::2]
    assert not strided.is_contiguous()
    t2 = torch.stack([target, target], 1)[:, 0]
    assert ac.auroc(strided, t2).item() == ac.auroc(logits, target).item()
    assert abs(ac.auroc(logits.T.contiguous().T, target).item() - ac.auroc(logits, target).item()) == 0


@pytest.mark.parametrize("target_dtype", [torch.bool, torch.int32, torch.int64, torch.float32, torch.uint8])
def test_binary_targets_of_any_dtype(target_dtype):
    scores = torch.randn(300)
    target = torch.randint(0, 2, (300,))
    want = roc_auc_score(target.numpy(), scores.numpy())
    assert abs(ac.auroc(scores, target.to(target_dtype)).item() - want) < TOL


def test_int_preds_and_infinite_scores():
    target = torch.tensor([0, 0, 1, 1, 0, 1, 1, 0])
    ints = torch.tensor([1, 3, 2, 5, 0, 5, 9, 9])
    assert abs(ac.auroc(ints, target).item() - roc_auc_score(target, ints)) < TOL
    inf = torch.tensor([0.1, -float("inf"), float("inf"), 2.0, 0.3, float("inf"), 1.0, 0.0])
    assert abs(ac.auroc(inf, target).item() - brute_force_auroc(inf.numpy(), target.numpy())) < TOL


def test_requires_grad_preds_keep_no_graph():
    logits = torch.randn(50, 3, requires_grad=True)
    out = ac.auroc(logits, torch.arange(50) % 3)
    assert out.grad_fn is None and not out.requires_grad


def test_sigmoid_saturation_does_not_create_ties():
    """float32 sigmoid maps 20 and 30 to 1.0; the ranking of the logits is kept."""
    logits = torch.tensor([20.0, 30.0, 25.0, 40.0])
    target = torch.tensor([0, 1, 0, 1])
    assert torch.sigmoid(logits)[0] == torch.sigmoid(logits)[1]
    assert ac.auroc(logits, target).item() == roc_auc_score(target, logits.numpy()) == 1.0


def test_auto_activation_keeps_probabilities_and_softmaxes_logits():
    logits, target = _multiclass(c=3)
    p = _probs(logits)
    assert ac.auroc(p, target).item() == ac.auroc(p, target, activation=None).item()
    want_raw = np.mean([roc_auc_score(target.numpy() == k, logits.numpy()[:, k]) for k in range(3)])
    assert abs(ac.auroc(logits, target, activation=None).item() - want_raw) < TOL
    assert abs(ac.auroc(logits, target).item() - ac.auroc(logits, target, activation="softmax").item()) == 0


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_ignore_index_drops_samples(task):
    g = torch.Generator().manual_seed(4)
    if task == "binary":
        scores, target = torch.randn(300, generator=g), torch.randint(0, 2, (300,), generator=g)
    elif task == "multiclass":
        scores, target = torch.randn(300, 3, generator=g), torch.randint(0, 3, (300,), generator=g)
    else:
        scores, target = torch.randn(300, 3, generator=g), torch.randint(0, 2, (300, 3), generator=g)
    target = torch.where(torch.rand(target.shape, generator=g) < 0.2, -100, target)
    got = ac.auroc(scores, target, ignore_index=-100, average=None)
    t, s = target.numpy(), scores.numpy()
    if task == "binary":
        keep = t != -100
        want = roc_auc_score(t[keep], s[keep])
    elif task == "multiclass":
        keep = t != -100
        p = torch.softmax(scores[torch.from_numpy(keep)], 1).numpy()
        want = [roc_auc_score(t[keep] == k, p[:, k]) for k in range(3)]
    else:
        want = [roc_auc_score(t[t[:, k] != -100, k], s[t[:, k] != -100, k]) for k in range(3)]
    np.testing.assert_allclose(got.numpy(), want, atol=TOL)


# ----------------------------------------------------------------------------- undefined classes


def test_single_class_binary_gives_nan_and_one_warning():
    with pytest.warns(ac.UndefinedAUROCWarning, match="only one class") as rec:
        out = ac.auroc(torch.rand(20), torch.ones(20))
    assert torch.isnan(out) and len(rec) == 1


def test_absent_class_is_nan_and_left_out_of_macro_and_weighted():
    logits, target = _multiclass(c=5)
    target[target == 3] = 0
    p, y = _probs(logits).numpy(), target.numpy()
    per = [roc_auc_score(y == k, p[:, k]) for k in (0, 1, 2, 4)]
    with pytest.warns(ac.UndefinedAUROCWarning, match="3") as rec:
        got = ac.auroc(logits, target, average=None)
    assert len(rec) == 1
    assert torch.isnan(got[3]) and np.allclose(got[[0, 1, 2, 4]].numpy(), per, atol=TOL)
    with pytest.warns(ac.UndefinedAUROCWarning):
        assert abs(ac.auroc(logits, target).item() - np.mean(per)) < TOL
    support = np.bincount(y, minlength=5)[[0, 1, 2, 4]]
    with pytest.warns(ac.UndefinedAUROCWarning):
        assert abs(ac.auroc(logits, target, average="weighted").item() - np.average(per, weights=support)) < TOL


def test_thousands_of_classes_most_absent():
    g = torch.Generator().manual_seed(5)
    n, c = 400, 3000
    logits = torch.randn(n, c, generator=g)
    target = torch.randint(0, 7, (n,), generator=g) * 400  # 7 classes present
    p, y = torch.softmax(logits, 1).numpy(), target.numpy()
    present = np.unique(y)
    with pytest.warns(ac.UndefinedAUROCWarning) as rec:
        got = ac.auroc(logits, target, average=None)
    assert len(rec) == 1 and "more" in str(rec[0].message)
    assert torch.isnan(got).sum() == c - len(present)
    np.testing.assert_allclose(got[present].numpy(), [roc_auc_score(y == k, p[:, k]) for k in present], atol=TOL)


def test_multilabel_column_with_no_negatives_is_nan():
    target = torch.randint(0, 2, (50, 3))
    target[:, 1] = 1
    with pytest.warns(ac.UndefinedAUROCWarning, match="no negative"):
        got = ac.auroc(torch.randn(50, 3), target, average=None)
    assert torch.isnan(got[1]) and not torch.isnan(got[[0, 2]]).any()


def test_auroc_scores_reports_per_class_and_support_from_one_ranking():
    logits, target = _multiclass(c=3)
    s = ac.auroc_scores(logits, target, average="macro")
    assert s.support.tolist() == np.bincount(target.numpy(), minlength=3).tolist()
    assert s.num_samples == 600 and s.value.item() == s.per_class.mean().item()


# ----------------------------------------------------------------------------- curves


@pytest.mark.parametrize("drop", [True, False])
def test_binary_roc_curve_equals_sklearn(drop):
    g = torch.Generator().manual_seed(6)
    scores = torch.randn(300, generator=g).round(decimals=1)
    target = torch.randint(0, 2, (300,), generator=g)
    fpr, tpr, thr = ac.roc_curve(scores, target, activation=None, drop_intermediate=drop)
    F, T, TH = sk_roc_curve(target.numpy(), scores.numpy(), drop_intermediate=drop)
    np.testing.assert_allclose(fpr.numpy(), F, atol=1e-12)
    np.testing.assert_allclose(tpr.numpy(), T, atol=1e-12)
    np.testing.assert_allclose(thr.numpy(), TH, atol=1e-6)
    assert thr[0] == float("inf")


def test_multiclass_curves_per_class_and_micro_equal_sklearn():
    logits, target = _multiclass(c=3)
    p, y = _probs(logits).numpy(), target.numpy()
    curves = ac.roc_curve(logits, target)
    assert len(curves) == 3
    for k, (fpr, tpr, thr) in enumerate(curves):
        F, T, TH = sk_roc_curve(y == k, p[:, k])
        np.testing.assert_allclose(fpr.numpy(), F, atol=1e-12)
        np.testing.assert_allclose(tpr.numpy(), T, atol=1e-12)
        np.testing.assert_allclose(thr[1:].numpy(), TH[1:], atol=1e-7)
    fpr, tpr, _ = ac.roc_curve(logits, target, average="micro")
    F, T, _ = sk_roc_curve(np.eye(3)[y].ravel(), p.ravel())
    np.testing.assert_allclose(fpr.numpy(), F, atol=1e-12)
    np.testing.assert_allclose(tpr.numpy(), T, atol=1e-12)


def test_curve_thresholds_are_probabilities_after_sigmoid():
    logits = torch.tensor([-3.0, -1.0, 0.5, 2.0])
    _, _, thr = ac.roc_curve(logits, torch.tensor([0, 1, 0, 1]))
    assert thr[0] == float("inf") and ((thr[1:] > 0) & (thr[1:] < 1)).all()
    np.testing.assert_allclose(thr[1:].numpy(), torch.sigmoid(logits.double()).flip(0).numpy(), atol=1e-12)


def test_probabilities_expose_the_activation_decision():
    logits, target = _multiclass(c=3)
    probs, t, act = ac.probabilities(logits, target)
    assert act == "softmax" and torch.allclose(probs, _probs(logits)) and t.dtype == torch.int64
    probs, _, act = ac.probabilities(torch.tensor([-1.0, 2.0]), torch.tensor([0, 1]))
    assert act == "sigmoid" and torch.allclose(probs, torch.sigmoid(torch.tensor([-1.0, 2.0])))


@pytest.mark.parametrize("low", [torch.bfloat16, torch.float16])
def test_probabilities_rounded_to_16_bits_stay_probabilities_in_an_epoch_that_also_has_float32_batches(low):
    """The epoch's buffer is float32 then; a bfloat16 row sums to 1 only within ~4e-3, past float32's 1e-3.

    Each row is judged by the precision of its values, so the epoch is ranked as given without a warning that
    its rows do not sum to 1; a float32 row as far off does get it (and is ranked as given too: all in [0, 1]).
    """
    g = torch.Generator().manual_seed(8)
    probs = torch.softmax(3 * torch.randn(600, 10, generator=g), 1)
    target = torch.randint(0, 10, (600,), generator=g)
    acc = ac.AUROCAccumulator(num_classes=10)
    acc.update(probs[:300].to(low), target[:300])
    acc.update(probs[300:], target[300:])
    epoch = torch.cat([probs[:300].to(low).float(), probs[300:]]).double().numpy()
    if low == torch.bfloat16:
        assert np.abs(epoch[:300].sum(1) - 1).max() > 1e-3  # the float32 tolerance alone would softmax them
    y = target.numpy()
    want = np.mean([roc_auc_score(y == k, epoch[:, k]) for k in range(10)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ac.functional.InterpretationWarning)
        assert acc.compute().item() == pytest.approx(want, abs=1e-12)
        assert ac.probabilities(torch.tensor(epoch, dtype=torch.float32), target)[2] is None
    off = probs.clone()
    off[0] *= 1.004  # a float32 row 4e-3 off: no 16-bit float holds it, so float32's tolerance: not a distribution
    with pytest.warns(ac.functional.InterpretationWarning, match="do not sum to 1"):
        assert ac.probabilities(off, target)[2] is None


def test_undefined_warnings_point_at_the_users_line_whatever_the_route():
    """A fixed stacklevel pointed into the package from a report or a histogram accumulator."""
    x, y = torch.rand(10, 3), torch.zeros(10, dtype=torch.long)  # classes 1 and 2 absent
    hist = ac.AUROCAccumulator(num_classes=3, mode="histogram")
    hist.update(x, y)
    exact = ac.AUROCAccumulator(num_classes=3)
    exact.update(x, y)
    calls = [
        lambda: ac.auroc(x, y, num_classes=3),
        lambda: ac.auroc_ci(x, y, num_classes=3),
        hist.compute,
        exact.compute,
        lambda: ac.report(x, y, num_classes=3),
        lambda: ac.auroc(x, y, num_classes=3, multi_class="ovo"),
        lambda: ac.auroc(torch.rand(5), torch.zeros(5)),
    ]
    for call in calls:
        with pytest.warns(ac.UndefinedAUROCWarning) as rec:
            call()
        assert {w.filename for w in rec} == {__file__}


def test_infinite_binary_scores_and_infinite_probabilities_without_softmax_are_ranked():
    scores = torch.tensor([float("inf"), 0.2, 0.1, -float("inf"), float("inf")])
    target = torch.tensor([1, 0, 1, 0, 0])
    assert ac.auroc(scores, target).item() == brute_force_auroc(scores.numpy(), target.numpy())


def test_int64_scores_past_2_pow_53_are_exact():
    scores = torch.tensor([2**60, 2**60 + 1, 3, 4, 2**60 + 1])
    target = torch.tensor([0, 1, 0, 1, 0])
    want = brute_force_auroc([float(v) for v in [1, 2, -2, -1, 2]], target.numpy())  # same order and ties
    assert ac.auroc(scores, target).item() == want


def test_curves_of_a_label_whose_every_entry_is_ignored_are_nan_not_an_error():
    target = torch.randint(0, 2, (20, 3))
    target[:, 1] = -1
    with pytest.warns(ac.UndefinedAUROCWarning):
        curves = ac.roc_curve(torch.randn(20, 3), target, ignore_index=-1)
    fpr, tpr, thr = curves[1]
    assert torch.isnan(fpr).all() and torch.isnan(tpr).all() and thr[0] == float("inf")
    assert not torch.isnan(curves[0][0]).any()


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_decision_counts_equal_sklearns_confusion_matrices(task):
    from sklearn.metrics import multilabel_confusion_matrix

    from auroc_callbacks.functional import decision_counts

    rng = np.random.default_rng(7)
    n, c = 60, 4
    if task == "binary":
        preds, target = torch.tensor(rng.random(n).round(1)), torch.tensor(rng.integers(0, 2, n))
    elif task == "multiclass":  # rounded logits: argmax ties go to the first class
        preds, target = torch.tensor(rng.normal(size=(n, c)).round()), torch.tensor(rng.integers(0, c, n))
    else:
        preds, target = torch.tensor(rng.random((n, c)).round(1)), torch.tensor(rng.integers(0, 2, (n, c)))
    probs, target_f, _ = ac.probabilities(preds, target, task=task)
    counts = decision_counts(probs, target_f, threshold=0.3)
    p = probs.numpy()
    if task == "binary":
        want = multilabel_confusion_matrix(target.numpy(), (p >= 0.3).astype(int), labels=[1])
    elif task == "multiclass":
        want = multilabel_confusion_matrix(target.numpy(), p.argmax(1), labels=list(range(c)))
    else:
        want = multilabel_confusion_matrix(target.numpy(), (p >= 0.3).astype(int))
    assert all(t.dtype == torch.int64 for t in counts)
    assert counts.tp.tolist() == want[:, 1, 1].tolist() and counts.fp.tolist() == want[:, 0, 1].tolist()
    assert counts.pos.tolist() == (want[:, 1, 0] + want[:, 1, 1]).tolist()
    assert counts.neg.tolist() == (want[:, 0, 0] + want[:, 0, 1]).tolist()


def test_decision_counts_leave_out_the_entries_not_valid():
    from auroc_callbacks.functional import decision_counts

    probs = torch.tensor([[0.9, 0.1], [0.8, 0.7], [0.2, 0.6], [0.4, 0.3]])
    target = torch.tensor([[True, False], [False, True], [True, True], [False, False]])
    valid = torch.tensor([[True, True], [False, True], [True, False], [True, True]])
    counts = decision_counts(probs, target, valid=valid)
    # label 0 over rows 0, 2, 3: decided [T, F, F], true [T, T, F]; label 1 over rows 0, 1, 3: [F, T, F], [F, T, F]
    assert [t.tolist() for t in counts] == [[1, 1], [0, 0], [2, 1], [1, 2]]


# ----------------------------------------------------------------------------- issue 13: how input is read


def _interpretations(record):
    return [str(w.message) for w in record if issubclass(w.category, ac.functional.InterpretationWarning)]


def _sigmoid_head(n=300, c=4, seed=13):
    """A sigmoid head trained one-vs-rest, scored with integer targets: (N, C) in [0, 1], rows not summing to 1."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, c, (n,), generator=g)
    logits = torch.randn(n, c, generator=g) + 1.5 * torch.nn.functional.one_hot(y, c)
    return torch.sigmoid(logits), y, logits


def test_auto_ranks_multiclass_scores_in_0_1_as_given_like_torchmetrics_and_sklearn_per_column():
    probs, y, _ = _sigmoid_head()
    per_column = np.mean([roc_auc_score(y.numpy() == k, probs[:, k].numpy()) for k in range(4)])
    softmaxed = roc_auc_score(y.numpy(), torch.softmax(probs, 1).numpy(), multi_class="ovr")
    assert abs(per_column - softmaxed) > 1e-3  # the two readings differ on this data
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.auroc(probs, y)
    assert got.item() == pytest.approx(per_column, abs=1e-12)
    assert _interpretations(record) == [
        "rows of `preds` lie in [0, 1] but do not sum to 1: ranked as per-class scores (one-vs-rest, as given);"
        " pass activation='softmax' if they are logits"
    ]
    tm = pytest.importorskip("torchmetrics.functional.classification")
    assert got.item() == pytest.approx(tm.multiclass_auroc(probs, y, num_classes=4).item(), abs=1e-6)
    assert ac.auroc(probs, y, activation="softmax").item() == pytest.approx(softmaxed, abs=1e-12)  # the way back
    _, y, logits = _sigmoid_head()  # and logits (a value outside [0, 1]) are still softmaxed, without a warning
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.auroc(logits, y)
    want = roc_auc_score(y.numpy(), torch.softmax(logits, 1).numpy(), multi_class="ovr")
    assert got.item() == pytest.approx(want, abs=1e-12) and _interpretations(record) == []


def test_a_two_column_binary_head_in_0_1_not_summing_to_1_ranks_column_1_as_given_and_warns():
    probs, y, _ = _sigmoid_head(c=2)
    with pytest.warns(ac.functional.InterpretationWarning, match=r"\(N, 2\).*column 1 is ranked as given"):
        got = ac.auroc(probs, y, task="binary")
    assert got.item() == pytest.approx(roc_auc_score(y.numpy(), probs[:, 1].numpy()), abs=1e-12)


def test_a_one_hot_target_with_logits_is_scored_as_multiclass_and_warns_once():
    _, y, logits = _sigmoid_head()
    one_hot = torch.nn.functional.one_hot(y, 4)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.auroc_scores(logits, one_hot)
        curves = ac.roc_curve(logits, one_hot)
    want = roc_auc_score(y.numpy(), torch.softmax(logits, 1).numpy(), multi_class="ovr")
    assert got.value.item() == pytest.approx(want, abs=1e-12) and got.support.tolist() == torch.bincount(y).tolist()
    assert len(curves) == 4
    fpr, tpr, _ = sk_roc_curve(y.numpy() == 2, torch.softmax(logits, 1)[:, 2].numpy())
    np.testing.assert_allclose(curves[2][0].numpy(), fpr, atol=1e-12)
    assert (
        _interpretations(record)
        == ["`target` is one-hot: scored as multiclass; pass task='multilabel' to score each column on its own"] * 2
    )  # once per call
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        per_label = ac.auroc(logits, one_hot, task="multilabel")  # the way back: no change, no warning
    assert per_label.item() == pytest.approx(roc_auc_score(one_hot.numpy(), logits.numpy()), abs=1e-12)
    assert _interpretations(record) == []
    not_one_hot = one_hot.clone()
    not_one_hot[0, (y[0] + 1) % 4] = 1  # one row with two labels: multilabel, as before
    assert ac.auroc(logits, not_one_hot).item() == pytest.approx(
        roc_auc_score(not_one_hot.numpy(), logits.numpy()), abs=1e-12
    )


def test_hard_label_predictions_warn_that_their_auroc_is_a_balanced_accuracy():
    from sklearn.metrics import balanced_accuracy_score

    g = torch.Generator().manual_seed(2)
    y = torch.randint(0, 2, (200,), generator=g)
    hard = torch.where(torch.rand(200, generator=g) < 0.8, y, 1 - y)
    with pytest.warns(
        ac.functional.InterpretationWarning, match=r"hard labels \(dtype torch.int64\).*balanced accuracy"
    ):
        got = ac.auroc(hard, y)
    assert got.item() == pytest.approx(balanced_accuracy_score(y.numpy(), hard.numpy()), abs=1e-12)
    with pytest.warns(ac.functional.InterpretationWarning, match="hard labels"):
        ac.auroc(hard.bool(), y)


def test_class_indices_as_predictions_are_refused_with_what_to_pass():
    g = torch.Generator().manual_seed(3)
    y = torch.randint(0, 10, (100,), generator=g)
    with pytest.raises(
        ValueError,
        match=r"AUROC needs scores, not class indices: `preds` holds integer labels up to 9;"
        r" pass the logits or probabilities, shape \(N, C\)",
    ):
        ac.auroc(torch.randn(100, 10, generator=g).argmax(1), y)


def test_minus_one_one_labels_are_binary_labels_with_1_positive_as_in_sklearn():
    g = torch.Generator().manual_seed(4)
    scores = torch.rand(120, generator=g).double()  # probabilities: the thresholds are sklearn's as they are
    y = torch.where(torch.rand(120, generator=g) < 0.4, 1, -1)
    assert ac.auroc(scores, y).item() == pytest.approx(roc_auc_score(y.numpy(), scores.numpy()), abs=1e-12)
    fpr, tpr, thr = ac.roc_curve(scores, y)
    want = sk_roc_curve(y.numpy(), scores.numpy())
    for got, ref in zip((fpr, tpr, thr), want):
        np.testing.assert_allclose(got.numpy(), ref, atol=1e-12)
    assert ac.auroc_ci(scores, y).value.item() == pytest.approx(roc_auc_score(y.numpy(), scores.numpy()), abs=1e-12)


@pytest.mark.parametrize("labels, pos_label", [((1, 2), 2), ((1, 2), 1), ((0, 7), 7), ((-3, 5), -3)])
def test_pos_label_names_the_positive_of_any_two_labels_as_sklearns_roc_curve(labels, pos_label):
    g = torch.Generator().manual_seed(5)
    scores = torch.rand(150, generator=g).double()
    y = torch.tensor(labels)[torch.randint(0, 2, (150,), generator=g)]
    ref_fpr, ref_tpr, ref_thr = sk_roc_curve(y.numpy(), scores.numpy(), pos_label=pos_label)
    got = ac.roc_curve(scores, y, pos_label=pos_label)
    for g_, ref in zip(got, (ref_fpr, ref_tpr, ref_thr)):
        np.testing.assert_allclose(g_.numpy(), ref, atol=1e-12)
    want = roc_auc_score(y.numpy() == pos_label, scores.numpy())
    assert ac.auroc(scores, y, pos_label=pos_label).item() == pytest.approx(want, abs=1e-12)
    assert ac.auroc_scores(scores, y, pos_label=pos_label).support.tolist() == [int((y == pos_label).sum())]
    assert ac.auroc_ci(scores, y, pos_label=pos_label).value.item() == pytest.approx(want, abs=1e-12)
    probs, target, _ = ac.probabilities(scores, y, pos_label=pos_label)
    assert torch.equal(target, y == pos_label)


@pytest.mark.parametrize(
    "target, options, exc, fragments",
    [
        (torch.tensor([0, 2, 2, 0]), {}, ValueError, ["0, 2", "pass pos_label"]),
        (torch.tensor([1, 2, 2, 1]), {}, ValueError, ["1, 2", "pass pos_label"]),
        (torch.tensor([-1, 0, 1, 0]), {}, ValueError, ["more than two labels", "-1, 0, 1"]),
        (torch.tensor([1, 2, 3, 1]), {"pos_label": 2}, ValueError, ["more than two labels", "1, 2, 3"]),
        (torch.tensor([0, 1, 1, 0]), {"pos_label": 2}, ValueError, ["`pos_label`=2", "0, 1"]),
        (torch.tensor([0, 1, 1, 0]), {"pos_label": True}, TypeError, ["`pos_label`", "bool"]),
        (torch.tensor([0, 1, 1, 0]), {"pos_label": "1"}, TypeError, ["`pos_label`", "'1'"]),
    ],
)
def test_ambiguous_binary_labels_are_clear_errors(target, options, exc, fragments):
    with pytest.raises(exc) as info:
        ac.auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), target, **options)
    assert type(info.value) is exc and all(f in str(info.value) for f in fragments), str(info.value)


def test_pos_label_is_for_binary_targets_only():
    with pytest.raises(ValueError, match="`pos_label` is for binary targets; got pos_label=1 with task='multiclass'"):
        ac.auroc(torch.rand(4, 3), torch.tensor([0, 1, 2, 0]), task="multiclass", pos_label=1)
    with pytest.raises(ValueError, match="`pos_label` is for binary targets; got pos_label=1 with multiclass input"):
        ac.auroc(torch.rand(4, 3), torch.tensor([0, 1, 2, 0]), pos_label=1)
    with pytest.raises(ValueError, match="`pos_label` is for binary targets.*multilabel"):
        ac.roc_curve(torch.rand(4, 3), torch.randint(0, 2, (4, 3)), pos_label=1)


@pytest.mark.parametrize("target", [torch.tensor([1]), torch.tensor(1), torch.tensor([[1]])])
def test_a_0d_prediction_next_to_one_sample_is_that_sample(target):
    with pytest.warns(ac.UndefinedAUROCWarning, match="only one class"):  # one sample: one class
        assert torch.isnan(ac.auroc(torch.tensor(0.7), target))
    probs, t, _ = ac.probabilities(torch.tensor(0.7), target)
    assert probs.tolist() == [pytest.approx(0.7)] and t.tolist() == [True]
