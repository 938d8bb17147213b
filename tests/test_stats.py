"""auroc_ci and compare_auroc: DeLong against pROC, hand-worked formulas and brute force; bootstrap; paired test.

References, none from the code under test:

* pROC on its own ``aSAH`` data (Turck et al. 2010, 113 patients, shipped with
  pROC; ``y = outcome == "Poor"``, 41 positives). pROC's documentation
  publishes, to four digits, ``roc(aSAH$outcome, aSAH$s100b)``: "Area under
  the curve: 0.7314", "95% CI: 0.6301-0.8326 (DeLong)", the wfns AUC 0.8237,
  and ``roc.test`` of the two: "Z = -2.209, p-value = 0.02718". The
  full-precision values below were printed by pROC 1.19.1 (``format(digits=17)``
  of ``auc``, ``var(method="delong")``, ``cov`` and ``roc.test``, with
  ``direction="<"``) as transcribed in a public test suite; they agree with
  the published digits.
* A small example worked by hand (exact fractions, in the comments).
* Brute force: the structural components from the m x n comparison matrix,
  and their covariance across classes and models, written from the definitions.
"""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

import auroc_callbacks as ac
from auroc_callbacks import _checks, _format, _ranking, stats

Z95 = 1.959963984540054

# ----------------------------------------------------------------------------- pROC's aSAH data

ASAH_Y = [
    0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0,
    0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0,
    0,
]  # fmt: skip
ASAH_S100B = [
    0.13, 0.14, 0.1, 0.04, 0.13, 0.1, 0.47, 0.16, 0.18, 0.1, 0.12, 0.1, 0.44, 0.71,
    0.04, 0.08, 0.49, 0.04, 0.07, 0.33, 0.09, 0.09, 0.07, 0.11, 0.07, 0.17, 0.07, 0.11,
    0.13, 0.19, 0.05, 0.16, 0.41, 0.14, 0.34, 0.35, 0.48, 0.09, 0.96, 0.25, 0.5, 0.46,
    0.16, 0.07, 0.43, 0.45, 0.11, 0.08, 0.09, 0.86, 0.52, 0.08, 0.06, 0.13, 2.07, 0.1,
    0.14, 0.15, 0.07, 0.06, 0.77, 0.05, 0.09, 0.3, 0.03, 0.09, 0.04, 0.23, 0.7, 0.09,
    0.27, 0.71, 0.08, 0.26, 0.08, 0.16, 0.09, 0.13, 0.1, 0.08, 0.11, 0.33, 0.11, 0.28,
    0.07, 0.1, 0.32, 0.22, 0.07, 0.05, 0.24, 0.38, 0.1, 0.15, 0.08, 0.14, 0.1, 0.07,
    0.04, 0.19, 0.56, 0.14, 0.58, 0.32, 0.82, 0.74, 0.15, 0.47, 0.17, 0.44, 0.15, 0.5,
    0.48,
]  # fmt: skip
ASAH_WFNS = [
    1, 1, 1, 1, 3, 2, 5, 4, 1, 2, 5, 2, 5, 5, 1, 2, 5, 2, 2, 5, 2, 1, 1, 1, 1, 2, 1, 2,
    1, 1, 3, 4, 2, 1, 4, 5, 4, 1, 4, 2, 5, 5, 1, 1, 2, 4, 1, 1, 2, 5, 5, 2, 1, 2, 5, 1,
    2, 2, 2, 1, 5, 1, 1, 2, 5, 2, 1, 4, 5, 2, 4, 4, 1, 4, 1, 2, 1, 4, 2, 1, 2, 3, 2, 4,
    2, 1, 4, 5, 1, 1, 5, 4, 2, 2, 1, 1, 1, 3, 1, 2, 5, 2, 2, 5, 5, 5, 2, 4, 4, 5, 1, 1,
    1,
]  # fmt: skip
ASAH_NDKA = [
    3.01, 8.54, 8.09, 10.42, 17.4, 12.75, 6.0, 13.2, 15.54, 6.01, 15.96, 17.86, 5.18,
    8.9, 13.41, 20.75, 11.6, 16.11, 32.37, 54.82, 32.41, 49.94, 40.34, 9.47, 6.29,
    12.53, 6.54, 6.3, 80.3, 12.8, 9.8, 9.81, 9.85, 18.21, 5.03, 14.04, 21.93, 8.02,
    7.42, 8.38, 6.59, 9.63, 13.12, 7.96, 14.34, 41.43, 7.63, 7.06, 12.59, 13.56, 3.87,
    9.44, 7.66, 12.98, 419.19, 27.19, 22.27, 9.95, 21.22, 11.73, 10.4, 58.83, 6.39,
    11.09, 12.22, 13.67, 17.21, 22.63, 12.9, 9.7, 21.57, 8.23, 72.57, 15.54, 10.51,
    10.6, 14.57, 5.19, 9.63, 4.61, 21.48, 17.3, 12.71, 9.44, 11.07, 19.46, 10.83, 5.37,
    11.97, 7.75, 9.83, 10.55, 28.49, 8.53, 12.57, 12.9, 46.83, 11.68, 12.67, 9.01, 9.57,
    34.06, 11.72, 14.26, 47.61, 11.67, 24.58, 10.33, 13.87, 15.89, 22.43, 6.79, 13.45,
]  # fmt: skip
# pROC 1.19.1: auc, var(method="delong") of s100b, wfns, ndka; cov(s100b, wfns), cov(s100b, ndka); roc.test
PROC_AUC = (0.73136856368563685, 0.82367886178861793, 0.61195799457994582)
PROC_VAR = (0.0026686824571724378, 0.0014699147088236264, 0.0031908105493913021)
PROC_COV_WFNS, PROC_COV_NDKA = 0.0011961556737675448, -0.00075616493805657884
PROC_Z_WFNS, PROC_P_WFNS = -2.2089835914409077, 0.02717578222918815
PROC_Z_NDKA, PROC_P_NDKA = 1.3907700257355771, 0.16429517522305448


