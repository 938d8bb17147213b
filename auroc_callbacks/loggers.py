"""Figures to any Lightning logger: writers that take what :func:`~auroc_callbacks.tensorboard.log_auroc` and
:func:`~auroc_callbacks.tensorboard.log_calibration` draw, whichever logger receives them.

The drawing code writes to a TensorBoard ``SummaryWriter`` (``add_figure``,
``add_pr_curve``, ``add_scalar``). :func:`figure_writers` gives one object
with those methods per logger that can store an image: the
``TensorBoardLogger``'s own ``SummaryWriter``, and a small adapter for
``WandbLogger``, ``MLFlowLogger`` and ``CSVLogger`` (of ``lightning.pytorch``
or the standalone ``pytorch_lightning``). Other loggers are skipped. The
callbacks call :func:`log_epoch_figures` with them once per epoch, on one rank.

What each logger receives, for ``name="val_auroc"`` (keys: ``val_auroc/roc``, the ROC figure;
``val_calibration/reliability``, the reliability diagram, with ``calibration``; ``val_auroc/pr/{class}``
or ``val_auroc/pr`` (binary), the PR curves, with ``pr_curves``; ``val_auroc/roc_points``, the ROC table):

=====================  ===============================================  =====================  =================
logger                 ROC figure, reliability diagram                  PR curves              ROC points
=====================  ===============================================  =====================  =================
``TensorBoardLogger``  images under their keys                          TensorBoard PR curves  --
``WandbLogger``        ``wandb.Image`` under their keys                 a PR figure per class  a ``wandb.Table``
``MLFlowLogger``       artifacts ``{key}/step_{step:06d}.png``          a PR figure per class  --
``CSVLogger``          ``{log_dir}/figures/{key}/step_{step:06d}.png``  a PR figure per class  --
=====================  ===============================================  =====================  =================

Any other figure the drawing code adds (``val_auroc/pr_figure``, the precision-recall figure of
``average_precision=True``) reaches each logger as the ROC figure does.

The numbers (``val_auroc``, ``val_auroc/{class}``, ``val_ece``...) are not
written here: the Lightning callback logs them with ``self.log``, which
reaches every logger (``metrics.csv``, W&B's history, MLflow's metrics,
TensorBoard's scalars). ``add_scalar`` on an adapter goes to the logger's
``log_metrics``, for a direct ``log_auroc(writer, ..., scalars=True)``.

A PR figure is drawn from :func:`auroc_callbacks.precision_recall_curve` and
:func:`auroc_callbacks.average_precision` of the probabilities TensorBoard's
PR curve would get. The W&B table holds each class's ROC curve
(:meth:`~auroc_callbacks.AUROCAccumulator.compute_curves`, sklearn's
contract: the first threshold is ``inf``) with columns ``class``, ``fpr``,
``tpr``, ``threshold``; a class of more than :data:`MAX_TABLE_POINTS`
points is thinned evenly to that many, its first and last point kept.

Every figure is closed once stored. wandb is imported only inside :class:`WandbWriter`'s methods (mlflow
never: the ``MLFlowLogger``'s client stores the files), and this module imports no framework: a logger
class is looked up in ``sys.modules`` (a logger of a package never imported cannot exist).

Example:
    >>> import tempfile, torch, auroc_callbacks as ac
    >>> from lightning.pytorch.loggers import CSVLogger
    >>> from auroc_callbacks.loggers import figure_writers
    >>> from auroc_callbacks.tensorboard import log_auroc
    >>> acc = ac.AUROCAccumulator()
    >>> acc.update(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
    >>> with tempfile.TemporaryDirectory() as root:
    ...     (writer,) = figure_writers([CSVLogger(root)])
    ...     _ = log_auroc(writer, acc, step=7, tag="val_auroc", scalars=False)
    ...     sorted(p.relative_to(writer.folder).as_posix() for p in writer.folder.rglob("*.png"))
    ['val_auroc/pr/step_000007.png', 'val_auroc/roc/step_000007.png']
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, cast

import torch

from . import _callback, _optional
from .tensorboard import tag_name

__all__ = [
    "MAX_TABLE_POINTS",
    "CSVWriter",
    "MLflowWriter",
    "WandbWriter",
    "fastai_wandb_writers",
    "figure_writers",
    "log_epoch_figures",
    "pr_curve_figure",
]

#: the most ROC points per class in the W&B table
MAX_TABLE_POINTS = 1000

_PACKAGES = ("lightning.pytorch.loggers", "pytorch_lightning.loggers")


def figure_writers(loggers: Sequence) -> list:
    """One writer per logger that takes figures, in the loggers' order; the others are skipped.

    ``TensorBoardLogger``: its ``experiment`` (the ``SummaryWriter``);
    ``WandbLogger``: a :class:`WandbWriter`; ``MLFlowLogger``: an
    :class:`MLflowWriter`; ``CSVLogger``: a :class:`CSVWriter`. Call it on
    global rank 0 only (the loggers' experiments exist there).

    Args:
        loggers: ``trainer.loggers``, a list of Lightning loggers.

    Raises:
        TypeError: ``loggers`` is not a list or tuple.
    """
    if not isinstance(loggers, (list, tuple)):
        raise TypeError(f"`loggers` must be a list of loggers (trainer.loggers); got {type(loggers).__name__}")
    writers = []
    for logger in loggers:
        kind = _kind(logger)
        if kind == "TensorBoardLogger":
            writers.append(logger.experiment)
        elif kind is not None:
            writers.append(_ADAPTERS[kind](logger))
    return writers


def fastai_wandb_writers(callbacks: Sequence) -> list:
    """``[WandbWriter()]`` (the current ``wandb.run``) when ``callbacks`` hold fastai's ``WandbCallback``, else ``[]``.

    fastai's ``WandbCallback`` logs the Recorder columns (the numbers) itself;
    this writer adds the figures to the step it logs them at.
    """
    return [WandbWriter()] if fastai_callback(callbacks, "wandb", "WandbCallback") is not None else []


def fastai_callback(callbacks: Sequence, module: str, name: str):
    """The first of ``callbacks`` that is a ``fastai.callback.{module}.{name}``, else None.

    The module is not imported: when it is not, no such callback can exist.
    """
    cls = getattr(sys.modules.get(f"fastai.callback.{module}"), name, None)
    return next((cb for cb in callbacks if isinstance(cb, cls)), None) if isinstance(cls, type) else None


def log_epoch_figures(
    writers: Sequence, accumulator, result, *, tag: str, step: int, options, suffix: str = ""
) -> None:
    """Draw the epoch's figures into each writer (:func:`auroc_callbacks._callback.log_figures`), and W&B's ROC table.

    The numbers are not written (``scalars=False``): the callbacks log them
    another way. ``suffix`` ends every key (one dataloader's figures,
    ``"/dataloader_idx_1"``). On one rank, after ``compute_epoch`` (the
    gathered epoch is reused: nothing is gathered again).
    """
    for writer in writers:
        _callback.log_figures(
            _callback.SuffixedWriter(writer, suffix) if suffix else writer,
            accumulator,
            result,
            tag=tag,
            step=step,
            options=options,
            scalars=False,
        )
        table = getattr(writer, "add_roc_table", None)
        if table is not None and options.log_curve is not False and not bool(torch.isnan(result.scores.value).any()):
            table(f"{tag}/roc_points{suffix}", accumulator, result.names, global_step=step)


def _kind(logger) -> Optional[str]:
    for path in _PACKAGES:
        module = sys.modules.get(path)
        for name in ("TensorBoardLogger", *_ADAPTERS):
            cls = getattr(module, name, None)
            if isinstance(cls, type) and isinstance(logger, cls):
                return name
    return None


def _key_path(tag: str) -> str:
    """A tag as a relative file path: each ``/`` part made safe (:func:`tag_name`), no empty, ``.`` or ``..`` part."""
    return "/".join(tag_name(p) for p in tag.split("/") if p not in ("", ".", "..")) or "_"


# ----------------------------------------------------------------------------- the adapters


class _ImageWriter:
    """What ``log_auroc`` and ``log_calibration`` call on a ``SummaryWriter``, over a logger that stores images.

    A subclass stores the figures (``_store``); figures are closed after, as
    ``SummaryWriter.add_figure(close=True)`` does.
    """

    def __init__(self, logger):
        self.logger = logger

    def add_figure(
        self, tag: str, figure, global_step: Optional[int] = None, close: bool = True, walltime=None
    ) -> None:
        """Store ``figure`` (a matplotlib figure, or a list of them) under ``tag`` at ``global_step`` (default 0)."""
        figures = list(figure) if isinstance(figure, (list, tuple)) else [figure]
        try:
            self._store(tag.strip("/"), figures, 0 if global_step is None else int(global_step))
        finally:
            if close:
                from matplotlib import pyplot as plt

                for fig in figures:
                    plt.close(fig)

    def add_pr_curve(self, tag: str, labels, predictions, global_step: Optional[int] = None, **_) -> None:
        """Store a precision-recall figure (:func:`pr_curve_figure`) of one class's 0/1 ``labels`` and probabilities."""
        self.add_figure(tag, pr_curve_figure(labels, predictions, title=tag), global_step)

    def add_scalar(self, tag: str, scalar_value, global_step: Optional[int] = None, walltime=None, **_) -> None:
        """Log one number with the logger's ``log_metrics`` (the callbacks write none here: ``scalars=False``)."""
        self.logger.log_metrics({tag: float(scalar_value)}, step=global_step)

    def flush(self) -> None:
        """Nothing to flush: each figure is stored when added."""

    def _store(self, tag: str, figures: list, step: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.logger).__name__})"


