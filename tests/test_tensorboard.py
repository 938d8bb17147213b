"""log_auroc: written to a real SummaryWriter, read back with TensorBoard's EventAccumulator, checked against sklearn."""

import re

import numpy as np
import pytest
import torch

pytest.importorskip("tensorboard")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("sklearn")

from _reference import delong_interval, delong_se  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402

import auroc_callbacks as ac  # noqa: E402
from auroc_callbacks.tensorboard import log_auroc, tag_name  # noqa: E402


def _read(logdir):
    ea = EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    ea.Reload()
    return ea


def _write(tmp_path, acc, **kwargs):
    with SummaryWriter(str(tmp_path)) as writer:
        scores = log_auroc(writer, acc, **kwargs)
    return scores, _read(tmp_path)


def _accumulator(preds, target, batch=64, **options):
    acc = ac.AUROCAccumulator(**options)
    for start in range(0, len(target), batch):
        acc.update(preds[start : start + batch], target[start : start + batch])
    return acc


class Recorder:
    """A writer with the SummaryWriter methods log_auroc uses, recording each call."""

    def __init__(self):
        self.calls = []

    def add_scalar(self, tag, value, global_step=None):
        self.calls.append(("scalar", tag, value, global_step))

    def add_figure(self, tag, figure, global_step=None):
        self.calls.append(("figure", tag, figure, global_step))

    def add_pr_curve(self, tag, labels, predictions, global_step=None):
        self.calls.append(("pr", tag, (labels, predictions), global_step))

    def tags(self, kind):
        return [tag for k, tag, _, _ in self.calls if k == kind]


def test_multiclass_logs_value_per_class_scalars_figure_and_pr_curves(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    probs = rng.dirichlet(np.ones(4), 300) + 2 * np.eye(4)[y]
    probs /= probs.sum(1, keepdims=True)
    names = ["cat", "sea lion", "car/truck", "dog"]
    acc = _accumulator(torch.tensor(probs), torch.tensor(y))
    scores, ea = _write(tmp_path, acc, step=7, class_names=names)

    per_class = {f"auroc/{tag_name(n)}": roc_auc_score(y == c, probs[:, c]) for c, n in enumerate(names)}
    assert set(ea.Tags()["scalars"]) == {"auroc", *per_class}
    assert "auroc/sea_lion" in per_class and "auroc/car_truck" in per_class
    (event,) = ea.Scalars("auroc")
    assert event.step == 7
    assert event.value == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"), abs=1e-6)  # stored as float32
    for tag, expected in per_class.items():
        assert ea.Scalars(tag)[0].value == pytest.approx(expected, abs=1e-6)
    assert ea.Tags()["images"] == ["auroc/roc"]
    assert ea.Images("auroc/roc")[0].step == 7
    assert sorted(ea.Tags()["tensors"]) == sorted(f"auroc/pr/{tag_name(n)}" for n in names)
    assert ea.Tensors("auroc/pr/cat")[0].step == 7
    assert scores.value.item() == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"), abs=1e-12)


def test_binary_logs_one_scalar_the_figure_and_one_pr_curve(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    logits = 1.5 * y + rng.normal(size=200)
    acc = _accumulator(torch.tensor(logits), torch.tensor(y))
    scores, ea = _write(tmp_path, acc, step=3, tag="val/auroc")
    assert ea.Tags()["scalars"] == ["val/auroc"]
    assert ea.Scalars("val/auroc")[0].value == pytest.approx(roc_auc_score(y, logits), abs=1e-6)
    assert ea.Tags()["images"] == ["val/auroc/roc"]
    assert ea.Tags()["tensors"] == ["val/auroc/pr"]
    assert scores.value.item() == pytest.approx(roc_auc_score(y, logits), abs=1e-12)


def test_undefined_label_is_skipped_with_the_warning(tmp_path):
    rng = np.random.default_rng(2)
    y = (rng.random((200, 3)) < 0.4).astype(np.int64)
    y[:, 1] = 0
    logits = y + rng.normal(size=y.shape)
    acc = _accumulator(torch.tensor(logits), torch.tensor(y))
    with pytest.warns(ac.UndefinedAUROCWarning, match="label"):
        _, ea = _write(tmp_path, acc, step=0)
    assert set(ea.Tags()["scalars"]) == {"auroc", "auroc/0", "auroc/2"}
    macro = np.mean([roc_auc_score(y[:, c], logits[:, c]) for c in (0, 2)])
    assert ea.Scalars("auroc")[0].value == pytest.approx(macro, abs=1e-6)
    assert sorted(ea.Tags()["tensors"]) == ["auroc/pr/0", "auroc/pr/2"]  # label 1 has no positive
    assert ea.Tags()["images"] == ["auroc/roc"]


def test_per_class_average_logs_no_top_level_scalar():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 90)
    logits = rng.normal(size=(90, 3)) + np.eye(3)[y]
    acc = _accumulator(torch.tensor(logits), torch.tensor(y), average=None)
    writer = Recorder()
    log_auroc(writer, acc, step=1, figure=False, pr_curves=False)
    assert writer.tags("scalar") == ["auroc/0", "auroc/1", "auroc/2"]


def test_precomputed_scores_are_logged_without_recomputing(monkeypatch):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 90)
    acc = _accumulator(torch.tensor(rng.normal(size=(90, 3))), torch.tensor(y))
    scores = acc.compute_scores()
    monkeypatch.setattr(acc, "compute_scores", lambda: pytest.fail("recomputed"))
    writer = Recorder()
    assert log_auroc(writer, acc, step=2, scores=scores, figure=False) is scores
    assert writer.tags("pr") == ["auroc/pr/0", "auroc/pr/1", "auroc/pr/2"]
    labels, predictions = writer.calls[-1][2]
    np.testing.assert_array_equal(labels, (y == 2).astype(np.int64))
    assert predictions.min() >= 0 and predictions.max() <= 1  # softmax probabilities


