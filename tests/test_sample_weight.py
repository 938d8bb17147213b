"""``sample_weight=`` on ac.auroc / auroc_scores / roc_curve / average_precision / precision_recall_curve, and
``AUROCAccumulator.update(..., weight=...)``, against scikit-learn's ``sample_weight=``.

References, never this library's code: scikit-learn's ``roc_auc_score``, ``roc_curve``,
``average_precision_score`` and ``precision_recall_curve`` with ``sample_weight`` (one-vs-rest through
``label_binarize``), scikit-learn on the subset of nonzero weights or on integer-weighted samples repeated,
and the weighted brute-force references below (pairwise weight products for the AUROC, every threshold for the AP).
"""

import io
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.metrics import precision_recall_curve as sk_pr_curve
from sklearn.metrics import roc_curve as sk_roc_curve
from sklearn.preprocessing import label_binarize

import auroc_callbacks as ac

TOL = 1e-12
AVERAGES = ["macro", "weighted", "micro", None]


# ----------------------------------------------------------------------------- references


def brute_force_weighted_auroc(scores, labels, weight) -> float:
    """``sum w_i w_j ([s_i > s_j] + [s_i = s_j] / 2) / (W+ W-)`` over (positive i, negative j) pairs."""
    s, y, w = np.asarray(scores, np.float64), np.asarray(labels).astype(bool), np.asarray(weight, np.float64)
    wp, wn = w[y], w[~y]
    if wp.sum() == 0 or wn.sum() == 0:
        return math.nan
    p, q = s[y][:, None], s[~y][None, :]
    pair = wp[:, None] * wn[None, :]
    return float(((p > q) * pair).sum() + 0.5 * ((p == q) * pair).sum()) / (wp.sum() * wn.sum())


def brute_force_weighted_ap(scores, labels, weight) -> float:
    """``sum_n (R_n - R_{n-1}) P_n`` over every distinct threshold with weighted counts."""
    s, y, w = np.asarray(scores, np.float64), np.asarray(labels).astype(bool), np.asarray(weight, np.float64)
    total = w[y].sum()
    if total == 0:
        return math.nan
    ap, prev = 0.0, 0.0
    for t in sorted(set(s.tolist()), reverse=True):
        above = s >= t
        tp, fp = w[above & y].sum(), w[above & ~y].sum()
        if tp + fp == 0:
            continue  # only zero weights so far: recall 0, nothing added
        ap += (tp / total - prev) * tp / (tp + fp)
        prev = tp / total
    return ap


def _sk_auroc(y, s, w) -> float:
    y, s, w = np.asarray(y).astype(bool), np.asarray(s, np.float64), np.asarray(w, np.float64)
    if w[y].sum() == 0 or w[~y].sum() == 0:
        return math.nan
    return float(roc_auc_score(y, s, sample_weight=w))


def _sk_ap(y, s, w) -> float:
    y, s, w = np.asarray(y).astype(bool), np.asarray(s, np.float64), np.asarray(w, np.float64)
    if w[y].sum() == 0:
        return math.nan
    return float(average_precision_score(y, s, sample_weight=w))


def _sk(metric, Y, S, w, average, valid=None):
    """scikit-learn per column of 0/1 ``Y`` (N, C), weights ``w`` (N,); undefined columns NaN and left out."""
    one = _sk_auroc if metric == "auroc" else _sk_ap
    Y, S, w = np.asarray(Y).astype(bool), np.asarray(S, np.float64), np.asarray(w, np.float64)
    valid = np.ones(Y.shape, bool) if valid is None else np.asarray(valid, bool)
    W = np.broadcast_to(w[:, None], Y.shape)
    if average == "micro":
        return one(Y[valid], S[valid], W[valid])
    per = np.array([one(Y[valid[:, c], c], S[valid[:, c], c], w[valid[:, c]]) for c in range(Y.shape[1])])
    if average is None:
        return per
    ok = ~np.isnan(per)
    weights = np.ones(len(per)) if average == "macro" else (W * (Y & valid)).sum(0)
    return float((per[ok] * weights[ok]).sum() / weights[ok].sum()) if ok.any() else math.nan


def _close(got, want, tol=TOL):
    got = got.numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=0, atol=tol, equal_nan=True)


def _same_curve(got, want):
    for g, w in zip(got, want):
        assert isinstance(g, torch.Tensor) and g.dtype == torch.float64
        assert g.shape == (len(w),), (g.shape, len(w))
        _close(g, w)


def _undefined(record):
    return [w for w in record if issubclass(w.category, ac.UndefinedAUROCWarning)]


def _weights(n, seed, kind="float", zeros=0.2):
    g = torch.Generator().manual_seed(seed)
    if kind == "float":
        w = torch.rand(n, generator=g, dtype=torch.float64) * 3
    elif kind == "dyadic":  # exact sums: curves compare bit for bit
        w = torch.randint(0, 12, (n,), generator=g).double() / 4
    else:
        w = torch.randint(0, 5, (n,), generator=g)
    w[torch.rand(n, generator=g) < zeros] = 0
    return w


