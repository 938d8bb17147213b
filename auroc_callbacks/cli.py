"""The ``auroc-callbacks`` command line (argparse sub-commands).

* ``auroc-callbacks demo``: train on sklearn's digits with fastai and Lightning;
  exact epoch AUROC vs the minibatch mean (:mod:`auroc_callbacks.demo`).
* ``auroc-callbacks report PREDS``: the operating-points table
  (:func:`auroc_callbacks.report`) and the AUROC of saved predictions, the
  ROC figure, TensorBoard logs.

Saved predictions (``PREDS``, and ``--target`` when the labels live apart):

* ``.pt`` / ``.pth``: what ``torch.save`` wrote, read with ``weights_only=True``:
  a ``(preds, target, ...)`` tuple, as fastai's ``learn.get_preds()`` returns
  it; a dict of tensors; or a single tensor.
* ``.npz``: arrays by name; ``.npy``: a single array.
* ``.csv``: a header row; one score column per class and a label column.

Dicts and ``.npz`` files are searched for the first of ``PREDS_KEYS`` and
``TARGET_KEYS`` (``--preds-key`` / ``--target-key`` choose). In a CSV the
label column is the first of ``TARGET_KEYS`` (or ``--target-key``); the score
columns are the others (or those ``--classes`` names, in that order); a
column with an empty name (a pandas index) is skipped. Labels may be integers
or the names of the score columns.

Every problem with the input (a missing or unreadable file, an unknown key or
column, mismatched lengths, labels out of range) is one line on stderr and
exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from . import __version__

PREDS_KEYS = ("preds", "logits", "probs", "probabilities", "scores", "y_score")
TARGET_KEYS = ("target", "targets", "labels", "label", "y", "y_true")
_SUFFIXES = (".pt", ".pth", ".npz", ".npy", ".csv")


class InputError(Exception):
    """A problem with the user's files or options: reported as one line, exit status 2."""


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auroc-callbacks",
        description="Exact epoch AUROC for fastai and PyTorch Lightning.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from . import demo

    demo_parser = sub.add_parser(
        "demo", help="train on sklearn's digits with fastai and Lightning; exact epoch AUROC vs the minibatch mean",
        description=demo.__doc__.split("\n\n")[0].replace("``", ""),
    )
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(func=_demo)

    report_parser = sub.add_parser(
        "report", help="operating points and AUROC of saved predictions (.pt, .npz, .npy, .csv); ROC figure",
        description="Print the per-class operating-points table (support, AUROC, precision/recall/F1 at the"
        " default decision, TPR at fixed FPRs, Youden's J threshold) and the AUROC of saved predictions;"
        " optionally write the ROC figure and TensorBoard logs.",
        epilog="PREDS formats: .pt/.pth (a (preds, target) tuple like fastai's learn.get_preds(), a dict, or a"
        f" tensor), .npz (arrays named {'/'.join(PREDS_KEYS[:3])}... and {'/'.join(TARGET_KEYS[:3])}...), .npy, .csv"
        " (one score column per class plus a label column). Input problems exit with status 2.",
    )
    add_report_arguments(report_parser)
    report_parser.set_defaults(func=_report)
    return parser


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("preds", metavar="PREDS", help="saved predictions: .pt, .pth, .npz, .npy or .csv")
    p.add_argument("--target", metavar="T", help="the labels, when not in PREDS: .pt, .npz, .npy or .csv"
                   " (for a CSV PREDS, may also name its label column)")
    p.add_argument("--preds-key", metavar="KEY",
                   help=f"the predictions' key in a dict/.npz (default: first of {', '.join(PREDS_KEYS)})")
    p.add_argument("--target-key", metavar="KEY", help="the labels' key in a dict/.npz, or a CSV's label column"
                   f" (default: first of {', '.join(TARGET_KEYS)})")
    p.add_argument("--classes", nargs="+", metavar="NAME", help="class names (binary: 1 or 2, the last is the positive"
                   " class); for a CSV: the score columns to use, in order")
    p.add_argument("--task", choices=("binary", "multiclass", "multilabel"), help="default: inferred from the shapes")
    p.add_argument("--average", choices=("macro", "weighted", "micro"), default="macro",
                   help="the AUROC line's average (default macro)")
    p.add_argument("--multi-class", choices=("ovr", "ovo"), default="ovr", dest="multi_class",
                   help="one-vs-rest or Hand & Till one-vs-one (default ovr)")
    p.add_argument("--max-fpr", type=float, metavar="F", help="partial AUROC up to this FPR (McClish)")
    p.add_argument("--activation", choices=("auto", "softmax", "sigmoid", "none"), default="auto",
                   help="applied to the scores (default auto: softmax for multiclass logits)")
    p.add_argument("--ignore-index", type=int, metavar="I", help="labels equal to I are left out")
    p.add_argument("--fpr-levels", type=float, nargs="+", metavar="X", default=[0.01, 0.05, 0.1],
                   help="FPR levels of the TPR columns (default 0.01 0.05 0.1)")
    p.add_argument("--threshold", type=float, default=0.5, help="binary/multilabel decision threshold (default 0.5)")
    p.add_argument("--digits", type=int, default=3, help="decimals in the table (default 3)")
    p.add_argument("--out", metavar="PNG", help="write the ROC figure here (needs matplotlib)")
    p.add_argument("--tensorboard", metavar="DIR", help="write the AUROC scalars, ROC figure, PR curves and the"
                   " table (text) as TensorBoard events in DIR")
    p.add_argument("--tag", default="auroc", help="TensorBoard tag prefix (default auroc)")
    p.add_argument("--step", type=int, default=0, help="TensorBoard global step (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")


