"""The ranking kernel (_ranking): the one pair count and the one curve builder, against brute force and scikit-learn.

References: a pairwise count over every (positive, negative) pair written here
in Python integers (ties count 1, so it is twice U), ``conftest.brute_force_auroc``
(ties 1/2) and ``sklearn.metrics.roc_auc_score`` / ``roc_curve``; never the code
under test.
"""

import unittest.mock
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

import auroc_callbacks as ac
from auroc_callbacks import _ranking
from conftest import brute_force_auroc


def _pairwise_twice_u(scores, labels) -> int:
    """Over every (positive, negative) pair: 2 if the positive scores higher, 1 on a tie, 0 otherwise."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    p, q = s[y][:, None], s[~y][None, :]
    return int(2 * (p > q).sum() + (p == q).sum())


def _grouped(scores, labels):
    """Positives and negatives per distinct score, ascending (numpy's unique), and the scores."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    values, inverse = np.unique(s, return_inverse=True)
    pos = np.bincount(inverse[y], minlength=values.size)
    neg = np.bincount(inverse[~y], minlength=values.size)
    return torch.from_numpy(pos), torch.from_numpy(neg), torch.from_numpy(values)


# a few values (ties), negative and positive zero, infinities, and any float32
scores_st = st.one_of(
    st.sampled_from([0.0, -0.0, 0.25, 0.5, 1.0, -3.0, float("inf"), float("-inf")]), st.floats(-1e3, 1e3, width=32)
)


def _problem(data, min_size=2):
    n = data.draw(st.integers(min_size, 50))
    scores = np.array(data.draw(st.lists(scores_st, min_size=n, max_size=n)), dtype=np.float32)
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    labels[:2] = [0, 1]  # both classes present
    return scores, labels


# ----------------------------------------------------------------------------- the statistic


def test_twice_u_counts_an_ordered_pair_twice_and_a_tie_once():
    # positives 0.4 and 0.8 among negatives 0.1, 0.4, 0.6: U = (1 + 1/2) + 3
    assert int(_ranking.twice_u(torch.tensor([1, 3]), torch.tensor([2, 3]))) == 9
    weighted = _ranking.twice_u(torch.tensor([1, 3]), torch.tensor([2, 3]), torch.tensor([2, 1]))
    assert int(weighted) == 2 * 3 + 6  # the first score held two positives
    rows = _ranking.twice_u(torch.tensor([[1, 3], [0, 0]]), torch.tensor([[2, 3], [0, 1]]))
    assert rows.tolist() == [9, 1] and rows.dtype == torch.int64


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_placement_path_gives_the_pairwise_count(data):
    """Counts per distinct score, the sorted keys, and the per-positive bucket search: one integer."""
    scores, labels = _problem(data)
    want = _pairwise_twice_u(scores, labels)
    n_pos, n_neg = int(labels.sum()), int((1 - labels).sum())
    pos, neg, _ = _grouped(scores, labels)
    assert int(_ranking.twice_u_of_counts(pos, neg)) == want
    ranked = _ranking.rank(torch.from_numpy(scores).unsqueeze(0), labels=torch.from_numpy(labels).bool().unsqueeze(0))
    assert ranked.two_u.tolist() == [want]
    codes = _ranking.pack(torch.from_numpy(scores)).keys.long() >> 1
    y = torch.from_numpy(labels).bool()
    below, tied = _ranking.below_and_tied(codes[y], codes[~y].sort().values)  # negatives under each positive
    assert int(_ranking.twice_u(below.long(), (below + tied).long())) == want
    value = _ranking.auroc_value(want, n_pos, n_neg)
    assert value.dtype == torch.float64 and value.item() == want / (2 * n_pos * n_neg)
    assert value.item() == pytest.approx(brute_force_auroc(scores, labels), abs=1e-15)
    if np.isfinite(scores).all():  # scikit-learn refuses infinite scores
        assert value.item() == pytest.approx(roc_auc_score(labels, scores.astype(np.float64)), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), rows=st.integers(1, 4))