def _asah():
    y = torch.tensor(ASAH_Y)
    markers = [torch.tensor(v, dtype=torch.float64) for v in (ASAH_S100B, ASAH_WFNS, ASAH_NDKA)]
    return y, markers


def test_asah_matches_procs_published_interval_and_test():
    y, (s100b, wfns, _) = _asah()
    iv = ac.auroc_ci(s100b, y, interval="wald")
    assert (round(iv.value.item(), 4), round(iv.lower.item(), 4), round(iv.upper.item(), 4)) == (0.7314, 0.6301, 0.8326)
    assert round(ac.auroc_ci(wfns, y).value.item(), 4) == 0.8237
    test = ac.compare_auroc(s100b, wfns, y)
    assert (round(test.z.item(), 3), round(test.p_value.item(), 5)) == (-2.209, 0.02718)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_asah_matches_proc_to_full_precision(dtype):
    y, markers = _asah()
    for marker, auc, var in zip(markers, PROC_AUC, PROC_VAR):
        iv = ac.auroc_ci(marker.to(dtype), y, interval="wald")
        assert iv.value.item() == pytest.approx(auc, rel=1e-14)
        assert iv.std_error.item() ** 2 == pytest.approx(var, rel=1e-12)
        assert iv.lower.item() == pytest.approx(auc - Z95 * math.sqrt(var), rel=1e-12)
        assert iv.upper.item() == pytest.approx(auc + Z95 * math.sqrt(var), rel=1e-12)
    s100b, wfns, ndka = (m.to(dtype) for m in markers)
    pairs = ((1, wfns, PROC_COV_WFNS, PROC_Z_WFNS, PROC_P_WFNS), (2, ndka, PROC_COV_NDKA, PROC_Z_NDKA, PROC_P_NDKA))
    for j, other, cov, z, p in pairs:
        c = ac.compare_auroc(s100b, other, y)
        assert c.std_error.item() ** 2 == pytest.approx(PROC_VAR[0] + PROC_VAR[j] - 2 * cov, rel=1e-12)
        assert c.z.item() == pytest.approx(z, rel=1e-12)
        assert c.p_value.item() == pytest.approx(p, rel=1e-10)


# ----------------------------------------------------------------------------- worked by hand

# Positives X = (0.8, 0.6, 0.4), negatives Y = (0.6, 0.3, 0.2, 0.1): m = 3, n = 4.
#   V10 = (4, 3 + 1/2, 3) / 4 = (1, 7/8, 3/4)          A = mean V10 = 7/8
#   V01 = (1 + 1/2, 3, 3, 3) / 3 = (1/2, 1, 1, 1)      mean V01 = 7/8
#   S10 = ((1/8)^2 + 0 + (1/8)^2) / 2 = 1/64;  S01 = ((3/8)^2 + 3 (1/8)^2) / 3 = 1/16
#   Var = S10 / 3 + S01 / 4 = 1/192 + 1/64 = 1/48
# Model b on the same samples: X_b = (0.5, 0.9, 0.2), Y_b = (0.4, 0.1, 0.3, 0.6)
#   V10_b = (3/4, 1, 1/4), A_b = 2/3;  V01_b = (2/3, 1, 2/3, 1/3)
#   S10_b = ((1/12)^2 + (1/3)^2 + (5/12)^2) / 2 = 7/48;  S01_b = (0 + 1/9 + 0 + 1/9) / 3 = 2/27
#   Var_b = 7/144 + 1/54 = 29/432
#   S10_ab = ((1/8)(1/12) + 0 + (1/8)(5/12)) / 2 = 1/32;  S01_ab = (0 + (1/8)(1/3) + 0 - (1/8)(1/3)) / 3 = 0
#   Cov = 1/96;  Var(A - A_b) = 1/48 + 29/432 - 2/96 = 29/432;  A - A_b = 5/24
HAND_TARGET = torch.tensor([1, 1, 1, 0, 0, 0, 0])
HAND_A = torch.tensor([0.8, 0.6, 0.4, 0.6, 0.3, 0.2, 0.1], dtype=torch.float64)
HAND_B = torch.tensor([0.5, 0.9, 0.2, 0.4, 0.1, 0.3, 0.6], dtype=torch.float64)


def test_hand_worked_delong_variance():
    iv = ac.auroc_ci(HAND_A, HAND_TARGET, interval="wald")
    assert iv.value.item() == float(Fraction(7, 8))
    assert iv.std_error.item() ** 2 == pytest.approx(float(Fraction(1, 48)), rel=1e-14)
    se = math.sqrt(1 / 48)
    assert iv.lower.item() == pytest.approx(7 / 8 - Z95 * se, rel=1e-14)
    assert iv.upper.item() == 1.0  # 7/8 + 0.283 clipped, as pROC clips
    b = ac.auroc_ci(HAND_B, HAND_TARGET)
    assert b.std_error.item() ** 2 == pytest.approx(float(Fraction(29, 432)), rel=1e-14)


