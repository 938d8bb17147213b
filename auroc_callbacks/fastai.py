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
import warnings
from collections.abc import Mapping
from typing import Callable, List, Optional, Sequence, Union

import torch
from fastai.callback.core import Callback, GatherPredsCallback
from fastai.callback.tracker import SaveModelCallback, TrackerCallback
from fastai.learner import Metric, Recorder
from fastai.torch_core import rank_distrib

from . import _callback, _optional, _trackers
from ._checks import Choice, check_params
from .loggers import fastai_callback, fastai_wandb_writers, log_epoch_figures

__all__ = ["AUROC", "AUROCCallback", "FROM_LOSS", "loss_activation"]

FROM_LOSS = "loss_func"
"""Default ``activation``: the one fastai's ``get_preds`` applies, ``learn.loss_func.activation``."""

_ACTIVATION = {"activation": [Choice((FROM_LOSS, "auto", "softmax", "sigmoid")), None]}
_SUPPORTED = "fastai's TensorBoardCallback or WandbCallback to `cbs`, or pass AUROCCallback(log_dir=...)"
_RULES = {"log_dir": [None, str, os.PathLike], "weight_func": [None, callable]}


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
    return _callback.activation_of(getattr(loss_func, "activation", None))


# ----------------------------------------------------------------------------- shared plumbing


