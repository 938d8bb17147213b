"""Exact epoch AUROC for PyTorch Lightning 2.x, as a ``Callback``::

    from auroc_callbacks.lightning import AUROCCallback

    trainer = Trainer(callbacks=[AUROCCallback(num_classes=10), ModelCheckpoint(monitor="val_auroc", mode="max")])

The callback reads the predictions ``validation_step`` returns, keeps them on
the device in an :class:`auroc_callbacks.AUROCAccumulator`, and at the end of
each validation epoch logs the exact AUROC of the whole validation set with
``pl_module.log``, so ``ModelCheckpoint``, ``EarlyStopping``, the progress bar,
``trainer.callback_metrics`` and every logger see it.

Both Lightning packages (``lightning.pytorch`` and the standalone
``pytorch_lightning``) are supported by one class: :class:`AUROCCallback`
inherits from the ``Callback`` of each package that is installed. The two
``Callback`` base classes are plain classes with identical, empty hooks, so
the multiple inheritance is safe, and ``isinstance(cb, Callback)`` (how the
``Trainer`` accepts a bare callback and finds stateful ones) is true for the
``Trainer`` of either package. A user of either writes the same import. The
second package costs no import time to speak of: it shares its dependencies
with the first (``lightning.pytorch`` is tried first, as the house style asks).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, RandomSampler, SequentialSampler

from . import _optional
from . import _callback
from .calibration import CalibrationSummary, log_calibration
from .accumulator import AUROCAccumulator
from .distributed import EmptyEpochError
from .functional import AUROCScores
from .histogram import AUROCBound
from .stats import AUROCInterval
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

# Samplers whose ``__iter__`` follows torch's DistributedSampler: pad the index list at its end, then
# deal it out round-robin. Lightning's wrappers (DistributedSamplerWrapper, UnrepeatedDistributedSampler)
# live in these modules.
_KNOWN_SAMPLER_MODULES = (
    "torch.utils.data.distributed",
    "lightning.fabric.utilities.distributed",
    "lightning.pytorch.overrides.distributed",
    "lightning_fabric.utilities.distributed",
    "pytorch_lightning.overrides.distributed",
)


class AUROCCallback(*_BASES):
    """Log the exact epoch AUROC of the validation (and optionally test) set.

    Takes every option of :func:`auroc_callbacks.auroc` (``task``,
    ``num_classes``, ``average``, ``multi_class``, ``activation``, ``max_fpr``,
    ``ignore_index``); ``activation="auto"`` is decided once per epoch, on the
    whole epoch, on the device. Half-precision outputs (``bf16-mixed``,
    ``16-mixed``) are upcast to float32 before any softmax.

    Predictions are taken from what ``validation_step`` (``test_step``)
    returns: a dict with a ``preds_key`` entry (by default ``"logits"``, else
    ``"preds"``) and a ``target_key`` entry (``"target"``); or a
    ``(preds, target)`` tuple; or, when given, whatever ``output_transform``
    makes of ``(outputs, batch)``. Shapes are those of :func:`auroc_callbacks.auroc`:
    preds ``(N,)``/``(N, 1)``/``(N, 2)`` binary, ``(N, C)`` multiclass or
    multilabel; target ``(N,)`` or ``(N, C)``.

    Under DDP every rank's predictions are gathered (uneven shards included)
    and every rank logs the same exact value. The duplicate samples Lightning's
    default ``DistributedSampler`` pads the last ranks with are dropped as each
    batch arrives (rank ``r`` of ``W`` keeps the first
    ``len(range(r, len(dataset), W))`` rows of each dataloader), so the value
    is that of the validation set itself, whatever the number of devices or
    dataloaders. Where they cannot be found (a custom sampler, a rank that did
    not see its whole shard because of ``limit_val_batches``), a warning says so once.

    Sanity-check batches are never scored: the value of the first epoch is
    that of the first epoch.

    With ``mode="histogram"`` the epoch is kept as per-class counts over the
    65,536 values of a 16-bit float (``C * 1 MiB`` whatever the size of the
    validation set; see :class:`auroc_callbacks.AUROCAccumulator`), the value
    is exact for the scores rounded to ``histogram_dtype``, and its certified
    bound is logged as ``{name}_bound``. Under DDP the counts are summed over
    ranks (no predictions gathered), after the same per-batch drop of the
    sampler's padding, so both modes score the same samples.

    With ``calibration=True`` the callback also logs ``val_ece``,
    ``val_ece_tempered`` and ``val_brier`` (the prefix is ``name`` without
    its trailing ``auroc``, else ``{name}_``; ``test_ece``... for the test
    stage), from :func:`auroc_callbacks.calibration_summary` on the same
    gathered epoch (no second collective): the expected calibration error,
    the ECE after a temperature fitted on this validation set (optimistic: it
    says how much of the ECE one scalar can remove) and the Brier score. Every
    rank computes them from the whole epoch, so they are logged with
    ``sync_dist=False``. With a ``TensorBoardLogger``, global rank 0 also draws
    the reliability diagram (before and after temperature scaling) under
    ``val_calibration/reliability`` through :func:`auroc_callbacks.log_calibration`.
    A degenerate epoch gives NaN and at most one
    :class:`~auroc_callbacks.UndefinedCalibrationWarning` (none when the AUROC
    already warned about NaN scores).

    Args:
        task, num_classes, average, multi_class, activation, max_fpr, ignore_index:
            as in :func:`auroc_callbacks.auroc`.
        name: the key the validation value is logged under (default ``"val_auroc"``).
        per_class: also log ``{name}/{class}``, the one-vs-rest AUROC of each
            class (multiclass) or label (multilabel); binary problems have no
            per-class keys. With ``average=None`` there is no scalar
            ``{name}``: the per-class keys are logged whatever ``per_class`` says.
        class_names: names of the classes for the per-class keys (made
            tag-safe by :func:`auroc_callbacks.tensorboard.tag_name`), the
            history and the ROC legend; default ``"0"``, ``"1"``, ... Binary:
            1 or 2 names, the last one names the positive class.
        preds_key: the key (or keys, tried in order) of the predictions in a
            dict returned by the step.
        target_key: the key of the targets in a dict returned by the step.
        output_transform: ``output_transform(outputs, batch) -> (preds, target)``;
            when given it is used for every batch, before the dict and tuple forms.
        test: also score the test stage (``trainer.test``), from ``test_step``
            outputs, logged under ``test_name``.
        test_name: the key of the test value (default ``"test_auroc"``).
        log_curve: with a ``TensorBoardLogger``, also draw the epoch's ROC
            curves (per class, AUROC in the legend) to
            ``logger.experiment`` under ``{name}/roc``, and PR curves under
            ``{name}/pr/{class}``, through :func:`auroc_callbacks.tensorboard.log_auroc`,
            at step ``trainer.global_step``, on global rank 0. Needs matplotlib (``pip install 'auroc-callbacks[plot]'``).
            Other loggers get the scalars only.
        prog_bar: show the value in the progress bar.
        ci: also log the ends of the epoch's DeLong confidence interval,
            ``{name}_lo`` and ``{name}_hi`` (``val_auroc_lo``, ``val_auroc_hi``),
            from the same ranking as the value (:func:`auroc_callbacks.auroc_ci`);
            the history gets ``lower`` and ``upper``. For a scalar value
            (not ``average=None``); one-vs-rest, no ``max_fpr``, not ``"micro"``.
        ci_level: the interval's confidence level (default 0.95).
        buffer_device: where to keep the epoch's predictions (see
            :class:`auroc_callbacks.AUROCAccumulator`): None for the device
            they are on, ``"cpu"`` to spare GPU memory.
        mode: ``"exact"`` (default) or ``"histogram"`` (bounded memory, see above).
        histogram_dtype: ``torch.float16`` (default) or ``torch.bfloat16``, with ``mode="histogram"``.
        calibration: also log the calibration numbers and draw the
            reliability diagram (see above; the diagram needs matplotlib when
            a ``TensorBoardLogger`` is attached). Needs ``mode="exact"``:
            histogram mode keeps no predictions.
        calibration_bins: number of ECE bins (default 15).
        calibration_strategy: ``"uniform"`` (equal-width bins, default) or
            ``"quantile"`` (equal-mass), as for :func:`auroc_callbacks.calibration_error`.

    Attributes:
        history: one dict per validation epoch, saved in checkpoints and
            restored on resume: ``epoch``, ``step`` (``trainer.global_step``),
            ``value`` (a float, or a list for ``average=None``), ``per_class``
            and ``support`` (dicts keyed by class name: one-vs-rest AUROC, NaN
            where undefined, and number of positives) and ``num_samples``
            (samples scored, over all ranks); with ``ci=True`` also
            ``lower`` and ``upper`` (floats, or lists for ``average=None``);
            with ``calibration=True`` also ``calibration`` (a dict of floats:
            ``ece``, ``ece_tempered``, ``mce``, ``brier``, ``nll``, ``temperature``).
        last_scores: the :class:`auroc_callbacks.AUROCScores` of the last
            epoch scored, validation or test (None before the first).
        last_interval: with ``ci=True``, the :class:`auroc_callbacks.AUROCInterval`
            of the last epoch scored (None otherwise).
        last_bound: with ``mode="histogram"``, the :class:`auroc_callbacks.histogram.AUROCBound`
            of the last epoch scored (None otherwise); the history then has ``bound``.
        last_calibration: with ``calibration=True``, the
            :class:`auroc_callbacks.CalibrationSummary` of the last epoch scored (None otherwise).
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
        task: Optional[str] = None,
        num_classes: Optional[int] = None,
        average: Optional[str] = "macro",
        multi_class: str = "ovr",
        activation: Optional[str] = "auto",
        max_fpr: Optional[float] = None,
        ignore_index: Optional[int] = None,
        name: str = "val_auroc",
        per_class: bool = False,
        class_names: Optional[Sequence[str]] = None,
        preds_key: Union[str, Sequence[str]] = ("logits", "preds"),
        target_key: str = "target",
        output_transform: Optional[OutputTransform] = None,
        test: bool = False,
        test_name: str = "test_auroc",
        log_curve: bool = False,
        prog_bar: bool = False,
        ci: bool = False,
        ci_level: float = 0.95,
        buffer_device: Union[str, torch.device, None] = None,
        mode: str = "exact",
        histogram_dtype: Optional[torch.dtype] = None,
        calibration: bool = False,
        calibration_bins: int = 15,
        calibration_strategy: str = "uniform",
    ):
        super().__init__()
        self.accumulator = AUROCAccumulator(
            task=task, num_classes=num_classes, average=average, multi_class=multi_class,
            activation=activation, max_fpr=max_fpr, ignore_index=ignore_index,
            buffer_device=buffer_device, sync_dist=True, nan_strategy="warn", ci=ci, ci_level=ci_level,
            mode=mode, histogram_dtype=histogram_dtype,
        )
        _callback.check_callback_options(calibration, calibration_bins, calibration_strategy, mode, task=task,
                                             activation=activation)
        _check_str("name", name)
        _check_str("test_name", test_name)
        _check_str("target_key", target_key)
        if isinstance(preds_key, str):
            preds_key = (preds_key,)
        elif not isinstance(preds_key, Sequence) or not preds_key or not all(isinstance(k, str) for k in preds_key):
            raise TypeError(f"`preds_key` must be a str or a non-empty sequence of str; got {preds_key!r}")
        if class_names is not None:
            if isinstance(class_names, str) or not isinstance(class_names, Sequence):
                raise TypeError(f"`class_names` must be a sequence of str or None; got {class_names!r}")
            class_names = [str(c) for c in class_names]
            one_logit_binary = num_classes == 1 and len(class_names) == 2  # (negative, positive)
            if num_classes is not None and len(class_names) != num_classes and not one_logit_binary:
                raise ValueError(
                    f"`class_names` must have `num_classes` = {num_classes} names; got {len(class_names)}"
                )
        if output_transform is not None and not callable(output_transform):
            raise TypeError(f"`output_transform` must be callable or None; got {type(output_transform).__name__}")
        for arg, val in (("per_class", per_class), ("test", test), ("log_curve", log_curve), ("prog_bar", prog_bar)):
            if not isinstance(val, bool):
                raise TypeError(f"`{arg}` must be a bool; got {type(val).__name__} {val!r}")
        self.name = name
        self.per_class = per_class
        self.class_names = class_names
        self.preds_key = tuple(preds_key)
        self.target_key = target_key
        self.output_transform = output_transform
        self.test = test
        self.test_name = test_name
        self.log_curve = log_curve
        self.prog_bar = prog_bar
        self.calibration = calibration
        self.calibration_bins, self.calibration_strategy = calibration_bins, calibration_strategy
        self.history: List[Dict[str, Any]] = []
        self.last_scores: Optional[AUROCScores] = None
        self.last_interval: Optional[AUROCInterval] = None
        self.last_bound: Optional[AUROCBound] = None
        self.last_calibration: Optional[CalibrationSummary] = None
        self._rows: Dict[int, int] = {}  # rows this rank scored per dataloader_idx, this epoch
        self._kept: Dict[int, int] = {}  # of which accumulated (DDP: the sampler's padding dropped batch by batch)
        self._padding: Dict[int, Optional[Tuple[int, int, int]]] = {}  # DDP: see _real_rows_of_batch
        self._warned: set = set()

    # ------------------------------------------------------------------ Lightning hooks

    @property
    def state_key(self) -> str:
        return self._generate_state_key(name=self.name)

    def setup(self, trainer, pl_module, stage: str) -> None:
        if (self.log_curve or self.calibration) and self._tensorboard_loggers(trainer):
            what = "log_curve=True" if self.log_curve else "calibration=True"  # both draw figures
            _optional.require_matplotlib(f"AUROCCallback({what}) with a TensorBoardLogger")  # fail now, not later
        if trainer.world_size > 1:
            # The value is global already (every rank gathers every rank's samples), so it is logged with
            # sync_dist=False; Lightning's generic advice to sync epoch-level values does not apply to it.
            keys = "|".join(re.escape(k) for k in (self.name, self.test_name))
            key = rf"(?:{keys})(?:_lo|_hi|_bound)?(?:/[^']*)?"  # the value, interval ends, bound, per-class keys
            if self.calibration:  # computed by every rank from the gathered epoch: global too
                calibration_keys = [f"{_callback.callback_prefix(k)}{n}" for k in (self.name, self.test_name)
                                    for n in _callback.CALLBACK_COLUMNS]
                key = rf"(?:{key}|{'|'.join(re.escape(k) for k in calibration_keys)})"
            advice = rf"It is recommended to use `self\.log\('{key}', \.\.\., sync_dist=True\)`"
            warnings.filterwarnings("ignore", message=advice)

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._start()

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._update(trainer, outputs, batch, batch_idx, dataloader_idx, "validation_step")

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        scores = self._end(trainer, pl_module, self.name, trainer.val_dataloaders, "limit_val_batches")
        if scores is not None:
            record = self._record(trainer, scores)
            if self.accumulator.ci:
                record.update(lower=self.last_interval.lower.tolist(), upper=self.last_interval.upper.tolist())
            if self.last_bound is not None:
                record.update(bound=self.last_bound.bound.tolist())
            if self.last_calibration is not None:
                record.update(calibration=_callback.callback_record(self.last_calibration))
            self.history.append(record)

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
        self._rows = {}
        self._kept = {}
        self._padding = {}

    def _update(self, trainer, outputs, batch, batch_idx: int, dataloader_idx: int, step_name: str) -> None:
        preds, target = self._extract(outputs, batch, step_name)  # also during the sanity check: fail early
        if trainer.sanity_checking:
            return
        rows = preds.shape[0]
        kept = rows
        if _distributed(trainer):  # drop the sampler's padding as it arrives, from every dataloader (a view: no sync)
            kept = self._real_rows_of_batch(trainer, step_name, batch_idx, dataloader_idx, rows)
            if kept < rows:
                preds, target = preds[:kept], target[:kept]
        self.accumulator.update(preds, target)
        self._rows[dataloader_idx] = self._rows.get(dataloader_idx, 0) + rows
        self._kept[dataloader_idx] = self._kept.get(dataloader_idx, 0) + kept

    def _end(self, trainer, pl_module, name: str, dataloaders, limit_name: str) -> Optional[AUROCScores]:
        histogram = self.accumulator.mode == "histogram"
        if _distributed(trainer):
            self._check_padding(dataloaders, limit_name)
        bound = interval = None
        try:  # a collective under DDP: every rank calls it, and every rank raises EmptyEpochError together
            if histogram:  # counts summed over ranks
                bound = self.last_bound = self.accumulator.compute_bound()
                scores = bound.scores()
            elif self.accumulator.ci:  # one ranking gives the value and its interval
                interval = self.last_interval = self.accumulator.compute_interval()
                scores = interval.scores()
            else:
                scores = self.accumulator.compute_scores()
        except EmptyEpochError:
            where = " on any rank" if _distributed(trainer) else ""
            self._warn_once("empty", f"AUROCCallback: no samples were scored this epoch{where}; `{name}` is not logged")
            return None
        self.last_scores = scores
        if scores.value.ndim == 0:
            pl_module.log(name, scores.value, prog_bar=self.prog_bar, sync_dist=False)
            if interval is not None:
                pl_module.log(f"{name}_lo", interval.lower, prog_bar=False, sync_dist=False)
                pl_module.log(f"{name}_hi", interval.upper, prog_bar=False, sync_dist=False)
            if bound is not None:
                pl_module.log(f"{name}_bound", bound.bound, prog_bar=False, sync_dist=False)
        if (self.per_class or self.accumulator.options.average is None) and scores.per_class.shape[0] > 1:
            for cls, v in zip(self._names(scores), scores.per_class):
                pl_module.log(f"{name}/{tag_name(cls)}", v, prog_bar=False, sync_dist=False)
        if self.log_curve and trainer.is_global_zero:
            self._log_figure(trainer, name, scores)
        if self.calibration:
            self._log_calibration(trainer, pl_module, name, scores)
        return scores

    def _log_calibration(self, trainer, pl_module, name: str, scores: AUROCScores) -> None:
        """The calibration numbers of the epoch the AUROC was computed from (gathered and cached: no collective)."""
        summary = self.last_calibration = _callback.callback_summary(
            self.accumulator, n_bins=self.calibration_bins, strategy=self.calibration_strategy,
            auroc_undefined=bool(torch.isnan(scores.per_class).all()),
        )
        prefix = _callback.callback_prefix(name)
        for key in _callback.CALLBACK_COLUMNS:
            pl_module.log(f"{prefix}{key}", getattr(summary, key), prog_bar=False, sync_dist=False)
        if trainer.is_global_zero:
            for logger in self._tensorboard_loggers(trainer):  # the scalars went through pl_module.log
                log_calibration(logger.experiment, summary, step=trainer.global_step,
                                             tag=f"{prefix}calibration", scalars=False)

    def _record(self, trainer, scores: AUROCScores) -> Dict[str, Any]:
        names = self._names(scores)
        return {
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            "value": scores.value.tolist(),
            "per_class": dict(zip(names, scores.per_class.tolist())),
            "support": dict(zip(names, scores.support.tolist())),
            "num_samples": int(scores.num_samples),
        }

    def _names(self, scores: AUROCScores) -> List[str]:
        """One name per entry of ``scores.per_class`` (binary: one, the positive class)."""
        n = scores.per_class.shape[0]
        names = self.class_names
        if names is None:
            return ["1"] if n == 1 else [str(i) for i in range(n)]
        if n == 1 and len(names) == 2:
            return names[1:]
        if len(names) != n:
            raise ValueError(f"`class_names` must have one name per class: the model scores {n}; got {len(names)}")
        return list(names)

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

    # ------------------------------------------------------------------ DDP: exact, not approximately right

    def _check_padding(self, dataloaders, limit_name: str) -> None:
        """At the epoch's end: warn about the sampler padding that could not be dropped batch by batch.

        torch's ``DistributedSampler`` (``drop_last=False``, shuffled or not) pads its index list at the end
        to ``num_samples * num_replicas`` and gives rank ``r`` positions ``r, r + W, r + 2W, ...``; positions
        ``>= len(dataset)`` are padding, so rank ``r`` holds ``len(range(r, len(dataset), W))`` real samples,
        first, then its padding. :meth:`_real_rows_of_batch` drops it as batches arrive, from every
        dataloader, in both modes. What is left (another sampler, a rank that did not see its whole shard,
        batches that are not one row per sample) is warned about once.
        """
        loaders = _flatten(dataloaders)
        for idx, rows in sorted(self._rows.items()):
            real = self._real_rows(loaders[idx] if idx < len(loaders) else None, rows, limit_name)  # warns
            kept = self._kept[idx]
            if kept > real:
                self._warn_once(
                    f"padding{idx}", f"AUROCCallback: cannot drop the {kept - real} duplicate sample(s)"
                    f" DistributedSampler padded dataloader {idx} with on this rank (its batches could not be placed"
                    " in the shard): the epoch AUROC counts them",
                )
            elif kept < real:  # batch_idx did not follow the shard (a resumed or hand-driven loop): said, not hidden
                self._warn_once(
                    f"dropped{idx}", f"AUROCCallback: {real - kept} sample(s) of dataloader {idx} on this rank were"
                    " taken for DistributedSampler padding (its batches' `batch_idx` did not follow the shard): the"
                    " epoch AUROC leaves them out",
                )

    def _real_rows_of_batch(self, trainer, step_name: str, batch_idx: int, dataloader_idx: int, rows: int) -> int:
        """Under DDP: how many of this batch's ``rows`` are real samples, not sampler padding.

        The batch holds sampler positions ``batch_idx * batch_size`` onwards; this
        rank's real samples are its first ``len(range(rank, len(dataset), W))``
        positions (see :meth:`_check_padding`). Anything else (another
        sampler, several rows per sample) keeps every row; :meth:`_check_padding`
        warns at the epoch's end.
        """
        if dataloader_idx not in self._padding:
            loaders = _flatten(trainer.val_dataloaders if step_name == "validation_step" else trainer.test_dataloaders)
            loader = loaders[dataloader_idx] if dataloader_idx < len(loaders) else None
            self._padding[dataloader_idx] = _padded_layout(loader)
        layout = self._padding[dataloader_idx]
        if layout is None:
            return rows
        real, batch_size, num_samples = layout
        start = batch_idx * batch_size
        if rows != min(batch_size, num_samples - start):  # not one row per sample: the padding is unknown
            return rows
        return max(0, min(rows, real - start))

    def _real_rows(self, loader, rows: int, limit_name: str) -> int:
        """How many of the ``rows`` this rank scored from ``loader`` are real samples (not sampler padding)."""
        sampler = _sampler(loader)
        if isinstance(sampler, (SequentialSampler, RandomSampler)):
            return rows  # this rank iterates its own dataset: no padding
        if not _known_padding(sampler):
            self._warn_once(
                "sampler", f"AUROCCallback: cannot tell which samples {type(sampler).__name__} dealt to this rank;"
                " if it pads ranks with duplicates (as DistributedSampler does) the epoch AUROC counts them. Use"
                " the Trainer's default sampler (`use_distributed_sampler=True`) for an exact value",
            )
            return rows
        size, rank, world = len(sampler.dataset), sampler.rank, sampler.num_replicas
        if sampler.drop_last:
            real = sampler.num_samples
            if size % world:
                self._warn_once(
                    "drop_last", f"AUROCCallback: DistributedSampler(drop_last=True) leaves {size - real * world} of"
                    f" {size} samples out: the epoch AUROC is over the other {real * world}",
                )
        else:
            real = len(range(rank, size, world))
        if rows > sampler.num_samples:
            self._warn_once(
                "rows", f"AUROCCallback: this rank scored {rows} rows from {sampler.num_samples} samples (several"
                " rows per sample?), so the DistributedSampler padding cannot be told apart: the epoch AUROC may"
                " count a duplicate sample",
            )
            return rows
        if rows < sampler.num_samples:
            self._warn_once(
                "partial", f"AUROCCallback: rank {rank} scored {rows} of the {sampler.num_samples} samples of its"
                f" shard (`{limit_name}`?): the epoch AUROC is exact over the samples scored, not over the whole set",
            )
        return min(rows, real)

    # ------------------------------------------------------------------ TensorBoard figure

    @staticmethod
    def _tensorboard_loggers(trainer) -> list:
        import importlib

        classes = tuple(importlib.import_module(p).TensorBoardLogger for p in _TB_LOGGER_PATHS)
        return [lg for lg in trainer.loggers if isinstance(lg, classes)]

    def _log_figure(self, trainer, name: str, scores: AUROCScores) -> None:
        loggers = self._tensorboard_loggers(trainer)
        if not loggers or bool(torch.isnan(scores.value).any()):
            return  # NaN scores (a diverged model): the core warned, there is no curve to draw
        from .tensorboard import log_auroc

        for logger in loggers:  # the scalars went through pl_module.log; figure and PR curves from the cache
            log_auroc(logger.experiment, self.accumulator, step=trainer.global_step, tag=name,
                      class_names=self.class_names, scores=scores, scalars=False,
                      bound=self.last_bound if self.accumulator.mode == "histogram" else None)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=3)

    def __repr__(self) -> str:
        return f"AUROCCallback(name={self.name!r}, accumulator={self.accumulator!r})"


