"""Confidence intervals for AUROC and the paired test of two models, from the same one ranking.

:func:`auroc_ci` gives the AUROC with DeLong's standard error and interval
(binary, per class one-vs-rest, per label, and the macro or weighted
average); :func:`compare_auroc` is DeLong's paired test of two models scored
on the same samples (R pROC's ``roc.test``). ``method="bootstrap"`` is a
stratified bootstrap, vectorised on the device, kept as the check on DeLong.

How DeLong is computed (Sun & Xu, 2014). For class ``r`` with ``m``
positives and ``n`` negatives, the *structural components* (placement
values) are, for each positive ``i``, the fraction of negatives scored
below it, ``V10(i)`` (ties 1/2), and for each negative ``j``, the fraction of
positives scored above it, ``V01(j)``. Both average to the AUROC ``A``, and
DeLong's variance is ``S10 / m + S01 / n`` with ``S10``, ``S01`` their
sample variances (denominators ``m - 1``, ``n - 1``). They come from the
sort that gives the AUROC itself (:mod:`auroc_callbacks._ranking`): in a
sorted row of packed ``code << 1 | label`` keys, negatives precede positives
within a tie group, so a cumulative count of positives gives, at every
position, the positives strictly below and (for a positive) the negatives at
or below; mixed tie groups, the only ties that matter, are found and
corrected exactly as the Mann-Whitney count does. A class's own variance
needs only the positions of its positives (the negatives between two
positives share one placement value): that is how a single class (binary)
gets it, from the one sort. The covariances below need every sample's
placement *in sample order*, to pair a sample's roles across classes. With
several classes, those come without sorting the N samples at all: only the
``m`` positives of a class are sorted, every sample's count of positives
below it and tied with it comes from a bucket table over their codes
(:func:`_ranking.below_and_tied`), and a bincount of those counts over the
negatives gives every positive's ``V10`` and its negatives below and tied,
which :func:`_ranking.twice_u` counts as it counts the sort's: the value is
the plain AUROC's by construction. The classes run in parallel, one per thread.

Each sample ``i`` then gets, for each class ``r``, an *influence value*

    psi_r(i) = sqrt(m/(m-1)) * (V10_r(i) - A_r) / m    if i is a positive of r,
    psi_r(i) = sqrt(n/(n-1)) * (V01_r(i) - A_r) / n    if i is a negative of r,

(0 for an entry dropped by ``ignore_index``), so that ``sum_i psi_r(i)**2``
is DeLong's variance of ``A_r`` exactly, and ``sum_i psi_r(i) psi_s(i)`` is
the covariance of two AUROCs. For two models on the same labels this sum is
DeLong's ``S10_rs / m + S01_rs / n`` term by term (pROC's ``cov``); for two
classes of one model the same sum runs over the shared samples, each in its
own role (a positive of its class, a negative of the others). It is the
empirical influence function of the AUROC (the nonparametric delta method),
with DeLong's ``m - 1`` and ``n - 1``; its matrix is a Gram matrix, so the
variance of any average is never negative.

**The macro interval.** The one-vs-rest AUROCs share their samples, so they
are correlated (each sample is a positive of one class and a negative of
the others, and its scores in the columns are not independent). The variance of the mean of the
``K`` defined classes is

    Var(mean_r A_r) = (1/K**2) sum_{r,s} Cov(A_r, A_s) = (1/K**2) sum_i (sum_r psi_r(i))**2,

the whole covariance matrix in O(N K), without forming it. ``"weighted"``
uses the supports as fixed weights (DeLong conditions on ``m`` and ``n``
too). We chose this over a bootstrap for the default because it is exact,
deterministic (the classes are summed in a fixed order, whichever thread
computed them) and costs a few passes per class, about what the plain AUROC's
sort costs; the stratified bootstrap (``method="bootstrap"``) agrees with it
in our tests and is there to check it.

**The interval** is built on the logit scale by default: ``logit(A) +/-
q * se / (A (1 - A))`` mapped back, with ``q`` the Student-t quantile at
Welch-Satterthwaite degrees of freedom (``interval="logit-t"``). The AUROC's
sampling distribution is skewed with few positives or an AUROC near 1; the
symmetric interval ``A +/- z * se`` (pROC's ``ci.auc(method="delong")``,
``interval="wald"``) then covers less than its level, the logit scale
corrects most of it, and the t quantile the rest of the part due to a
variance estimated from few samples: for a class, from the positives' and
negatives' shares ``S10 / m`` and ``S01 / n`` of DeLong's variance (each
with ``m - 1``, ``n - 1`` degrees of freedom); for an average, from the
shares of the classes (the strata of a stratified sample), each sample's
share being ``(sum_r w_r psi_r(i))**2``. ``benchmarks/coverage_delong.py``
measures the three shapes on the binormal model. pROC's
``direction="auto"`` flips a curve whose AUROC is below 0.5; we never do:
higher scores mean positive, as in :func:`auroc_callbacks.auroc`.

An interval needs at least two positives and two negatives (a sample
variance of one value is undefined): a class with fewer gets a NaN interval
(its AUROC is still reported when it has one of each), a class without
positives or negatives a NaN AUROC, each with one
:class:`~auroc_callbacks.UndefinedAUROCWarning`. The macro interval is NaN
when a class in the average has a NaN interval.
"""

from __future__ import annotations

import math
import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist
from typing import NamedTuple, Optional, Tuple

import numpy as np
import torch

from . import _checks, _ranking
from ._checks import (
    Choice,
    Interval,
    Layout,
    Options,
    UndefinedAUROCWarning,
    check_params,
    name_list,
    one_class_message,
)
from ._format import Formatted, class_counts, format_inputs, interpret, one_hot_layout, row_problem
from .functional import AUROCScores, average_ovr, checked_inputs

__all__ = ["AUROCInterval", "AUROCComparison", "auroc_ci", "compare_auroc"]

METHODS = ("delong", "bootstrap")
INTERVALS = ("logit-t", "logit", "wald")
_RULES = {
    "ci": [bool, None],
    "method": [Choice(METHODS)],
    "interval": [Choice(INTERVALS), None],
    "n_boot": [Interval(int, 2)],
    "seed": [Interval(int)],
}
_BOOT_CHUNK_ELEMENTS = 1 << 22  # replicate x class x sample weights held at once by the bootstrap (x16 on a GPU)