def _binary(n=400, ties=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(n, generator=g, dtype=torch.float64)
    if ties:
        s = (s * 10).round() / 10
    return s.float(), torch.randint(0, 2, (n,), generator=g)


def _multiclass(n=500, c=4, ties=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g)
    if ties:
        logits = (logits * 2).round() / 2
    return logits, torch.randint(0, c, (n,), generator=g)


def _multilabel(n=400, c=4, ties=False, seed=1):
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(n, c, generator=g)
    if ties:
        s = (s * 6).round() / 6
    return s, torch.randint(0, 2, (n, c), generator=g)


def test_brute_force_references_agree_with_sklearn():
    s, y = _binary(n=60, ties=True, seed=99)
    w = _weights(60, 98)
    _close(brute_force_weighted_auroc(s.double(), y, w), roc_auc_score(y, s.double(), sample_weight=w))
    _close(brute_force_weighted_ap(s.double(), y, w), average_precision_score(y, s.double(), sample_weight=w))


# ----------------------------------------------------------------------------- binary vs sklearn


@pytest.mark.parametrize("kind", ["float", "dyadic", "int"])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_auroc_and_ap_equal_sklearn(ties, kind):
    s, y = _binary(ties=ties)
    w = _weights(len(y), 1, kind)
    sd, wn = s.double().numpy(), w.numpy().astype(np.float64)
    _close(ac.auroc(s, y, sample_weight=w), roc_auc_score(y.numpy(), sd, sample_weight=wn))
    _close(ac.average_precision(s, y, sample_weight=w), average_precision_score(y.numpy(), sd, sample_weight=wn))
    scores = ac.auroc_scores(s, y, sample_weight=w)
    _close(scores.per_class, [roc_auc_score(y.numpy(), sd, sample_weight=wn)])


@pytest.mark.parametrize("max_fpr", [0.1, 0.5])
def test_binary_partial_auroc_equals_sklearn(max_fpr):
    s, y = _binary(ties=True, seed=2)
    w = _weights(len(y), 3)
    want = roc_auc_score(y.numpy(), s.double().numpy(), sample_weight=w.numpy(), max_fpr=max_fpr)
    _close(ac.auroc(s, y, sample_weight=w, max_fpr=max_fpr), want)


@pytest.mark.parametrize("drop_intermediate", [False, True])
@pytest.mark.parametrize("kind", ["float", "dyadic", "int"])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_curves_equal_sklearn(ties, kind, drop_intermediate):
    s, y = _binary(n=300, ties=ties, seed=4)
    w = _weights(len(y), 5, kind)
    sd, wn = s.double().numpy(), w.numpy().astype(np.float64)
    got = ac.roc_curve(s, y, sample_weight=w, drop_intermediate=drop_intermediate)
    _same_curve(got, sk_roc_curve(y.numpy(), sd, sample_weight=wn, drop_intermediate=drop_intermediate))
    got = ac.precision_recall_curve(s, y, sample_weight=w, drop_intermediate=drop_intermediate)
    _same_curve(got, sk_pr_curve(y.numpy(), sd, sample_weight=wn, drop_intermediate=drop_intermediate))


def test_binary_logit_curves_with_weights_have_probability_thresholds():
    g = torch.Generator().manual_seed(6)
    logits = torch.randn(200, generator=g) * 2
    y = torch.randint(0, 2, (200,), generator=g)
    w = _weights(200, 7, "dyadic")
    probs = torch.sigmoid(logits.double()).numpy()
    _same_curve(ac.roc_curve(logits, y, sample_weight=w), sk_roc_curve(y.numpy(), probs, sample_weight=w.numpy()))
    _same_curve(
        ac.precision_recall_curve(logits, y, sample_weight=w), sk_pr_curve(y.numpy(), probs, sample_weight=w.numpy())
    )
    _close(
        ac.average_precision(logits, y, sample_weight=w),
        average_precision_score(y.numpy(), probs, sample_weight=w.numpy()),
    )


# ----------------------------------------------------------------------------- multiclass and multilabel vs sklearn


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("average", AVERAGES)
def test_multiclass_ovr_equals_sklearn(average, ties):
    logits, target = _multiclass(ties=ties)
    w = _weights(len(target), 8)
    Y = label_binarize(target.numpy(), classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()
    got = ac.auroc(logits, target, average=average, sample_weight=w)
    _close(got, roc_auc_score(Y, probs, average=average, sample_weight=w.numpy()))
    got = ac.average_precision(logits, target, average=average, sample_weight=w)
    _close(got, average_precision_score(Y, probs, average=average, sample_weight=w.numpy()))


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("average", AVERAGES)
def test_multilabel_equals_sklearn(average, ties):
    scores, target = _multilabel(ties=ties)
    w = _weights(len(target), 9, "int")
    Y, S, wn = target.numpy(), scores.double().numpy(), w.numpy().astype(np.float64)
    _close(
        ac.auroc(scores, target, average=average, sample_weight=w),
        roc_auc_score(Y, S, average=average, sample_weight=wn),
    )
    _close(
        ac.average_precision(scores, target, average=average, sample_weight=w),
        average_precision_score(Y, S, average=average, sample_weight=wn),
    )


@pytest.mark.parametrize("metric", ["auroc", "ap"])
@pytest.mark.parametrize("average", AVERAGES)
def test_multilabel_ignore_index_with_weights(average, metric):
    scores, target = _multilabel(ties=True, seed=10)
    g = torch.Generator().manual_seed(11)
    target[torch.rand(target.shape, generator=g) < 0.25] = -1
    w = _weights(len(target), 12)
    fn = ac.auroc if metric == "auroc" else ac.average_precision
    got = fn(scores, target, average=average, ignore_index=-1, sample_weight=w)
    _close(
        got, _sk(metric, target.numpy() == 1, scores.double().numpy(), w.numpy(), average, valid=(target != -1).numpy())
    )


@pytest.mark.parametrize("metric", ["auroc", "ap"])
@pytest.mark.parametrize("average", AVERAGES)
def test_multiclass_ignore_index_drops_samples_and_their_weights(average, metric):
    logits, target = _multiclass(ties=True, seed=13)
    target[::6] = -100
    w = _weights(len(target), 14)
    keep = (target != -100).numpy()
    fn = ac.auroc if metric == "auroc" else ac.average_precision
    got = fn(logits, target, average=average, ignore_index=-100, sample_weight=w)
    Y = label_binarize(target.numpy()[keep], classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()[keep]
    _close(got, _sk(metric, Y, probs, w.numpy()[keep], average))


def test_binary_ignore_index_drops_samples_and_their_weights():
    s, y = _binary(ties=True, seed=15)
    y[::5] = -1
    w = _weights(len(y), 16)
    keep = (y != -1).numpy()
    args = (y.numpy()[keep], s.double().numpy()[keep])
    kw = dict(sample_weight=w.numpy()[keep])
    _close(ac.auroc(s, y, ignore_index=-1, sample_weight=w), roc_auc_score(*args, **kw))
    _close(ac.average_precision(s, y, ignore_index=-1, sample_weight=w), average_precision_score(*args, **kw))
    _same_curve(ac.roc_curve(s, y, ignore_index=-1, sample_weight=w), sk_roc_curve(*args, **kw))
    _same_curve(ac.precision_recall_curve(s, y, ignore_index=-1, sample_weight=w), sk_pr_curve(*args, **kw))


@pytest.mark.parametrize("drop_intermediate", [False, True])
def test_multiclass_and_multilabel_curves_equal_sklearn(drop_intermediate):
    logits, target = _multiclass(n=300, ties=True, seed=17)
    w = _weights(300, 18, "dyadic")
    probs = torch.softmax(logits, 1).double().numpy()
    kw = dict(sample_weight=w.numpy(), drop_intermediate=drop_intermediate)
    rocs = ac.roc_curve(logits, target, sample_weight=w, drop_intermediate=drop_intermediate)
    prs = ac.precision_recall_curve(logits, target, sample_weight=w, drop_intermediate=drop_intermediate)
    for c in range(4):
        _same_curve(rocs[c], sk_roc_curve(target.numpy() == c, probs[:, c], **kw))
        _same_curve(prs[c], sk_pr_curve(target.numpy() == c, probs[:, c], **kw))
    Y = label_binarize(target.numpy(), classes=range(4))
    micro_kw = dict(sample_weight=np.repeat(w.numpy(), 4), drop_intermediate=drop_intermediate)
    _same_curve(
        ac.roc_curve(logits, target, sample_weight=w, average="micro", drop_intermediate=drop_intermediate),
        sk_roc_curve(Y.ravel(), probs.ravel(), **micro_kw),
    )
    _same_curve(
        ac.precision_recall_curve(
            logits, target, sample_weight=w, average="micro", drop_intermediate=drop_intermediate
        ),
        sk_pr_curve(Y.ravel(), probs.ravel(), **micro_kw),
    )
    scores, labels = _multilabel(n=300, ties=True, seed=19)
    prs = ac.precision_recall_curve(scores, labels, sample_weight=w, drop_intermediate=drop_intermediate)
    rocs = ac.roc_curve(scores, labels, sample_weight=w, drop_intermediate=drop_intermediate)
    for c in range(4):
        _same_curve(prs[c], sk_pr_curve(labels[:, c].numpy(), scores[:, c].double().numpy(), **kw))
        _same_curve(rocs[c], sk_roc_curve(labels[:, c].numpy(), scores[:, c].double().numpy(), **kw))


def test_auroc_scores_per_class_and_support():
    logits, target = _multiclass(ties=True, seed=20)
    w = _weights(len(target), 21)
    s = ac.auroc_scores(logits, target, average="weighted", sample_weight=w)
    Y = label_binarize(target.numpy(), classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()
    _close(s.per_class, roc_auc_score(Y, probs, average=None, sample_weight=w.numpy()))
    _close(s.value, roc_auc_score(Y, probs, average="weighted", sample_weight=w.numpy()))
    # documented: the number of positive samples (int64), whatever their weights
    assert s.support.dtype == torch.int64 and s.support.tolist() == Y.sum(0).tolist()
    assert s.num_samples == len(target)


# ----------------------------------------------------------------------------- weights of special kinds


def test_zero_weights_equal_dropping_those_samples():
    s, y = _binary(ties=True, seed=22)
    w = _weights(len(y), 23, "dyadic", zeros=0.4)
    keep = (w > 0).numpy()
    ys, ss = y.numpy()[keep], s.double().numpy()[keep]
    ones = torch.where(w > 0, 1.0, 0.0).double()
    _close(ac.auroc(s, y, sample_weight=ones), roc_auc_score(ys, ss))
    _close(ac.average_precision(s, y, sample_weight=ones), average_precision_score(ys, ss))
    for drop in (False, True):
        _same_curve(
            ac.roc_curve(s, y, sample_weight=ones, drop_intermediate=drop), sk_roc_curve(ys, ss, drop_intermediate=drop)
        )
        _same_curve(
            ac.precision_recall_curve(s, y, sample_weight=ones, drop_intermediate=drop),
            sk_pr_curve(ys, ss, drop_intermediate=drop),
        )
    # and with other weights on the kept samples: sklearn on the subset with those weights
    kept = dict(sample_weight=w.numpy()[keep])
    _close(ac.auroc(s, y, sample_weight=w), roc_auc_score(ys, ss, **kept))
    _close(ac.average_precision(s, y, sample_weight=w), average_precision_score(ys, ss, **kept))
    _same_curve(ac.roc_curve(s, y, sample_weight=w), sk_roc_curve(ys, ss, **kept))
    _same_curve(ac.precision_recall_curve(s, y, sample_weight=w), sk_pr_curve(ys, ss, **kept))


@pytest.mark.parametrize("average", AVERAGES)
def test_multiclass_zero_weights_equal_dropping_those_samples(average):
    logits, target = _multiclass(ties=True, seed=24)
    w = _weights(len(target), 25, zeros=0.5) > 0
    keep = w.numpy()
    Y = label_binarize(target.numpy()[keep], classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()[keep]
    _close(ac.auroc(logits, target, average=average, sample_weight=w), roc_auc_score(Y, probs, average=average))
    _close(
        ac.average_precision(logits, target, average=average, sample_weight=w),
        average_precision_score(Y, probs, average=average),
    )


def test_bool_weights_select_samples():
    s, y = _binary(ties=True, seed=26)
    w = torch.arange(len(y)) % 3 != 0
    keep = w.numpy()
    ys, ss = y.numpy()[keep], s.double().numpy()[keep]
    _close(ac.auroc(s, y, sample_weight=w), roc_auc_score(ys, ss))
    _close(ac.average_precision(s, y, sample_weight=w), average_precision_score(ys, ss))
    _same_curve(ac.precision_recall_curve(s, y, sample_weight=w), sk_pr_curve(ys, ss))
    _same_curve(ac.roc_curve(s, y, sample_weight=w), sk_roc_curve(ys, ss))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.float32, torch.float64])
def test_integer_weights_equal_repeating_samples(dtype):
    s, y = _binary(n=150, ties=True, seed=27)
    w = _weights(150, 28, "int").to(dtype)
    reps = w.long().numpy()
    ys, ss = np.repeat(y.numpy(), reps), np.repeat(s.double().numpy(), reps)
    _close(ac.auroc(s, y, sample_weight=w), roc_auc_score(ys, ss))
    _close(ac.average_precision(s, y, sample_weight=w), average_precision_score(ys, ss))
    _same_curve(ac.precision_recall_curve(s, y, sample_weight=w), sk_pr_curve(ys, ss))
    _same_curve(
        ac.roc_curve(s, y, sample_weight=w, drop_intermediate=False), sk_roc_curve(ys, ss, drop_intermediate=False)
    )


def test_constant_weights_change_nothing():
    logits, target = _multiclass(ties=True, seed=29)
    for average in AVERAGES:
        for fn in (ac.auroc, ac.average_precision):
            plain = fn(logits, target, average=average)
            _close(fn(logits, target, average=average, sample_weight=torch.full((len(target),), 2.5)), plain)


def test_column_weight_and_zero_d_weight_of_one_sample():
    s, y = _binary(n=50, seed=30)
    w = _weights(50, 31)
    _close(ac.auroc(s, y, sample_weight=w.unsqueeze(1)), ac.auroc(s, y, sample_weight=w))
    _close(
        ac.average_precision(s, y, sample_weight=w.unsqueeze(1)),
        average_precision_score(y, s.double(), sample_weight=w),
    )
    _close(ac.average_precision(torch.tensor([0.3]), torch.tensor([1]), sample_weight=torch.tensor(2.0)), 1.0)


# ----------------------------------------------------------------------------- hypothesis: tie-heavy, zero weights


@st.composite
def weighted_binary(draw):
    n = draw(st.integers(1, 30))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    levels = draw(
        st.lists(st.floats(-3, 3, width=32 if dtype == torch.float32 else 64), min_size=1, max_size=4, unique=True)
    )
    scores = draw(st.lists(st.sampled_from(levels), min_size=n, max_size=n))
    labels = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    weights = draw(st.lists(st.sampled_from([0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 3.75]), min_size=n, max_size=n))
    return torch.tensor(scores, dtype=dtype), torch.tensor(labels), torch.tensor(weights, dtype=torch.float64)


@settings(max_examples=60, deadline=None)
@given(data=weighted_binary(), drop_intermediate=st.booleans())
def test_tie_heavy_weighted_binary_equals_sklearn_and_brute_force(data, drop_intermediate):
    s, y, w = data
    sd, yn, wn = s.double().numpy(), y.numpy(), w.numpy()
    pos_w, neg_w = wn[yn].sum(), wn[~yn].sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        got_auroc = ac.auroc(s, y, sample_weight=w, activation=None)
        got_ap = ac.average_precision(s, y, sample_weight=w, activation=None)
    _close(got_auroc, brute_force_weighted_auroc(sd, yn, wn))
    _close(got_auroc, _sk_auroc(yn, sd, wn))
    _close(got_ap, brute_force_weighted_ap(sd, yn, wn))
    _close(got_ap, _sk_ap(yn, sd, wn))
    keep = wn > 0
    if pos_w > 0 and neg_w > 0:
        _same_curve(
            ac.roc_curve(s, y, sample_weight=w, activation=None, drop_intermediate=drop_intermediate),
            sk_roc_curve(yn, sd, sample_weight=wn, drop_intermediate=drop_intermediate),
        )
        # weight 0 is dropping the sample (scikit-learn's own rule, checked on the subset)
        _close(got_auroc, roc_auc_score(yn[keep], sd[keep], sample_weight=wn[keep]))
    if pos_w > 0:
        _same_curve(
            ac.precision_recall_curve(s, y, sample_weight=w, activation=None, drop_intermediate=drop_intermediate),
            sk_pr_curve(yn, sd, sample_weight=wn, drop_intermediate=drop_intermediate),
        )
        _close(got_ap, average_precision_score(yn[keep], sd[keep], sample_weight=wn[keep]))


@st.composite
def weighted_matrix(draw):
    n = draw(st.integers(2, 25))
    c = draw(st.integers(3, 4))
    levels = draw(st.lists(st.sampled_from([0.0, 0.125, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=4, unique=True))
    scores = np.array(draw(st.lists(st.sampled_from(levels), min_size=n * c, max_size=n * c))).reshape(n, c)
    multilabel = draw(st.booleans())
    if multilabel:
        target = np.array(draw(st.lists(st.integers(0, 1), min_size=n * c, max_size=n * c))).reshape(n, c)
    else:
        target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    weights = np.array(draw(st.lists(st.sampled_from([0, 0, 1, 2, 3]), min_size=n, max_size=n)))
    return scores, target, weights, multilabel


@settings(max_examples=60, deadline=None)
@given(data=weighted_matrix(), average=st.sampled_from(AVERAGES), metric=st.sampled_from(["auroc", "ap"]))
def test_tie_heavy_weighted_multiclass_and_multilabel_equal_sklearn(data, average, metric):
    scores, target, weights, multilabel = data
    c = scores.shape[1]
    Y = target if multilabel else label_binarize(target, classes=range(c))
    fn = ac.auroc if metric == "auroc" else ac.average_precision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fn(
            torch.tensor(scores),
            torch.tensor(target),
            sample_weight=torch.tensor(weights),
            average=average,
            activation=None,
            task="multilabel" if multilabel else "multiclass",
        )
    _close(got, _sk(metric, Y, scores, weights, average))


# ----------------------------------------------------------------------------- undefined: a class whose weights are 0


def test_binary_positives_of_weight_zero_are_nan_with_one_warning():
    s, y = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])
    w = torch.tensor([1.0, 1.0, 0.0, 0.0])
    for fn in (ac.auroc, ac.average_precision):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            got = fn(s, y, sample_weight=w)
        assert torch.isnan(got) and len(_undefined(record)) == 1, fn.__name__


def test_binary_negatives_of_weight_zero_auroc_nan_ap_one():
    s, y = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])
    w = torch.tensor([0.0, 0.0, 1.0, 2.0])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = ac.auroc(s, y, sample_weight=w)
    assert torch.isnan(got) and len(_undefined(record)) == 1
    _close(ac.average_precision(s, y, sample_weight=w), 1.0)  # no negatives: AP 1, no warning


def test_all_weights_zero_is_nan_with_one_warning():
    s, y = _binary(n=20, seed=32)
    for fn in (ac.auroc, ac.average_precision):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            got = fn(s, y, sample_weight=torch.zeros(20))
        assert torch.isnan(got) and len(_undefined(record)) == 1, fn.__name__


@pytest.mark.parametrize("metric", ["auroc", "ap"])
@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_multiclass_class_of_weight_zero_is_nan_left_out_with_one_warning(average, metric):
    logits, target = _multiclass(ties=True, seed=33)
    w = _weights(len(target), 34)
    w[target == 1] = 0
    fn = ac.auroc if metric == "auroc" else ac.average_precision
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = fn(logits, target, average=average, sample_weight=w)
    assert len(_undefined(record)) == 1
    Y = label_binarize(target.numpy(), classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()
    _close(got, _sk(metric, Y, probs, w.numpy(), average))
    if average is None:
        assert torch.isnan(got[1]) and not torch.isnan(got[[0, 2, 3]]).any()
    else:  # left out: sklearn on the other classes
        sk = roc_auc_score if metric == "auroc" else average_precision_score
        keep = w.numpy() > 0  # class 1's samples weigh 0: the other classes' problems without them
        _close(
            got, sk(Y[keep][:, [0, 2, 3]], probs[keep][:, [0, 2, 3]], average=average, sample_weight=w.numpy()[keep])
        )


def test_curves_of_a_class_of_weight_zero_warn_once():
    s, y = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])
    w = torch.tensor([1.0, 1.0, 0.0, 0.0])
    for fn in (ac.roc_curve, ac.precision_recall_curve):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            fn(s, y, sample_weight=w)
        assert len(_undefined(record)) == 1, fn.__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, thresholds = ac.precision_recall_curve(s, y, sample_weight=w)
        sk_p, _, sk_t = sk_pr_curve(y.numpy(), s.double().numpy(), sample_weight=w.numpy())
    _close(precision, sk_p)
    _close(thresholds, sk_t)
    assert torch.isnan(recall[:-1]).all() and recall[-1] == 0  # documented: NaN (scikit-learn: 1)


