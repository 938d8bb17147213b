"""Exact epoch AUROC next to the minibatch mean, with fastai and Lightning, on sklearn's bundled digits.

The README's main job. ``auroc-callbacks demo`` (or ``python -m auroc_callbacks.demo``) trains the
same small MLP on ``sklearn.datasets.load_digits`` (10 classes, nothing
downloaded) with fastai and with PyTorch Lightning, whichever are installed
(a plain PyTorch loop when neither is), with their progress bars. Each epoch
it prints the exact validation AUROC (the library's callbacks) next to the
mean of per-batch AUROCs (what many training loops log) and scikit-learn's
value. Then it measures that gap across batch sizes and class balances,
prints the operating-points table of the last model (:func:`auroc_callbacks.report`),
and writes TensorBoard logs and the ROC figure under ``--out`` (``runs``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

import auroc_callbacks as ac

FRAMEWORKS = ("fastai", "lightning", "torch")
CLASS_NAMES = [str(d) for d in range(10)]
GAP_BATCH_SIZES = (8, 16, 32, 64, 128, 256)
LR = 0.05
_HIDDEN = 32


# ----------------------------------------------------------------------------- data and model


def load_digits_split(seed: int = 0):
    """``((x_train, y_train), (x_valid, y_valid))``: digits scaled to [0, 1], a random third held out."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - sklearn is a dev/demo dependency
        raise ModuleNotFoundError("the demo needs scikit-learn: pip install scikit-learn") from err
    x, y = load_digits(return_X_y=True)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    x = torch.tensor(x, dtype=torch.float32)[order] / 16.0
    y = torch.tensor(y)[order]
    n_val = len(y) // 3
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])


_load = load_digits_split  # the name earlier versions used


def make_model(seed: int = 0) -> torch.nn.Module:
    """The demo's MLP, 64 -> 32 -> 10, initialised from ``seed`` (the same start in every framework)."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, _HIDDEN), torch.nn.ReLU(), torch.nn.Linear(_HIDDEN, 10))


# ----------------------------------------------------------------------------- the minibatch mean


def minibatch_values(preds: torch.Tensor, target: torch.Tensor, batch_size: int, **options) -> List[float]:
    """The core's AUROC of each consecutive batch of ``batch_size`` samples; NaN for an undefined batch."""
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        for i in range(0, len(target), batch_size):
            values.append(ac.auroc(preds[i : i + batch_size], target[i : i + batch_size], **options).item())
    return values


def minibatch_mean(logits: torch.Tensor, target: torch.Tensor, batch_size: int, **options) -> float:
    """The common mistake: the mean of per-batch AUROCs (undefined batches skipped, as nanmean does).

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> scores, labels = torch.tensor([0.1, 0.4, 0.5, 0.8]), torch.tensor([0, 1, 0, 1])
        >>> minibatch_mean(scores, labels, batch_size=2), ac.auroc(scores, labels).item()
        (1.0, 0.75)
    """
    return _nanmean(minibatch_values(logits, target, batch_size, **options))


