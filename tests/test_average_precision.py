"""ac.average_precision / ac.precision_recall_curve against scikit-learn and a brute-force walk over every threshold.

References, never this library's code: ``sklearn.metrics.average_precision_score`` and
``sklearn.metrics.precision_recall_curve`` (with ``label_binarize`` for one-vs-rest), torch's own
``softmax``/``sigmoid`` (the activation the docstrings promise, bitwise), and :func:`brute_force_ap` /
:func:`brute_force_pr` below, which walk every distinct threshold from its definition.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score
from sklearn.metrics import precision_recall_curve as sk_pr_curve
from sklearn.preprocessing import label_binarize

import auroc_callbacks as ac
from auroc_callbacks.functional import InterpretationWarning

TOL = 1e-12
AVERAGES = ["macro", "weighted", "micro", None]


# ----------------------------------------------------------------------------- references


def brute_force_ap(scores, labels) -> float:
    """``sum_n (R_n - R_{n-1}) P_n`` over every distinct threshold, descending; each tie group is one threshold."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    total = int(y.sum())
    if total == 0:
        return math.nan
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(s.tolist()), reverse=True):
        above = s >= t
        tp, fp = int((above & y).sum()), int((above & ~y).sum())
        recall, precision = tp / total, tp / (tp + fp)
        ap += (recall - prev_recall) * precision
        prev_recall = recall
    return ap


