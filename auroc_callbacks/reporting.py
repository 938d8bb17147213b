"""Operating points: why a high AUROC and a modest recall coexist.

AUROC scores the *ranking*: the probability that a random positive of a
class scores above a random negative. Precision and recall score *one
threshold* (the argmax, or ``p >= 0.5``). A class can be ranked almost
perfectly (AUROC 0.98) while the argmax, which must pick a single class per
sample, still misses a quarter of it (recall 0.72): its positives sit above
most negatives of that class, yet often below the top score of a
neighbouring class. :func:`report` puts both views side by side, per class:

* support, exact AUROC (:func:`auroc_callbacks.auroc_scores`) and average
  precision (:func:`auroc_callbacks.average_precision`, the area under the
  precision-recall curve: what a ranking buys at the top, where the AUROC
  hides it when positives are rare);
* precision, recall and F1 of the default decision, equal to scikit-learn's
  ``precision_recall_fscore_support(..., zero_division=np.nan)``;
* the TPR (recall) reachable at a false positive rate of at most 1%, 5% and
  10%, read off :func:`auroc_callbacks.roc_curve`;
* the threshold maximising Youden's J = TPR - FPR on the same curve;

and the macro and weighted averages. Nothing here imports matplotlib, pandas
or a framework.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch

from . import _checks
from .accumulator import AUROCAccumulator, data_or_epoch
from .functional import (
    AUROCScores,
    UndefinedAUROCWarning,
    auroc,
    auroc_scores,
    average_precision,
    decision_counts,
    probabilities,
    roc_curve,
)
from .stats import AUROCInterval, auroc_ci, resolve_ci

__all__ = ["report", "AUROCReport", "ClassReport", "DEFAULT_FPR_LEVELS"]

DEFAULT_FPR_LEVELS: Tuple[float, ...] = (0.01, 0.05, 0.10)
_OPTIONS = ("task", "num_classes", "activation", "ignore_index")


class ClassReport(dict):
    """One row of the report: a class (label) or an average. A dict with attribute access.

    Keys: ``name``, ``support`` (number of positives), ``auroc``, ``ap`` (average precision), ``precision``,
    ``recall``, ``f1`` (of the default decision), ``tpr_at_fpr`` (a dict
    ``{fpr_level: tpr}``), ``youden_threshold``, ``youden_tpr`` and
    ``youden_fpr``. NaN where a value is undefined (a class without positives,
    a class never predicted); None where it does not apply (Youden's J of an
    average row).
    """

    __slots__ = ()

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


@dataclass(frozen=True)
class AUROCReport:
    """What :func:`report` returns: per-class rows, the averages, and ways to print or export them.

    Attributes:
        task: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
        classes: one :class:`ClassReport` per class (binary: one, the positive class).
        macro: the unweighted mean over classes (None for binary). AUROC from
            the core's ``average="macro"``; the other columns are means over the
            classes where they are defined (scikit-learn's rule with ``zero_division=np.nan``).
        weighted: the same, weighted by support (None for binary).
        accuracy: multiclass: the fraction of samples whose argmax is their
            class; None otherwise.
        fpr_levels: the FPR levels of the ``tpr_at_fpr`` columns.
        decision: the decision the precision/recall columns score,
            ``"argmax"`` or ``"p >= 0.5"`` (``threshold``).
        activation: the activation applied to the scores (see :func:`auroc_callbacks.probabilities`).
        num_samples: samples scored.
        ci_level: the level of the ``auroc_lower``/``auroc_upper`` intervals
            in each row, or None when the report has none.
    """

    task: str
    classes: List[ClassReport]
    macro: Optional[ClassReport]
    weighted: Optional[ClassReport]
    accuracy: Optional[float]
    fpr_levels: Tuple[float, ...]
    decision: str
    activation: Optional[str]
    num_samples: int
    ci_level: Optional[float] = None

    @property
    def rows(self) -> List[ClassReport]:
        """The class rows, then the macro and weighted rows (when present)."""
        return self.classes + [r for r in (self.macro, self.weighted) if r is not None]

    def to_rows(self) -> List[dict]:
        """One flat dict per row (``tpr@fpr=0.05`` keys), e.g. for ``pandas.DataFrame(report.to_rows())``."""
        out = []
        for row in self.rows:
            flat = {}
            for key, value in row.items():
                if key == "tpr_at_fpr":
                    flat.update((f"tpr@fpr={level:g}", tpr) for level, tpr in value.items())
                else:
                    flat[key] = value
            out.append(flat)
        return out

    def to_dict(self) -> dict:
        """Rows keyed by name (and ``"macro avg"``, ``"weighted avg"``), as ``classification_report(output_dict=True)``.

        Also holds ``"accuracy"`` (multiclass), ``"task"``, ``"decision"``,
        ``"fpr_levels"`` and ``"num_samples"``.
        """
        out: dict = {}
        for flat in self.to_rows():
            name = flat.pop("name")
            out[name] = flat
        if self.accuracy is not None:
            out["accuracy"] = self.accuracy
        out.update(
            task=self.task, decision=self.decision, fpr_levels=list(self.fpr_levels), num_samples=self.num_samples
        )
        return out

    def _cells(self, digits: int) -> Tuple[List[str], List[List[str]]]:
        header = ["", "support", "AUROC"] + ([f"{_pct(self.ci_level)} CI"] if self.ci_level is not None else [])
        header += ["AP", "precision", "recall", "F1"]
        header += [f"TPR@{_pct(x)}" for x in self.fpr_levels] + ["J thr"]
        body = []
        for row in self.rows:
            cells = [row.name, str(row.support), _num(row.auroc, digits)]
            if self.ci_level is not None:
                lo, hi = row.get("auroc_lower", math.nan), row.get("auroc_upper", math.nan)
                cells.append("-" if math.isnan(lo) else f"[{_num(lo, digits)}, {_num(hi, digits)}]")
            cells += [_num(row[k], digits) for k in ("ap", "precision", "recall", "f1")]
            cells += [_num(v, digits) for v in row.tpr_at_fpr.values()]
            cells.append(_num(row.youden_threshold, digits))
            body.append(cells)
        return header, body

    def _footnote(self) -> List[str]:
        ci = (
            []
            if self.ci_level is None
            else [
                f"{_pct(self.ci_level)} CI: DeLong's interval of the AUROC (ac.auroc_ci); the averages' include the"
                " covariance of the classes."
            ]
        )
        return ci + [
            "AP: average precision, the area under the precision-recall curve (scikit-learn's definition).",
            f"precision, recall, F1: at the decision {self.decision}.",
            "TPR@x: the best recall (TPR) of any threshold whose false positive rate is <= x.",
            "J thr: the threshold maximising TPR - FPR (Youden's J).",
        ]

    def to_text(self, digits: int = 3) -> str:
        """An aligned text table, like scikit-learn's ``classification_report``, with a footnote."""
        _check_digits(digits)
        header, body = self._cells(digits)
        widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
        lines = []
        for i, cells in enumerate([header] + body):
            if i == len(self.classes) + 1 and len(body) > len(self.classes):
                lines.append("")  # a blank line before the averages
            lines.append("  ".join(c.rjust(w) for c, w in zip(cells, widths)).rstrip())
        if self.accuracy is not None:
            lines.append("")
            lines.append(f"accuracy {_num(self.accuracy, digits)} (argmax, {self.num_samples:,} samples)")
        lines.append("")
        lines.extend(self._footnote())
        return "\n".join(lines)

    def to_markdown(self, digits: int = 3) -> str:
        """A Markdown (GitHub) table of the same cells, e.g. for a README or TensorBoard's text tab."""
        _check_digits(digits)
        header, body = self._cells(digits)
        header[0] = "class"
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        for cells in body:
            lines.append("| " + " | ".join(c or " " for c in cells) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        if self.macro is None:
            auc = f", AUROC {self.classes[0].auroc:.4f}"
        else:
            auc = f", macro AUROC {self.macro.auroc:.4f}"
        return f"<AUROCReport {self.task}, {len(self.classes)} class(es), {self.num_samples:,} samples{auc}>"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython / Jupyter: show the table
        printer.text(self.to_text())


def report(
    preds: Optional[torch.Tensor] = None,
    target: Optional[torch.Tensor] = None,
    *,
    accumulator: Optional[AUROCAccumulator] = None,
    class_names: Optional[Sequence[object]] = None,
    fpr_levels: Sequence[float] = DEFAULT_FPR_LEVELS,
    threshold: float = 0.5,
    ci: Optional[bool] = None,
    ci_level: Optional[float] = None,
    task: Optional[str] = None,
    num_classes: Optional[int] = None,
    activation: Optional[str] = "auto",
    ignore_index: Optional[int] = None,
) -> AUROCReport:
    """Per-class operating points next to the exact AUROC.

    Give ``preds`` and ``target`` (as for :func:`auroc_callbacks.auroc`) or a
    filled ``accumulator`` (whose options are then used). Every number comes
    from the core: the probabilities and the activation decision from
    :func:`auroc_callbacks.probabilities`, AUROC from
    :func:`auroc_callbacks.auroc_scores`, curves from
    :func:`auroc_callbacks.roc_curve` (every threshold kept), the decision's
    counts from :func:`auroc_callbacks.functional.decision_counts`.

    Conventions:

    * **Decision.** Multiclass: the argmax class (ties: the first). Binary and
      multilabel: ``p >= threshold`` per label; binary reports the positive
      class only. Precision, recall and F1 equal scikit-learn's
      ``precision_recall_fscore_support(..., zero_division=np.nan)``: NaN when
      a class is never predicted (precision) or never present (recall).
    * **TPR at FPR = x**: the largest TPR among the ROC points whose FPR is
      ``<= x``, i.e. the best recall a single threshold reaches with at most a
      fraction ``x`` of the negatives flagged (a step function of ``x``, no
      interpolation between thresholds).
    * **Youden's J**: the threshold of the ROC point maximising TPR - FPR
      (the first, i.e. highest, threshold on ties), with its TPR and FPR.
      Thresholds are on the probability scale when an activation was applied.
    * **Averages**: macro and weighted (by support) AUROC from the core;
      other columns averaged over the classes where they are defined.

    Args:
        preds: scores, logits or probabilities, ``(N,)``/``(N, 1)``/``(N, 2)``
            binary, ``(N, C)`` multiclass or multilabel.
        target: labels, ``(N,)`` or ``(N, C)`` (multilabel).
        accumulator: an :class:`~auroc_callbacks.AUROCAccumulator` holding the
            epoch, instead of ``preds``/``target``.
        class_names: ``C`` names (binary: 1 or 2, the last names the positive
            class); default ``"0"``..``"C-1"`` (binary: ``"1"``).
        fpr_levels: the FPR levels of the TPR columns, each in ``[0, 1]``.
        threshold: the decision threshold for binary and multilabel probabilities.
        ci: add DeLong's confidence interval of each AUROC (per class, macro
            and weighted; :func:`auroc_callbacks.auroc_ci` with its default
            shape) as ``auroc_lower``/``auroc_upper`` and an ``AUROC CI``
            column. Default: the accumulator's ``ci`` (False with tensors).
        ci_level: the interval's level (default: the accumulator's ``ci_level``, else 0.95).
        task, num_classes, activation, ignore_index: as for :func:`auroc_callbacks.auroc`.

    Returns:
        An :class:`AUROCReport`: ``print(r)`` shows the table;
        ``r.to_dict()``, ``r.to_rows()`` and ``r.to_markdown()`` export it.

    Raises:
        ValueError: both or neither of ``preds``/``target`` and ``accumulator``,
            options with an accumulator, bad ``class_names``, ``fpr_levels`` or
            ``threshold``, and every input error of :func:`auroc_callbacks.auroc`.
        TypeError: arguments of the wrong type.

    Example:
        >>> import torch, auroc_callbacks as ac
        >>> probs = torch.tensor([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.7, 0.1], [0.4, 0.3, 0.3]])
        >>> r = ac.report(probs, torch.tensor([0, 1, 1, 2]), class_names=["cat", "dog", "eel"])
        >>> r.classes[1].auroc, r.classes[1].recall, r.classes[1].tpr_at_fpr[0.1]
        (1.0, 0.5, 1.0)
        >>> print(r.to_text(digits=2).splitlines()[2])
          dog        2   1.00  1.00       1.00    0.50  0.67    1.00    1.00     1.00   0.40
    """
    preds, target, opts = _resolve_inputs(
        preds,
        target,
        accumulator,
        dict(task=task, num_classes=num_classes, activation=activation, ignore_index=ignore_index),
    )
    levels = _check_levels(fpr_levels)
    _check_threshold(threshold)
    level = resolve_ci(ci, ci_level, accumulator)

    probs, target_f, act = probabilities(preds, target, **opts)  # validates the tensors
    binary = probs.ndim == 1
    multilabel = target_f.ndim == 2
    n_cls = 1 if binary else probs.shape[1]
    names = _checks.check_class_names(class_names, n_cls, binary_default="1")
    areas = _areas(preds, target, opts, level, binary)

    valid = target != opts["ignore_index"] if multilabel and opts["ignore_index"] is not None else None
    tp, fp, support, _ = (c.cpu() for c in decision_counts(probs, target_f, threshold=threshold, valid=valid))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * tp, tp + fp + support)
    rows = _class_rows(names, areas, support, precision, recall, f1, levels)

    macro = weighted = accuracy = None
    if not binary:
        macro, weighted = _averages(rows, support, areas, levels)
    if not binary and not multilabel:
        accuracy = float(tp.sum()) / max(int(support.sum()), 1)
    return AUROCReport(
        task="binary" if binary else ("multilabel" if multilabel else "multiclass"),
        classes=rows,
        macro=macro,
        weighted=weighted,
        accuracy=accuracy,
        fpr_levels=levels,
        decision="argmax" if not (binary or multilabel) else f"p >= {threshold:g}",
        activation=act,
        num_samples=int(areas.scores.num_samples),
        ci_level=level,
    )


class _Areas(NamedTuple):
    """What :func:`report` reads off the ranking: the AUROCs (with their intervals), ROC curves and APs."""

    scores: AUROCScores  # per class and macro
    interval: Optional[AUROCInterval]  # the macro interval, with the per-class ones; None without ``ci``
    weighted_auc: Optional[float]  # None for binary
    weighted_iv: Optional[AUROCInterval]
    curves: Sequence  # one (fpr, tpr, thresholds) per class, every threshold kept
    per_ap: List[float]
    ap_avg: Tuple[float, float]  # macro and weighted AP (NaN for binary)


def _areas(preds, target, opts: dict, level: Optional[float], binary: bool) -> _Areas:
    """The AUROCs, intervals, curves and APs of the report: undefined classes warned once."""
    interval = weighted_iv = None
    if level is None:
        scores = auroc_scores(preds, target, average="macro", **opts)  # one warning for undefined classes
    else:
        interval = auroc_ci(preds, target, average="macro", ci_level=level, **opts)  # the same value, one ranking
        scores = interval.scores()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUROCWarning)  # warned above
        if level is not None and not binary:
            weighted_iv = auroc_ci(preds, target, average="weighted", ci_level=level, **opts)
            weighted_auc = float(weighted_iv.value)
        else:
            weighted_auc = None if binary else float(auroc(preds, target, average="weighted", **opts))
        curves = roc_curve(preds, target, drop_intermediate=False, **opts)
        per_ap, ap_avg = _average_precision(preds, target, opts, binary)
    curves = [curves] if binary else curves
    return _Areas(scores, interval, weighted_auc, weighted_iv, curves, per_ap, ap_avg)


