"""The callbacks that watch our values (checkpointing, early stopping), framework-neutral: no clash, no crash, said once.

An undefined epoch (one class only, NaN scores) logs NaN with the library's
one :class:`~auroc_callbacks.UndefinedAUROCWarning`: never a made-up 0 or
0.5. What the trackers of a framework make of that NaN is theirs (Lightning's
``ModelCheckpoint`` ranks it worst; its ``EarlyStopping(check_finite=True)``
stops), and the integrations use these helpers to say so in that one
warning, or to keep a fit that would otherwise crash at its end (fastai's
``SaveModelCallback`` loading a file it never saved).
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any, Callable, Container, Dict, List, Literal, Mapping, Optional, Sequence, cast

import torch

from ._checks import UndefinedAUROCWarning

__all__ = [
    "UndefinedNote",
    "check_columns",
    "column_owner",
    "keep_final_weights",
    "never_improved",
    "never_saved",
    "stop_note",
    "stop_notes",
]


def check_columns(ours: Sequence[str], existing: Sequence[str], owner: Callable[[str], str], *, who: str) -> None:
    """Refuse a column of ours whose name is taken (by another column, or twice by ours), naming both and the fix.

    Two columns of one name hold different numbers, and a tracker monitoring
    that name silently follows the first.

    Args:
        ours: the columns the callback is about to add.
        existing: the columns already there.
        owner: ``owner(name)`` says who made an existing column (``"the metric AUROC(name='auroc')"``).
        who: the callback, as the user wrote it (``"AUROCCallback(name='auroc')"``).

    Example:
        >>> check_columns(["auroc"], ["epoch", "auroc"], lambda c: "the metric AUROC", who="AUROCCallback()")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: AUROCCallback() adds the column 'auroc', which the metric AUROC already has: ...
    """
    seen = set()
    for col in ours:
        if col in seen:
            raise ValueError(
                f"{who} would add the column {col!r} twice (a class name makes the key of another"
                " column); pass distinct `class_names=`"
            )
        seen.add(col)
        if col in existing:
            raise ValueError(
                f"{who} adds the column {col!r}, which {owner(col)} already has: two columns of one name hold"
                f" different numbers, and a tracker (SaveModelCallback(monitor={col!r})) would follow the first."
                " Rename one with `name=` (e.g. AUROCCallback(name='val_auroc'))"
            )


def column_owner(column: str, metrics: Sequence, callbacks: Sequence) -> str:
    """Who has ``column`` already: one of ``metrics`` (by ``.name``), one of ``callbacks`` (by ``.columns``), or the Recorder."""
    for m in metrics:
        if getattr(m, "name", None) == column:
            shown = repr(m) if cast(object, type(m).__repr__) is not object.__repr__ else repr(column)
            return f"the metric {shown}"
    for cb in callbacks:
        if column in getattr(cb, "columns", ()):
            return f"another {cb!r}"
    return "the Recorder"


def never_saved(savers: Sequence, columns: Sequence[str]) -> list:
    """The best-model savers monitoring one of ``columns`` that saved nothing this fit (their ``best`` is still ±inf).

    A saver here has ``monitor``, ``best``, ``every_epoch`` and ``at_end``
    (fastai's ``SaveModelCallback``): one that saves every epoch or at the
    end has a file whatever the values were.
    """
    return [s for s in savers if s.monitor in columns and not s.every_epoch and not s.at_end and never_improved(s.best)]


def keep_final_weights(learn, savers: Sequence, columns: Sequence[str]) -> None:
    """Save the final weights for each of ``savers`` (fastai's ``SaveModelCallback``) that never saved, with one warning.

    Such a saver monitored one of ``columns`` and every value was NaN
    (:func:`never_saved`); at its ``after_fit`` it would load a file that
    does not exist. Saving the final weights under its ``fname`` (as
    ``at_end=True`` would) keeps the fit.
    """
    for tracker in never_saved(savers, columns):
        tracker.last_saved_path = learn.save(tracker.fname, with_opt=tracker.with_opt)
        warnings.warn(
            f"AUROCCallback: no epoch's `{tracker.monitor}` was defined (every value was NaN),"
            f" so SaveModelCallback(monitor={tracker.monitor!r}) saved no best model; the final"
            f" weights were saved as {tracker.fname!r} and kept",
            UserWarning,
            stacklevel=3,
        )


def stop_note(monitor: str) -> str:
    """What ``EarlyStopping(check_finite=True)`` does with an undefined epoch, for the undefined-AUROC warning."""
    return (
        f"EarlyStopping(monitor={monitor!r}, check_finite=True) will stop training on this undefined epoch;"
        " pass check_finite=False to wait it out"
    )


def stop_notes(stoppers: Sequence, pattern: str, warned: Container[str]) -> Dict[str, str]:
    """The :func:`stop_note` of each early stopper (``check_finite=True``) monitoring a key ``pattern`` matches whole.

    ``pattern``: our keys (:func:`auroc_callbacks._callback.key_pattern`). Those whose key is in ``warned``
    (noted already) are left out: the undefined-AUROC warning says it once.
    """
    return {
        es.monitor: stop_note(es.monitor)
        for es in stoppers
        if es.check_finite and re.fullmatch(pattern, es.monitor) and es.monitor not in warned
    }


def never_improved(best) -> bool:
    """A tracker's ``best`` still at its start (``inf`` or ``-inf``): every value it saw was NaN."""
    try:
        return math.isinf(float(best))
    except (TypeError, ValueError):
        return False


class UndefinedNote:
    """Hold the warnings of a block; on leaving, issue them again, the first undefined-AUROC one with notes added.

    ``notes`` maps a key to what to add when that key's value is NaN (see
    :meth:`check`): one warning, not a second one. With no notes the block
    is left alone (nothing is held).

    Example:
        >>> import torch, warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     with UndefinedNote({"auroc": "a tracker stops"}) as note:
        ...         warnings.warn("AUROC is undefined", UndefinedAUROCWarning)
        ...         note.check({"auroc": torch.tensor(float("nan"))})
        ['auroc']
        >>> [str(w.message) for w in caught]
        ['AUROC is undefined; a tracker stops']
    """

    def __init__(self, notes: Mapping[str, str]):
        self.notes: Dict[str, str] = dict(notes)
        self.added: List[str] = []
        self._catch: Optional[Any] = None  # warnings.catch_warnings, while entered with notes
        self._caught: Optional[List[warnings.WarningMessage]] = None

    def __enter__(self) -> UndefinedNote:
        if self.notes:
            self._catch = warnings.catch_warnings(record=True)
            self._caught = self._catch.__enter__()
            warnings.simplefilter("always")
        return self

    def check(self, values: Mapping[str, torch.Tensor]) -> List[str]:
        """The keys of ``notes`` whose value is NaN (one host sync each, once per epoch); their notes are added."""
        self.added = [key for key in self.notes if key in values and bool(torch.isnan(values[key]))]
        return self.added

    def __exit__(self, *exc) -> Literal[False]:
        if self._catch is None:
            return False
        self._catch.__exit__(*exc)
        pending = "; ".join(self.notes[key] for key in self.added)
        for w in cast(List[warnings.WarningMessage], self._caught):  # set with _catch
            message = str(w.message)
            if pending and issubclass(w.category, UndefinedAUROCWarning):
                message, pending = f"{message}; {pending}", ""
            warnings.warn_explicit(message, w.category, w.filename, w.lineno, source=w.source)
        if pending:  # NaN without a warning of ours (cannot happen today): the note still reaches the user
            warnings.warn(pending, UndefinedAUROCWarning, stacklevel=2)
        return False