def brute_force_pr(scores, labels):
    """scikit-learn's contract from its definition: one point per distinct score (ascending), then (1, 0)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    total = int(y.sum())
    thresholds = np.array(sorted(set(s.tolist())), dtype=np.float64)
    precision, recall = [], []
    for t in thresholds:
        above = s >= t
        tp, fp = int((above & y).sum()), int((above & ~y).sum())
        precision.append(tp / (tp + fp))
        recall.append(tp / total)
    return np.array(precision + [1.0]), np.array(recall + [0.0]), thresholds


def _sk_binary(y, s) -> float:
    y, s = np.asarray(y).astype(bool), np.asarray(s, dtype=np.float64)
    return math.nan if not y.any() else float(average_precision_score(y, s))


def _sk(Y, S, average, valid=None):
    """scikit-learn per column of 0/1 ``Y`` (N, C) on ``S`` (N, C); classes without positives NaN and left out."""
    Y, S = np.asarray(Y).astype(bool), np.asarray(S, dtype=np.float64)
    valid = np.ones(Y.shape, bool) if valid is None else np.asarray(valid, bool)
    if average == "micro":
        return _sk_binary(Y[valid], S[valid])
    per = np.array([_sk_binary(Y[valid[:, c], c], S[valid[:, c], c]) for c in range(Y.shape[1])])
    if average is None:
        return per
    ok = ~np.isnan(per)
    weights = np.ones(len(per)) if average == "macro" else (Y & valid).sum(0).astype(np.float64)
    return float((per[ok] * weights[ok]).sum() / weights[ok].sum()) if ok.any() else math.nan


def _close(got, want, tol=TOL):
    got = got.numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=0, atol=tol, equal_nan=True)


def _same_curve(got, want):
    """Two (precision, recall, thresholds) triples, elementwise to TOL, same lengths, float64 tensors."""
    for g, w in zip(got, want):
        assert isinstance(g, torch.Tensor) and g.dtype == torch.float64
        assert g.shape == (len(w),), (g.shape, len(w))
        _close(g, w)


def _undefined_warnings(record):
    return [w for w in record if issubclass(w.category, ac.UndefinedAUROCWarning)]


def _binary(n=500, ties=False, seed=0, dtype=torch.float32, prevalence=0.3):
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(n, generator=g, dtype=torch.float64)
    if ties:
        scores = (scores * 8).round() / 8
    target = (torch.rand(n, generator=g) < prevalence).long()
    return scores.to(dtype), target


def _multiclass(n=600, c=5, ties=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g)
    if ties:
        logits = (logits * 2).round() / 2
    return logits, torch.randint(0, c, (n,), generator=g)


def _multilabel(n=500, c=4, ties=False, seed=1):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, c, generator=g)
    if ties:
        scores = scores.round()
    return scores, torch.randint(0, 2, (n, c), generator=g)


# ----------------------------------------------------------------------------- the brute-force reference itself


def test_brute_force_reference_on_hand_computed_examples():
    # Descending: 0.8 (+) P=1 R=1/2; 0.4 (-); 0.35 (+) P=2/3 R=1; 0.1 (-): AP = 1/2 + 1/2 * 2/3 = 5/6.
    assert brute_force_ap([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(5 / 6, abs=1e-15)
    # A tie is one threshold: at 1 P=1/2 R=1/2; at 0 P=2/3 R=1: AP = 1/4 + 1/3.
    assert brute_force_ap([1.0, 1.0, 0.0], [1, 0, 1]) == pytest.approx(7 / 12, abs=1e-15)
    p, r, t = brute_force_pr([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    np.testing.assert_allclose(p, [0.5, 2 / 3, 0.5, 1, 1])
    np.testing.assert_allclose(r, [1, 1, 0.5, 0.5, 0])
    np.testing.assert_allclose(t, [0.1, 0.35, 0.4, 0.8])


def test_docstring_example_values():
    p, t = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])
    got = ac.average_precision(p, t)
    assert got.dtype == torch.float64 and got.shape == ()
    assert abs(got.item() - 5 / 6) < TOL


# ----------------------------------------------------------------------------- average_precision vs sklearn


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_equals_sklearn(ties, dtype):
    scores, target = _binary(ties=ties, dtype=dtype)
    got = ac.average_precision(scores, target)
    assert got.dtype == torch.float64 and got.shape == ()
    want = average_precision_score(target.numpy(), scores.double().numpy())
    _close(got, want)
    _close(got, brute_force_ap(scores.double().numpy(), target.numpy()))


@pytest.mark.parametrize("activation", ["auto", "sigmoid", None])
def test_binary_logits_rank_as_their_sigmoid(activation):
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(400, generator=g) * 3
    target = torch.randint(0, 2, (400,), generator=g)
    got = ac.average_precision(logits, target, activation=activation)
    _close(got, average_precision_score(target.numpy(), torch.sigmoid(logits.double()).numpy()))


def test_binary_two_column_head_scores_column_one():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(300, 2, generator=g)
    target = torch.randint(0, 2, (300,), generator=g)
    got = ac.average_precision(logits, target, task="binary")
    want = average_precision_score(target.numpy(), torch.softmax(logits, 1)[:, 1].double().numpy())
    _close(got, want)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("average", AVERAGES)
def test_multiclass_ovr_logits_equal_sklearn_on_softmax(average, ties):
    logits, target = _multiclass(ties=ties)
    got = ac.average_precision(logits, target, average=average)
    Y = label_binarize(target.numpy(), classes=range(5))
    want = average_precision_score(Y, torch.softmax(logits, 1).double().numpy(), average=average)
    assert got.dtype == torch.float64 and got.shape == (() if average else (5,))
    _close(got, want)


@pytest.mark.parametrize("average", AVERAGES)
def test_multiclass_explicit_softmax_and_probabilities_as_given(average):
    logits, target = _multiclass(seed=5, c=4)
    probs = torch.softmax(logits, 1)
    Y = label_binarize(target.numpy(), classes=range(4))
    want = average_precision_score(Y, probs.double().numpy(), average=average)
    _close(ac.average_precision(logits, target, average=average, activation="softmax"), want)
    _close(ac.average_precision(probs, target, average=average), want)  # in [0, 1], rows sum to 1: as given
    _close(ac.average_precision(probs, target, average=average, activation=None), want)


@pytest.mark.parametrize("activation", ["auto", "sigmoid", None])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("average", AVERAGES)
def test_multilabel_equals_sklearn(average, ties, activation):
    scores, target = _multilabel(ties=ties)
    got = ac.average_precision(scores, target, average=average, activation=activation)
    want = average_precision_score(target.numpy(), torch.sigmoid(scores.double()).numpy(), average=average)
    _close(got, want)


def test_multilabel_one_hot_target_is_read_as_multiclass_unless_told():
    logits, labels = _multiclass(n=300, c=3, seed=6)
    onehot = torch.nn.functional.one_hot(labels, 3)
    Y = onehot.numpy()
    with pytest.warns(InterpretationWarning):
        got = ac.average_precision(logits, onehot, average=None)
    _close(got, average_precision_score(Y, torch.softmax(logits, 1).double().numpy(), average=None))
    got = ac.average_precision(logits, onehot, average=None, task="multilabel")
    _close(got, average_precision_score(Y, logits.double().numpy(), average=None))


# ----------------------------------------------------------------------------- precision_recall_curve vs sklearn


@pytest.mark.parametrize("drop_intermediate", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_curve_equals_sklearn(ties, dtype, drop_intermediate):
    scores, target = _binary(n=300, ties=ties, dtype=dtype, seed=7)
    got = ac.precision_recall_curve(scores, target, drop_intermediate=drop_intermediate)
    want = sk_pr_curve(target.numpy(), scores.double().numpy(), drop_intermediate=drop_intermediate)
    _same_curve(got, want)
    if not drop_intermediate:
        _same_curve(got, brute_force_pr(scores.double().numpy(), target.numpy()))


def test_curve_default_keeps_every_threshold_as_sklearn():
    scores, target = _binary(n=200, ties=True, seed=8)
    _same_curve(ac.precision_recall_curve(scores, target), sk_pr_curve(target.numpy(), scores.double().numpy()))


def test_curve_final_point_and_orders():
    scores, target = _binary(n=200, seed=9)
    precision, recall, thresholds = ac.precision_recall_curve(scores, target)
    assert precision[-1] == 1 and recall[-1] == 0
    assert len(precision) == len(recall) == len(thresholds) + 1
    assert bool((torch.diff(thresholds) > 0).all()) and bool((torch.diff(recall) <= 0).all())


@pytest.mark.parametrize("drop_intermediate", [False, True])
def test_binary_curve_of_logits_has_probability_thresholds(drop_intermediate):
    g = torch.Generator().manual_seed(10)
    logits = torch.randn(300, generator=g) * 2
    target = torch.randint(0, 2, (300,), generator=g)
    want = sk_pr_curve(target.numpy(), torch.sigmoid(logits.double()).numpy(), drop_intermediate=drop_intermediate)
    for activation in ("auto", "sigmoid"):
        got = ac.precision_recall_curve(logits, target, activation=activation, drop_intermediate=drop_intermediate)
        _same_curve(got, want)
    got = ac.precision_recall_curve(logits, target, activation=None, drop_intermediate=drop_intermediate)
    _same_curve(got, sk_pr_curve(target.numpy(), logits.double().numpy(), drop_intermediate=drop_intermediate))


@pytest.mark.parametrize("drop_intermediate", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_multiclass_curves_are_one_vs_rest_on_softmax(ties, drop_intermediate):
    logits, target = _multiclass(n=300, c=4, ties=ties, seed=11)
    probs = torch.softmax(logits, 1).double().numpy()
    got = ac.precision_recall_curve(logits, target, drop_intermediate=drop_intermediate)
    assert isinstance(got, list) and len(got) == 4
    for c in range(4):
        _same_curve(got[c], sk_pr_curve(target.numpy() == c, probs[:, c], drop_intermediate=drop_intermediate))


@pytest.mark.parametrize("drop_intermediate", [False, True])
def test_multilabel_curves_per_label(drop_intermediate):
    scores, target = _multilabel(n=300, ties=True, seed=12)
    got = ac.precision_recall_curve(scores, target, activation=None, drop_intermediate=drop_intermediate)
    assert len(got) == 4
    for c in range(4):
        want = sk_pr_curve(target[:, c].numpy(), scores[:, c].double().numpy(), drop_intermediate=drop_intermediate)
        _same_curve(got[c], want)


@pytest.mark.parametrize("drop_intermediate", [False, True])
def test_micro_curves_are_every_entry_as_one_binary_problem(drop_intermediate):
    logits, target = _multiclass(n=200, c=4, ties=True, seed=13)
    Y = label_binarize(target.numpy(), classes=range(4))
    got = ac.precision_recall_curve(logits, target, average="micro", drop_intermediate=drop_intermediate)
    probs = torch.softmax(logits, 1).double().numpy()
    _same_curve(got, sk_pr_curve(Y.ravel(), probs.ravel(), drop_intermediate=drop_intermediate))
    scores, labels = _multilabel(n=200, ties=True, seed=14)
    got = ac.precision_recall_curve(
        scores, labels, average="micro", activation=None, drop_intermediate=drop_intermediate
    )
    _same_curve(
        got, sk_pr_curve(labels.numpy().ravel(), scores.double().numpy().ravel(), drop_intermediate=drop_intermediate)
    )


# ----------------------------------------------------------------------------- hypothesis: tie-heavy inputs


@st.composite
def tie_heavy_binary(draw, width):
    n = draw(st.integers(1, 40))
    levels = draw(st.lists(st.floats(-4, 4, width=width, allow_nan=False), min_size=1, max_size=5, unique=True))
    scores = draw(st.lists(st.sampled_from(levels), min_size=n, max_size=n))
    labels = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return scores, labels


@settings(max_examples=60, deadline=None)
@given(
    data=st.one_of(
        tie_heavy_binary(32).map(lambda d: (*d, torch.float32)), tie_heavy_binary(64).map(lambda d: (*d, torch.float64))
    ),
    drop_intermediate=st.booleans(),
)
def test_tie_heavy_binary_equals_sklearn_and_brute_force(data, drop_intermediate):
    scores, labels, dtype = data
    assume(any(labels))
    s = torch.tensor(scores, dtype=dtype)
    y = torch.tensor(labels)
    ref_scores = s.double().numpy()  # the values as stored (float32 rounding included)
    got = ac.average_precision(s, y, activation=None)
    want = brute_force_ap(ref_scores, labels)
    _close(got, want)
    _close(got, average_precision_score(labels, ref_scores))
    curve = ac.precision_recall_curve(s, y, activation=None, drop_intermediate=drop_intermediate)
    _same_curve(curve, sk_pr_curve(labels, ref_scores, drop_intermediate=drop_intermediate))
    if not drop_intermediate:
        _same_curve(curve, brute_force_pr(ref_scores, labels))


@st.composite
def tie_heavy_matrix(draw):
    n = draw(st.integers(2, 30))
    c = draw(st.integers(3, 4))
    levels = draw(st.lists(st.sampled_from([0.0, 0.125, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=4, unique=True))
    scores = draw(st.lists(st.sampled_from(levels), min_size=n * c, max_size=n * c))
    multilabel = draw(st.booleans())
    if multilabel:
        target = draw(st.lists(st.integers(0, 1), min_size=n * c, max_size=n * c))
    else:
        target = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    return np.array(scores).reshape(n, c), np.array(target).reshape((n, c) if multilabel else n), multilabel, dtype


@settings(max_examples=60, deadline=None)
@given(data=tie_heavy_matrix(), average=st.sampled_from(AVERAGES))
def test_tie_heavy_multiclass_and_multilabel_equal_sklearn(data, average):
    scores, target, multilabel, dtype = data
    c = scores.shape[1]
    s = torch.tensor(scores, dtype=dtype)
    t = torch.tensor(target)
    Y = target if multilabel else label_binarize(target, classes=range(c))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes without positives, rows that do not sum to 1
        got = ac.average_precision(
            s, t, average=average, activation=None, task="multilabel" if multilabel else "multiclass"
        )
        want = _sk(Y, s.double().numpy(), average)
    _close(got, want)
    if average is None:
        for k in range(c):
            _close(got[k], brute_force_ap(s[:, k].double().numpy(), Y[:, k]))


# ----------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("prevalence", [1, 3, 7])
def test_every_score_tied_is_the_prevalence(prevalence):
    s = torch.full((10,), 0.25)
    y = torch.tensor([1] * prevalence + [0] * (10 - prevalence))
    _close(ac.average_precision(s, y), prevalence / 10)
    _close(ac.average_precision(s, y), average_precision_score(y.numpy(), s.double().numpy()))
    _same_curve(ac.precision_recall_curve(s, y), ([prevalence / 10, 1.0], [1.0, 0.0], [0.25]))
    _same_curve(ac.precision_recall_curve(s, y, drop_intermediate=True), sk_pr_curve(y.numpy(), s.double().numpy()))


@pytest.mark.parametrize("position", [0, 3, 9])
def test_one_positive_is_one_over_its_rank(position):
    s = torch.arange(10, dtype=torch.float64) / 10  # distinct, ascending
    y = torch.zeros(10, dtype=torch.long)
    y[position] = 1
    rank = 10 - position  # scores at or above the positive's
    _close(ac.average_precision(s, y), 1 / rank)
    _close(ac.average_precision(s, y), average_precision_score(y.numpy(), s.numpy()))


def test_one_positive_tied_with_negatives():
    s = torch.tensor([0.9, 0.5, 0.5, 0.5, 0.1])
    y = torch.tensor([0, 0, 1, 0, 0])
    _close(ac.average_precision(s, y), 1 / 4)  # one threshold at 0.5: 1 of the 4 scores >= 0.5
    _close(ac.average_precision(s, y), average_precision_score(y.numpy(), s.double().numpy()))


def test_one_sample():
    _close(ac.average_precision(torch.tensor([0.3]), torch.tensor([1])), 1.0)
    _close(ac.average_precision(torch.tensor(0.3), torch.tensor([1])), 1.0)  # a 0-d score next to one sample


def test_no_positive_is_nan_with_exactly_one_warning():
    s, y = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.zeros(4, dtype=torch.long)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.average_precision(s, y)
    assert torch.isnan(got) and got.dtype == torch.float64
    assert len(_undefined_warnings(record)) == 1


def test_curve_without_positive_warns_once_and_has_nan_recall():
    s, y = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.zeros(4, dtype=torch.long)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        precision, recall, thresholds = ac.precision_recall_curve(s, y)
    assert len(_undefined_warnings(record)) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk_p, _, sk_t = sk_pr_curve(y.numpy(), s.double().numpy())
    _close(precision, sk_p)
    _close(thresholds, sk_t)
    assert torch.isnan(recall[:-1]).all() and recall[-1] == 0  # documented: NaN (scikit-learn: 1)


@pytest.mark.parametrize("average", AVERAGES)
def test_multiclass_class_without_positives_is_nan_left_out_with_one_warning(average):
    logits, target = _multiclass(n=300, c=4, seed=15)
    target[target == 2] = 0  # class 2 has no positives
    Y = label_binarize(target.numpy(), classes=range(4))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.average_precision(logits, target, average=average)
    assert len(_undefined_warnings(record)) == (0 if average == "micro" else 1)
    want = _sk(Y, torch.softmax(logits, 1).double().numpy(), average)
    _close(got, want)
    if average is None:
        assert torch.isnan(got[2]) and not torch.isnan(got[[0, 1, 3]]).any()
    if average in ("macro", "weighted"):  # left out: the average of the other classes, by sklearn
        sk = average_precision_score(
            Y[:, [0, 1, 3]], torch.softmax(logits, 1).double().numpy()[:, [0, 1, 3]], average=average
        )
        _close(got, sk)


@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_multilabel_label_without_positives_is_nan_left_out_with_one_warning(average):
    scores, target = _multilabel(n=200, seed=16)
    target[:, 1] = 0
    target[:, 3] = 0
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.average_precision(scores, target, average=average)
    assert len(_undefined_warnings(record)) == 1  # one warning naming both labels
    _close(got, _sk(target.numpy(), scores.double().numpy(), average))


def test_micro_without_any_positive_entry_is_nan_with_one_warning():
    scores = torch.rand(20, 3)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.average_precision(scores, torch.zeros(20, 3, dtype=torch.long), average="micro")
    assert torch.isnan(got) and len(_undefined_warnings(record)) == 1


def test_every_class_without_positives_macro_is_nan():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.average_precision(torch.rand(20, 3), torch.zeros(20, 3, dtype=torch.long), average="macro")
    assert torch.isnan(got) and len(_undefined_warnings(record)) == 1


def test_no_negatives_is_one():
    s = torch.rand(30)
    _close(ac.average_precision(s, torch.ones(30, dtype=torch.long)), 1.0)
    assert average_precision_score(np.ones(30), s.double().numpy()) == 1.0
    scores, target = _multilabel(n=100, seed=17)
    target[:, 0] = 1
    got = ac.average_precision(scores, target, average=None)
    _close(got[0], 1.0)
    _close(got, average_precision_score(target.numpy(), scores.double().numpy(), average=None))


def test_binary_ignore_index_drops_samples():
    scores, target = _binary(n=300, ties=True, seed=18)
    target[::7] = -100
    keep = (target != -100).numpy()
    got = ac.average_precision(scores, target, ignore_index=-100)
    _close(got, average_precision_score(target.numpy()[keep], scores.double().numpy()[keep]))
    curve = ac.precision_recall_curve(scores, target, ignore_index=-100)
    _same_curve(curve, sk_pr_curve(target.numpy()[keep], scores.double().numpy()[keep]))


@pytest.mark.parametrize("average", AVERAGES)
def test_multiclass_ignore_index_drops_samples(average):
    logits, target = _multiclass(n=300, c=4, ties=True, seed=19)
    target[::5] = -1
    keep = (target != -1).numpy()
    Y = label_binarize(target.numpy()[keep], classes=range(4))
    got = ac.average_precision(logits, target, ignore_index=-1, average=average)
    _close(got, average_precision_score(Y, torch.softmax(logits, 1).double().numpy()[keep], average=average))


@pytest.mark.parametrize("average", AVERAGES)
def test_multilabel_ignore_index_drops_entries(average):
    scores, target = _multilabel(n=300, ties=True, seed=20)
    g = torch.Generator().manual_seed(21)
    target[torch.rand(target.shape, generator=g) < 0.2] = -1
    valid = (target != -1).numpy()
    got = ac.average_precision(scores, target, ignore_index=-1, average=average)
    _close(got, _sk(target.numpy() == 1, scores.double().numpy(), average, valid=valid))
    curves = ac.precision_recall_curve(scores, target, ignore_index=-1, activation=None)
    for c in range(4):
        v = valid[:, c]
        _same_curve(curves[c], sk_pr_curve(target.numpy()[v, c], scores.double().numpy()[v, c]))


@pytest.mark.parametrize("pos_label", [2, 7])
def test_pos_label_picks_the_positive_label(pos_label):
    scores, zero_one = _binary(n=200, ties=True, seed=22)
    target = torch.where(zero_one == 1, 7, 2)
    got = ac.average_precision(scores, target, pos_label=pos_label)
    y, s = target.numpy(), scores.double().numpy()
    _close(got, average_precision_score(y, s, pos_label=pos_label))
    _same_curve(ac.precision_recall_curve(scores, target, pos_label=pos_label), sk_pr_curve(y, s, pos_label=pos_label))


def test_minus_one_one_labels_and_bool_and_float_targets():
    scores, zero_one = _binary(n=200, ties=True, seed=23)
    want = average_precision_score(zero_one.numpy(), scores.double().numpy())
    _close(ac.average_precision(scores, zero_one * 2 - 1), want)
    _close(ac.average_precision(scores, zero_one.bool()), want)
    _close(ac.average_precision(scores, zero_one.double()), want)
    _close(ac.average_precision(scores.unsqueeze(1), zero_one.unsqueeze(1)), want)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_cpu_inputs_rank_their_stored_values(dtype):
    g = torch.Generator().manual_seed(24)
    scores = torch.rand(400, generator=g).to(dtype)  # rounding creates ties
    target = torch.randint(0, 2, (400,), generator=g)
    stored = scores.double().numpy()
    got = ac.average_precision(scores, target)
    assert got.dtype == torch.float64
    _close(got, average_precision_score(target.numpy(), stored))
    _same_curve(ac.precision_recall_curve(scores, target), sk_pr_curve(target.numpy(), stored))
    ml_scores, ml_target = _multilabel(n=200, seed=25)
    ml_scores = ml_scores.to(dtype)
    _close(
        ac.average_precision(ml_scores, ml_target, average=None),
        average_precision_score(ml_target.numpy(), ml_scores.double().numpy(), average=None),
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_multiclass_logits_are_softmaxed_in_float32(dtype):
    logits, target = _multiclass(n=300, c=4, seed=26)
    logits = logits.to(dtype)
    Y = label_binarize(target.numpy(), classes=range(4))
    want = average_precision_score(Y, torch.softmax(logits.float(), 1).double().numpy(), average=None)
    _close(ac.average_precision(logits, target, average=None), want)


def test_integer_hard_label_predictions_are_scored_with_a_warning():
    y = torch.tensor([1, 0, 0, 1, 1, 0])
    pred = torch.tensor([1, 0, 1, 1, 0, 0])
    with pytest.warns(InterpretationWarning):
        got = ac.average_precision(pred, y)
    _close(got, average_precision_score(y.numpy(), pred.numpy().astype(np.float64)))


def test_infinite_scores_are_ranked():
    s = torch.tensor([-math.inf, 0.2, math.inf, 0.5, math.inf])
    y = torch.tensor([0, 1, 1, 0, 0])
    _close(ac.average_precision(s, y, activation=None), brute_force_ap(s.numpy(), y.numpy()))


def test_signed_zeros_are_one_threshold():
    s = torch.tensor([-0.0, 0.0, 1.0, 0.0, -0.0])
    y = torch.tensor([0, 1, 1, 0, 1])
    _close(ac.average_precision(s, y), brute_force_ap(s.numpy(), y.numpy()))
    precision, recall, thresholds = ac.precision_recall_curve(s, y)
    assert thresholds.numel() == 2
    _close(precision, [3 / 5, 1.0, 1.0])
    _close(recall, [1.0, 1 / 3, 0.0])


def test_float64_near_ties_and_extremes_stay_distinct():
    s = torch.tensor(
        [1.0, 1.0 + 2.2e-16, 1.0 + 4.4e-16, 1 - 1.1e-16, 5e-324, 0.0, -5e-324, 1e300, -1e300], dtype=torch.float64
    )
    y = torch.tensor([0, 1, 0, 1, 1, 0, 1, 0, 1])
    _close(ac.average_precision(s, y, activation=None), average_precision_score(y.numpy(), s.numpy()))
    _close(ac.average_precision(s, y, activation=None), brute_force_ap(s.numpy(), y.numpy()))
    curve = ac.precision_recall_curve(s, y, activation=None)
    _same_curve(curve, sk_pr_curve(y.numpy(), s.numpy()))
    assert curve[2].numel() == 9


def test_large_inputs_equal_sklearn():
    g = torch.Generator().manual_seed(27)
    n = 100_000
    s = (torch.rand(n, generator=g) * 1000).round() / 1000
    y = (torch.rand(n, generator=g) < 0.1).long()
    _close(ac.average_precision(s, y), average_precision_score(y.numpy(), s.double().numpy()))
    s64 = torch.rand(n, generator=g, dtype=torch.float64)
    _close(ac.average_precision(s64, y), average_precision_score(y.numpy(), s64.numpy()))
    logits, target = torch.randn(10_000, 60, generator=g), torch.randint(0, 60, (10_000,), generator=g)
    Y = label_binarize(target.numpy(), classes=range(60))
    probs = torch.softmax(logits, 1).double().numpy()
    for average in AVERAGES:
        _close(
            ac.average_precision(logits, target, average=average), average_precision_score(Y, probs, average=average)
        )


def test_multiclass_curve_of_class_without_positives_warns_once():
    logits, target = _multiclass(n=200, c=4, seed=28)
    target[target == 3] = 1
    probs = torch.softmax(logits, 1).double().numpy()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        curves = ac.precision_recall_curve(logits, target)
    assert len(_undefined_warnings(record)) == 1
    for c in range(3):
        _same_curve(curves[c], sk_pr_curve(target.numpy() == c, probs[:, c]))
    assert torch.isnan(curves[3][1][:-1]).all()


# ----------------------------------------------------------------------------- the accumulator's average precision


def _accumulate(preds, target, size=70, **options):
    acc = ac.AUROCAccumulator(**options)
    for i in range(0, len(target), size):
        acc.update(preds[i : i + size], target[i : i + size])
    return acc


@pytest.mark.parametrize("average", AVERAGES)
def test_accumulator_average_precision_over_batches_equals_sklearn(average):
    logits, target = _multiclass(n=400, c=4, ties=True, seed=29)
    Y = label_binarize(target.numpy(), classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()
    want = average_precision_score(Y, probs, average=average)
    for multi_class in ("ovr",) if average == "micro" else ("ovr", "ovo"):  # one-vs-rest whatever multi_class says
        acc = _accumulate(logits, target, average=average, multi_class=multi_class)
        ap = acc.compute_average_precision()
        _close(ap.value, want)
        _close(ap.per_class, average_precision_score(Y, probs, average=None))
        assert ap.support.tolist() == Y.sum(0).tolist() and ap.num_samples == 400
        _close(acc.compute_metrics(auroc=False, average_precision=True).ap.value, want)
    scores, labels = _multilabel(n=300, ties=True, seed=30)
    acc = _accumulate(scores, labels, average=average)
    _close(
        acc.compute_average_precision().value,
        average_precision_score(labels.numpy(), scores.double().numpy(), average=average),
    )
    curves = acc.compute_pr_curves()  # logits: thresholds on the sigmoid scale, as the functional curve
    for c in range(4):
        _same_curve(curves[c], sk_pr_curve(labels[:, c].numpy(), torch.sigmoid(scores[:, c].double()).numpy()))


def test_accumulator_metrics_where_auroc_and_ap_are_defined_for_different_labels():
    scores, labels = _multilabel(n=300, c=5, seed=31)
    labels[:, 1] = 1  # AP 1, AUROC undefined
    labels[:, 3] = 0  # both undefined
    acc = _accumulate(scores, labels, average=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        m = acc.compute_metrics(auroc=True, average_precision=True)
    Y, S = labels.numpy(), scores.double().numpy()
    _close(m.ap.per_class, _sk(Y, S, None))
    from sklearn.metrics import roc_auc_score

    want = [roc_auc_score(Y[:, k], S[:, k]) if 0 < Y[:, k].sum() < 300 else math.nan for k in range(5)]
    _close(m.auroc.per_class, want)
    _close(m.ap.per_class[1], 1.0)


def test_accumulator_average_precision_state_dict_round_trip():
    scores, target = _binary(n=300, ties=True, seed=32)
    acc = _accumulate(scores[:150], target[:150])
    resumed = ac.AUROCAccumulator()
    resumed.load_state_dict(acc.state_dict())
    resumed.update(scores[150:], target[150:])
    _close(resumed.compute_average_precision().value, average_precision_score(target.numpy(), scores.double().numpy()))


# ----------------------------------------------------------------------------- bad input


P4, T4 = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])


@pytest.mark.parametrize("fn", [ac.average_precision, ac.precision_recall_curve])
@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(activation="relu"), ValueError, "activation"),
        (dict(task="regression"), ValueError, "task"),
        (dict(num_classes=3), ValueError, "num_classes"),
        (dict(ignore_index="a"), TypeError, "ignore_index"),
        (dict(ignore_index=1.5), TypeError, "ignore_index"),
        (dict(pos_label=5), ValueError, "pos_label"),
    ],
)
def test_bad_options_name_the_argument(fn, kwargs, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        fn(P4, T4, **kwargs)


@pytest.mark.parametrize("average", ["bogus", "samples", 1])
def test_bad_average_names_the_argument(average):
    with pytest.raises((ValueError, TypeError), match="`average`"):
        ac.average_precision(P4, T4, average=average)


@pytest.mark.parametrize("average", ["macro", "weighted", "bogus"])
def test_curve_refuses_averages_other_than_micro(average):
    with pytest.raises(ValueError, match="`average`"):
        ac.precision_recall_curve(torch.rand(6, 3), torch.tensor([0, 1, 2, 0, 1, 2]), average=average)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_curve_drop_intermediate_must_be_bool(value):
    with pytest.raises(TypeError, match="`drop_intermediate`"):
        ac.precision_recall_curve(P4, T4, drop_intermediate=value)


@pytest.mark.parametrize("fn", [ac.average_precision, ac.precision_recall_curve])
@pytest.mark.parametrize(
    "preds, target, error, name",
    [
        (np.array([0.1, 0.4, 0.35, 0.8]), T4, TypeError, "preds"),
        ([0.1, 0.4, 0.35, 0.8], T4, TypeError, "preds"),
        (P4, [0, 0, 1, 1], TypeError, "target"),
        (P4, np.array([0, 0, 1, 1]), TypeError, "target"),
        (P4, T4[:3], ValueError, "preds"),
        (torch.rand(4, 2, 2), T4, ValueError, "preds"),
        (P4, torch.tensor([0, 1, 3, 1]), ValueError, "target"),
        (torch.tensor([0.1, math.nan, 0.3, 0.4]), T4, ValueError, "preds"),
        (torch.empty(0), torch.empty(0, dtype=torch.long), ValueError, "preds"),
    ],
)
def test_bad_tensors_name_the_argument(fn, preds, target, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        fn(preds, target)


def test_multiclass_bad_options_name_the_argument():
    p, t = torch.rand(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="`pos_label`"):
        ac.average_precision(p, t, pos_label=1)
    with pytest.raises(ValueError, match="`num_classes`"):
        ac.average_precision(p, t, num_classes=4)
    with pytest.raises(ValueError, match="`target`"):
        ac.average_precision(p, torch.tensor([0, 1, 3, 0, 1, 2]))
