"""fastai v2 integration: the exact epoch AUROC as a metric, or as a callback with per-class columns.

Two entry points, both fed the validation batches on their device and both
computing with :class:`auroc_callbacks.AUROCAccumulator`:

* :class:`AUROC`, a real fastai ``Metric`` for ``metrics=``: one ``auroc``
  column, exact over the whole validation set (fastai never wraps it in
  ``AvgMetric``, so nothing is averaged per batch);
* :class:`AUROCCallback`, for ``cbs=``: the same column, optional per-class
  columns named from ``dls.vocab``, optional calibration columns (ECE before
  and after temperature scaling, Brier score), a per-epoch ``history``, and
  TensorBoard scalars, ROC-curve figures and reliability diagrams.

Example::

    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat
    from fastai.metrics import accuracy
    from fastai.tabular.learner import tabular_learner
    from auroc_callbacks.fastai import AUROC, AUROCCallback

    learn = tabular_learner(dls, metrics=[accuracy, AUROC()])         # or metrics=AUROC
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(),
                    cbs=AUROCCallback(per_class=True))                 # or cbs=AUROCCallback

Under fastai's distributed mode (``learn.distrib_ctx()``) ``learn.to_detach``
already gathers every batch from all ranks and drops the sampler's padding,
so the accumulator is built with ``sync_dist=False``: nothing is gathered twice.
With ``mode="histogram"`` each rank counts those gathered, trimmed batches
(the whole validation set, once), so every rank reports the same value and
bound, and nothing is reduced at the end.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence, Union

import torch
from fastai.callback.core import Callback, GatherPredsCallback
from fastai.learner import Metric, Recorder
from fastai.torch_core import rank_distrib

from . import _optional
from . import _callback
from .calibration import CalibrationSummary, log_calibration
from .accumulator import AUROCAccumulator
from .functional import AUROCScores
from .histogram import AUROCBound
from .stats import AUROCInterval

__all__ = ["AUROC", "AUROCCallback", "FROM_LOSS", "loss_activation"]

FROM_LOSS = "loss_func"
"""Default ``activation``: the one fastai's ``get_preds`` applies, ``learn.loss_func.activation``."""

_ACTIVATIONS = (FROM_LOSS, "auto", "softmax", "sigmoid", None)
# Rows that no activation fastai ships maps onto itself, softmax or sigmoid by accident.
_PROBE = ((0.5, -1.0, 2.0), (1.5, 0.25, -0.75))


def loss_activation(loss_func) -> str:
    """The core ``activation`` matching what fastai applies to predictions for ``loss_func``.

    fastai's ``get_preds`` applies ``loss_func.activation``: softmax for
    ``CrossEntropyLossFlat`` (and the focal and label-smoothing losses),
    sigmoid for ``BCEWithLogitsLossFlat``. The activation is recognised by
    calling it on a small probe tensor, so wrapped and partial functions work.

    Args:
        loss_func: any loss; fastai losses carry an ``activation`` method.

    Returns:
        ``"softmax"`` or ``"sigmoid"`` when the loss's activation is one of
        them; ``"auto"`` when it has none, an identity, or one not recognised
        (the core then decides from the scores, once per epoch).

    Example:
        >>> from fastai.losses import BCEWithLogitsLossFlat, CrossEntropyLossFlat, MSELossFlat
        >>> loss_activation(CrossEntropyLossFlat()), loss_activation(BCEWithLogitsLossFlat())
        ('softmax', 'sigmoid')
        >>> loss_activation(MSELossFlat()), loss_activation(None)
        ('auto', 'auto')
    """
    act = getattr(loss_func, "activation", None)
    if not callable(act):
        return "auto"
    probe = torch.tensor(_PROBE)
    try:
        with torch.no_grad():
            out = act(probe.clone())
    except Exception:  # an activation that needs other shapes or state: let the core decide
        return "auto"
    if not isinstance(out, torch.Tensor) or out.shape != probe.shape or not out.is_floating_point():
        return "auto"
    out = out.as_subclass(torch.Tensor).float()
    if torch.allclose(out, torch.softmax(probe, dim=-1), atol=1e-6):
        return "softmax"
    if torch.allclose(out, torch.sigmoid(probe), atol=1e-6):
        return "sigmoid"
    return "auto"