class AUROCInterval(NamedTuple):
    """An AUROC with its confidence interval and standard error, from one ranking.

    ``value``, ``lower``, ``upper`` and ``std_error`` are shaped like what
    :func:`auroc_callbacks.auroc` returns: 0-d for binary and for an average,
    ``(C,)`` for ``average=None``. The ``per_class*`` fields are always
    ``(C,)`` (``(1,)`` for binary). float64, on the device of ``preds``;
    NaN where undefined.

    Attributes:
        value: the AUROC, equal to :func:`auroc_callbacks.auroc` with the same options.
        lower: lower end of the interval (clipped at 0).
        upper: upper end of the interval (clipped at 1).
        std_error: the standard error (DeLong's, or the bootstrap replicates' SD).
        level: the confidence level, e.g. 0.95.
        method: ``"delong"`` or ``"bootstrap"``.
        per_class: (C,) one-vs-rest / per-label AUROC.
        per_class_lower: (C,) lower ends.
        per_class_upper: (C,) upper ends.
        per_class_std_error: (C,) standard errors.
        support: (C,) number of positive samples of each class, int64.
        num_samples: number of samples scored (after ``ignore_index``).
    """

    value: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    std_error: torch.Tensor
    level: float
    method: str
    per_class: torch.Tensor
    per_class_lower: torch.Tensor
    per_class_upper: torch.Tensor
    per_class_std_error: torch.Tensor
    support: torch.Tensor
    num_samples: int

    def scores(self) -> AUROCScores:
        """The :class:`~auroc_callbacks.AUROCScores` of the same ranking (value, per_class, support, num_samples)."""
        return AUROCScores(self.value, self.per_class, self.support, self.num_samples)


class AUROCComparison(NamedTuple):
    """DeLong's paired comparison of two models' AUROC on the same samples.

    Tensors are shaped like what :func:`auroc_callbacks.auroc` returns (0-d,
    or ``(C,)`` for ``average=None``), float64.

    Attributes:
        difference: ``value_a - value_b``.
        lower: lower end of the interval of the difference (not clipped).
        upper: upper end of the interval of the difference.
        std_error: standard error of the difference.
        z: the test statistic, ``difference / std_error``.
        p_value: two-sided p-value of "the two AUROCs are equal".
            1 where the two models rank every class identically (zero
            difference, zero variance).
        value_a: AUROC of model a.
        value_b: AUROC of model b.
        level: the confidence level of the interval.
    """

    difference: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    std_error: torch.Tensor
    z: torch.Tensor
    p_value: torch.Tensor
    value_a: torch.Tensor
    value_b: torch.Tensor
    level: float


# ----------------------------------------------------------------------------- public API


def auroc_ci(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    ci_level: float = 0.95,
    method: str = "delong",
    interval: Optional[str] = None,
    n_boot: int = 2000,
    seed: int = 0,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = "macro",
    multi_class: str = "ovr",
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
    pos_label: Optional[int] = None,
) -> AUROCInterval:
    """The AUROC with its confidence interval and standard error.

    DeLong's interval (Sun & Xu's algorithm: one sort, O(N log N)), for a
    binary problem, each class one-vs-rest, each label, and the macro or
    weighted average with the covariance of the classes (see the module
    docstring for the derivation). By default the interval is built on the
    logit scale with a Student-t quantile (``interval="logit-t"``), the
    choice that covers closest to its level in our simulations;
    ``interval="wald"`` gives pROC's ``ci.auc`` exactly.

    Args:
        preds: scores, logits or probabilities, as for :func:`auroc_callbacks.auroc`:
            ``(N,)``, ``(N, 1)`` or ``(N, 2)`` binary, ``(N, C)`` multiclass or multilabel.
        target: labels, ``(N,)`` or ``(N, C)``, as for :func:`auroc_callbacks.auroc`.
        ci_level: confidence level in (0, 1) (default 0.95).
        method: ``"delong"`` (default) or ``"bootstrap"``: a stratified
            bootstrap (samples resampled within each class; multilabel:
            within each pattern of labels), percentile interval, ``std_error``
            the replicates' SD. It reuses the one sort and weighs samples by
            their resampling counts: it never copies the predictions.
        interval: the shape of DeLong's interval (``method="delong"`` only;
            ``std_error`` is DeLong's whichever is chosen):

            - ``"logit-t"`` (the default, also for None): the interval of
              ``logit(AUROC)``, half-width ``q * std_error / (A (1 - A))``
              (the delta method), mapped back, where ``q`` is the Student-t
              quantile with Welch-Satterthwaite degrees of freedom (from the
              positives' and the negatives' shares of DeLong's variance; for
              an average, from each class's share). Asymmetric, inside
              (0, 1); it widens where the variance rests on few samples.
            - ``"logit"``: the same with the normal quantile ``z``.
            - ``"wald"``: pROC's ``ci.auc(method="delong")``: ``A +/- z *
              std_error`` clipped to [0, 1]. It under-covers with few
              positives or an AUROC near 1, where the AUROC's distribution
              is skewed.

            The README's coverage table compares the three. The bootstrap's
            percentile interval takes no ``interval``.
        n_boot: bootstrap replicates (``method="bootstrap"`` only).
        seed: seed of the bootstrap's generator, on the device of ``preds``.
        task, num_classes, average, multi_class, activation, ignore_index, pos_label:
            as for :func:`auroc_callbacks.auroc`. ``average`` may be
            ``"macro"``, ``"weighted"`` or None; ``"micro"``, one-vs-one and
            ``max_fpr`` have no interval here (ValueError).

    Returns:
        :class:`AUROCInterval`, float64 tensors on the device of ``preds``.

    Raises:
        ValueError, TypeError: bad options or inputs, naming the argument.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> preds = torch.tensor([0.8, 0.6, 0.4, 0.6, 0.3, 0.2, 0.1])
        >>> target = torch.tensor([1, 1, 1, 0, 0, 0, 0])
        >>> iv = ac.auroc_ci(preds, target)  # DeLong variance 1/48, worked by hand in tests/test_stats.py
        >>> [round(x, 4) for x in (iv.value.item(), iv.lower.item(), iv.upper.item(), iv.std_error.item())]
        [0.875, 0.1759, 0.9957, 0.1443]
        >>> w = ac.auroc_ci(preds, target, interval="wald")  # pROC's ci.auc: symmetric, clipped at 1
        >>> round(w.lower.item(), 4), round(w.upper.item(), 4)
        (0.5921, 1.0)
    """
    opts = _checks.check_options(
        task=task,
        num_classes=num_classes,
        average=average,
        multi_class=multi_class,
        activation=activation,
        ignore_index=ignore_index,
        pos_label=pos_label,
    )
    check_level(ci_level, "ci_level")
    check_interval_options(opts, level=ci_level, method=method, interval=interval, n_boot=n_boot, seed=seed)
    preds, target, layout, opts = checked_inputs(preds, target, opts)
    return compute_interval(
        preds, target, layout, opts, level=ci_level, method=method, interval=interval, n_boot=n_boot, seed=seed
    )