def _class_rows(names, areas: _Areas, support, precision, recall, f1, levels) -> List[ClassReport]:
    """One :class:`ClassReport` per class (one name each): the decision's counts next to the ranking's figures."""
    per_auc = areas.scores.per_class.tolist()
    interval = areas.interval
    rows = []
    for c, name in enumerate(names):
        fpr, tpr, thr = (t.double().cpu() for t in areas.curves[c])
        youden = _youden(fpr, tpr, thr)
        rows.append(
            ClassReport(
                name=name,
                support=int(support[c]),
                auroc=per_auc[c],
                ap=areas.per_ap[c],
                precision=precision[c],
                recall=recall[c],
                f1=f1[c],
                tpr_at_fpr={x: _tpr_at(fpr, tpr, x) for x in levels},
                youden_threshold=youden[0],
                youden_tpr=youden[1],
                youden_fpr=youden[2],
            )
        )
        if interval is not None:
            rows[-1].update(
                auroc_lower=float(interval.per_class_lower[c]), auroc_upper=float(interval.per_class_upper[c])
            )
    return rows


def _averages(rows: List[ClassReport], support, areas: _Areas, levels) -> Tuple[ClassReport, ClassReport]:
    """The macro and weighted (by support) average rows (not binary); AUROC, its interval and AP from the core."""
    assert areas.weighted_auc is not None  # set whenever the task is not binary
    weights = [float(s) for s in support.tolist()]
    macro = _average("macro avg", rows, None, float(areas.scores.value), levels)
    weighted = _average("weighted avg", rows, weights, areas.weighted_auc, levels)
    macro["ap"], weighted["ap"] = areas.ap_avg
    if areas.interval is not None:
        macro.update(auroc_lower=float(areas.interval.lower), auroc_upper=float(areas.interval.upper))
        weighted.update(auroc_lower=float(areas.weighted_iv.lower), auroc_upper=float(areas.weighted_iv.upper))
    return macro, weighted