# ----------------------------------------------------------------------------- shared plumbing


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str; got {type(name).__name__} {name!r}")
    if not name:
        raise ValueError("`name` must be a non-empty str; got ''")
    return name


class _Collector:
    """One validation pass's accumulator, fed from fastai's batches without a host copy."""

    def __init__(self, *, activation, buffer_device, **options):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"`activation` must be one of 'loss_func', 'auto', 'softmax', 'sigmoid', None; got {activation!r}"
            )
        self.activation = activation
        self.options = dict(options, buffer_device=buffer_device, sync_dist=False, nan_strategy="warn")
        # Build one now so that bad options fail at construction, naming the argument.
        AUROCAccumulator(activation="auto" if activation == FROM_LOSS else activation, **self.options)
        self.accumulator: Optional[AUROCAccumulator] = None

    def reset(self) -> None:
        self.accumulator = None

    def update(self, learn) -> None:
        if len(learn.yb) == 0:  # a test set without labels
            return
        pred, target = learn.to_detach((learn.pred, learn.yb[0]), cpu=False)  # fastai DDP: gathered, trimmed
        if not isinstance(pred, torch.Tensor):
            raise TypeError(
                f"AUROC needs `learn.pred` to be a tensor after the model's forward pass; got {type(pred).__name__}"
                " (a model returning several outputs needs a callback that sets `learn.pred`, like fastai's RNNCallback)"
            )
        if pred.shape[0] == 0:
            return
        pred, target = _plain(pred), _plain(target)
        if target.ndim == 2 and target.shape[1] == 1:  # tabular targets come as (bs, 1)
            target = target.reshape(-1)
        if self.accumulator is None:
            act = loss_activation(learn.loss_func) if self.activation == FROM_LOSS else self.activation
            self.accumulator = AUROCAccumulator(activation=act, **self.options)
        self.accumulator.update(pred, target)

    @property
    def empty(self) -> bool:
        return self.accumulator is None or self.accumulator.num_samples == 0

    def __getstate__(self) -> dict:
        return dict(self.__dict__, accumulator=None)  # learn.export() need not carry the last validation set


def _predicting(learn) -> bool:
    """Inside ``learn.get_preds``, which returns predictions and no metrics."""
    return any(isinstance(cb, GatherPredsCallback) for cb in learn.cbs)


def _plain(t: torch.Tensor) -> torch.Tensor:
    """Drop fastai's tensor subclasses (``TensorCategory``...) without copying."""
    return t if type(t) is torch.Tensor else t.as_subclass(torch.Tensor)


# ----------------------------------------------------------------------------- the metric