def compare_auroc(
    preds_a: torch.Tensor,
    preds_b: torch.Tensor,
    target: torch.Tensor,
    *,
    ci_level: float = 0.95,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    average: Optional[str] = "macro",
    multi_class: str = "ovr",
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
    pos_label: Optional[int] = None,
) -> AUROCComparison:
    """DeLong's paired test of two models scored on the same samples (pROC's ``roc.test``).

    The difference ``auroc(preds_a) - auroc(preds_b)``, its standard error
    ``sqrt(Var_a + Var_b - 2 Cov_ab)`` from the two models' structural
    components on the shared samples, a Wald interval and the two-sided
    p-value ``2 * (1 - Phi(|z|))``; where the two rank the samples alike
    (no difference and no variance of it), ``z = 0`` and ``p = 1``, as
    pROC's ``roc.test``. Per class with ``average=None``; the
    macro (weighted) average of the differences otherwise, its variance
    including the covariance of the classes. Swapping the models negates
    ``difference``, ``z`` and the interval and keeps ``p_value``.

    Args:
        preds_a: scores of model a, shaped as for :func:`auroc_callbacks.auroc`.
        preds_b: scores of model b, the same shape, the same samples in the same order.
        target: labels shared by both.
        ci_level: confidence level of the interval of the difference, in (0, 1).
        task, num_classes, average, multi_class, activation, ignore_index, pos_label:
            as for :func:`auroc_ci`. The activation is decided for each model
            on its own scores.

    Returns:
        :class:`AUROCComparison`.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> target = torch.tensor([1, 1, 1, 0, 0, 0, 0])
        >>> a = torch.tensor([0.8, 0.6, 0.4, 0.6, 0.3, 0.2, 0.1])
        >>> b = torch.tensor([0.5, 0.9, 0.2, 0.4, 0.1, 0.3, 0.6])
        >>> c = ac.compare_auroc(a, b, target)  # 7/8 - 2/3, variance 29/432 (tests/test_stats.py)
        >>> round(c.difference.item(), 4), round(c.std_error.item(), 4), round(c.p_value.item(), 4)
        (0.2083, 0.2591, 0.4213)
    """
    opts = _checks.check_options(
        task=task,
        num_classes=num_classes,
        average=average,
        multi_class=multi_class,
        activation=activation,
        ignore_index=ignore_index,
        pos_label=pos_label,
    )
    check_level(ci_level, "ci_level")
    check_interval_options(opts, level=ci_level)
    (preds_a, target), (preds_b, _) = _checks.one_sample(preds_a, target), _checks.one_sample(preds_b, target)
    layout = _checks.check_layout(preds_a, target, opts)
    layout_b = _checks.check_layout(preds_b, target, opts)
    if tuple(preds_a.shape) != tuple(preds_b.shape) or layout_b != layout:
        raise ValueError(
            f"`preds_a` and `preds_b` must score the same samples with the same shape; got {tuple(preds_a.shape)}"
            f" and {tuple(preds_b.shape)}"
        )
    layout = one_hot_layout(target, layout, opts)
    _checks.check_values(preds_a, target, layout, opts)
    _checks.check_values(preds_b, target, layout, opts)
    notes = interpret(preds_a, target, layout, opts).notes + interpret(preds_b, target, layout, opts).notes
    _checks.warn_interpretations(notes)  # each model's activation is decided again, alike, as it is formatted
    return compute_comparison(preds_a, preds_b, target, layout, opts, level=ci_level)


# ----------------------------------------------------------------------------- checks


def check_level(level, name: str = "level") -> None:
    """A confidence level: a real number in (0, 1)."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise TypeError(f"`{name}` must be a float in (0, 1); got {type(level).__name__} {level!r}")
    if not 0 < level < 1:
        raise ValueError(f"`{name}` must be in (0, 1), e.g. 0.95; got {level!r}")


def resolve_ci(ci, ci_level, accumulator) -> Optional[float]:
    """The level of the intervals to show, or None: ``ci`` defaults to the accumulator's, the level too (or 0.95)."""
    check_params(_RULES, ci=ci)
    if ci_level is not None:
        check_level(ci_level, "ci_level")
    if ci is None:
        ci = bool(accumulator is not None and accumulator.ci)
    if not ci:
        return None
    if ci_level is not None:
        return float(ci_level)
    return accumulator.ci_level if accumulator is not None else 0.95


def check_interval_options(
    opts: Options, *, level, method: str = "delong", interval: Optional[str] = None, n_boot=2000, seed=0
) -> None:
    """Validate the interval options and that the AUROC options have an interval."""
    check_level(level)
    check_params(_RULES, method=method, interval=interval, n_boot=n_boot, seed=seed)
    if interval is not None and method == "bootstrap":
        raise ValueError(
            f"`interval` shapes DeLong's interval; the bootstrap's is a percentile interval: got"
            f" method='bootstrap' with interval={interval!r}"
        )
    if opts.average == "micro":
        raise ValueError(
            "`average='micro'` has no interval: its (sample, class) entries are not independent samples;"
            " use 'macro', 'weighted' or None"
        )
    if opts.multi_class == "ovo":
        raise ValueError("intervals are one-vs-rest: `multi_class` must be 'ovr'; got 'ovo'")
    if opts.max_fpr is not None:
        raise ValueError(f"intervals are for the full AUROC: `max_fpr` must be None; got {opts.max_fpr!r}")


# ----------------------------------------------------------------------------- compute stages