def test_hand_worked_paired_test():
    c = ac.compare_auroc(HAND_A, HAND_B, HAND_TARGET)
    diff, var = Fraction(5, 24), Fraction(29, 432)
    assert c.difference.item() == pytest.approx(float(diff), rel=1e-14)
    assert c.std_error.item() ** 2 == pytest.approx(float(var), rel=1e-14)
    z = float(diff) / math.sqrt(float(var))
    assert c.z.item() == pytest.approx(z, rel=1e-13)
    assert c.p_value.item() == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert c.lower.item() == pytest.approx(float(diff) - Z95 * math.sqrt(float(var)), rel=1e-13)
    assert (c.value_a.item(), c.value_b.item()) == pytest.approx((7 / 8, 2 / 3), rel=1e-15)


def test_logit_interval_is_the_wald_interval_of_the_logit_mapped_back():
    iv = ac.auroc_ci(HAND_A, HAND_TARGET, interval="logit")
    a, se = 7 / 8, math.sqrt(1 / 48)
    half = Z95 * se / (a * (1 - a))
    logit = math.log(a / (1 - a))
    assert iv.lower.item() == pytest.approx(1 / (1 + math.exp(-(logit - half))), rel=1e-13)
    assert iv.upper.item() == pytest.approx(1 / (1 + math.exp(-(logit + half))), rel=1e-13)
    assert iv.std_error.item() == pytest.approx(se, rel=1e-14)
    for interval in ("logit", "logit-t"):
        perfect = ac.auroc_ci(torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([1, 1, 0, 0]), interval=interval)
        assert (perfect.value.item(), perfect.lower.item(), perfect.upper.item()) == (1.0, 1.0, 1.0)


def _logit_t(a, shares, sizes, level=0.95):
    """The default interval from its definition: logit scale, Student-t at Welch-Satterthwaite df (scipy)."""
    var = sum(shares)
    den = sum(v**2 / (k - 1) for v, k in zip(shares, sizes) if k > 1 and v > 0)
    df = var**2 / den if den > 0 else math.inf
    if a in (0.0, 1.0):  # every placement 0 or 1: no spread, the interval is the point
        return a, a, df
    q = sps.t.ppf(0.5 + level / 2, df)
    half = q * math.sqrt(var) / (a * (1 - a))
    logit = math.log(a / (1 - a))
    return 1 / (1 + math.exp(-(logit - half))), 1 / (1 + math.exp(-(logit + half))), df


def test_default_interval_is_logit_scale_with_the_welch_satterthwaite_t_quantile():
    # The hand-worked shares: S10 / m = 1/192 (m = 3), S01 / n = 1/64 (n = 4): df = 4.57
    iv = ac.auroc_ci(HAND_A, HAND_TARGET)
    lo, hi, df = _logit_t(7 / 8, [1 / 192, 1 / 64], [3, 4])
    assert df == pytest.approx(4.5714, abs=1e-4)
    assert iv.lower.item() == pytest.approx(lo, rel=1e-12) and iv.upper.item() == pytest.approx(hi, rel=1e-12)
    assert iv.per_class_lower.item() == iv.lower.item()
    assert torch.equal(ac.auroc_ci(HAND_A, HAND_TARGET, interval="logit-t").lower, iv.lower)
    wider = ac.auroc_ci(HAND_A, HAND_TARGET, ci_level=0.99)
    assert wider.lower < iv.lower and wider.upper > iv.upper


@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995, 0.9995])
def test_t_quantile_equals_scipys(p):
    df = torch.tensor([1, 1.5, 2, 3, 4.57, 7, 19.3, 30, 100, 1e3, 1e5, 1e8, float("inf")], dtype=torch.float64)
    got = stats.t_quantile(p, df)
    want = sps.t.ppf(p, df.numpy())
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9)


# ----------------------------------------------------------------------------- brute force


def _components(scores, labels):
    """DeLong's structural components from the m x n comparison matrix (ties 1/2)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    psi = (s[y][:, None] > s[~y][None, :]) + 0.5 * (s[y][:, None] == s[~y][None, :])
    return psi.mean(1), psi.mean(0), psi.mean()


def _influence(scores, labels, keep=None):
    """(N,) per-sample influence of one AUROC: DeLong's components, centred and scaled (module docstring)."""
    y = np.asarray(labels).astype(bool)
    keep = np.ones_like(y) if keep is None else np.asarray(keep).astype(bool)
    out = np.zeros(len(y))
    v10, v01, a = _components(np.asarray(scores)[keep], y[keep])
    m, n = len(v10), len(v01)
    pos, neg = np.flatnonzero(keep & y), np.flatnonzero(keep & ~y)
    out[pos] = math.sqrt(m / (m - 1)) * (v10 - a) / m
    out[neg] = math.sqrt(n / (n - 1)) * (v01 - a) / n
    return out, a


def _brute_variance(scores, labels):
    v10, v01, a = _components(scores, labels)
    m, n = len(v10), len(v01)
    return a, ((v10 - a) ** 2).sum() / (m - 1) / m + ((v01 - a) ** 2).sum() / (n - 1) / n


def _tied_scores(rng, shape, decimals):
    return np.round(rng.normal(size=shape), decimals)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(8, 120), decimals=st.sampled_from([0, 1, 3]))
