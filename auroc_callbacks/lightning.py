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

import importlib
import re
import warnings
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

from . import _callback, _optional
from ._checks import NONEMPTY_STR, check_params
from ._padding import PaddingTrimmer, flatten_loaders
from .distributed import EmptyEpochError
from .tensorboard import tag_name

_BASES: List[type] = []
_TB_LOGGER_PATHS: List[str] = []
try:
    import lightning.pytorch as _lightning_pytorch

    _BASES.append(_lightning_pytorch.Callback)
    _TB_LOGGER_PATHS.append("lightning.pytorch.loggers")
except ImportError:  # pragma: no cover - depends on the environment
    _lightning_pytorch = None
try:
    import pytorch_lightning as _pytorch_lightning

    _BASES.append(_pytorch_lightning.Callback)
    _TB_LOGGER_PATHS.append("pytorch_lightning.loggers")
except ImportError:  # pragma: no cover - depends on the environment
    _pytorch_lightning = None
if not _BASES:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "auroc_callbacks.lightning needs PyTorch Lightning 2.x (`lightning` or `pytorch_lightning`):"
        " pip install 'auroc-callbacks[lightning]'"
    )

__all__ = ["AUROCCallback"]

OutputTransform = Callable[[Any, Any], Tuple[torch.Tensor, torch.Tensor]]
_OWN = ("name", "per_class", "class_names", "log_curve", "pr_curves", "calibration", "prog_bar", "test", "test_name",
        "preds_key", "target_key", "output_transform")
