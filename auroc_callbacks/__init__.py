"""auroc-callbacks: exact epoch AUROC for fastai and PyTorch Lightning, over a framework-free core.

The core (this namespace) is pure torch: it never imports fastai, Lightning,
matplotlib or tensorboard. The rest lives in modules named for what they hold:

* ``auroc_callbacks.fastai`` and ``auroc_callbacks.lightning``: the callbacks;
* ``auroc_callbacks.calibration``: calibration metrics and calibrators;
* ``auroc_callbacks.plotting`` and ``auroc_callbacks.tensorboard``: figures and logging;
* ``auroc_callbacks.accumulator``: the two accumulators behind :class:`AUROCAccumulator`.
"""

from ._checks import UndefinedAUROCWarning
from .accumulator import AUROCAccumulator
from .distributed import EmptyEpochError
from .functional import (
    AUROCScores,
    auroc,
    auroc_scores,
    average_precision,
    precision_recall_curve,
    probabilities,
    roc_curve,
)
from .histogram import AUROCBound
from .reporting import report
from .stats import AUROCComparison, AUROCInterval, auroc_ci, compare_auroc

__version__ = "0.1.0"

__all__ = [
    "AUROCAccumulator",
    "AUROCBound",
    "AUROCComparison",
    "AUROCInterval",
    "AUROCScores",
    "EmptyEpochError",
    "UndefinedAUROCWarning",
    "auroc",
    "auroc_ci",
    "auroc_scores",
    "average_precision",
    "compare_auroc",
    "precision_recall_curve",
    "probabilities",
    "report",
    "roc_curve",
    "__version__",
]
