"""One epoch result, shared by every integration: what is computed at an epoch's end, and what is logged.

The pipeline's last stage before a framework's logger::

    accumulator (update per batch) -> compute_epoch(accumulator, options) -> EpochResult
        -> result.values(name)  : the scalars, under their keys   (Recorder columns, self.log, ...)
        -> result.record(...)   : the history entry               (callback.history, checkpoints)
        -> log_figures(writer, result, ...)                       (TensorBoard figures, on one rank)

An integration (``fastai.py``, ``lightning.py``) only translates its
framework's hooks into ``accumulator.update`` and :func:`compute_epoch`, and
the result into its framework's calls. Everything else is decided here,
once: which of value / interval / bound is computed, the class names, the
keys, the calibration summary and its one warning.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Dict, List, NamedTuple, Optional

import torch

from ._checks import NONEMPTY_STR, UndefinedAUROCWarning, check_class_names, check_params
from .calibration import CalibrationSummary, UndefinedCalibrationWarning, calibration_summary, nan_summary
from .calibration.metrics import BIN_RULES
from .functional import APScores, AUROCScores
from .histogram import APBound, AUROCBound
from .stats import AUROCInterval

__all__ = [
    "CALIBRATION_COLUMNS",
    "CALIBRATION_NUMBERS",
    "DATALOADER_SUFFIX",
    "CallbackOptions",
    "EpochResult",
    "StepOutputs",
    "SuffixedWriter",
    "build_accumulator",
    "check_callback_options",
    "check_distinct_keys",
    "calibration_prefix",
    "compute_epoch",
    "activation_of",
    "dataloader_key",
    "epoch_keys",
    "insert_columns",
    "key_pattern",
    "known_class_names",
    "log_figures",
    "own_options",
    "scalar_keys",
    "unused_figures",
    "vocab_names",
]

#: the calibration numbers every callback logs each epoch (its history keeps all of CALIBRATION_NUMBERS)
CALIBRATION_COLUMNS = ("ece", "ece_tempered", "brier")
CALIBRATION_NUMBERS = ("ece", "ece_tempered", "mce", "brier", "nll", "temperature")

_RULES = {
    "name": [NONEMPTY_STR],
    "per_class": [bool],
    "class_names": [None, Sequence],
    "calibration": [bool, Mapping],
    "log_curve": [bool, None],
    "pr_curves": [bool],
    "average_precision": [bool],
    **BIN_RULES,  # calibration's own rules for the options passed through to it
}


class CallbackOptions(NamedTuple):
    """A callback's own options (the metric's are the accumulator's), checked once at construction."""

    name: str
    per_class: bool
    class_names: Optional[List[str]]
    calibration: Optional[dict]  # None: off; else the options of calibration_summary (n_bins, strategy)
    log_curve: Optional[bool]  # True: draw (warn without a writer); None: draw when a writer is there; False: never
    pr_curves: bool
    average_precision: bool = False  # also the epoch's average precision, from the AUROC's sort


#: options renamed by the one-pipeline release, with what replaces them
_RENAMED = {
    "figure": " (renamed `log_curve`)",
    "calibration_bins": " (now `calibration={'n_bins': ...}`)",
    "calibration_strategy": " (now `calibration={'strategy': ...}`)",
    "level": " (renamed `ci_level`)",
}


def build_accumulator(options: dict, *, who: str = "AUROCCallback", own: Sequence[str] = (), **fixed):
    """The callback's :class:`~auroc_callbacks.AUROCAccumulator`: the user's metric options, passed through untouched.

    ``fixed`` are the options the integration sets itself (``sync_dist``,
    ``nan_strategy``); giving one of them is refused, naming it, rather than
    silently overridden. An option neither the integration (``who``, with its
    ``own`` options) nor the accumulator takes is a ``TypeError`` naming both lists.
    """
    from .accumulator import AUROCAccumulator, ExactAccumulator, HistogramAccumulator

    taken = sorted(set(options) & set(fixed))
    if taken:
        raise TypeError(f"`{taken[0]}` is set by the callback itself ({taken[0]}={fixed[taken[0]]!r}); do not pass it")
    known = {
        name
        for cls in (AUROCAccumulator, ExactAccumulator, HistogramAccumulator)
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }
    unknown = sorted(set(options) - known)
    if unknown:
        passed = sorted(known - set(fixed) - set(own))
        close = difflib.get_close_matches(unknown[0], [*own, *passed], n=1, cutoff=0.8)
        hint = _RENAMED.get(unknown[0], f" (did you mean `{close[0]}`?)" if close else "")
        raise TypeError(
            f"{who} got an unexpected option `{unknown[0]}`{hint}; its own options are"
            f" {', '.join(own)}, and it passes on those of AUROCAccumulator: {', '.join(passed)}"
        )
    return AUROCAccumulator(**options, **fixed)  # the factory builds a subclass