def test_figure_is_closed_after_logging():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(5)
    acc = _accumulator(torch.tensor(rng.normal(size=(60, 3))), torch.tensor(rng.integers(0, 3, 60)))
    writer = Recorder()
    before = plt.get_fignums()
    log_auroc(writer, acc, step=0, pr_curves=False)
    ((_, tag, fig, step),) = [c for c in writer.calls if c[0] == "figure"]
    assert (tag, step) == ("auroc/roc", 0)
    assert plt.get_fignums() == before
    assert fig.axes[0].get_xlabel() == "False positive rate"


def test_nan_scores_with_warn_strategy_log_nothing_drawn():
    acc = ac.AUROCAccumulator(nan_strategy="warn")
    acc.update(torch.tensor([0.1, float("nan"), 0.7, 0.9]), torch.tensor([0, 0, 1, 1]))
    writer = Recorder()
    with pytest.warns(ac.UndefinedAUROCWarning, match="NaN"):
        log_auroc(writer, acc, step=0)
    assert writer.calls == []


def test_invalid_arguments_raise_clear_errors():
    acc = _accumulator(torch.rand(20, 3), torch.arange(20) % 3)
    with pytest.raises(TypeError, match="add_scalar"):
        log_auroc(object(), acc, step=0)
    with pytest.raises(TypeError, match="AUROCAccumulator"):
        log_auroc(Recorder(), (torch.rand(3), torch.ones(3)), step=0)
    with pytest.raises(TypeError, match="`step` must be an int"):
        log_auroc(Recorder(), acc, step=1.5)
    with pytest.raises(ValueError, match="must have 3 names"):
        log_auroc(Recorder(), acc, step=0, class_names=["a", "b"])
    with pytest.raises(ValueError, match=re.escape("'a b' and 'a/b' both become the tag name 'a_b'")):
        log_auroc(Recorder(), acc, step=0, class_names=["a b", "a/b", "c"])


def test_tag_names_are_sanitised():
    assert tag_name("sea lion") == "sea_lion"
    assert tag_name("car/truck") == "car_truck"
    assert tag_name(3) == "3"
    assert tag_name("a.b-c_d") == "a.b-c_d"


def test_raw_scores_without_activation_skip_pr_curves_with_a_warning():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 50)
    acc = _accumulator(torch.tensor(3.0 * y + rng.normal(size=50)), torch.tensor(y), activation=None)
    writer = Recorder()
    with pytest.warns(UserWarning, match="PR curves need probabilities"):
        log_auroc(writer, acc, step=0, figure=False)
    assert writer.tags("scalar") == ["auroc"] and writer.tags("pr") == []


def test_accumulator_with_ci_logs_the_interval_ends_as_scalars(tmp_path):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    acc = _accumulator(torch.tensor(p), torch.tensor(y), ci=True)
    _, ea = _write(tmp_path, acc, step=3, figure=False, pr_curves=False)
    assert set(ea.Tags()["scalars"]) == {"auroc", "auroc_lo", "auroc_hi"}
    a, se = delong_se(p, y)
    _, lo, hi = delong_interval(p, y)  # the default logit-t interval
    assert se > 0 and ea.Scalars("auroc_lo")[0].value == pytest.approx(lo, abs=1e-6)
    assert ea.Scalars("auroc_hi")[0].value == pytest.approx(hi, abs=1e-6)
    assert ea.Scalars("auroc_hi")[0].step == 3


