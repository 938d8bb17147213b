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

Binary labels, as other libraries write them (scikit-learn's rules):

* ``{0, 1}`` and ``{-1, 1}`` need no option: 1 is the positive class.
* ``--pos-label NAME`` names the positive class: a label equal to ``NAME`` is 1,
  every other label 0, whether the labels are strings (a CSV's ``benign`` /
  ``malignant``, an array of strings) or numbers (``--pos-label 2`` for labels
  ``{1, 2}``). One score column is the positive class's score; of two score
  columns, the one named ``NAME`` (or, for labels ``{0, 1}`` / ``{-1, 1}``,
  the column of that label) is. More than two distinct labels is an error.
* One score column with two string labels and no ``--pos-label`` is an error
  that lists the two labels: which one is positive is not guessed.

Every problem with the input (a missing, unreadable or corrupt file, an
unknown key or column, mismatched lengths, labels out of range, an option out
of range) is one line on stderr and exit status 2, not a traceback. Options
are checked when parsed (argparse: a usage line, then the error, status 2).
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
from typing import List, NamedTuple, Optional, Sequence, Tuple

from . import __version__

PREDS_KEYS = ("preds", "logits", "probs", "probabilities", "scores", "y_score")
TARGET_KEYS = ("target", "targets", "labels", "label", "y", "y_true")
_SUFFIXES = (".pt", ".pth", ".npz", ".npy", ".csv")


class InputError(Exception):
    """A problem with the user's files or options: reported as one line, exit status 2."""


# ----------------------------------------------------------------------------- option rules (checked when parsed)


class Number:
    """An argparse ``type=``: a finite int or float inside an interval, else ``ArgumentTypeError``.

    argparse prefixes the message with the option (``argument --digits: must be
    an integer in [0, 17]; got '-1'``), prints the usage and exits with status 2.

        >>> Number(float, 0, 1, low_open=True)("0.2")
        0.2
    """

    def __init__(self, kind: type, low=None, high=None, *, low_open: bool = False):
        self.kind, self.low, self.high, self.low_open = kind, low, high, low_open
        self.__name__ = "integer" if kind is int else "number"  # argparse's fallback wording

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            return f"{what} in {'(' if self.low_open else '['}{self.low}, {self.high}]"
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {self.low}"
        return what if self.kind is int else "a finite number"

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}; got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}; got {text!r}")
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}; got {text!r}")
        if self.high is not None and value > self.high:
            raise argparse.ArgumentTypeError(f"must be {self.describe()}; got {text!r}")
        return value


