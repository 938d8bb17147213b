"""The duplicates a ``DistributedSampler`` pads ranks with, found and dropped batch by batch. Plain torch.

torch's ``DistributedSampler`` (``drop_last=False``, shuffled or not) pads its
index list at the end to ``num_samples * num_replicas`` and gives rank ``r``
positions ``r, r + W, r + 2W, ...``; positions ``>= len(dataset)`` are
padding, so rank ``r`` holds ``len(range(r, len(dataset), W))`` real samples,
first, then its padding. A batch ``batch_idx`` of a plain ``BatchSampler``
holds positions ``batch_idx * batch_size`` onwards, so its real rows are known
before anything is gathered: :meth:`PaddingTrimmer.keep` says how many to
keep (a view, no host sync). What cannot be placed (another sampler, a rank
that did not see its whole shard, several rows per sample) is kept and
warned about once, at the epoch's end, by :meth:`PaddingTrimmer.check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Callable, Dict, Optional, Tuple

from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, RandomSampler, SequentialSampler

__all__ = ["PaddingTrimmer", "flatten_loaders", "known_padding", "padded_layout", "sampler_of"]

# Samplers whose ``__iter__`` follows torch's DistributedSampler: pad the index list at its end, then
# deal it out round-robin. Lightning's wrappers (DistributedSamplerWrapper, UnrepeatedDistributedSampler)
# live in these modules.
KNOWN_SAMPLER_MODULES = (
    "torch.utils.data.distributed",
    "lightning.fabric.utilities.distributed",
    "lightning.pytorch.overrides.distributed",
    "lightning_fabric.utilities.distributed",
    "pytorch_lightning.overrides.distributed",
)


def flatten_loaders(dataloaders) -> list:
    """The dataloaders of a loader, a list/tuple or a dict of them, in ``dataloader_idx`` order."""
    if dataloaders is None:
        return []
    if isinstance(dataloaders, Mapping):
        return [d for v in dataloaders.values() for d in flatten_loaders(v)]
    if isinstance(dataloaders, (list, tuple)):
        return [d for v in dataloaders for d in flatten_loaders(v)]
    return [dataloaders]


def sampler_of(loader):
    """The loader's sampler, or its batch sampler when that is not torch's plain ``BatchSampler``."""
    if not isinstance(loader, DataLoader):
        return None
    batch_sampler = loader.batch_sampler
    if batch_sampler is not None and type(batch_sampler) is not BatchSampler:
        return batch_sampler
    return loader.sampler


def known_padding(sampler) -> bool:
    """A DistributedSampler whose ``__iter__`` pads at the end and deals round-robin, as torch's does."""
    return isinstance(sampler, DistributedSampler) and (
        getattr(type(sampler).__iter__, "__module__", None) in KNOWN_SAMPLER_MODULES
    )


def padded_layout(loader) -> Optional[Tuple[int, int, int]]:
    """``(real samples of this rank, batch size, samples of this rank)`` for a padded DistributedSampler, else None."""
    sampler = sampler_of(loader)
    if not known_padding(sampler) or sampler.drop_last or type(loader.batch_sampler) is not BatchSampler:
        return None
    real = len(range(sampler.rank, len(sampler.dataset), sampler.num_replicas))
    return real, loader.batch_sampler.batch_size, sampler.num_samples