def own_options(init) -> tuple:
    """The keyword-only options of an integration's ``__init__``: its own (``**auroc_options`` go to the accumulator).

    Example:
        >>> def __init__(self, *, name="auroc", per_class=False, **auroc_options): ...
        >>> own_options(__init__)
        ('name', 'per_class')
    """
    return tuple(n for n, p in inspect.signature(init).parameters.items() if p.kind is p.KEYWORD_ONLY)


def check_callback_options(
    accumulator,
    *,
    name,
    per_class=False,
    class_names=None,
    calibration=False,
    log_curve=False,
    pr_curves=False,
    scalar=False,
    average_precision=False,
) -> CallbackOptions:
    """Check the options every ``AUROCCallback`` shares, against the accumulator they will read.

    ``calibration`` is ``True`` or a mapping of :func:`auroc_callbacks.calibration.calibration_summary`
    options (``{"n_bins": 10, "strategy": "quantile"}``), passed through. ``scalar``: the integration
    needs one value per epoch (a fastai column), so ``average=None`` is refused.
    ``average_precision`` adds the epoch's average precision (one-vs-rest), so
    ``multi_class='ovo'`` is refused with it.
    """
    if scalar and accumulator.options.average is None:
        raise ValueError(
            "`average` must be one of 'macro', 'weighted', 'micro' for AUROCCallback; got None"
            " (pass per_class=True for one column per class)"
        )
    check_params(
        _RULES,
        name=name,
        per_class=per_class,
        calibration=calibration,
        log_curve=log_curve,
        pr_curves=pr_curves,
        average_precision=average_precision,
    )
    if average_precision and accumulator.options.multi_class == "ovo":
        raise ValueError(
            "`average_precision=True` needs multi_class='ovr': average precision is one-vs-rest; got multi_class='ovo'"
        )
    if isinstance(class_names, (str, bytes)):
        raise TypeError(f"`class_names` must be a sequence of names or None; got str {class_names!r}")
    check_params(_RULES, class_names=class_names)
    settings = None
    if calibration is not False:
        settings = {"n_bins": 15, "strategy": "uniform"}
        if isinstance(calibration, Mapping):
            unknown = sorted(set(calibration) - set(settings))
            if unknown:
                raise ValueError(
                    f"`calibration` takes the options 'n_bins' and 'strategy'; got {', '.join(map(repr, unknown))}"
                )
            settings.update(calibration)
        check_params(_RULES, n_bins=settings["n_bins"], strategy=settings["strategy"])
        if accumulator.mode == "histogram":
            raise ValueError(
                "`calibration` needs mode='exact': calibration bins every prediction, and mode='histogram' keeps"
                " per-bucket counts, not the predictions"
            )
        opts = accumulator.options
        if opts.task == "multiclass" and opts.activation == "sigmoid":
            raise ValueError(
                "`calibration` needs multiclass probabilities that sum to 1: got task='multiclass' with"
                " activation='sigmoid'; use 'auto' or 'softmax'"
            )
    if pr_curves and accumulator.mode == "histogram":
        raise ValueError(
            "`pr_curves=True` needs mode='exact': TensorBoard's PR curves take every prediction, and"
            " mode='histogram' keeps per-bucket counts"
        )
    names = None if class_names is None else [str(c) for c in class_names]
    n = accumulator.options.num_classes
    if names is not None and n is not None and len(names) != n and not (n == 1 and len(names) == 2):
        raise ValueError(f"`class_names` must have `num_classes` = {n} names; got {len(names)}")
    return CallbackOptions(name, per_class, names, settings, log_curve, pr_curves, average_precision)


