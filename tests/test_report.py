"""ac.report (auroc_callbacks.reporting): the operating-points table, checked against scikit-learn and brute force.

Expected values come from ``sklearn.metrics`` (precision/recall/F1, AUROC)
and from a brute-force sweep over every distinct threshold (TPR at a given
FPR, Youden's J), never from the code under test.
"""

import json
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

import auroc_callbacks as ac
from auroc_callbacks.reporting import AUROCReport, ClassReport

LEVELS = (0.01, 0.05, 0.1)


# ----------------------------------------------------------------------------- references


def sweep(scores, positive):
    """(thresholds, tpr, fpr) at every distinct score and +inf, highest threshold first (brute force)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive).astype(bool)
    thresholds = np.concatenate([[np.inf], np.unique(s)[::-1]])
    tpr = np.array([(s[y] >= t).mean() for t in thresholds])
    fpr = np.array([(s[~y] >= t).mean() for t in thresholds])
    return thresholds, tpr, fpr


def tpr_at(scores, positive, level):
    _, tpr, fpr = sweep(scores, positive)
    return tpr[fpr <= level].max()


def youden(scores, positive):
    thr, tpr, fpr = sweep(scores, positive)
    j = tpr - fpr
    i = int(np.flatnonzero(j == j.max())[0])  # highest threshold among the maxima
    return thr[i], tpr[i], fpr[i]


def nan_equal(a, b, tol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= tol)))


def _multiclass(rng, n=600, c=5, noise=1.5, decimals=2):
    """Probabilities with real signal, rounded so that there are many tied scores."""
    y = rng.integers(0, c, n)
    logits = torch.tensor(rng.normal(size=(n, c)) * noise + 2.0 * np.eye(c)[y] * rng.uniform(0.3, 1.5, (n, 1)))
    probs = torch.softmax(logits.float(), 1)
    probs = torch.round(probs, decimals=decimals)
    probs = probs / probs.sum(1, keepdim=True)
    return probs, torch.tensor(y)


# ----------------------------------------------------------------------------- multiclass


def test_multiclass_columns_equal_sklearn_and_brute_force(rng):
    probs, y = _multiclass(rng)
    p, t = probs.double().numpy(), y.numpy()
    r = ac.report(probs, y, class_names=list("abcde"))
    assert isinstance(r, AUROCReport) and r.task == "multiclass" and r.decision == "argmax"
    pred = probs.argmax(1).numpy()
    prec, rec, f1, sup = precision_recall_fscore_support(t, pred, labels=range(5), zero_division=np.nan)
    assert [row.name for row in r.classes] == list("abcde")
    assert [row.support for row in r.classes] == sup.tolist()
    assert nan_equal([row.precision for row in r.classes], prec)
    assert nan_equal([row.recall for row in r.classes], rec)
    assert nan_equal([row.f1 for row in r.classes], f1)
    assert r.accuracy == pytest.approx(accuracy_score(t, pred), abs=1e-12)
    for k, row in enumerate(r.classes):
        assert row.auroc == pytest.approx(roc_auc_score(t == k, p[:, k]), abs=1e-12)
        for level in LEVELS:
            assert row.tpr_at_fpr[level] == pytest.approx(tpr_at(p[:, k], t == k, level), abs=1e-12)
        thr, tpr, fpr = youden(p[:, k], t == k)
        assert (row.youden_threshold, row.youden_tpr, row.youden_fpr) == pytest.approx((thr, tpr, fpr), abs=1e-12)


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_average_rows_equal_sklearn(rng, average):
    probs, y = _multiclass(rng)
    p, t = probs.double().numpy(), y.numpy()
    r = ac.report(probs, y)
    row = r.macro if average == "macro" else r.weighted
    assert row.name == f"{average} avg" and row.support == len(t)
    prec, rec, f1, _ = precision_recall_fscore_support(t, p.argmax(1), average=average, zero_division=np.nan)
    assert (row.precision, row.recall, row.f1) == pytest.approx((prec, rec, f1), abs=1e-12)
    assert row.auroc == pytest.approx(roc_auc_score(t, p, multi_class="ovr", average=average), abs=1e-12)
    weights = np.bincount(t, minlength=5) if average == "weighted" else np.ones(5)
    for level in LEVELS:
        ref = np.average([tpr_at(p[:, k], t == k, level) for k in range(5)], weights=weights)
        assert row.tpr_at_fpr[level] == pytest.approx(ref, abs=1e-12)
    assert row.youden_threshold is None


def test_logits_are_scored_as_their_softmax(rng):
    logits = torch.tensor(rng.normal(size=(300, 4)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 4, 300))
    from_logits = ac.report(logits, y)
    from_probs = ac.report(torch.softmax(logits, 1), y)
    assert from_logits.activation == "softmax" and from_probs.activation is None
    assert from_logits.to_rows() == from_probs.to_rows()


def test_missing_class_is_nan_warns_once_and_averages_match_sklearn(rng):
    probs, y = _multiclass(rng, n=200, c=4)
    y[y == 2] = 0  # class 2 never occurs: AUROC and recall undefined
    p, t = probs.double().numpy(), y.numpy()
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        r = ac.report(probs, y)
    assert len(record) == 1
    row = r.classes[2]
    assert row.support == 0 and math.isnan(row.auroc) and math.isnan(row.recall)
    assert math.isnan(row.tpr_at_fpr[0.05]) and math.isnan(row.youden_threshold)
    for average, got in (("macro", r.macro), ("weighted", r.weighted)):
        ref = precision_recall_fscore_support(t, p.argmax(1), labels=range(4), average=average, zero_division=np.nan)
        assert (got.precision, got.recall, got.f1) == pytest.approx(ref[:3], abs=1e-12)
    defined = [k for k in range(4) if k != 2]
    ref_auc = np.mean([roc_auc_score(t == k, p[:, k]) for k in defined])
    assert r.macro.auroc == pytest.approx(ref_auc, abs=1e-12)


def test_class_never_predicted_has_nan_precision_like_sklearn():
    probs = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.8, 0.2]])
    y = torch.tensor([0, 1, 1, 0])
    r = ac.report(probs, y, task="multiclass")
    prec, rec, f1, _ = precision_recall_fscore_support([0, 1, 1, 0], [0, 0, 0, 0], zero_division=np.nan)
    assert nan_equal([row.precision for row in r.classes], prec)
    assert nan_equal([row.f1 for row in r.classes], f1)
    assert r.classes[1].auroc == 1.0 and r.classes[1].recall == 0.0  # ranked perfectly, never the argmax


def test_ignore_index_drops_those_samples(rng):
    probs, y = _multiclass(rng, n=300, c=3)
    masked = y.clone()
    masked[::7] = -100
    keep = (masked != -100).numpy()
    got = ac.report(probs, masked, ignore_index=-100)
    ref = ac.report(probs[keep], y[keep])
    assert got.num_samples == int(keep.sum())
    assert got.to_rows() == ref.to_rows()
    prec = precision_recall_fscore_support(y.numpy()[keep], probs.numpy()[keep].argmax(1), zero_division=np.nan)[0]
    assert nan_equal([row.precision for row in got.classes], prec)


# ----------------------------------------------------------------------------- binary and multilabel


def test_binary_reports_the_positive_class_at_p_half(rng):
    y = rng.integers(0, 2, 400)
    p = np.round(1 / (1 + np.exp(-(rng.normal(size=400) + 1.2 * (2 * y - 1)))), 2)
    r = ac.report(torch.tensor(p), torch.tensor(y), class_names=["benign", "malignant"])
    assert r.task == "binary" and r.decision == "p >= 0.5" and r.macro is None and r.accuracy is None
    (row,) = r.classes
    prec, rec, f1, _ = precision_recall_fscore_support(y, p >= 0.5, average="binary")
    assert row.name == "malignant" and row.support == int(y.sum())
    assert (row.precision, row.recall, row.f1) == pytest.approx((prec, rec, f1), abs=1e-12)
    assert row.auroc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    for level in LEVELS:
        assert row.tpr_at_fpr[level] == pytest.approx(tpr_at(p, y, level), abs=1e-12)
    assert (row.youden_threshold, row.youden_tpr, row.youden_fpr) == pytest.approx(youden(p, y), abs=1e-12)


def test_binary_logits_get_sigmoid_thresholds_and_a_custom_threshold(rng):
    y = rng.integers(0, 2, 300)
    logits = rng.normal(size=300) + (2 * y - 1)
    p = 1 / (1 + np.exp(-logits))
    r = ac.report(torch.tensor(logits), torch.tensor(y), threshold=0.3)
    prec, rec, f1, _ = precision_recall_fscore_support(y, p >= 0.3, average="binary")
    row = r.classes[0]
    assert r.decision == "p >= 0.3" and row.name == "1"
    assert (row.precision, row.recall, row.f1) == pytest.approx((prec, rec, f1), abs=1e-12)
    assert row.youden_threshold == pytest.approx(youden(p, y)[0], abs=1e-9)  # on the probability scale


def test_multilabel_per_label_at_p_half_equals_sklearn(rng):
    y = rng.integers(0, 2, (250, 3))
    p = np.round(1 / (1 + np.exp(-(rng.normal(size=(250, 3)) + (2 * y - 1)))), 2)
    r = ac.report(torch.tensor(p), torch.tensor(y))
    assert r.task == "multilabel" and r.accuracy is None
    prec, rec, f1, sup = precision_recall_fscore_support(y, (p >= 0.5).astype(int), zero_division=np.nan)
    assert [row.support for row in r.classes] == sup.tolist()
    assert nan_equal([row.precision for row in r.classes], prec)
    assert nan_equal([row.recall for row in r.classes], rec)
    assert nan_equal([row.f1 for row in r.classes], f1)
    for k, row in enumerate(r.classes):
        assert row.auroc == pytest.approx(roc_auc_score(y[:, k], p[:, k]), abs=1e-12)
        assert row.tpr_at_fpr[0.05] == pytest.approx(tpr_at(p[:, k], y[:, k], 0.05), abs=1e-12)
    ref = precision_recall_fscore_support(y, (p >= 0.5).astype(int), average="weighted", zero_division=np.nan)
    assert (r.weighted.precision, r.weighted.recall, r.weighted.f1) == pytest.approx(ref[:3], abs=1e-12)
    assert r.weighted.auroc == pytest.approx(roc_auc_score(y, p, average="weighted"), abs=1e-12)


def test_multilabel_ignore_index_scores_each_label_on_its_valid_entries(rng):
    y = rng.integers(0, 2, (200, 2))
    p = rng.uniform(size=(200, 2))
    masked = y.copy()
    masked[rng.uniform(size=(200, 2)) < 0.2] = -1
    r = ac.report(torch.tensor(p), torch.tensor(masked), ignore_index=-1)
    for k, row in enumerate(r.classes):
        v = masked[:, k] != -1
        prec, rec, f1, _ = precision_recall_fscore_support(y[v, k], p[v, k] >= 0.5, average="binary")
        assert (row.precision, row.recall, row.f1) == pytest.approx((prec, rec, f1), abs=1e-12)
        assert row.support == int(y[v, k].sum())
        assert row.auroc == pytest.approx(roc_auc_score(y[v, k], p[v, k]), abs=1e-12)


# ----------------------------------------------------------------------------- accumulator and exports


def test_accumulator_gives_the_same_report_as_its_epoch(rng):
    probs, y = _multiclass(rng, n=200, c=3)
    acc = ac.AUROCAccumulator(num_classes=3)
    for i in range(0, 200, 32):
        acc.update(probs[i : i + 32], y[i : i + 32])
    assert ac.report(accumulator=acc).to_rows() == ac.report(probs, y).to_rows()


def test_text_table_is_aligned_and_names_every_row(rng):
    probs, y = _multiclass(rng, c=3)
    r = ac.report(probs, y, class_names=["cat", "dog", "sea lion"], fpr_levels=(0.02, 0.2))
    text = r.to_text()
    assert str(r) == text
    lines = text.splitlines()
    header = lines[0].split()
    assert header == ["support", "AUROC", "AP", "precision", "recall", "F1", "TPR@2%", "TPR@20%", "J", "thr"]
    body = [line for line in lines[1:7] if line]
    assert [line.split()[0] for line in body] == ["cat", "dog", "sea", "macro", "weighted"]
    ends = {len(line) for line in lines[1:4]}
    assert len(ends) == 1 and len(lines[0]) == ends.pop()  # right-aligned columns end together
    cat = lines[1].split()
    assert cat[1] == str(r.classes[0].support) and cat[2] == f"{r.classes[0].auroc:.3f}"
    assert any(line.startswith("accuracy ") for line in lines)
    assert "Youden" in text and "<= x" in text
    assert f"{r.classes[0].auroc:.5f}" in r.to_text(digits=5)


def test_dict_and_rows_round_trip_through_json_and_pandas(rng):
    pd = pytest.importorskip("pandas")
    probs, y = _multiclass(rng, c=3)
    r = ac.report(probs, y, class_names=["x", "y", "z"])
    d = r.to_dict()
    assert set(d) >= {"x", "y", "z", "macro avg", "weighted avg", "accuracy", "task", "num_samples"}
    assert d["y"]["recall"] == r.classes[1].recall and d["y"]["tpr@fpr=0.05"] == r.classes[1].tpr_at_fpr[0.05]
    json.loads(json.dumps(d))
    frame = pd.DataFrame(r.to_rows()).set_index("name")
    assert list(frame.index) == ["x", "y", "z", "macro avg", "weighted avg"]
    assert list(frame.columns[:6]) == ["support", "auroc", "ap", "precision", "recall", "f1"]
    assert frame.loc["z", "f1"] == r.classes[2].f1
    md = r.to_markdown().splitlines()
    assert md[0].startswith("| class | support | AUROC") and len(md) == 2 + 5
    assert isinstance(r.classes[0], ClassReport) and r.classes[0]["auroc"] == r.classes[0].auroc
    assert "macro AUROC" in repr(r)


def test_report_is_importable_without_matplotlib_or_pandas():
    import subprocess
    import sys

    code = (
        "import sys, torch, auroc_callbacks as ac\n"
        "ac.report(torch.tensor([0.2, 0.8, 0.6]), torch.tensor([0, 1, 0]))\n"
        "print(','.join(m for m in ('matplotlib', 'pandas', 'sklearn') if m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == ""


# ----------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=40),
    level=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]),
)
def test_tpr_at_fpr_and_youden_equal_brute_force_with_ties(data, level):
    scores = np.array([s for s, _ in data], dtype=np.float64) / 6
    labels = np.array([b for _, b in data])
    if labels.all() or not labels.any():
        return
    r = ac.report(torch.tensor(scores), torch.tensor(labels), fpr_levels=[level])
    row = r.classes[0]
    assert row.tpr_at_fpr[level] == pytest.approx(tpr_at(scores, labels, level), abs=1e-12)
    assert (row.youden_threshold, row.youden_tpr, row.youden_fpr) == pytest.approx(youden(scores, labels), abs=1e-12)


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(fpr_levels=0.1), TypeError, "`fpr_levels` must be a sequence"),
        (dict(fpr_levels="0.1"), TypeError, "`fpr_levels` must be a sequence"),
        (dict(fpr_levels=[]), ValueError, "at least one"),
        (dict(fpr_levels=[0.1, 1.5]), ValueError, r"`fpr_levels` must hold FPRs in \[0, 1\]; got 1.5"),
        (dict(fpr_levels=[True]), TypeError, "`fpr_levels` must hold floats"),
        (dict(fpr_levels=[0.1, 0.1]), ValueError, "repeat"),
        (dict(threshold="0.5"), TypeError, "`threshold` must be a float; got str"),
        (dict(threshold=float("nan")), ValueError, "`threshold` must be finite"),
        (dict(class_names=["a", "b"]), ValueError, "`class_names` must have 3 names; got 2"),
        (dict(class_names="abc"), TypeError, "`class_names` must be a sequence"),
        (dict(average="macro"), TypeError, "average"),
        (dict(activation="relu"), ValueError, "`activation` must be one of"),
    ],
)
def test_bad_arguments_raise_errors_naming_them(kwargs, error, match):
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    with pytest.raises(error, match=match):
        ac.report(probs, torch.tensor([0, 1, 2]), **kwargs)


def test_bad_input_combinations_raise():
    acc = ac.AUROCAccumulator()
    acc.update(torch.tensor([0.1, 0.9]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="not both"):
        ac.report(torch.tensor([0.1]), torch.tensor([0]), accumulator=acc)
    with pytest.raises(ValueError, match="got neither"):
        ac.report()
    with pytest.raises(ValueError, match="`target` is None"):
        ac.report(torch.tensor([0.1]))
    with pytest.raises(ValueError, match="options come from the accumulator"):
        ac.report(accumulator=acc, task="binary")
    with pytest.raises(TypeError, match="`accumulator` must be an AUROCAccumulator"):
        ac.report(accumulator="acc")
    with pytest.raises(ValueError, match="same number of samples"):
        ac.report(torch.rand(4), torch.tensor([0, 1, 0]))
    with pytest.raises(TypeError, match="`digits` must be an int"):
        ac.report(torch.tensor([0.1, 0.9]), torch.tensor([0, 1])).to_text(digits=2.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ac.report(torch.tensor([0.1, 0.9]), torch.tensor([0, 1]))  # nothing undefined: no warning


# ----------------------------------------------------------------------------- confidence intervals (issue 6)


def test_ci_adds_each_rows_delong_interval_and_a_column(rng):
    probs, y = _multiclass(rng, n=300, c=3)
    r = ac.report(probs, y, class_names=["cat", "dog", "eel"], ci=True)
    per = ac.auroc_ci(probs, y, average=None)
    macro, weighted = ac.auroc_ci(probs, y), ac.auroc_ci(probs, y, average="weighted")
    for c, row in enumerate(r.classes):
        assert row.auroc == pytest.approx(roc_auc_score(y == c, probs[:, c]), abs=1e-12)
        # per class from the positives alone (average=None) or from every influence value (an average): 1e-12
        assert (row.auroc_lower, row.auroc_upper) == pytest.approx(
            (per.lower[c].item(), per.upper[c].item()), rel=1e-12
        )
        assert row.auroc_lower < row.auroc < row.auroc_upper
    assert (r.macro.auroc_lower, r.macro.auroc_upper) == (macro.lower.item(), macro.upper.item())
    assert (r.weighted.auroc_lower, r.weighted.auroc_upper) == (weighted.lower.item(), weighted.upper.item())
    assert r.ci_level == 0.95
    lines = r.to_text().splitlines()
    assert lines[0].split()[:4] == ["support", "AUROC", "95%", "CI"]
    assert f"[{r.classes[0].auroc_lower:.3f}, {r.classes[0].auroc_upper:.3f}]" in lines[1]
    assert "DeLong" in r.to_text()
    assert "95% CI" in r.to_markdown().splitlines()[0]
    assert "auroc_lower" in r.to_rows()[0]
    plain = ac.report(probs, y)
    assert plain.ci_level is None and "auroc_lower" not in plain.to_rows()[0] and "CI" not in plain.to_text()


def test_ci_follows_the_accumulator_and_its_level(rng):
    probs, y = _multiclass(rng, n=200, c=3)
    acc = ac.AUROCAccumulator(num_classes=3, ci=True, ci_level=0.9)
    acc.update(probs, y)
    r = ac.report(accumulator=acc)
    assert r.ci_level == 0.9
    assert r.macro.auroc_lower == ac.auroc_ci(probs, y, ci_level=0.9).lower.item()
    assert ac.report(accumulator=acc, ci=False).ci_level is None
    assert ac.report(accumulator=acc, ci_level=0.5).ci_level == 0.5
    with pytest.raises(TypeError, match="`ci` must be a bool or None; got str 'yes'"):
        ac.report(probs, y, ci="yes")
    with pytest.raises(ValueError, match=r"`ci_level` must be in \(0, 1\)"):
        ac.report(probs, y, ci=True, ci_level=95)


def test_binary_ci_and_a_thin_class_shows_a_dash(rng):
    p = torch.tensor([0.9, 0.8, 0.7, 0.3, 0.2, 0.6], dtype=torch.float64)
    y = torch.tensor([1, 1, 1, 0, 0, 0])
    r = ac.report(p, y, ci=True)
    iv = ac.auroc_ci(p, y)
    assert (r.classes[0].auroc_lower, r.classes[0].auroc_upper) == (iv.lower.item(), iv.upper.item())
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    with pytest.warns(ac.UndefinedAUROCWarning, match="single positive"):
        r = ac.report(probs, torch.tensor([0, 0, 1, 1, 2]), ci=True)
    assert math.isnan(r.classes[2].auroc_lower) and "-" in r.to_text().splitlines()[3].split()