# ----------------------------------------------------------------------------- commands


def _demo(args) -> int:
    from . import demo

    try:
        return demo.run_from_args(args)
    except ModuleNotFoundError as err:  # a framework asked for with --frameworks is not installed
        raise InputError(str(err)) from None


def _report(args) -> int:
    import auroc_callbacks as ac

    preds, target, names = load_predictions(
        args.preds, target=args.target, preds_key=args.preds_key, target_key=args.target_key, classes=args.classes,
    )
    activation = None if args.activation == "none" else args.activation
    options = dict(task=args.task, activation=activation, ignore_index=args.ignore_index)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ac.UndefinedAUROCWarning)
        try:
            rep = ac.report(preds, target, class_names=names, fpr_levels=args.fpr_levels,
                            threshold=args.threshold, **options)
            value = ac.auroc(preds, target, average=args.average, multi_class=args.multi_class,
                             max_fpr=args.max_fpr, **options)
        except (ValueError, TypeError) as err:
            raise InputError(str(err)) from None
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"auroc-callbacks report: warning: {message}", file=sys.stderr)

    kind = _describe_auroc(rep.task, args.average, args.multi_class, args.max_fpr)
    value_list = value.tolist()
    if args.json:
        doc = dict(file=str(args.preds), task=rep.task, num_samples=rep.num_samples, activation=rep.activation,
                   auroc=value_list, average=None if rep.task == "binary" else args.average,
                   multi_class=args.multi_class, max_fpr=args.max_fpr, report=rep.to_dict())
        print(json.dumps(_json_safe(doc), indent=2, allow_nan=False))
    else:
        n_cls = len(rep.classes)
        act = f", {rep.activation} applied" if rep.activation else ""
        unit = "labels" if rep.task == "multilabel" else "classes"
        what = "binary" if rep.task == "binary" else f"{rep.task}, {n_cls} {unit}"
        print(f"{args.preds}: {rep.num_samples:,} samples, {what}{act}")
        print()
        print(rep.to_text(digits=args.digits))
        print()
        print(f"AUROC ({kind}): {_fmt_value(value_list)}")

    written = []
    if args.out:
        written.append(_write_figure(args.out, preds, target, names, options))
    if args.tensorboard:
        acc = ac.AUROCAccumulator(average=args.average, multi_class=args.multi_class, max_fpr=args.max_fpr, **options)
        acc.update(preds, target)
        written.append(_write_tensorboard(args.tensorboard, acc, rep, names, args.tag, args.step))
    for line in written:
        print(line, file=sys.stderr if args.json else sys.stdout)
    return 0