def check_distinct_keys(name: str, class_names: Optional[Sequence[str]], sep: str = "/") -> None:
    """Refuse ``class_names`` that give one per-class key twice once made tag-safe (:func:`~auroc_callbacks.tensorboard.tag_name`).

    Example:
        >>> check_distinct_keys("val_auroc", ["a b", "a_b"])
        Traceback (most recent call last):
        ...
        ValueError: `class_names` ['a b', 'a_b'] give the key `val_auroc/a_b` twice (keys keep only letters, digits, '_', '.' and '-'): make them distinct
    """
    from .tensorboard import tag_name

    tags = [tag_name(c) for c in class_names or []]
    clash = next((c for i, c in enumerate(tags) if c in tags[:i]), None)
    if clash is not None:
        raise ValueError(
            f"`class_names` {list(class_names or [])} give the key `{name}{sep}{clash}` twice (keys keep"
            " only letters, digits, '_', '.' and '-'): make them distinct"
        )


def key_pattern(names: Sequence[str]) -> str:
    """A regular expression matching every key a callback named ``names`` can log (:func:`scalar_keys`, any options).

    Example:
        >>> import re
        >>> pattern = key_pattern(["val_auroc"])
        >>> [bool(re.fullmatch(pattern, k)) for k in ("val_auroc_lo", "val_ap/cat", "val_brier", "val_loss")]
        [True, True, True, False]
    """
    stems = [re.escape(n) for n in names]
    stems += [re.escape(calibration_prefix(n) + c) for n in names for c in ("ap", *CALIBRATION_COLUMNS)]
    return rf"(?:{'|'.join(stems)})(?:_lo|_hi|_bound)?(?:/[^']*)?"


def calibration_prefix(name: str) -> str:
    """What a callback's calibration keys start with: ``name`` without its trailing ``auroc``, else ``name_``.

    Example:
        >>> calibration_prefix("val_auroc"), calibration_prefix("auroc"), calibration_prefix("cb")
        ('val_', '', 'cb_')
    """
    return name[: -len("auroc")] if name.endswith("auroc") else f"{name}_"


def scalar_keys(
    name: str,
    *,
    scalar: bool = True,
    ci: bool = False,
    bound: bool = False,
    class_keys: Sequence[str] = (),
    calibration: bool = False,
    sep: str = "/",
    ap: bool = False,
) -> List[str]:
    """The keys of an epoch's scalars, in order: the one naming rule of every integration.

    ``name`` (a scalar value), ``name_lo`` / ``name_hi`` (interval),
    ``name_bound`` (histogram), ``name{sep}{class}`` per class; with ``ap``
    the average precision under :func:`calibration_prefix` (``val_ap``, its
    certified ``val_ap_lo`` / ``val_ap_hi`` in histogram mode, ``val_ap{sep}{class}``);
    then the calibration numbers under the same prefix.

    Example:
        >>> scalar_keys("val_auroc", ci=True, class_keys=["cat", "dog"], calibration=True)
        ['val_auroc', 'val_auroc_lo', 'val_auroc_hi', 'val_auroc/cat', 'val_auroc/dog', 'val_ece', 'val_ece_tempered', 'val_brier']
        >>> scalar_keys("val_auroc", bound=True, class_keys=["cat"], ap=True)
        ['val_auroc', 'val_auroc_bound', 'val_auroc/cat', 'val_ap', 'val_ap_lo', 'val_ap_hi', 'val_ap/cat']
    """
    keys = [name] if scalar else []
    keys += [f"{name}_lo", f"{name}_hi"] if scalar and ci else []
    keys += [f"{name}_bound"] if scalar and bound else []
    keys += [f"{name}{sep}{k}" for k in class_keys]
    if ap:
        ap_name = f"{calibration_prefix(name)}ap"
        keys += [ap_name] if scalar else []
        keys += [f"{ap_name}_lo", f"{ap_name}_hi"] if scalar and bound else []
        keys += [f"{ap_name}{sep}{k}" for k in class_keys]
    keys += [f"{calibration_prefix(name)}{k}" for k in CALIBRATION_COLUMNS] if calibration else []
    return keys