# ----------------------------------------------------------------------------- helpers


def _check_str(arg: str, value) -> None:
    if not isinstance(value, str):
        raise TypeError(f"`{arg}` must be a str; got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"`{arg}` must be a non-empty str; got {value!r}")


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


def _sampler(loader):
    """The loader's sampler, or its batch sampler when that is not torch's plain ``BatchSampler``."""
    if not isinstance(loader, DataLoader):
        return None
    batch_sampler = loader.batch_sampler
    if batch_sampler is not None and type(batch_sampler) is not BatchSampler:
        return batch_sampler
    return loader.sampler


def _known_padding(sampler) -> bool:
    """A DistributedSampler whose ``__iter__`` pads at the end and deals round-robin, as torch's does."""
    return isinstance(sampler, DistributedSampler) and (
        getattr(type(sampler).__iter__, "__module__", None) in _KNOWN_SAMPLER_MODULES)


def _padded_layout(loader) -> Optional[Tuple[int, int, int]]:
    """``(real samples of this rank, batch size, samples of this rank)`` for a padded DistributedSampler, else None."""
    sampler = _sampler(loader)
    if not _known_padding(sampler) or sampler.drop_last or type(loader.batch_sampler) is not BatchSampler:
        return None
    real = len(range(sampler.rank, len(sampler.dataset), sampler.num_replicas))
    return real, loader.batch_sampler.batch_size, sampler.num_samples


def _flatten(dataloaders) -> list:
    if dataloaders is None:
        return []
    if isinstance(dataloaders, Mapping):
        return [d for v in dataloaders.values() for d in _flatten(v)]
    if isinstance(dataloaders, (list, tuple)):
        return [d for v in dataloaders for d in _flatten(v)]
    return [dataloaders]