def _describe_auroc(task: str, average: str, multi_class: str, max_fpr) -> str:
    if task == "binary":
        kind = "binary"
    elif task == "multilabel":
        kind = f"{average}, per label"
    else:
        kind = f"{average}, {'one-vs-rest' if multi_class == 'ovr' else 'one-vs-one'}"
    return kind + (f", partial up to FPR {max_fpr:g}" if max_fpr is not None else "")


def _fmt_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.6f}" for v in value) + "]"
    return f"{value:.6f}"


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


def _write_figure(path: str, preds, target, names, options) -> str:
    from ._optional import is_available

    if not is_available("matplotlib"):
        raise InputError('--out needs matplotlib, which is not installed: pip install "auroc-callbacks[plot]"')
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_roc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warned once already
        fig, _ = plot_roc(preds, target, class_names=names, **options)
    try:
        fig.savefig(path, dpi=110)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot write the figure to {path}: {err}") from None
    finally:
        plt.close(fig)
    return f"wrote {path}"


def _write_tensorboard(log_dir: str, acc, rep, names, tag: str, step: int) -> str:
    from ._optional import is_available

    if not is_available("tensorboard"):
        raise InputError(
            '--tensorboard needs tensorboard, which is not installed: pip install "auroc-callbacks[tensorboard]"'
        )
    from torch.utils.tensorboard import SummaryWriter

    from .tensorboard import log_auroc

    try:
        writer = SummaryWriter(log_dir)
    except OSError as err:
        raise InputError(f"cannot write TensorBoard events to {log_dir}: {err}") from None
    with writer, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warned once already
        log_auroc(writer, acc, step=step, tag=tag, class_names=names, figure=is_available("matplotlib"))
        writer.add_text(f"{tag.strip('/')}/operating_points", rep.to_markdown(), global_step=step)
    return f"wrote TensorBoard events to {log_dir} (tensorboard --logdir {log_dir})"


# ----------------------------------------------------------------------------- reading predictions


def load_predictions(
    path: str,
    *,
    target: Optional[str] = None,
    preds_key: Optional[str] = None,
    target_key: Optional[str] = None,
    classes: Optional[Sequence[str]] = None,
):
    """Read ``(preds, target, class_names)`` from saved files; raise :class:`InputError` on any problem.

    ``class_names`` is ``classes``, or for a CSV the score columns' names.
    """
    p = _existing(path, "PREDS")
    suffix = p.suffix.lower()
    names = list(classes) if classes else None
    if suffix == ".csv":
        target_column = target_key
        if target is not None and not Path(target).exists():
            target_column, target = target, None  # --target naming a column of the CSV
        preds, labels, names = _read_csv(p, target_column, classes, need_target=target is None)
    else:
        preds, labels = _read_pair(p, preds_key, target_key, need_target=target is None)
    if target is not None:
        labels = _read_target(_existing(target, "--target"), target_key)
    if labels is None:
        raise InputError(
            f"{p.name} holds predictions only: give the labels with --target FILE"
            f" (or save a (preds, target) pair)"
        )
    preds, labels = _as_tensor(preds, p.name, "predictions"), _as_tensor(labels, target or p.name, "labels")
    if preds.shape[0] != labels.shape[0]:
        tname = Path(target).name if target else p.name
        raise InputError(
            f"{p.name} has {preds.shape[0]} predictions but {tname} has {labels.shape[0]} labels:"
            " the lengths must match"
        )
    return preds, labels, names


def _existing(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} {path}: no such file")
    if p.is_dir():
        raise InputError(f"{what} {path} is a directory, not a file")
    if p.suffix.lower() not in _SUFFIXES:
        raise InputError(
            f"{what} {path}: unknown file type {p.suffix or '(none)'!r}; use .pt, .pth, .npz, .npy or .csv"
        )
    return p


def _as_tensor(x, source: str, what: str):
    import numpy as np
    import torch

    if isinstance(x, torch.Tensor):
        t = x.detach()
        return t if type(t) is torch.Tensor else t.as_subclass(torch.Tensor)
    try:
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise TypeError(f"dtype {arr.dtype}")
        return torch.as_tensor(arr)
    except (TypeError, ValueError, RuntimeError) as err:
        raise InputError(f"{Path(source).name}: the {what} are not a numeric array ({err})") from None