# ----------------------------------------------------------------------------- checks


def _resolve_inputs(preds, target, accumulator, options: dict):
    defaults = dict(task=None, num_classes=None, activation="auto", ignore_index=None)
    changed = [k for k, v in options.items() if v != defaults[k]]
    return data_or_epoch(preds, target, accumulator, options, _OPTIONS, given=changed)


def _check_levels(fpr_levels) -> Tuple[float, ...]:
    if isinstance(fpr_levels, (str, bytes)) or not isinstance(fpr_levels, Sequence):
        raise TypeError(f"`fpr_levels` must be a sequence of floats; got {type(fpr_levels).__name__} {fpr_levels!r}")
    if len(fpr_levels) == 0:
        raise ValueError("`fpr_levels` must hold at least one FPR level; got an empty sequence")
    for x in fpr_levels:
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"`fpr_levels` must hold floats in [0, 1]; got {type(x).__name__} {x!r}")
        if not 0 <= x <= 1:
            raise ValueError(f"`fpr_levels` must hold FPRs in [0, 1]; got {x!r}")
    if len(set(fpr_levels)) != len(fpr_levels):
        raise ValueError(f"`fpr_levels` must not repeat a level; got {list(fpr_levels)!r}")
    return tuple(float(x) for x in fpr_levels)