# ----------------------------------------------------------------------------- bad weights


FUNCTIONS = [ac.auroc, ac.auroc_scores, ac.roc_curve, ac.average_precision, ac.precision_recall_curve]
P4, T4 = torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "weight, error",
    [
        (torch.tensor([1.0, -1.0, 1.0, 1.0]), ValueError),
        (torch.tensor([1, -2, 1, 1]), ValueError),
        (torch.tensor([1.0, math.nan, 1.0, 1.0]), ValueError),
        (torch.tensor([1.0, math.inf, 1.0, 1.0]), ValueError),
        (torch.tensor([1.0, -math.inf, 1.0, 1.0]), ValueError),
        (torch.ones(3), ValueError),
        (torch.ones(5), ValueError),
        (torch.ones(4, 2), ValueError),
        (torch.ones(1, 4), ValueError),
        (torch.ones(2, 2), ValueError),
        (torch.tensor(1.0), ValueError),
        (torch.ones(4, 1, 1), ValueError),
        (np.ones(4), TypeError),
        ([1.0, 1.0, 1.0, 1.0], TypeError),
        (2.0, TypeError),
        (torch.ones(4, dtype=torch.complex64), TypeError),
    ],
)
def test_bad_weights_name_sample_weight(fn, weight, error):
    with pytest.raises(error, match="`sample_weight`"):
        fn(P4, T4, sample_weight=weight)