class _Collector:
    """One validation pass's accumulator, fed from fastai's batches without a host copy.

    fastai's distributed mode gathers and trims every batch in ``learn.to_detach``:
    the accumulator never gathers again (``sync_dist=False``).
    """

    def __init__(self, activation, options: dict, who: str, own: tuple, weight_func=None):
        check_params(_ACTIVATION, activation=activation)
        check_params(_RULES, weight_func=weight_func)
        self.activation, self.options, self.weight_func = activation, dict(options), weight_func
        # Build one now so that bad options fail at construction, naming the argument.
        self.template = self._build("auto" if activation == FROM_LOSS else activation, who=who, own=own)
        if weight_func is not None:  # weights the options refuse fail now, not at the first validation batch
            self.template.check_weights_allowed()
        self.accumulator = None

    def _build(self, activation, **who):
        return _callback.build_accumulator(
            dict(self.options, activation=activation), sync_dist=False, nan_strategy="warn", **who
        )

    def reset(self) -> None:
        self.accumulator = None

    def update(self, learn) -> None:
        if len(learn.yb) == 0:  # a test set without labels
            return
        weight = None if self.weight_func is None else self.weight_func(learn)  # this batch's sample weights
        batch = (learn.pred, learn.yb[0]) if weight is None else (learn.pred, learn.yb[0], weight)
        pred, target, *weight = learn.to_detach(batch, cpu=False)  # fastai DDP: gathered, trimmed
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
            self.accumulator = self._build(
                loss_activation(learn.loss_func) if self.activation == FROM_LOSS else self.activation
            )
        self.accumulator.update(pred, target, _plain(weight[0]) if weight else None)

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
        activation: ``"loss_func"`` (default): what ``learn.get_preds``
            applies, ``learn.loss_func.activation`` (see
            :func:`loss_activation`), ``"auto"`` when the loss has none. Or
            any core choice: ``"auto"``, ``"softmax"``, ``"sigmoid"``, None.
        **auroc_options: passed to :class:`auroc_callbacks.AUROCAccumulator`
            (``task``, ``num_classes``, ``average``, ``multi_class``,
            ``max_fpr``, ``ignore_index``, ``buffer_device``, ``mode``,
            ``histogram_dtype``). With ``average=None`` the value is the
            per-class vector (use :class:`AUROCCallback` for one column per
            class); with ``mode="histogram"`` the certified bound is
            ``metric.accumulator.compute_bound()``, or a column with :class:`AUROCCallback`.

    Example:
        >>> from auroc_callbacks.fastai import AUROC
        >>> AUROC().name, AUROC(name="val_auc", average="weighted").name
        ('auroc', 'val_auc')
    """

    def __init__(self, *, name: str = "auroc", activation: Optional[str] = FROM_LOSS, **auroc_options):
        self._collector = _Collector(activation, auroc_options, "AUROC", _callback.own_options(AUROC.__init__))
        self._name = _callback.check_callback_options(self._collector.template, name=name).name
        self._value = self._predicting = None

    @property
    def name(self) -> str:
        """The column name."""
        return self._name

    @property
    def accumulator(self):
        """This epoch's :class:`~auroc_callbacks.AUROCAccumulator` (None before the first batch)."""
        return self._collector.accumulator

    def reset(self) -> None:
        """Forget the previous pass (fastai calls it before each validation)."""
        self._collector.reset()
        self._value = self._predicting = None

    def accumulate(self, learn) -> None:
        """Append this batch's ``(learn.pred, learn.yb[0])``, on their device."""
        if self._predicting is None:
            self._predicting = _predicting(learn)
        if not self._predicting:
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
    columns before ``time``: ``auroc``; with ``ci=True`` ``auroc_lo`` and
    ``auroc_hi`` (the ends of its DeLong interval, from the same ranking);
    with ``mode="histogram"`` ``auroc_bound`` (the certified bound); with
    ``per_class=True`` one ``auroc_<class>`` per class, named from
    ``class_names``, else ``dls.vocab``, else ``0 .. num_classes - 1`` (a
    binary problem's one value fills both of its columns); with
    ``calibration`` ``ece``, ``ece_tempered`` and ``brier`` (the prefix is
    ``name`` without its trailing ``auroc``, else ``<name>_``), from
    :func:`auroc_callbacks.calibration.calibration_summary` on the same epoch.
    The values are computed after each validation pass, so they are in
    ``learn.recorder.values`` and in the list ``learn.validate()`` returns.
    ``learn.lr_find()`` and ``learn.get_preds()`` compute and record nothing.
    What is computed and logged comes from the shared epoch result
    (``auroc_callbacks._callback``), as in the Lightning callback.

    TensorBoard: when ``log_dir`` is given, each training epoch writes the
    numbers (``auroc``, ``auroc/<class>``, ``calibration/ece``...), the ROC
    figure, the reliability diagram and, with ``pr_curves``, the PR curves
    (rank 0 only), at step ``learn.train_iter`` like fastai's own scalars.
    With fastai's ``TensorBoardCallback`` instead, that callback writes the
    numbers (the Recorder columns, under their names), and this one only the
    figures and PR curves: each number once. With fastai's ``WandbCallback``,
    the same figures go to its W&B run as ``wandb.Image`` entries (PR curves
    as figures), with a ``wandb.Table`` of the ROC points, joining the step
    it logs the Recorder columns at (see :mod:`auroc_callbacks.loggers`).

    Column names must be free: a column of this callback that another one
    already has (``metrics=AUROC()`` next to ``cbs=AUROCCallback()``, both
    ``auroc``) is a ``ValueError`` at ``before_fit``; rename one with ``name=``.

    An undefined epoch (one class only, NaN scores) records NaN with one
    :class:`~auroc_callbacks.UndefinedAUROCWarning`; a tracker monitoring the
    column skips it. When every epoch of a fit was undefined, the
    ``SaveModelCallback(monitor=<our column>)`` never saved, and would fail
    loading at the end of fit: the final weights are then saved under its
    ``fname`` (as ``at_end=True`` would), with one warning saying so.

    Args:
        name: the main column's name and the TensorBoard tag (default
            ``"auroc"``); the callback is also ``learn.<name>``.
        per_class: add one column per class (default False).
        class_names: names of the classes, overriding ``dls.vocab``.
        log_dir: write TensorBoard events here; default: into the writer of
            fastai's ``TensorBoardCallback`` when the learner has one.
        log_curve: log the ROC figure and, with ``calibration``, the
            reliability diagram. ``None`` (default): when TensorBoard or W&B is in
            use; ``True``: also, and warn once per fit when none of
            ``log_dir``, fastai's ``TensorBoardCallback`` or ``WandbCallback`` is there;
            ``False``: never. Needs matplotlib.
        pr_curves: also log TensorBoard's per-class precision-recall curves
            (default False: they copy every probability to the host each epoch); warns as ``log_curve=True``.
        calibration: ``True``, or the options of ``calibration_summary``
            (``{"n_bins": 15, "strategy": "uniform"}``): add the calibration columns.
            Needs ``mode="exact"``.
        activation: as for :class:`AUROC`.
        average_precision: add the average precision column ``ap`` (one-vs-rest,
            scikit-learn's definition; the prefix as for calibration), per class
            ``ap_<class>`` with ``per_class``, and its certified ``ap_lo`` /
            ``ap_hi`` in histogram mode. Exact mode ranks once for both.
        weight_func: ``weight_func(learn) -> (bs,) tensor``: each validation
            batch's sample weights, e.g. ``lambda learn: learn.yb[1]`` or
            ``lambda learn: learn.xb[-1]`` (gathered with the batch under fastai's
            distributed mode). Not with ``ci=True``, ``mode="histogram"`` or ``multi_class="ovo"``.
        **auroc_options: passed to :class:`auroc_callbacks.AUROCAccumulator`
            (``task``, ``num_classes``, ``average`` (not None: use
            ``per_class``), ``multi_class``, ``max_fpr``, ``ignore_index``,
            ``ci``, ``ci_level``, ``buffer_device``, ``mode``, ``histogram_dtype``).

    Attributes:
        history: one dict per training epoch, across fits: ``epoch``,
            ``step`` (``learn.train_iter``), then the keys of
            :meth:`auroc_callbacks._callback.EpochResult.record` (``value``,
            ``per_class``, ``support``, ``num_samples``, and as configured
            ``lower``/``upper``, ``bound``, ``calibration``). The same keys as
            the Lightning callback's history.
        last: the :class:`~auroc_callbacks._callback.EpochResult` of the
            latest validation pass, including ``learn.validate()``; None before the first.

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
        name: str = "auroc",
        per_class: bool = False,
        class_names: Optional[Sequence[str]] = None,
        log_dir: Union[str, os.PathLike, None] = None,
        log_curve: Optional[bool] = None,
        pr_curves: bool = False,
        calibration: Union[bool, Mapping] = False,
        activation: Optional[str] = FROM_LOSS,
        average_precision: bool = False,
        weight_func: Optional[Callable] = None,
        **auroc_options,
    ):
        super().__init__()
        check_params(_RULES, log_dir=log_dir)
        own = _callback.own_options(AUROCCallback.__init__)
        self._collector = _Collector(activation, auroc_options, "AUROCCallback", own, weight_func)
        self.options = _callback.check_callback_options(
            self._collector.template,
            name=name,
            per_class=per_class,
            class_names=class_names,
            calibration=calibration,
            log_curve=log_curve,
            pr_curves=pr_curves,
            scalar=True,
            average_precision=average_precision,
        )
        self.log_dir = log_dir
        self.history: List[dict] = []
        self.last = self._fresh = None
        self._names: Optional[List[str]] = None
        self._active = self._collecting = self._train_epoch = False
        self._writer = None

    @property
    def name(self) -> str:
        """The main column's name; fastai also makes the callback ``learn.<name>``."""
        return self.options.name

    @property
    def accumulator(self):
        """The latest validation pass's :class:`~auroc_callbacks.AUROCAccumulator` (None before the first batch)."""
        return self._collector.accumulator

    @property
    def columns(self) -> List[str]:
        """The Recorder columns this callback adds, in order."""
        return _callback.epoch_keys(self._collector.template, self.options, class_keys=self._names or [], sep="_")

    # ------------------------------------------------------------------ events

    def before_fit(self) -> None:
        learn = self.learn
        # lr_find cancels validation; get_preds returns predictions, not metrics.
        self._active = not hasattr(learn, "lr_finder") and not _predicting(learn)
        self._train_epoch = False
        if self._active:
            vocab, n = getattr(learn.dls, "vocab", None), self._collector.template.options.num_classes
            self._names = _callback.known_class_names(self.options, vocab, n)
        recorder = getattr(learn, "recorder", None)
        if recorder is not None and (self._active or self._monitored()):
            # inactive (lr_find, get_preds): no values, but a tracker monitoring a column of ours asserts it is there
            if self._active:
                _trackers.check_columns(self.columns, list(recorder.metric_names), self._owner, who=repr(self))
            _callback.insert_columns(recorder.metric_names, self.columns, before="time" if recorder.add_time else None)
        if not self._active or rank_distrib() != 0:
            return
        if (
            self.log_dir is None
            and fastai_callback(learn.cbs, "tensorboard", "TensorBoardCallback") is None
            and not fastai_wandb_writers(learn.cbs)
        ):
            missing = "the learner has no TensorBoardCallback, WandbCallback or `log_dir`"
            message = _callback.unused_figures(self.options, missing, _SUPPORTED)
            if message is not None:
                warnings.warn(message, UserWarning, stacklevel=2)
            return
        if self.options.log_curve is not False:  # fail now, not after the first epoch
            _optional.require_matplotlib("AUROCCallback(log_curve=True) with TensorBoard or W&B")
        if self.log_dir is not None:
            self._writer = _optional.require_tensorboard("AUROCCallback(log_dir=...)")(log_dir=str(self.log_dir))

    def before_epoch(self) -> None:
        self._train_epoch = False

    def before_train(self) -> None:
        self._train_epoch = True

    def before_validate(self) -> None:
        self._collector.reset()
        self._fresh = None  # this pass's result (``last`` stays for the user through get_preds and lr_find)
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
        self.last = self._fresh = _callback.compute_epoch(
            self._collector.accumulator, self.options, guessed_names=self._names
        )
        recorder = getattr(self.learn, "recorder", None)
        if recorder is not None:
            recorder.log += [float(v) for v in self._values(self.last).values()]

    def after_epoch(self) -> None:
        if self._fresh is None or not self._train_epoch:
            return
        self.history.append(
            self._fresh.record(epoch=getattr(self.learn, "epoch", 0), step=getattr(self.learn, "train_iter", 0))
        )
        if rank_distrib() != 0:
            return
        acc, step = self._collector.accumulator, self.learn.train_iter
        writers = fastai_wandb_writers(self.learn.cbs)  # WandbCallback logs the Recorder columns: only figures here
        if self._writer is not None:  # our own SummaryWriter: the numbers and the figures
            _callback.log_figures(
                self._writer, acc, self._fresh, tag=self.name, step=step, options=self.options, scalars=True
            )
            self._writer.flush()
        elif (tensorboard := self._tensorboard_writer()) is not None:
            # fastai's TensorBoardCallback writes metric_names[2:-1] (not the last column: time, unless removed)
            written = set(list(getattr(self.learn.recorder, "metric_names", []))[2:-1])
            for key, value in self._values(self._fresh).items():
                if key not in written and not bool(value.isnan()):
                    tensorboard.add_scalar(key, float(value), step)
            writers.insert(0, tensorboard)
        log_epoch_figures(writers, acc, self._fresh, tag=self.name, step=step, options=self.options)
        for writer in writers:
            writer.flush()

    def after_fit(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._active:  # before the trackers' after_fit (order 60+): one that never saved would load nothing
            savers = [cb for cb in self.learn.cbs if isinstance(cb, SaveModelCallback) and getattr(cb, "run", True)]
            _trackers.keep_final_weights(self.learn, savers, self.columns)
        self._active = False

    def _monitored(self) -> bool:
        """A tracker of the learner monitors one of our columns."""
        return any(
            getattr(cb, "monitor", None) in self.columns for cb in self.learn.cbs if isinstance(cb, TrackerCallback)
        )

    def _owner(self, column: str) -> str:
        others = [cb for cb in self.learn.cbs if isinstance(cb, AUROCCallback) and cb is not self]
        return _trackers.column_owner(column, self.learn.metrics, others)

    def __getstate__(self) -> dict:
        return dict(self.__dict__, last=None, _fresh=None, _writer=None)  # learn.export(): options and history

    # ------------------------------------------------------------------ helpers

    def _values(self, result) -> dict:
        return result.values(
            self.name, per_class=self.options.per_class, sep="_", class_keys=self._names or [], fill_binary=True
        )

    def _tensorboard_writer(self):
        """The writer of fastai's ``TensorBoardCallback`` in this learner, while it runs; else None."""
        cb = fastai_callback(self.learn.cbs, "tensorboard", "TensorBoardCallback")
        return cb.__dict__.get("writer") if cb is not None and getattr(cb, "run", False) else None

    def __repr__(self) -> str:
        return f"AUROCCallback(name={self.name!r}, per_class={self.options.per_class})"