def test_sorted_rows_with_ignored_entries_count_like_the_pairwise_count_of_the_kept_ones(data, rows):
    n = data.draw(st.integers(2, 40))
    scores = torch.tensor(
        data.draw(st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.7]), min_size=n * rows, max_size=n * rows)),
        dtype=torch.float32,
    ).reshape(rows, n)
    labels = torch.tensor(data.draw(st.lists(st.booleans(), min_size=n * rows, max_size=n * rows))).reshape(rows, n)
    valid = torch.tensor(data.draw(st.lists(st.booleans(), min_size=n * rows, max_size=n * rows))).reshape(rows, n)
    ranked = _ranking.rank(scores, labels=labels, valid=valid)
    for r in range(rows):
        keep = valid[r].numpy()
        assert int(ranked.two_u[r]) == _pairwise_twice_u(scores[r].numpy()[keep], labels[r].numpy()[keep])


def test_auroc_value_multiplies_the_sizes_in_integers_past_float32():
    """2 * 4001 * 4999 is not a float32; the denominator is the int64 product, the value the exact quotient."""
    two_u = 2 * 4001 * 4999 - 12345
    got = _ranking.auroc_value(torch.tensor(two_u), torch.tensor(4001), torch.tensor(4999))
    assert got.item() == two_u / (2 * 4001 * 4999)
    big = _ranking.auroc_value(torch.tensor([3 * 2**40]), torch.tensor([2**21]), torch.tensor([2**20 + 1]))
    assert big.item() == 3 * 2**40 / (2 * 2**21 * (2**20 + 1))


def test_the_paths_give_the_same_bits_from_the_same_count():
    """The plain value, DeLong's (several-class path), the bootstrap's ranking and the histogram: one expression."""
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (3000,), generator=g)
    probs = torch.softmax(3 * torch.randn(3000, 4, generator=g), 1).half().float()  # exact in float16: no rounding
    plain = ac.auroc(probs, target, activation=None, average=None)
    assert torch.equal(ac.auroc_ci(probs, target, activation=None, average=None).value, plain)
    assert torch.equal(ac.auroc_ci(probs, target, activation=None).per_class, plain)  # the macro path
    assert torch.equal(ac.auroc_ci(probs, target, activation=None, method="bootstrap", n_boot=2).per_class, plain)
    hist = ac.AUROCAccumulator(num_classes=4, activation=None, average=None, mode="histogram")
    hist.update(probs, target)
    assert torch.equal(hist.compute(), plain)


# ----------------------------------------------------------------------------- the curve


def _assert_curve_is_sklearns(curve, labels, scores, drop):
    fpr, tpr, thr = _ranking.as_rates(curve)
    want_fpr, want_tpr, want_thr = sk_roc_curve(labels, scores, drop_intermediate=drop)
    np.testing.assert_array_equal(fpr.numpy(), want_fpr)
    np.testing.assert_array_equal(tpr.numpy(), want_tpr)
    np.testing.assert_array_equal(thr.numpy(), want_thr)
    assert thr[0] == float("inf") and bool((thr[1:] < thr[:-1]).all())


@settings(max_examples=120, deadline=None)
@given(data=st.data(), drop=st.booleans())
def test_curve_from_counts_and_curve_from_sorted_are_sklearns_roc_curve(data, drop):
    scores, labels = _problem(data)
    scores = scores[np.isfinite(scores)] if np.isfinite(scores).sum() >= 2 else np.array([0.0, 1.0], np.float32)
    labels = np.resize(labels, scores.size)
    labels[:2] = [0, 1]
    s64 = scores.astype(np.float64) + 0.0  # -0.0 and 0.0 are one score
    pos, neg, values = _grouped(s64, labels)
    from_counts = _ranking.curve_from_counts(pos, neg, values, drop_intermediate=drop)
    _assert_curve_is_sklearns(from_counts, labels, s64, drop)
    ranked = _ranking.rank(torch.from_numpy(scores).unsqueeze(0), labels=torch.from_numpy(labels).bool().unsqueeze(0))
    from_sorted = _ranking.curve_from_sorted(ranked.keys[0], scores.size, ranked.decode, drop_intermediate=drop)
    _assert_curve_is_sklearns(from_sorted, labels, s64, drop)