def _load_torch(p: Path):
    import pickle
    import re

    import torch

    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError, ImportError) as err:
        msg = str(err)
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", msg)
        if unsafe:
            raise InputError(
                f"{p.name} holds a {unsafe.group(1)} object, which is not loaded for safety (weights_only=True);"
                " save plain tensors: torch.save((preds, target), path), or t.as_subclass(torch.Tensor)"
            ) from None
        detail = re.search(r"WeightsUnpickler error:\s*(.+)", msg)
        first = detail.group(1).strip() if detail else (msg.strip().splitlines() or [type(err).__name__])[0]
        raise InputError(f"{p.name} is not a file torch.save wrote ({first})") from None


def _load_numpy(p: Path):
    import zipfile

    import numpy as np

    with open(p, "rb") as f:
        magic = f.read(6)
    expected = b"PK\x03\x04" if p.suffix.lower() == ".npz" else b"\x93NUMPY"
    if not magic.startswith(expected):
        writer = "np.savez" if p.suffix.lower() == ".npz" else "np.save"
        raise InputError(f"{p.name} is not a {p.suffix.lower()} file ({writer} writes those)")
    try:
        data = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{p.name} is not a readable {p.suffix} file: {first}") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        return {k: data[k] for k in data.files}


def _pick(mapping: dict, key: Optional[str], candidates: Sequence[str], what: str, source: str, option: str):
    keys = list(mapping)
    if key is not None:
        if key not in mapping:
            raise InputError(f"{source} has no {what} named {key!r} ({option}); it holds {_quote(keys)}")
        return mapping[key]
    lower = {str(k).lower(): k for k in keys}
    for c in candidates:
        if c in lower:
            return mapping[lower[c]]
    return None


def _quote(items) -> str:
    items = [repr(str(i)) for i in items]
    return ", ".join(items) if items else "nothing"


def _read_pair(p: Path, preds_key, target_key, need_target: bool):
    """(preds, target or None) from a .pt, .pth, .npz or .npy file."""
    import numpy as np
    import torch

    data = _load_torch(p) if p.suffix.lower() in (".pt", ".pth") else _load_numpy(p)
    if isinstance(data, (torch.Tensor, np.ndarray)):
        if preds_key or target_key:
            raise InputError(f"{p.name} holds a single array, so --preds-key/--target-key do not apply")
        return data, None
    if isinstance(data, (tuple, list)):
        if not data or not all(isinstance(t, (torch.Tensor, np.ndarray)) for t in data[:2]):
            raise InputError(
                f"{p.name} holds a {type(data).__name__} of {len(data)} item(s), not (preds, target) tensors"
            )
        return data[0], (data[1] if len(data) > 1 else None)
    if isinstance(data, dict):
        preds = _pick(data, preds_key, PREDS_KEYS, "predictions", p.name, "--preds-key")
        if preds is None:
            if len(data) == 1 and target_key is None:
                return next(iter(data.values())), None
            raise InputError(
                f"{p.name} has no predictions: expected one of {_quote(PREDS_KEYS)} (or --preds-key); it holds"
                f" {_quote(data)}"
            )
        labels = _pick(data, target_key, TARGET_KEYS, "labels", p.name, "--target-key")
        return preds, labels
    raise InputError(f"{p.name} holds a {type(data).__name__}; expected a (preds, target) tuple, a dict or a tensor")