def test_binary_variance_equals_the_brute_force_structural_components(seed, n, decimals):
    rng = np.random.default_rng(seed)
    y = np.r_[0, 0, 1, 1, rng.integers(0, 2, n - 4)]
    x = _tied_scores(rng, n, decimals) + y * rng.uniform(0, 1.5)
    iv = ac.auroc_ci(torch.tensor(x), torch.tensor(y))
    a, var = _brute_variance(x, y)
    assert iv.value.item() == pytest.approx(a, abs=1e-15)
    assert torch.equal(iv.value, ac.auroc(torch.tensor(x), torch.tensor(y)))
    assert iv.std_error.item() ** 2 == pytest.approx(var, rel=1e-10, abs=1e-15)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(2, 5), average=st.sampled_from(["macro", "weighted", None]))
def test_multiclass_per_class_and_average_variance_equal_brute_force_covariance(seed, k, average):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4 * k, 90))
    y = np.r_[np.repeat(np.arange(k), 2), rng.integers(0, k, n - 2 * k)]
    x = _tied_scores(rng, (n, k), 1) + np.eye(k)[y]
    iv = ac.auroc_ci(torch.tensor(x), torch.tensor(y), activation=None, average=average)
    psi = np.stack([_influence(x[:, c], y == c)[0] for c in range(k)])  # (K, N)
    cov = psi @ psi.T  # sum_i psi_r(i) psi_s(i), r, s over classes
    for c in range(k):
        a, var = _brute_variance(x[:, c], y == c)
        assert iv.per_class[c].item() == pytest.approx(a, abs=1e-15)
        assert iv.per_class_std_error[c].item() ** 2 == pytest.approx(var, rel=1e-10, abs=1e-15)
        assert cov[c, c] == pytest.approx(var, rel=1e-12)
    assert torch.equal(iv.value, ac.auroc(torch.tensor(x), torch.tensor(y), activation=None, average=average))
    for c in range(k):  # per class: the positives' and the negatives' shares
        share_pos, share_neg = (psi[c, y == c] ** 2).sum(), (psi[c, y != c] ** 2).sum()
        lo, hi, _ = _logit_t(iv.per_class[c].item(), [share_pos, share_neg], [(y == c).sum(), (y != c).sum()])
        assert iv.per_class_lower[c].item() == pytest.approx(lo, rel=1e-9)
        assert iv.per_class_upper[c].item() == pytest.approx(hi, rel=1e-9)
    if average is not None:
        w = np.full(k, 1 / k) if average == "macro" else np.bincount(y, minlength=k) / n
        assert iv.std_error.item() ** 2 == pytest.approx(w @ cov @ w, rel=1e-10, abs=1e-15)
        contrib = (w @ psi) ** 2  # each sample's share; the classes are the strata
        lo, hi, _ = _logit_t(
            iv.value.item(), [contrib[y == c].sum() for c in range(k)], [(y == c).sum() for c in range(k)]
        )
        assert iv.lower.item() == pytest.approx(lo, rel=1e-9) and iv.upper.item() == pytest.approx(hi, rel=1e-9)


def test_multilabel_with_ignore_index_matches_brute_force_per_label_and_macro(rng):
    n, k = 80, 3
    y = rng.integers(0, 2, (n, k))
    x = _tied_scores(rng, (n, k), 1) + y
    y[rng.random((n, k)) < 0.15] = -1
    y[:3] = [[0, 1, 0], [1, 0, 1], [0, 0, 1]]
    y[3:6] = [[1, 1, 0], [0, 1, 1], [1, 0, 0]]
    iv = ac.auroc_ci(torch.tensor(x), torch.tensor(y), ignore_index=-1, activation=None)
    per = ac.auroc_ci(torch.tensor(x), torch.tensor(y), ignore_index=-1, activation=None, average=None)
    psi = np.stack([_influence(x[:, c], y[:, c] == 1, keep=y[:, c] >= 0)[0] for c in range(k)])
    for c in range(k):
        keep = y[:, c] >= 0
        a, var = _brute_variance(x[keep, c], y[keep, c])
        assert iv.per_class[c].item() == pytest.approx(a, abs=1e-15)
        assert iv.per_class_std_error[c].item() ** 2 == pytest.approx(var, rel=1e-10)
        assert per.std_error[c].item() ** 2 == pytest.approx(var, rel=1e-10)  # from the positives alone
    assert iv.std_error.item() ** 2 == pytest.approx(psi.sum(0) @ psi.sum(0) / k**2, rel=1e-10)


def test_classes_that_share_samples_are_correlated_and_the_macro_variance_counts_it(rng):
    """A shared per-sample offset in every column makes the OvR AUROCs negatively correlated."""
    n, k = 600, 4
    y = rng.integers(0, k, n)
    x = rng.normal(size=(n, k)) + 3 * rng.normal(size=(n, 1)) + np.eye(k)[y]
    iv = ac.auroc_ci(torch.tensor(x), torch.tensor(y), activation=None)
    independent = iv.per_class_std_error.square().sum().sqrt().item() / k
    assert iv.std_error.item() < 0.8 * independent


def test_value_is_bitwise_auroc_on_float32_probabilities_with_ties():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(3000, 5, generator=g).round(decimals=1)
    target = torch.randint(0, 5, (3000,), generator=g)
    for average in ("macro", "weighted", None):
        iv = ac.auroc_ci(logits, target, average=average)
        assert torch.equal(iv.value, ac.auroc(logits, target, average=average))
        assert torch.equal(iv.per_class, ac.auroc(logits, target, average=None))
    assert torch.equal(iv.support, torch.bincount(target, minlength=5))
    assert iv.num_samples == 3000