def _nanmean(values: Sequence[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else float("nan")


def _batch_auroc(preds: torch.Tensor, target: torch.Tensor) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        return ac.auroc(preds, target).item()


def gap_scenarios(
    logits: torch.Tensor, target: torch.Tensor, seed: int = 0
) -> List[Tuple[str, torch.Tensor, torch.Tensor]]:
    """Real predictions recast at several class balances: ``(description, preds, target)``.

    From one model's validation logits on the digits: the 10-class problem in
    the order of a random split and sorted by class (an unshuffled, one
    folder per class loader); and binary problems with 50%, 10% and 2%
    positives (even digits, the digit 8, the digit 8 with 4 of 5 of its
    samples dropped at random).
    """
    probs = torch.softmax(logits.float(), 1)
    order = torch.argsort(target, stable=True)
    even = probs[:, 0::2].sum(1)
    eight = target == 8
    g = torch.Generator().manual_seed(seed)
    keep = ~eight | (torch.rand(len(target), generator=g) < 0.2)
    return [
        ("10 classes, random order", logits, target),
        ("10 classes, sorted by class", logits[order], target[order]),
        ("binary, 50% positive (even digit)", even, (target % 2 == 0).long()),
        ("binary, 10% positive (digit 8)", probs[:, 8], eight.long()),
        ("binary, 2% positive (rare 8s)", probs[keep, 8], eight[keep].long()),
    ]


def measure_gap(
    logits: torch.Tensor, target: torch.Tensor, batch_sizes: Sequence[int] = GAP_BATCH_SIZES, seed: int = 0
) -> List[dict]:
    """Exact AUROC vs the mean of per-batch AUROCs, for every scenario of :func:`gap_scenarios` and batch size.

    Returns one dict per (scenario, batch size): ``scenario``, ``n``,
    ``positives`` (fraction, binary only), ``batch_size``, ``batches``,
    ``undefined`` (batches whose AUROC is undefined and skipped), ``exact``,
    ``mean`` and ``gap`` (``mean - exact``; NaN when no batch is defined).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> logits, target = torch.randn(200, 10, generator=g), torch.arange(200) % 10
        >>> rows = measure_gap(logits, target, batch_sizes=[8, 200])
        >>> [(r["batch_size"], r["undefined"], round(r["gap"], 4)) for r in rows[:2]]
        [(8, 0, -0.0038), (200, 0, 0.0)]
    """
    rows = []
    for name, preds, y in gap_scenarios(logits, target, seed):
        exact = ac.auroc(preds, y).item()
        positives = y.float().mean().item() if preds.ndim == 1 else None
        for bs in batch_sizes:
            values = minibatch_values(preds, y, bs)
            mean = _nanmean(values)
            undefined = sum(math.isnan(v) for v in values)
            rows.append(
                dict(
                    scenario=name,
                    n=len(y),
                    positives=positives,
                    batch_size=bs,
                    batches=len(values),
                    undefined=undefined,
                    exact=exact,
                    mean=mean,
                    gap=mean - exact,
                )
            )
    return rows


def format_gap_table(rows: List[dict], markdown: bool = False) -> str:
    """Scenarios down, batch sizes across; each cell ``mean - exact``, then ``[skipped/batches]`` if any."""
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    sizes = list(dict.fromkeys(r["batch_size"] for r in rows))
    cell = {(r["scenario"], r["batch_size"]): r for r in rows}

    def fmt(r):
        s = "undefined" if math.isnan(r["gap"]) else f"{r['gap']:+.4f}"
        return s + (f" [{r['undefined']}/{r['batches']}]" if r["undefined"] else "")

    header = ["scenario", "exact"] + [f"batch {bs}" for bs in sizes]
    body = [[s, f"{cell[(s, sizes[0])]['exact']:.4f}"] + [fmt(cell[(s, bs)]) for bs in sizes] for s in scenarios]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        return "\n".join(lines + ["| " + " | ".join(b) + " |" for b in body])
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in [header] + body
    )


# ----------------------------------------------------------------------------- one line per epoch


def _sklearn(logits: torch.Tensor, target: torch.Tensor) -> Optional[float]:
    try:
        from sklearn.metrics import roc_auc_score
    except ImportError:  # pragma: no cover
        return None
    return float(roc_auc_score(target.numpy(), torch.softmax(logits.float(), 1).numpy(), multi_class="ovr"))


def _epoch_record(epoch, loss, exact, logits, target, batch_size) -> dict:
    mean = minibatch_mean(logits, target, batch_size)
    return dict(epoch=epoch, loss=loss, exact=exact, minibatch_mean=mean, sklearn=_sklearn(logits, target))


def _print_history(history: List[dict], out) -> None:
    out(f"{'epoch':>5}  {'train loss':>10}  {'exact AUROC':>11}  {'minibatch mean':>14}  {'gap':>9}  {'sklearn':>9}")
    for h in history:
        ref = f"{h['sklearn']:9.6f}" if h["sklearn"] is not None else f"{'n/a':>9}"
        gap = h["minibatch_mean"] - h["exact"]
        out(
            f"{h['epoch']:>5}  {h['loss']:>10.4f}  {h['exact']:>11.6f}  {h['minibatch_mean']:>14.6f}"
            f"  {gap:>+9.6f}  {ref}"
        )


# ----------------------------------------------------------------------------- plain PyTorch


def train_torch(epochs: int = 5, batch_size: int = 32, seed: int = 0, data=None):
    """Train the demo MLP in a plain loop; return ``(model, history, (valid_logits, valid_target))``.

    Each epoch the validation batches go into an :class:`~auroc_callbacks.AUROCAccumulator`.
    """
    (x_tr, y_tr), (x_va, y_va) = data or load_digits_split(seed)
    model = make_model(seed)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    acc = ac.AUROCAccumulator(num_classes=10)
    g = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(y_tr), generator=g)
        total = 0.0
        for i in range(0, len(perm), batch_size):
            idx = perm[i : i + batch_size]
            loss = torch.nn.functional.cross_entropy(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        acc.reset()
        with torch.no_grad():
            batches = [
                (model(x_va[i : i + batch_size]), y_va[i : i + batch_size]) for i in range(0, len(y_va), batch_size)
            ]
        for logits, y in batches:
            acc.update(logits, y)
        logits = torch.cat([b[0] for b in batches])
        history.append(_epoch_record(epoch, total / len(y_tr), acc.compute().item(), logits, y_va, batch_size))
    return model, history, (logits, y_va), acc


def _run_torch(epochs, batch_size, seed, out_dir: Path, out, progress: bool) -> dict:
    _, history, (logits, target), acc = train_torch(epochs, batch_size, seed)
    _print_history(history, out)
    return dict(history=history, logits=logits, target=target, accumulator=acc, log_dir=None)


# ----------------------------------------------------------------------------- fastai


def _quiet(*args, **kwargs) -> None:
    pass


def _next_version(root: Path) -> Path:
    k = 0
    while (root / f"version_{k}").exists():
        k += 1
    return root / f"version_{k}"


def _run_fastai(epochs, batch_size, seed, out_dir: Path, out, progress: bool) -> dict:
    import fastai.callback.progress  # registers fastai's progress bar as a default callback
    from fastai.callback.core import Callback
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner, Metric
    from fastai.losses import CrossEntropyLossFlat
    from fastai.metrics import accuracy
    from fastai.optimizer import SGD
    from fastai.torch_core import set_seed

    from .fastai import AUROCCallback

    class MinibatchMean(Metric):
        """The mistake, as a fastai metric: the mean of per-batch AUROCs."""

        name = "minibatch_mean"

        def reset(self):
            self.preds, self.targets = [], []

        def accumulate(self, learn):
            self.preds.append(learn.pred.detach().as_subclass(torch.Tensor))
            self.targets.append(learn.yb[0].as_subclass(torch.Tensor))

        @property
        def value(self):
            return _nanmean([_batch_auroc(p, t) for p, t in zip(self.preds, self.targets)])

    class EpochTable(Callback):
        """Keeps each epoch's exact value, minibatch mean and scikit-learn's value for the summary."""

        order = AUROCCallback.order + 1

        def __init__(self):
            self.history = []

        def after_epoch(self):
            cb = self.learn.auroc
            row = dict(zip(self.learn.recorder.metric_names[1:], self.learn.recorder.values[-1]))
            logits, target = cb.accumulator.gather()
            self.history.append(
                dict(
                    epoch=self.epoch,
                    loss=row["train_loss"],
                    exact=cb.last.scores.value.item(),
                    minibatch_mean=row["minibatch_mean"],
                    sklearn=_sklearn(logits, target),
                )
            )

    (x_tr, y_tr), (x_va, y_va) = load_digits_split(seed)
    set_seed(seed)  # fastai's DataLoader shuffles with Python's `random`
    dls = DataLoaders.from_dsets(list(zip(x_tr, y_tr)), list(zip(x_va, y_va)), bs=batch_size, device="cpu")
    log_dir = _next_version(out_dir / "fastai")
    table = EpochTable()
    auroc_cb = AUROCCallback(class_names=CLASS_NAMES, log_dir=str(log_dir))
    learn = Learner(
        dls,
        make_model(seed),
        loss_func=CrossEntropyLossFlat(),
        opt_func=SGD,
        lr=LR,
        metrics=[accuracy, MinibatchMean()],
        cbs=[auroc_cb, table],
    )
    if not progress:
        learn.remove_cb(fastai.callback.progress.ProgressCallback)
        learn.logger = _quiet
    learn.fit(epochs)
    if progress:
        out("")
    _print_history(table.history, out)
    logits, target = auroc_cb.accumulator.gather()
    return dict(history=table.history, logits=logits, target=target, accumulator=auroc_cb.accumulator, log_dir=log_dir)


# ----------------------------------------------------------------------------- Lightning


def _lightning():
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ModuleNotFoundError("the Lightning demo needs lightning: pip install 'auroc-callbacks[lightning]'")


def _run_lightning(epochs, batch_size, seed, out_dir: Path, out, progress: bool) -> dict:
    pl = _lightning()
    from torch.utils.data import DataLoader, TensorDataset

    from .lightning import AUROCCallback

    class Digits(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = make_model(seed)
            self.history: List[dict] = []
            self._val: List[Tuple[torch.Tensor, torch.Tensor]] = []
            self._loss = self._count = 0.0

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.cross_entropy(self(x), y)
            self._loss += loss.item() * len(y)
            self._count += len(y)
            return loss

        def on_train_epoch_start(self):
            self._loss = self._count = 0.0

        def on_validation_epoch_start(self):
            self._val = []

        def validation_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            self._val.append((logits, y))
            return {"logits": logits, "target": y}

        def on_validation_epoch_end(self):
            if self.trainer.sanity_checking:
                return
            logits = torch.cat([b[0] for b in self._val])
            target = torch.cat([b[1] for b in self._val])
            mean = _nanmean([_batch_auroc(p, t) for p, t in self._val])
            self.log("val_minibatch_mean", mean, prog_bar=True)
            self.history.append(
                dict(
                    epoch=self.current_epoch,
                    loss=self._loss / max(self._count, 1),
                    minibatch_mean=mean,
                    sklearn=_sklearn(logits, target),
                )
            )

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=LR)

    (x_tr, y_tr), (x_va, y_va) = load_digits_split(seed)
    g = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(x_tr, y_tr), batch_size=batch_size, shuffle=True, generator=g)
    valid = DataLoader(TensorDataset(x_va, y_va), batch_size=batch_size)
    logger = pl.loggers.TensorBoardLogger(str(out_dir), name="lightning")
    cb = AUROCCallback(num_classes=10, class_names=CLASS_NAMES, log_curve=True, pr_curves=True, prog_bar=True)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=logger,
        callbacks=[cb],
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        log_every_n_steps=10,
        default_root_dir=str(out_dir),
    )
    model = Digits()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        trainer.fit(model, train, valid)
    history = [dict(h, exact=c["value"]) for h, c in zip(model.history, cb.history)]
    history = [{k: h[k] for k in ("epoch", "loss", "exact", "minibatch_mean", "sklearn")} for h in history]
    if progress:
        out("")
    _print_history(history, out)
    logits, target = cb.accumulator.gather()
    return dict(history=history, logits=logits, target=target, accumulator=cb.accumulator, log_dir=Path(logger.log_dir))