def epoch_keys(accumulator, options: CallbackOptions, *, class_keys: Sequence[str] = (), sep: str = "/") -> List[str]:
    """The :func:`scalar_keys` every epoch of ``accumulator`` under ``options`` gives, known before the first epoch.

    ``class_keys`` name the per-class values, used with ``per_class`` only.

    Example:
        >>> import auroc_callbacks as ac
        >>> acc = ac.AUROCAccumulator(num_classes=2, ci=True)
        >>> epoch_keys(acc, check_callback_options(acc, name="auroc", per_class=True), class_keys=["a", "b"], sep="_")
        ['auroc', 'auroc_lo', 'auroc_hi', 'auroc_a', 'auroc_b']
    """
    return scalar_keys(
        options.name,
        ci=getattr(accumulator, "ci", False),
        bound=accumulator.mode == "histogram",
        class_keys=class_keys if options.per_class else [],
        calibration=options.calibration is not None,
        sep=sep,
        ap=options.average_precision,
    )


class EpochResult(NamedTuple):
    """Everything one epoch yields, computed once: value, per-class values, supports, interval or bound, AP, calibration.

    Attributes:
        scores: the :class:`~auroc_callbacks.AUROCScores` (value, per class, supports, samples).
        interval: with ``ci=True``, the :class:`~auroc_callbacks.AUROCInterval` (its value is ``scores.value``).
        bound: with ``mode="histogram"``, the :class:`~auroc_callbacks.AUROCBound`.
        calibration: with ``calibration``, the :class:`~auroc_callbacks.calibration.CalibrationSummary`.
        names: one display name per entry of ``scores.per_class``.
        ap: with ``average_precision``, the :class:`~auroc_callbacks.functional.APScores`.
        ap_bound: with ``average_precision`` and ``mode="histogram"``, the
            :class:`~auroc_callbacks.histogram.APBound` (its value is ``ap.value``).
    """

    scores: AUROCScores
    interval: Optional[AUROCInterval]
    bound: Optional[AUROCBound]
    calibration: Optional[CalibrationSummary]
    names: List[str]
    ap: Optional[APScores] = None
    ap_bound: Optional[APBound] = None

    def values(
        self,
        name: str,
        *,
        per_class: bool = False,
        sep: str = "/",
        class_keys: Optional[Sequence[str]] = None,
        fill_binary: bool = False,
    ) -> Dict[str, torch.Tensor]:
        """The scalars to log, in order, under the keys of :func:`scalar_keys`: 0-d float64 tensors.

        Per-class values come with ``per_class`` (always with
        ``average=None``), under ``class_keys`` (default :attr:`names`). A
        binary problem has none unless ``fill_binary``: then its one value
        fills every ``class_keys`` entry (class 0's one-vs-rest AUROC is class 1's).
        """
        s = self.scores
        scalar = s.value.ndim == 0
        keys = list(self.names if class_keys is None else class_keys)
        if not (per_class or not scalar) or (s.per_class.shape[0] == 1 and not fill_binary):
            keys = []
        numbers = []
        if scalar:
            numbers.append(s.value)
            numbers += [] if self.interval is None else [self.interval.lower, self.interval.upper]
            numbers += [] if self.bound is None else [self.bound.bound]
        numbers += _per_class(s.per_class, len(keys))
        if self.ap is not None:
            numbers += [self.ap.value] if scalar else []
            numbers += [self.ap_bound.lower, self.ap_bound.upper] if scalar and self.ap_bound is not None else []
            numbers += _per_class(self.ap.per_class, len(keys))
        if self.calibration is not None:
            numbers += [getattr(self.calibration, k) for k in CALIBRATION_COLUMNS]
        names = scalar_keys(
            name,
            scalar=scalar,
            ci=self.interval is not None,
            bound=self.bound is not None,
            class_keys=keys,
            calibration=self.calibration is not None,
            sep=sep,
            ap=self.ap is not None,
        )
        return dict(zip(names, numbers))

    def record(self, **where) -> dict:
        """The history entry: ``where`` (``epoch``, ``step``...), then plain Python numbers, the same in every integration.

        ``value`` (a float, or a list for ``average=None``), ``per_class`` and
        ``support`` (dicts keyed by class name), ``num_samples``; ``lower`` /
        ``upper`` with an interval, ``bound`` in histogram mode, ``ap`` and
        ``ap_per_class`` with the average precision (and its certified
        ``ap_lower`` / ``ap_upper`` in histogram mode), and a ``calibration``
        dict of :data:`CALIBRATION_NUMBERS`.
        """
        s = self.scores
        rec = dict(
            where,
            value=s.value.tolist(),
            per_class=dict(zip(self.names, s.per_class.tolist())),
            support=dict(zip(self.names, s.support.tolist())),
            num_samples=int(s.num_samples),
        )
        if self.interval is not None:
            rec.update(lower=self.interval.lower.tolist(), upper=self.interval.upper.tolist())
        if self.bound is not None:
            rec.update(bound=self.bound.bound.tolist())
        if self.ap is not None:
            rec.update(ap=self.ap.value.tolist(), ap_per_class=dict(zip(self.names, self.ap.per_class.tolist())))
        if self.ap_bound is not None:
            rec.update(ap_lower=self.ap_bound.lower.tolist(), ap_upper=self.ap_bound.upper.tolist())
        if self.calibration is not None:
            rec.update(calibration={k: float(getattr(self.calibration, k)) for k in CALIBRATION_NUMBERS})
        return rec


