"""What every integration logs at an epoch's end: one epoch result, computed once (work in progress)."""

from __future__ import annotations

import numbers
import warnings

import torch

from .calibration import STRATEGIES, CalibrationSummary, UndefinedCalibrationWarning, calibration_summary, nan_summary

#: the numbers a callback keeps per epoch (its history's ``calibration`` dict), in this order.
_CALLBACK_NUMBERS = ("ece", "ece_tempered", "mce", "brier", "nll", "temperature")
CALLBACK_COLUMNS = ("ece", "ece_tempered", "brier")  # what both callbacks log each epoch (the rest: their history)


def check_callback_options(calibration, calibration_bins, calibration_strategy, mode: str, *, task=None,
                            activation=None) -> None:
    """The calibration arguments of the fastai and Lightning ``AUROCCallback``, named as they name them.

    What can be refused before the first epoch is: the rest (scores that are
    no probabilities with ``activation=None``) gives NaN and a warning then.
    """
    if not isinstance(calibration, bool):
        raise TypeError(f"`calibration` must be a bool; got {type(calibration).__name__} {calibration!r}")
    if isinstance(calibration_bins, bool) or not isinstance(calibration_bins, numbers.Integral):
        raise TypeError(
            f"`calibration_bins` must be an int >= 1; got {type(calibration_bins).__name__} {calibration_bins!r}"
        )
    if calibration_bins < 1:
        raise ValueError(f"`calibration_bins` must be >= 1; got {calibration_bins!r}")
    if not isinstance(calibration_strategy, str):
        raise TypeError(
            f"`calibration_strategy` must be a str, 'uniform' or 'quantile'; got {type(calibration_strategy).__name__}"
            f" {calibration_strategy!r}"
        )
    if calibration_strategy not in STRATEGIES:
        raise ValueError(f"`calibration_strategy` must be one of 'uniform', 'quantile'; got {calibration_strategy!r}")
    if calibration and task == "multiclass" and activation == "sigmoid":
        raise ValueError("`calibration=True` needs multiclass probabilities that sum to 1: got task='multiclass' with"
                         " activation='sigmoid'; use 'auto' or 'softmax'")
    if calibration and mode == "histogram":
        raise ValueError(
            "`calibration=True` needs mode='exact': calibration bins every prediction, and mode='histogram' keeps"
            " per-bucket counts, not the predictions"
        )


def callback_prefix(name: str) -> str:
    """What a callback's calibration keys start with: ``name`` without its trailing ``auroc``, else ``name_``.

    ``"val_auroc"`` gives ``val_ece``, ``"auroc"`` gives ``ece``, ``"cb"`` gives ``cb_ece``.
    """
    return name[: -len("auroc")] if name.endswith("auroc") else f"{name}_"


def callback_summary(accumulator, *, n_bins: int, strategy: str, auroc_undefined: bool) -> CalibrationSummary:
    """:func:`calibration_summary` of a callback's epoch, with at most one warning.

    The accumulator's gathered epoch is reused (``gather`` is cached after
    the AUROC was computed: no second collective). Several undefined numbers
    make one :class:`UndefinedCalibrationWarning`; none is issued when the
    epoch's scores are unusable (NaN ECE) and every AUROC is NaN too
    (``auroc_undefined``): the accumulator has already warned, for the same reason.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedCalibrationWarning)
        try:
            summary = calibration_summary(accumulator=accumulator, n_bins=n_bins, strategy=strategy)
        except ValueError as error:  # scores that are no probabilities: the AUROC stands, the fit goes on
            preds, target = accumulator.gather()
            task = accumulator.layout.task if accumulator.layout is not None else "binary"
            summary = nan_summary(n_bins, preds.device, int(target.shape[0]), task, strategy)
            warnings.warn(f"calibration is NaN this epoch: {error}", UndefinedCalibrationWarning)
    ours = []
    for w in caught:
        if issubclass(w.category, UndefinedCalibrationWarning):
            ours.append(str(w.message))
        else:  # not ours to merge: pass it on as it was
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if ours and not (auroc_undefined and bool(torch.isnan(summary.ece))):
        warnings.warn("; ".join(dict.fromkeys(ours)), UndefinedCalibrationWarning, stacklevel=3)
    return summary


def callback_record(summary: CalibrationSummary) -> dict:
    """The summary's scalars as floats, for a callback's history."""
    return {name: float(getattr(summary, name)) for name in _CALLBACK_NUMBERS}