_RUNNERS: Dict[str, Callable] = {"fastai": _run_fastai, "lightning": _run_lightning, "torch": _run_torch}


def train_lightning_torchmetrics(epochs: int = 5, batch_size: int = 32, seed: int = 0) -> float:
    """The demo's digits model in Lightning, logging ``self.log("val_auroc", AUROC())``: the callback's number."""
    pl = _lightning()
    from torch.utils.data import DataLoader, TensorDataset

    from .torchmetrics import AUROC

    class Digits(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net, self.val_auroc = make_model(seed), AUROC(task="multiclass", num_classes=10)

        def training_step(self, batch, batch_idx):
            return torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])

        def validation_step(self, batch, batch_idx):
            self.val_auroc.update(self.net(batch[0]), batch[1])
            self.log("val_auroc", self.val_auroc, on_epoch=True, on_step=False)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=LR)

    (x_tr, y_tr), (x_va, y_va) = load_digits_split(seed)
    g = torch.Generator().manual_seed(seed)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        enable_progress_bar=False,
    )
    trainer.fit(
        Digits(),
        DataLoader(TensorDataset(x_tr, y_tr), batch_size=batch_size, shuffle=True, generator=g),
        DataLoader(TensorDataset(x_va, y_va), batch_size=batch_size),
    )
    return float(trainer.callback_metrics["val_auroc"])


