"""plot_roc: structure of the figure, every number checked against scikit-learn or numpy counts."""

import re
import sys
import warnings

import numpy as np
import pytest
import torch

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

import auroc_callbacks as ac  # noqa: E402
from auroc_callbacks.plotting import plot_roc  # noqa: E402

DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    """Probabilities of a quick logistic regression on half of ``load_digits``, scored on the other half."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: 200 iterations are plenty for a plot
        clf = LogisticRegression(max_iter=200).fit(x[::2], y[::2])
    probs = clf.predict_proba(x[1::2])
    return torch.tensor(probs), torch.tensor(y[1::2]), probs, y[1::2]


def _lines(ax, prefix):
    return {line.get_gid(): line for line in ax.lines if (line.get_gid() or "").startswith(prefix)}


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _rates(decision, positive):
    """(FPR, TPR) of a 0/1 decision, from the confusion counts."""
    tp = np.sum(decision & positive)
    fp = np.sum(decision & ~positive)
    return fp / np.sum(~positive), tp / np.sum(positive)


def _random_multiclass(n, c, seed):
    """Logits (as a tensor), labels (as a tensor), and their numpy softmax probabilities and labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c))
    logits[np.arange(n), y] += rng.uniform(0, 3, c)[y]  # classes of varying difficulty
    probs = np.exp(logits - logits.max(1, keepdims=True))
    return torch.tensor(logits), torch.tensor(y), probs / probs.sum(1, keepdims=True), y


def test_multiclass_draws_one_curve_per_class_labelled_with_sklearn_auc(digits):
    preds, target, probs, y = digits
    fig, ax = plot_roc(preds, target, class_names=DIGIT_NAMES)
    classes = _lines(ax, "roc/class/")
    assert sorted(classes) == sorted(f"roc/class/{c}" for c in range(10))
    legend = _legend(ax)
    for c, name in enumerate(DIGIT_NAMES):
        expected = f"{name} (AUC = {roc_auc_score(y == c, probs[:, c]):.3f})"
        assert expected in legend
        assert classes[f"roc/class/{c}"].get_label() == expected


def test_micro_and_macro_curves_are_labelled_with_sklearn_averages(digits):
    preds, target, probs, y = digits
    _, ax = plot_roc(preds, target)
    onehot = np.eye(10, dtype=bool)[y]
    micro = roc_auc_score(onehot.ravel(), probs.ravel())
    macro = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert f"micro-average (AUC = {micro:.3f})" in _legend(ax)
    assert f"macro-average (AUC = {macro:.3f})" in _legend(ax)
    fpr, tpr, _ = roc_curve(onehot.ravel(), probs.ravel())
    np.testing.assert_allclose(_lines(ax, "roc/micro")["roc/micro"].get_xdata(), fpr)
    np.testing.assert_allclose(_lines(ax, "roc/micro")["roc/micro"].get_ydata(), tpr)


def test_macro_curve_is_the_mean_curve_whose_area_is_the_macro_auc(digits):
    preds, target, probs, y = digits
    _, ax = plot_roc(preds, target)
    macro = _lines(ax, "roc/macro")["roc/macro"]
    x, t = np.asarray(macro.get_xdata()), np.asarray(macro.get_ydata())
    assert (np.diff(x) >= 0).all() and (np.diff(t) >= -1e-12).all()
    assert (x[0], t[0], x[-1], t[-1]) == (0.0, 0.0, 1.0, 1.0)
    # the mean of piecewise-linear curves on the union of their breakpoints: area = mean of the areas
    np.testing.assert_allclose(np.trapezoid(t, x), roc_auc_score(y, probs, multi_class="ovr"), rtol=1e-12)
    # between breakpoints, it is the mean of the per-class sklearn curves
    grid = np.linspace(0.0015, 0.9985, 7)
    curves = [roc_curve(y == c, probs[:, c]) for c in range(10)]
    ok = [g for g in grid if not any(np.isin(g, fpr) for fpr, _, _ in curves)]
    mean = np.mean([np.interp(ok, fpr, tpr) for fpr, tpr, _ in curves], axis=0)
    np.testing.assert_allclose(np.interp(ok, x, t), mean, atol=1e-12)