def test_sorting_with_and_without_sample_ids_gives_the_same_components():
    """The id-carrying sort (macro) and the values-only sort (per class) rank identically; wide keys fall back."""
    g = torch.Generator().manual_seed(4)
    target = torch.randint(0, 2, (500, 3), generator=g)
    for scores in (
        torch.rand(500, 3, generator=g).round(decimals=2),  # int32 keys
        torch.randn(500, 3, generator=g, dtype=torch.float64) * 1e300,
    ):  # float64 off [0, 1]: dense ranks
        per = ac.auroc_ci(scores, target, average=None, activation=None)
        macro = ac.auroc_ci(scores, target, activation=None)
        torch.testing.assert_close(per.per_class_std_error, macro.per_class_std_error, rtol=1e-13, atol=0)
    ranking = _ranking
    for probs in (
        torch.rand(300, 2, generator=g, dtype=torch.float64),  # float64 in [0, 1]: too wide for an index
        torch.rand(300, 2, generator=g).round(decimals=2),
    ):  # int32 keys: the index rides in the low bits
        keys = ranking.pack(probs.T.contiguous(), torch.rand(2, 300, generator=g) < 0.3).keys
        plain = ranking.sort_and_count(keys.clone(), keys.new_tensor([0, 0]).long())
        both = ranking.sort_and_count(keys.clone(), keys.new_tensor([0, 0]).long(), with_ids=True)
        assert torch.equal(both.keys, plain.keys.long()) and plain.ids is None
        assert torch.equal(keys.long().gather(1, both.ids), both.keys)  # the permutation of the sort
        assert torch.equal(both.ids.sort(1).values, torch.arange(300).expand(2, 300))


