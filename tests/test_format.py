"""The one formatting stage (auroc_callbacks._format): the scores that are ranked, defined once.

References: torch's own softmax and sigmoid, and the inputs themselves.
"""

import pytest
import torch

from auroc_callbacks import _checks, _format
from auroc_callbacks._checks import Layout


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


def test_auto_reads_the_values_only_torchmetrics_rule():
    """(N, C) multiclass scores: softmax iff any value lies outside [0, 1]; rows need not sum to 1 (issue 13)."""
    multiclass, head, binary = Layout("multiclass", 3, None), Layout("binary", 1, 1), Layout("binary", 1, None)
    rows = torch.tensor([[0.9, 0.8, 0.1], [0.2, 0.7, 0.9]])  # in [0, 1], summing to 1.8
    assert _format.decide_activation(rows, rows.dtype, multiclass, "auto") is None
    assert _format.decide_activation(rows - 0.15, rows.dtype, multiclass, "auto") == "softmax"
    assert _format.decide_activation(rows[:, :2], rows.dtype, head, "auto") is None
    assert _format.decide_activation(rows[:, 0] + 0.2, rows.dtype, binary, "auto") == "sigmoid"
    assert _format.decide_activation(rows, rows.dtype, multiclass, "softmax") == "softmax"


def test_interpret_notes_what_it_read_once():
    opts = _checks.check_options()
    rows, y = torch.tensor([[0.9, 0.8, 0.1], [0.2, 0.7, 0.9]]), torch.tensor([0, 2])
    meaning = _format.interpret(rows, y, Layout("multiclass", 3, None), opts)
    assert meaning.options.activation is None and meaning.notes == (_format.UNNORMALISED_NOTE,)
    probs = rows / rows.sum(1, keepdim=True)
    assert _format.interpret(probs, y, Layout("multiclass", 3, None), opts).notes == ()
    one_hot = torch.nn.functional.one_hot(y, 3)
    layout = _format.one_hot_layout(one_hot, Layout("multilabel", 3, None), opts)
    assert layout == Layout("multiclass", 3, None)
    assert (
        _format.one_hot_layout(one_hot, Layout("multilabel", 3, None), opts._replace(task="multilabel")).task
        == "multilabel"
    )
    meaning = _format.interpret(rows * 4, one_hot, layout, opts)
    assert meaning.options.activation == "softmax" and meaning.notes == (_format.ONE_HOT_NOTE,)
    assert (
        "hard labels"
        in _format.interpret(torch.tensor([0, 1]), y.clamp(max=1), Layout("binary", 1, None), opts).notes[0]
    )


def test_row_tolerance_leaves_16_bit_rows_as_they_are_and_takes_rows_without_columns():
    from auroc_callbacks._format import row_tolerance

    for dtype in (torch.float16, torch.bfloat16):
        rows = torch.tensor([[0.25, 0.75]], dtype=dtype)
        row_tolerance(rows, torch.float32)
        assert rows.tolist() == [[0.25, 0.75]]
    assert row_tolerance(torch.zeros(3, 0), torch.float32).shape == (3,)


def test_probabilities_never_hand_back_the_callers_target():
    import auroc_callbacks as ac

    target = torch.tensor([True, False, True])
    _, labels, _ = ac.probabilities(torch.tensor([0.9, 0.2, 0.6]), target)
    labels[0] = False
    assert target.tolist() == [True, False, True]
