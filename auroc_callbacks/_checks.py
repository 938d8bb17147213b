"""Argument and tensor validation, kept apart from the maths.

Three stages, so that callers can run each exactly once:

* :func:`check_options` — the keyword options (pure Python, no tensors);
* :func:`check_layout` — types, ranks and shapes of a ``(preds, target)`` pair
  and the task they imply. Needs no host synchronisation, so the accumulator
  runs it on every batch in ``update``;
* :func:`check_values` — NaN scores and out-of-range labels. These need a look
  at the data (a device-to-host sync), so the accumulator defers them to
  ``compute`` and runs them once on the whole epoch.

Every failure is a ``TypeError`` (wrong type) or ``ValueError`` (wrong value)
whose message names the argument, what is allowed and what was received.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from types import FrameType
from typing import Any, List, NamedTuple, Optional, Sequence, cast

import torch

TASKS = ("binary", "multiclass", "multilabel")
AVERAGES = ("macro", "weighted", "micro", None)
MULTI_CLASS = ("ovr", "ovo")
ACTIVATIONS = ("auto", "softmax", "sigmoid", None)

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class UndefinedAUROCWarning(UserWarning):
    """AUROC is undefined for a class (no positive or no negative samples) or for NaN scores.

    The affected values are NaN; averages are taken over the defined classes.
    Filter it like any warning: ``warnings.simplefilter("ignore", UndefinedAUROCWarning)``.
    """


class InterpretationWarning(UserWarning):
    """How ambiguous input was read: one per epoch (accumulators) or per call, naming the option that changes it.

    ``activation="auto"`` ranking (N, C) scores in [0, 1] as given although
    their rows do not sum to 1, a one-hot ``target`` scored as multiclass,
    hard-label (integer) predictions. Filter it like any warning:
    ``warnings.simplefilter("ignore", InterpretationWarning)``.
    """


class Options(NamedTuple):
    """The validated keyword options shared by every public entry point."""

    task: Optional[str]
    num_classes: Optional[int]
    average: Optional[str]
    multi_class: str
    activation: Optional[str]
    max_fpr: Optional[float]
    ignore_index: Optional[int]
    pos_label: Optional[int] = None  # binary: the positive label (None: 1, of 0/1 or -1/1)


class Layout(NamedTuple):
    """What the shapes of ``(preds, target)`` say about the problem."""

    task: str
    num_classes: int  # 1 for binary
    binary_column: Optional[int]  # binary task given as (N, 2) scores: use column 1


# ----------------------------------------------------------------------------- declarative option rules


class Choice(NamedTuple):
    """One of the given values (compared with ``==``)."""

    values: tuple

    def __repr__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class Interval(NamedTuple):
    """A number of ``kind`` (``int`` or ``float``; never a bool) in a range; ``None`` ends are open."""

    kind: type
    lo: Optional[float] = None
    hi: Optional[float] = None
    closed: str = "both"  # "both", "left", "right" or "neither"

    def holds(self, x) -> bool:
        lo_ok = self.lo is None or (x >= self.lo if self.closed in ("both", "left") else x > self.lo)
        hi_ok = self.hi is None or (x <= self.hi if self.closed in ("both", "right") else x < self.hi)
        return bool(lo_ok and hi_ok)

    def __repr__(self) -> str:
        what = "an int" if self.kind is int else "a float"
        if self.lo is None and self.hi is None:
            return what
        if self.hi is None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {self.lo}"
        if self.lo is None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {self.hi}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{what} in {left}{self.lo}, {self.hi}{right}"


#: a non-empty ``str``
NONEMPTY_STR = "non-empty str"


def _kind_of(rule) -> Optional[tuple]:
    """The Python types a value must have for ``rule`` to be about it (its type check), or None for any."""
    if rule is None:
        return (type(None),)
    if rule is NONEMPTY_STR:
        return (str,)
    if isinstance(rule, Interval):
        return (numbers.Integral,) if rule.kind is int else (numbers.Real,)
    if isinstance(rule, Choice):
        return tuple({type(v) for v in rule.values})
    if rule is callable:
        return None
    return (rule,)


def _satisfies(value, rule) -> bool:
    if rule is callable:
        return callable(value)
    kinds = cast(tuple, _kind_of(rule))  # a tuple: only the `callable` rule, handled above, has None
    if isinstance(value, bool) and bool not in kinds and rule is not object:
        return False  # True is no int and no float here
    if not isinstance(value, kinds):
        return False
    if rule is NONEMPTY_STR:
        return bool(value)
    if isinstance(rule, Interval):
        return rule.holds(value)
    if isinstance(rule, Choice):
        return any(value == v and type(value) is type(v) for v in rule.values)
    return True


def _describe_rule(rule) -> str:
    if rule is None:
        return "None"
    if rule is callable:
        return "a callable"
    if isinstance(rule, type):
        return {bool: "a bool", str: "a str"}.get(rule, f"a {rule.__name__}")
    return repr(rule) if not isinstance(rule, str) else f"a {rule}"


def check_params(rules: dict, **values) -> None:
    """Check each named value against its list of allowed rules (any one suffices), as scikit-learn's ``validate_params``.

    A rule is ``None``, a type (``bool``, ``str``, ``torch.dtype``...),
    :class:`Choice`, :class:`Interval`, :data:`NONEMPTY_STR` or ``callable``.
    A value of no allowed type raises ``TypeError``; one of an allowed type
    but not an allowed value, ``ValueError``. Both messages name the argument,
    what is allowed and what was received.

    Example:
        >>> check_params({"n_bins": [Interval(int, 1)]}, n_bins=0)
        Traceback (most recent call last):
        ...
        ValueError: `n_bins` must be an int >= 1; got 0
    """
    for name, value in values.items():
        allowed = rules[name]
        if any(_satisfies(value, rule) for rule in allowed):
            continue
        want = " or ".join(_describe_rule(r) for r in allowed)
        typed = any(
            r is not callable
            and isinstance(value, cast(tuple, _kind_of(r)))
            and not (isinstance(value, bool) and bool not in cast(tuple, _kind_of(r)))
            for r in allowed
        )
        if typed:
            raise ValueError(f"`{name}` must be {want}; got {value!r}")
        raise TypeError(f"`{name}` must be {want}; got {type(value).__name__} {value!r}")


def _fmt(choices: tuple) -> str:
    return ", ".join(repr(c) for c in choices)


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_options(
    *,
    task=None,
    num_classes=None,
    average="macro",
    multi_class="ovr",
    activation="auto",
    max_fpr=None,
    ignore_index=None,
    pos_label=None,
) -> Options:
    """Validate the keyword options; return them normalised."""
    if task not in (None,) + TASKS:
        raise ValueError(f"`task` must be one of None, {_fmt(TASKS)}; got {task!r}")
    if num_classes is not None and not _is_int(num_classes):
        raise TypeError(f"`num_classes` must be an int or None; got {type(num_classes).__name__} {num_classes!r}")
    if num_classes is not None and num_classes < 1:
        raise ValueError(f"`num_classes` must be >= 1; got {num_classes!r}")
    if average not in AVERAGES:
        raise ValueError(f"`average` must be one of {_fmt(AVERAGES)}; got {average!r}")
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"`multi_class` must be one of {_fmt(MULTI_CLASS)}; got {multi_class!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"`activation` must be one of {_fmt(ACTIVATIONS)}; got {activation!r}")
    if max_fpr is not None and (isinstance(max_fpr, bool) or not isinstance(max_fpr, numbers.Real)):
        raise TypeError(f"`max_fpr` must be a float in (0, 1] or None; got {type(max_fpr).__name__} {max_fpr!r}")
    if max_fpr is not None and not 0 < cast(float, max_fpr) <= 1:
        raise ValueError(f"`max_fpr` must be in (0, 1]; got {max_fpr!r}")
    if ignore_index is not None and not _is_int(ignore_index):
        raise TypeError(f"`ignore_index` must be an int or None; got {type(ignore_index).__name__} {ignore_index!r}")
    if pos_label is not None and not _is_int(pos_label):
        raise TypeError(f"`pos_label` must be an int or None; got {type(pos_label).__name__} {pos_label!r}")
    if pos_label is not None and task in ("multiclass", "multilabel"):
        raise ValueError(f"`pos_label` is for binary targets; got pos_label={pos_label!r} with task={task!r}")
    if multi_class == "ovo" and average == "micro":
        raise ValueError("`average='micro'` is not defined for `multi_class='ovo'`; use 'macro', 'weighted' or None")
    if multi_class == "ovo" and max_fpr is not None:
        raise ValueError(f"`max_fpr` is supported with `multi_class='ovr'` only; got max_fpr={max_fpr!r} with 'ovo'")
    return Options(
        task,
        None if num_classes is None else int(num_classes),
        average,
        multi_class,
        activation,
        None if max_fpr is None else float(max_fpr),
        None if ignore_index is None else int(ignore_index),
        None if pos_label is None else int(pos_label),
    )


def one_sample(preds, target):
    """``(preds, target)`` with a 0-d side made ``(1,)`` when the other holds one sample; else unchanged. No sync.

    ``logits.squeeze()`` on a last batch of one row gives a 0-d prediction,
    next to a target of shape ``()``, ``(1,)`` or ``(1, 1)``: one sample, as a
    0-d target next to ``(1,)`` or ``(1, C)`` predictions is. Any other mix is
    returned as it came, for :func:`check_layout` to refuse by name.

    Example:
        >>> p, t = one_sample(torch.tensor(0.3), torch.tensor([1]))
        >>> tuple(p.shape), tuple(t.shape)
        ((1,), (1,))
    """
    if not (isinstance(preds, torch.Tensor) and isinstance(target, torch.Tensor)):
        return preds, target
    if preds.ndim == 0 and target.ndim <= 2 and target.numel() == 1 and (target.ndim == 0 or target.shape[0] == 1):
        preds = preds.reshape(1)
        if target.ndim == 0:
            target = target.reshape(1)
    elif target.ndim == 0 and preds.ndim in (1, 2) and preds.shape[0] == 1:
        target = target.reshape(1)
    return preds, target


def check_layout(preds, target, opts: Options, *, allow_empty: bool = False) -> Layout:
    """Check types and shapes (no host sync) and resolve the task. An accumulator's batch may be empty.

    A 0-d side next to one sample is one sample (:func:`one_sample`); callers
    that keep the tensors pass them through :func:`one_sample` too.
    """
    if not isinstance(preds, torch.Tensor):
        raise TypeError(f"`preds` must be a torch.Tensor; got {type(preds).__name__}")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"`target` must be a torch.Tensor; got {type(target).__name__}")
    preds, target = one_sample(preds, target)
    _check_tensors(preds, target, opts, allow_empty)
    cols = 1 if preds.ndim == 1 else preds.shape[1]
    tcols = 1 if target.ndim == 1 else target.shape[1]
    task = opts.task
    if task is None:
        if cols == 1:
            task = "binary"
        elif tcols == 1:
            task = "multiclass"
        else:
            task = "multilabel"

    if opts.pos_label is not None and task != "binary":
        raise ValueError(
            f"`pos_label` is for binary targets; got pos_label={opts.pos_label!r} with {task} input"
            f" (preds {tuple(preds.shape)}, target {tuple(target.shape)})"
        )
    if task == "binary":
        if cols > 2:
            raise ValueError(
                f"task 'binary' needs `preds` of shape (N,), (N, 1) or (N, 2); got {tuple(preds.shape)}"
                " (pass task='multiclass' or 'multilabel' for more columns)"
            )
        if tcols != 1:
            raise ValueError(f"task 'binary' needs `target` of shape (N,) or (N, 1); got {tuple(target.shape)}")
        if opts.num_classes not in (None, 1, 2):
            raise ValueError(f"`num_classes` must be None, 1 or 2 for task 'binary'; got {opts.num_classes!r}")
        if cols == 1 and opts.activation == "softmax":
            raise ValueError(
                "`activation='softmax'` needs (N, 2) scores for task 'binary': softmax over one column is constant;"
                f" got preds of shape {tuple(preds.shape)} (use 'sigmoid', 'auto' or None)"
            )
        return Layout("binary", 1, 1 if cols == 2 else None)

    if task == "multiclass":
        if cols < 2:
            raise ValueError(f"task 'multiclass' needs `preds` of shape (N, C) with C >= 2; got {tuple(preds.shape)}")
        if tcols != 1:
            raise ValueError(
                f"task 'multiclass' needs integer `target` of shape (N,); got {tuple(target.shape)}"
                " (one-hot targets: pass target.argmax(1); several labels per sample: task='multilabel')"
            )
    else:  # multilabel
        if opts.multi_class == "ovo":
            raise ValueError(
                "`multi_class='ovo'` is defined for multiclass input only; got multilabel preds and target"
            )
        if cols < 2 or tcols != cols:
            raise ValueError(
                "task 'multilabel' needs `preds` and `target` of the same shape (N, C) with C >= 2;"
                f" got preds {tuple(preds.shape)} and target {tuple(target.shape)}"
            )
    if opts.num_classes is not None and opts.num_classes != cols:
        raise ValueError(
            f"`num_classes`={opts.num_classes} disagrees with `preds`, which has {cols} columns (shape {tuple(preds.shape)})"
        )
    return Layout(task, cols, None)


def _check_tensors(preds: torch.Tensor, target: torch.Tensor, opts: Options, allow_empty: bool) -> None:
    """dtypes, ranks, sample counts and ``ignore_index``'s range: what no layout decides."""
    if preds.is_complex() or not (preds.is_floating_point() or preds.dtype == torch.bool or _int_dtype(preds.dtype)):
        raise TypeError(f"`preds` must hold real numbers (float, int or bool); got dtype {preds.dtype}")
    if target.is_complex() or not (
        target.is_floating_point() or target.dtype == torch.bool or _int_dtype(target.dtype)
    ):
        raise TypeError(f"`target` must hold labels (int, bool or integral float); got dtype {target.dtype}")
    for arg, t, other in (("preds", preds, target), ("target", target, preds)):
        if t.ndim not in (1, 2):
            squeezed = (
                f" next to {'target' if arg == 'preds' else 'preds'} of shape {tuple(other.shape)}, which is"
                " not one sample (a 0-d value is one sample; keep the batch dimension: `.reshape(-1)`)"
            )
            raise ValueError(
                f"`{arg}` must be 1-d (N,) or 2-d (N, C); got shape {tuple(t.shape)}"
                + (squeezed if t.ndim == 0 else "")
            )
    if preds.shape[0] != target.shape[0]:
        raise ValueError(
            f"`preds` and `target` must have the same number of samples; got preds {tuple(preds.shape)}"
            f" and target {tuple(target.shape)}"
        )
    if preds.shape[0] == 0 and not allow_empty:
        raise ValueError(f"`preds` and `target` are empty (shape {tuple(preds.shape)}); AUROC needs samples")
    if preds.ndim == 2 and preds.shape[1] == 0:
        raise ValueError(f"`preds` has no columns; got shape {tuple(preds.shape)}")

    if opts.ignore_index is not None and _int_dtype(target.dtype):
        info = torch.iinfo(target.dtype)
        if not info.min <= opts.ignore_index <= info.max:
            raise ValueError(
                f"`ignore_index`={opts.ignore_index} cannot occur in a `target` of dtype {target.dtype}"
                f" (values {info.min}..{info.max})"
            )