def compute_epoch(accumulator, options: CallbackOptions, *, guessed_names: Optional[List[str]] = None) -> EpochResult:
    """The epoch result of a filled accumulator: one ranking for the value and its interval or bound (and its AP).

    With ``average_precision``, exact mode ranks once for both; with ``ci=True``
    the interval's ranking and the AP's are two sorts; histogram mode reads
    the AP and its certified interval from the same counts. The AP's own
    undefined-class warnings are not repeated (a class without positives has
    an undefined AUROC, which warned already).

    ``guessed_names``: class names a framework found (fastai's ``dls.vocab``),
    used when they fit the model's columns; when they do not, numbered names
    are, unless ``per_class`` needs them (then a ``ValueError`` says so).

    Under ``torch.distributed`` this is a collective call (every rank calls
    it); the gathered epoch is cached, so calibration and figures gather nothing again.

    Raises:
        EmptyEpochError: no rank holds a sample (every rank raises it together).
    """
    interval = bound = ap = ap_bound = None
    want_ap = options.average_precision
    if accumulator.mode == "histogram":  # one pass over the counts gives the value and its bound
        bound = accumulator.compute_bound()
        scores = bound.scores()
        if want_ap:
            with _quiet_undefined():
                ap_bound = accumulator.compute_ap_bound()
            ap = ap_bound.scores()
    elif getattr(accumulator, "ci", False):  # one ranking gives the value and its interval
        interval = accumulator.compute_interval()
        scores = interval.scores()
        if want_ap:
            with _quiet_undefined():
                ap = accumulator.compute_average_precision()
    elif want_ap:  # one sort gives both
        scores, ap = accumulator.compute_metrics(auroc=True, average_precision=True)
    else:
        scores = accumulator.compute_scores()
    n = scores.per_class.shape[0]
    if guessed_names is not None and options.class_names is None:
        try:
            names = check_class_names(guessed_names, n, binary_default="1")
        except ValueError:
            if options.per_class:
                raise ValueError(
                    f"{len(guessed_names)} class names came from the data ({guessed_names[:5]}...), but the model"
                    f" scores {n} column(s); pass matching `class_names=` or `num_classes=`"
                ) from None
            names = check_class_names(None, n, binary_default="1")  # not shown as columns: numbered names do
    else:
        names = check_class_names(options.class_names, n, binary_default="1")
    summary = None
    if options.calibration is not None:
        summary = _calibration(
            accumulator, options.calibration, auroc_undefined=bool(torch.isnan(scores.per_class).all())
        )
    return EpochResult(scores, interval, bound, summary, names, ap, ap_bound)


def _per_class(per_class: torch.Tensor, n: int) -> List[torch.Tensor]:
    """``n`` per-class numbers: a binary problem's one value repeated, else the first ``n``."""
    return list(per_class) * n if per_class.shape[0] == 1 else list(per_class)[:n]