def test_empty_buckets_of_a_histogram_add_no_point():
    pos, neg = torch.tensor([0, 2, 0, 0, 1, 0]), torch.tensor([1, 0, 0, 3, 1, 0])
    values = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], dtype=torch.float64)
    labels = np.r_[1, 1, 1, 0, 0, 0, 0, 0]
    scores = np.r_[0.1, 0.1, 0.4, 0.0, 0.3, 0.3, 0.3, 0.4]
    for drop in (True, False):
        _assert_curve_is_sklearns(
            _ranking.curve_from_counts(pos, neg, values, drop_intermediate=drop), labels, scores, drop
        )


def test_no_samples_give_the_one_point_and_nan_rates():
    fps, tps, thr = _ranking.curve_from_sorted(
        torch.zeros(3, dtype=torch.int32), 0, _ranking.pack(torch.zeros(3)).decode
    )
    assert fps.tolist() == [0.0] and tps.tolist() == [0.0] and thr.tolist() == [float("inf")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fpr, tpr, _ = _ranking.as_rates((fps, tps, thr))
    assert torch.isnan(fpr).all() and torch.isnan(tpr).all()


@pytest.mark.parametrize("max_fpr", [0.05, 0.3, 0.75, 1.0])
def test_partial_auc_of_either_builder_is_sklearns(max_fpr, rng):
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + labels, 1).astype(np.float32)
    want = roc_auc_score(labels, scores, max_fpr=max_fpr)
    pos, neg, values = _grouped(scores, labels)
    fpr, tpr, _ = _ranking.as_rates(_ranking.curve_from_counts(pos, neg, values, drop_intermediate=False))
    assert _ranking.partial_auc(fpr, tpr, max_fpr) == pytest.approx(want, abs=1e-12)
    ranked = _ranking.rank(torch.from_numpy(scores).unsqueeze(0), labels=torch.from_numpy(labels).bool().unsqueeze(0))
    fpr, tpr, _ = _ranking.as_rates(_ranking.curve_from_sorted(ranked.keys[0], 300, ranked.decode))
    assert _ranking.partial_auc(fpr, tpr, max_fpr) == pytest.approx(want, abs=1e-12)


def test_sigmoid_rates_keep_the_leading_inf():
    curve = _ranking.curve_from_counts(
        torch.tensor([0, 1]), torch.tensor([1, 0]), torch.tensor([-2.0, 3.0], dtype=torch.float64)
    )
    _, _, thr = _ranking.as_rates(curve, sigmoid=True)
    assert thr[0] == float("inf")
    torch.testing.assert_close(thr[1:], torch.sigmoid(torch.tensor([3.0, -2.0], dtype=torch.float64)))


@pytest.mark.parametrize("radix", [True, False])
def test_long_rows_give_sklearns_values_through_either_cpu_sort(monkeypatch, radix):
    """Rows of 32768+ keys are sorted by torch's radix sort where it is faster, else by numpy: the same values."""
    from sklearn.metrics import average_precision_score
    from sklearn.preprocessing import label_binarize

    if radix and not _ranking._radix_sort_available():
        pytest.skip("this torch has no parallel radix sort")
    monkeypatch.setattr(_ranking, "_radix_sort_faster", lambda dtype, rows: radix)
    calls = []
    sort = torch.sort
    monkeypatch.setattr(torch, "sort", lambda *a, **k: calls.append(k) or sort(*a, **k))
    g = torch.Generator().manual_seed(0)
    n, c = 40_000, 3
    logits = (torch.randn(n, c, generator=g) * 4).round() / 4  # a few hundred distinct rows: heavy ties
    target = torch.randint(0, c, (n,), generator=g)
    probs = torch.softmax(logits, 1).double().numpy()
    onehot = label_binarize(target.numpy(), classes=range(c))
    auroc = ac.auroc(logits, target, num_classes=c, average=None)
    ap = ac.average_precision(logits, target, num_classes=c, average=None)
    assert auroc.tolist() == pytest.approx(roc_auc_score(onehot, probs, average=None), abs=1e-12)
    assert ap.tolist() == pytest.approx(average_precision_score(onehot, probs, average=None), abs=1e-12)
    binary = ac.auroc(logits[:, 0], target == 0)  # one row of 40,000 logits (int64 keys)
    assert float(binary) == pytest.approx(roc_auc_score(target.numpy() == 0, logits[:, 0].numpy()), abs=1e-12)
    assert (len(calls) >= c + 1) == radix and all(k.get("stable") for k in calls)