def _int_dtype(dtype: torch.dtype) -> bool:
    return dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def bad_scores(preds: torch.Tensor, layout: Layout, activation: Optional[str]) -> Optional[str]:
    """Why these scores cannot be ranked (NaN; +-inf logits under a softmax), or None. One host sync.

    Binary and multilabel scores may be infinite: they are ranked as given.
    A softmax over a row holding +inf (or only -inf) is NaN, so infinite
    logits are refused where a softmax may apply (fp16 overflow is the usual cause).
    """
    if not preds.is_floating_point():
        return None
    total = preds.sum(dtype=torch.float32 if preds.element_size() < 4 else None)  # (float16 would overflow)
    if bool(torch.isfinite(total)):  # one cheap pass: a NaN or inf term would make the sum NaN or inf
        return None  # (finite terms may overflow the sum to inf: then the checks below tell)
    if bool(torch.isnan(preds).any()):
        return "`preds` contains NaN (a diverged model?); AUROC needs finite or infinite scores"
    softmax_possible = (layout.task == "multiclass" or layout.binary_column is not None) and activation in (
        "auto",
        "softmax",
    )
    if softmax_possible and bool(torch.isinf(preds).any()):
        return (
            "`preds` contains +-inf logits, and a softmax over such a row is undefined (float16 overflow?);"
            " pass finite logits, or probabilities with activation=None"
        )
    return None


