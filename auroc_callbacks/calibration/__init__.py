"""Calibration, in torch on the device: how far the probabilities are from what they claim, and a fix after training.

AUROC scores a ranking and ignores whether the probabilities mean what they
say; this package measures that, and fixes it after training. Names follow
scikit-learn (``brier_score_loss``, ``log_loss``, ``n_bins``, ``strategy``).

* :mod:`.metrics` -- :func:`calibration_error` (ECE / MCE),
  :func:`reliability`, :func:`brier_score_loss`, :func:`log_loss`, and
  :func:`calibration_summary` (every number of an epoch, with the ECE after
  a temperature fit), on the probabilities the AUROC ranks;
* :mod:`.calibrators` -- :func:`fit_temperature`, :func:`fit_platt`,
  :func:`fit_isotonic`, each returning a :class:`Calibrator` module
  (``forward(logits)`` gives calibrated probabilities; ``wrap``, ``save``,
  ``load``).

Drawing and logging live with the other figures and writers:
:func:`auroc_callbacks.plotting.plot_reliability` draws a reliability
diagram, :func:`auroc_callbacks.tensorboard.log_calibration` writes a
:class:`CalibrationSummary` to TensorBoard.

Example:
    >>> import torch
    >>> from auroc_callbacks.calibration import calibration_error, fit_temperature
    >>> logits = torch.tensor([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [1.0, 0.0]])
    >>> y = torch.tensor([0, 1, 1, 1, 0, 0])
    >>> ts = fit_temperature(logits, y)
    >>> bool(calibration_error(ts(logits), y) < calibration_error(logits, y))
    True
"""

from . import calibrators, metrics
from .calibrators import (
    CalibratedModel,
    Calibrator,
    IsotonicCalibrator,
    PlattScaler,
    TemperatureScaler,
    fit_isotonic,
    fit_platt,
    fit_temperature,
)
from .metrics import (
    AVERAGES,
    STRATEGIES,
    CalibrationSummary,
    Reliability,
    UndefinedCalibrationWarning,
    brier_score_loss,
    calibration_error,
    calibration_summary,
    log_loss,
    nan_summary,
    reliability,
)

__all__ = metrics.__all__ + calibrators.__all__  # the public API is each submodule's
