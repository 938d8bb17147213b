"""auroc-callbacks: exact epoch AUROC for fastai and PyTorch Lightning, over a framework-free core.

The core (this namespace) is pure torch: it never imports fastai, Lightning,
matplotlib or tensorboard. Integrations live in ``auroc_callbacks.fastai`` and
``auroc_callbacks.lightning``.
"""

from .accumulator import AUROCAccumulator
from .calibration import (
    CalibrationSummary,
    Calibrator,
    IsotonicCalibrator,
    PlattScaler,
    Reliability,
    TemperatureScaler,
    UndefinedCalibrationWarning,
    brier_score,
    calibration_error,
    calibration_summary,
    fit_isotonic,
    fit_platt,
    fit_temperature,
    log_calibration,
    nll,
    plot_reliability,
    reliability,
)
from .distributed import EmptyEpochError
from .histogram import AUROCBound
from .functional import AUROCScores, UndefinedAUROCWarning, auroc, auroc_scores, probabilities, roc_curve
from .stats import AUROCComparison, AUROCInterval, auroc_ci, compare_auroc
from .reporting import report

__version__ = "0.1.0"

__all__ = [
    "AUROCAccumulator",
    "AUROCBound",
    "AUROCComparison",
    "AUROCInterval",
    "AUROCScores",
    "CalibrationSummary",
    "Calibrator",
    "EmptyEpochError",
    "IsotonicCalibrator",
    "PlattScaler",
    "Reliability",
    "TemperatureScaler",
    "UndefinedCalibrationWarning",
    "UndefinedAUROCWarning",
    "auroc",
    "auroc_ci",
    "auroc_scores",
    "brier_score",
    "calibration_error",
    "calibration_summary",
    "compare_auroc",
    "fit_isotonic",
    "fit_platt",
    "fit_temperature",
    "log_calibration",
    "nll",
    "plot_reliability",
    "probabilities",
    "reliability",
    "report",
    "roc_curve",
    "__version__",
]