def _check_threshold(threshold) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"`threshold` must be a float; got {type(threshold).__name__} {threshold!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"`threshold` must be finite; got {threshold!r}")


def _check_digits(digits) -> None:
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise TypeError(f"`digits` must be an int; got {type(digits).__name__} {digits!r}")
    if digits < 0:
        raise ValueError(f"`digits` must be >= 0; got {digits!r}")


# ----------------------------------------------------------------------------- compute


def _ratio(num: torch.Tensor, den: torch.Tensor) -> List[float]:
    """num / den per class, NaN where den is 0 (scikit-learn's ``zero_division=np.nan``)."""
    return [n / d if d else math.nan for n, d in zip(num.tolist(), den.tolist())]


def _tpr_at(fpr: torch.Tensor, tpr: torch.Tensor, level: float) -> float:
    """The largest TPR among curve points with FPR <= level (the first point is (0, 0)); NaN if undefined."""
    if bool(torch.isnan(fpr).any() | torch.isnan(tpr).any()):
        return math.nan
    return float(tpr[fpr <= level].max())


def _youden(fpr: torch.Tensor, tpr: torch.Tensor, thr: torch.Tensor) -> Tuple[float, float, float]:
    """(threshold, TPR, FPR) of the first curve point maximising TPR - FPR; NaN if undefined."""
    if bool(torch.isnan(fpr).any() | torch.isnan(tpr).any()):
        return math.nan, math.nan, math.nan
    i = int(torch.argmax(tpr - fpr))  # the first maximum: the highest threshold
    return float(thr[i]), float(tpr[i]), float(fpr[i])