def installed_frameworks() -> List[str]:
    """The frameworks the demo trains with by default: fastai and Lightning where installed, else plain torch."""
    from ._optional import is_available

    found = []
    if is_available("fastai"):
        found.append("fastai")
    if is_available("lightning") or is_available("pytorch_lightning"):
        found.append("lightning")
    return found or ["torch"]


# ----------------------------------------------------------------------------- the whole demo


@contextlib.contextmanager
def _threads(n: int):
    """Tiny models: one intra-op thread is several times faster than contended ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    out: Callable = print,
    *,
    out_dir: Union[str, os.PathLike] = "runs",
    frameworks: Optional[Sequence[str]] = None,
    progress: Optional[bool] = None,
) -> dict:
    """Run the demo; return what it printed as data.

    Args:
        epochs: training epochs of every model.
        batch_size: training and validation batch size (the minibatch mean's batches).
        seed: seeds the split, the initial weights and the shuffling.
        out: where lines go (``print``; ``lambda *_: None`` for quiet).
        out_dir: TensorBoard logs and ``roc_digits.png`` go here.
        frameworks: any of ``"fastai"``, ``"lightning"``, ``"torch"``
            (plain PyTorch); default :func:`installed_frameworks`.
        progress: show fastai's and Lightning's progress bars; default:
            when standard output is a terminal.

    Returns:
        dict with ``histories`` (framework -> one dict per epoch: ``epoch``,
        ``loss``, ``exact``, ``minibatch_mean``, ``sklearn``), ``gap`` (the
        rows of :func:`measure_gap`), ``report`` (the
        :class:`~auroc_callbacks.reporting.AUROCReport` of the last model),
        ``figure`` (the PNG's path), ``log_dirs`` and ``torchmetrics`` (the
        last ``val_auroc`` the Lightning model logged through
        :class:`auroc_callbacks.torchmetrics.AUROC`, or None).
    """
    frameworks = _check_run(epochs, batch_size, frameworks)
    from ._optional import is_available

    if progress is None:
        progress = sys.stdout.isatty()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with _threads(1):
        results = _train_each(frameworks, epochs, batch_size, seed, out_dir, out, progress)
        k, tm = len(frameworks) + 1, None
        if "lightning" in frameworks and is_available("torchmetrics"):
            tm = _compare_torchmetrics(k, epochs, batch_size, seed, results["lightning"], out)
            k += 1
        gap = _gap_stage(k, epochs, batch_size, seed, results.get("torch"), out)
        last_name = _MODEL_NAMES[frameworks[-1]]
        rep, figure = _report_stage(k + 1, last_name, results[frameworks[-1]], out_dir, out)
        log_dirs = [str(r["log_dir"]) for r in results.values() if r["log_dir"] is not None]
        if log_dirs:
            _log_report_text(Path(log_dirs[-1]), rep, epochs)

    out("")
    out(f"Done in {time.perf_counter() - start:.0f} s. Where to look:")
    if figure is not None:
        out(f"  {figure}  ROC curves of the {last_name} model, exact AUC per class, argmax decisions marked")
    if log_dirs:
        out(
            f"  tensorboard --logdir {out_dir}  per-epoch AUROC scalars, ROC figures, PR curves ({', '.join(log_dirs)})"
        )
    return dict(
        histories={fw: r["history"] for fw, r in results.items()},
        gap=gap,
        report=rep,
        figure=figure,
        log_dirs=log_dirs,
        torchmetrics=tm,
    )


_MODEL_NAMES = {"fastai": "fastai", "lightning": "Lightning", "torch": "plain PyTorch"}


def _check_run(epochs, batch_size, frameworks) -> List[str]:
    """:func:`run`'s checks; the frameworks to run (default: the installed ones), each installed."""
    for arg, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"`{arg}` must be an int; got {type(value).__name__} {value!r}")
        if value < 1:
            raise ValueError(f"`{arg}` must be >= 1; got {value!r}")
    frameworks = list(frameworks) if frameworks is not None else installed_frameworks()
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown or not frameworks:
        raise ValueError(f"`frameworks` must be a non-empty list of 'fastai', 'lightning', 'torch'; got {frameworks!r}")
    from ._optional import is_available

    if "fastai" in frameworks and not is_available("fastai"):
        raise ModuleNotFoundError('the fastai demo needs fastai: pip install "auroc-callbacks[fastai]"')
    if "lightning" in frameworks and not (is_available("lightning") or is_available("pytorch_lightning")):
        raise ModuleNotFoundError('the Lightning demo needs Lightning: pip install "auroc-callbacks[lightning]"')
    return frameworks