def compute_interval(
    preds,
    target,
    layout: Layout,
    opts: Options,
    *,
    level: float = 0.95,
    method: str = "delong",
    interval: Optional[str] = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> AUROCInterval:
    """The compute stage of :func:`auroc_ci`, on inputs validated by :mod:`._checks` and :func:`check_interval_options`.

    Formats once, ranks the defined classes once, then DeLong (or the bootstrap) from that ranking.
    """
    f = format_inputs(preds, target, layout, opts)
    pos, neg = class_counts(f, layout)
    _warn_small(layout, pos, neg, opts.average)
    defined = (pos > 0) & (neg > 0)
    rows = defined.nonzero(as_tuple=True)[0]
    weights = _weights(layout, opts.average, pos, rows)
    delong = method == "delong"
    m, q = pos[rows], neg[rows]
    # DeLong from each sample's influence values, one class at a time, without sorting the samples (module
    # docstring): the classes run in parallel. A single class (binary) is faster from the one sort, whose
    # positives alone give its variance (_row_variance); so is the bootstrap's ranking, which it needs anyway.
    by_row = delong and (weights is not None or rows.numel() > 1)
    if by_row:
        row_value, var_pos, var_neg, contrib = _delong_by_row(f, layout, m, q, rows, pos.numel(), weights)
    else:
        ranked = _rank_rows(f, layout, pos, neg, rows, with_ids=not delong)
        row_value = ranked.value
    per = _scatter_rows(row_value, rows, pos.shape[0])
    value = average_ovr(per, pos, defined, layout, opts.average)

    if delong:
        interval = interval or "logit-t"
        if not by_row:
            var_pos, var_neg = _row_variance(ranked)  # each class's variance from its positives: O(positives)
        per_lo, per_hi, per_se = _delong_per_class(per, rows, m, q, var_pos, var_neg, level, interval)
        if weights is not None:
            se, lower, upper = _delong_average(f, layout, value, contrib, rows, level, interval)
    else:
        reps = _bootstrap(f, layout, ranked, n_boot, seed)  # (B, K)
        small = (ranked.n_pos < 2) | (ranked.n_neg < 2)
        reps[:, small] = float("nan")
        probs = torch.tensor([0.5 - level / 2, 0.5 + level / 2], dtype=torch.float64, device=reps.device)
        per_lo, per_hi, per_se = _bootstrap_per_class(reps, probs, rows, pos.shape[0])
        if weights is not None:
            se, lower, upper = _bootstrap_average(reps, probs, rows, weights, n_boot)
    if weights is None:  # per class; binary: its one class
        se, lower, upper = (
            (t[0] for t in (per_se, per_lo, per_hi)) if layout.task == "binary" else (per_se, per_lo, per_hi)
        )
    return AUROCInterval(
        value, lower, upper, se, float(level), method, per, per_lo, per_hi, per_se, pos, int(f.target.shape[0])
    )


def _delong_by_row(f: Formatted, layout: Layout, m, q, rows: torch.Tensor, n_cls: int, weights):
    """DeLong from each defined row's influence values, the rows in parallel, the samples not sorted.

    Returns ``(value, var_pos, var_neg, contrib)``: each row's AUROC and the
    two terms of its variance, and the average's per-sample influence (the
    classes' covariance, summed in row order: deterministic), or None when
    ``weights`` is None.
    """
    two_u = torch.zeros(rows.numel(), dtype=torch.int64, device=m.device)
    var_pos, var_neg = (torch.zeros(rows.numel(), dtype=torch.float64, device=m.device) for _ in range(2))
    contrib = None if weights is None else torch.zeros(f.target.shape[0], dtype=torch.float64, device=m.device)
    equal = (
        None if weights is None or not rows.numel() or not bool((weights == weights[0]).all()) else float(weights[0])
    )
    for k, row in enumerate(_influence_rows(f, layout, m, q, rows, n_cls)):
        two_u[k], var_pos[k], var_neg[k] = row.two_u, row.var_pos, row.var_neg
        if contrib is not None:
            contrib.add_(row.psi, alpha=weights[k] if equal is None else equal)
    return _ranking.auroc_value(two_u, m, q), var_pos, var_neg, contrib


def _delong_per_class(per, rows, m, q, var_pos, var_neg, level: float, interval: str):
    """``(lower, upper, se)`` of each class's DeLong interval (NaN for the undefined classes)."""
    n_cls = per.shape[0]
    per_se = _scatter_rows((var_pos + var_neg).sqrt(), rows, n_cls)
    per_df = _satterthwaite(torch.stack([var_pos, var_neg]), torch.stack([m, q]))
    per_lo, per_hi = _bounds(per, per_se, _scatter_rows(_quantile(level, interval, per_df), rows, n_cls), interval)
    return per_lo, per_hi, per_se


def _delong_average(f: Formatted, layout: Layout, value, contrib, rows, level: float, interval: str):
    """``(se, lower, upper)`` of the average's DeLong interval, from its per-sample influence ``contrib``."""
    if not rows.numel():  # no defined class
        se = quantile = value.clone()
    else:
        strata = _strata(f, layout)  # independent groups (fixed sizes): the Satterthwaite shares
        share = torch.zeros(int(strata.max()) + 1, dtype=torch.float64, device=contrib.device)
        share.index_add_(0, strata, contrib.square())
        size = torch.bincount(strata, minlength=share.shape[0])
        se = share.sum().sqrt()
        quantile = _quantile(level, interval, _satterthwaite(share, size))
    lower, upper = _bounds(value, se, quantile, interval)
    return se, lower, upper


def _bootstrap_per_class(reps, probs, rows, n_cls: int):
    """``(lower, upper, se)`` of each class's percentile interval, from the (B, K) replicates ``reps``."""
    if rows.numel():
        (k_lo, k_hi), k_se = torch.quantile(reps, probs, dim=0), reps.std(0)
    else:
        k_lo = k_hi = k_se = reps.new_zeros(0)
    per_lo, per_hi = _scatter_rows(k_lo, rows, n_cls), _scatter_rows(k_hi, rows, n_cls)
    per_se = _scatter_rows(k_se, rows, n_cls)
    return per_lo, per_hi, per_se


def _bootstrap_average(reps, probs, rows, weights, n_boot: int):
    """``(se, lower, upper)`` of the average's percentile interval: the replicates' weighted averages."""
    avg = reps @ weights if rows.numel() else reps.new_full((n_boot,), float("nan"))
    se = avg.std()
    lower, upper = torch.quantile(avg, probs)
    return se, lower, upper


def compute_comparison(preds_a, preds_b, target, layout: Layout, opts: Options, *, level: float = 0.95):
    """The compute stage of :func:`compare_auroc`, on validated inputs."""
    fa = format_inputs(preds_a, target, layout, opts)
    fb = format_inputs(preds_b, target, layout, opts)
    pos, neg = class_counts(fa, layout)
    _warn_small(layout, pos, neg, opts.average)
    defined = (pos > 0) & (neg > 0)
    rows = defined.nonzero(as_tuple=True)[0]
    n_cls = pos.shape[0]
    m, q = pos[rows], neg[rows]
    weights = _weights(layout, opts.average, pos, rows)
    two_u_a, two_u_b = (torch.empty(rows.numel(), dtype=torch.int64, device=pos.device) for _ in range(2))
    var = torch.empty(rows.numel(), dtype=torch.float64, device=pos.device)  # each class's variance of the difference
    diff_sum = torch.zeros(fa.target.shape[0], dtype=torch.float64, device=pos.device)  # the average's, per sample
    pairs = zip(_influence_rows(fa, layout, m, q, rows, n_cls), _influence_rows(fb, layout, m, q, rows, n_cls))
    for k, (ra, rb) in enumerate(pairs):
        two_u_a[k], two_u_b[k] = ra.two_u, rb.two_u
        d = ra.psi.sub_(rb.psi)  # the same samples in the same order: the paired influence values
        var[k] = torch.dot(d, d)
        if weights is not None:
            diff_sum.add_(d, alpha=weights[k])
    per_a, per_b = (_scatter_rows(_ranking.auroc_value(t, m, q), rows, n_cls) for t in (two_u_a, two_u_b))
    value_a = average_ovr(per_a, pos, defined, layout, opts.average)
    value_b = average_ovr(per_b, pos, defined, layout, opts.average)
    if weights is None:
        se = _scatter_rows(var, rows, n_cls).sqrt()
        se = se[0] if layout.task == "binary" else se
    else:
        se = torch.dot(diff_sum, diff_sum).sqrt() if rows.numel() else value_a * 0
    diff = value_a - value_b
    same = (diff == 0) & (se == 0)  # the same ranking: no evidence at all (pROC's roc.test: Z = 0, p = 1), not 0/0
    z = torch.where(same, torch.zeros_like(diff), diff / se)
    p = torch.special.erfc(z.abs() / math.sqrt(2))
    p = torch.where(same, torch.ones_like(p), p)
    zq = NormalDist().inv_cdf(0.5 + level / 2)
    return AUROCComparison(diff, diff - zq * se, diff + zq * se, se, z, p, value_a, value_b, float(level))


# ----------------------------------------------------------------------------- private stages


class _RankedRows(NamedTuple):
    keys: torch.Tensor  # (K, N) sorted packed ``code << 1 | label`` keys of the defined rows (int32 or int64)
    ids: Optional[torch.Tensor]  # (K, N) the sample of each sorted key, or None
    n_pos: torch.Tensor  # (K,) int64
    n_neg: torch.Tensor  # (K,) int64
    value: torch.Tensor  # (K,) float64 AUROC: :func:`_ranking.auroc_value` of the sort's count


def _rank_rows(
    f: Formatted, layout: Layout, pos: torch.Tensor, neg: torch.Tensor, rows: torch.Tensor, *, with_ids: bool
) -> _RankedRows:
    """The one-vs-rest rows ``rows`` ranked by :func:`_ranking.rank` (optionally with the sort's permutation)."""
    device = pos.device
    n = f.target.shape[0]
    m, q = pos[rows], neg[rows]
    if rows.numel() == 0:
        empty = torch.zeros((0, n), dtype=torch.int64, device=device)
        return _RankedRows(empty, empty if with_ids else None, m, q, torch.zeros(0, dtype=torch.float64, device=device))
    subset = None if rows.numel() == pos.numel() else rows
    ranked = _ranking.rank(**row_problem(f, layout, subset), with_ids=with_ids)
    return _RankedRows(ranked.keys, ranked.ids, m, q, _ranking.auroc_value(ranked.two_u, m, q))


class _RowInfluence(NamedTuple):
    two_u: torch.Tensor  # 0-d int64: twice the Mann-Whitney U of the row (exact)
    psi: torch.Tensor  # (N,) float64 influence values, in sample order (0 for ignored entries, NaN if m or n < 2)
    var_pos: torch.Tensor  # 0-d: the positives' share of the row's DeLong variance
    var_neg: torch.Tensor  # 0-d: the negatives' share


def _influence_rows(f: Formatted, layout: Layout, m: torch.Tensor, q: torch.Tensor, rows: torch.Tensor, n_cls: int):
    """Yield :class:`_RowInfluence` for each one-vs-rest row in ``rows``, in that order.

    On CPU, rows are computed on ``torch.get_num_threads()`` threads, a few
    at a time (at most one (N,) row per thread waits to be consumed), and
    yielded in row order, so whatever sums them does so in a fixed order.
    """
    if rows.numel() == 0:
        return
    problem = row_problem(f, layout, None if rows.numel() == n_cls else rows)
    codes = _ranking.pack(problem["scores"]).keys  # order-preserving integer codes (label bits left 0)
    index, labels, ok = problem.get("label_index"), problem.get("labels"), problem.get("valid")
    m_host, q_host = m.tolist(), q.tolist()

    def one(k: int) -> _RowInfluence:
        if index is not None:  # multiclass: rows are the kept classes, renumbered
            positive, valid = index == k, None
        else:
            valid = None if ok is None else ok[k]
            positive = labels[k] if valid is None else labels[k] & valid
        return _row_influence(codes[k], positive, valid, m_host[k], q_host[k])

    workers = min(torch.get_num_threads(), os.cpu_count() or 1, len(m_host)) if codes.device.type == "cpu" else 1
    if workers <= 1:
        for k in range(len(m_host)):
            yield one(k)
        return
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(m_host), workers):
            yield from pool.map(one, range(start, min(start + workers, len(m_host))))


