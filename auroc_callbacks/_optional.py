"""Availability checks for the optional dependencies, in one place.

Nothing here imports an optional package at module import time: ``import
auroc_callbacks`` must not pull in matplotlib or tensorboard. The checks run
inside the functions that need the package (scikit-learn's
``check_matplotlib_support``, Lightning's ``TensorBoardLogger.experiment``),
and fail with a ``ModuleNotFoundError`` that names the pip extra to install.

Example:
    >>> from auroc_callbacks import _optional
    >>> _optional.is_available("a_package_that_does_not_exist")
    False
    >>> _optional.require("a_package_that_does_not_exist", extra="plot", caller="plot_roc")
    Traceback (most recent call last):
        ...
    ModuleNotFoundError: plot_roc requires a_package_that_does_not_exist, which is not installed: pip install "auroc-callbacks[plot]"
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import List, Sequence

__all__ = ["base_classes", "is_available", "require", "require_matplotlib", "require_tensorboard"]

PLOT_EXTRA = "plot"
TENSORBOARD_EXTRA = "tensorboard"


def is_available(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a broken __spec__
        return False


def require(module: str, *, extra: str, caller: str) -> ModuleType:
    """Import and return ``module``, or raise a ``ModuleNotFoundError`` naming the pip extra.

    Args:
        module: dotted module name, e.g. ``"matplotlib.pyplot"``.
        extra: the ``auroc-callbacks`` extra that installs it, e.g. ``"plot"``.
        caller: what needs it, for the message, e.g. ``"plot_roc"``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = module.split(".")[0]
        raise ModuleNotFoundError(
            f'{caller} requires {top}, which is not installed: pip install "auroc-callbacks[{extra}]"', name=err.name
        ) from err


def require_matplotlib(caller: str) -> ModuleType:
    """The ``matplotlib`` package, or a ``ModuleNotFoundError`` naming ``auroc-callbacks[plot]``."""
    return require("matplotlib", extra=PLOT_EXTRA, caller=caller)


def require_tensorboard(caller: str) -> type:
    """``torch.utils.tensorboard.SummaryWriter``, or a ``ModuleNotFoundError`` naming ``auroc-callbacks[tensorboard]``.

    ``torch.utils.tensorboard`` itself imports the ``tensorboard`` package, so
    that is checked first, to name the right thing in the message.
    """
    require("tensorboard", extra=TENSORBOARD_EXTRA, caller=caller)
    return require("torch.utils.tensorboard", extra=TENSORBOARD_EXTRA, caller=caller).SummaryWriter


def base_classes(modules: Sequence[str], attr: str, *, message: str) -> List[type]:
    """``attr`` of each of ``modules`` that imports, in order (one class serving several packages), at least one.

    Example:
        >>> base_classes(["a_package_that_does_not_exist", "collections"], "OrderedDict", message="none")
        [<class 'collections.OrderedDict'>]

    Raises:
        ModuleNotFoundError: none of ``modules`` imports; ``message`` says what to install.
    """
    bases = []
    for module in modules:
        try:
            bases.append(getattr(importlib.import_module(module), attr))
        except ImportError:  # pragma: no cover - depends on the environment
            continue
    if not bases:
        raise ModuleNotFoundError(message)
    return bases
