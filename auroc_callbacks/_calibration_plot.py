"""Reliability diagrams, drawn with matplotlib (imported inside the function).

Every number comes from :mod:`auroc_callbacks.calibration`; the ECE in the
legend is that of the bins drawn, ``sum_b n_b |accuracy_b - confidence_b| / n``.

Artists carry a ``gid`` so that they can be found and restyled:

=================================  =========================================
gid                                artist
=================================  =========================================
``reliability/diagonal``           the perfectly calibrated diagonal
``reliability/model``              accuracy against confidence, per bin
``reliability/calibrated``         the same after calibration
``reliability/counts/model``       the samples per bin (lower axes)
``reliability/counts/calibrated``  the same after calibration
=================================  =========================================
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

_AXIS_LABELS = {
    "binary": ("mean predicted probability", "fraction of positives", "samples"),
    "multiclass": ("confidence (top-label probability)", "accuracy", "samples"),
    "multilabel": ("predicted probability (every label pooled)", "fraction of positives", "entries"),
}
_STRATEGY_NAMES = {"uniform": "equal-width", "quantile": "equal-mass"}


def _ece(count: np.ndarray, accuracy: np.ndarray, confidence: np.ndarray) -> float:
    filled = count > 0
    return float(np.sum(count[filled] * np.abs(accuracy[filled] - confidence[filled])) / np.sum(count))


def reliability_figure(curves: List[Tuple[str, object]], task: str, strategy: str, *, title: Optional[str] = None,
                       pyplot: bool = True):
    """A figure of one or two :class:`~auroc_callbacks.calibration.Reliability` curves, ``[(name, reliability)]``.

    ``pyplot=False`` builds a bare ``matplotlib.figure.Figure`` (no GUI
    backend, safe off the main thread) for writers.
    """
    if pyplot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(5.2, 6.0), layout="constrained")
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.2, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw=dict(height_ratios=[3, 1]))
    x_label, y_label, unit = _AXIS_LABELS[task]
    top.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated", gid="reliability/diagonal")
    n_total, n_bins = 0, 0
    for i, (name, rel) in enumerate(curves):
        kind = "model" if i == 0 else "calibrated"
        color = f"C{i}"
        count = rel.count.cpu().numpy()
        acc, conf = rel.accuracy.cpu().numpy(), rel.confidence.cpu().numpy()
        edges = rel.edges.cpu().numpy()
        filled = count > 0
        top.plot(conf[filled], acc[filled], marker="o", ms=4.5, lw=1.6, color=color, gid=f"reliability/{kind}",
                 label=f"{name} (ECE = {_ece(count, acc, conf):.3f})", clip_on=False, zorder=3)
        bottom.stairs(count, edges, color=color, fill=i == 0, alpha=0.45 if i == 0 else 1.0, lw=1.4,
                      gid=f"reliability/counts/{kind}")
        if i == 0:
            n_total, n_bins = int(count.sum()), count.size
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel(y_label)
    top.grid(True, alpha=0.3, lw=0.6)
    top.legend(loc="upper left", fontsize="small")
    bottom.set_xlabel(x_label)
    bottom.set_ylabel(unit)
    bottom.grid(True, alpha=0.3, lw=0.6)
    if title is None:
        title = f"Reliability diagram (n = {n_total:,} {unit}, {n_bins} {_STRATEGY_NAMES[strategy]} bins)"
    top.set_title(title, fontsize="medium")
    return fig
