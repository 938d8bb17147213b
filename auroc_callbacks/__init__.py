"""auroc-callbacks: exact epoch AUROC for fastai and PyTorch Lightning, over a framework-free core.

The core (this namespace) is pure torch: it never imports fastai, Lightning,
matplotlib or tensorboard. Integrations live in ``auroc_callbacks.fastai`` and
``auroc_callbacks.lightning``.
"""

from .accumulator import AUROCAccumulator
from .functional import AUROCScores, UndefinedAUROCWarning, auroc, auroc_scores, probabilities, roc_curve
from .stats import AUROCComparison, AUROCInterval, auroc_ci, compare_auroc
from .reporting import report

__version__ = "0.1.0"

__all__ = [
    "AUROCAccumulator",
    "AUROCComparison",
    "AUROCInterval",
    "AUROCScores",
    "UndefinedAUROCWarning",
    "auroc",
    "auroc_ci",
    "auroc_scores",
    "compare_auroc",
    "probabilities",
    "report",
    "roc_curve",
    "__version__",
]