def _row_influence(code: torch.Tensor, positive: torch.Tensor, valid: Optional[torch.Tensor], m: int, q: int):
    """One row's exact Mann-Whitney count and influence values (module docstring), in sample order, without a sort.

    Only the ``m`` positives are sorted. :func:`_ranking.below_and_tied` then
    gives every sample ``t``, the positives below it and tied with it, so a
    negative's ``V01 = (m - t_below - t_tied / 2) / m``. The negatives
    strictly below the ``k``-th sorted positive are those with at most ``k``
    positives at or below them: a bincount of ``t_below + t_tied`` over the
    negatives and its cumulative sum give every positive's ``V10`` (and a
    difference array, its tied negatives), then the count itself.
    """
    device = code.device
    hits = positive.nonzero().squeeze(1)
    # one row per thread already (_influence_rows): numpy's single-threaded sort, not torch's threaded radix sort
    ref = _ranking.sort_rows(code.index_select(0, hits).unsqueeze(0), radix=False)[0]
    below_pos, tied_pos = _ranking.below_and_tied(code, ref)
    at_or_below = below_pos + tied_pos
    # the negatives strictly below the k-th sorted positive: every sample with at most k positives at or below it,
    # less the positives and the ignored entries (a bincount of all, less two small ones: no pass to mask)
    counts = torch.bincount(at_or_below, minlength=m + 1)
    counts -= torch.bincount(at_or_below.index_select(0, hits), minlength=counts.numel())
    if valid is not None:
        counts -= torch.bincount(at_or_below[~valid], minlength=counts.numel())
    below = counts[:m].cumsum(0)
    tied = torch.zeros(m + 1, dtype=torch.int64, device=device)
    mixed = tied_pos.nonzero().squeeze(1)  # the positives, and the negatives tied with one (each counts 1/2) ...
    negative = ~positive.index_select(0, mixed)
    if valid is not None:
        negative &= valid.index_select(0, mixed)
    mixed = mixed[negative]  # ... less the positives
    if mixed.numel():
        ones = torch.ones_like(mixed)
        tied.index_add_(0, below_pos.index_select(0, mixed), ones)
        tied.index_add_(0, at_or_below.index_select(0, mixed), -ones)
    tied = tied.cumsum(0)[:m]  # negatives tied with the k-th sorted positive
    two_u = _ranking.twice_u(below, below + tied)
    a = float(_ranking.auroc_value(two_u, m, q))
    nan = float("nan")
    c_pos = math.sqrt(m / (m - 1)) / m if m > 1 else nan  # DeLong's m - 1 and n - 1, as factors on each component
    c_neg = math.sqrt(q / (q - 1)) / q if q > 1 else nan
    v10 = (below.double() + 0.5 * tied.double()).div_(q)  # the k-th sorted positive's; ties among positives share it
    pos_psi = (v10.index_select(0, below_pos.index_select(0, hits)) - a).mul_(c_pos)
    psi = at_or_below.add_(below_pos).double()  # 2 t: twice the positives below, ties once
    psi.mul_(-c_neg / (2 * m)).add_(c_neg * (1 - a))  # every sample as a negative
    psi.index_copy_(0, hits, pos_psi)
    if valid is not None:
        psi.masked_fill_(~valid, 0.0)
    var_pos = torch.dot(pos_psi, pos_psi)
    return _RowInfluence(two_u, psi, var_pos, (torch.dot(psi, psi) - var_pos).clamp_(min=0))  # not -1e-18


