"""Collection rules for the doctests in ``auroc_callbacks/`` (``--doctest-modules``), run from the repository root.

An optional framework that is not installed must not fail collection: the
doctests of a module that needs it are not collected (the integration tests
in ``tests/`` skip themselves with ``pytest.importorskip``).
"""

import importlib.util

# module of the package -> what its doctests import
_NEEDS = {
    "fastai.py": ["fastai"],
    "lightning.py": ["lightning", "pytorch_lightning"],  # either
    "torchmetrics.py": ["torchmetrics"],
    "tensorboard.py": ["tensorboard"],
    "plotting.py": ["matplotlib"],
    "demo.py": ["sklearn"],
    "loggers.py": ["lightning", "pytorch_lightning"],  # its doctest builds a CSVLogger
    "transformers.py": ["transformers"],
}


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


collect_ignore = [
    f"auroc_callbacks/{module}" for module, needs in _NEEDS.items() if not any(_installed(n) for n in needs)
]