@pytest.mark.parametrize("kind", ["float32 probabilities", "float64 probabilities", "float64 logits"])
@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_average_variance_on_two_threads_equals_brute_force_and_is_the_same_bitwise_on_every_run(kind, average):
    """The rows' influence values are computed on two threads and summed in row order: a fixed order, so every
    run gives the same bits, whichever thread finished first (every key width; ties inside and across labels)."""
    rng = np.random.default_rng(11)
    n, k = 400, 7  # more classes than threads: several waves
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]
    logits = np.round(rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y], 1)
    x = logits if kind == "float64 logits" else np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    x = x.astype(np.float32 if kind.startswith("float32") else np.float64)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        runs = [ac.auroc_ci(torch.tensor(x), torch.tensor(y), activation=None, average=average) for _ in range(4)]
        torch.set_num_threads(1)
        one = ac.auroc_ci(torch.tensor(x), torch.tensor(y), activation=None, average=average)
    finally:
        torch.set_num_threads(threads)
    assert len({r.std_error.item().hex() for r in runs}) == 1 and len({r.lower.item().hex() for r in runs}) == 1
    iv = runs[0]
    xs = x.astype(np.float64)
    psi = np.stack([_influence(xs[:, c], y == c)[0] for c in range(k)])
    w = np.full(k, 1 / k) if average == "macro" else np.bincount(y, minlength=k) / n
    assert iv.std_error.item() ** 2 == pytest.approx(w @ (psi @ psi.T) @ w, rel=1e-10)
    for c in range(k):
        assert iv.per_class_std_error[c].item() ** 2 == pytest.approx(_brute_variance(xs[:, c], y == c)[1], rel=1e-10)
    torch.testing.assert_close(iv.std_error, one.std_error, rtol=1e-12, atol=0)
    assert torch.equal(iv.value, one.value) and torch.equal(
        iv.value, ac.auroc(torch.tensor(x), torch.tensor(y), activation=None, average=average)
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(0, 300),
    m=st.integers(0, 200),
    high=st.sampled_from([2, 40, 10**6, 2**31 - 1, 2**60, 2**63 - 1]),
    shape=st.sampled_from(["uniform", "one value repeated", "a narrow cluster", "one outlier"]),
)
def test_below_and_tied_equals_numpy_searchsorted(seed, n, m, high, shape):
    """The bucket table gives ``searchsorted`` left and right exactly: ties, values outside the reference's range,
    deep buckets (a cluster of distinct values in one bucket: the binary search), int32 and int64 codes."""
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, high, m)
    if m and shape == "one value repeated":
        ref[: m // 2] = ref[0]
    elif m and shape == "a narrow cluster":  # many distinct values in one bucket of the table
        ref = ref[0] // 2 + np.arange(m)
    elif m and shape == "one outlier":  # a wide range with everything else in a corner of it
        ref[1:] = ref[0] // 2 + rng.integers(0, 50, m - 1)
    ref = np.sort(ref)
    codes = np.r_[rng.integers(0, high, n), ref[: n // 3]]  # some codes equal to reference values
    dtype = torch.int32 if high < 2**31 else torch.int64
    below, tied = _ranking.below_and_tied(torch.tensor(codes, dtype=dtype), torch.tensor(ref, dtype=dtype))
    left, right = np.searchsorted(ref, codes, "left"), np.searchsorted(ref, codes, "right")
    np.testing.assert_array_equal(below.numpy(), left)
    np.testing.assert_array_equal(tied.numpy(), right - left)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_few_samples_of_float64_probabilities_whose_codes_reach_2_pow_63(dtype):
    """float64 probabilities are ranked by their raw bits (codes up to ~2**63): a wide range over few values."""
    a = torch.tensor([0.0, 0.1, 0.5, 0.9], dtype=dtype)
    b = torch.tensor([0.2, 0.6, 0.4, 0.3], dtype=dtype)
    t = torch.tensor([1, 1, 0, 0])
    cmp = ac.compare_auroc(a, b, t)  # one positive lowest of all in a (A = 0), b: A = 1/2; worked by hand:
    assert cmp.difference.item() == -0.5 and cmp.std_error.item() == pytest.approx(0.5, rel=1e-12)
    probs = torch.tensor(
        [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.6, 0.1, 0.3], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]],
        dtype=dtype,
    )
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    iv = ac.auroc_ci(probs, y, activation=None, average=None)
    x = probs.double().numpy()
    for c in range(3):
        assert iv.std_error[c].item() ** 2 == pytest.approx(_brute_variance(x[:, c], y.numpy() == c)[1], abs=1e-15)


# ----------------------------------------------------------------------------- the paired test


def test_paired_test_is_antisymmetric_in_the_models(rng):
    n = 200
    y = rng.integers(0, 3, n)
    a = rng.normal(size=(n, 3)) + np.eye(3)[y]
    b = 0.5 * a + rng.normal(size=(n, 3))
    for average in ("macro", None):
        ab = ac.compare_auroc(torch.tensor(a), torch.tensor(b), torch.tensor(y), average=average)
        ba = ac.compare_auroc(torch.tensor(b), torch.tensor(a), torch.tensor(y), average=average)
        torch.testing.assert_close(ab.difference, -ba.difference, rtol=0, atol=1e-15)
        torch.testing.assert_close(ab.z, -ba.z)
        torch.testing.assert_close(ab.std_error, ba.std_error)
        torch.testing.assert_close(ab.p_value, ba.p_value)
        torch.testing.assert_close(ab.lower, -ba.upper)


def test_paired_macro_variance_equals_brute_force(rng):
    n, k = 150, 3
    y = rng.integers(0, k, n)
    a = _tied_scores(rng, (n, k), 1) + np.eye(k)[y]
    b = _tied_scores(rng, (n, k), 1) + 0.5 * np.eye(k)[y]
    c = ac.compare_auroc(torch.tensor(a), torch.tensor(b), torch.tensor(y), activation=None)
    d = sum(_influence(a[:, r], y == r)[0] - _influence(b[:, r], y == r)[0] for r in range(k)) / k
    assert c.std_error.item() ** 2 == pytest.approx(d @ d, rel=1e-10)
    per = ac.compare_auroc(torch.tensor(a), torch.tensor(b), torch.tensor(y), activation=None, average=None)
    for r in range(k):
        dr = _influence(a[:, r], y == r)[0] - _influence(b[:, r], y == r)[0]
        assert per.std_error[r].item() ** 2 == pytest.approx(dr @ dr, rel=1e-10)
        assert per.difference[r].item() == pytest.approx(
            roc_auc_score(y == r, a[:, r]) - roc_auc_score(y == r, b[:, r]), abs=1e-15
        )


def test_paired_test_p_values_are_uniform_under_exchangeable_models():
    """400 replications as the labels of one multilabel call: two models with the same error distribution."""
    g = torch.Generator().manual_seed(7)
    n, reps = 150, 400
    target = torch.rand(n, reps, generator=g) < 0.4
    signal = target * 1.0 + torch.randn(n, reps, generator=g)
    a = signal + torch.randn(n, reps, generator=g)
    b = signal + torch.randn(n, reps, generator=g)
    c = ac.compare_auroc(a, b, target, task="multilabel", average=None, activation=None)
    p = c.p_value.numpy()
    assert sps.kstest(p, "uniform").pvalue > 0.01
    assert 0.02 < (p < 0.05).mean() < 0.09
    z = c.z.numpy()
    assert abs(z.mean()) < 0.15 and 0.85 < z.std() < 1.15


def test_identical_models_give_zero_difference_and_p_value_one():
    y, (s100b, _, _) = _asah()
    c = ac.compare_auroc(s100b, s100b.clone(), y)
    assert (c.difference.item(), c.std_error.item(), c.p_value.item()) == (0.0, 0.0, 1.0)
    assert (c.lower.item(), c.upper.item()) == (0.0, 0.0)


# ----------------------------------------------------------------------------- bootstrap


def test_replicate_aurocs_equal_sklearn_with_the_counts_as_sample_weights(rng):
    n, k = 70, 3
    x = torch.tensor(_tied_scores(rng, (n, k), 1))
    y = torch.tensor(rng.integers(0, k, n))
    opts = _checks.check_options(activation=None)
    layout = _checks.check_layout(x, y, opts)
    f = _format.format_inputs(x, y, layout, opts)
    pos, neg = _format.class_counts(f, layout)
    ranked = stats._rank_rows(f, layout, pos, neg, torch.arange(k), with_ids=True)
    counts = torch.tensor(rng.integers(0, 4, (5, n)), dtype=torch.float64)
    got = stats._replicate_aurocs(ranked, counts).numpy()
    want = [[roc_auc_score(y.numpy() == c, x[:, c].numpy(), sample_weight=w) for c in range(k)] for w in counts.numpy()]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_resampling_keeps_every_stratum_size():
    strata = torch.tensor([0] * 7 + [1] * 3 + [2] * 20)[torch.randperm(30)]
    counts = stats._resample_counts(strata, 200, torch.Generator().manual_seed(0))
    for s in range(3):
        assert torch.all(counts[:, strata == s].sum(1) == (strata == s).sum())
    assert 0.9 < counts.mean().item() < 1.1 and counts.max() > 1


def test_bootstrap_agrees_with_delong_and_is_seeded(rng):
    n, k = 400, 3
    y = rng.integers(0, k, n)
    x = torch.tensor(rng.normal(size=(n, k)) + 1.2 * np.eye(k)[y])
    y = torch.tensor(y)
    delong = ac.auroc_ci(x, y, activation=None)
    boot = ac.auroc_ci(x, y, activation=None, method="bootstrap", n_boot=600, seed=1)
    assert boot.method == "bootstrap" and torch.equal(boot.value, delong.value)
    assert boot.std_error.item() == pytest.approx(delong.std_error.item(), rel=0.15)
    torch.testing.assert_close(boot.per_class_std_error, delong.per_class_std_error, rtol=0.15, atol=0)
    assert boot.lower < boot.value < boot.upper
    again = ac.auroc_ci(x, y, activation=None, method="bootstrap", n_boot=600, seed=1)
    assert torch.equal(again.lower, boot.lower) and torch.equal(again.per_class_upper, boot.per_class_upper)
    other = ac.auroc_ci(x, y, activation=None, method="bootstrap", n_boot=600, seed=2)
    assert not torch.equal(other.lower, boot.lower)


def test_bootstrap_never_holds_more_than_a_chunk_of_replicates(monkeypatch, rng):
    """The predictions are never copied per replicate: counts come in chunks bounded by a fixed budget."""
    x = torch.tensor(rng.normal(size=(120, 2)))
    y = torch.tensor(rng.integers(0, 2, (120, 2)))
    full = ac.auroc_ci(x, y, method="bootstrap", n_boot=50, seed=3)
    seen = []
    real = stats._replicate_aurocs
    monkeypatch.setattr(stats, "_BOOT_CHUNK_ELEMENTS", 2 * 120 * 7)
    monkeypatch.setattr(stats, "_replicate_aurocs", lambda r, c: seen.append(c.shape[0]) or real(r, c))
    chunked = ac.auroc_ci(x, y, method="bootstrap", n_boot=50, seed=3)
    assert max(seen) == 7 and sum(seen) == 50
    assert torch.equal(chunked.lower, full.lower) and torch.equal(chunked.std_error, full.std_error)


# ----------------------------------------------------------------------------- undefined and small classes


def test_single_class_binary_gives_nan_and_one_warning():
    with pytest.warns(ac.UndefinedAUROCWarning, match="only one class") as record:
        iv = ac.auroc_ci(torch.tensor([0.1, 0.5, 0.9]), torch.tensor([1, 1, 1]))
    assert len(record) == 1
    assert all(math.isnan(v.item()) for v in (iv.value, iv.lower, iv.upper, iv.std_error))


@pytest.mark.parametrize("method", ["delong", "bootstrap"])
def test_one_positive_has_a_value_but_no_interval(method):
    with pytest.warns(ac.UndefinedAUROCWarning, match="needs >= 2 positives") as record:
        iv = ac.auroc_ci(torch.tensor([0.1, 0.5, 0.9, 0.3]), torch.tensor([0, 0, 1, 0]), method=method, n_boot=20)
    assert len(record) == 1
    assert iv.value.item() == 1.0
    assert all(math.isnan(v.item()) for v in (iv.lower, iv.upper, iv.std_error))


@pytest.mark.parametrize("method", ["delong", "bootstrap"])
def test_missing_and_thin_classes_are_nan_in_one_warning_and_the_macro_interval_follows(method):
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 0, 1, 0])  # class 2: one positive; class 3: none
    x = torch.randn(10, 4, generator=torch.Generator().manual_seed(0))
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        iv = ac.auroc_ci(x, y, method=method, n_boot=20)
    assert len(record) == 1
    message = str(record[0].message)
    assert "class(es) 3" in message and "class(es) 2" in message and "'macro'" in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        assert torch.equal(iv.value, ac.auroc(x, y))
    assert math.isnan(iv.per_class[3]) and not math.isnan(iv.per_class[2])
    assert math.isnan(iv.per_class_std_error[2]) and math.isnan(iv.per_class_std_error[3])
    assert not math.isnan(iv.per_class_std_error[0])
    assert math.isnan(iv.std_error) and math.isnan(iv.lower) and not math.isnan(iv.value)