def test_class_curve_data_equals_sklearn_roc_curve(digits):
    preds, target, probs, y = digits
    _, ax = plot_roc(preds, target)
    fpr, tpr, _ = roc_curve(y == 8, probs[:, 8])
    line = _lines(ax, "roc/class/8")["roc/class/8"]
    np.testing.assert_allclose(line.get_xdata(), fpr)
    np.testing.assert_allclose(line.get_ydata(), tpr)


def test_operating_points_are_the_rates_of_the_argmax_decision(digits):
    preds, target, probs, y = digits
    _, ax = plot_roc(preds, target)
    points = _lines(ax, "roc/operating_point/")
    assert len(points) == 10
    predicted = probs.argmax(1)
    for c in range(10):
        fpr, tpr = _rates(predicted == c, y == c)
        point = points[f"roc/operating_point/{c}"]
        np.testing.assert_allclose([point.get_xdata()[0], point.get_ydata()[0]], [fpr, tpr])
    assert "argmax decision" in _legend(ax)


def test_chance_diagonal_is_dashed_grey_and_axes_are_square(digits):
    preds, target, _, _ = digits
    _, ax = plot_roc(preds, target)
    chance = _lines(ax, "roc/chance")["roc/chance"]
    assert list(chance.get_xdata()) == [0, 1] and list(chance.get_ydata()) == [0, 1]
    assert chance.get_linestyle() == "--"
    assert matplotlib.colors.to_hex(chance.get_color()) == matplotlib.colors.to_hex("grey")
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
    assert ax.get_aspect() == 1.0
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("False positive rate", "True positive rate")


def test_binary_draws_one_curve_and_the_half_threshold_point():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = 1 / (1 + np.exp(-(1.5 * y - 0.75 + rng.normal(size=300))))
    _, ax = plot_roc(torch.tensor(p), torch.tensor(y))
    assert set(_lines(ax, "roc/")) == {"roc/binary", "roc/operating_point/binary", "roc/chance"}
    fpr, tpr, _ = roc_curve(y, p)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), fpr)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), tpr)
    assert _legend(ax)[0] == f"ROC curve (AUC = {roc_auc_score(y, p):.3f})"
    point = _lines(ax, "roc/operating_point/binary")["roc/operating_point/binary"]
    np.testing.assert_allclose([point.get_xdata()[0], point.get_ydata()[0]], _rates(p >= 0.5, y == 1))


def test_binary_logits_use_the_positive_class_name_and_sigmoid_threshold():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    logits = 2.0 * y - 1.0 + rng.normal(size=200)
    _, ax = plot_roc(torch.tensor(logits), torch.tensor(y), class_names=["healthy", "sick"])
    assert _legend(ax)[0] == f"sick (AUC = {roc_auc_score(y, logits):.3f})"
    point = _lines(ax, "roc/operating_point/binary")["roc/operating_point/binary"]
    np.testing.assert_allclose([point.get_xdata()[0], point.get_ydata()[0]], _rates(logits >= 0, y == 1))


def test_100_classes_draw_the_five_best_and_five_worst_plus_averages():
    preds, target, probs, y = _random_multiclass(1000, 100, seed=2)  # logits: the core applies softmax
    _, ax = plot_roc(preds, target)
    per_class = np.array([roc_auc_score(y == c, probs[:, c]) for c in range(100)])
    order = np.argsort(-per_class, kind="stable")
    expected = {f"roc/class/{c}" for c in np.concatenate([order[:5], order[-5:]])}
    assert set(_lines(ax, "roc/class/")) == expected
    assert set(_lines(ax, "roc/micro")) == {"roc/micro"} and set(_lines(ax, "roc/macro")) == {"roc/macro"}
    assert ax.get_legend().get_title().get_text() == "5 best and 5 worst of 100 classes"
    assert f"macro-average (AUC = {per_class.mean():.3f})" in _legend(ax)


