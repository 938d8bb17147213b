"""The README's main job: exact epoch AUROC vs the minibatch mean, on sklearn's bundled digits.

Trains a small MLP on ``sklearn.datasets.load_digits`` (10 classes, nothing
downloaded) in a plain PyTorch loop. Each epoch, validation batches go into an
:class:`~auroc_callbacks.AUROCAccumulator`; the exact epoch AUROC is printed
next to the mean of per-batch AUROCs (what many training loops log) and
scikit-learn's value on the whole validation set.

Run it with ``auroc-callbacks demo`` or ``python -m auroc_callbacks.demo``.
"""

from __future__ import annotations

import argparse
import math
import warnings
from typing import List, Optional

import torch

import auroc_callbacks as ac


def _load(seed: int):
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


def minibatch_mean(logits: torch.Tensor, target: torch.Tensor, batch_size: int, **options) -> float:
    """The common mistake: the mean of per-batch AUROCs (undefined batches skipped, as nanmean does)."""
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ac.UndefinedAUROCWarning)
        for i in range(0, len(target), batch_size):
            values.append(ac.auroc(logits[i:i + batch_size], target[i:i + batch_size], **options).item())
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else float("nan")


def run(epochs: int = 5, batch_size: int = 32, seed: int = 0, out=print) -> List[dict]:
    """Train, validate with the accumulator each epoch, and print exact vs minibatch-mean AUROC."""
    torch.manual_seed(seed)
    (x_tr, y_tr), (x_va, y_va) = _load(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    acc = ac.AUROCAccumulator(num_classes=10)
    history = []
    out(f"digits: {len(y_tr)} train / {len(y_va)} validation samples, 10 classes, validation batches of {batch_size}")
    out(f"{'epoch':>5}  {'train loss':>10}  {'exact AUROC':>11}  {'minibatch mean':>14}  {'gap':>9}  {'sklearn':>9}")
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(y_tr))
        total = 0.0
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            loss = torch.nn.functional.cross_entropy(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        acc.reset()
        with torch.no_grad():
            logits = torch.cat([model(x_va[i:i + batch_size]) for i in range(0, len(y_va), batch_size)])
            for i in range(0, len(y_va), batch_size):
                acc.update(logits[i:i + batch_size], y_va[i:i + batch_size])
        exact = acc.compute().item()
        mean = minibatch_mean(logits, y_va, batch_size)
        ref = _sklearn(logits, y_va)
        history.append(dict(epoch=epoch, loss=total / len(y_tr), exact=exact, minibatch_mean=mean, sklearn=ref))
        ref_s = f"{ref:9.6f}" if ref is not None else f"{'n/a':>9}"
        out(f"{epoch:>5}  {total / len(y_tr):>10.4f}  {exact:>11.6f}  {mean:>14.6f}  {mean - exact:>+9.6f}  {ref_s}")
    out("")
    out("Minibatch mean vs exact on the last epoch's validation logits, by batch size:")
    out(f"{'batch':>5}  {'minibatch mean':>14}  {'exact':>9}  {'gap':>9}")
    for bs in (4, 8, 16, 32, 64, 128, len(y_va)):
        mean = minibatch_mean(logits, y_va, bs)
        out(f"{bs:>5}  {mean:>14.6f}  {exact:>9.6f}  {mean - exact:>+9.6f}")
    return history


def _sklearn(logits: torch.Tensor, target: torch.Tensor) -> Optional[float]:
    try:
        from sklearn.metrics import roc_auc_score
    except ImportError:  # pragma: no cover
        return None
    return float(roc_auc_score(target.numpy(), torch.softmax(logits, 1).numpy(), multi_class="ovr"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="auroc-callbacks demo", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    run(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


if __name__ == "__main__":
    raise SystemExit(main())