class CSVWriter(_ImageWriter):
    """PNG files for a ``CSVLogger``: ``{logger.log_dir}/figures/{tag}/step_{step:06d}.png`` (``_0``... for a list)."""

    @property
    def folder(self) -> Path:
        """Where the figures go: ``figures/`` in the logger's version folder, beside ``metrics.csv``."""
        return Path(self.logger.log_dir) / "figures"

    def _store(self, tag: str, figures: list, step: int) -> None:
        for path, fig in zip(_file_names(tag, step, len(figures)), figures):
            file = self.folder / path
            file.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(file, format="png")


class MLflowWriter(_ImageWriter):
    """Artifacts of an ``MLFlowLogger``'s run: ``{tag}/step_{step:06d}.png``, through ``MlflowClient.log_figure``."""

    def _store(self, tag: str, figures: list, step: int) -> None:
        for path, fig in zip(_file_names(tag, step, len(figures)), figures):
            self.logger.experiment.log_figure(self.logger.run_id, fig, path)


class WandbWriter(_ImageWriter):
    """``wandb.Image`` entries under the tag, and a ``wandb.Table`` of ROC points.

    With a ``WandbLogger``: through its ``log_image`` / ``log_metrics``
    (W&B's ``trainer/global_step`` is the step). With ``logger=None``: into
    the current ``wandb.run`` with ``commit=False``, so the entries join the
    step that fastai's ``WandbCallback`` logs its epoch in.
    """

    def __init__(self, logger=None):
        super().__init__(logger)

    def add_scalar(self, tag: str, scalar_value, global_step: Optional[int] = None, walltime=None, **_) -> None:
        self._log({tag: float(scalar_value)}, global_step)

    def add_roc_table(self, tag: str, accumulator, names: Sequence[str], global_step: Optional[int] = None) -> None:
        """Log the epoch's ROC curves as one table: ``class``, ``fpr``, ``tpr``, ``threshold`` (a row per point).

        ``names`` (one per curve) are the epoch result's; classes with an
        undefined curve (no positive or no negative) have no rows.
        """
        wandb = _optional.require("wandb", extra="wandb", caller="WandbWriter.add_roc_table")
        curves = accumulator.compute_curves()
        curves = [curves] if isinstance(curves, tuple) else curves
        rows = []
        for name, (fpr, tpr, threshold) in zip(names, curves):
            if bool(torch.isnan(fpr).any() | torch.isnan(tpr).any()):
                continue
            keep = _thin(fpr.shape[0], MAX_TABLE_POINTS)
            points = zip(fpr[keep].tolist(), tpr[keep].tolist(), threshold[keep].tolist())
            rows += [[str(name), f, t, h] for f, t, h in points]
        self._log({tag: wandb.Table(columns=["class", "fpr", "tpr", "threshold"], data=rows)}, global_step)

    def _store(self, tag: str, figures: list, step: int) -> None:
        wandb = _optional.require("wandb", extra="wandb", caller="WandbWriter")
        images = [wandb.Image(fig) for fig in figures]
        self._log({tag: images if len(images) > 1 else images[0]}, step)

    def _log(self, data: dict, step: Optional[int]) -> None:
        if self.logger is not None:
            self.logger.log_metrics(data, step=step)  # what WandbLogger.log_image and log_table do
            return
        wandb = _optional.require("wandb", extra="wandb", caller="WandbWriter")
        if wandb.run is None:
            raise RuntimeError(
                "WandbWriter(logger=None) logs into the current W&B run, but there is none: call wandb.init() first"
            )
        wandb.log(data, commit=False)


