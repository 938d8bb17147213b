"""The epoch result every integration logs (auroc_callbacks._callback), without a framework.

Values are checked against scikit-learn; keys against the naming rule written out by hand.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import auroc_callbacks as ac
from auroc_callbacks import _callback


def _filled(**options):
    acc = ac.AUROCAccumulator(nan_strategy="warn", **options)
    g = torch.Generator().manual_seed(0)
    target = torch.arange(300) % 3
    logits = torch.randn(300, 3, generator=g) + 1.5 * torch.nn.functional.one_hot(target, 3)
    acc.update(logits[:128], target[:128])
    acc.update(logits[128:], target[128:])
    return acc, logits, target


def _options(acc, **kwargs):
    return _callback.check_callback_options(acc, name=kwargs.pop("name", "val_auroc"), **kwargs)


def test_values_and_record_equal_sklearn_under_the_shared_keys():
    acc, logits, target = _filled(ci=True)
    opts = _options(acc, per_class=True, class_names=["a", "b", "c"])
    result = _callback.compute_epoch(acc, opts)
    probs = torch.softmax(logits, 1).numpy()
    want = [roc_auc_score(target.numpy() == c, probs[:, c]) for c in range(3)]
    values = result.values("val_auroc", per_class=True)
    assert list(values) == ["val_auroc", "val_auroc_lo", "val_auroc_hi", "val_auroc/a", "val_auroc/b", "val_auroc/c"]
    assert float(values["val_auroc"]) == pytest.approx(np.mean(want), abs=1e-12)
    assert [float(values[f"val_auroc/{k}"]) for k in "abc"] == pytest.approx(want, abs=1e-12)
    assert float(values["val_auroc_lo"]) < float(values["val_auroc"]) < float(values["val_auroc_hi"])
    record = result.record(epoch=3, step=7)
    assert record["epoch"] == 3 and record["step"] == 7 and record["num_samples"] == 300
    assert record["support"] == {"a": 100, "b": 100, "c": 100}
    assert record["per_class"] == pytest.approx(dict(zip("abc", want)), abs=1e-12)
    assert (record["lower"], record["upper"]) == (float(values["val_auroc_lo"]), float(values["val_auroc_hi"]))


def test_scalar_keys_follow_one_rule():
    assert _callback.scalar_keys("auroc", bound=True, class_keys=["x"], calibration=True, sep="_") == [
        "auroc",
        "auroc_bound",
        "auroc_x",
        "ece",
        "ece_tempered",
        "brier",
    ]
    assert _callback.scalar_keys("cb", scalar=False, class_keys=["0", "1"]) == ["cb/0", "cb/1"]


def test_binary_has_per_class_keys_only_when_asked_to_fill_them():
    acc = ac.AUROCAccumulator()
    acc.update(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
    result = _callback.compute_epoch(acc, _options(acc, name="auroc", per_class=True))
    assert list(result.values("auroc", per_class=True)) == ["auroc"]
    filled = result.values("auroc", per_class=True, sep="_", class_keys=["neg", "pos"], fill_binary=True)
    assert {k: float(v) for k, v in filled.items()} == {"auroc": 0.75, "auroc_neg": 0.75, "auroc_pos": 0.75}
    assert result.names == ["1"]


def test_histogram_accumulator_gives_the_bound_and_no_interval():
    acc, logits, target = _filled(mode="histogram")
    result = _callback.compute_epoch(acc, _options(acc))
    assert result.interval is None and result.bound is not None
    probs = torch.softmax(logits, 1).half().double().numpy()  # the rounded scores the counts hold
    want = np.mean([roc_auc_score(target.numpy() == c, probs[:, c]) for c in range(3)])
    assert float(result.values("val_auroc")["val_auroc"]) == pytest.approx(want, abs=1e-12)
    assert list(result.values("val_auroc")) == ["val_auroc", "val_auroc_bound"]


def test_calibration_is_computed_once_from_the_same_epoch():
    acc, logits, target = _filled()
    result = _callback.compute_epoch(acc, _options(acc, calibration={"n_bins": 5}))
    probs = torch.softmax(logits, 1).double()  # the float32 probabilities the AUROC ranks, binned in float64
    conf, pred = probs.max(1)
    edges = torch.linspace(0, 1, 6, dtype=torch.float64)
    bins = torch.bucketize(conf, edges[1:-1], right=True)  # sklearn-style right-open bins
    ece = sum(
        (bins == b).sum() / 300 * abs((pred[bins == b] == target[bins == b]).double().mean() - conf[bins == b].mean())
        for b in range(5)
        if (bins == b).any()
    )
    assert float(result.values("val_auroc")["val_ece"]) == pytest.approx(float(ece), abs=1e-9)
    assert set(result.record()["calibration"]) == set(_callback.CALIBRATION_NUMBERS)


def test_nan_scores_give_nan_everywhere_and_one_warning():
    acc = ac.AUROCAccumulator(nan_strategy="warn")
    acc.update(torch.full((6, 3), math.nan), torch.tensor([0, 1, 2, 0, 1, 2]))
    with pytest.warns(ac.UndefinedAUROCWarning) as record:
        result = _callback.compute_epoch(acc, _options(acc, calibration=True))
    assert len(record) == 1
    assert all(math.isnan(float(v)) for v in result.values("val_auroc", per_class=True).values())


def test_an_empty_epoch_raises_the_error_the_integrations_catch():
    acc = ac.AUROCAccumulator()
    with pytest.raises(ac.EmptyEpochError):
        _callback.compute_epoch(acc, _options(acc))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"name": ""}, ValueError, "`name` must be a non-empty str; got ''"),
        ({"per_class": "yes"}, TypeError, "`per_class` must be a bool; got str 'yes'"),
        ({"class_names": "abc"}, TypeError, "`class_names` must be a sequence of names or None; got str"),
        ({"calibration": {"n_bins": 0}}, ValueError, "`n_bins` must be an int >= 1; got 0"),
        ({"calibration": {"bins": 3}}, ValueError, "`calibration` takes the options 'n_bins' and 'strategy'"),
        ({"log_curve": 1}, TypeError, "`log_curve` must be a bool or None; got int 1"),
        ({"pr_curves": True, "mode": "histogram"}, ValueError, "`pr_curves=True` needs mode='exact'"),
    ],
)
def test_callback_options_are_checked_naming_them(kwargs, error, match):
    acc = ac.AUROCAccumulator(mode=kwargs.pop("mode", "exact"))
    with pytest.raises(error, match=match):
        _callback.check_callback_options(acc, **{"name": "auroc", **kwargs})


def test_build_accumulator_passes_options_through_and_refuses_the_fixed_ones():
    acc = _callback.build_accumulator({"num_classes": 3, "ci": True}, sync_dist=False, nan_strategy="warn")
    assert acc.options.num_classes == 3 and acc.ci and acc.sync_dist is False and acc.nan_strategy == "warn"
    with pytest.raises(TypeError, match="`sync_dist` is set by the callback itself"):
        _callback.build_accumulator({"sync_dist": True}, sync_dist=False)
    with pytest.raises(
        TypeError, match=r"AUROCCallback got an unexpected option `num_clases` \(did you mean `num_classes`\?\)"
    ):
        _callback.build_accumulator({"num_clases": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _callback.build_accumulator({"mode": "histogram"}, nan_strategy="warn")


def test_dataloader_keys_follow_lightnings_suffix_and_figures_get_it_too():
    assert _callback.dataloader_key("val_auroc_lo", 2) == "val_auroc_lo/dataloader_idx_2"
    acc, _, _ = _filled()
    result = _callback.compute_epoch(acc, _options(acc, per_class=True, class_names=["a", "b", "c"]))
    calls = []

    class Writer:
        def add_scalar(self, tag, value, global_step=None):
            calls.append(tag)

        def add_figure(self, tag, figure, global_step=None):
            calls.append(tag)

        def add_pr_curve(self, tag, labels, predictions, global_step=None):
            calls.append(tag)

        def flush(self):
            calls.append("flushed")

    writer = _callback.SuffixedWriter(Writer(), "/dataloader_idx_1")
    _callback.log_figures(
        writer,
        acc,
        result,
        tag="val_auroc",
        step=0,
        options=_options(acc, log_curve=False, pr_curves=True),
        scalars=True,
    )
    writer.flush()  # anything else reaches the writer itself
    assert calls[:4] == [
        "val_auroc/dataloader_idx_1",
        "val_auroc/a/dataloader_idx_1",
        "val_auroc/b/dataloader_idx_1",
        "val_auroc/c/dataloader_idx_1",
    ]
    assert "val_auroc/pr/a/dataloader_idx_1" in calls and calls[-1] == "flushed"


@pytest.mark.parametrize(
    "log_curve, pr_curves, asked",
    [
        (True, False, "log_curve=True"),
        (None, True, "pr_curves=True"),
        (True, True, "log_curve=True, pr_curves=True"),
        (None, False, None),
        (False, False, None),
    ],
)
def test_figures_asked_for_explicitly_are_the_only_ones_warned_about(log_curve, pr_curves, asked):
    acc = ac.AUROCAccumulator()
    options = _options(acc, log_curve=log_curve, pr_curves=pr_curves)
    message = _callback.unused_figures(options, "no writer", "a writer")
    assert message == (
        None
        if asked is None
        else f"AUROCCallback({asked}) draws figures, but no writer: no figure is logged; add a writer"
    )


@pytest.mark.parametrize("name", ["val_auroc", "test_auroc", "cb"])
def test_key_pattern_matches_every_key_a_callback_can_log_and_no_other(name):
    import itertools
    import re

    pattern = _callback.key_pattern([name, "test_auroc"])
    for ci, bound, calibration, ap in itertools.product([False, True], repeat=4):
        keys = _callback.scalar_keys(
            name, ci=ci, bound=bound, class_keys=["cat", "a.b-c"], calibration=calibration, ap=ap
        )
        keys += [_callback.dataloader_key(k, 1) for k in keys]
        assert all(re.fullmatch(pattern, k) for k in keys), keys
    prefix = _callback.calibration_prefix(name)
    for other in ("val_loss", f"{prefix}acc", f"{name}x", f"x{name}", f"{prefix}mce_x"):
        assert not re.fullmatch(pattern, other), other


def test_stop_notes_name_the_early_stoppers_on_our_keys_only():
    from types import SimpleNamespace

    from auroc_callbacks import _trackers

    monitors = ["val_auroc", "val_auroc/cat", "val_ap", "val_ap_lo", "val_brier", "val_apk", "val_approx", "val_loss"]
    stoppers = [SimpleNamespace(monitor=m, check_finite=True) for m in monitors]
    stoppers.append(SimpleNamespace(monitor="val_ece", check_finite=False))
    notes = _trackers.stop_notes(stoppers, _callback.key_pattern(["val_auroc"]), warned={"val_brier"})
    assert sorted(notes) == ["val_ap", "val_ap_lo", "val_auroc", "val_auroc/cat"]
    assert "EarlyStopping(monitor='val_ap', check_finite=True)" in notes["val_ap"]
    plain = _trackers.stop_notes(
        [SimpleNamespace(monitor="apple", check_finite=True)], _callback.key_pattern(["auroc"]), ()
    )
    assert plain == {}