def test_the_radix_sort_is_chosen_only_where_it_is_faster(monkeypatch):
    real = _ranking._sort_times.__wrapped__
    monkeypatch.setattr(_ranking, "_radix_sort_available", lambda: True)
    monkeypatch.setattr(_ranking, "_sort_times", lambda dtype: (0.010, 0.030))  # radix 3x faster than one numpy sort
    assert _ranking._radix_sort_faster(torch.int32, 1) and _ranking._radix_sort_faster(torch.int32, 2)
    assert not _ranking._radix_sort_faster(torch.int32, 4)  # four numpy sorts side by side beat it
    monkeypatch.setattr(_ranking, "_sort_times", lambda dtype: (0.030, 0.010))  # numpy's vectorised sort wins
    assert not _ranking._radix_sort_faster(torch.int64, 1)
    monkeypatch.setattr(_ranking, "_radix_sort_available", lambda: False)
    assert not _ranking._radix_sort_faster(torch.int32, 1)
    before = torch.random.get_rng_state()
    radix, numpy = real(torch.int32)  # the real timing runs, both sorts
    assert radix > 0 and numpy > 0
    assert torch.equal(torch.random.get_rng_state(), before)  # on its own generator: the caller's stream untouched


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 3),
    words=st.integers(8192, 9000),
    p=st.floats(0, 1),
    tail=st.sampled_from([0, 3]),
    seed=st.integers(0, 2**16),
)
def test_count_true_reads_words_and_equals_the_sum(rows, words, p, tail, seed):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(rows, 8 * words + tail, generator=g) < p  # tail 3: rows not a multiple of 8 (the plain sum)
    want = mask.sum(-1, dtype=torch.int64)
    assert torch.equal(_ranking.count_true(mask), want)
    assert torch.equal(_ranking.count_true(mask[0]), want[0])  # one row, 1-D
    assert torch.equal(_ranking.count_true(mask.T.contiguous().T), want)  # a transposed view: counted by columns
    flat = mask.reshape(-1)[1 : 1 + 8 * words]  # contiguous, but off the 8-byte grid: copied first
    assert int(_ranking.count_true(flat)) == int(flat.sum())
    full = torch.ones(rows, 8 * words, dtype=torch.bool)
    assert _ranking.count_true(full).tolist() == [8 * words] * rows  # every byte 1: still no carry


_SIGNED = st.one_of(st.floats(-30, 30, width=32), st.sampled_from([0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 2.5, -2.5]))


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(_SIGNED, min_size=2, max_size=300), seed=st.integers(0, 2**16))
def test_signed_float32_keys_are_int32_where_the_magnitudes_allow_and_keep_order_ties_and_values(scores, seed):
    s = torch.tensor(scores, dtype=torch.float32)
    y = torch.randint(0, 2, (len(scores),), generator=torch.Generator().manual_seed(seed))
    packed = _ranking.pack(s.reshape(1, -1), y.reshape(1, -1).bool())
    magnitudes = s.abs()
    nonzero = magnitudes[magnitudes > 0]
    narrow = not nonzero.numel() or (
        int(magnitudes.max().view(torch.int32)) - int(nonzero.min().view(torch.int32)) < 2**29
    )
    probabilities = bool((s >= 0).all() and (s <= 1).all())  # their raw bits are int32 keys already
    assert packed.keys.dtype == (torch.int32 if narrow or probabilities else torch.int64)
    assert torch.equal(packed.keys & 1, y.reshape(1, -1).to(packed.keys.dtype))
    back = packed.decode(packed.keys >> 1).reshape(-1)
    assert torch.equal(back, s.double() + 0.0)  # every score back exactly (-0.0 as +0.0: they tie)
    codes = (packed.keys >> 1).reshape(-1)
    order = s.double()
    assert torch.equal(codes[:, None] < codes[None, :], order[:, None] < order[None, :])  # same order, same ties
    if 0 < int(y.sum()) < len(scores):
        assert float(ac.auroc(s, y)) == pytest.approx(roc_auc_score(y.numpy(), s.numpy()), abs=1e-12)


