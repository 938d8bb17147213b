"""Every bad input gets a ValueError/TypeError naming the argument and the value, never an error from inside torch."""

import numpy as np
import pytest
import torch

import auroc_callbacks as ac

P1 = torch.rand(8)
T1 = torch.tensor([0, 1] * 4)
P3 = torch.randn(8, 3)
T3 = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])

BAD_INPUTS = [
    # (preds, target, options, exception, message fragments)
    (P1, T1[:7], {}, ValueError, ["same number of samples", "(8,)", "(7,)"]),
    (P3, T3[:5], {}, ValueError, ["same number of samples", "(8, 3)", "(5,)"]),
    (torch.rand(8, 3, 2), T3, {}, ValueError, ["`preds`", "(8, 3, 2)"]),
    (P3, torch.zeros(8, 3, 2), {}, ValueError, ["`target`", "(8, 3, 2)"]),
    (torch.rand(()), torch.tensor([0, 1]), {}, ValueError, ["`preds`", "()", "(2,)"]),  # 0-d next to 2 samples
    (P3, torch.tensor([0, 1, 3, 0, 1, 2, 0, 1]), {}, ValueError, ["label 3", "3 columns"]),
    (P3, torch.tensor([0, 1, -2, 0, 1, 2, 0, 1]), {}, ValueError, ["negative", "-2"]),
    (P3, torch.tensor([0, 1, -2, 0, 1, 2, 0, 1]), {"ignore_index": -1}, ValueError, ["negative", "ignore_index"]),
    (P3, T3.float() + 0.5, {}, ValueError, ["integer labels", "0.5"]),
    (P1, torch.tensor([0, 1, 2, 0, 1, 0, 1, 0]), {}, ValueError, ["more than two labels", "0, 1, 2"]),
    (P1, torch.tensor([0, 2, 2, 0, 2, 0, 2, 0]), {}, ValueError, ["0, 2", "pass pos_label"]),
    (P1, torch.tensor([0.0, 1, 0.5, 0, 1, 0, 1, 0]), {}, ValueError, ["integer labels", "0.5"]),
    (P3, T3, {"num_classes": 4}, ValueError, ["`num_classes`=4", "3 columns"]),
    (P1, T1, {"num_classes": 3}, ValueError, ["`num_classes`", "3"]),
    (P3, T3, {"average": "mean"}, ValueError, ["`average`", "'mean'"]),
    (P3, T3, {"average": "samples"}, ValueError, ["`average`", "'samples'"]),
    (P3, T3, {"multi_class": "ovx"}, ValueError, ["`multi_class`", "'ovx'"]),
    (P3, T3, {"multi_class": "ovo", "average": "micro"}, ValueError, ["micro", "ovo"]),
    (P3, T3, {"activation": "relu"}, ValueError, ["`activation`", "'relu'"]),
    (P1, T1, {"activation": "softmax"}, ValueError, ["softmax", "(8,)"]),
    (P1, T1, {"max_fpr": 0}, ValueError, ["`max_fpr`", "0"]),
    (P1, T1, {"max_fpr": 1.5}, ValueError, ["`max_fpr`", "1.5"]),
    (P1, T1, {"max_fpr": -0.1}, ValueError, ["`max_fpr`", "-0.1"]),
    (P1, T1, {"max_fpr": "0.5"}, TypeError, ["`max_fpr`", "'0.5'"]),
    (P1, T1, {"max_fpr": True}, TypeError, ["`max_fpr`", "True"]),
    (P3, T3, {"multi_class": "ovo", "max_fpr": 0.5}, ValueError, ["`max_fpr`", "ovo"]),
    (P3, T3, {"task": "regression"}, ValueError, ["`task`", "'regression'"]),
    (P3, T3, {"task": "binary"}, ValueError, ["'binary'", "(8, 3)"]),
    (P1, T1, {"task": "multiclass"}, ValueError, ["'multiclass'", "(8,)"]),
    (P3, T3, {"task": "multilabel"}, ValueError, ["'multilabel'", "(8,)"]),
    (P3, torch.zeros(8, 4), {}, ValueError, ["'multilabel'", "(8, 4)"]),
    (P3, T3, {"num_classes": "3"}, TypeError, ["`num_classes`", "'3'"]),
    (P3, T3, {"ignore_index": 1.5}, TypeError, ["`ignore_index`", "1.5"]),
    (torch.tensor([0.1, float("nan"), 0.3, 0.4]), torch.tensor([0, 1, 0, 1]), {}, ValueError, ["NaN", "`preds`"]),
    (torch.empty(0), torch.empty(0), {}, ValueError, ["empty", "(0,)"]),
    (torch.empty(0, 3), torch.empty(0, dtype=torch.long), {}, ValueError, ["empty"]),
    (
        torch.ones(4),
        torch.full((4,), -100),
        {"ignore_index": -100},
        ac.EmptyEpochError,  # a ValueError
        ["ignore_index", "-100"],
    ),
    (np.random.rand(8), T1, {}, TypeError, ["`preds`", "ndarray"]),
    (P1, [0, 1] * 4, {}, TypeError, ["`target`", "list"]),
    (torch.randn(8, dtype=torch.complex64), T1, {}, TypeError, ["`preds`", "complex64"]),
    # +-inf logits under a softmax (fp16 overflow): the softmax is NaN, so no AUROC can be given
    (
        torch.tensor([[0.0, float("inf")], [0, 1], [1, 0], [0, 0.5]]),
        torch.tensor([1, 0, 0, 1]),
        {"task": "binary"},
        ValueError,
        ["+-inf", "softmax"],
    ),
    (torch.tensor([[float("inf"), 0, 0], [0, 1, 0], [0, 0, 1]]), torch.tensor([0, 1, 2]), {}, ValueError, ["+-inf"]),
    (P3, torch.randint(0, 2, (8, 3)), {"multi_class": "ovo"}, ValueError, ["'ovo'", "multiclass"]),
    (P3, T3.to(torch.uint8), {"ignore_index": -100}, ValueError, ["`ignore_index`=-100", "uint8"]),
    (P3, T3, {"ignore_index": 2**70}, ValueError, ["`ignore_index`", "int64"]),
]