class AUROC(Metric):
    """Exact AUROC over the whole validation set, as a fastai ``Metric`` (``metrics=AUROC()`` or ``AUROC``).

    Predictions stay on their device and are ranked once per epoch by
    :class:`auroc_callbacks.AUROCAccumulator`; nothing is averaged per batch.
    Degenerate epochs never stop training: a class missing from the
    validation set is NaN and left out of the average, a single-class binary
    set or NaN scores give NaN; each with one
    :class:`~auroc_callbacks.UndefinedAUROCWarning` per epoch.

    Targets shaped ``(bs, 1)`` (tabular) are flattened; ``(bs, C)`` targets
    with ``(bs, C)`` scores are multilabel. Inside ``learn.get_preds``, which
    returns predictions and no metrics, nothing is collected (value None).

    Args:
        name: the column name (default ``"auroc"``).
        task, num_classes, average, multi_class, max_fpr, ignore_index: as in
            :func:`auroc_callbacks.auroc`. With ``average=None`` the value is
            the per-class vector (use :class:`AUROCCallback` for one column
            per class).
        activation: ``"loss_func"`` (default): what ``learn.get_preds``
            applies, ``learn.loss_func.activation`` (see
            :func:`loss_activation`), ``"auto"`` when the loss has none. Or
            any core choice: ``"auto"``, ``"softmax"``, ``"sigmoid"``, None.
        buffer_device: where to keep the epoch's predictions (default: their
            own device); ``"cpu"`` for a GPU with little memory to spare.
        mode: ``"exact"`` (default) or ``"histogram"``: per-class counts over
            the 65,536 values of a 16-bit float, ``C * 1 MiB`` whatever the
            size of the validation set; the value is exact for the scores
            rounded to ``histogram_dtype`` (see
            :class:`auroc_callbacks.AUROCAccumulator`). The certified bound is
            ``metric.accumulator.compute_bound()``, or a column with
            :class:`AUROCCallback`.
        histogram_dtype: ``torch.float16`` (default) or ``torch.bfloat16``.

    Example:
        >>> from auroc_callbacks.fastai import AUROC
        >>> AUROC().name, AUROC(name="val_auc", average="weighted").name
        ('auroc', 'val_auc')
    """

    def __init__(
        self,
        *,
        name: str = "auroc",
        task: Optional[str] = None,
        num_classes: Optional[int] = None,
        average: Optional[str] = "macro",
        multi_class: str = "ovr",
        activation: Optional[str] = FROM_LOSS,
        max_fpr: Optional[float] = None,
        ignore_index: Optional[int] = None,
        buffer_device: Union[str, torch.device, None] = None,
        mode: str = "exact",
        histogram_dtype: Optional[torch.dtype] = None,
    ):
        self._name = _check_name(name)
        self._collector = _Collector(
            task=task, num_classes=num_classes, average=average, multi_class=multi_class,
            activation=activation, max_fpr=max_fpr, ignore_index=ignore_index, buffer_device=buffer_device,
            mode=mode, histogram_dtype=histogram_dtype,
        )
        self._value = self._predicting = None

    @property
    def name(self) -> str:
        """The column name."""
        return self._name

    @property
    def accumulator(self) -> Optional[AUROCAccumulator]:
        """This epoch's accumulator (None before the first batch)."""
        return self._collector.accumulator

    def reset(self) -> None:
        """Forget the previous pass (fastai calls it before each validation)."""
        self._collector.reset()
        self._value = self._predicting = None

    def accumulate(self, learn) -> None:
        """Append this batch's ``(learn.pred, learn.yb[0])``, on their device."""
        if self._predicting is None:
            self._predicting = _predicting(learn)
        if self._predicting:
            return
        self._collector.update(learn)
        self._value = None

    @property
    def value(self) -> Union[float, torch.Tensor, None]:
        """The epoch's AUROC: a float (a CPU float64 tensor for ``average=None``); None without samples."""
        if self._collector.empty:
            return None
        if self._value is None:
            v = self._collector.accumulator.compute()
            self._value = v.item() if v.ndim == 0 else v.cpu()
        return self._value

    def __repr__(self) -> str:
        return f"AUROC(name={self._name!r}, activation={self._collector.activation!r})"


# ----------------------------------------------------------------------------- the callback


