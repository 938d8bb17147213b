"""The minibatch mean vs the exact AUROC, measured on real predictions (the README's table).

The fastai forum's claim: the mean of per-batch AUROCs lands "within 0.1%" of
the exact one. Here the demo's model (a plain PyTorch MLP on sklearn's
digits, 5 epochs, seeded) scores the validation set; the same predictions are
cut into batches of 8 to 256 at several class balances. Every number the
demo's ``measure_gap`` reports is recomputed here with scikit-learn,
batch by batch. Run with ``-s`` to see the table.
"""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from auroc_callbacks import demo

FORUM_BOUND = 0.001  # "within 0.1%" of an AUROC near 1


@pytest.fixture(scope="module")
def validation():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is faster, and the same numbers as the demo
    try:
        _, _, (logits, target), _ = demo.train_torch(epochs=5, batch_size=32, seed=0)
    finally:
        torch.set_num_threads(threads)
    return logits, target


@pytest.fixture(scope="module")
def measured(validation):
    return demo.measure_gap(*validation)


def sk_auroc(scores: np.ndarray, y: np.ndarray) -> float:
    """scikit-learn's AUROC; multiclass: the mean one-vs-rest AUROC over classes with both labels, else NaN."""
    if scores.ndim == 1:
        return roc_auc_score(y, scores) if 0 < y.sum() < len(y) else math.nan
    defined = [k for k in range(scores.shape[1]) if 0 < (y == k).sum() < len(y)]
    return float(np.mean([roc_auc_score(y == k, scores[:, k]) for k in defined])) if defined else math.nan


def sk_minibatch_mean(scores, y, bs):
    values = [sk_auroc(scores[i : i + bs], y[i : i + bs]) for i in range(0, len(y), bs)]
    defined = [v for v in values if not math.isnan(v)]
    return (float(np.mean(defined)) if defined else math.nan), len(values) - len(defined), len(values)


def test_measured_table_equals_sklearn_batch_by_batch(validation, measured):
    scenarios = {name: (p, t) for name, p, t in demo.gap_scenarios(*validation)}
    assert len(measured) == len(scenarios) * len(demo.GAP_BATCH_SIZES)
    for row in measured:
        preds, target = scenarios[row["scenario"]]
        scores = torch.softmax(preds, 1).numpy() if preds.ndim == 2 else preds.numpy()
        y = target.numpy()
        assert row["exact"] == pytest.approx(
            roc_auc_score(y, scores, multi_class="ovr") if scores.ndim == 2 else roc_auc_score(y, scores), abs=1e-12
        )
        mean, undefined, batches = sk_minibatch_mean(scores, y, row["batch_size"])
        assert (row["undefined"], row["batches"]) == (undefined, batches)
        assert row["mean"] == pytest.approx(mean, abs=1e-12, nan_ok=True)
    print("\n" + demo.format_gap_table(measured))


def test_the_forum_bound_fails_by_an_order_of_magnitude(measured):
    worst = max(abs(r["gap"]) for r in measured if not math.isnan(r["gap"]))
    assert worst > 10 * FORUM_BOUND
    assert sum(abs(r["gap"]) > FORUM_BOUND for r in measured) > len(measured) // 2


def test_small_batches_of_a_rare_class_are_mostly_one_class_and_far_off(measured):
    rare = {r["batch_size"]: r for r in measured if r["scenario"].startswith("binary, 2%")}
    assert rare[8]["positives"] < 0.03
    assert rare[8]["undefined"] > rare[8]["batches"] / 2  # most batches hold no positive at all
    assert abs(rare[8]["gap"]) > 0.01


def test_a_validation_set_sorted_by_class_leaves_few_batches_defined(measured):
    ordered = {r["batch_size"]: r for r in measured if r["scenario"].endswith("sorted by class")}
    assert ordered[8]["undefined"] > 0.8 * ordered[8]["batches"]  # one-class batches: AUROC undefined
    assert abs(ordered[8]["gap"]) > 0.01


def test_one_batch_of_everything_is_the_exact_value(validation):
    logits, target = validation
    exact = roc_auc_score(target.numpy(), torch.softmax(logits, 1).numpy(), multi_class="ovr")
    assert demo.minibatch_mean(logits, target, len(target)) == pytest.approx(exact, abs=1e-12)