def test_a_missing_class_leaves_the_macro_interval_of_the_others():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (60,), generator=g)
    x = torch.randn(60, 4, generator=g)
    with pytest.warns(ac.UndefinedAUROCWarning, match=r"class\(es\) 3"):
        iv = ac.auroc_ci(x, y)
    assert not math.isnan(iv.std_error) and iv.lower < iv.value < iv.upper


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"ci_level": 1.0}, ValueError, r"`ci_level` must be in \(0, 1\)"),
        ({"ci_level": 0}, ValueError, "`ci_level`"),
        ({"ci_level": "95%"}, TypeError, "`ci_level` must be a float"),
        ({"ci_level": True}, TypeError, "`ci_level`"),
        ({"level": 0.9}, TypeError, "unexpected keyword argument 'level'"),  # renamed ci_level, as everywhere
        ({"method": "jackknife"}, ValueError, "`method` must be one of 'delong', 'bootstrap'; got 'jackknife'"),
        (
            {"interval": "probit"},
            ValueError,
            "`interval` must be one of 'logit-t', 'logit', 'wald' or None; got 'probit'",
        ),
        ({"interval": "wald", "method": "bootstrap"}, ValueError, "percentile interval: got method='bootstrap'"),
        ({"n_boot": 1}, ValueError, "`n_boot` must be an int >= 2; got 1"),
        ({"n_boot": 10.0}, TypeError, "`n_boot` must be an int"),
        ({"seed": "x"}, TypeError, "`seed` must be an int; got str 'x'"),
        ({"method": 1}, TypeError, "`method` must be one of 'delong', 'bootstrap'; got int 1"),
        ({"average": "micro"}, ValueError, "`average='micro'` has no interval"),
        ({"multi_class": "ovo"}, ValueError, "`multi_class` must be 'ovr'"),
        ({"average": "mean"}, ValueError, "`average` must be one of"),
    ],
)
def test_bad_options_raise_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        ac.auroc_ci(torch.randn(10, 3), torch.arange(10) % 3, **kwargs)


