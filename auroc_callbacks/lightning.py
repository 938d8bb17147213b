"""Exact epoch AUROC for PyTorch Lightning 2.x, as a ``Callback``::

    from auroc_callbacks.lightning import AUROCCallback

    trainer = Trainer(callbacks=[AUROCCallback(num_classes=10), ModelCheckpoint(monitor="val_auroc", mode="max")])

The callback reads the predictions ``validation_step`` returns, keeps them on
the device in an :class:`auroc_callbacks.AUROCAccumulator`, and at the end of
each validation epoch logs the exact AUROC of the whole validation set with
``pl_module.log``, so ``ModelCheckpoint``, ``EarlyStopping``, the progress bar,
``trainer.callback_metrics`` and every logger see it. What is computed and
logged comes from the shared epoch result (``auroc_callbacks._callback``);
this module only translates Lightning's hooks.

Both Lightning packages (``lightning.pytorch`` and the standalone
``pytorch_lightning``) are supported by one class: :class:`AUROCCallback`
inherits from the ``Callback`` of each package that is installed. The two
``Callback`` base classes are plain classes with identical, empty hooks, so
the multiple inheritance is safe, and ``isinstance(cb, Callback)`` (how the
``Trainer`` accepts a bare callback and finds stateful ones) is true for the
``Trainer`` of either package (``lightning.pytorch`` is tried first).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch

from . import _callback, _optional, _trackers
from ._checks import NONEMPTY_STR, check_params
from ._padding import PaddingTrimmer, flatten_loaders, known_padding, sampler_of
from .distributed import EmptyEpochError
from .loggers import figure_writers, log_epoch_figures
from .tensorboard import tag_name

_BASES = _optional.base_classes(
    ["lightning.pytorch", "pytorch_lightning"],
    "Callback",
    message="auroc_callbacks.lightning needs PyTorch Lightning 2.x (`lightning` or `pytorch_lightning`):"
    " pip install 'auroc-callbacks[lightning]'",
)

__all__ = ["AUROCCallback"]

OutputTransform = Callable[[Any, Any], Tuple[torch.Tensor, torch.Tensor]]
#: what pickling keeps (not Lightning's `log`/`log_dict`, the module's methods): the options and the history
_PICKLED = ("_auroc_options", "options", "_outputs", "test", "test_name", "prog_bar", "pool_dataloaders", "history")
_RULES = {
    "test_name": [NONEMPTY_STR],
    "target_key": [NONEMPTY_STR],
    "test": [bool],
    "prog_bar": [bool],
    "output_transform": [None, callable],
    "pool_dataloaders": [bool],
}
_SUPPORTED = (
    "a TensorBoardLogger, WandbLogger, MLFlowLogger or CSVLogger (lightning.pytorch.loggers), the loggers"
    " that take figures"
)


class _Stage(NamedTuple):
    step: str  # the LightningModule step whose outputs are read
    loaders: str  # the trainer's dataloaders of the stage
    batches: str  # the trainer's number of batches per dataloader
    limit: str  # the Trainer option that limits them
    history: bool  # an epoch of this stage is recorded in `history`


_VALIDATION = _Stage("validation_step", "val_dataloaders", "num_val_batches", "limit_val_batches", True)
_TEST = _Stage("test_step", "test_dataloaders", "num_test_batches", "limit_test_batches", False)


class AUROCCallback(*_BASES):
    """Log the exact epoch AUROC of the validation (and optionally test) set.

    Every option of :class:`auroc_callbacks.AUROCAccumulator` passes through
    untouched (``task``, ``num_classes``, ``average``, ``multi_class``,
    ``activation``, ``max_fpr``, ``ignore_index``, ``ci``, ``ci_level``,
    ``mode``, ``histogram_dtype``, ``buffer_device``); ``activation="auto"``
    is decided once per epoch, on the whole epoch, on the device.
    Half-precision outputs (``bf16-mixed``, ``16-mixed``) are upcast to
    float32 before any softmax.

    Predictions are taken from what ``validation_step`` (``test_step``)
    returns: a dict with a ``preds_key`` entry (by default ``"logits"``, else
    ``"preds"``) and a ``target_key`` entry (``"target"``); or a
    ``(preds, target)`` tuple; or, when given, whatever ``output_transform``
    makes of ``(outputs, batch)``. Shapes are those of :func:`auroc_callbacks.auroc`
    (a 0-d prediction, ``logits.squeeze()`` of a one-row batch, is one sample).
    Sanity-check batches are checked (shapes, class indices given as
    predictions), never scored.

    Several dataloaders (``trainer.fit(model, train, [va1, va2])``,
    ``trainer.validate(dataloaders=[va1, va2])``, the same for ``test``):
    each is scored on its own, under Lightning's key for it,
    ``val_auroc/dataloader_idx_0``, ``val_auroc/dataloader_idx_1``, ... (every
    key below gets the suffix: ``val_auroc/cat/dataloader_idx_0``,
    ``val_ece/dataloader_idx_1``), logged when that dataloader's last batch is
    scored, so ``trainer.validate`` returns each value in its own dataloader's
    dict. ``pool_dataloaders=True`` scores them together under the plain
    keys. One dataloader: the plain keys.

    Under DDP every rank's predictions are gathered (uneven shards included)
    and every rank logs the same exact value. The duplicate samples Lightning's
    default ``DistributedSampler`` pads the last ranks with are dropped as each
    batch arrives, from every dataloader, so the value is that of the
    validation set itself, whatever the number of devices or dataloaders.
    Where they cannot be found (a custom sampler, a rank that did not see its
    whole shard because of ``limit_val_batches``), a warning says so once;
    several dataloaders are then scored at the epoch's end, still one value
    each, logged with the suffix in every dataloader's dict.

    Logged keys (``name="val_auroc"``; ``test_name`` for the test stage):
    ``val_auroc``; with ``ci=True`` ``val_auroc_lo`` and ``val_auroc_hi``
    (the ends of its DeLong interval, from the same ranking); with
    ``mode="histogram"`` ``val_auroc_bound`` (the certified bound); with
    ``per_class=True`` (always with ``average=None``) ``val_auroc/{class}``
    (not for binary); with ``calibration`` ``val_ece``, ``val_ece_tempered``
    and ``val_brier`` (the prefix is ``name`` without its trailing ``auroc``,
    else ``{name}_``), from :func:`auroc_callbacks.calibration.calibration_summary`
    on the same gathered epoch. Every rank computes them from the whole
    epoch, so they are logged with ``sync_dist=False``.

    An undefined epoch (one class only, NaN scores) logs NaN with one
    :class:`~auroc_callbacks.UndefinedAUROCWarning`. ``ModelCheckpoint`` ranks
    NaN below every value (a run whose every epoch is undefined may still
    save a ``val_auroc=nan`` checkpoint); ``EarlyStopping(check_finite=True)``
    monitoring one of these keys stops at it, which the warning then says once.

    Args:
        name: the key of the validation value (default ``"val_auroc"``).
        per_class: also log each class's one-vs-rest AUROC.
        class_names: names of the classes for the per-class keys (made
            tag-safe by :func:`auroc_callbacks.tensorboard.tag_name`), the
            history and the ROC legend; default ``"0"``, ``"1"``, ... Binary:
            1 or 2 names, the last one names the positive class.
        log_curve: also draw the epoch's ROC figure (and with ``calibration``
            the reliability diagram) to every ``TensorBoardLogger``,
            ``WandbLogger``, ``MLFlowLogger`` and ``CSVLogger`` of the trainer
            (:mod:`auroc_callbacks.loggers` says what each receives), on global
            rank 0, at ``trainer.global_step`` (several dataloaders: one figure
            each, the tag suffixed like the keys). Needs matplotlib (``pip
            install 'auroc-callbacks[plot]'``). ``True`` without such a logger
            warns once per fit; ``None`` draws when there is one.
        pr_curves: also log per-class precision-recall curves: TensorBoard's
            own, a PR figure for the other loggers (they copy every probability to the host).
        average_precision: also log the epoch's average precision (one-vs-rest,
            scikit-learn's definition) as ``val_ap`` (the prefix is ``name``
            without its trailing ``auroc``), per class with ``per_class``,
            with its certified ``val_ap_lo`` / ``val_ap_hi`` in histogram mode.
            Exact mode ranks once for the AUROC and the AP.
        calibration: ``True``, or the options of ``calibration_summary``
            (``{"n_bins": 15, "strategy": "uniform"}``): also log the
            calibration numbers. Needs ``mode="exact"``.
        prog_bar: show the value in the progress bar.
        test: also score the test stage (``trainer.test``), from ``test_step`` outputs.
        test_name: the key of the test value (default ``"test_auroc"``).
        preds_key: the key (or keys, tried in order) of the predictions in a dict returned by the step.
        target_key: the key of the targets in a dict returned by the step.
            A ``"weight"`` key, when the dict has one, gives the batch's sample
            weights (every batch weighted or none; not with ``ci=True``,
            ``mode="histogram"`` or ``multi_class="ovo"``).
        output_transform: ``output_transform(outputs, batch) -> (preds, target)``
            (or ``(preds, target, weight)``), used for every batch when given.
        pool_dataloaders: score several dataloaders of a stage as one set, under the plain keys.
        **auroc_options: passed to :class:`auroc_callbacks.AUROCAccumulator`.

    Attributes:
        history: one dict per validation epoch (with several dataloaders, one
            per dataloader and epoch, with a ``dataloader_idx`` entry), saved
            in checkpoints and restored on resume: ``epoch``, ``step``
            (``trainer.global_step``), ``value``, ``per_class``, ``support``,
            ``num_samples`` and, as configured, ``lower``/``upper``,
            ``bound``, ``calibration`` (see
            :meth:`auroc_callbacks._callback.EpochResult.record`). The same
            keys as the fastai callback's history.
        last: the :class:`~auroc_callbacks._callback.EpochResult` of the last
            epoch scored, validation or test (``.scores``, ``.interval``,
            ``.bound``, ``.calibration``; several dataloaders: the last one's); None before the first.
        last_by_dataloader: with several dataloaders, ``{dataloader_idx: EpochResult}`` of the last stage scored.
        accumulator: the :class:`auroc_callbacks.AUROCAccumulator` in use (several dataloaders: the first one's).
        accumulators: ``{dataloader_idx: AUROCAccumulator}``, one per dataloader scored apart.

    Pickling (``copy.deepcopy``, ``pickle``) keeps the options and the
    history: the accumulators come back empty, ``last`` and Lightning's
    references to the module are dropped.

    Example:
        >>> from auroc_callbacks.lightning import AUROCCallback
        >>> cb = AUROCCallback(num_classes=3, per_class=True, class_names=["cat", "dog", "owl"])
        >>> cb.name, cb.history
        ('val_auroc', [])
    """

    def __init__(
        self,
        *,
        name: str = "val_auroc",
        per_class: bool = False,
        class_names: Optional[Sequence[str]] = None,
        log_curve: Optional[bool] = False,
        pr_curves: bool = False,
        average_precision: bool = False,
        calibration: Union[bool, Mapping] = False,
        prog_bar: bool = False,
        test: bool = False,
        test_name: str = "test_auroc",
        preds_key: Union[str, Sequence[str]] = ("logits", "preds"),
        target_key: str = "target",
        output_transform: Optional[OutputTransform] = None,
        pool_dataloaders: bool = False,
        **auroc_options,
    ):
        super().__init__()
        self._auroc_options = dict(auroc_options)
        self.accumulator = self._build()
        self.options = _callback.check_callback_options(
            self.accumulator,
            name=name,
            per_class=per_class,
            class_names=class_names,
            calibration=calibration,
            log_curve=log_curve,
            pr_curves=pr_curves,
            average_precision=average_precision,
        )
        check_params(
            _RULES,
            test_name=test_name,
            target_key=target_key,
            test=test,
            prog_bar=prog_bar,
            output_transform=output_transform,
            pool_dataloaders=pool_dataloaders,
        )
        _callback.check_distinct_keys(name, self.options.class_names)
        self._outputs = _callback.StepOutputs(preds_key, target_key, output_transform)
        self.test, self.test_name, self.prog_bar = test, test_name, prog_bar
        self.pool_dataloaders = pool_dataloaders
        self.history: List[Dict[str, Any]] = []
        self._fresh_state()

    def _fresh_state(self) -> None:
        """What a fit leaves behind (the epoch's samples, its result, warnings given): none of it is pickled."""
        self.accumulators = {0: self.accumulator}
        self.last: Optional[_callback.EpochResult] = None
        self.last_by_dataloader: Dict[int, _callback.EpochResult] = {}
        self._warned: set = set()
        self._padding = PaddingTrimmer(self._warn_once)
        self._split, self._scored = False, set()

    @property
    def name(self) -> str:
        """The key of the validation value."""
        return self.options.name

    # ------------------------------------------------------------------ Lightning hooks

    @property
    def state_key(self) -> str:
        return self._generate_state_key(name=self.name)

    def setup(self, trainer, pl_module, stage: str) -> None:
        writers = figure_writers(trainer.loggers)
        if self.options.log_curve and writers:
            _optional.require_matplotlib("AUROCCallback(log_curve=True) with a logger that takes figures")  # fail now
        if not writers and getattr(trainer, "is_global_zero", True):
            missing = f"no logger of the trainer takes figures ({_logger_names(trainer)})"
            message = _callback.unused_figures(self.options, missing, _SUPPORTED)
            if message is not None:
                warnings.warn(message, UserWarning, stacklevel=2)
        if trainer.world_size > 1:
            # The values are global already (every rank gathers every rank's samples), so they are logged with
            # sync_dist=False; Lightning's generic advice to sync epoch-level values does not apply to them.
            key = _callback.key_pattern([self.name, self.test_name])
            warnings.filterwarnings(
                "ignore", message=rf"It is recommended to use `self\.log\('{key}', \.\.\., sync_dist=True\)`"
            )

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._start(trainer, _VALIDATION)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._update(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx, _VALIDATION)

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._end(trainer, pl_module, _VALIDATION)

    def on_test_epoch_start(self, trainer, pl_module) -> None:
        if self.test:
            self._start(trainer, _TEST)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if self.test:
            self._update(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx, _TEST)

    def on_test_epoch_end(self, trainer, pl_module) -> None:
        if self.test:
            self._end(trainer, pl_module, _TEST)

    def state_dict(self) -> Dict[str, Any]:
        return {"history": [dict(h) for h in self.history]}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.history = [dict(h) for h in state_dict.get("history", [])]

    def __getstate__(self) -> Dict[str, Any]:
        return {k: self.__dict__[k] for k in _PICKLED}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.accumulator = self._build()
        self._fresh_state()

    # ------------------------------------------------------------------ stages

    def _build(self):
        own = _callback.own_options(AUROCCallback.__init__)
        return _callback.build_accumulator(self._auroc_options, own=own, sync_dist=True, nan_strategy="warn")

    def _start(self, trainer, stage: _Stage) -> None:
        self._split = len(flatten_loaders(getattr(trainer, stage.loaders))) > 1 and not self.pool_dataloaders
        for acc in self.accumulators.values():
            acc.reset()
        self._padding.reset()
        self._scored = set()
        self.last_by_dataloader = {}

    def _update(self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int, stage: _Stage) -> None:
        preds, target, weight = self._outputs.read(outputs, batch, stage.step)
        acc = self._accumulator(dataloader_idx if self._split else 0)
        if trainer.sanity_checking:  # shapes and class indices fail now, not after an epoch; reset at the next start
            acc.check_batch(preds, target)
            if weight is not None:
                acc.check_weights_allowed()
            return
        batch_rows = (preds, target, weight)
        if _distributed(trainer):  # drop the sampler's padding as it arrives, from every dataloader (a view: no sync)
            loader = _loader(trainer, stage, dataloader_idx)
            batch_rows = self._padding.trim(loader, batch_idx, dataloader_idx, preds, target, weight)
        if batch_rows is not None:
            acc.update(*batch_rows)
        if self._split and self._last_batch(trainer, stage, batch_idx, dataloader_idx):
            self._score(trainer, pl_module, stage, dataloader_idx, in_loop=True)

    def _end(self, trainer, pl_module, stage: _Stage) -> None:
        if not self._split:
            self._score(trainer, pl_module, stage, None, in_loop=False)
            return
        for idx in range(len(flatten_loaders(getattr(trainer, stage.loaders)))):  # those not scored in the loop
            if idx not in self._scored:
                self._score(trainer, pl_module, stage, idx, in_loop=False)

    def _last_batch(self, trainer, stage: _Stage, batch_idx: int, dataloader_idx: int) -> bool:
        """This dataloader's last batch, on every rank at once (an equal-shard sampler): score it now, in its own dict."""
        counts = getattr(trainer, stage.batches)
        if dataloader_idx >= len(counts) or not isinstance(counts[dataloader_idx], int):
            return False  # no length (an iterable dataset): scored at the epoch's end
        if batch_idx + 1 != counts[dataloader_idx]:
            return False
        return not _distributed(trainer) or known_padding(sampler_of(_loader(trainer, stage, dataloader_idx)))

    def _score(self, trainer, pl_module, stage: _Stage, idx: Optional[int], *, in_loop: bool) -> None:
        """Compute, log, draw and record one dataloader's epoch (``idx``), or the stage's (``idx=None``)."""
        name, suffix = self.name if stage.history else self.test_name, ""
        if idx is not None:
            self._scored.add(idx)
            suffix = _callback.DATALOADER_SUFFIX.format(idx)
        if _distributed(trainer):
            self._padding.check(flatten_loaders(getattr(trainer, stage.loaders)), stage.limit, dataloader_idx=idx)
        acc = self._accumulator(idx or 0)
        with _trackers.UndefinedNote(self._stop_notes(trainer, name)) as note:
            try:  # a collective under DDP: every rank calls it, and every rank raises EmptyEpochError together
                result = _callback.compute_epoch(acc, self.options)
            except EmptyEpochError:
                where = " on any rank" if _distributed(trainer) else ""
                self._warn_once(
                    f"empty{suffix}",
                    f"AUROCCallback: no samples were scored this epoch{where}; `{name}{suffix}` is not logged",
                )
                return
            values = result.values(
                name, per_class=self.options.per_class, class_keys=[tag_name(c) for c in result.names]
            )
            self._warned.update(note.check({k + suffix: v for k, v in values.items()}))
        for key, value in values.items():  # in the loop, Lightning adds the suffix and files it under its dataloader
            pl_module.log(
                key if in_loop else key + suffix,
                value,
                prog_bar=self.prog_bar and key == name,
                sync_dist=False,
                batch_size=1,
                add_dataloader_idx=in_loop,
            )
        if trainer.is_global_zero and (self.options.log_curve is not False or self.options.pr_curves):
            log_epoch_figures(
                figure_writers(trainer.loggers),
                acc,
                result,
                tag=name,
                step=trainer.global_step,
                options=self.options,
                suffix=suffix,
            )  # the scalars went through pl_module.log
        self.last = result
        if idx is not None:
            self.last_by_dataloader[idx] = result
        if stage.history:
            where = {} if idx is None else {"dataloader_idx": idx}
            self.history.append(result.record(epoch=trainer.current_epoch, step=trainer.global_step, **where))

    def _accumulator(self, idx: int):
        if idx not in self.accumulators:  # one more dataloader: the same options
            self.accumulators[idx] = self._build()
        return self.accumulators[idx]

    def _stop_notes(self, trainer, name: str) -> Dict[str, str]:
        """``EarlyStopping(check_finite=True)`` on one of our keys stops at a NaN: the undefined-AUROC warning says so, once."""
        stoppers = getattr(trainer, "early_stopping_callbacks", [])
        return _trackers.stop_notes(stoppers, _callback.key_pattern([name]), self._warned)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=3)

    def __repr__(self) -> str:
        return f"AUROCCallback(name={self.name!r}, accumulator={self.accumulator!r})"


def _loader(trainer, stage: _Stage, dataloader_idx: int):
    loaders = flatten_loaders(getattr(trainer, stage.loaders))
    return loaders[dataloader_idx] if dataloader_idx < len(loaders) else None


def _logger_names(trainer) -> str:
    names = [type(lg).__name__ for lg in trainer.loggers]
    return f"its loggers: {', '.join(names)}" if names else "no logger"


def _distributed(trainer) -> bool:
    return trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized()