@contextlib.contextmanager
def _quiet_undefined():
    """Drop :class:`~auroc_callbacks.UndefinedAUROCWarning` inside (the AUROC's own warning covers the AP's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)
        yield


def _calibration(accumulator, settings: dict, *, auroc_undefined: bool) -> CalibrationSummary:
    """:func:`calibration_summary` of the epoch, with at most one warning.

    The accumulator's gathered epoch is reused (no second collective). Several
    undefined numbers make one :class:`UndefinedCalibrationWarning`; none when
    every AUROC is NaN too for the same reason (NaN scores: the accumulator
    has warned already). Scores that are no probabilities give NaN, not an
    exception: the AUROC stands and the fit goes on.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedCalibrationWarning)
        try:
            summary = calibration_summary(accumulator=accumulator, **settings)
        except ValueError as error:
            preds, target = accumulator.gather()
            task = accumulator.layout.task if accumulator.layout is not None else "binary"
            summary = nan_summary(settings["n_bins"], preds.device, int(target.shape[0]), task, settings["strategy"])
            warnings.warn(f"calibration is NaN this epoch: {error}", UndefinedCalibrationWarning, stacklevel=2)
    ours = []
    for w in caught:
        if issubclass(w.category, UndefinedCalibrationWarning):
            ours.append(str(w.message))
        else:  # not ours to merge: pass it on as it was
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if ours and not (auroc_undefined and bool(torch.isnan(summary.ece))):
        warnings.warn("; ".join(dict.fromkeys(ours)), UndefinedCalibrationWarning, stacklevel=4)
    return summary


def log_figures(
    writer, accumulator, result: EpochResult, *, tag: str, step: int, options: CallbackOptions, scalars: bool
) -> None:
    """Write the epoch's figures (ROC, PR curves, reliability diagram) and, with ``scalars``, its numbers.

    On one rank, after :func:`compute_epoch` (the gathered epoch is reused).
    ``scalars=False`` when the numbers reach TensorBoard another way
    (Lightning's ``self.log``, fastai's ``TensorBoardCallback``). The ROC
    figure and the reliability diagram are drawn unless ``log_curve=False``
    (``None`` draws, since a writer is there); with ``average_precision`` the
    precision-recall figure goes next to the ROC figure.
    """
    from .tensorboard import log_auroc, log_calibration

    figure = options.log_curve is not False
    drawable = not bool(torch.isnan(result.scores.value).any())  # NaN scores: the core warned, nothing to draw
    log_auroc(
        writer,
        accumulator,
        step=step,
        tag=tag,
        class_names=result.names,
        scores=result.scores,
        figure=figure and drawable,
        pr_curves=options.pr_curves and drawable,
        scalars=scalars,
        interval=result.interval,
        bound=result.bound,
        pr_figure=figure and drawable and options.average_precision,
    )
    if result.calibration is not None:
        log_calibration(
            writer,
            result.calibration,
            step=step,
            tag=f"{calibration_prefix(tag)}calibration",
            figure=figure,
            scalars=scalars,
        )


def unused_figures(options: CallbackOptions, missing: str, supported: str) -> Optional[str]:
    """The warning for figures asked for explicitly (``log_curve=True``, ``pr_curves=True``) with no writer, else None.

    ``missing`` says what the run lacks; ``supported``, what would take the figures.

    Example:
        >>> import auroc_callbacks as ac
        >>> options = check_callback_options(ac.AUROCAccumulator(), name="auroc", log_curve=True)
        >>> unused_figures(options, "the trainer has no TensorBoardLogger", "a TensorBoardLogger")
        'AUROCCallback(log_curve=True) draws figures, but the trainer has no TensorBoardLogger: no figure is logged; add a TensorBoardLogger'
    """
    asked = [f"{k}=True" for k in ("log_curve", "pr_curves") if getattr(options, k) is True]
    if not asked:
        return None
    return f"AUROCCallback({', '.join(asked)}) draws figures, but {missing}: no figure is logged; add {supported}"


# ----------------------------------------------------------------------------- what a framework gives

# Rows that no activation a framework ships maps onto itself, softmax or sigmoid by accident.
_PROBE = ((0.5, -1.0, 2.0), (1.5, 0.25, -0.75))


