"""Calibration metrics and calibrators against scikit-learn, numpy definitions and brute-force searches.

References, never the code under test: ``sklearn.calibration.calibration_curve``,
``brier_score_loss``, ``log_loss``, ``IsotonicRegression``, ``LogisticRegression``,
a numpy ECE/MCE written from the definition, and a golden-section search of the NLL.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

import auroc_callbacks as ac
from auroc_callbacks import calibration as cal
from auroc_callbacks.calibration import CalibratedModel
from auroc_callbacks.plotting import plot_reliability
from auroc_callbacks.tensorboard import log_calibration

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
TOL = 1e-12


# ----------------------------------------------------------------------------- references and data


def ece_mce_reference(conf, hit, n_bins, strategy):
    """ECE and MCE from the definition, one bin at a time; bins (e_{b-1}, e_b], the first closed below."""
    conf, hit = np.asarray(conf, np.float64), np.asarray(hit, np.float64)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(conf, np.linspace(0, 1, n_bins + 1) * 100)
    ece, mce = 0.0, 0.0
    for b in range(n_bins):
        upper = conf <= edges[b + 1] if b < n_bins - 1 else np.ones(conf.shape, bool)
        lower = conf > edges[b] if b > 0 else np.ones(conf.shape, bool)
        in_bin = lower & upper
        if in_bin.any():
            gap = abs(hit[in_bin].mean() - conf[in_bin].mean())
            ece += in_bin.sum() / conf.size * gap
            mce = max(mce, gap)
    return ece, mce


def softmax_np(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def binary_data(n=1000, seed=0, ties=False):
    """Miscalibrated (over-confident) binary logits and labels, float64."""
    g = np.random.default_rng(seed)
    truth = g.normal(size=n)
    y = (g.random(n) < 1 / (1 + np.exp(-truth))).astype(np.int64)
    z = 2.5 * truth + 0.7 + 0.3 * g.normal(size=n)
    if ties:
        z = np.round(z, 1)
    return torch.tensor(z), torch.tensor(y)


def multiclass_data(n=1500, c=4, seed=0):
    g = np.random.default_rng(seed)
    y = g.integers(0, c, n)
    z = g.normal(size=(n, c))
    z[np.arange(n), y] += 1.5
    return torch.tensor(3.0 * z), torch.tensor(y)


def multilabel_data(n=800, c=3, seed=0):
    g = np.random.default_rng(seed)
    truth = g.normal(size=(n, c))
    y = (g.random((n, c)) < 1 / (1 + np.exp(-truth))).astype(np.int64)
    return torch.tensor(2.0 * truth + 0.2 * g.normal(size=(n, c))), torch.tensor(y)


def golden_min(f, lo, hi, iters=200):
    """Minimiser of a unimodal f on [lo, hi] by golden-section search."""
    r = (np.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = f(d)
    return (a + b) / 2


# ----------------------------------------------------------------------------- bins: sklearn's calibration_curve


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 3, 10, 15])
@pytest.mark.parametrize("kind", ["continuous", "ties", "edges"])
def test_binary_reliability_equals_sklearn_calibration_curve(kind, n_bins, strategy):
    g = np.random.default_rng(n_bins)
    n = 1001 if kind == "edges" else 700  # 1001: (n - 1) * q is integral, so quantile edges are samples
    p = g.random(n)
    if kind == "ties":
        p = np.round(p, 1)  # values on the uniform edges, and tied quantile edges (empty bins)
    y = (g.random(n) < p).astype(np.int64)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    rel = cal.reliability(torch.tensor(p), torch.tensor(y), n_bins=n_bins, strategy=strategy)
    filled = rel.count > 0
    assert rel.count.shape == (n_bins,) and int(rel.count.sum()) == n
    np.testing.assert_allclose(rel.accuracy[filled].numpy(), prob_true, rtol=0, atol=TOL)
    np.testing.assert_allclose(rel.confidence[filled].numpy(), prob_pred, rtol=0, atol=TOL)
    assert torch.isnan(rel.accuracy[~filled]).all()
    if strategy == "quantile":
        np.testing.assert_array_equal(rel.edges.numpy(), np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100))
    else:
        np.testing.assert_array_equal(rel.edges.numpy(), np.linspace(0, 1, n_bins + 1))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_multiclass_reliability_is_calibration_curve_of_top_label_correctness(strategy):
    logits, y = multiclass_data()
    probs = torch.softmax(logits, 1)
    conf, pred = probs.max(1)
    prob_true, prob_pred = calibration_curve((pred == y).numpy(), conf.numpy(), n_bins=10, strategy=strategy)
    rel = cal.reliability(logits, y, n_bins=10, strategy=strategy)
    filled = rel.count > 0
    np.testing.assert_allclose(rel.accuracy[filled].numpy(), prob_true, rtol=0, atol=TOL)
    np.testing.assert_allclose(rel.confidence[filled].numpy(), prob_pred, rtol=0, atol=TOL)


def test_multilabel_reliability_per_label_and_pooled_equal_sklearn():
    logits, y = multilabel_data()
    p = torch.sigmoid(logits).numpy()
    per = cal.reliability(logits, y, n_bins=8)
    assert per.count.shape == (3, 8) and per.edges.shape == (3, 9)
    for c in range(3):
        prob_true, prob_pred = calibration_curve(y[:, c].numpy(), p[:, c], n_bins=8)
        filled = per.count[c] > 0
        np.testing.assert_allclose(per.accuracy[c][filled].numpy(), prob_true, rtol=0, atol=TOL)
        np.testing.assert_allclose(per.confidence[c][filled].numpy(), prob_pred, rtol=0, atol=TOL)
    pooled = cal.reliability(logits, y, n_bins=8, strategy="quantile", average="micro")
    prob_true, _ = calibration_curve(y.numpy().ravel(), p.ravel(), n_bins=8, strategy="quantile")
    np.testing.assert_allclose(pooled.accuracy[pooled.count > 0].numpy(), prob_true, rtol=0, atol=TOL)


# ----------------------------------------------------------------------------- ECE / MCE: the definition


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_ece_and_mce_equal_the_definition(strategy, ties):
    z, y = binary_data(ties=ties)
    p = torch.sigmoid(z)
    ece, mce = ece_mce_reference(p.numpy(), y.numpy(), 15, strategy)
    assert cal.calibration_error(z, y, strategy=strategy).item() == pytest.approx(ece, abs=TOL)
    assert cal.calibration_error(z, y, strategy=strategy, norm="max").item() == pytest.approx(mce, abs=TOL)
    # logits and their probabilities are one input: the activation is decided as ac.auroc decides it
    assert (
        cal.calibration_error(p, y, strategy=strategy).item() == cal.calibration_error(z, y, strategy=strategy).item()
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_multiclass_ece_is_top_label_and_equals_the_definition(strategy):
    logits, y = multiclass_data(c=5)
    probs = softmax_np(logits.numpy())
    conf, hit = probs.max(1), probs.argmax(1) == y.numpy()
    ece, mce = ece_mce_reference(conf, hit, 12, strategy)
    got = cal.calibration_error(torch.tensor(probs), y, n_bins=12, strategy=strategy)
    assert got.dtype == torch.float64 and got.ndim == 0
    assert got.item() == pytest.approx(ece, abs=TOL)
    assert cal.calibration_error(
        torch.tensor(probs), y, n_bins=12, strategy=strategy, norm="max"
    ).item() == pytest.approx(mce, abs=TOL)
    # from logits: the softmax the AUROC uses, bitwise
    assert (
        cal.calibration_error(logits, y, n_bins=12, strategy=strategy).item()
        == cal.calibration_error(torch.softmax(logits, 1), y, n_bins=12, strategy=strategy).item()
    )


def test_multilabel_ece_per_label_macro_and_micro_with_ignore_index():
    logits, y = multilabel_data()
    y = y.clone()
    y[::7, 1] = -1  # ignored entries
    p = torch.sigmoid(logits).numpy()
    yn = y.numpy()
    per_ref = []
    for c in range(3):
        keep = yn[:, c] != -1
        per_ref.append(ece_mce_reference(p[keep, c], yn[keep, c], 10, "quantile")[0])
    per = cal.calibration_error(logits, y, n_bins=10, strategy="quantile", average=None, ignore_index=-1)
    np.testing.assert_allclose(per.numpy(), per_ref, rtol=0, atol=TOL)
    macro = cal.calibration_error(logits, y, n_bins=10, strategy="quantile", ignore_index=-1)
    assert macro.item() == pytest.approx(np.mean(per_ref), abs=TOL)
    keep = yn != -1
    micro_ref = ece_mce_reference(p[keep], yn[keep], 10, "quantile")[0]
    micro = cal.calibration_error(logits, y, n_bins=10, strategy="quantile", average="micro", ignore_index=-1)
    assert micro.item() == pytest.approx(micro_ref, abs=TOL)


def test_ignore_index_drops_samples_like_filtering():
    logits, y = multiclass_data()
    y_ign = y.clone()
    y_ign[::5] = -100
    keep = y_ign != -100
    for fn in (cal.calibration_error, cal.brier_score_loss, cal.log_loss):
        assert fn(logits, y_ign, ignore_index=-100).item() == fn(logits[keep], y[keep]).item()


def test_two_logit_binary_head_bins_the_positive_class_probability():
    z, y = binary_data()
    two = torch.stack([torch.zeros_like(z), z], 1)  # softmax([0, z])[1] == sigmoid(z)
    p1 = torch.softmax(two, 1)[:, 1]
    assert cal.calibration_error(two, y, task="binary").item() == cal.calibration_error(p1, y).item()
    assert cal.log_loss(two, y, task="binary").item() == pytest.approx(cal.log_loss(z, y).item(), abs=1e-12)


def test_half_precision_logits_are_calibrated_in_float32():
    logits, y = multiclass_data()
    half = logits.half()
    assert cal.calibration_error(half, y).item() == cal.calibration_error(half.float(), y).item()
    assert cal.log_loss(half, y).item() == pytest.approx(cal.log_loss(half.float(), y).item(), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 300),
    n_bins=st.integers(1, 20),
    strategy=st.sampled_from(["uniform", "quantile"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_ece_is_in_unit_interval_and_mce_is_at_least_ece(n, n_bins, strategy, seed):
    g = np.random.default_rng(seed)
    p = torch.tensor(np.round(g.random(n), int(g.integers(1, 4))))
    y = torch.tensor(g.integers(0, 2, n))
    ece = cal.calibration_error(p, y, n_bins=n_bins, strategy=strategy).item()
    mce = cal.calibration_error(p, y, n_bins=n_bins, strategy=strategy, norm="max").item()
    assert 0 <= ece <= 1 and 0 <= mce <= 1
    assert mce >= ece - 1e-12
    assert ece == pytest.approx(ece_mce_reference(p.numpy(), y.numpy(), n_bins, strategy)[0], abs=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), strategy=st.sampled_from(["uniform", "quantile"]))
def test_perfectly_calibrated_data_has_small_ece_and_miscalibrated_data_does_not(seed, strategy):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(20000, generator=g, dtype=torch.float64)
    y = (torch.rand(20000, generator=g, dtype=torch.float64) < p).long()  # P(y = 1 | p) = p
    assert cal.calibration_error(p, y, strategy=strategy).item() < 0.02
    assert cal.calibration_error(p**3, y, strategy=strategy).item() > 0.1  # under-confident in the positive


# ----------------------------------------------------------------------------- brier_score_loss and log_loss: sklearn


def test_brier_equals_sklearn_binary_multiclass_and_two_class():
    z, y = binary_data()
    p = torch.sigmoid(z)
    assert cal.brier_score_loss(z, y).item() == pytest.approx(brier_score_loss(y.numpy(), p.numpy()), abs=TOL)
    for c in (2, 3, 6):
        logits, yc = multiclass_data(c=c)
        probs = torch.softmax(logits, 1)
        want = brier_score_loss(yc.numpy(), probs.numpy(), labels=list(range(c)))  # halved for c == 2 (sklearn "auto")
        assert cal.brier_score_loss(logits, yc).item() == pytest.approx(want, abs=TOL)
    two = torch.stack([1 - p, p], 1)
    assert cal.brier_score_loss(two, y).item() == pytest.approx(cal.brier_score_loss(p, y).item(), abs=TOL)


def test_brier_multilabel_is_the_binary_score_per_label():
    logits, y = multilabel_data()
    p = torch.sigmoid(logits).numpy()
    per_ref = [brier_score_loss(y[:, c].numpy(), p[:, c]) for c in range(3)]
    np.testing.assert_allclose(cal.brier_score_loss(logits, y, average=None).numpy(), per_ref, rtol=0, atol=TOL)
    assert cal.brier_score_loss(logits, y).item() == pytest.approx(np.mean(per_ref), abs=TOL)
    assert cal.brier_score_loss(logits, y, average="micro").item() == pytest.approx(
        brier_score_loss(y.numpy().ravel(), p.ravel()), abs=TOL
    )


def test_log_loss_equals_sklearn_log_loss():
    z, y = binary_data()
    p = torch.sigmoid(z)
    assert cal.log_loss(z, y).item() == pytest.approx(log_loss(y.numpy(), p.numpy()), abs=1e-12)
    assert cal.log_loss(p, y).item() == pytest.approx(log_loss(y.numpy(), p.numpy()), abs=1e-12)
    logits, yc = multiclass_data(c=5)
    probs = softmax_np(logits.numpy())
    assert cal.log_loss(logits, yc).item() == pytest.approx(log_loss(yc.numpy(), probs), abs=1e-12)
    assert cal.log_loss(torch.tensor(probs), yc).item() == pytest.approx(log_loss(yc.numpy(), probs), abs=1e-12)
    ml, yl = multilabel_data()
    pl = torch.sigmoid(ml).numpy()
    per = [log_loss(yl[:, c].numpy(), pl[:, c]) for c in range(3)]
    np.testing.assert_allclose(cal.log_loss(ml, yl, average=None).numpy(), per, rtol=0, atol=1e-12)


def test_log_loss_from_logits_is_exact_where_probabilities_saturate():
    z = torch.tensor([1000.0, -1000.0, 40.0, 0.0], dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 1])
    # -log sigmoid(-1000) = 1000 (+ e^-1000), -log sigmoid(40) = log1p(e^-40), -log sigmoid(0) = log 2
    want = (1000 + 1000 + np.log1p(np.exp(-40.0)) + np.log(2)) / 4
    assert cal.log_loss(z, y).item() == pytest.approx(want, rel=1e-15)
    logits = torch.tensor([[500.0, 0.0, -500.0]])
    assert cal.log_loss(logits, torch.tensor([2])).item() == pytest.approx(1000.0, rel=1e-15)
    # probabilities are clipped like sklearn's log_loss
    p = torch.tensor([1.0, 0.0], dtype=torch.float64)
    want = log_loss([0, 1], p.numpy(), labels=[0, 1])
    assert cal.log_loss(p, torch.tensor([0, 1])).item() == pytest.approx(want, rel=1e-12)


# ----------------------------------------------------------------------------- temperature: brute force


def test_temperature_minimises_the_multiclass_nll_like_a_golden_section_search():
    logits, y = multiclass_data(c=5)
    z, yn = logits.numpy(), y.numpy()

    def nll_np(log_t):
        s = z / np.exp(log_t)
        m = s.max(1)
        lse = m + np.log(np.exp(s - m[:, None]).sum(1))
        return float(np.mean(lse - s[np.arange(len(yn)), yn]))

    want = np.exp(golden_min(nll_np, -4.0, 4.0))
    ts = cal.fit_temperature(logits, y)
    assert isinstance(ts, cal.TemperatureScaler) and ts.task == "multiclass"
    assert float(ts.temperature) == pytest.approx(want, rel=1e-6)
    assert float(ts.temperature) > 1  # the data is over-confident
    assert nll_np(np.log(float(ts.temperature))) <= nll_np(np.log(want)) + 1e-12
    assert cal.log_loss(ts(logits), y).item() == pytest.approx(nll_np(np.log(float(ts.temperature))), abs=1e-9)


@pytest.mark.parametrize("head", ["one", "two"])
def test_binary_temperature_minimises_the_sigmoid_nll(head):
    z, y = binary_data()
    zn, yn = z.numpy(), y.numpy()

    def nll_np(log_t):
        s = np.where(yn == 1, zn, -zn) / np.exp(log_t)
        return float(np.mean(np.logaddexp(0, -s)))

    want = np.exp(golden_min(nll_np, -4.0, 4.0))
    logits = z if head == "one" else torch.stack([-z / 2, z / 2], 1)  # z1 - z0 == z
    ts = cal.fit_temperature(logits, y, task="binary")
    assert float(ts.temperature) == pytest.approx(want, rel=1e-6)
    out = ts(logits)
    assert out.shape == logits.shape
    p = out if head == "one" else out[:, 1]
    np.testing.assert_allclose(p.numpy(), 1 / (1 + np.exp(-zn / want)), rtol=0, atol=1e-6)


def test_multilabel_temperature_is_one_shared_scalar():
    logits, y = multilabel_data()
    zn, yn = logits.numpy(), y.numpy()

    def nll_np(log_t):
        s = np.where(yn == 1, zn, -zn) / np.exp(log_t)
        return float(np.mean(np.logaddexp(0, -s)))

    ts = cal.fit_temperature(logits, y)
    assert ts.task == "multilabel"
    assert float(ts.temperature) == pytest.approx(np.exp(golden_min(nll_np, -4.0, 4.0)), rel=1e-6)


# ----------------------------------------------------------------------------- Platt: LogisticRegression


@pytest.mark.parametrize("head", ["one", "column", "two"])
def test_platt_equals_unpenalised_logistic_regression_on_the_score(head):
    z, y = binary_data(n=3000)
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(z.numpy()[:, None], y.numpy())
    logits = {"one": z, "column": z[:, None], "two": torch.stack([torch.zeros_like(z) + 1.0, z + 1.0], 1)}[head]
    platt = cal.fit_platt(logits, y)
    assert float(platt.a) == pytest.approx(lr.coef_[0, 0], abs=1e-6)
    assert float(platt.b) == pytest.approx(lr.intercept_[0], abs=1e-6)
    out = platt(logits)
    assert out.shape == logits.shape
    p = out if head == "one" else (out[:, 0] if head == "column" else out[:, 1])
    np.testing.assert_allclose(p.numpy(), lr.predict_proba(z.numpy()[:, None])[:, 1], rtol=0, atol=1e-6)
    if head == "two":
        np.testing.assert_allclose(out.sum(1).numpy(), 1.0, atol=1e-12)


# ----------------------------------------------------------------------------- isotonic: IsotonicRegression


@pytest.mark.parametrize("ties", [False, True])
def test_isotonic_equals_sklearn_fit_and_predictions(ties):
    z, y = binary_data(n=2000, ties=ties)
    sk = IsotonicRegression(out_of_bounds="clip").fit(z.numpy(), y.numpy())
    iso = cal.fit_isotonic(z, y)
    np.testing.assert_array_equal(iso.x.numpy(), sk.X_thresholds_)
    np.testing.assert_allclose(iso.y.numpy(), sk.y_thresholds_, rtol=0, atol=1e-15)
    new = np.concatenate([np.linspace(-15, 15, 3001), z.numpy()[:50]])  # out of bounds, between knots, on knots
    np.testing.assert_allclose(iso(torch.tensor(new)).numpy(), sk.predict(new), rtol=0, atol=1e-14)


def test_isotonic_on_a_two_logit_head_and_a_single_score():
    z, y = binary_data(n=500)
    two = torch.stack([-z, z], 1)  # score z1 - z0 == 2 z
    sk = IsotonicRegression(out_of_bounds="clip").fit(2 * z.numpy(), y.numpy())
    out = cal.fit_isotonic(two, y)(two)
    assert out.shape == (500, 2)
    np.testing.assert_allclose(out[:, 1].numpy(), sk.predict(2 * z.numpy()), rtol=0, atol=1e-14)
    const = cal.fit_isotonic(torch.zeros(6), torch.tensor([0, 1, 1, 0, 1, 1]))
    assert const(torch.tensor([-1.0, 0.0, 3.0])).tolist() == pytest.approx([4 / 6] * 3)


def test_isotonic_pava_on_adversarial_orders_equals_sklearn():
    g = np.random.default_rng(3)
    n = 20000
    x = np.arange(n, dtype=np.float64)
    cases = {
        "reversed": (np.arange(n) < n // 2).astype(np.int64),  # all positives first: one block
        "sawtooth": (np.arange(n) % 7 < 3).astype(np.int64),
        "noisy": (g.random(n) < np.linspace(0.1, 0.9, n)).astype(np.int64),
    }
    for name, y in cases.items():
        sk = IsotonicRegression(out_of_bounds="clip").fit(x, y)
        iso = cal.fit_isotonic(torch.tensor(x), torch.tensor(y))
        np.testing.assert_allclose(iso(torch.tensor(x)).numpy(), sk.predict(x), rtol=0, atol=1e-12, err_msg=name)


# ----------------------------------------------------------------------------- AUROC before and after


def test_temperature_and_platt_do_not_change_the_binary_auroc():
    z, y = binary_data(n=3000)
    before = ac.auroc(z, y)
    ts, platt = cal.fit_temperature(z, y), cal.fit_platt(z, y)
    assert float(platt.a) > 0
    for calibrator in (ts, platt):
        p = calibrator(z)
        assert torch.unique(p).numel() == torch.unique(z).numel()  # no ties created (float64, moderate logits)
        assert ac.auroc(p, y).item() == before.item()
        assert roc_auc_score(y.numpy(), p.numpy()) == pytest.approx(before.item(), abs=1e-12)


def test_temperature_does_not_change_multilabel_auroc_or_the_multiclass_argmax():
    ml, yl = multilabel_data()
    ts = cal.fit_temperature(ml, yl)
    assert torch.equal(ac.auroc(ts(ml), yl, average=None), ac.auroc(ml, yl, average=None))
    logits, y = multiclass_data()
    mc = cal.fit_temperature(logits, y)
    assert torch.equal(mc(logits).argmax(1), logits.argmax(1))


def test_temperature_can_change_the_multiclass_one_vs_rest_auroc():
    # softmax(z / T)_0 orders samples by sum_k exp((z_k - z_0) / T), which depends on T:
    # at T = 1 sample A (label 0) is above B in column 0; at T = 10 it is below.
    logits = torch.tensor([[0.0, 2.0, 2.0], [0.0, 0.0, 3.0], [0.0, 5.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 2, 1])
    p1 = cal.TemperatureScaler(1.0, task="multiclass")(logits)
    p10 = cal.TemperatureScaler(10.0, task="multiclass")(logits)
    assert ac.auroc(p1, y, average=None)[0].item() == 1.0
    assert ac.auroc(p10, y, average=None)[0].item() == 0.5
    assert roc_auc_score(y.numpy() == 0, p10[:, 0].numpy()) == 0.5
    assert torch.equal(p1.argmax(1), p10.argmax(1))


def test_isotonic_creates_ties_and_can_change_the_auroc():
    z, y = binary_data(n=3000)
    iso = cal.fit_isotonic(z, y)
    p = iso(z)
    assert torch.unique(p).numel() < torch.unique(z).numel() // 10  # flat steps: many ties
    after = ac.auroc(p, y).item()
    assert after != ac.auroc(z, y).item()
    assert after == pytest.approx(roc_auc_score(y.numpy(), p.numpy()), abs=1e-12)  # ties count 1/2, as sklearn


# ----------------------------------------------------------------------------- modules: wrap, save, load


def _fitted(kind):
    z, y = binary_data(n=400)
    if kind == "temperature":
        logits, yc = multiclass_data(n=400)
        return cal.fit_temperature(logits, yc), logits
    if kind == "platt":
        return cal.fit_platt(z, y), z
    return cal.fit_isotonic(z, y), z


@pytest.mark.parametrize("kind", ["temperature", "platt", "isotonic"])
def test_save_and_load_round_trip(kind, tmp_path):
    calibrator, logits = _fitted(kind)
    path = tmp_path / f"{kind}.pt"
    calibrator.save(path)
    for loader in (type(calibrator).load, cal.Calibrator.load):
        back = loader(path)
        assert type(back) is type(calibrator)
        assert torch.equal(back(logits), calibrator(logits))
        assert back.state_dict().keys() == calibrator.state_dict().keys()
    other = cal.PlattScaler if kind != "platt" else cal.TemperatureScaler
    with pytest.raises(ValueError, match=f"holds a {type(calibrator).__name__}, not a {other.__name__}"):
        other.load(path)


def test_load_rejects_files_that_are_not_calibrators(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file at all")
    with pytest.raises(ValueError, match="not a calibrator file"):
        cal.Calibrator.load(junk)
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.ones(3)}, plain)
    with pytest.raises(ValueError, match="not a calibrator file"):
        cal.TemperatureScaler.load(plain)
    bad = tmp_path / "bad.pt"
    torch.save(
        {
            "format": "auroc_callbacks.calibrator",
            "version": 1,
            "class": "PlattScaler",
            "config": {},
            "state": {"a": torch.tensor(1.0)},
        },
        bad,
    )
    with pytest.raises(ValueError, match="malformed PlattScaler"):
        cal.PlattScaler.load(bad)
    with pytest.raises(FileNotFoundError):
        cal.Calibrator.load(tmp_path / "missing.pt")


def test_wrap_makes_the_model_output_calibrated_probabilities():
    model = torch.nn.Linear(4, 3).double()
    x = torch.randn(50, 4, dtype=torch.float64)
    ts = cal.TemperatureScaler(2.0, task="multiclass")
    wrapped = ts.wrap(model)
    assert isinstance(wrapped, CalibratedModel)
    with torch.no_grad():
        assert torch.equal(wrapped(x), torch.softmax(model(x) / 2.0, 1))
    assert [n for n, _ in wrapped.named_parameters()] == ["model.weight", "model.bias"]  # T is a buffer
    assert "calibrator.temperature" in wrapped.state_dict()
    with pytest.raises(TypeError, match="`model` must be a torch.nn.Module"):
        ts.wrap(lambda v: v)


def test_fits_work_under_inference_mode_on_inference_tensors():
    logits, y = multiclass_data(n=300)
    with torch.inference_mode():
        li, yi = logits.clone(), y.clone()
        ts = cal.fit_temperature(li, yi)
        s = cal.calibration_summary(li, yi)
    assert float(ts.temperature) == pytest.approx(float(cal.fit_temperature(logits, y).temperature), rel=1e-12)
    assert s.temperature.item() == pytest.approx(float(ts.temperature), rel=1e-12)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n_bins=0), ValueError, "`n_bins` must be an int >= 1; got 0"),
        (dict(n_bins=-3), ValueError, "`n_bins` must be an int >= 1; got -3"),
        (dict(n_bins=2.5), TypeError, "`n_bins` must be an int >= 1; got float 2.5"),
        (dict(n_bins=True), TypeError, "`n_bins` must be an int >= 1; got bool True"),
        (dict(strategy="kmeans"), ValueError, "`strategy` must be one of 'uniform', 'quantile'; got 'kmeans'"),
        (dict(strategy=None), TypeError, "`strategy` must be one of 'uniform', 'quantile'; got NoneType None"),
        (dict(norm="l2"), ValueError, "`norm` must be one of 'l1', 'max'; got 'l2'"),
        (dict(average="weighted"), ValueError, "`average` must be one of 'macro', 'micro', None; got 'weighted'"),
        (dict(activation="sigmoid"), ValueError, "activation='sigmoid'"),
        (dict(activation="relu"), ValueError, "`activation` must be one of"),
        (dict(num_classes=3), ValueError, "`num_classes`=3 disagrees"),
    ],
)
def test_bad_options_name_the_argument_and_value(kwargs, exc, match):
    logits, y = multiclass_data(n=50)
    with pytest.raises(exc, match=match):
        cal.calibration_error(logits, y, **kwargs)


def test_bad_tensors_raise_like_auroc():
    logits, y = multiclass_data(n=50)
    with pytest.raises(ValueError, match="same number of samples"):
        cal.brier_score_loss(logits, y[:-1])
    with pytest.raises(ValueError, match="label 7"):
        cal.log_loss(logits, torch.full((50,), 7))
    nan = logits.clone()
    nan[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        cal.calibration_error(nan, y)
    with pytest.raises(TypeError, match="`preds` must be a torch.Tensor"):
        cal.reliability(logits.numpy(), y)
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        cal.calibration_error(torch.randn(50), torch.randint(0, 2, (50,)), activation=None)
    with pytest.raises(ValueError, match="`average` must be one of None, 'micro'; got 'macro'"):
        cal.reliability(*multilabel_data(n=20), average="macro")


def test_fit_errors_say_why_no_calibrator_exists():
    logits, y = multiclass_data(n=100)
    with pytest.raises(ValueError, match="probability distribution"):
        cal.fit_temperature(torch.softmax(logits, 1), y)
    with pytest.raises(ValueError, match="T shrinks to 0"):
        cal.fit_temperature(torch.nn.functional.one_hot(y, 4).double() * 5, y)
    with pytest.raises(ValueError, match="T grows"):
        cal.fit_temperature(-torch.nn.functional.one_hot(y, 4).double(), y)
    inf = logits.clone()
    inf[0, 0] = float("inf")
    with pytest.raises(ValueError, match="finite"):
        cal.fit_temperature(inf, y)
    with pytest.raises(TypeError, match="`max_iter` must be an int"):
        cal.fit_temperature(logits, y, max_iter=1.5)
    z = torch.tensor([-2.0, -1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="separate the classes"):
        cal.fit_platt(z, torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="both classes"):
        cal.fit_platt(z, torch.tensor([1, 1, 1, 1]))
    with pytest.raises(ValueError, match="task 'binary' needs `preds` of shape"):
        cal.fit_platt(logits, y)
    with pytest.raises(ValueError, match=r"`temperature` must be a float in \(0, inf\); got 0.0"):
        cal.TemperatureScaler(0.0)
    with pytest.raises(ValueError, match=r"`temperature` must be a float in \(0, inf\); got inf"):
        cal.TemperatureScaler(torch.tensor(float("inf")))
    with pytest.raises(ValueError, match="`task` must be one of 'binary', 'multiclass', 'multilabel'; got 'ovr'"):
        cal.TemperatureScaler(2.0, task="ovr")
    with pytest.raises(ValueError, match="`max_iter` must be an int >= 1; got 0"):
        cal.fit_platt(z, torch.tensor([0, 1, 0, 1]), max_iter=0)
    with pytest.raises(ValueError, match="shape \\(N,\\), \\(N, 1\\) or \\(N, 2\\)"):
        cal.PlattScaler(1.0, 0.0)(torch.randn(5, 3))


# ----------------------------------------------------------------------------- epoch summary and TensorBoard


def test_summary_equals_the_individual_functions():
    logits, y = multiclass_data()
    s = cal.calibration_summary(logits, y, n_bins=10)
    assert s.task == "multiclass" and s.num_samples == len(y) and s.strategy == "uniform"
    assert s.ece.item() == cal.calibration_error(logits, y, n_bins=10).item()
    assert s.mce.item() == cal.calibration_error(logits, y, n_bins=10, norm="max").item()
    assert s.brier.item() == cal.brier_score_loss(logits, y).item()
    assert s.nll.item() == cal.log_loss(logits, y).item()
    ts = cal.fit_temperature(logits, y)
    assert s.temperature.item() == pytest.approx(float(ts.temperature), rel=1e-12)
    assert s.ece_tempered.item() == pytest.approx(cal.calibration_error(ts(logits), y, n_bins=10).item(), abs=1e-9)
    assert s.ece_tempered < s.ece
    rel = cal.reliability(logits, y, n_bins=10)
    assert all(torch.equal(a, b) for a, b in zip(s.reliability[2:], rel[2:]))


def test_summary_of_binary_probabilities_and_multilabel():
    z, y = binary_data()
    p = torch.sigmoid(z)
    s = cal.calibration_summary(p, y)
    # probabilities are temperature-scaled on their logit: the same T as from the logits
    assert s.temperature.item() == pytest.approx(float(cal.fit_temperature(z, y).temperature), rel=1e-6)
    ml, yl = multilabel_data()
    m = cal.calibration_summary(ml, yl, average="micro")
    assert m.ece.item() == cal.calibration_error(ml, yl, average="micro").item()
    assert int(m.reliability.count.sum()) == yl.numel()  # the diagram pools every entry


def test_summary_from_an_accumulator_equals_from_tensors():
    logits, y = multiclass_data(n=300)
    acc = ac.AUROCAccumulator(num_classes=4)
    for i in range(0, 300, 64):
        acc.update(logits[i : i + 64], y[i : i + 64])
    a, b = cal.calibration_summary(accumulator=acc), cal.calibration_summary(logits, y)
    assert a.ece.item() == b.ece.item() and a.temperature.item() == b.temperature.item()
    with pytest.raises(ValueError, match="options come from the accumulator"):
        cal.calibration_summary(accumulator=acc, task="multiclass")


def test_summary_of_a_diverged_epoch_is_nan_with_one_warning():
    logits, y = multiclass_data(n=100)
    logits[5, 2] = float("nan")
    with pytest.warns(cal.UndefinedCalibrationWarning, match="NaN") as rec:
        s = cal.calibration_summary(logits, y)
    assert len(rec) == 1 and issubclass(cal.UndefinedCalibrationWarning, ac.UndefinedAUROCWarning)
    for name in ("ece", "mce", "brier", "nll", "ece_tempered", "temperature"):
        assert torch.isnan(getattr(s, name)), name
    assert s.num_samples == 100 and int(s.reliability.count.sum()) == 0
    with pytest.raises(ValueError, match="label 9"):  # bad labels still raise
        cal.calibration_summary(logits, torch.full((100,), 9))


def test_summary_without_a_temperature_minimum_warns_once_and_keeps_the_rest():
    y = torch.tensor([0, 1, 0, 1, 1, 0])
    z = torch.where(y == 1, 3.0, -3.0).double()  # every sample right with a margin: T -> 0
    with pytest.warns(cal.UndefinedCalibrationWarning, match="T shrinks to 0") as rec:
        s = cal.calibration_summary(z, y)
    assert len(rec) == 1
    assert torch.isnan(s.temperature) and torch.isnan(s.ece_tempered)
    assert s.ece.item() == pytest.approx(1 - 1 / (1 + np.exp(-3.0)), abs=1e-12)
    one_class = cal.calibration_summary(torch.tensor([0.5, -1.0, 2.0, 0.3]), torch.tensor([1, 1, 1, 1]))
    assert not torch.isnan(one_class.ece)  # one class: ECE, Brier and NLL are still defined


class Recorder:
    def __init__(self):
        self.calls = []

    def add_scalar(self, tag, value, global_step=None):
        self.calls.append((tag, value, global_step))


def test_log_calibration_writes_scalars_and_the_diagram(tmp_path):
    pytest.importorskip("tensorboard")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    logits, y = multiclass_data(n=500)
    s = cal.calibration_summary(logits, y)
    with SummaryWriter(str(tmp_path)) as writer:
        log_calibration(writer, s, step=3, tag="val/calibration")
    ea = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    names = ("ece", "ece_tempered", "mce", "brier", "nll", "temperature")
    assert set(ea.Tags()["scalars"]) == {f"val/calibration/{n}" for n in names}
    for n in names:
        (event,) = ea.Scalars(f"val/calibration/{n}")
        assert event.step == 3 and event.value == pytest.approx(getattr(s, n).item(), rel=1e-6)
    assert ea.Tags()["images"] == ["val/calibration/reliability"]

    rec = Recorder()
    y2 = torch.tensor([0, 1, 0, 1])
    with pytest.warns(cal.UndefinedCalibrationWarning):
        nan_t = cal.calibration_summary(torch.tensor([-3.0, 3.0, -3.0, 3.0]), y2)
    log_calibration(rec, nan_t, step=0, figure=False)
    assert [t for t, _, _ in rec.calls] == [f"calibration/{n}" for n in ("ece", "mce", "brier", "nll")]  # no NaN
    with pytest.raises(TypeError, match="add_figure"):
        log_calibration(rec, nan_t, step=0)
    with pytest.raises(TypeError, match="`step` must be an int"):
        log_calibration(rec, nan_t, step=1.0, figure=False)
    with pytest.raises(TypeError, match="`summary` must be a CalibrationSummary"):
        log_calibration(rec, (1, 2), step=0, figure=False)


def test_plot_reliability_draws_bins_counts_and_the_calibrated_overlay():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z, y = binary_data()
    p = torch.sigmoid(z).numpy()
    platt = cal.fit_platt(z, y)
    fig = plot_reliability(z, y, calibrated=platt, n_bins=10)
    try:
        top, bottom = fig.axes
        lines = {ln.get_gid(): ln for ln in top.lines}
        prob_true, prob_pred = calibration_curve(y.numpy(), p, n_bins=10)
        np.testing.assert_allclose(lines["reliability/model"].get_xdata(), prob_pred, atol=TOL)
        np.testing.assert_allclose(lines["reliability/model"].get_ydata(), prob_true, atol=TOL)
        ece = ece_mce_reference(p, y.numpy(), 10, "uniform")[0]
        p_after = platt(z).numpy()
        ece_after = ece_mce_reference(p_after, y.numpy(), 10, "uniform")[0]
        legend = [t.get_text() for t in top.get_legend().get_texts()]
        assert legend[1] == f"model (ECE = {ece:.3f})"
        assert legend[2].startswith("Platt-scaled") and legend[2].endswith(f"(ECE = {ece_after:.3f})")
        assert "reliability/diagonal" in lines and "reliability/calibrated" in lines
        counts = [a for a in bottom.patches if a.get_gid() == "reliability/counts/model"]
        assert len(counts) == 1
        np.testing.assert_array_equal(counts[0].get_data().values, np.histogram(p, np.linspace(0, 1, 11))[0])
        assert "1,000 samples" in top.get_title()
    finally:
        plt.close(fig)
    with pytest.raises(TypeError, match="`calibrated` must be a Calibrator"):
        plot_reliability(z, y, calibrated="platt")


# ----------------------------------------------------------------------------- device


@pytest.mark.gpu
@cuda
def test_cuda_results_equal_cpu_and_run_in_deterministic_mode():
    logits, y = multiclass_data()
    z, yb = binary_data()
    torch.use_deterministic_algorithms(True)
    try:
        lg, yg = logits.cuda(), y.cuda()
        ece = cal.calibration_error(lg, yg, strategy="quantile")
        assert ece.device.type == "cuda"
        assert ece.item() == pytest.approx(cal.calibration_error(logits, y, strategy="quantile").item(), abs=1e-12)
        assert cal.brier_score_loss(lg, yg).item() == pytest.approx(cal.brier_score_loss(logits, y).item(), abs=1e-12)
        ts = cal.fit_temperature(lg, yg)
        assert ts.temperature.device.type == "cuda"
        assert float(ts.temperature) == pytest.approx(float(cal.fit_temperature(logits, y).temperature), rel=1e-9)
        iso = cal.fit_isotonic(z.cuda(), yb.cuda())
        assert torch.equal(iso.x.cpu(), cal.fit_isotonic(z, yb).x)
        platt = cal.fit_platt(z.cuda(), yb.cuda())
        assert platt(z.cuda()).device.type == "cuda"
        s = cal.calibration_summary(lg, yg)
        assert s.ece.device.type == "cuda" and not torch.isnan(s.ece_tempered)
    finally:
        torch.use_deterministic_algorithms(False)


def test_review_finds_calibrator_arguments_and_platt_on_one_score():
    """Isotonic knots outside [0, 1], a non-number temperature, and Platt when every score is the same."""
    with pytest.raises(ValueError, match=r"`y` must be probabilities in \[0, 1\]; got values from -0.5 to 1.8"):
        cal.IsotonicCalibrator(torch.tensor([0.0, 1.0]), torch.tensor([-0.5, 1.8]))
    with pytest.raises(TypeError, match=r"`temperature` must be a float in \(0, inf\); got str 'abc'"):
        cal.TemperatureScaler("abc")
    with pytest.raises(TypeError, match=r"`a` must be a float in \(-inf, inf\); got NoneType None"):
        cal.PlattScaler(None, 0.0)
    y = torch.tensor([1, 0, 0, 1, 0, 0, 0, 1])
    platt = cal.fit_platt(torch.full((8,), 0.3), y)  # a finite maximum: a = 0, b = logit(3/8), as sklearn finds
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(np.full((8, 1), 0.3), y.numpy())
    assert float(platt.a) == 0.0 and float(platt.b) == pytest.approx(math.log(3 / 5), abs=1e-12)
    assert float(platt.b) == pytest.approx(lr.intercept_[0] + 0.3 * lr.coef_[0, 0], abs=1e-6)


def test_log_loss_clips_like_sklearn_for_hard_int_and_half_precision_predictions():
    """scikit-learn clips at the eps of the input's float dtype, float64's for int or bool input."""
    y = np.array([1, 0, 1, 1, 0])
    hard = np.array([1, 1, 0, 1, 0])  # two confident mistakes
    for preds in (torch.tensor(hard), torch.tensor(hard).bool()):
        want = log_loss(y, hard, labels=[0, 1])  # int input: float64, clipped at float64's eps (about 36 per miss)
        assert cal.log_loss(preds, torch.tensor(y), activation=None).item() == pytest.approx(want, rel=1e-9)
    eps16 = float(np.finfo(np.float16).eps)
    for p in (hard, [0.9, 0.2, 1e-5, 0.7, 0.0]):
        preds = torch.tensor(p, dtype=torch.float16)
        p64 = np.clip(preds.double().numpy(), eps16, 1 - eps16)  # sklearn's float16 clip, its sums done in float64
        want = log_loss(y, p64, labels=[0, 1])
        assert cal.log_loss(preds, torch.tensor(y), activation=None).item() == pytest.approx(want, rel=1e-9)


# ----------------------------------------------------------------------------- one formatting stage, sklearn names


def _two_logit_head(n=600, seed=1):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    z = torch.randn(n, 2, generator=g) * 2 + torch.stack([torch.zeros(n), 2.0 * y], 1)
    return z, y


@pytest.mark.parametrize(
    "case", ["binary", "two_logit_softmax", "two_logit_sigmoid", "multiclass", "multilabel", "half"]
)
def test_the_binned_probabilities_are_bitwise_those_the_auroc_ranks(case):
    """Calibration of the scores equals calibration of ac.probabilities(scores), bit for bit, and sklearn's curve."""
    if case == "binary":
        preds, y = binary_data()
        options = {}
    elif case.startswith("two_logit"):
        preds, y = _two_logit_head()
        options = {"task": "binary", "activation": case.split("_")[-1]}
    elif case == "multiclass":
        preds, y = multiclass_data()
        options = {}
    elif case == "multilabel":
        preds, y = multilabel_data()
        options = {}
    else:
        preds, y = multiclass_data()
        preds, options = preds.half(), {}
    probs, labels, _ = ac.probabilities(preds, y, **options)
    direct = cal.reliability(preds, y, n_bins=10, average="micro", **options)
    ranked = cal.reliability(
        probs, y, n_bins=10, average="micro", activation=None, **{k: v for k, v in options.items() if k == "task"}
    )
    for a, b in zip(direct, ranked):  # bit for bit; empty bins are NaN in both
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    if case != "multiclass" and case != "half":  # top-label: calibration_curve of correctness, tested above
        prob_true, prob_pred = calibration_curve(labels.numpy().ravel(), probs.double().numpy().ravel(), n_bins=10)
        filled = direct.count > 0
        np.testing.assert_allclose(direct.accuracy[filled].numpy(), prob_true, rtol=0, atol=TOL)
        np.testing.assert_allclose(direct.confidence[filled].numpy(), prob_pred, rtol=0, atol=TOL)