def check_values(preds: torch.Tensor, target: torch.Tensor, layout: Layout, opts: Options) -> None:
    """Check label values, and that the scores can be ranked (:func:`bad_scores`). Costs a few host syncs."""
    ignore_index = opts.ignore_index
    keep = None if ignore_index is None else target != ignore_index
    t = target if keep is None else target[keep]
    if t.numel() == 0:
        from .distributed import EmptyEpochError  # a ValueError; the callbacks skip such an epoch, never crash

        raise EmptyEpochError(f"every target equals `ignore_index`={ignore_index}: nothing is left to score")
    if t.is_floating_point():
        bad = t[(t != t.round()) | ~torch.isfinite(t)]
        if bad.numel():
            raise ValueError(
                f"`target` must hold integer labels; got fractional or non-finite values such as {bad[0].item()!r}"
            )
    if layout.task == "binary":
        check_class_indices(preds, target, opts)
        check_binary_labels(t, opts.pos_label)
    elif t.dtype != torch.bool:
        lo, hi = (v.item() for v in torch.aminmax(t))  # one pass
        upper = layout.num_classes if layout.task == "multiclass" else 2
        if lo < 0:
            extra = "" if ignore_index is None else f" other than `ignore_index`={ignore_index}"
            raise ValueError(f"`target` holds negative labels{extra}; got {_num(lo)}")
        if hi >= upper:
            if layout.task == "multiclass":
                raise ValueError(
                    f"`target` holds label {_num(hi)}, but `preds` has {layout.num_classes} columns"
                    f" (labels must be in [0, {layout.num_classes - 1}])"
                )
            raise ValueError(f"`target` must be 0/1 for task {layout.task!r}; got {_num(hi)}")
    reason = bad_scores(preds, layout, opts.activation)
    if reason is not None:
        raise ValueError(reason)


