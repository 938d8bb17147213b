"""auroc-callbacks: exact epoch AUROC for fastai and PyTorch Lightning, over a framework-free core.

The core (this namespace) is pure torch: it never imports fastai, Lightning,
matplotlib or tensorboard. Integrations live in ``auroc_callbacks.fastai`` and
``auroc_callbacks.lightning``.
"""

from .accumulator import AUROCAccumulator
from .functional import AUROCScores, UndefinedAUROCWarning, auroc, auroc_scores, probabilities, roc_curve
from .reporting import report

__version__ = "0.1.0"

__all__ = [
    "AUROCAccumulator",
    "AUROCScores",
    "UndefinedAUROCWarning",
    "auroc",
    "auroc_scores",
    "probabilities",
    "report",
    "roc_curve",
    "__version__",
]
