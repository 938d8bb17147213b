"""Exact epoch AUROC for the Hugging Face ``Trainer``: a ``compute_metrics`` object and a ``TrainerCallback``::

    from auroc_callbacks.transformers import AUROCCallback, AUROCMetric

    metric = AUROCMetric(per_class=True)
    args = TrainingArguments(..., batch_eval_metrics=True, metric_for_best_model="auroc", load_best_model_at_end=True)
    trainer = Trainer(model, args, compute_metrics=metric, callbacks=[AUROCCallback(metric)])

:class:`AUROCMetric` follows the Trainer's ``compute_metrics`` contract in
both of its modes. With ``batch_eval_metrics=True`` the Trainer calls it once
per batch, ``metric(eval_pred, compute_result=is_last_batch)``: each batch
goes into an :class:`auroc_callbacks.AUROCAccumulator` on the batch's device
(no host sync), and the last call returns the epoch's values and resets the
metric, so the next evaluation starts empty; the Trainer itself then keeps no
logits. Without it (the default) the Trainer calls it once with the whole
epoch, as numpy arrays. What is computed and how it is keyed comes from the
shared epoch result (``auroc_callbacks._callback``), as in every other integration.

Under DDP the Trainer hands every rank the batch already gathered by
``accelerator.gather_for_metrics``, which drops the samples the sampler
repeated to even the shards; so the accumulator never gathers again
(``sync_dist=False``) and every rank returns the same value.

:class:`AUROCCallback` logs what the returned dict cannot carry: the ROC
figure (PR curves, reliability diagram) and, unless the metric returns them
already, the per-class values, to TensorBoard, W&B and MLflow when they are
in ``args.report_to``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from transformers import TrainerCallback
from transformers.integrations.integration_utils import rewrite_logs

from . import _callback, _optional
from ._checks import UndefinedAUROCWarning, check_params
from .distributed import EmptyEpochError
from .tensorboard import tag_name

__all__ = ["AUROCCallback", "AUROCMetric", "compute_metrics"]

#: set by the adapter: the Trainer gathers every batch (gather_for_metrics), and a NaN must not end a training run
_FIXED = {"sync_dist": False, "nan_strategy": "warn"}
_RULES = {"logits_index": [int], "sep": [str], "log_dir": [None, str, os.PathLike]}


class AUROCMetric:
    """``compute_metrics`` for the ``Trainer``: ``{"auroc": ...}``, exact over the whole evaluation set.

    Every option of :class:`auroc_callbacks.AUROCAccumulator` passes through
    (``task``, ``num_classes``, ``average``, ``multi_class``, ``activation``,
    ``max_fpr``, ``ci``, ``ci_level``, ``mode``, ``histogram_dtype``,
    ``buffer_device``...); ``ignore_index`` defaults to ``-100``, the label the
    Trainer and its collators pad with. ``mode="histogram"`` keeps fixed-size
    counts instead of every score: memory that does not grow with the evaluation set.

    Args:
        name: the key of the value (the Trainer logs ``eval_{name}``; ``metric_for_best_model=name`` works).
        per_class: also one value per class, under ``{name}/{class}``.
        class_names: names for those keys (default ``"0"``...).
        calibration: ``True`` or ``{"n_bins": ..., "strategy": ...}``: ``ece``, ``ece_tempered``, ``brier`` too.
        average_precision: also the average precision, under ``ap`` (``{name}``'s prefix, as calibration's).
        logits_index: which entry of ``predictions`` holds the logits when the
            model returns several arrays (a tuple: hidden states, attentions...).
        sep: between a key and its class (``"_"`` for MLflow's file store,
            which cannot hold both ``eval_auroc`` and ``eval_auroc/cat``).

    ``eval_pred.predictions`` ``(N, C)`` (or ``(N,)``, ``(N, 2)`` binary) are
    scored against ``label_ids`` ``(N,)`` (``(N, C)`` multilabel); token-level
    ``(N, T, C)`` logits against ``(N, T)`` labels are flattened, so padded
    positions (``-100``) drop out. An epoch with one class gives NaN and an
    :class:`~auroc_callbacks.UndefinedAUROCWarning`, never an exception.

    Attributes:
        last: the :class:`~auroc_callbacks._callback.EpochResult` of the last evaluation, or None.
        accumulator: the :class:`~auroc_callbacks.AUROCAccumulator` being filled.

    Example:
        >>> import numpy as np
        >>> from transformers import EvalPrediction
        >>> metric = AUROCMetric()
        >>> logits = np.array([[0.0, -1.0], [0.0, 0.2], [0.0, 0.1], [0.0, 1.5]])
        >>> metric(EvalPrediction(predictions=logits, label_ids=np.array([0, 0, 1, 1])))
        {'auroc': 0.75}
    """

    def __init__(
        self,
        *,
        name: str = "auroc",
        per_class: bool = False,
        class_names: Optional[Sequence[str]] = None,
        calibration: Union[bool, Mapping] = False,
        average_precision: bool = False,
        logits_index: int = 0,
        sep: str = "/",
        **auroc_options,
    ):
        check_params(_RULES, logits_index=logits_index, sep=sep)
        self._auroc_options = {"ignore_index": -100, **auroc_options}
        self.accumulator = self._build()
        self.options = _callback.check_callback_options(
            self.accumulator,
            name=name,
            per_class=per_class,
            class_names=class_names,
            calibration=calibration,
            average_precision=average_precision,
        )
        _callback.check_distinct_keys(name, self.options.class_names, sep)  # else one class's value would be lost
        self.logits_index, self.sep = logits_index, sep
        self.keep_epoch = False  # an AUROCCallback draws the epoch: it is kept for it until drawn
        self.last: Optional[_callback.EpochResult] = None
        self.last_accumulator = None

    @property
    def name(self) -> str:
        return self.options.name

    def _build(self):
        own = _callback.own_options(AUROCMetric.__init__)
        return _callback.build_accumulator(self._auroc_options, who="AUROCMetric", own=own, **_FIXED)

    def __call__(self, eval_pred, compute_result: Optional[bool] = None) -> Dict[str, float]:
        """Add ``eval_pred``; with ``compute_result`` True (batched mode) or None (whole epoch), the epoch's values."""
        if compute_result is None:  # the default mode: one call is one whole epoch
            self.reset()
        try:
            self.accumulator.update(*self._tensors(eval_pred))
        except Exception:  # a batch that cannot be scored ends the epoch: the next evaluation starts empty
            self.reset()
            raise
        return {} if compute_result is False else self.compute()

    def _tensors(self, eval_pred):
        preds, target = eval_pred.predictions, eval_pred.label_ids
        if isinstance(preds, (tuple, list)):
            preds = preds[self.logits_index]
        if isinstance(target, (tuple, list)):  # several label_names: the first ones are scored
            target = target[0]
        preds, target = (
            torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x for x in (preds, target)
        )
        if preds.ndim > 2 and target.ndim == preds.ndim - 1:  # token-level: every position is a sample
            preds, target = preds.reshape(-1, preds.shape[-1]), target.reshape(-1)
        return preds, target

    def compute(self) -> Dict[str, float]:
        """The epoch's values, as plain floats under the shared keys; then the metric starts a new epoch."""
        acc, name = self.accumulator, self.name
        result: Optional[_callback.EpochResult] = None
        try:
            result = _callback.compute_epoch(acc, self.options)
        except EmptyEpochError:
            warnings.warn(
                f"AUROCMetric: no labelled sample this evaluation; `{name}` is NaN", UndefinedAUROCWarning, stacklevel=2
            )
            values = {name: float("nan")}
        else:
            numbers = result.values(
                name, per_class=self.options.per_class, sep=self.sep, class_keys=[tag_name(c) for c in result.names]
            )
            values = dict(zip(numbers, torch.stack(list(numbers.values())).tolist() if numbers else []))  # one sync
        self.last = result
        self.last_accumulator = acc if self.keep_epoch and result is not None else None
        self.accumulator = self._build() if self.last_accumulator is not None else acc
        self.reset()
        return values

    def reset(self) -> None:
        """Forget the batches so far (done after every result; call it after an evaluation that was interrupted)."""
        self.accumulator.reset()

    def __repr__(self) -> str:
        return f"AUROCMetric(name={self.name!r}, accumulator={self.accumulator!r})"