def _num(x):
    return int(x) if float(x).is_integer() else x


def check_binary_labels(labels: torch.Tensor, pos_label: Optional[int]) -> None:
    """The labels of a binary target (``ignore_index`` left out, integral): scikit-learn's conventions. Syncs.

    Without ``pos_label``: 0/1 or -1/1, 1 positive (one value alone is one
    class). With it: at most two values, ``pos_label`` one of them when
    there are two; positives are ``target == pos_label``, negatives the other value.
    """
    if labels.dtype == torch.bool and pos_label is None:
        return  # 0/1
    t = labels.to(torch.int8) if labels.dtype == torch.bool else labels
    lo, hi = (_num(v) for v in torch.stack(torch.aminmax(t)).tolist())  # one pass
    if pos_label is None:
        if lo >= 0 and hi <= 1:
            return
        if lo == -1 and hi <= 1 and not bool((t == 0).any()):
            return  # -1/1 (or -1 alone): 1 is positive
    values = [_num(v) for v in torch.unique(t).tolist()]
    shown = name_list(values, limit=8)
    if len(values) > 2:
        raise ValueError(
            f"`target` holds more than two labels ({shown}); a binary target has two"
            " (for more classes pass (N, C) scores)"
        )
    if pos_label is None:
        raise ValueError(
            f"`target` holds the label(s) {shown}; a binary target is 0/1 or -1/1 (1 is positive):"
            " pass pos_label to name the positive label"
        )
    if len(values) == 2 and pos_label not in values:
        raise ValueError(f"`pos_label`={pos_label!r} is not one of the labels in `target` ({shown})")


