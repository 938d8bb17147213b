"""Empirical coverage of the 95% DeLong interval of ac.auroc_ci, on the binormal model with a known AUC.

Binary: positives score N(mu, 1), negatives N(0, 1), so the true AUC is
Phi(mu / sqrt(2)). n in {50, 200, 1000}, balanced and 1:9 prevalence (fixed
numbers of positives), true AUC 0.75 and 0.90. Replications are vectorised:
each one is a column of one multilabel call (per-label intervals), so the
whole table is a handful of sorts.

Per class: three classes with prevalences 0.5, 0.4 and 0.1 (so class 0 is
balanced and class 2 is 1:9), column r scores ``mu_r * [y = r] + z + u``
with ``z`` and a latent ``u`` shared by the columns of a sample standard
normal: the one-vs-rest AUROCs are correlated, each has the true AUC
Phi(mu_r / 2). Per-class coverage from multilabel calls on the one-hot
target (the same one-vs-rest rows as a multiclass call); the macro
interval, which needs the classes' covariance, from one multiclass call per
replication, next to the coverage it would have with the covariance left out.

Each cell reports the default interval (``interval="logit-t"``: logit scale,
Student-t quantile at Welch-Satterthwaite df), ``interval="logit"`` (normal
quantile) and pROC's ``interval="wald"`` (``A +/- z se`` clipped). Target (issue 6): 94-96% wherever n_pos, n_neg >= 20. With R replications
the Monte Carlo SE of a coverage near 95% is about sqrt(0.95 * 0.05 / R)
(0.35 points for R = 4000).

    python benchmarks/coverage_delong.py            # the table (about a minute on 2 CPU threads)
    python benchmarks/coverage_delong.py --quick    # 400 replications, a smoke run
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from statistics import NormalDist

import torch

import auroc_callbacks as ac

SIZES = (50, 200, 1000)
PREVALENCES = (0.5, 0.1)
TRUE_AUCS = (0.75, 0.90)
CLASS_PREVALENCES = (0.5, 0.4, 0.1)
CLASS_AUCS = (0.70, 0.80, 0.90)
SHAPES = ("logit-t", "logit", "wald")


def _phi(x: float) -> float:
    return NormalDist().cdf(x)


def binary_coverage(n: int, prevalence: float, auc: float, reps: int, gen: torch.Generator, batch: int = 2000):
    """Coverage of the 95% intervals (each shape) over ``reps`` replications, and mean SE / SD of the estimates."""
    n_pos = round(n * prevalence)
    mu = math.sqrt(2) * NormalDist().inv_cdf(auc)
    target = torch.zeros(n, 1, dtype=torch.bool)
    target[:n_pos] = True
    hits = dict.fromkeys(SHAPES, 0)
    values, ses = [], []
    for start in range(0, reps, batch):
        r = min(batch, reps - start)
        scores = torch.randn(n, r, generator=gen, dtype=torch.float64) + mu * target
        for shape in hits:
            iv = ac.auroc_ci(
                scores, target.expand(n, r), task="multilabel", average=None, activation=None, interval=shape
            )
            hits[shape] += int(((iv.lower <= auc) & (auc <= iv.upper)).sum())
        values.append(iv.value)
        ses.append(iv.std_error)
    values, ses = torch.cat(values), torch.cat(ses)
    return [hits[k] / reps for k in SHAPES], float(ses.mean() / values.std()), n_pos, n - n_pos


def _multiclass_sample(n: int, gen: torch.Generator, reps: int):
    counts = [round(n * p) for p in CLASS_PREVALENCES]
    counts[0] += n - sum(counts)
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    mus = torch.tensor([2 * NormalDist().inv_cdf(a) for a in CLASS_AUCS], dtype=torch.float64)
    onehot = torch.nn.functional.one_hot(labels, len(counts)).double()
    z = torch.randn(reps, n, len(counts), generator=gen, dtype=torch.float64)
    u = torch.randn(reps, n, 1, generator=gen, dtype=torch.float64)
    return labels, counts, z + u + onehot * mus  # (reps, n, K)


def per_class_coverage(n: int, reps: int, gen: torch.Generator):
    """Per-class and macro coverage (each shape); macro also without the classes' covariance."""
    labels, counts, scores = _multiclass_sample(n, gen, reps)
    k = len(counts)
    truth = torch.tensor(CLASS_AUCS, dtype=torch.float64)
    # per class: all replications' one-vs-rest rows as labels of one multilabel call
    onehot = torch.nn.functional.one_hot(labels, k).bool()
    cols = scores.permute(1, 0, 2).reshape(n, reps * k)
    per_class = {}
    for shape in SHAPES:
        iv = ac.auroc_ci(cols, onehot.repeat(1, reps), task="multilabel", average=None, activation=None, interval=shape)
        lo, hi = iv.lower.reshape(reps, k), iv.upper.reshape(reps, k)
        per_class[shape] = ((lo <= truth) & (truth <= hi)).double().mean(0).tolist()
    # macro: one multiclass call per replication (the covariance is within a replication)
    macro_truth = float(truth.mean())
    z = NormalDist().inv_cdf(0.975)
    hits = hits_wald = hits_naive = 0
    for r in range(reps):
        m = ac.auroc_ci(scores[r], labels, activation=None)
        hits += bool(m.lower <= macro_truth <= m.upper)
        w = ac.auroc_ci(scores[r], labels, activation=None, interval="wald")
        hits_wald += bool(w.lower <= macro_truth <= w.upper)
        naive_se = float(m.per_class_std_error.square().sum().sqrt()) / k
        hits_naive += abs(float(m.value) - macro_truth) <= z * naive_se
    return per_class, (hits / reps, hits_wald / reps), hits_naive / reps, counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=4000, help="replications per binary cell (default 4000)")
    parser.add_argument("--class-reps", type=int, default=2000, help="replications per multiclass size (default 2000)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="400 replications: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = args.class_reps = 400
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()

    print(
        f"Binary, binormal, {args.reps} replications per cell: coverage of the 95% DeLong interval,"
        " logit-t (default) / logit / wald (pROC), and the mean DeLong SE over the SD of the AUROC\n"
    )
    head = " | ".join(f"AUC {a:.2f}: logit-t / logit / wald [SE/SD]" for a in TRUE_AUCS)
    print(f"| n | prevalence | n_pos | n_neg | {head} |")
    print("|---:|---:|---:|---:|" + "---:|" * len(TRUE_AUCS))
    for n in SIZES:
        for prev in PREVALENCES:
            cells = []
            for auc in TRUE_AUCS:
                cover, ratio, n_pos, n_neg = binary_coverage(n, prev, auc, args.reps, gen)
                cells.append(" / ".join(f"{100 * c:.1f}%" for c in cover) + f" [{ratio:.2f}]")
            label = "1:1" if prev == 0.5 else "1:9"
            print(f"| {n} | {label} | {n_pos} | {n_neg} | " + " | ".join(cells) + " |")

    print(
        f"\nPer class: 3 classes, prevalence {CLASS_PREVALENCES}, true AUC {CLASS_AUCS}, correlated columns;"
        f" {args.class_reps} replications. Per class and macro: logit-t (default) / logit / wald;"
        " macro: logit-t / wald, and wald with the covariance ignored\n"
    )
    print("| n | class 0 (1:1) | class 1 (2:3) | class 2 (1:9) | macro | macro (wald), covariance ignored |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in SIZES:
        per_class, macro, naive, counts = per_class_coverage(n, args.class_reps, gen)
        cells = [
            " / ".join(f"{100 * per_class[shape][c]:.1f}%" for shape in SHAPES) + f" (n_pos {k})"
            for c, k in enumerate(counts)
        ]
        print(
            f"| {n} | " + " | ".join(cells) + f" | {100 * macro[0]:.1f}% / {100 * macro[1]:.1f}% | {100 * naive:.1f}% |"
        )
    print(f"\n({time.perf_counter() - start:.0f} s, torch {torch.__version__}, {args.threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