class AUROCCallback(Callback):
    """Exact epoch AUROC as Recorder columns, with per-class columns, a history and TensorBoard logging.

    Pass it as ``cbs=AUROCCallback(...)`` or ``cbs=AUROCCallback``. It runs
    after the ``Recorder`` (``order = Recorder.order + 1``) and inserts its
    columns before ``time``: ``auroc``, then with ``ci=True`` ``auroc_lo``
    and ``auroc_hi`` (the ends of its DeLong interval, from the same
    ranking), then with ``per_class=True`` one
    ``auroc_<class>`` per class, named from ``class_names``, else from
    ``dls.vocab``, else ``0 .. num_classes - 1``. The values are computed
    after each validation pass, so they are in ``learn.recorder.values`` and
    in the list ``learn.validate()`` returns. ``learn.lr_find()`` and
    ``learn.get_preds()`` compute and record nothing.

    TensorBoard: when ``log_dir`` is given, or fastai's ``TensorBoardCallback``
    is in the learner, each training epoch logs the value, per-class
    scalars and the ROC-curve figure through
    :func:`auroc_callbacks.tensorboard.log_auroc` (rank 0 only), at step
    ``learn.train_iter`` like fastai's own scalars.

    With ``mode="histogram"`` (bounded memory, see :class:`AUROC`) a
    ``<name>_bound`` column follows the value (before the per-class ones):
    the certified bound on the distance to the full-precision AUROC, also
    logged to TensorBoard and kept in the history as ``bound``.

    With ``calibration=True`` three columns follow the AUROC ones: ``ece``,
    ``ece_tempered`` and ``brier`` (for ``name="auroc"``; the prefix is
    ``name`` without its trailing ``auroc``, else ``<name>_``), from
    :func:`auroc_callbacks.calibration_summary` on the same epoch (no second
    copy of the predictions): the expected calibration error, the ECE after a
    temperature fitted on this validation set (an optimistic figure: it says
    how much of the ECE one scalar can remove), and the Brier score. The
    history gets ``calibration`` (those, ``mce``, ``nll`` and the fitted
    ``temperature``), and TensorBoard gets every number and the reliability
    diagram through :func:`auroc_callbacks.log_calibration` under the tag
    ``calibration`` (the same prefix: ``calibration/ece``, ...,
    ``calibration/reliability``), rank 0 only. A degenerate epoch gives NaN and at most one
    :class:`~auroc_callbacks.UndefinedCalibrationWarning` (none when the
    AUROC already warned about NaN scores).

    Attributes:
        history: one dict per training epoch, across fits: ``epoch``,
            ``step`` (``learn.train_iter``), ``value``, ``per_class`` and
            ``support`` (dicts keyed by class name: one-vs-rest AUROC, NaN
            where undefined, and number of positives; binary: one entry, the
            positive class) and ``num_samples``; with ``ci=True`` also
            ``lower`` and ``upper``; with ``calibration=True`` also
            ``calibration`` (a dict of floats: ``ece``, ``ece_tempered``,
            ``mce``, ``brier``, ``nll``, ``temperature``). The same keys as
            the Lightning callback's history.
        last: the same dict for the latest validation pass, including
            ``learn.validate()``; None before the first.

    Args:
        per_class: add one column per class (default False).
        name: the main column's name and the TensorBoard tag (default
            ``"auroc"``); the callback is also ``learn.<name>``.
        class_names: names of the classes, overriding ``dls.vocab``.
        log_dir: write TensorBoard events here; default: into the writer of
            fastai's ``TensorBoardCallback`` when the learner has one.
        figure: log the per-epoch ROC-curve figure, and with ``calibration=True``
            the reliability diagram (needs matplotlib).
        pr_curves: also log TensorBoard's per-class precision-recall curves
            (default False: they copy every probability to the host each epoch).
        ci: add the ``<name>_lo`` and ``<name>_hi`` columns (and TensorBoard
            scalars): the ends of the epoch's DeLong confidence interval
            (:func:`auroc_callbacks.auroc_ci`). One-vs-rest, no ``max_fpr``,
            not ``"micro"``.
        ci_level: the interval's confidence level (default 0.95).
        calibration: add the calibration columns (see above). Needs
            ``mode="exact"``: histogram mode keeps no predictions.
        calibration_bins: number of ECE bins (default 15).
        calibration_strategy: ``"uniform"`` (equal-width bins, default) or
            ``"quantile"`` (equal-mass), as for :func:`auroc_callbacks.calibration_error`.
        task, num_classes, multi_class, max_fpr, ignore_index, activation,
            buffer_device, mode, histogram_dtype: as for :class:`AUROC`.
        average: ``"macro"``, ``"weighted"`` or ``"micro"`` for the main
            column (per-class values come with ``per_class=True``).

    Example:
        >>> from auroc_callbacks.fastai import AUROCCallback
        >>> cb = AUROCCallback(per_class=True, class_names=["cat", "dog", "eel"])
        >>> cb.order, cb.name, cb.history
        (51, 'auroc', [])
    """

    order = Recorder.order + 1
    run_train = False  # batch events only in validation

    def __init__(
        self,
        *,
        per_class: bool = False,
        name: str = "auroc",
        class_names: Optional[Sequence[str]] = None,
        log_dir: Union[str, os.PathLike, None] = None,
        figure: bool = True,
        pr_curves: bool = False,
        ci: bool = False,
        ci_level: float = 0.95,
        calibration: bool = False,
        calibration_bins: int = 15,
        calibration_strategy: str = "uniform",
        task: Optional[str] = None,
        num_classes: Optional[int] = None,
        average: str = "macro",
        multi_class: str = "ovr",
        activation: Optional[str] = FROM_LOSS,
        max_fpr: Optional[float] = None,
        ignore_index: Optional[int] = None,
        buffer_device: Union[str, torch.device, None] = None,
        mode: str = "exact",
        histogram_dtype: Optional[torch.dtype] = None,
    ):
        super().__init__()
        if not isinstance(per_class, bool):
            raise TypeError(f"`per_class` must be a bool; got {type(per_class).__name__} {per_class!r}")
        if average is None:
            raise ValueError(
                "`average` must be one of 'macro', 'weighted', 'micro' for AUROCCallback; got None"
                " (pass per_class=True for one column per class)"
            )
        if class_names is not None and (isinstance(class_names, str) or not isinstance(class_names, Sequence)):
            raise TypeError(f"`class_names` must be a sequence of names or None; got {type(class_names).__name__}")
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"`log_dir` must be a str, a path or None; got {type(log_dir).__name__} {log_dir!r}")
        for arg, flag in (("figure", figure), ("pr_curves", pr_curves)):
            if not isinstance(flag, bool):
                raise TypeError(f"`{arg}` must be a bool; got {type(flag).__name__} {flag!r}")
        self._column = _check_name(name)
        self._collector = _Collector(
            task=task, num_classes=num_classes, average=average, multi_class=multi_class,
            activation=activation, max_fpr=max_fpr, ignore_index=ignore_index, buffer_device=buffer_device,
            ci=ci, ci_level=ci_level, mode=mode, histogram_dtype=histogram_dtype,
        )
        _callback.check_callback_options(calibration, calibration_bins, calibration_strategy, mode, task=task,
                                             activation=activation)
        self.ci = ci
        self.calibration = calibration
        self.calibration_bins, self.calibration_strategy = calibration_bins, calibration_strategy
        self.histogram = mode == "histogram"
        self.per_class = per_class
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.num_classes = num_classes
        self.log_dir = log_dir
        self.figure, self.pr_curves = figure, pr_curves
        self.history: List[dict] = []
        self.last: Optional[dict] = None
        self._names: Optional[List[str]] = None
        self._active = self._collecting = self._train_epoch = False
        self._scores: Optional[AUROCScores] = None
        self._interval: Optional[AUROCInterval] = None
        self._bound: Optional[AUROCBound] = None
        self._summary: Optional[CalibrationSummary] = None
        self._writer = None

    @property
    def name(self) -> str:
        """The main column's name; fastai also makes the callback ``learn.<name>``."""
        return self._column

    @property
    def accumulator(self) -> Optional[AUROCAccumulator]:
        """The latest validation pass's accumulator (None before the first batch)."""
        return self._collector.accumulator

    @property
    def columns(self) -> List[str]:
        """The Recorder columns this callback adds, in order."""
        cols = [self._column]
        if self.ci:
            cols += [f"{self._column}_lo", f"{self._column}_hi"]
        if self.histogram:
            cols.append(f"{self._column}_bound")
        if self.per_class and self._names is not None:
            cols += [f"{self._column}_{c}" for c in self._names]
        if self.calibration:
            prefix = _callback.callback_prefix(self._column)
            cols += [f"{prefix}{n}" for n in _callback.CALLBACK_COLUMNS]
        return cols

    # ------------------------------------------------------------------ events

    def before_fit(self) -> None:
        learn = self.learn
        # lr_find cancels validation; get_preds returns predictions, not metrics.
        self._active = not hasattr(learn, "lr_finder") and not _predicting(learn)
        self._train_epoch = False
        if not self._active:
            return
        self._names = self._class_names()
        recorder = getattr(learn, "recorder", None)
        if recorder is not None:
            names = recorder.metric_names
            at = _index_of_time(names) if recorder.add_time else len(names)
            for i, col in enumerate(self.columns):
                names.insert(at + i, col)
        if rank_distrib() == 0 and (self.log_dir is not None or self._tensorboard_callback() is not None):
            if self.figure:  # fail now, not after the first epoch
                _optional.require_matplotlib("AUROCCallback(figure=True) with TensorBoard")
            if self.log_dir is not None:
                self._writer = _summary_writer(self.log_dir)

    def before_epoch(self) -> None:
        self._train_epoch = False

    def before_train(self) -> None:
        self._train_epoch = True

    def before_validate(self) -> None:
        self._collector.reset()
        self._scores = self._interval = self._bound = self._summary = None
        self._collecting = self._active

    def after_batch(self) -> None:
        if self._collecting:
            self._collector.update(self.learn)

    def after_cancel_validate(self) -> None:
        self._collecting = False

    def after_validate(self) -> None:
        if not self._collecting:
            return
        self._collecting = False
        if self._collector.empty:
            return
        interval = bound = None
        if self.ci:  # one ranking gives the value and its interval
            interval = self._collector.accumulator.compute_interval()
            scores = interval.scores()
        elif self.histogram:  # one pass over the counts gives the value and its bound
            bound = self._collector.accumulator.compute_bound()
            scores = bound.scores()
        else:
            scores = self._collector.accumulator.compute_scores()
        per_class, support = self._per_class(scores)
        record = {
            "epoch": getattr(self.learn, "epoch", 0),
            "step": getattr(self.learn, "train_iter", 0),
            "value": scores.value.item(),
            "per_class": per_class,
            "support": support,
            "num_samples": scores.num_samples,
        }
        if interval is not None:
            record.update(lower=interval.lower.item(), upper=interval.upper.item())
        if bound is not None:
            record.update(bound=bound.bound.item())
        summary = None
        if self.calibration:  # the same epoch, gathered once: the accumulator cached it for the AUROC
            summary = _callback.callback_summary(
                self._collector.accumulator, n_bins=self.calibration_bins, strategy=self.calibration_strategy,
                auroc_undefined=bool(torch.isnan(scores.per_class).all()),
            )
            record.update(calibration=_callback.callback_record(summary))
        self._scores, self._interval, self._bound, self._summary, self.last = scores, interval, bound, summary, record
        recorder = getattr(self.learn, "recorder", None)
        if recorder is not None:
            recorder.log += self._column_values(record)

    def after_epoch(self) -> None:
        if self._scores is None or not self._train_epoch:
            return
        self.history.append(self.last)
        if rank_distrib() == 0:
            writer = self._writer
            if writer is None:  # fastai's TensorBoardCallback writes the Recorder columns itself: not twice
                writer = self._tensorboard_callback_writer()
                if writer is not None:  # it writes metric_names[2:-1]: not the last column (time, unless removed)
                    names = getattr(getattr(self.learn, "recorder", None), "metric_names", [])
                    writer = _WithoutScalars(writer, set(self.columns) & set(list(names)[2:-1]))
            if writer is not None:
                self._log(writer, self._scores)

    def after_fit(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._active = False

    # ------------------------------------------------------------------ helpers

    def _class_names(self) -> Optional[List[str]]:
        if self.class_names is not None:
            return self.class_names
        vocab = _vocab(self.learn.dls)
        if vocab is not None:
            return vocab
        if self.num_classes is not None:  # a one-column binary model scores class "1"
            return [str(i) for i in range(self.num_classes)] if self.num_classes > 1 else ["1"]
        if self.per_class:
            raise ValueError(
                "AUROCCallback(per_class=True) needs the classes before training: the DataLoaders have no"
                " `vocab`; pass `class_names=` or `num_classes=`"
            )
        return None

    def _per_class(self, scores: AUROCScores):
        """Per-class values and supports keyed by class name; binary: one entry, the positive class."""
        values, support = scores.per_class.tolist(), scores.support.tolist()
        names = self._names
        if len(values) == 1:
            if self.per_class and len(names) > 2:
                raise ValueError(
                    f"AUROCCallback(per_class=True) was set up for {len(names)} classes ({names}), but the model"
                    " scores one column (binary); pass matching `class_names=` or `num_classes=`"
                )
            names = names[-1:] if names else ["1"]
        elif names is None or len(names) != len(values):
            if self.per_class:
                raise ValueError(
                    f"AUROCCallback(per_class=True) was set up for {len(names or [])} classes ({names}), but the"
                    f" model scores {len(values)}; pass matching `class_names=` or `num_classes=`"
                )
            names = [str(i) for i in range(len(values))]
        return dict(zip(names, values)), dict(zip(names, support))

    def _column_values(self, record: dict) -> list:
        values = [record["value"]]
        if self.ci:
            values += [record["lower"], record["upper"]]
        if self.histogram:
            values.append(record["bound"])
        if self.per_class:
            per_class = list(record["per_class"].values())
            # binary: class 0's one-vs-rest AUROC (the score negated) is class 1's, so one value fills both columns
            values += per_class * len(self._names) if len(per_class) == 1 else per_class
        if self.calibration:
            values += [record["calibration"][n] for n in _callback.CALLBACK_COLUMNS]
        return values

    def _tensorboard_callback(self):
        module = sys.modules.get("fastai.callback.tensorboard")  # not imported: no such callback can exist
        if module is None:
            return None
        return next((cb for cb in self.learn.cbs if isinstance(cb, module.TensorBoardCallback)), None)

    def _tensorboard_callback_writer(self):
        cb = self._tensorboard_callback()
        if cb is None or not getattr(cb, "run", False):
            return None
        return cb.__dict__.get("writer")

    def _log(self, writer, scores: AUROCScores) -> None:
        from .tensorboard import log_auroc

        log_auroc(
            writer, self._collector.accumulator, step=self.learn.train_iter, tag=self._column,
            class_names=list(self.last["per_class"]), scores=scores, figure=self.figure, pr_curves=self.pr_curves,
            interval=self._interval, bound=self._bound,
        )
        if self._summary is not None:
            log_calibration(
                writer, self._summary, step=self.learn.train_iter,
                tag=f"{_callback.callback_prefix(self._column)}calibration", figure=self.figure,
            )
        writer.flush()

    def __repr__(self) -> str:
        return f"AUROCCallback(name={self._column!r}, per_class={self.per_class})"




class _WithoutScalars:
    """A TensorBoard writer that drops the scalars of some tags (another callback writes them), else the writer."""

    def __init__(self, writer, tags):
        self._writer, self._tags = writer, frozenset(tags)

    def add_scalar(self, tag, *args, **kwargs):
        if tag not in self._tags:
            self._writer.add_scalar(tag, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._writer, name)


def _index_of_time(names) -> int:
    """Where the Recorder's trailing ``time`` column is (searching from the end)."""
    for i in range(len(names) - 1, -1, -1):
        if names[i] == "time":
            return i
    return len(names)


def _vocab(dls) -> Optional[List[str]]:
    """Class names from ``dls.vocab``; text DataLoaders hold ``[token vocab, class vocab]``."""
    vocab = getattr(dls, "vocab", None)
    if vocab is None:
        return None
    try:
        if len(vocab) == 0:
            return None
        last = vocab[-1]
    except (TypeError, KeyError, IndexError):
        return None
    if hasattr(last, "__len__") and not isinstance(last, str):
        vocab = last
    return [str(v) for v in vocab]


def _summary_writer(log_dir):
    summary_writer = _optional.require_tensorboard("AUROCCallback(log_dir=...)")
    return summary_writer(log_dir=str(log_dir))
