"""Shared references. Expected values come from here or from scikit-learn, never from the code under test."""

import os
import sys

import numpy as np
import pytest
import torch
from hypothesis import settings

# CI must be reproducible: the same examples on every run, no example database.
# Locally, hypothesis keeps exploring new examples (and remembers failures).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def brute_force_auroc(scores, labels) -> float:
    """Pairwise Mann-Whitney count over every (positive, negative) pair; ties count 1/2.

    O(n_pos * n_neg): for small inputs only. NaN when a class is missing.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    pos, neg = s[y], s[~y]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    p, q = pos[:, None], neg[None, :]
    return float(((p > q).sum() + 0.5 * (p == q).sum()) / (pos.size * neg.size))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _mlflow_forgets_its_tracking_uri():
    """Lightning's MLFlowLogger sets mlflow's process-wide tracking URI (and exports it to the environment).

    Left set, a later test in the same worker writes to that URI: a relative ``file:./mlruns`` then
    points into another test's working directory, or nowhere.
    """
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(None)
        if before is not None:
            os.environ["MLFLOW_TRACKING_URI"] = before


# Scripts run in subprocesses by the distributed tests, not test modules.
collect_ignore_glob = ["_*_worker.py"]