def test_top_k_selects_best_and_worst_classes(digits):
    preds, target, probs, y = digits
    _, ax = plot_roc(preds, target, top_k=3)
    per_class = np.array([roc_auc_score(y == c, probs[:, c]) for c in range(10)])
    order = np.argsort(-per_class, kind="stable")
    assert set(_lines(ax, "roc/class/")) == {f"roc/class/{c}" for c in (order[0], order[1], order[-1])}
    assert ax.get_legend().get_title().get_text() == "2 best and 1 worst of 10 classes"


def test_show_flags_remove_averages_and_points(digits):
    preds, target, _, _ = digits
    _, ax = plot_roc(preds, target, show_micro=False, show_macro=False, show_operating_points=False)
    assert not _lines(ax, "roc/micro") and not _lines(ax, "roc/macro") and not _lines(ax, "roc/operating_point")
    assert len(_lines(ax, "roc/class/")) == 10


def test_undefined_label_gets_a_legend_entry_without_curve_and_one_warning():
    rng = np.random.default_rng(3)
    y = (rng.random((200, 4)) < 0.4).astype(np.int64)
    y[:, 2] = 0
    p = 1 / (1 + np.exp(-(y + rng.normal(size=y.shape))))
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        _, ax = plot_roc(torch.tensor(p), torch.tensor(y))
    assert len([w for w in record if w.category is ac.UndefinedAUROCWarning]) == 1
    assert set(_lines(ax, "roc/class/")) == {"roc/class/0", "roc/class/1", "roc/class/3"}
    assert "2 (AUC undefined)" in _legend(ax)
    assert f"0 (AUC = {roc_auc_score(y[:, 0], p[:, 0]):.3f})" in _legend(ax)
    macro = np.mean([roc_auc_score(y[:, c], p[:, c]) for c in (0, 1, 3)])
    assert f"macro-average (AUC = {macro:.3f})" in _legend(ax)
    points = _lines(ax, "roc/operating_point/")
    assert set(points) == {"roc/operating_point/0", "roc/operating_point/1", "roc/operating_point/3"}
    point = points["roc/operating_point/1"]
    np.testing.assert_allclose([point.get_xdata()[0], point.get_ydata()[0]], _rates(p[:, 1] >= 0.5, y[:, 1] == 1))


def test_multilabel_ignore_index_drops_entries_from_curves_and_points():
    rng = np.random.default_rng(4)
    y = (rng.random((300, 3)) < 0.5).astype(np.int64)
    p = 1 / (1 + np.exp(-(y + rng.normal(size=y.shape))))
    y[rng.random(y.shape) < 0.2] = -1
    _, ax = plot_roc(torch.tensor(p), torch.tensor(y), ignore_index=-1)
    keep = y[:, 0] != -1
    fpr, tpr, _ = roc_curve(y[keep, 0], p[keep, 0])
    np.testing.assert_allclose(_lines(ax, "roc/class/0")["roc/class/0"].get_xdata(), fpr)
    assert f"0 (AUC = {roc_auc_score(y[keep, 0], p[keep, 0]):.3f})" in _legend(ax)
    point = _lines(ax, "roc/operating_point/0")["roc/operating_point/0"]
    np.testing.assert_allclose([point.get_xdata()[0], point.get_ydata()[0]], _rates(p[keep, 0] >= 0.5, y[keep, 0] == 1))