_RULES = {"test_name": [NONEMPTY_STR], "target_key": [NONEMPTY_STR], "test": [bool], "prog_bar": [bool],
          "output_transform": [None, callable]}


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
    makes of ``(outputs, batch)``. Shapes are those of :func:`auroc_callbacks.auroc`.

    Under DDP every rank's predictions are gathered (uneven shards included)
    and every rank logs the same exact value. The duplicate samples Lightning's
    default ``DistributedSampler`` pads the last ranks with are dropped as each
    batch arrives, from every dataloader, so the value is that of the
    validation set itself, whatever the number of devices or dataloaders.
    Where they cannot be found (a custom sampler, a rank that did not see its
    whole shard because of ``limit_val_batches``), a warning says so once.
    Sanity-check batches are never scored.

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

    Args:
        name: the key of the validation value (default ``"val_auroc"``).
        per_class: also log each class's one-vs-rest AUROC.
        class_names: names of the classes for the per-class keys (made
            tag-safe by :func:`auroc_callbacks.tensorboard.tag_name`), the
            history and the ROC legend; default ``"0"``, ``"1"``, ... Binary:
            1 or 2 names, the last one names the positive class.
        log_curve: with a ``TensorBoardLogger``, also draw the epoch's ROC
            figure (and with ``calibration`` the reliability diagram) to
            ``logger.experiment`` on global rank 0, at ``trainer.global_step``.
            Needs matplotlib (``pip install 'auroc-callbacks[plot]'``).
        pr_curves: with a ``TensorBoardLogger``, also log TensorBoard's
            per-class precision-recall curves (they copy every probability to the host).
        calibration: ``True``, or the options of ``calibration_summary``
            (``{"n_bins": 15, "strategy": "uniform"}``): also log the
            calibration numbers. Needs ``mode="exact"``.
        prog_bar: show the value in the progress bar.
        test: also score the test stage (``trainer.test``), from ``test_step`` outputs.
        test_name: the key of the test value (default ``"test_auroc"``).
        preds_key: the key (or keys, tried in order) of the predictions in a dict returned by the step.
        target_key: the key of the targets in a dict returned by the step.
        output_transform: ``output_transform(outputs, batch) -> (preds, target)``,
            used for every batch when given.
        **auroc_options: passed to :class:`auroc_callbacks.AUROCAccumulator`.

    Attributes:
        history: one dict per validation epoch, saved in checkpoints and
            restored on resume: ``epoch``, ``step`` (``trainer.global_step``),
            ``value``, ``per_class``, ``support``, ``num_samples`` and, as
            configured, ``lower``/``upper``, ``bound``, ``calibration`` (see
            :meth:`auroc_callbacks._callback.EpochResult.record`). The same
            keys as the fastai callback's history.
        last: the :class:`~auroc_callbacks._callback.EpochResult` of the last
            epoch scored, validation or test (``.scores``, ``.interval``,
            ``.bound``, ``.calibration``); None before the first.
        accumulator: the :class:`auroc_callbacks.AUROCAccumulator` in use.

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
        log_curve: bool = False,
        pr_curves: bool = False,
        calibration: Union[bool, Mapping] = False,
        prog_bar: bool = False,
        test: bool = False,
        test_name: str = "test_auroc",
        preds_key: Union[str, Sequence[str]] = ("logits", "preds"),
        target_key: str = "target",
        output_transform: Optional[OutputTransform] = None,
        **auroc_options,
    ):
        super().__init__()
        self.accumulator = _callback.build_accumulator(auroc_options, own=_OWN, sync_dist=True, nan_strategy="warn")
        self.options = _callback.check_callback_options(
            self.accumulator, name=name, per_class=per_class, class_names=class_names, calibration=calibration,
            log_curve=log_curve, pr_curves=pr_curves)
        check_params(_RULES, test_name=test_name, target_key=target_key, test=test, prog_bar=prog_bar,
                     output_transform=output_transform)
        tags = [tag_name(c) for c in self.options.class_names or []]
        clash = next((c for i, c in enumerate(tags) if c in tags[:i]), None)
        if clash is not None:
            raise ValueError(f"`class_names` {self.options.class_names} give the key `{name}/{clash}` twice (keys keep"
                             " only letters, digits, '_', '.' and '-'): make them distinct")
        preds_key = (preds_key,) if isinstance(preds_key, str) else preds_key
        if not isinstance(preds_key, Sequence) or not preds_key or not all(isinstance(k, str) for k in preds_key):
            raise TypeError(f"`preds_key` must be a str or a non-empty sequence of str; got {preds_key!r}")
        self.preds_key, self.target_key, self.output_transform = tuple(preds_key), target_key, output_transform
        self.test, self.test_name, self.prog_bar = test, test_name, prog_bar
        self.history: List[Dict[str, Any]] = []
        self.last: Optional[_callback.EpochResult] = None
        self._warned: set = set()
        self._padding = PaddingTrimmer(self._warn_once)

    @property
    def name(self) -> str:
        """The key of the validation value."""
        return self.options.name

    # ------------------------------------------------------------------ Lightning hooks

    @property
    def state_key(self) -> str:
        return self._generate_state_key(name=self.name)

    def setup(self, trainer, pl_module, stage: str) -> None:
        if self.options.log_curve and self._tensorboard_loggers(trainer):
            _optional.require_matplotlib("AUROCCallback(log_curve=True) with a TensorBoardLogger")  # fail now
        if trainer.world_size > 1:
            # The values are global already (every rank gathers every rank's samples), so they are logged with
            # sync_dist=False; Lightning's generic advice to sync epoch-level values does not apply to them.
            names = [re.escape(k) for k in (self.name, self.test_name)]
            names += [re.escape(_callback.calibration_prefix(k) + c) for k in (self.name, self.test_name)
                      for c in _callback.CALIBRATION_COLUMNS]
            key = rf"(?:{'|'.join(names)})(?:_lo|_hi|_bound)?(?:/[^']*)?"
            warnings.filterwarnings("ignore", message=rf"It is recommended to use `self\.log\('{key}', \.\.\., sync_dist=True\)`")

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._start()

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._update(trainer, outputs, batch, batch_idx, dataloader_idx, "validation_step")

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            result = self._end(trainer, pl_module, self.name, trainer.val_dataloaders, "limit_val_batches")
            if result is not None:
                self.history.append(result.record(epoch=trainer.current_epoch, step=trainer.global_step))

    def on_test_epoch_start(self, trainer, pl_module) -> None:
        if self.test:
            self._start()

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if self.test:
            self._update(trainer, outputs, batch, batch_idx, dataloader_idx, "test_step")

    def on_test_epoch_end(self, trainer, pl_module) -> None:
        if self.test:
            self._end(trainer, pl_module, self.test_name, trainer.test_dataloaders, "limit_test_batches")

    def state_dict(self) -> Dict[str, Any]:
        return {"history": [dict(h) for h in self.history]}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.history = [dict(h) for h in state_dict.get("history", [])]

    # ------------------------------------------------------------------ stages

    def _start(self) -> None:
        self.accumulator.reset()
        self._padding.reset()

    def _update(self, trainer, outputs, batch, batch_idx: int, dataloader_idx: int, step_name: str) -> None:
        preds, target = self._extract(outputs, batch, step_name)  # also during the sanity check: fail early
        if trainer.sanity_checking:
            return
        if _distributed(trainer):  # drop the sampler's padding as it arrives, from every dataloader (a view: no sync)
            loaders = flatten_loaders(trainer.val_dataloaders if step_name == "validation_step"
                                      else trainer.test_dataloaders)
            loader = loaders[dataloader_idx] if dataloader_idx < len(loaders) else None
            kept = self._padding.keep(loader, batch_idx, dataloader_idx, preds.shape[0])
            preds, target = preds[:kept], target[:kept]
        self.accumulator.update(preds, target)

    def _end(self, trainer, pl_module, name: str, dataloaders, limit_name: str) -> Optional[_callback.EpochResult]:
        if _distributed(trainer):
            self._padding.check(flatten_loaders(dataloaders), limit_name)
        try:  # a collective under DDP: every rank calls it, and every rank raises EmptyEpochError together
            result = self.last = _callback.compute_epoch(self.accumulator, self.options)
        except EmptyEpochError:
            where = " on any rank" if _distributed(trainer) else ""
            self._warn_once("empty", f"AUROCCallback: no samples were scored this epoch{where}; `{name}` is not logged")
            return None
        values = result.values(name, per_class=self.options.per_class, class_keys=[tag_name(c) for c in result.names])
        for key, value in values.items():
            pl_module.log(key, value, prog_bar=self.prog_bar and key == name, sync_dist=False)
        if trainer.is_global_zero and (self.options.log_curve or self.options.pr_curves):
            for logger in self._tensorboard_loggers(trainer):  # the scalars went through pl_module.log
                _callback.log_figures(logger.experiment, self.accumulator, result, tag=name,
                                      step=trainer.global_step, options=self.options, scalars=False)
        return result

    # ------------------------------------------------------------------ outputs -> (preds, target)

    def _extract(self, outputs, batch, step_name: str) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.output_transform is not None:
            got = self.output_transform(outputs, batch)
            if not _is_pair(got):
                raise TypeError(
                    f"`output_transform` must return a (preds, target) pair of tensors; got {_describe(got)}"
                )
            return got[0], got[1]
        if isinstance(outputs, Mapping):
            preds_key = next((k for k in self.preds_key if k in outputs), None)
            if preds_key is not None and self.target_key in outputs:
                preds, target = outputs[preds_key], outputs[self.target_key]
                if _is_pair((preds, target)):
                    return preds, target
        elif _is_pair(outputs):
            return outputs[0], outputs[1]
        keys = " or ".join(repr(k) for k in self.preds_key)
        raise TypeError(
            f"AUROCCallback found no predictions in what `{step_name}` returned ({_describe(outputs)}). Return a dict"
            f" with {keys} and {self.target_key!r} tensors (`preds_key`, `target_key` rename them), or a"
            f" (preds, target) tuple, or pass `output_transform=lambda outputs, batch: (preds, target)`."
        )

    @staticmethod
    def _tensorboard_loggers(trainer) -> list:
        classes = tuple(importlib.import_module(p).TensorBoardLogger for p in _TB_LOGGER_PATHS)
        return [lg for lg in trainer.loggers if isinstance(lg, classes)]

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=3)

    def __repr__(self) -> str:
        return f"AUROCCallback(name={self.name!r}, accumulator={self.accumulator!r})"


def _is_pair(x) -> bool:
    return isinstance(x, (tuple, list)) and len(x) == 2 and all(isinstance(t, torch.Tensor) for t in x)


def _describe(x) -> str:
    if x is None:
        return "None"
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    if isinstance(x, Mapping):
        return f"a dict with keys {sorted(map(str, x.keys()))}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}: ({', '.join(type(v).__name__ for v in x)})"
    return f"a {type(x).__name__}"


def _distributed(trainer) -> bool:
    return trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized()