def check_class_indices(preds, target, opts: Options) -> None:
    """Refuse class indices given as predictions (``logits.argmax(1)``), a torchmetrics habit, naming the fix.

    Integer ``(N,)`` (or ``(N, 1)``) predictions up to more than 1, next to a
    target holding a label above 1: no binary AUROC is meant. One host sync,
    for integer predictions only (float scores return at once, no sync);
    the accumulators run it on the first batch after ``reset``.
    """
    if preds.is_floating_point() or preds.dtype == torch.bool or not preds.numel() or opts.pos_label is not None:
        return
    if preds.ndim not in (0, 1) and not (preds.ndim == 2 and preds.shape[1] == 1):
        return
    t = target.reshape(-1).double()
    if opts.ignore_index is not None:
        t = torch.where(target.reshape(-1) == opts.ignore_index, -math.inf, t)
    hi_preds, hi_target = torch.stack([preds.max().double(), t.max()]).tolist()
    if hi_preds > 1 and hi_target > 1:
        raise ValueError(
            f"AUROC needs scores, not class indices: `preds` holds integer labels up to {int(hi_preds)};"
            " pass the logits or probabilities, shape (N, C)"
        )


def check_class_names(class_names, num_classes: int, *, binary_default: str) -> List[str]:
    """The one resolver of display names: one per class, or for a binary problem the positive class's.

    ``num_classes`` is the length of ``per_class`` (1 for binary). Binary
    accepts 1 or 2 names, the last naming the positive class; ``None`` gives
    ``[binary_default]`` (``"1"`` in the callbacks and reports, ``"ROC curve"``
    in the plots), else ``"0"``..``"C-1"``. Names are made ``str``.

    Example:
        >>> check_class_names(["benign", "malignant"], 1, binary_default="1")
        ['malignant']
        >>> check_class_names(None, 3, binary_default="1"), check_class_names(None, 1, binary_default="ROC curve")
        (['0', '1', '2'], ['ROC curve'])
    """
    binary = num_classes == 1
    if class_names is None:
        return [binary_default] if binary else [str(c) for c in range(num_classes)]
    if isinstance(class_names, (str, bytes)) or not isinstance(class_names, Sequence):
        raise TypeError(f"`class_names` must be a sequence of names; got {type(class_names).__name__}")
    allowed = (1, 2) if binary else (num_classes,)
    if len(class_names) not in allowed:
        want = "1 or 2 names (the last names the positive class)" if binary else f"{num_classes} names"
        raise ValueError(f"`class_names` must have {want}; got {len(class_names)}")
    names = [str(n) for n in class_names]
    return names[-1:] if binary else names