def test_accumulator_draws_the_same_figure_as_tensors(digits):
    preds, target, _, _ = digits
    acc = ac.AUROCAccumulator()
    for start in range(0, len(target), 256):
        acc.update(preds[start : start + 256], target[start : start + 256])
    _, ax_acc = plot_roc(accumulator=acc, class_names=DIGIT_NAMES)
    _, ax_raw = plot_roc(preds, target, class_names=DIGIT_NAMES)
    assert _legend(ax_acc) == _legend(ax_raw)


def test_given_ax_is_drawn_on():
    fig, ax = plt.subplots()
    preds, target, _, _ = _random_multiclass(200, 3, seed=5)
    out_fig, out_ax = plot_roc(preds, target, ax=ax, title="mine")
    assert out_fig is fig and out_ax is ax
    assert len(_lines(ax, "roc/class/")) == 3 and ax.get_title() == "mine"


def test_both_preds_and_accumulator_raise_value_error():
    preds, target, _, _ = _random_multiclass(50, 3, seed=6)
    acc = ac.AUROCAccumulator()
    acc.update(preds, target)
    with pytest.raises(ValueError, match="not both"):
        plot_roc(preds, target, accumulator=acc)
    with pytest.raises(ValueError, match="neither"):
        plot_roc()
    with pytest.raises(ValueError, match="options come from the accumulator"):
        plot_roc(accumulator=acc, task="multiclass")


def test_bad_class_names_and_top_k_raise():
    preds, target, _, _ = _random_multiclass(50, 3, seed=7)
    with pytest.raises(ValueError, match="`class_names` must have 3 names; got 2"):
        plot_roc(preds, target, class_names=["a", "b"])
    with pytest.raises(ValueError, match="`top_k` must be >= 1"):
        plot_roc(preds, target, top_k=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        plot_roc(preds, target, colour="red")


def test_missing_matplotlib_names_the_pip_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    preds, target, _, _ = _random_multiclass(50, 3, seed=8)
    with pytest.raises(ModuleNotFoundError, match=re.escape('pip install "auroc-callbacks[plot]"')):
        plot_roc(preds, target)


def test_ci_puts_each_delong_interval_in_the_legend(digits):
    preds, target, probs, y = digits
    _, ax = plot_roc(preds, target, ci=True, show_micro=False)
    per, macro = ac.auroc_ci(preds, target, average=None), ac.auroc_ci(preds, target)
    legend = _legend(ax)
    for c in range(10):
        auc = roc_auc_score(y == c, probs[:, c])
        lo, hi = per.lower[c].item(), per.upper[c].item()
        assert lo < auc < hi
        assert f"{c} (AUC = {auc:.3f}, 95% CI {lo:.3f}\u2013{hi:.3f})" in legend
    assert f"macro-average (AUC = {macro.value.item():.3f}, 95% CI {macro.lower.item():.3f}" in " ".join(legend)
    acc = ac.AUROCAccumulator(ci=True, ci_level=0.8)
    acc.update(preds, target)
    _, ax = plot_roc(accumulator=acc)
    assert "80% CI" in _legend(ax)[0]
    _, ax = plot_roc(accumulator=acc, ci=False)
    assert "CI" not in " ".join(_legend(ax))
    plt.close("all")


@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_default_titles_name_the_curve_the_task_and_the_samples(curve):
    from auroc_callbacks.plotting import plot_pr

    plot = plot_roc if curve == "ROC" else plot_pr
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 3, generator=g), torch.randint(0, 3, (200,), generator=g)
    multilabel = (torch.rand(200, 3, generator=g) < 0.4).long()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        titles = [
            plot(x, y)[1].get_title(),
            plot(x[:, 0], (y == 0).long())[1].get_title(),
            plot(x, multilabel, task="multilabel")[1].get_title(),
            plot(x, y, title="mine")[1].get_title(),
        ]
    plt.close("all")
    assert titles == [
        f"{curve} curves, one-vs-rest (n = 200)",
        f"{curve} curve (n = 200)",
        f"{curve} curves per label (n = 200)",
        "mine",
    ]