def activation_of(fn) -> str:
    """``"softmax"`` or ``"sigmoid"`` when the callable ``fn`` computes one of them (tried on a probe), else ``"auto"``.

    Wrapped and partial functions work; ``None``, an identity or anything
    else (one needing other shapes or state) is ``"auto"``: the core then
    decides from the scores, once per epoch.

    Example:
        >>> import torch
        >>> activation_of(lambda t: t.softmax(-1)), activation_of(torch.sigmoid), activation_of(None)
        ('softmax', 'sigmoid', 'auto')
    """
    if not callable(fn):
        return "auto"
    probe = torch.tensor(_PROBE)
    try:
        with torch.no_grad():
            out = fn(probe.clone())
    except Exception:  # an activation that needs other shapes or state: let the core decide
        return "auto"
    if not isinstance(out, torch.Tensor) or out.shape != probe.shape or not out.is_floating_point():
        return "auto"
    out = out.as_subclass(torch.Tensor).float()
    if torch.allclose(out, torch.softmax(probe, dim=-1), atol=1e-6):
        return "softmax"
    if torch.allclose(out, torch.sigmoid(probe), atol=1e-6):
        return "sigmoid"
    return "auto"


def vocab_names(vocab) -> Optional[List[str]]:
    """Class names from a data vocabulary, else None; a ``[token vocab, class vocab]`` pair (text data) gives the last.

    Example:
        >>> vocab_names(["cat", "dog"]), vocab_names([["xxunk", "the"], ["neg", "pos"]]), vocab_names(None)
        (['cat', 'dog'], ['neg', 'pos'], None)
    """
    if vocab is None:
        return None
    try:
        if len(vocab) == 0:
            return None
        last = vocab[-1]
    except (TypeError, KeyError, IndexError):
        return None
    if hasattr(last, "__len__") and not isinstance(last, str):
        vocab = last
    return [str(v) for v in vocab]


def known_class_names(options: CallbackOptions, vocab, num_classes: Optional[int]) -> Optional[List[str]]:
    """The class names a callback knows before its first epoch: ``class_names``, the data's ``vocab``, or numbered.

    Numbered from ``num_classes`` (a one-column binary model scores class ``"1"``); None when nothing tells,
    which ``per_class=True`` refuses (its columns must exist before training).

    Example:
        >>> import auroc_callbacks as ac
        >>> options = check_callback_options(ac.AUROCAccumulator(), name="auroc")
        >>> known_class_names(options, ["neg", "pos"], None), known_class_names(options, None, 3)
        (['neg', 'pos'], ['0', '1', '2'])
    """
    if options.class_names is not None:
        return options.class_names
    names = vocab_names(vocab)
    if names is not None:
        return names
    if num_classes is not None:
        return [str(i) for i in range(num_classes)] if num_classes > 1 else ["1"]
    if options.per_class:
        raise ValueError(
            "AUROCCallback(per_class=True) needs the classes before training: the DataLoaders have no"
            " `vocab`; pass `class_names=` or `num_classes=`"
        )
    return None


def insert_columns(names: list, columns: Sequence[str], *, before: Optional[str]) -> None:
    """Insert ``columns`` into ``names``, in place, before the last ``before`` entry (at the end without one).

    Example:
        >>> names = ["epoch", "train_loss", "time"]
        >>> insert_columns(names, ["auroc", "auroc_lo"], before="time"); names
        ['epoch', 'train_loss', 'auroc', 'auroc_lo', 'time']
    """
    at = len(names)
    if before is not None and before in names:
        at = len(names) - 1 - list(reversed(names)).index(before)
    names[at:at] = list(columns)


# ----------------------------------------------------------------------------- a step's outputs