def _train_each(frameworks, epochs, batch_size, seed, out_dir: Path, out, progress: bool) -> Dict[str, dict]:
    """Stages 1..n: train the MLP with each framework, printing its per-epoch history; framework -> its run."""
    (x_tr, _), (x_va, _) = load_digits_split(seed)
    results = {}
    for k, fw in enumerate(frameworks, 1):
        title = {"fastai": "fastai", "lightning": "PyTorch Lightning", "torch": "plain PyTorch"}[fw]
        out(
            f"== {k}. {title}: the same MLP on sklearn's digits ({len(x_tr)} train / {len(x_va)} validation"
            f" samples, 10 classes), batches of {batch_size} =="
        )
        results[fw] = _RUNNERS[fw](epochs, batch_size, seed, out_dir, out, progress)
        out("")
    return results


def _compare_torchmetrics(k: int, epochs, batch_size, seed, lightning: dict, out) -> float:
    """Stage k: the Lightning model logging auroc_callbacks.torchmetrics.AUROC; its last ``val_auroc``."""
    out(
        f'== {k}. torchmetrics: the same Lightning model, `self.log("val_auroc", AUROC())` with'
        " auroc_callbacks.torchmetrics.AUROC =="
    )
    value = train_lightning_torchmetrics(epochs, batch_size, seed)
    callback = lightning["history"][-1]["exact"]
    out(
        f"val_auroc after epoch {epochs - 1}: {value:.6f}; the callback logged {callback:.6f}"
        f" ({'the same number' if value == callback else 'DIFFERENT'})"
    )
    out("")
    return value