def _average_precision(preds, target, opts: dict, binary: bool) -> Tuple[List[float], Tuple[float, float]]:
    """Per-class average precision, and its macro and weighted averages (NaN for binary: one class)."""
    per_class = average_precision(preds, target, average=None, **opts).reshape(-1).tolist()
    if binary:
        return per_class, (math.nan, math.nan)
    return per_class, tuple(float(average_precision(preds, target, average=a, **opts)) for a in ("macro", "weighted"))


def _mean(values: List[float], weights: Optional[List[float]]) -> float:
    """Mean over the defined (non-NaN) values; weighted when ``weights`` sum to more than 0 there."""
    keep = [i for i, v in enumerate(values) if not math.isnan(v)]
    if not keep:
        return math.nan
    if weights is not None:
        total = sum(weights[i] for i in keep)
        if total > 0:
            return sum(values[i] * weights[i] for i in keep) / total
    return sum(values[i] for i in keep) / len(keep)


def _average(name: str, rows: List[ClassReport], weights, auc: float, levels) -> ClassReport:
    def col(key):
        return _mean([r[key] for r in rows], weights)

    return ClassReport(
        name=name,
        support=sum(r.support for r in rows),
        auroc=auc,
        ap=math.nan,
        precision=col("precision"),
        recall=col("recall"),
        f1=col("f1"),
        tpr_at_fpr={x: _mean([r.tpr_at_fpr[x] for r in rows], weights) for x in levels},
        youden_threshold=None,
        youden_tpr=None,
        youden_fpr=None,
    )


# ----------------------------------------------------------------------------- formatting


def _num(v, digits: int) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}f}"


def _pct(x: float) -> str:
    return f"{x * 100:g}%"