def label_name(text: str) -> str:
    """An argparse ``type=`` for ``--pos-label``: a non-empty label (surrounding spaces dropped, as in a CSV)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a label; got {text!r}")
    return text.strip()


MAX_DIGITS = 17  # a float64 holds 17 significant digits: more decimals print noise
OPTION_RULES = {
    "--max-fpr": Number(float, 0, 1, low_open=True),  # auroc's `max_fpr`
    "--fpr-levels": Number(float, 0, 1),  # report's `fpr_levels`: TPR at FPR 0 is a valid column
    "--threshold": Number(float),
    "--digits": Number(int, 0, MAX_DIGITS),
    "--step": Number(int, 0),
    "--ignore-index": Number(int),
    "--pos-label": label_name,
}


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auroc-callbacks", description="Exact epoch AUROC for fastai and PyTorch Lightning."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from . import demo

    demo_parser = sub.add_parser(
        "demo",
        help="train on sklearn's digits with fastai and Lightning; exact epoch AUROC vs the minibatch mean",
        description=demo.__doc__.split("\n\n")[0].replace("``", ""),
    )
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(func=_demo)

    report_parser = sub.add_parser(
        "report",
        help="operating points and AUROC of saved predictions (.pt, .npz, .npy, .csv); ROC figure",
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
    _add_input_arguments(p)
    _add_auroc_arguments(p)
    _add_table_arguments(p)
    _add_output_arguments(p)


def _add_input_arguments(p: argparse.ArgumentParser) -> None:
    """PREDS, where its labels are, and the class names."""
    p.add_argument("preds", metavar="PREDS", help="saved predictions: .pt, .pth, .npz, .npy or .csv")
    p.add_argument(
        "--target",
        metavar="T",
        help="the labels, when not in PREDS: .pt, .npz, .npy or .csv (for a CSV PREDS, may also name its label column)",
    )
    p.add_argument(
        "--preds-key",
        metavar="KEY",
        help=f"the predictions' key in a dict/.npz (default: first of {', '.join(PREDS_KEYS)})",
    )
    p.add_argument(
        "--target-key",
        metavar="KEY",
        help=f"the labels' key in a dict/.npz, or a CSV's label column (default: first of {', '.join(TARGET_KEYS)})",
    )
    p.add_argument(
        "--classes",
        nargs="+",
        metavar="NAME",
        help="class names (binary: 1 or 2, the last is the positive"
        " class); for a CSV: the score columns to use, in order",
    )


def _add_auroc_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the AUROC: task, average, positive label, partial AUROC, activation, ignored labels."""
    p.add_argument("--task", choices=("binary", "multiclass", "multilabel"), help="default: inferred from the shapes")
    p.add_argument(
        "--average",
        choices=("macro", "weighted", "micro"),
        default="macro",
        help="the AUROC line's average (default macro)",
    )
    p.add_argument(
        "--multi-class",
        choices=("ovr", "ovo"),
        default="ovr",
        dest="multi_class",
        help="one-vs-rest or Hand & Till one-vs-one (default ovr)",
    )
    p.add_argument(
        "--pos-label",
        type=OPTION_RULES["--pos-label"],
        metavar="NAME",
        help="binary: the positive class's label (a CSV's 'malignant', or 2 for labels 1/2); labels equal"
        " to NAME are 1, the others 0. Not needed for 0/1 and -1/1 labels",
    )
    p.add_argument(
        "--max-fpr",
        type=OPTION_RULES["--max-fpr"],
        metavar="F",
        help="partial AUROC up to this FPR, in (0, 1] (McClish)",
    )
    p.add_argument(
        "--activation",
        choices=("auto", "softmax", "sigmoid", "none"),
        default="auto",
        help="applied to the scores (default auto: softmax for multiclass logits)",
    )
    p.add_argument(
        "--ignore-index", type=OPTION_RULES["--ignore-index"], metavar="I", help="labels equal to I are left out"
    )


def _add_table_arguments(p: argparse.ArgumentParser) -> None:
    """The operating-points table: its FPR levels, the decision threshold, the decimals."""
    p.add_argument(
        "--fpr-levels",
        type=OPTION_RULES["--fpr-levels"],
        nargs="+",
        metavar="X",
        default=[0.01, 0.05, 0.1],
        help="FPR levels of the TPR columns, each in [0, 1] (default 0.01 0.05 0.1)",
    )
    p.add_argument(
        "--threshold",
        type=OPTION_RULES["--threshold"],
        default=0.5,
        help="binary/multilabel decision threshold (default 0.5)",
    )
    p.add_argument(
        "--digits",
        type=OPTION_RULES["--digits"],
        default=3,
        help=f"decimals in the table, 0 to {MAX_DIGITS} (default 3)",
    )


