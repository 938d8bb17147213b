"""The DistributedSampler padding, found and dropped batch by batch (auroc_callbacks._padding): plain torch.

The reference is the sampler itself: the indices it deals to each rank, compared with the dataset's
own indices (a duplicate is an index another rank, or this one, already holds).
"""

import re
import warnings

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from auroc_callbacks._padding import PaddingTrimmer, flatten_loaders, padded_layout


def _warnings():
    said = []
    return said, lambda key, message: said.append((key, message))


def _real_positions(size: int, world: int, rank: int) -> list:
    """Which of the positions this rank receives are real samples: the first occurrence of each dataset index."""
    total = -(-size // world) * world  # the sampler pads to a multiple of the world size
    return [p < size for p in range(rank, total, world)]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 40), world=st.integers(1, 5), batch=st.integers(1, 9), data=st.data())
def test_keep_drops_exactly_the_padded_rows_of_each_batch(size, world, batch, data):
    rank = data.draw(st.integers(0, world - 1))
    dataset = TensorDataset(torch.arange(float(size)))
    loader = DataLoader(
        dataset, batch_size=batch, sampler=DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=False)
    )
    said, warn = _warnings()
    trim = PaddingTrimmer(warn)
    kept = []
    for i, (x,) in enumerate(loader):
        k = trim.keep(loader, i, 0, x.shape[0])
        kept += [True] * k + [False] * (x.shape[0] - k)
    assert kept == _real_positions(size, world, rank)
    trim.check([loader], "limit_val_batches")
    assert said == []  # everything placed: nothing to say


def test_several_dataloaders_are_trimmed_each_on_its_own():
    a, b = TensorDataset(torch.arange(5.0)), TensorDataset(torch.arange(8.0))
    la = DataLoader(a, batch_size=2, sampler=DistributedSampler(a, num_replicas=2, rank=1, shuffle=False))
    lb = DataLoader(b, batch_size=2, sampler=DistributedSampler(b, num_replicas=2, rank=1, shuffle=False))
    trim = PaddingTrimmer(_warnings()[1])
    got_a = [trim.keep(la, i, 0, x.shape[0]) for i, (x,) in enumerate(la)]
    got_b = [trim.keep(lb, i, 1, x.shape[0]) for i, (x,) in enumerate(lb)]
    assert (got_a, got_b) == ([2, 0], [2, 2])  # 5 samples on 2 ranks: rank 1's third row is a duplicate
    assert trim.rows == {0: 3, 1: 4} and trim.kept == {0: 2, 1: 4}


def test_check_says_when_the_rows_kept_are_not_the_shards_real_samples():
    """Rank 1 of 2 over 11 samples holds 5 real samples and 1 padding: keeping 6 counts a duplicate, keeping 4
    leaves a real sample out (``batch_idx`` did not follow the shard); each is said once, 5 is silent."""
    data = TensorDataset(torch.arange(11.0))
    loader = DataLoader(data, batch_size=4, sampler=DistributedSampler(data, num_replicas=2, rank=1, shuffle=False))
    for kept, match in [
        (6, "cannot drop the 1 duplicate sample"),
        (4, "1 sample\\(s\\) of dataloader 0 .* leaves them out"),
    ]:
        said, warn = _warnings()
        trim = PaddingTrimmer(warn)
        trim.rows, trim.kept = {0: 6}, {0: kept}
        trim.check([loader], "limit_val_batches")
        assert len(said) == 1 and re.search(match, said[0][1])
    said, warn = _warnings()
    trim = PaddingTrimmer(warn)
    trim.rows, trim.kept = {0: 6}, {0: 5}
    trim.check([loader], "limit_val_batches")
    assert said == []


def test_unknown_samplers_and_partial_shards_are_said_not_hidden():
    data = TensorDataset(torch.arange(10.0))
    said, warn = _warnings()
    trim = PaddingTrimmer(warn)
    custom = DataLoader(data, batch_size=4, sampler=list(range(10)))  # not a DistributedSampler: unknown
    trim.rows, trim.kept = {0: 10}, {0: 10}
    trim.check([custom], "limit_val_batches")
    assert [k for k, _ in said] == ["sampler"]
    said, warn = _warnings()
    trim = PaddingTrimmer(warn)
    shard = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, num_replicas=2, rank=0, shuffle=False))
    trim.rows, trim.kept = {0: 2}, {0: 2}  # two of its five samples: limit_val_batches
    trim.check([shard], "limit_val_batches")
    assert [k for k, _ in said] == ["partial"] and "limit_val_batches" in said[0][1]


def test_drop_last_and_plain_loaders_have_no_padding_layout():
    data = TensorDataset(torch.arange(10.0))
    assert padded_layout(DataLoader(data, batch_size=3)) is None
    dropping = DistributedSampler(data, num_replicas=3, rank=0, drop_last=True)
    assert padded_layout(DataLoader(data, batch_size=3, sampler=dropping)) is None
    assert padded_layout(DataLoader(data, batch_size=3, sampler=DistributedSampler(data, num_replicas=3, rank=2))) == (
        3,
        3,
        4,
    )


def test_flatten_loaders_keeps_dataloader_idx_order():
    assert flatten_loaders(None) == []
    assert flatten_loaders({"a": [1, 2], "b": 3}) == [1, 2, 3]
    assert flatten_loaders((1, [2, (3,)])) == [1, 2, 3]


def test_no_warning_escapes_the_callers_channel():
    data = TensorDataset(torch.arange(3.0))
    loader = DataLoader(data, batch_size=2, sampler=list(range(3)))
    trim = PaddingTrimmer(_warnings()[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trim.keep(loader, 0, 0, 2)
        trim.check([loader], "limit_val_batches")


def test_check_of_one_dataloader_says_nothing_about_the_others():
    """Several dataloaders scored apart: each one's check, at its own end, warns about that one only."""
    data = TensorDataset(torch.arange(11.0))
    loader = DataLoader(data, batch_size=4, sampler=DistributedSampler(data, num_replicas=2, rank=1, shuffle=False))
    said, warn = _warnings()
    trim = PaddingTrimmer(warn)
    trim.rows, trim.kept = {0: 6, 1: 6}, {0: 5, 1: 6}  # dataloader 1 kept its duplicate
    trim.check([loader, loader], "limit_val_batches", dataloader_idx=0)
    assert said == []
    trim.check([loader, loader], "limit_val_batches", dataloader_idx=1)
    assert len(said) == 1 and "dataloader 1" in said[0][1]