_ADAPTERS = {"WandbLogger": WandbWriter, "MLFlowLogger": MLflowWriter, "CSVLogger": CSVWriter}


def _file_names(tag: str, step: int, count: int) -> List[str]:
    base = f"{_key_path(tag)}/step_{step:06d}"
    return [f"{base}.png"] if count == 1 else [f"{base}_{i}.png" for i in range(count)]


def _thin(n: int, most: int) -> torch.Tensor:
    """At most ``most`` evenly spaced indices into ``n`` points, the first and the last kept."""
    if n <= most:
        return torch.arange(n)
    return torch.linspace(0, n - 1, most, dtype=torch.float64).round().long().unique()


# ----------------------------------------------------------------------------- the PR figure


def pr_curve_figure(labels, probabilities, *, title: Optional[str] = None):
    """A pyplot-free precision-recall figure of one binary problem: the PR curve of loggers other than TensorBoard.

    The curve is :func:`auroc_callbacks.precision_recall_curve` (drawn as
    scikit-learn's ``PrecisionRecallDisplay``, a step function), its area
    :func:`auroc_callbacks.average_precision`, and the chance level the positive rate.

    Args:
        labels: ``(N,)`` 0/1 labels (array or tensor).
        probabilities: ``(N,)`` probabilities of the positive class.
        title: the axes' title (the tag).

    Example:
        >>> import numpy as np
        >>> fig = pr_curve_figure(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]), title="auroc/pr")
        >>> fig.axes[0].get_legend().get_texts()[0].get_text()
        'AP = 0.833'
    """
    _optional.require_matplotlib("pr_curve_figure")
    from matplotlib.figure import Figure

    from .functional import average_precision, precision_recall_curve

    y = torch.as_tensor(labels).reshape(-1).to(torch.int64)
    p = torch.as_tensor(probabilities).reshape(-1)
    precision, recall, _ = cast(Tuple[torch.Tensor, ...], precision_recall_curve(p, y, task="binary", activation=None))
    ap = float(average_precision(p, y, task="binary", activation=None))
    fig = Figure(figsize=(5.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(recall.numpy(), precision.numpy(), drawstyle="steps-post", label=f"AP = {ap:.3f}")
    prevalence = float(y.double().mean())
    ax.axhline(prevalence, color="grey", linestyle=":", label=f"chance (positive rate {prevalence:.3f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0.0, 1.0), ylim=(0.0, 1.02), title=title)
    ax.legend(loc="lower left")
    return fig