def _add_output_arguments(p: argparse.ArgumentParser) -> None:
    """What is written besides the table: the ROC figure, TensorBoard events, JSON."""
    p.add_argument("--out", metavar="PNG", help="write the ROC figure here (needs matplotlib)")
    p.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write the AUROC scalars, ROC figure, PR curves and the table (text) as TensorBoard events in DIR",
    )
    p.add_argument("--tag", default="auroc", help="TensorBoard tag prefix (default auroc)")
    p.add_argument("--step", type=OPTION_RULES["--step"], default=0, help="TensorBoard global step, >= 0 (default 0)")
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

    task = args.task
    if args.pos_label is not None:
        if task not in (None, "binary"):
            raise InputError(
                f"--pos-label {args.pos_label!r} makes the problem binary; it cannot go with --task {task}"
            )
        task = "binary"
    preds, target, names = load_predictions(
        args.preds,
        target=args.target,
        preds_key=args.preds_key,
        target_key=args.target_key,
        classes=args.classes,
        pos_label=args.pos_label,
        task=task,
        ignore_index=args.ignore_index,
    )
    activation = None if args.activation == "none" else args.activation
    options = dict(task=task, activation=activation, ignore_index=args.ignore_index)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ac.UndefinedAUROCWarning)
        try:
            rep = ac.report(
                preds, target, class_names=names, fpr_levels=args.fpr_levels, threshold=args.threshold, **options
            )
            value = ac.auroc(
                preds, target, average=args.average, multi_class=args.multi_class, max_fpr=args.max_fpr, **options
            )
        except (ValueError, TypeError) as err:
            raise InputError(str(err)) from None
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"auroc-callbacks report: warning: {message}", file=sys.stderr)

    kind = _describe_auroc(rep.task, args.average, args.multi_class, args.max_fpr)
    value_list = value.tolist()
    if args.json:
        doc = dict(
            file=str(args.preds),
            task=rep.task,
            num_samples=rep.num_samples,
            activation=rep.activation,
            auroc=value_list,
            average=None if rep.task == "binary" else args.average,
            multi_class=args.multi_class,
            max_fpr=args.max_fpr,
            pos_label=args.pos_label,
            report=rep.to_dict(),
        )
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
    pos_label: Optional[str] = None,
    task: Optional[str] = None,
    ignore_index: Optional[int] = None,
):
    """Read ``(preds, target, class_names)`` from saved files; raise :class:`InputError` on any problem.

    ``class_names`` is ``classes``, or for a CSV the score columns' names. The
    labels come back as the core takes them: class indices, or for a binary
    problem 0/1 (``{-1, 1}`` becomes ``{0, 1}``; with ``pos_label``, a label
    equal to it is 1 and every other 0, and the class name is ``pos_label``
    unless ``classes`` names a tensor file's classes). ``task`` and
    ``ignore_index`` are the report's: they decide how the labels are read.
    """
    p = _existing(path, "PREDS")
    is_csv = p.suffix.lower() == ".csv"
    names = list(classes) if classes else None
    if is_csv:
        target_column = target_key
        if target is not None and not _is_file(target):
            target_column, target = target, None  # --target naming a column of the CSV
        preds, labels, names = _read_csv(p, target_column, classes, need_target=target is None)
    else:
        preds, labels = _read_pair(p, preds_key, target_key, need_target=target is None)
    source = p.name
    if target is not None:
        t = _existing(target, "--target")
        labels, source = _read_target(t, target_key), t.name
    if labels is None:
        raise InputError(
            f"{p.name} holds predictions only: give the labels with --target FILE (or save a (preds, target) pair)"
        )
    preds = _as_tensor(preds, p.name, "predictions")
    if preds.ndim == 0:
        raise InputError(f"{p.name}: the predictions are one number (a 0-d tensor); expected shape (N,) or (N, C)")
    cols = 1 if preds.ndim == 1 else preds.shape[1]
    labels, positive = _encode_labels(
        labels, source, cols=cols, names=names, pos_label=pos_label, task=task, ignore_index=ignore_index
    )
    if preds.shape[0] != labels.shape[0]:
        raise InputError(
            f"{p.name} has {preds.shape[0]} predictions but {source} has {labels.shape[0]} labels:"
            " the lengths must match"
        )
    if pos_label is not None:
        preds = _positive_column_last(preds, positive, pos_label, p.name, names if is_csv else None)
        if is_csv or not classes:
            names = [pos_label]
    return preds, labels, names