def _mixed_groups(keys: torch.Tensor, hits: torch.Tensor) -> Optional[_ranking.MixedGroups]:
    """:func:`_ranking.mixed_groups` from the flat positions ``hits`` of the positives (the Mann-Whitney tie search)."""
    n = keys.shape[1]
    return _ranking.mixed_groups(keys, torch.div(hits, n, rounding_mode="floor"), hits % n)


def _row_variance(ranked: _RankedRows) -> Tuple[torch.Tensor, torch.Tensor]:
    """(K,) DeLong's variance of each row from its positives alone: O(positives), not O(K N).

    Returned as its two terms, ``(S10 / m, S01 / n)``: the positives' and the
    negatives' shares (their sum is the variance). The same sums as
    ``(_influence(ranked) ** 2).sum(1)``. For the ``j``-th
    positive of a row, at sorted position ``k``, ``k - j`` negatives sort
    before it; every negative between positives ``j - 1`` and ``j`` has ``j``
    positives below it, so its ``V01 = (m - j) / m``: the negatives enter as
    counts per gap. Mixed tie groups then move their positives by half their
    tied negatives, and their negatives by half their tied positives.
    """
    keys = ranked.keys
    k_rows, n = keys.shape
    device = keys.device
    hits = (keys & 1).view(-1).nonzero().squeeze(1)
    row = torch.div(hits, n, rounding_mode="floor")
    m, q = ranked.n_pos.double(), ranked.n_neg.double()
    a = ranked.value
    c_pos = torch.sqrt(m / (m - 1)) / m
    c_neg = torch.sqrt(q / (q - 1)) / q
    first = ranked.n_pos.cumsum(0) - ranked.n_pos  # index in ``hits`` of each row's first positive
    j = torch.arange(hits.numel(), device=device) - first[row]
    neg_le = (hits - row * n - j).double()  # negatives sorted before each positive
    gap = neg_le.clone()
    gap[1:] -= neg_le[:-1]
    gap[first[ranked.n_pos > 0]] = neg_le[first[ranked.n_pos > 0]]  # a row's first gap starts at 0
    v10 = neg_le.clone()
    groups = _mixed_groups(keys, hits)
    if groups is not None:
        g = torch.searchsorted(hits, groups.at)  # the group's first positive, as an index in ``hits``
        tied = torch.zeros(hits.numel() + 1, dtype=torch.float64, device=device)
        tied.index_add_(0, g, groups.n_neg.double()).index_add_(0, g + groups.n_pos, -groups.n_neg.double())
        v10 -= 0.5 * tied[:-1].cumsum(0)
    v10 /= q[row]

    def neg_term(r, below):  # psi of a negative of row r with ``below`` positives under it
        return c_neg[r] * ((m[r] - below) / m[r] - a[r])

    pos_sq = (c_pos[row] * (v10 - a[row])).square()
    neg_sq = gap * neg_term(row, j.double()).square()
    var_pos = torch.zeros(k_rows, dtype=torch.float64, device=device).index_add_(0, row, pos_sq)
    var_neg = torch.zeros(k_rows, dtype=torch.float64, device=device).index_add_(0, row, neg_sq)
    var_neg += (q - neg_le.new_zeros(k_rows).index_add_(0, row, gap)) * (c_neg * a).square()  # after the last positive
    if groups is not None:
        r, j0 = row[g], j[g].double()
        moved = groups.n_neg.double() * (neg_term(r, j0 + 0.5 * groups.n_pos).square() - neg_term(r, j0).square())
        var_neg.index_add_(0, r, moved)
    small = (ranked.n_pos < 2) | (ranked.n_neg < 2)
    var_pos[small] = var_neg[small] = float("nan")
    return var_pos, var_neg