@pytest.mark.parametrize("fn", [ac.auroc, ac.auroc_scores], ids=lambda f: f.__name__)
def test_ovo_refuses_weights(fn):
    logits, target = _multiclass(n=60, seed=35)
    with pytest.raises(ValueError, match="`sample_weight`.*ovo"):
        fn(logits, target, multi_class="ovo", sample_weight=torch.ones(60))


def test_ovo_without_weights_still_works():
    logits, target = _multiclass(n=60, seed=36)
    assert torch.isfinite(ac.auroc(logits, target, multi_class="ovo"))


# ----------------------------------------------------------------------------- the accumulator


def _batches(n, size):
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def _accumulate(preds, target, weight, size=97, **options):
    acc = ac.AUROCAccumulator(**options)
    for a, b in _batches(len(target), size):
        acc.update(preds[a:b], target[a:b], None if weight is None else weight[a:b])
    return acc


@pytest.mark.parametrize("average", AVERAGES)
def test_accumulator_multiclass_weighted_batches_equal_functional_and_sklearn(average):
    logits, target = _multiclass(ties=True, seed=37)
    w = _weights(len(target), 38)
    acc = _accumulate(logits, target, w, average=average)
    Y = label_binarize(target.numpy(), classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()
    sk_auroc = roc_auc_score(Y, probs, average=average, sample_weight=w.numpy())
    sk_ap = average_precision_score(Y, probs, average=average, sample_weight=w.numpy())
    _close(acc.compute(), sk_auroc)
    _close(acc.compute(), ac.auroc(logits, target, average=average, sample_weight=w))
    _close(acc.compute_scores().value, sk_auroc)
    _close(acc.compute_scores().per_class, roc_auc_score(Y, probs, average=None, sample_weight=w.numpy()))
    ap = acc.compute_average_precision()
    _close(ap.value, sk_ap)
    _close(ap.value, ac.average_precision(logits, target, average=average, sample_weight=w))
    _close(ap.per_class, average_precision_score(Y, probs, average=None, sample_weight=w.numpy()))
    both = acc.compute_metrics(auroc=True, average_precision=True)
    _close(both.auroc.value, sk_auroc)
    _close(both.ap.value, sk_ap)


@pytest.mark.parametrize("average", AVERAGES)
def test_accumulator_multilabel_weighted_batches_equal_sklearn(average):
    scores, target = _multilabel(ties=True, seed=39)
    w = _weights(len(target), 40, "int")
    acc = _accumulate(scores, target, w, size=64, average=average)
    Y, S, wn = target.numpy(), scores.double().numpy(), w.numpy().astype(np.float64)
    _close(acc.compute(), roc_auc_score(Y, S, average=average, sample_weight=wn))
    _close(acc.compute_average_precision().value, average_precision_score(Y, S, average=average, sample_weight=wn))


def test_accumulator_binary_weighted_batches_and_curves_equal_sklearn():
    s, y = _binary(ties=True, seed=41)
    w = _weights(len(y), 42, "dyadic")
    acc = _accumulate(s, y, w, size=50)
    sd, wn = s.double().numpy(), w.numpy()
    _close(acc.compute(), roc_auc_score(y.numpy(), sd, sample_weight=wn))
    _close(acc.compute_average_precision().value, average_precision_score(y.numpy(), sd, sample_weight=wn))
    _same_curve(acc.compute_curves(), sk_roc_curve(y.numpy(), sd, sample_weight=wn))
    _same_curve(
        acc.compute_curves(drop_intermediate=False),
        sk_roc_curve(y.numpy(), sd, sample_weight=wn, drop_intermediate=False),
    )
    _same_curve(acc.compute_pr_curves(), sk_pr_curve(y.numpy(), sd, sample_weight=wn))


def test_accumulator_bool_and_int_weights():
    s, y = _binary(ties=True, seed=43)
    for w in (torch.arange(len(y)) % 4 != 0, _weights(len(y), 44, "int").to(torch.int32)):
        acc = _accumulate(s, y, w, size=77)
        wn = w.numpy().astype(np.float64)
        _close(acc.compute(), roc_auc_score(y.numpy(), s.double().numpy(), sample_weight=wn))
        _close(
            acc.compute_average_precision().value,
            average_precision_score(y.numpy(), s.double().numpy(), sample_weight=wn),
        )


def test_accumulator_refuses_mixing_weighted_and_unweighted_batches():
    s, y = _binary(n=20, seed=45)
    acc = ac.AUROCAccumulator()
    acc.update(s[:10], y[:10], torch.ones(10))
    with pytest.raises(ValueError, match="`weight`"):
        acc.update(s[10:], y[10:])
    acc = ac.AUROCAccumulator()
    acc.update(s[:10], y[:10])
    with pytest.raises(ValueError, match="`weight`"):
        acc.update(s[10:], y[10:], torch.ones(10))


def test_accumulator_empty_batches_do_not_decide_weighting():
    s, y = _binary(n=20, seed=46)
    w = _weights(20, 47, "dyadic", zeros=0)
    acc = ac.AUROCAccumulator()
    acc.update(s[:0], y[:0])  # an empty batch without weights...
    acc.update(s, y, w)  # ...then weighted ones
    acc.update(s[:0], y[:0])
    _close(acc.compute(), roc_auc_score(y.numpy(), s.double().numpy(), sample_weight=w.numpy()))


def test_accumulator_refusals():
    s, y = _binary(n=20, seed=48)
    with pytest.raises(ValueError, match="`weight`.*histogram"):
        ac.AUROCAccumulator(mode="histogram").update(s, y, torch.ones(20))
    with pytest.raises(ValueError, match="`weight`.*ci=True"):
        ac.AUROCAccumulator(ci=True).update(s, y, torch.ones(20))
    logits, target = _multiclass(n=20, seed=49)
    with pytest.raises(ValueError, match="`weight`.*ovo"):
        ac.AUROCAccumulator(multi_class="ovo").update(logits, target, torch.ones(20))
    acc = ac.AUROCAccumulator()
    acc.update(s, y, torch.ones(20))
    with pytest.raises(ValueError, match="weight"):
        acc.compute_interval()


@pytest.mark.parametrize(
    "weight, error",
    [
        (np.ones(20), TypeError),
        ([1.0] * 20, TypeError),
        (torch.ones(19), ValueError),
        (torch.ones(20, 2), ValueError),
        (torch.ones(20, dtype=torch.complex64), TypeError),
    ],
)
def test_accumulator_bad_weight_types_and_shapes_fail_at_update(weight, error):
    s, y = _binary(n=20, seed=50)
    with pytest.raises(error, match="`weight`"):
        ac.AUROCAccumulator().update(s, y, weight)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_accumulator_bad_weight_values_fail_by_compute(bad):
    s, y = _binary(n=20, seed=51)
    w = torch.ones(20)
    w[7] = bad
    acc = ac.AUROCAccumulator()
    with pytest.raises(ValueError, match="`weight`"):
        acc.update(s, y, w)
        acc.compute()


def test_accumulator_state_dict_round_trip_keeps_weights():
    logits, target = _multiclass(ties=True, seed=52)
    w = _weights(len(target), 53)
    half = len(target) // 2
    acc = _accumulate(logits[:half], target[:half], w[:half], size=60, average="weighted")
    buffer = io.BytesIO()
    torch.save(acc.state_dict(), buffer)
    buffer.seek(0)
    resumed = ac.AUROCAccumulator(average="weighted")
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    Y = label_binarize(target.numpy(), classes=range(4))
    probs = torch.softmax(logits, 1).double().numpy()
    first = dict(sample_weight=w.numpy()[:half])
    _close(resumed.compute(), roc_auc_score(Y[:half], probs[:half], average="weighted", **first))
    _close(
        resumed.compute_average_precision().value,
        average_precision_score(Y[:half], probs[:half], average="weighted", **first),
    )
    with pytest.raises(ValueError, match="`weight`"):  # the resumed epoch is a weighted one
        resumed.update(logits[half:], target[half:])
    resumed.update(logits[half:], target[half:], w[half:])
    _close(resumed.compute(), roc_auc_score(Y, probs, average="weighted", sample_weight=w.numpy()))
    _close(
        resumed.compute_average_precision().value,
        average_precision_score(Y, probs, average="weighted", sample_weight=w.numpy()),
    )


def test_accumulator_unweighted_state_dict_stays_unweighted():
    s, y = _binary(n=40, seed=54)
    acc = ac.AUROCAccumulator()
    acc.update(s[:20], y[:20])
    resumed = ac.AUROCAccumulator()
    resumed.load_state_dict(acc.state_dict())
    with pytest.raises(ValueError, match="`weight`"):
        resumed.update(s[20:], y[20:], torch.ones(20))
    resumed.update(s[20:], y[20:])
    _close(resumed.compute(), roc_auc_score(y.numpy(), s.double().numpy()))


def test_accumulator_reset_clears_weights():
    s, y = _binary(ties=True, seed=55)
    w = _weights(len(y), 56)
    acc = _accumulate(s, y, w)
    _close(acc.compute(), roc_auc_score(y.numpy(), s.double().numpy(), sample_weight=w.numpy()))
    acc.reset()
    acc.update(s, y)  # an unweighted epoch is allowed again...
    _close(acc.compute(), roc_auc_score(y.numpy(), s.double().numpy()))  # ...and no old weight is used
    _close(acc.compute_average_precision().value, average_precision_score(y.numpy(), s.double().numpy()))
    acc.reset()
    acc.update(s, y, w)
    _close(acc.compute(), roc_auc_score(y.numpy(), s.double().numpy(), sample_weight=w.numpy()))


def test_accumulator_class_of_weight_zero_is_nan_with_one_warning():
    logits, target = _multiclass(ties=True, seed=57)
    w = _weights(len(target), 58)
    w[target == 3] = 0
    acc = _accumulate(logits, target, w, average=None)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        got = acc.compute_average_precision().value
    assert len(_undefined(record)) == 1 and torch.isnan(got[3])
    Y = label_binarize(target.numpy(), classes=range(4))
    _close(got, _sk("ap", Y, torch.softmax(logits, 1).double().numpy(), w.numpy(), None))


def test_accumulator_truncate_keeps_the_matching_weights():
    s, y = _binary(n=300, ties=True, seed=59)
    w = _weights(300, 60)
    acc = _accumulate(s, y, w, size=70)
    acc.truncate(250)
    want = roc_auc_score(y.numpy()[:250], s.double().numpy()[:250], sample_weight=w.numpy()[:250])
    _close(acc.compute(), want)
    _close(
        acc.compute_average_precision().value,
        average_precision_score(y.numpy()[:250], s.double().numpy()[:250], sample_weight=w.numpy()[:250]),
    )
    resumed = ac.AUROCAccumulator()
    resumed.load_state_dict(acc.state_dict())
    _close(resumed.compute(), want)


def test_accumulator_weighted_metrics_where_auroc_and_ap_are_defined_for_different_labels():
    scores, labels = _multilabel(n=300, c=5, seed=61)
    labels[:, 1] = 1  # AP 1, AUROC undefined
    labels[:, 3] = 0  # both undefined
    w = _weights(300, 62)
    acc = _accumulate(scores, labels, w, average=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        m = acc.compute_metrics(auroc=True, average_precision=True)
    Y, S = labels.numpy(), scores.double().numpy()
    _close(m.ap.per_class, _sk("ap", Y, S, w.numpy(), None))
    _close(m.auroc.per_class, _sk("auroc", Y, S, w.numpy(), None))


def test_non_contiguous_weights():
    s, y = _binary(n=100, ties=True, seed=63)
    w = _weights(200, 64)[::2]
    _close(ac.auroc(s, y, sample_weight=w), roc_auc_score(y.numpy(), s.double().numpy(), sample_weight=w.numpy()))
    _close(
        ac.average_precision(s, y, sample_weight=w),
        average_precision_score(y.numpy(), s.double().numpy(), sample_weight=w.numpy()),
    )


@pytest.mark.parametrize("scale", [1e-6, 1e6, 1e-100, 1e100])
def test_weight_scale_does_not_matter(scale):
    s, y = _binary(n=100, ties=True, seed=65)
    w = _weights(100, 66, zeros=0) * scale
    base = _weights(100, 66, zeros=0)
    for fn in (ac.auroc, ac.average_precision):
        _close(fn(s, y, sample_weight=w), fn(s, y, sample_weight=base), tol=1e-12)
    _close(ac.auroc(s, y, sample_weight=w), roc_auc_score(y.numpy(), s.double().numpy(), sample_weight=w.numpy()))


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_weight_scale_does_not_matter_at_extreme_scales(scale):
    s, y = _binary(n=100, ties=True, seed=65)
    w = torch.full((100,), scale, dtype=torch.float64)
    _close(ac.auroc(s, y, sample_weight=w), roc_auc_score(y.numpy(), s.double().numpy()))
