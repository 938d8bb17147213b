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
    (torch.rand(()), torch.tensor(1), {}, ValueError, ["`preds`", "()"]),
    (P3, torch.tensor([0, 1, 3, 0, 1, 2, 0, 1]), {}, ValueError, ["label 3", "3 columns"]),
    (P3, torch.tensor([0, 1, -2, 0, 1, 2, 0, 1]), {}, ValueError, ["negative", "-2"]),
    (P3, torch.tensor([0, 1, -2, 0, 1, 2, 0, 1]), {"ignore_index": -1}, ValueError, ["negative", "ignore_index"]),
    (P3, T3.float() + 0.5, {}, ValueError, ["integer labels", "0.5"]),
    (P1, torch.tensor([0, 1, 2, 0, 1, 0, 1, 0]), {}, ValueError, ["0/1", "2"]),
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
    (torch.ones(4), torch.full((4,), -100), {"ignore_index": -100}, ValueError, ["ignore_index", "-100"]),
    (np.random.rand(8), T1, {}, TypeError, ["`preds`", "ndarray"]),
    (P1, [0, 1] * 4, {}, TypeError, ["`target`", "list"]),
    (torch.randn(8, dtype=torch.complex64), T1, {}, TypeError, ["`preds`", "complex64"]),
    # +-inf logits under a softmax (fp16 overflow): the softmax is NaN, so no AUROC can be given
    (torch.tensor([[0.0, float("inf")], [0, 1], [1, 0], [0, 0.5]]), torch.tensor([1, 0, 0, 1]), {"task": "binary"},
     ValueError, ["+-inf", "softmax"]),
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


@pytest.mark.parametrize("options, fragment", [({"average": "mean"}, "`average`"), ({"max_fpr": 2}, "`max_fpr`"),
                                               ({"nan_strategy": "ignore"}, "`nan_strategy`")])
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
