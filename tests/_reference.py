"""Reference DeLong intervals from their definition (brute-force placements, scipy's t), for the integration tests."""

import math

import numpy as np
from scipy import stats


def _shares(scores, labels):
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    psi = (s[y][:, None] > s[~y][None, :]) + 0.5 * (s[y][:, None] == s[~y][None, :])
    v10, v01, a = psi.mean(1), psi.mean(0), psi.mean()
    return a, (v10.var(ddof=1) / len(v10), v01.var(ddof=1) / len(v01)), (len(v10), len(v01))


def delong_se(scores, labels):
    """(AUROC, DeLong's standard error), binary, from the m x n comparison matrix (ties 1/2)."""
    a, shares, _ = _shares(scores, labels)
    return a, math.sqrt(sum(shares))


def delong_interval(scores, labels, level=0.95):
    """(AUROC, lower, upper) of the default ``interval="logit-t"``, binary, from the m x n comparison matrix.

    DeLong's shares ``S10 / m`` and ``S01 / n``, Welch-Satterthwaite degrees of
    freedom, the Student-t quantile, the interval of ``logit(AUROC)`` mapped back.
    """
    a, shares, (m, n) = _shares(scores, labels)
    var = sum(shares)
    df = var**2 / (shares[0] ** 2 / (m - 1) + shares[1] ** 2 / (n - 1))
    half = stats.t.ppf(0.5 + level / 2, df) * math.sqrt(var) / (a * (1 - a))
    logit = math.log(a / (1 - a))
    return a, 1 / (1 + math.exp(-(logit - half))), 1 / (1 + math.exp(-(logit + half)))