def _read_target(p: Path, target_key):
    """The labels from a --target file."""
    import numpy as np
    import torch

    if p.suffix.lower() == ".csv":
        header, rows = _csv_rows(p)
        if len(header) == 1 and target_key is None:
            column = 0
        else:
            column = _target_column(header, target_key, p.name)
            if column is None:
                raise InputError(
                    f"{p.name} has no label column: expected one of {_quote(TARGET_KEYS)} (or --target-key);"
                    f" its columns are {_quote(header)}"
                )
        return _labels([r[column] for r in rows], None, p.name, header[column])
    data = _load_torch(p) if p.suffix.lower() in (".pt", ".pth") else _load_numpy(p)
    if isinstance(data, (torch.Tensor, np.ndarray)):
        return data
    if isinstance(data, (tuple, list)) and len(data) >= 2:
        return data[1]  # a (preds, target) pair saved whole
    if isinstance(data, dict):
        labels = _pick(data, target_key, TARGET_KEYS, "labels", p.name, "--target-key")
        if labels is None and len(data) == 1:
            return next(iter(data.values()))
        if labels is None:
            raise InputError(
                f"{p.name} has no labels: expected one of {_quote(TARGET_KEYS)} (or --target-key);"
                f" it holds {_quote(data)}"
            )
        return labels
    raise InputError(f"{p.name} holds a {type(data).__name__}; expected the labels as a tensor or array")


# ----------------------------------------------------------------------------- CSV


def _csv_rows(p: Path) -> Tuple[List[str], List[List[str]]]:
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{p.name} is not a readable CSV file: {err}") from None
    if len(rows) < 2:
        raise InputError(f"{p.name} needs a header row and at least one data row; it has {len(rows)} row(s)")
    header = [h.strip() for h in rows[0]]
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise InputError(f"{p.name}, line {i}: {len(r)} fields, but the header has {len(header)}")
    return header, rows[1:]


def _target_column(header: List[str], target_key: Optional[str], source: str) -> Optional[int]:
    if target_key is not None:
        if target_key not in header:
            raise InputError(f"{source} has no column {target_key!r}; its columns are {_quote(header)}")
        return header.index(target_key)
    lower = [h.lower() for h in header]
    for c in TARGET_KEYS:
        if c in lower:
            return lower.index(c)
    return None


def _read_csv(p: Path, target_key, classes, need_target: bool):
    """(scores (N, C) float64 array, labels or None, score column names) from a CSV with a header."""
    import numpy as np

    header, rows = _csv_rows(p)
    t_col = _target_column(header, target_key, p.name)
    if classes:
        unknown = [c for c in classes if c not in header]
        if unknown:
            raise InputError(
                f"{p.name} has no column(s) {_quote(unknown)} (--classes names its score columns); its columns are"
                f" {_quote(header)}"
            )
        score_cols = [header.index(c) for c in classes]
    else:
        score_cols = [i for i, h in enumerate(header) if i != t_col and h != ""]
    if not score_cols:
        raise InputError(f"{p.name} has no score columns besides the label column {header[t_col]!r}")
    if t_col is not None and t_col in score_cols:
        raise InputError(f"{p.name}: column {header[t_col]!r} cannot be both the labels and a score column")
    names = [header[i] for i in score_cols]
    scores = np.empty((len(rows), len(score_cols)), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, c in enumerate(score_cols):
            try:
                scores[i, j] = float(r[c])
            except ValueError:
                raise InputError(
                    f"{p.name}, line {i + 2}, column {header[c]!r}: {r[c]!r} is not a number"
                    " (pick the score columns with --classes)"
                ) from None
    labels = None
    if t_col is not None:
        labels = _labels([r[t_col] for r in rows], names, p.name, header[t_col])
    elif need_target:
        raise InputError(
            f"{p.name} has no label column: expected one of {_quote(TARGET_KEYS)} (or --target-key / --target);"
            f" its columns are {_quote(header)}"
        )
    if scores.shape[1] == 1:
        scores = scores[:, 0]
    return scores, labels, names


def _labels(values: List[str], names: Optional[List[str]], source: str, column: str):
    """Integer labels from CSV cells: integers, or the names of the score columns."""
    import numpy as np

    out = np.empty(len(values), dtype=np.int64)
    index = {n: i for i, n in enumerate(names or [])}
    for i, v in enumerate(values):
        v = v.strip()
        try:
            f = float(v)
        except ValueError:
            f = None
        if f is not None and f.is_integer():
            out[i] = int(f)
        elif v in index:
            out[i] = index[v]
        else:
            known = f"; names must be one of {_quote(names)}" if names else ""
            raise InputError(f"{source}, line {i + 2}, column {column!r}: label {v!r} is not an integer{known}")
    return out


# ----------------------------------------------------------------------------- entry point


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except InputError as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `auroc-callbacks report ... | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