def compute_metrics(eval_pred) -> Dict[str, float]:
    """The default-mode ``compute_metrics`` with the default options: ``Trainer(compute_metrics=compute_metrics)``.

    Example:
        >>> import numpy as np
        >>> from transformers import EvalPrediction
        >>> scores, labels = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
        >>> compute_metrics(EvalPrediction(predictions=scores, label_ids=labels))
        {'auroc': 0.75}
    """
    return AUROCMetric()(eval_pred)


class AUROCCallback(TrainerCallback):
    """Log the ROC figure and the per-class values of an :class:`AUROCMetric` at each evaluation.

    On the main process, after each evaluation (and ``predict``, under ``test/``), to every integration of
    ``args.report_to`` that is installed and running:

    - ``"tensorboard"``: a ``SummaryWriter`` of its own at ``log_dir``
      (default: ``$TENSORBOARD_LOGGING_DIR``, else ``{output_dir}/runs/auroc``),
      or ``tb_writer`` when given (a ``SummaryWriter``, or the Trainer's
      ``TensorBoardCallback``, whose writer is then shared). Tags follow the
      Trainer's: ``eval/auroc/roc`` (figure), ``eval/auroc/{class}``, PR curves and
      the reliability diagram as :func:`auroc_callbacks.tensorboard.log_auroc` names them.
    - ``"wandb"``: ``wandb.run.log`` of the figure (``wandb.Image``) and the values.
    - ``"mlflow"``: ``mlflow.log_metrics`` of the values, ``mlflow.log_figure`` of the figure.

    Per-class values are logged here only when the metric does not return
    them (``per_class=False``); otherwise the Trainer logs them with the rest.

    Args:
        metric: the :class:`AUROCMetric` passed as ``compute_metrics``.
        log_curve: draw the ROC figure (``None``: when some integration takes it; ``False``: never).
        pr_curves: TensorBoard precision-recall curves (``mode="exact"``).
        tb_writer: the TensorBoard writer to use, whatever ``report_to`` says.
        log_dir: where the callback's own ``SummaryWriter`` writes.
    """

    def __init__(
        self,
        metric: AUROCMetric,
        *,
        log_curve: Optional[bool] = None,
        pr_curves: bool = False,
        tb_writer=None,
        log_dir: Union[str, os.PathLike, None] = None,
    ):
        if not isinstance(metric, AUROCMetric):
            raise TypeError(f"`metric` must be the AUROCMetric passed as compute_metrics; got {type(metric).__name__}")
        check_params(_RULES, log_dir=log_dir)
        o = metric.options
        self.options = _callback.check_callback_options(
            metric.accumulator,
            name=o.name,
            per_class=o.per_class,
            class_names=o.class_names,
            calibration=o.calibration or False,
            average_precision=o.average_precision,
            log_curve=log_curve,
            pr_curves=pr_curves,
        )
        self.metric, self.log_dir = metric, log_dir
        self._tb, self._own_writer = tb_writer, None
        metric.keep_epoch = log_curve is not False or pr_curves or not o.per_class

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        acc, result = self.metric.last_accumulator, self.metric.last
        self.metric.last_accumulator = None  # drawn once, then freed
        if acc is not None and state.is_world_process_zero:
            self._log(args, state, acc, result, metrics or {})

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        self.on_evaluate(args, state, control, metrics=metrics, **kwargs)  # under test/auroc

    def on_train_end(self, args, state, control, **kwargs):
        if self._own_writer is not None:
            self._own_writer.close()
            self._own_writer = None

    def _log(self, args, state, acc, result, metrics: dict) -> None:
        name, step = self.options.name, state.global_step
        prefix = next((k[: -len(name)] for k in metrics if k.endswith(f"_{name}")), "eval_")  # eval_, eval_{set}_
        values = result.values(
            name, per_class=True, sep=self.metric.sep, class_keys=[tag_name(c) for c in result.names]
        )
        extra = {prefix + k: float(v) for k, v in values.items() if prefix + k not in metrics}
        tag = next(iter(rewrite_logs({prefix + name: 0})))  # the Trainer's own tag: eval/auroc
        figure = self.options.log_curve is not False and not bool(torch.isnan(result.scores.value).any())
        writer = self._writer(args)
        if writer is not None:
            for key, value in rewrite_logs(extra).items():
                writer.add_scalar(key, value, global_step=step)
            _callback.log_figures(writer, acc, result, tag=tag, step=step, options=self.options, scalars=False)
            writer.flush()
        run, mlflow = _wandb_run(args), _mlflow(args)
        fig = _roc_figure(acc, result) if figure and (run is not None or mlflow is not None) else None
        if run is not None:
            import wandb

            images = {} if fig is None else {f"{tag}/roc": wandb.Image(_pixels(fig))}
            run.log({**rewrite_logs(extra), **images, "train/global_step": step})
        if mlflow is not None:
            mlflow.log_metrics(extra, step=step)
            if fig is not None:
                mlflow.log_figure(fig, f"{tag.replace('/', '_')}_roc_step_{step}.png")

    def _writer(self, args):
        if self._tb is not None:
            return getattr(self._tb, "tb_writer", self._tb)  # a TensorBoardCallback: its writer
        if "tensorboard" not in (args.report_to or []):
            return None
        if self._own_writer is None:
            log_dir = self.log_dir or os.environ.get("TENSORBOARD_LOGGING_DIR") or getattr(args, "logging_dir", None)
            writer_cls = _optional.require_tensorboard("AUROCCallback with report_to='tensorboard'")
            self._own_writer = writer_cls(log_dir=str(log_dir or os.path.join(args.output_dir, "runs", "auroc")))
        return self._own_writer


def _roc_figure(acc, result):
    from .plotting import roc_figure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)  # warned when the values were computed
        return roc_figure(acc, result.names, result.interval, scores=result.scores, bound=result.bound)


def _pixels(fig) -> np.ndarray:
    """The figure as an RGBA array, drawn without pyplot (W&B's own conversion needs it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def _wandb_run(args):
    if "wandb" not in (args.report_to or []) or not _optional.is_available("wandb"):
        return None
    import wandb

    return wandb.run


def _mlflow(args):
    if "mlflow" not in (args.report_to or []) or not _optional.is_available("mlflow"):
        return None
    import mlflow

    return mlflow if mlflow.active_run() is not None else None