@pytest.mark.parametrize("preds, target, options, exc, fragments", BAD_INPUTS)
def test_bad_input_raises_clear_error(preds, target, options, exc, fragments):
    with pytest.raises(exc) as info:
        ac.auroc(preds, target, **options)
    assert type(info.value) is exc  # not an IndexError/RuntimeError subclass from torch
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize(
    "options, fragment",
    [({"average": "mean"}, "`average`"), ({"max_fpr": 2}, "`max_fpr`"), ({"nan_strategy": "ignore"}, "`nan_strategy`")],
)
def test_accumulator_rejects_bad_options_at_construction(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        ac.AUROCAccumulator(**options)


def test_roc_curve_rejects_unknown_average():
    with pytest.raises(ValueError, match="`average` must be None or 'micro'"):
        ac.roc_curve(P3, T3, average="macro")


@pytest.mark.parametrize("fn", [ac.roc_curve, ac.auroc_scores, ac.probabilities])
def test_every_entry_point_validates(fn):
    with pytest.raises(ValueError, match="label 3"):
        fn(P3, torch.tensor([0, 1, 3, 0, 1, 2, 0, 1]))


# ----------------------------------------------------------------------------- class names and NaN results


def test_class_names_resolve_to_one_per_class_or_the_binary_positive():
    from auroc_callbacks._checks import check_class_names

    assert check_class_names(None, 3, binary_default="1") == ["0", "1", "2"]
    assert check_class_names(None, 1, binary_default="ROC curve") == ["ROC curve"]
    assert check_class_names(("benign", "malignant"), 1, binary_default="1") == ["malignant"]
    assert check_class_names(["sick"], 1, binary_default="1") == ["sick"]
    assert check_class_names([7, 8, 9], 3, binary_default="1") == ["7", "8", "9"]
    with pytest.raises(ValueError, match=r"`class_names` must have 3 names; got 2"):
        check_class_names(["a", "b"], 3, binary_default="1")
    with pytest.raises(ValueError, match=r"`class_names` must have 1 or 2 names \(the last names the positive"):
        check_class_names(["a", "b", "c"], 1, binary_default="1")
    with pytest.raises(TypeError, match="`class_names` must be a sequence of names; got str"):
        check_class_names("abc", 3, binary_default="1")


def test_nan_like_makes_every_float_tensor_nan_and_keeps_counts_levels_and_strings():
    from auroc_callbacks._checks import nan_like
    from auroc_callbacks.calibration import Reliability

    iv = ac.AUROCInterval(
        torch.tensor(0.8, dtype=torch.float64),
        torch.tensor(0.7),
        torch.tensor(0.9),
        torch.tensor(0.05),
        0.95,
        "delong",
        torch.ones(3, dtype=torch.float64),
        torch.zeros(3),
        torch.ones(3),
        torch.zeros(3),
        torch.tensor([4, 0, 2]),
        10,
    )
    out = nan_like(iv)
    assert type(out) is ac.AUROCInterval
    for name in (
        "value",
        "lower",
        "upper",
        "std_error",
        "per_class",
        "per_class_lower",
        "per_class_upper",
        "per_class_std_error",
    ):
        before, after = getattr(iv, name), getattr(out, name)
        assert torch.isnan(after).all() and after.shape == before.shape and after.dtype == before.dtype, name
    assert out.support is iv.support and (out.level, out.method, out.num_samples) == (0.95, "delong", 10)
    assert iv.value.item() == pytest.approx(0.8)  # nothing modified in place

    rel = Reliability(torch.rand(4), torch.rand(4), torch.tensor([1, 0, 2, 3]), torch.linspace(0, 1, 5))
    nested = nan_like(rel, keep=("edges",))
    assert torch.isnan(nested.confidence).all() and torch.isnan(nested.accuracy).all()
    assert nested.count.tolist() == [1, 0, 2, 3] and torch.equal(nested.edges, rel.edges)
    bound = nan_like(
        ac.AUROCBound(
            torch.tensor(0.5), torch.tensor(0.1), torch.ones(2), torch.ones(2), torch.tensor([1, 1]), 2, torch.float16
        )
    )
    assert torch.isnan(bound.bound) and bound.dtype is torch.float16
    with pytest.raises(ValueError, match="`keep` must name fields of Reliability; got 'edge'"):
        nan_like(rel, keep=("edge",))


def test_nan_like_reaches_into_nested_results():
    from auroc_callbacks._checks import nan_like
    from auroc_callbacks.calibration import calibration_summary

    s = calibration_summary(torch.tensor([-2.0, -1.0, 0.5, 1.0, 2.0, -0.5]), torch.tensor([0, 0, 0, 1, 1, 1]))
    out = nan_like(s)
    assert torch.isnan(out.ece) and torch.isnan(out.reliability.confidence).all()
    assert torch.equal(out.reliability.count, s.reliability.count) and out.task == "binary"


def test_a_0d_value_next_to_more_than_one_sample_is_told_to_keep_its_batch_dimension():
    import auroc_callbacks as ac

    acc = ac.AUROCAccumulator()
    acc.update(torch.rand(4), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"`preds` must be 1-d .* got shape \(\) next to target of shape \(2,\)"):
        acc.update(torch.rand(1).squeeze(), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"`target` must be 1-d .* got shape \(\) next to preds of shape \(2,\)"):
        acc.update(torch.rand(2), torch.tensor([1]).squeeze())
    assert acc.num_samples == 4  # nothing was stored
