"""The one formatting stage (auroc_callbacks._format): the scores that are ranked, defined once.

References: torch's own softmax and sigmoid, and the inputs themselves.
"""

import pytest
import torch

from auroc_callbacks import _checks, _format


def _formatted(preds, target, **options):
    opts = _checks.check_options(**options)
    layout = _checks.check_layout(preds, target, opts)
    return _format.format_inputs(preds, target, layout, opts), layout


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_softmax_is_bitwise_torchs_on_the_upcast_logits(dtype):
    logits = (torch.randn(64, 5) * 4).to(dtype)
    f, _ = _formatted(logits, torch.arange(64) % 5)
    upcast = logits.float() if dtype in (torch.float16, torch.bfloat16) else logits
    assert f.activation == "softmax" and torch.equal(f.scores, torch.softmax(upcast, 1))
    assert torch.equal(f.logits, upcast)  # the scores before any activation, every column


def test_a_two_logit_binary_head_ranks_column_one_of_the_softmax():
    logits = torch.randn(32, 2)
    f, layout = _formatted(logits, torch.arange(32) % 2, task="binary")
    assert layout.binary_column == 1 and torch.equal(f.scores, torch.softmax(logits, 1)[:, 1])
    assert f.target.dtype == torch.bool and torch.equal(f.target, torch.arange(32) % 2 == 1)


def test_sigmoid_is_decided_but_only_applied_for_probabilities():
    scores = torch.tensor([-3.0, 0.5, 2.0, 40.0])
    f, _ = _formatted(scores, torch.tensor([0, 1, 0, 1]))
    assert f.activation == "sigmoid" and torch.equal(f.scores, scores)  # ranked as given: no saturation ties
    assert torch.equal(_format.probabilities_of(f), torch.sigmoid(scores))


def test_ignore_index_drops_samples_or_marks_entries():
    f, _ = _formatted(torch.rand(6, 3).softmax(1), torch.tensor([0, -1, 2, 1, -1, 0]), ignore_index=-1)
    assert f.target.tolist() == [0, 2, 1, 0] and f.scores.shape == (4, 3) and f.valid is None
    target = torch.tensor([[1, 0], [-1, 1], [0, -1]])
    f, _ = _formatted(torch.rand(3, 2), target, ignore_index=-1)
    assert f.valid.tolist() == [[True, True], [False, True], [True, False]] and f.scores.shape == (3, 2)


def test_class_counts_and_flatten_agree_with_the_labels():
    target = torch.tensor([0, 2, 2, 1, 2])
    f, layout = _formatted(torch.rand(5, 3), target)
    pos, neg = _format.class_counts(f, layout)
    assert pos.tolist() == [1, 1, 3] and neg.tolist() == [4, 4, 2]
    flat = _format.flatten(f, layout)
    assert flat.target.sum() == 5 and flat.scores.shape == (15,)
    assert torch.equal(flat.target.reshape(5, 3), torch.nn.functional.one_hot(target, 3).bool())