def test_a_given_interval_is_logged_and_supplies_the_scores(monkeypatch):
    acc = _accumulator(torch.randn(90, 3), torch.arange(90) % 3)
    interval = acc.compute_interval()
    monkeypatch.setattr(acc, "compute_scores", lambda: pytest.fail("the interval's own scores must be used"))
    writer = Recorder()
    scores = log_auroc(writer, acc, step=0, tag="val/auroc", interval=interval, figure=False, pr_curves=False)
    assert torch.equal(scores.value, interval.value)
    logged = {tag: value for kind, tag, value, _ in writer.calls}
    assert logged["val/auroc_lo"] == interval.lower.item() and logged["val/auroc_hi"] == interval.upper.item()
    with pytest.raises(TypeError, match="`interval` must be an AUROCInterval"):
        log_auroc(writer, acc, step=0, interval=interval.scores(), figure=False)


def test_a_nan_interval_is_not_logged():
    acc = _accumulator(torch.tensor([0.1, 0.2, 0.9, 0.3]), torch.tensor([0, 0, 1, 0]), ci=True)
    writer = Recorder()
    with pytest.warns(ac.UndefinedAUROCWarning, match="needs >= 2 positives"):
        log_auroc(writer, acc, step=0, figure=False, pr_curves=False)
    assert writer.tags("scalar") == ["auroc"]


def test_histogram_accumulator_logs_its_bound_and_the_figure_from_its_counts(tmp_path):
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 400)
    logits = rng.normal(size=(400, 3)) + 2 * np.eye(3)[y]
    acc = _accumulator(torch.tensor(logits), torch.tensor(y), mode="histogram")
    scores, ea = _write(tmp_path, acc, step=4, class_names=["a", "b", "c"])
    bound = acc.compute_bound()
    assert set(ea.Tags()["scalars"]) == {"auroc", "auroc_bound", "auroc/a", "auroc/b", "auroc/c"}
    assert ea.Scalars("auroc_bound")[0].value == pytest.approx(bound.bound.item(), rel=1e-6)
    assert ea.Scalars("auroc")[0].value == pytest.approx(bound.value.item(), abs=1e-6)
    assert ea.Tags()["images"] == ["auroc/roc"] and ea.Tags()["tensors"] == []  # no predictions: no PR curves
    assert scores.value.item() == bound.value.item()
    writer = Recorder()
    log_auroc(writer, acc, step=5, scores=scores, bound=bound, class_names=["a", "b", "c"], pr_curves=True)
    (fig,) = [f for kind, _, f, _ in writer.calls if kind == "figure"]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith(f"a (AUC = {bound.per_class[0].item():.3f} \u00b1 ")
    with pytest.raises(TypeError, match="`bound` must be an AUROCBound"):
        log_auroc(writer, acc, step=5, bound=scores)


def test_the_figure_of_an_accumulator_with_ci_reuses_the_logged_interval(tmp_path, monkeypatch):
    """One DeLong computation per epoch: the ROC figure's legend takes the interval log_auroc already has."""
    from auroc_callbacks import plotting

    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 300)
    p = torch.softmax(torch.tensor(rng.normal(size=(300, 3)) + 2 * np.eye(3)[y]), 1)
    acc = _accumulator(p, torch.tensor(y), ci=True)
    interval = acc.compute_interval()
    monkeypatch.setattr(plotting, "auroc_ci", lambda *a, **k: pytest.fail("the interval was computed again"))
    _, ea = _write(tmp_path, acc, step=1, interval=interval, pr_curves=False)
    assert "auroc/roc" in ea.Tags()["images"]
    assert ea.Scalars("auroc_lo")[0].value == pytest.approx(interval.lower.item(), abs=1e-6)


def test_pr_curves_of_a_pos_label_epoch_use_its_labels(tmp_path):
    """pos_label=2 with labels {1, 2}: the PR curves read the labels the AUROC read (they used to refuse them)."""
    from torch.utils.tensorboard import SummaryWriter

    import auroc_callbacks as ac
    from auroc_callbacks.tensorboard import log_auroc

    acc = ac.AUROCAccumulator(pos_label=2)
    acc.update(torch.tensor([0.1, 0.9, 0.3, 0.7, 0.2, 0.4]), torch.tensor([1, 2, 1, 2, 2, 1]))
    with SummaryWriter(str(tmp_path)) as writer:
        scores = log_auroc(writer, acc, step=0, figure=False, pr_curves=True)
    assert abs(float(scores.value) - 7 / 9) < 1e-12  # sklearn: roc_auc_score(t == 2, p) = 0.7778