def test_signed_float32_scores_too_wide_for_int32_keys_take_int64_keys():
    s = torch.tensor([[1e-38, -3e30, 0.5, -0.0]])  # magnitudes from 1e-38 to 3e30: more than 2**29 patterns
    packed = _ranking.pack(s, torch.tensor([[1, 0, 1, 0]], dtype=torch.bool))
    assert packed.keys.dtype == torch.int64
    assert torch.equal(packed.decode(packed.keys >> 1), s.double() + 0.0)
    assert _ranking.pack(torch.tensor([[float("inf"), 1.0, -2.0]])).keys.dtype == torch.int64


# ----------------------------------------------------------------------------- the block-wise passes

_TIED = st.sampled_from([0.1, 0.2, 0.3, 0.7, -0.5, 2.0])


@settings(max_examples=120, deadline=None)
@given(data=st.data(), rows=st.integers(1, 3), block=st.sampled_from([8, 13, 32, 64, 1 << 18]))
def test_block_wise_sums_and_tied_pairs_are_the_pairwise_count(data, rows, block):
    """Few distinct scores (long tie groups, across blocks and past the window), rows ending in a tie group."""
    n = data.draw(st.integers(1, 120))
    scores = torch.tensor(data.draw(st.lists(_TIED, min_size=n * rows, max_size=n * rows)), dtype=torch.float32)
    scores = scores.reshape(rows, n)
    labels = torch.tensor(data.draw(st.lists(st.booleans(), min_size=n * rows, max_size=n * rows))).reshape(rows, n)
    keys = _ranking.sort_rows(_ranking.pack(scores, labels).keys)
    with unittest.mock.patch.object(_ranking, "_BLOCK", block):
        pos_sum, n_pos, tied = _ranking.positive_sums(keys)
        two_u = _ranking.mann_whitney(keys, labels.sum(1))
    for r in range(rows):
        y, s = labels[r].numpy(), scores[r].numpy().astype(np.float64)
        assert int(n_pos[r]) == int(y.sum())
        assert int(pos_sum[r]) == int(np.flatnonzero(keys[r].numpy() & 1).sum())
        p, q = s[y][:, None], s[~y][None, :]
        assert int(tied[r]) == int((p == q).sum())
        assert int(two_u[r]) == _pairwise_twice_u(s, y)


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(_SIGNED, min_size=2, max_size=120),
    cols=st.integers(1, 4),
    block=st.sampled_from([4, 9, 64]),
    probabilities=st.booleans(),
)
def test_keys_written_block_by_block_are_those_of_one_block_in_either_layout(scores, cols, block, probabilities):
    """The (N, C) scores' transposed view (multilabel), labels too, and a contiguous copy: the same keys."""
    n = len(scores) // cols
    if n == 0:
        return
    s = torch.tensor(scores[: n * cols], dtype=torch.float32).reshape(n, cols)
    if probabilities:  # the raw-bits path
        s = torch.sigmoid(s)
    y = torch.arange(n * cols).reshape(n, cols) % 3 == 0
    whole = _ranking.pack(s.T.contiguous(), y.T.contiguous())
    row_major = _ranking.pack(s.reshape(-1), y.reshape(-1))  # one long row: the (N, C) matrix's memory order
    with unittest.mock.patch.object(_ranking, "_BLOCK", block):
        for packed in (_ranking.pack(s.T, y.T), _ranking.pack(s.T.contiguous(), y.T.contiguous())):
            assert packed.keys.is_contiguous() and packed.keys.dtype == whole.keys.dtype
            assert torch.equal(packed.keys, whole.keys)
            assert torch.equal(packed.decode(packed.keys >> 1), s.T.double() + 0.0)
        packed = _ranking.pack(s, y)  # row-major (N, C), as one-vs-one packs it: blocks along its memory
        assert packed.keys.shape == s.shape and torch.equal(packed.keys.reshape(-1), row_major.keys)
        one = _ranking.pack(s[:1, :1].reshape(()))  # 0-d: keys of the same shape
        assert one.keys.shape == ()