def _gap_stage(k: int, epochs, batch_size, seed, torch_run: Optional[dict], out) -> List[dict]:
    """Stage k: the minibatch mean's gap (:func:`measure_gap`) on the plain PyTorch model, trained if it was not."""
    out(f"== {k}. Minibatch mean vs exact, measured: mean of per-batch AUROCs minus the exact AUROC ==")
    if torch_run is None:
        _, _, (logits, target), _ = train_torch(epochs, batch_size, seed)
    else:
        logits, target = torch_run["logits"], torch_run["target"]
    gap = measure_gap(logits, target)
    out(
        f"(the plain PyTorch model after {epochs} epoch(s), validation set of {len(target)}; [k/n]: k of the n"
        " batches had an undefined AUROC and were skipped, as nanmean does)"
    )
    out(format_gap_table(gap))
    worst = max((r for r in gap if not math.isnan(r["gap"])), key=lambda r: abs(r["gap"]))
    out(
        f"The forum's 'within 0.1%' is a gap of about 0.001; the largest here is {worst['gap']:+.4f}"
        f" ({worst['scenario']}, batches of {worst['batch_size']})."
    )
    out("")
    return gap


def _report_stage(k: int, name: str, last: dict, out_dir: Path, out):
    """Stage k: the operating-points table of the last model, and its ROC figure; ``(report, figure path or None)``."""
    out(f"== {k}. Operating points of the {name} model (ac.report): why a high AUROC and a modest recall coexist ==")
    rep = ac.report(accumulator=last["accumulator"], class_names=CLASS_NAMES)
    out(rep.to_text())
    figure = _save_figure(
        last["accumulator"], out_dir / "roc_digits.png", f"{name} MLP on sklearn's digits: validation ROC curves"
    )
    return rep, figure


def _save_figure(accumulator, path: Path, title: str) -> Optional[Path]:
    from ._optional import is_available

    if not is_available("matplotlib"):
        return None
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_roc

    fig, _ = plot_roc(accumulator=accumulator, class_names=CLASS_NAMES, title=title)
    try:
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def _log_report_text(log_dir: Path, rep, step: int) -> None:
    """The operating-points table in TensorBoard's text tab (tag ``auroc/operating_points``)."""
    from ._optional import is_available

    if not is_available("tensorboard"):
        return
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(log_dir)) as writer:
        writer.add_text("auroc/operating_points", rep.to_markdown(), global_step=step)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=_positive_int, default=5, help="training epochs (default 5)")
    parser.add_argument(
        "--batch-size", type=_positive_int, default=32, help="training and validation batch size (default 32)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--out", default="runs", metavar="DIR", help="where TensorBoard logs and roc_digits.png go (default: runs)"
    )
    parser.add_argument(
        "--frameworks",
        nargs="+",
        choices=FRAMEWORKS,
        default=None,
        metavar="NAME",
        help="fastai, lightning and/or torch (plain PyTorch); default: fastai and Lightning, whichever are installed",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the frameworks' progress bars (default: when the output is a terminal)",
    )


def run_from_args(args) -> int:
    run(
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        out_dir=args.out,
        frameworks=args.frameworks,
        progress=args.progress,
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="auroc-callbacks demo", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