def test_two_logit_head_with_a_sigmoid_scores_the_positive_columns_sigmoid():
    z, y = _two_logit_head()
    p = torch.sigmoid(z[:, 1].double()).numpy()
    want = brier_score_loss(y.numpy(), p)
    got = cal.brier_score_loss(z, y, task="binary", activation="sigmoid").item()
    assert got == pytest.approx(want, abs=1e-7)  # float32 probabilities
    assert cal.log_loss(z, y, task="binary", activation="sigmoid").item() == pytest.approx(
        log_loss(y.numpy(), p), abs=1e-6
    )


def test_package_uses_sklearn_names_and_leaves_drawing_and_logging_to_their_modules():
    from auroc_callbacks import plotting, tensorboard
    from auroc_callbacks.calibration import calibrators, metrics

    assert {
        "calibration_error",
        "reliability",
        "brier_score_loss",
        "log_loss",
        "calibration_summary",
        "fit_temperature",
        "fit_platt",
        "fit_isotonic",
        "Calibrator",
        "CalibrationSummary",
    } <= set(cal.__all__)
    assert all(hasattr(cal, name) for name in cal.__all__)
    assert not {"brier_score", "nll", "plot_reliability", "log_calibration"} & set(dir(cal))
    assert cal.log_loss is metrics.log_loss and cal.fit_platt is calibrators.fit_platt
    assert "plot_reliability" in plotting.__all__ and "log_calibration" in tensorboard.__all__
    assert cal.fit_platt(torch.tensor([-1.0, 0.5, 0.0, 1.0]), torch.tensor([0, 0, 1, 1])).display_name.startswith(
        "Platt-scaled (a = "
    )