def _bootstrap(f: Formatted, layout: Layout, ranked: _RankedRows, n_boot: int, seed: int) -> torch.Tensor:
    """(n_boot, K) AUROC of each defined row in stratified bootstrap replicates.

    No copy of the predictions: each replicate is a vector of resampling
    counts, and its AUROCs are weighted Mann-Whitney counts over the one
    sorted order, a chunk of replicates at a time.
    """
    device = ranked.keys.device
    gen = torch.Generator(device=device).manual_seed(int(seed))
    strata = _strata(f, layout)
    budget = _BOOT_CHUNK_ELEMENTS if device.type == "cpu" else _BOOT_CHUNK_ELEMENTS * 16
    chunk = max(1, budget // max(1, ranked.keys.numel()))
    out = []
    for start in range(0, n_boot, chunk):
        counts = _resample_counts(strata, min(chunk, n_boot - start), gen)
        out.append(_replicate_aurocs(ranked, counts))
    return torch.cat(out) if out else torch.zeros((0, ranked.keys.shape[0]), dtype=torch.float64, device=device)


def _strata(f: Formatted, layout: Layout) -> torch.Tensor:
    """The stratum of each sample: its class; for multilabel, its pattern of labels (and of ignored entries)."""
    if layout.task != "multilabel":
        return f.target.long()
    pattern = f.target.long() if f.valid is None else torch.where(f.valid, f.target.long(), 2)
    return torch.unique(pattern, dim=0, return_inverse=True)[1]


def _resample_counts(strata: torch.Tensor, n_boot: int, gen: torch.Generator) -> torch.Tensor:
    """(n_boot, N) float64 counts: each sample's multiplicity in a replicate drawn within its stratum."""
    n = strata.shape[0]
    device = strata.device
    order = torch.argsort(strata, stable=True)
    sizes = torch.bincount(strata)
    offsets = sizes.cumsum(0) - sizes
    slot = strata[order]  # the stratum of each slot, slots grouped by stratum
    u = torch.rand((n_boot, n), generator=gen, device=device, dtype=torch.float64)
    draw = offsets[slot] + (u * sizes[slot]).long()
    draw = torch.minimum(draw, (offsets + sizes - 1)[slot])  # u < 1, but keep to the stratum if it rounds up
    picked = order[draw]
    return torch.zeros((n_boot, n), dtype=torch.float64, device=device).scatter_add_(
        1, picked, torch.ones_like(picked, dtype=torch.float64)
    )


def _replicate_aurocs(ranked: _RankedRows, counts: torch.Tensor) -> torch.Tensor:
    """(B, K) AUROC of each row with samples weighted by ``counts`` (B, N): a weighted Mann-Whitney count.

    :func:`_ranking.twice_u` with each positive weighted by its count, over
    the weight of the negatives below it and at or below it: negatives
    precede positives in a tie group, so both are cumulative sums, read at
    the positive and just before its group.
    """
    keys, ids = ranked.keys, ranked.ids
    k_rows, n = keys.shape
    device = keys.device
    lab = (keys & 1).bool()
    at = torch.arange(n, device=device)
    real = at < (ranked.n_pos + ranked.n_neg).unsqueeze(1)
    codes = keys >> 1
    first = torch.ones_like(lab)
    first[:, 1:] = codes[:, 1:] != codes[:, :-1]
    group_start = torch.where(first, at, torch.zeros_like(at)).cummax(1).values
    before = (group_start - 1).clamp(min=0).unsqueeze(0).expand(counts.shape[0], -1, -1)
    has_before = (group_start > 0).unsqueeze(0)
    w = counts[:, ids.reshape(-1)].reshape(counts.shape[0], k_rows, n) * real
    w_pos = w * lab
    w_neg = w - w_pos
    neg_le = w_neg.cumsum(2)
    neg_before_group = neg_le.gather(2, before) * has_before
    return _ranking.auroc_value(_ranking.twice_u(neg_before_group, neg_le, w_pos), w_pos.sum(2), w_neg.sum(2))


def _bounds(value: torch.Tensor, se: torch.Tensor, q, interval: str):
    """``value -/+ q se`` clipped to [0, 1] (``"wald"``), or the same on the logit scale mapped back."""
    if interval == "wald":
        return (value - q * se).clamp(0, 1), (value + q * se).clamp(0, 1)
    logit = torch.logit(value)
    half = q * se / (value * (1 - value))
    lower, upper = torch.sigmoid(logit - half), torch.sigmoid(logit + half)
    edge = ((value == 0) | (value == 1)) & ~torch.isnan(se)  # every placement 0 or 1: se is 0, the point
    return torch.where(edge, value, lower), torch.where(edge, value, upper)


def _satterthwaite(shares: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Welch-Satterthwaite degrees of freedom of a variance summed from independent groups' shares (over dim 0).

    ``shares[g]`` is group ``g``'s share of the variance (its sample variance
    over its size), ``sizes[g]`` the number of samples it was estimated from:
    ``df = (sum shares)**2 / sum(shares**2 / (sizes - 1))``. Groups of one
    sample or with no share add nothing; inf where no group does.
    """
    used = (sizes > 1) & (shares > 0)
    den = torch.where(used, shares.square() / (sizes - 1).clamp(min=1), torch.zeros_like(shares)).sum(0)
    return torch.where(den > 0, shares.sum(0).square() / den, torch.full_like(den, float("inf")))


def _quantile(level: float, interval: str, df: torch.Tensor) -> torch.Tensor:
    """The two-sided quantile for ``level``: Student-t with ``df`` for ``"logit-t"``, else the normal one."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    if interval != "logit-t":
        return torch.full_like(df, z)
    return t_quantile(0.5 + level / 2, df)


def t_quantile(p: float, df: torch.Tensor) -> torch.Tensor:
    """Student-t quantile ``F^-1(p)`` for ``p`` in (0.5, 1), vectorised over real ``df >= 1`` (float64, on ``df``'s device).

    Newton's method on the t distribution function ``F(t) = 1 - I_x(df/2,
    1/2) / 2`` at ``x = df / (df + t**2)`` (the regularised incomplete beta
    from its continued fraction), from at or above the root (the larger of
    the Cornish-Fisher expansion and the power-law tail), kept at or above
    the normal quantile: ``F`` is concave there, so the first step lands at
    or below the root and the iterates then rise to it. Past 200 degrees of
    freedom, the Cornish-Fisher expansion (five terms) in ``1 / df`` itself,
    accurate there to 1e-10; ``inf`` gives the normal quantile. A handful of
    values (one per class), so computed with numpy on the host: scipy's
    ``t.ppf`` to 1e-10 (tested), without depending on scipy.
    """
    nu_all = np.atleast_1d(df.detach().double().cpu().numpy())
    z = NormalDist().inv_cdf(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = 1 / nu_all
        out = z + v * (
            (z**3 + z) / 4
            + v
            * (
                (5 * z**5 + 16 * z**3 + 3 * z) / 96
                + v
                * (
                    (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
                    + v * (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
                )
            )
        )
    small = nu_all <= 200  # False for NaN and inf
    if small.any():
        nu = nu_all[small]
        log_norm = np.array([math.lgamma((n + 1) / 2) - math.lgamma(n / 2) - 0.5 * math.log(n * math.pi) for n in nu])
        tail = np.exp((log_norm + (nu - 1) / 2 * np.log(nu) - math.log(1 - p)) / nu)  # > the root
        t = np.maximum(np.maximum(out[small], tail), z)
        for _ in range(30):
            upper_tail = 0.5 * _betainc(nu / 2, 0.5, nu / (nu + t * t))  # 1 - F(t)
            density = np.exp(log_norm - (nu + 1) / 2 * np.log1p(t * t / nu))
            step = ((1 - p) - upper_tail) / density  # (F(t) - p) / F'(t)
            t = np.maximum(t - step, z)
            if (np.abs(step) <= 1e-12 * t).all():
                break
        out[small] = t
    return torch.from_numpy(out).reshape(df.shape).to(df.device)


def _betainc(a: np.ndarray, b: float, x: np.ndarray) -> np.ndarray:
    """Regularised incomplete beta ``I_x(a, b)`` (Numerical Recipes' ``betai``: Lentz's continued fraction)."""
    flip = x > (a + 1) / (a + b + 2)  # the fraction converges fast below this point: use the symmetry above it
    aa, bb, xx = np.where(flip, b, a), np.where(flip, a, b), np.where(flip, 1 - x, x)
    lg = np.vectorize(math.lgamma)
    with np.errstate(divide="ignore"):
        log_front = lg(aa + bb) - lg(aa) - lg(bb) + aa * np.log(xx) + bb * np.log1p(-xx)
    tiny = 1e-300
    qab, qap, qam = aa + bb, aa + 1, aa - 1
    c = np.ones_like(xx)
    d = 1 - qab * xx / qap
    d = 1 / np.where(np.abs(d) < tiny, tiny, d)
    h = d.copy()
    for m in range(1, 401):
        m2 = 2 * m
        for num in (
            m * (bb - m) * xx / ((qam + m2) * (aa + m2)),
            -(aa + m) * (qab + m) * xx / ((aa + m2) * (qap + m2)),
        ):
            d = 1 + num * d
            d = 1 / np.where(np.abs(d) < tiny, tiny, d)
            c = 1 + num / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            change = d * c
            h = h * change
        if (np.abs(change - 1) < 1e-16).all():
            break
    front = np.where(xx <= 0, 0.0, np.exp(log_front) * h / aa)
    return np.where(flip, 1 - front, front)


def _weights(layout: Layout, average: Optional[str], pos: torch.Tensor, rows: torch.Tensor) -> Optional[torch.Tensor]:
    """Weights of the defined rows in the average (summing to 1), or None for binary and per-class results."""
    if layout.task == "binary" or average is None:
        return None
    if average == "weighted":
        w = pos[rows].double()
        return w / w.sum()
    return torch.full((rows.numel(),), 1.0 / max(rows.numel(), 1), dtype=torch.float64, device=pos.device)


def _scatter_rows(values: torch.Tensor, rows: torch.Tensor, n_cls: int) -> torch.Tensor:
    out = torch.full((n_cls,), float("nan"), dtype=torch.float64, device=rows.device)
    out[rows] = values.to(out.device, torch.float64)
    return out


def _warn_small(layout: Layout, pos: torch.Tensor, neg: torch.Tensor, average: Optional[str]) -> None:
    """One warning naming the classes without an AUROC and those with an AUROC but no interval."""
    none = ((pos == 0) | (neg == 0)).nonzero(as_tuple=True)[0].tolist()
    thin = (((pos == 1) & (neg >= 1)) | ((neg == 1) & (pos >= 1))).nonzero(as_tuple=True)[0].tolist()
    if not none and not thin:
        return
    if layout.task == "binary":
        if none:
            msg = one_class_message(int(pos[0]) == 0)
        else:
            msg = (
                f"the AUROC interval needs >= 2 positives and >= 2 negatives; got {int(pos[0])} and {int(neg[0])}:"
                " the interval is NaN"
            )
    else:
        what = "class" if layout.task == "multiclass" else "label"
        parts = []
        if none:
            parts.append(
                f"AUROC is undefined for {what}(es) {name_list(none)} (no positive or no negative samples): NaN"
            )
        if thin:
            parts.append(
                f"{what}(es) {name_list(thin)} have a single positive or negative sample: their interval is NaN"
            )
        if thin and average in ("macro", "weighted"):
            parts.append(f"so is the interval of the {average!r} average")
        msg = "; ".join(parts)
    _checks.warn(msg, UndefinedAUROCWarning)