def test_max_fpr_is_refused_and_compare_needs_matching_inputs():
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_fpr'"):
        ac.auroc_ci(torch.randn(10), torch.arange(10) % 2, max_fpr=0.5)
    with pytest.raises(ValueError, match="`preds_a` and `preds_b` must score the same samples"):
        ac.compare_auroc(torch.randn(10, 3), torch.randn(10, 4), torch.arange(10) % 3)
    with pytest.raises(ValueError, match="`ci_level`"):
        ac.compare_auroc(torch.randn(10), torch.randn(10), torch.arange(10) % 2, ci_level=95)
    with pytest.raises(TypeError, match="`preds` must be a torch.Tensor"):
        ac.compare_auroc(torch.randn(10), [0.1] * 10, torch.arange(10) % 2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_the_interval_is_computed_there_and_equals_the_cpu_one():
    g = torch.Generator().manual_seed(5)
    probs = torch.softmax(torch.randn(5000, 6, generator=g), 1).round(decimals=3)  # the same keys on both devices
    probs = probs / probs.sum(1, keepdim=True)
    target = torch.randint(0, 6, (5000,), generator=g)
    for average in ("macro", None):
        cpu = ac.auroc_ci(probs, target, average=average)
        gpu = ac.auroc_ci(probs.cuda(), target.cuda(), average=average)
        assert gpu.value.device.type == "cuda" and torch.equal(gpu.value.cpu(), cpu.value)
        torch.testing.assert_close(gpu.std_error.cpu(), cpu.std_error, rtol=1e-10, atol=0)
    boot = ac.auroc_ci(probs.cuda(), target.cuda(), method="bootstrap", n_boot=100)
    assert boot.std_error.device.type == "cuda"
    test = ac.compare_auroc(probs.cuda(), probs.flip(0).cuda(), target.cuda())
    assert test.p_value.device.type == "cuda"


def test_multilabel_bootstrap_with_ignored_entries_agrees_with_delong():
    g = torch.Generator().manual_seed(8)
    y = torch.randint(0, 2, (400, 3), generator=g)
    x = torch.randn(400, 3, generator=g) + y
    y[torch.rand(400, 3, generator=g) < 0.2] = -1
    delong = ac.auroc_ci(x, y, ignore_index=-1)
    boot = ac.auroc_ci(x, y, ignore_index=-1, method="bootstrap", n_boot=500)
    assert boot.std_error.item() == pytest.approx(delong.std_error.item(), rel=0.15)
    torch.testing.assert_close(boot.per_class_std_error, delong.per_class_std_error, rtol=0.15, atol=0)


@pytest.mark.parametrize("method", ["delong", "bootstrap"])
def test_a_single_class_target_gives_nan_everywhere_with_one_warning(method):
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        iv = ac.auroc_ci(torch.rand(10, 3).softmax(1), torch.zeros(10, dtype=torch.long), method=method, n_boot=10)
        c = ac.compare_auroc(torch.rand(10), torch.rand(10), torch.ones(10, dtype=torch.long))
    assert len(record) == 2  # one per call
    assert torch.isnan(iv.value) and torch.isnan(iv.lower) and torch.isnan(iv.per_class_std_error).all()
    assert torch.isnan(c.difference) and torch.isnan(c.p_value)


# ----------------------------------------------------------------------------- issue 13


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_identical_rankings_give_z_0_and_p_1_as_procs_roc_test(task, average):
    """pROC's ``roc.test(r, r)`` reports Z = 0 and p = 1 for identical rankings (zero difference, zero variance);
    0/0 gave NaN. A monotone transform of the scores ranks alike too."""
    g = torch.Generator().manual_seed(6)
    n = 80
    if task == "binary":
        a, y = torch.randn(n, generator=g), torch.arange(n) % 2
    elif task == "multiclass":
        a, y = torch.randn(n, 3, generator=g).softmax(1), torch.arange(n) % 3
    else:
        a, y = torch.randn(n, 3, generator=g), torch.randint(0, 2, (n, 3), generator=g)
    for b in (a, a.square() if task == "multiclass" else 2 * a + 1):  # probabilities stay in [0, 1]: as given
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ac.functional.InterpretationWarning)
            c = ac.compare_auroc(a, b, y, average=average)
        assert torch.all(c.difference == 0) and torch.all(c.std_error == 0)
        assert torch.all(c.z == 0) and torch.all(c.p_value == 1), (c.z, c.p_value)
        assert torch.all(c.lower == 0) and torch.all(c.upper == 0)