class PaddingTrimmer:
    """Per dataloader: the rows this rank scored, how many were kept, and where the padding starts.

    Args:
        warn_once: ``warn_once(key, message)``, the caller's one-warning-per-key channel.
        who: the name the warnings start with (``"AUROCCallback"``).

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, DistributedSampler
        >>> data = list(range(5))  # 2 ranks: rank 1 gets samples 1, 3 and a duplicate of 0
        >>> loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, num_replicas=2, rank=1))
        >>> trim = PaddingTrimmer(lambda key, message: print(message))
        >>> trim.keep(loader, batch_idx=0, dataloader_idx=0, rows=2), trim.keep(loader, 1, 0, 1)
        (2, 0)
    """

    def __init__(self, warn_once: Callable[[str, str], None], who: str = "AUROCCallback"):
        self.warn_once = warn_once
        self.who = who
        self.reset()

    def reset(self) -> None:
        """Start an epoch."""
        self.rows: Dict[int, int] = {}  # rows this rank scored per dataloader_idx
        self.kept: Dict[int, int] = {}  # of which kept (the sampler's padding dropped batch by batch)
        self._layouts: Dict[int, Optional[Tuple[int, int, int]]] = {}

    def keep(self, loader, batch_idx: int, dataloader_idx: int, rows: int) -> int:
        """How many leading rows of this batch are real samples, not sampler padding (all when unknown)."""
        if dataloader_idx not in self._layouts:
            self._layouts[dataloader_idx] = padded_layout(loader)
        layout = self._layouts[dataloader_idx]
        kept = rows
        if layout is not None:
            real, batch_size, num_samples = layout
            start = batch_idx * batch_size
            if rows == min(batch_size, num_samples - start):  # one row per sample: the padding is known
                kept = max(0, min(rows, real - start))
        self.rows[dataloader_idx] = self.rows.get(dataloader_idx, 0) + rows
        self.kept[dataloader_idx] = self.kept.get(dataloader_idx, 0) + kept
        return kept

    def trim(self, loader, batch_idx: int, dataloader_idx: int, preds, target, weight=None):
        """``(preds, target, weight)`` without the batch's padding rows (views: no copy, no sync).

        A batch of padding only gives empty views (the accumulator still checks their shapes); a 0-d prediction
        is one sample, and None when it is padding.
        """
        rows = preds.shape[0] if preds.ndim else 1
        kept = self.keep(loader, batch_idx, dataloader_idx, rows)
        if kept == rows:
            return preds, target, weight
        if not preds.ndim:
            return None  # a padded one-sample batch: nothing to add
        target = target[:kept] if target.ndim else target
        weight = weight[:kept] if weight is not None and weight.ndim else weight
        return preds[:kept], target, weight

    def check(self, loaders: list, limit_name: str, dataloader_idx: Optional[int] = None) -> None:
        """At the epoch's end (of every dataloader, or of ``dataloader_idx`` alone): warn about padding that could not
        be dropped, or real rows that were."""
        for idx, rows in sorted(self.rows.items()):
            if dataloader_idx is not None and idx != dataloader_idx:
                continue
            real = self._real_rows(loaders[idx] if idx < len(loaders) else None, rows, limit_name)  # warns
            kept = self.kept[idx]
            if kept > real:
                self.warn_once(
                    f"padding{idx}",
                    f"{self.who}: cannot drop the {kept - real} duplicate sample(s)"
                    f" DistributedSampler padded dataloader {idx} with on this rank (its batches could not be placed"
                    " in the shard): the epoch AUROC counts them",
                )
            elif kept < real:  # batch_idx did not follow the shard (a resumed or hand-driven loop): said, not hidden
                self.warn_once(
                    f"dropped{idx}",
                    f"{self.who}: {real - kept} sample(s) of dataloader {idx} on this rank were"
                    " taken for DistributedSampler padding (its batches' `batch_idx` did not follow the shard): the"
                    " epoch AUROC leaves them out",
                )

    def _real_rows(self, loader, rows: int, limit_name: str) -> int:
        """How many of the ``rows`` this rank scored from ``loader`` are real samples (not sampler padding)."""
        sampler = sampler_of(loader)
        if isinstance(sampler, (SequentialSampler, RandomSampler)):
            return rows  # this rank iterates its own dataset: no padding
        if not known_padding(sampler):
            self.warn_once(
                "sampler",
                f"{self.who}: cannot tell which samples {type(sampler).__name__} dealt to this rank;"
                " if it pads ranks with duplicates (as DistributedSampler does) the epoch AUROC counts them. Use"
                " the Trainer's default sampler (`use_distributed_sampler=True`) for an exact value",
            )
            return rows
        size, rank, world = len(sampler.dataset), sampler.rank, sampler.num_replicas
        if sampler.drop_last:
            real = sampler.num_samples
            if size % world:
                self.warn_once(
                    "drop_last",
                    f"{self.who}: DistributedSampler(drop_last=True) leaves {size - real * world} of"
                    f" {size} samples out: the epoch AUROC is over the other {real * world}",
                )
        else:
            real = len(range(rank, size, world))
        if rows > sampler.num_samples:
            self.warn_once(
                "rows",
                f"{self.who}: this rank scored {rows} rows from {sampler.num_samples} samples (several"
                " rows per sample?), so the DistributedSampler padding cannot be told apart: the epoch AUROC may"
                " count a duplicate sample",
            )
            return rows
        if rows < sampler.num_samples:
            self.warn_once(
                "partial",
                f"{self.who}: rank {rank} scored {rows} of the {sampler.num_samples} samples of its"
                f" shard (`{limit_name}`?): the epoch AUROC is exact over the samples scored, not over the whole set",
            )
        return min(rows, real)