def _is_file(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # a name too long, a NUL byte: not a file, so maybe a CSV column
        return False


def _existing(path: str, what: str) -> Path:
    p = Path(path)
    try:
        exists, is_dir = p.exists(), p.is_dir()
    except (OSError, ValueError) as err:  # a name too long (ENAMETOOLONG), a NUL byte
        raise InputError(f"{what} {path}: cannot read it: {_reason(err)}") from None
    if not exists:
        raise InputError(f"{what} {path}: no such file")
    if is_dir:
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
        if x.layout != torch.strided:
            raise InputError(f"{Path(source).name}: the {what} are a {x.layout} tensor; save t.to_dense()")
        t = x.detach()
        return t if type(t) is torch.Tensor else t.as_subclass(torch.Tensor)
    try:
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise TypeError(f"dtype {arr.dtype}")
        return torch.as_tensor(arr)
    except (TypeError, ValueError, RuntimeError) as err:
        raise InputError(f"{Path(source).name}: the {what} are not a numeric array ({err})") from None


def _reason(err: BaseException) -> str:
    """One line saying why a file could not be read: torch's weights-only detail, else the message's first line."""
    import pickle
    import re
    import zipfile

    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    msg = str(err)
    detail = re.search(r"WeightsUnpickler error:\s*(.+)", msg)
    lines = msg.strip().splitlines()
    first = detail.group(1).strip() if detail else (lines[0].strip() if lines else "")
    if not first:
        return type(err).__name__
    if isinstance(err, (pickle.UnpicklingError, RuntimeError, ValueError, zipfile.BadZipFile)):
        return first  # messages that say what is wrong; an IndexError's "pop from empty list" does not
    return f"{type(err).__name__}: {first}"


def _load_torch(p: Path):
    import re

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 163": the error, if any, says it all
            return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        if unsafe:
            raise InputError(
                f"{p.name} holds a {unsafe.group(1)} object, which is not loaded for safety (weights_only=True);"
                " save plain tensors: torch.save((preds, target), path), or t.as_subclass(torch.Tensor)"
            ) from None
        raise InputError(f"{p.name} is not a file torch.save wrote ({_reason(err)})") from None


def _load_numpy(p: Path):
    import numpy as np

    suffix = p.suffix.lower()
    try:
        with open(p, "rb") as f:
            magic = f.read(6)
    except OSError as err:
        raise InputError(f"{p.name}: cannot read it: {_reason(err)}") from None
    expected = (b"PK\x03\x04", b"PK\x05\x06") if suffix == ".npz" else (b"\x93NUMPY",)  # PK\5\6: an empty zip
    if not magic.startswith(expected):
        writer = "np.savez" if suffix == ".npz" else "np.save"
        raise InputError(f"{p.name} is not a {suffix} file ({writer} writes those)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.load(p, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return data
        with data:  # the members are read here: a bad CRC or a truncated member fails now
            arrays = {k: data[k] for k in data.files}
    except Exception as err:
        raise InputError(f"{p.name} is not a readable {suffix} file: {_reason(err)}") from None
    if not arrays:
        raise InputError(f"{p.name} holds no arrays; save them by name: np.savez(path, preds=..., target=...)")
    return arrays


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


def _quote(items, limit: int = 12) -> str:
    items = [repr(str(i)) for i in items]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more if items else "nothing"


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
    """The labels from a --target file (a CSV's as :class:`_Cells`)."""
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
        return _Cells([r[column] for r in rows], p.name, header[column])
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


# ----------------------------------------------------------------------------- labels


class _Cells(NamedTuple):
    """Labels as text: a CSV column's cells, or an array of strings."""

    values: List[str]
    source: str
    column: Optional[str]  # the CSV column; None for an array

    def what(self) -> str:
        return self.source if self.column is None else f"{self.source}, column {self.column!r}"

    def where(self, i: int) -> str:
        return f"{self.source}, label #{i}" if self.column is None else f"{self.what()}, line {i + 2}"


def _encode_labels(raw, source: str, *, cols: int, names, pos_label, task, ignore_index):
    """(labels as the core takes them, the positive class's score column or None) from what a file held.

    Text labels are integers or the score columns' names (``names``); with
    ``pos_label``, 1 where the label equals it, else 0. Numeric binary labels in
    ``{-1, 1}`` become ``{0, 1}``; two other values need ``pos_label``.
    """
    cells = _as_cells(raw, source)
    if cells is not None:
        numbers = _integers([v.strip() for v in cells.values])
        if numbers is None:
            return _text_labels(cells, cols=cols, names=names, pos_label=pos_label, ignore_index=ignore_index)
        raw = numbers
    labels = _as_tensor(raw, source, "labels")
    if labels.ndim == 0:
        raise InputError(f"{source}: the labels are one number (a 0-d tensor); expected shape (N,)")
    if not _real(labels):
        return labels, None  # complex or unsigned: the core's message names the dtype
    if pos_label is not None:
        return _numeric_pos_label(labels, pos_label, source, ignore_index)
    if task in (None, "binary") and cols <= 2:
        return _signed_binary(labels, source, cols=cols, ignore_index=ignore_index), None
    return labels, None


def _as_cells(raw, source: str) -> Optional[_Cells]:
    import numpy as np
    import torch

    if isinstance(raw, _Cells):
        return raw
    if isinstance(raw, torch.Tensor):
        return None
    try:
        arr = np.asarray(raw)
    except (TypeError, ValueError):
        return None  # ragged: _as_tensor says so
    if arr.dtype.kind not in "US" or arr.ndim != 1:
        return None
    try:
        values = [v.decode() if isinstance(v, bytes) else str(v) for v in arr.tolist()]
    except UnicodeDecodeError:
        return None
    return _Cells(values, source, None)


def _integral(v: str) -> Optional[int]:
    try:
        f = float(v)
    except ValueError:
        return None
    return int(f) if f.is_integer() and abs(f) < 2**63 else None


def _integers(values: List[str]):
    """The int64 array of ``values`` if every one is an integer (``"1"``, ``"1.0"``), else None."""
    import numpy as np

    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        n = _integral(v)
        if n is None:
            return None
        out[i] = n
    return out


def _text_labels(cells: _Cells, *, cols: int, names, pos_label, ignore_index):
    import numpy as np
    import torch

    values = [v.strip() for v in cells.values]
    if pos_label is not None:
        skip = [ignore_index is not None and _integral(v) == ignore_index for v in values]
        found = sorted({v for v, s in zip(values, skip) if not s})
        _check_binary_labels(found, pos_label, pos_label, cells.what(), _quote)
        out = np.array([ignore_index if s else int(v == pos_label) for v, s in zip(values, skip)], dtype=np.int64)
        positive = names.index(pos_label) if names and len(names) == 2 and pos_label in names else None
        return torch.from_numpy(out), positive
    index = {n: i for i, n in enumerate(names or [])}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        n = _integral(v)
        if n is None and v not in index:
            break
        out[i] = index[v] if n is None else n
    else:
        return torch.from_numpy(out), None
    found = sorted(set(values))
    if cols == 1 and len(found) <= 2:
        raise InputError(
            f"{cells.what()} holds the labels {_quote(found)}: pass --pos-label NAME to say which one is the"
            " positive class (the one the score column scores)"
        )
    if cols == 1:
        raise InputError(
            f"one score column makes a binary problem, but {cells.what()} holds {len(found)} distinct labels:"
            f" {_quote(found)}"
        )
    known = f"; names must be one of {_quote(names)}" if names else ""
    raise InputError(f"{cells.where(i)}: label {v!r} is not an integer{known}")


def _check_binary_labels(found: list, pos, pos_label: str, what: str, show) -> None:
    if pos not in found:
        raise InputError(f"--pos-label {pos_label!r} is not a label of {what}; its labels are {show(found)}")
    if len(found) > 2:
        raise InputError(
            f"--pos-label {pos_label!r} makes the problem binary, but {what} holds {len(found)} distinct labels:"
            f" {show(found)}"
        )


def _real(t) -> bool:
    import torch

    return t.is_floating_point() or t.dtype in (
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
    )


def _number(v):
    return int(v) if float(v).is_integer() else v


def _numbers(found: list) -> str:
    shown = ", ".join(str(v) for v in found[:12])
    return shown + (f" and {len(found) - 12} more" if len(found) > 12 else "")


def _distinct(labels, ignore_index, source: str) -> list:
    """The sorted distinct label values, ``ignore_index`` left out (ints where integral)."""
    import torch

    flat = labels.reshape(-1)
    kept = flat if ignore_index is None else flat[flat != ignore_index]
    if kept.is_floating_point() and not bool(torch.isfinite(kept).all()):
        raise InputError(f"{source}: the labels hold NaN or infinite values")
    return [_number(v) for v in torch.unique(kept).tolist()]


def _numeric_pos_label(labels, pos_label: str, source: str, ignore_index):
    import torch

    if labels.ndim == 2 and labels.shape[1] != 1:
        raise InputError(
            f"--pos-label is for binary labels of shape (N,); {source} holds labels of shape {tuple(labels.shape)}"
        )
    found = _distinct(labels, ignore_index, source)
    pos = {"true": 1, "false": 0}.get(pos_label.lower()) if labels.dtype == torch.bool else None
    if pos is None:
        try:
            pos = _number(float(pos_label))
        except ValueError:
            raise InputError(
                f"--pos-label {pos_label!r} is not a label of {source}: its labels are numbers ({_numbers(found)})"
            ) from None
    _check_binary_labels(found, pos, pos_label, source, _numbers)
    flat = labels.reshape(-1)
    target = (flat == pos).to(torch.int64)
    if ignore_index is not None:
        target[flat == ignore_index] = ignore_index
    for column_labels in ((0, 1), (-1, 1)):  # two score columns: column k scores label column_labels[k]
        if set(found) <= set(column_labels):
            return target, column_labels.index(pos)
    return target, None


def _signed_binary(labels, source: str, *, cols: int, ignore_index):
    """``{-1, 1}`` labels as ``{0, 1}`` (scikit-learn's convention); two other integers ask for --pos-label."""
    import torch

    if labels.dtype == torch.bool or (labels.ndim == 2 and labels.shape[1] != 1) or labels.numel() == 0:
        return labels
    flat = labels.reshape(-1)
    kept = flat if ignore_index is None else flat[flat != ignore_index]
    if kept.numel() == 0 or (kept.is_floating_point() and not bool(torch.isfinite(kept).all())):
        return labels  # the core's message
    found = _distinct(labels, ignore_index, source)
    if -1 in found and set(found) <= {-1, 1}:
        return torch.where(labels == -1, torch.zeros_like(labels), labels)
    if cols == 1 and len(found) == 2 and all(isinstance(v, int) for v in found) and not set(found) <= {0, 1}:
        raise InputError(
            f"{source} holds the labels {found[0]} and {found[1]}: pass --pos-label with the positive one"
            " (labels 0/1 and -1/1 need none)"
        )
    return labels


def _positive_column_last(preds, positive: Optional[int], pos_label: str, source: str, columns):
    """Binary scores with the positive class's last: one column as it is; of two, the positive's (swapped last)."""
    cols = 1 if preds.ndim == 1 else preds.shape[1]
    if cols == 1:
        return preds
    if cols > 2:
        pick = " (pick its column with --classes)" if columns else ""
        raise InputError(
            f"--pos-label {pos_label!r} makes the problem binary, but {source} has {cols} score columns:"
            f" give the positive class's score alone{pick}"
        )
    if positive is None:
        held = f"score columns {_quote(columns)}" if columns else "two score columns"
        fix = "name them after the labels, or pick one with --classes" if columns else "save that column alone"
        raise InputError(f"{source} has {held}, and which one scores --pos-label {pos_label!r} is unknown: {fix}")
    return preds if positive == 1 else preds[:, [1, 0]]


# ----------------------------------------------------------------------------- CSV


def _csv_rows(p: Path) -> Tuple[List[str], List[List[str]]]:
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{p.name} is not a readable CSV file: {_reason(err)}") from None
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
    """(scores (N, C) float64 array, the label cells or None, score column names) from a CSV with a header."""
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
        labels = _Cells([r[t_col] for r in rows], p.name, header[t_col])
    elif need_target:
        raise InputError(
            f"{p.name} has no label column: expected one of {_quote(TARGET_KEYS)} (or --target-key / --target);"
            f" its columns are {_quote(header)}"
        )
    if scores.shape[1] == 1:
        scores = scores[:, 0]
    return scores, labels, names


# ----------------------------------------------------------------------------- entry point


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except InputError as err:
        message = " ".join(str(err).split("\n"))  # one line, even for a file name holding a newline
        print(f"{parser.prog} {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `auroc-callbacks report ... | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