class StepOutputs:
    """Where a training loop's evaluation step puts its ``(preds, target)`` and weights: dict keys, a tuple, or a transform.

    Args:
        preds_key: the key (or keys, tried in order) of the predictions in a dict returned by the step.
        target_key: the key of the targets in a dict returned by the step.
        output_transform: ``output_transform(outputs, batch) -> (preds, target)`` (or
            ``(preds, target, weight)``), used for every batch when given.
        weight_key: the key of the optional sample weights in a dict returned by the step.

    Example:
        >>> import torch
        >>> reader = StepOutputs(("logits", "preds"), "target", None)
        >>> preds, target, weight = reader.read({"preds": torch.zeros(2), "target": torch.ones(2)}, None, "validation_step")
        >>> weight is None
        True
        >>> reader.read({"loss": torch.zeros(())}, None, "validation_step")
        Traceback (most recent call last):
        ...
        TypeError: AUROCCallback found no predictions in what `validation_step` returned (a dict with keys ['loss']). Return a dict with 'logits' or 'preds' and 'target' tensors (`preds_key`, `target_key` rename them), or a (preds, target) tuple, or pass `output_transform=lambda outputs, batch: (preds, target)`.
    """

    def __init__(self, preds_key, target_key: str, output_transform, weight_key: str = "weight"):
        preds_key = (preds_key,) if isinstance(preds_key, str) else preds_key
        if not isinstance(preds_key, Sequence) or not preds_key or not all(isinstance(k, str) for k in preds_key):
            raise TypeError(f"`preds_key` must be a str or a non-empty sequence of str; got {preds_key!r}")
        self.preds_key, self.target_key, self.output_transform = tuple(preds_key), target_key, output_transform
        self.weight_key = weight_key

    def read(self, outputs, batch, step_name: str):
        """``(preds, target, weight)`` from what ``step_name`` returned for ``batch`` (``weight`` None when absent).

        A ``TypeError`` says how to return them when they are not there.
        """
        if self.output_transform is not None:
            got = self.output_transform(outputs, batch)
            if not (_is_pair(got) or _is_triple(got)):
                raise TypeError(
                    "`output_transform` must return a (preds, target) pair of tensors, or (preds, target,"
                    f" weight); got {_describe(got)}"
                )
            return got[0], got[1], (got[2] if len(got) == 3 else None)
        if isinstance(outputs, Mapping):
            preds_key = next((k for k in self.preds_key if k in outputs), None)
            if preds_key is not None and self.target_key in outputs:
                preds, target = outputs[preds_key], outputs[self.target_key]
                if _is_pair((preds, target)):
                    return preds, target, outputs.get(self.weight_key)
        elif _is_pair(outputs) or _is_triple(outputs):
            return outputs[0], outputs[1], (outputs[2] if len(outputs) == 3 else None)
        keys = " or ".join(repr(k) for k in self.preds_key)
        raise TypeError(
            f"AUROCCallback found no predictions in what `{step_name}` returned ({_describe(outputs)}). Return a dict"
            f" with {keys} and {self.target_key!r} tensors (`preds_key`, `target_key` rename them), or a"
            f" (preds, target) tuple, or pass `output_transform=lambda outputs, batch: (preds, target)`."
        )


def _is_pair(x) -> bool:
    return isinstance(x, (tuple, list)) and len(x) == 2 and all(isinstance(t, torch.Tensor) for t in x)


def _is_triple(x) -> bool:
    return isinstance(x, (tuple, list)) and len(x) == 3 and all(isinstance(t, torch.Tensor) for t in x)


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


# ----------------------------------------------------------------------------- several dataloaders

#: what a key gets for dataloader ``i`` when a stage has several (Lightning's own suffix)
DATALOADER_SUFFIX = "/dataloader_idx_{}"


def dataloader_key(key: str, dataloader_idx: int) -> str:
    """The key (or TensorBoard tag) of one dataloader's value, the way Lightning names ``self.log`` keys.

    Example:
        >>> dataloader_key("val_auroc", 1), dataloader_key("val_auroc/cat", 0)
        ('val_auroc/dataloader_idx_1', 'val_auroc/cat/dataloader_idx_0')
    """
    return key + DATALOADER_SUFFIX.format(dataloader_idx)


class SuffixedWriter:
    """A TensorBoard writer whose every tag ends with ``suffix`` (one dataloader's figures), else the writer itself."""

    def __init__(self, writer, suffix: str):
        self.writer, self.suffix = writer, suffix

    def add_scalar(self, tag, *args, **kwargs):
        return self.writer.add_scalar(tag + self.suffix, *args, **kwargs)

    def add_figure(self, tag, *args, **kwargs):
        return self.writer.add_figure(tag + self.suffix, *args, **kwargs)

    def add_pr_curve(self, tag, *args, **kwargs):
        return self.writer.add_pr_curve(tag + self.suffix, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.writer, name)