def check_writer(writer, step, tag) -> None:
    """The arguments every TensorBoard logging function takes: a SummaryWriter-like ``writer``, an int ``step``, a tag."""
    if not callable(getattr(writer, "add_scalar", None)):
        raise TypeError(f"`writer` must have an add_scalar method (a SummaryWriter); got {type(writer).__name__}")
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"`step` must be an int; got {type(step).__name__} {step!r}")
    if not isinstance(tag, str):
        raise TypeError(f"`tag` must be a str; got {type(tag).__name__} {tag!r}")
    if not tag.strip("/"):
        raise ValueError(f"`tag` must be a non-empty tag name; got {tag!r}")


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside this package: the user's line, however deep the call.

    A fixed ``stacklevel`` points into the package whenever the warning is
    reached by another route (a report, an accumulator's histogram mode).
    """
    frame: Optional[FrameType] = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def warn_interpretations(notes: Sequence[str]) -> None:
    """One :class:`InterpretationWarning` per distinct note (how the input was read), at the user's line."""
    for note in dict.fromkeys(notes):
        warn(note, InterpretationWarning)


# ----------------------------------------------------------------------------- the undefined-AUROC messages


def name_list(items: list, limit: int = 20) -> str:
    """``"0, 3, 7"``, cut after ``limit`` items (``"... and 12 more"``)."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def one_class_message(no_positives: bool) -> str:
    """The one wording of a binary AUROC without positives (or without negatives)."""
    which = "negative" if no_positives else "positive"
    return f"AUROC is undefined: only one class is present in `target` (every sample is {which}); returning NaN"


def warn_undefined(
    layout: Layout, pos: torch.Tensor, neg: torch.Tensor, average: Optional[str], *, also_ap: bool = False
) -> None:
    """One :class:`UndefinedAUROCWarning` naming the classes without positives or negatives, if any.

    ``also_ap``: the average precision was computed too; the one warning says
    that it is NaN where there are no positives (rather than a second warning).
    """
    no_pos = (pos == 0).nonzero(as_tuple=True)[0].tolist()
    no_neg = (neg == 0).nonzero(as_tuple=True)[0].tolist()
    if not no_pos and not no_neg:
        return
    if layout.task == "binary":
        msg = one_class_message(bool(no_pos))
    else:
        what = "class" if layout.task == "multiclass" else "label"
        parts = []
        if no_pos:
            parts.append(f"{what}(es) {name_list(no_pos)} (no positive samples)")
        if no_neg:
            parts.append(f"{what}(es) {name_list(no_neg)} (no negative samples)")
        tail = f"; left out of the {average!r} average" if average in ("macro", "weighted") else ""
        msg = f"AUROC is undefined for {' and '.join(parts)}: NaN{tail}"
    if also_ap and no_pos:
        msg += "; so is the average precision" + ("" if layout.task == "binary" else " where there are no positives")
    warn(msg, UndefinedAUROCWarning)


def warn_no_positives(layout: Layout, pos: torch.Tensor, average: Optional[str]) -> None:
    """One :class:`UndefinedAUROCWarning` naming the classes whose average precision is undefined (no positives)."""
    no_pos = (pos == 0).nonzero(as_tuple=True)[0].tolist()
    if not no_pos:
        return
    if layout.task == "binary":
        msg = "average precision is undefined: `target` has no positive sample; returning NaN"
    else:
        what = "class" if layout.task == "multiclass" else "label"
        tail = f"; left out of the {average!r} average" if average in ("macro", "weighted") else ""
        msg = f"average precision is undefined for {what}(es) {name_list(no_pos)} (no positive samples): NaN{tail}"
    warn(msg, UndefinedAUROCWarning)


def check_sample_weight(sample_weight, n: int, *, name: str = "sample_weight", values: bool = True):
    """``sample_weight`` as a (n,) tensor, or None: float, int or bool, finite and non-negative.

    Types and shapes cost nothing; ``values`` (one host sync) also checks
    that no weight is negative, NaN or infinite. A 0-d weight of one sample
    is ``(1,)``; ``(n, 1)`` is ``(n,)``.
    """
    if sample_weight is None:
        return None
    if not isinstance(sample_weight, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor of shape (N,) or None; got {type(sample_weight).__name__}")
    if sample_weight.is_complex():
        raise TypeError(f"`{name}` must be a real (float, int or bool) tensor; got dtype {sample_weight.dtype}")
    w = sample_weight.reshape(1) if sample_weight.ndim == 0 and n == 1 else sample_weight
    if w.ndim == 2 and w.shape[1] == 1:
        w = w.reshape(-1)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"`{name}` must have shape ({n},), one weight per sample of `preds`; got {tuple(sample_weight.shape)}"
        )
    if values and w.numel() and w.is_floating_point():
        bad = ~torch.isfinite(w) | (w < 0)
        if bool(bad.any()):
            first = int(bad.nonzero()[0, 0])
            raise ValueError(f"`{name}` must be finite and non-negative; got {w[first].item()!r} at index {first}")
    elif values and w.numel() and w.dtype != torch.bool and bool((w < 0).any()):
        first = int((w < 0).nonzero()[0, 0])
        raise ValueError(f"`{name}` must be finite and non-negative; got {w[first].item()!r} at index {first}")
    return w


def warn_ovo_absent(absent: List[int]) -> None:
    """The one warning for one-vs-one pairs whose classes have no samples (NaN, left out of the average)."""
    if absent:
        warn(
            f"one-vs-one AUROC is undefined for pairs with class(es) {name_list(absent)}: they have no samples;"
            " those pairs are NaN and left out of the average",
            UndefinedAUROCWarning,
        )


# ----------------------------------------------------------------------------- undefined results


def nan_like(result, *, keep: Sequence[str] = ()):
    """``result`` made undefined: every floating-point tensor NaN (same shape, dtype and device), the rest kept.

    The one way a result NamedTuple (:class:`~auroc_callbacks.AUROCScores`,
    :class:`~auroc_callbacks.AUROCInterval`, :class:`~auroc_callbacks.AUROCBound`,
    :class:`~auroc_callbacks.calibration.CalibrationSummary`...) becomes NaN:
    integer and bool tensors (supports, counts), Python numbers (levels,
    sample counts), strings and dtypes are kept, and so are the fields named
    in ``keep``. Nested NamedTuples (a summary's ``Reliability``) are made NaN
    the same way; a bare tensor gives a NaN tensor. Fresh tensors: nothing is
    modified in place.

    Example:
        >>> import torch
        >>> from auroc_callbacks import AUROCScores
        >>> s = nan_like(AUROCScores(torch.tensor(0.75), torch.tensor([0.75]), torch.tensor([2]), 4))
        >>> s.value.isnan().item(), s.support.tolist(), s.num_samples
        (True, [2], 4)
    """
    if isinstance(result, torch.Tensor):
        return torch.full_like(result, float("nan")) if result.is_floating_point() else result
    fields = getattr(type(result), "_fields", None)
    if not isinstance(result, tuple) or fields is None:
        return result
    unknown = sorted(set(keep) - set(fields))
    if unknown:
        raise ValueError(f"`keep` must name fields of {type(result).__name__}; got {', '.join(map(repr, unknown))}")
    return cast(Any, result)._replace(**{f: nan_like(getattr(result, f)) for f in fields if f not in keep})
