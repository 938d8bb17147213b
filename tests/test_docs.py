"""Every ``python`` block of the README and of docs/ runs, and the site builds in strict mode.

One test per block, named ``file:line`` (the line of its opening fence). Each
block runs in a fresh namespace, in a temporary working directory, with
matplotlib's Agg backend, the Hugging Face hub offline, W&B offline and no
connection allowed beyond this machine: nothing is downloaded.

HTML comment lines right above a block (blank lines between are allowed)
steer it; a reader of the rendered page sees none of them:

* ``<!-- docs: skip (reason) -->``: the block cannot run here (it needs a GPU);
  it is skipped with that reason, which ``pytest -rs`` lists.
* ``<!-- docs: setup -->``: the block runs, and it also runs before every
  later block of the same file, in that block's fresh namespace. A page shows
  its setup once (data, a model, a loader) and its other blocks use it.
* ``<!-- docs: slow -->``: mark the block ``slow``. Blocks that import a
  training framework or a logging service (fastai, Lightning, transformers,
  accelerate, W&B, MLflow) are ``slow`` without it.

A block that imports an optional package (directly, or through the
``auroc_callbacks`` module that needs it) is skipped, with the package named,
only when that package is not installed.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the README to check; another path (a draft of the next README) may be given here
README = Path(os.environ.get("AUROC_DOCS_README", ROOT / "README.md"))

_FENCE = re.compile(r"^```python\s*$")
_ANY_PY_FENCE = re.compile(r"^\s*```+\s*(?:python|py|python3)\b", flags=re.I)
_CLOSE = re.compile(r"^```\s*$")
_MARKER = re.compile(r"^<!--\s*docs:\s*(?P<kind>[a-z]+)\s*(?:\((?P<reason>.*)\))?\s*-->\s*$")

# an imported top-level module -> the import names of which at least one must be installed
_NEEDS_MODULE = {
    "fastai": ("fastai",),
    "lightning": ("lightning",),
    "pytorch_lightning": ("pytorch_lightning",),
    "torchmetrics": ("torchmetrics",),
    "transformers": ("transformers",),
    "accelerate": ("accelerate",),
    "wandb": ("wandb",),
    "mlflow": ("mlflow",),
    "tensorboard": ("tensorboard",),
    "matplotlib": ("matplotlib",),
    "sklearn": ("sklearn",),
    "pandas": ("pandas",),
    "scipy": ("scipy",),
}
# a module of the package -> what it needs
_NEEDS_SUBMODULE = {
    "auroc_callbacks.fastai": ("fastai",),
    "auroc_callbacks.lightning": ("lightning", "pytorch_lightning"),
    "auroc_callbacks.torchmetrics": ("torchmetrics",),
    "auroc_callbacks.transformers": ("transformers",),
    "auroc_callbacks.plotting": ("matplotlib",),
    "auroc_callbacks.tensorboard": ("tensorboard",),
    "torch.utils.tensorboard": ("tensorboard",),
}
# importing one of these makes a block slow (framework start-up, training, a logging service)
_HEAVY = {"fastai", "lightning", "pytorch_lightning", "transformers", "accelerate", "wandb", "mlflow"}


class Block(NamedTuple):
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    markers: Dict[str, Optional[str]]  # kind -> reason (None when the marker has none)

    @property
    def id(self) -> str:
        try:
            name = self.path.relative_to(ROOT).as_posix()
        except ValueError:  # a README draft outside the repository
            name = self.path.name
        return f"{name}:{self.line}"


def parse_blocks(path: Path) -> List[Block]:
    """The ``python`` blocks of one Markdown file, with the markers just above each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            i += 1
            continue
        start = i
        end = next((j for j in range(i + 1, len(lines)) if _CLOSE.match(lines[j])), None)
        if end is None:
            raise ValueError(f"{path}:{start + 1}: the ```python block is never closed")
        blocks.append(
            Block(path, start + 1, "\n".join(lines[start + 1 : end]) + "\n", _markers_above(lines, start, path))
        )
        i = end + 1
    return blocks


def _markers_above(lines: List[str], start: int, path: Path) -> Dict[str, Optional[str]]:
    markers: Dict[str, Optional[str]] = {}
    j = start - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    while j >= 0:
        m = _MARKER.match(lines[j].strip())
        if not m:
            break
        kind, reason = m.group("kind"), m.group("reason")
        if kind not in ("skip", "setup", "slow"):
            raise ValueError(f"{path}:{j + 1}: unknown docs marker {kind!r}: use skip (reason), setup or slow")
        if kind == "skip" and not (reason or "").strip():
            raise ValueError(f"{path}:{j + 1}: `<!-- docs: skip (...) -->` needs a reason in parentheses")
        markers[kind] = reason
        j -= 1
    return markers


def markdown_files() -> List[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


class Case(NamedTuple):
    block: Block
    setup: Tuple[Block, ...]  # the file's setup blocks above it, run first


def collect() -> List[Case]:
    cases = []
    for path in markdown_files():
        setup: List[Block] = []
        for block in parse_blocks(path):
            cases.append(Case(block, tuple(setup)))
            if "setup" in block.markers:
                setup.append(block)
    return cases


def imported_modules(code: str) -> List[str]:
    """Every module a block imports (``import a.b`` / ``from a.b import c``: ``a.b``; also ``a.b.c``)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_packages(code: str) -> List[str]:
    """The optional packages a block needs and this environment lacks (each as ``a or b`` when either does)."""
    missing = []
    for module in imported_modules(code):
        needs = [_NEEDS_SUBMODULE[m] for m in _NEEDS_SUBMODULE if module == m or module.startswith(m + ".")]
        needs.append(_NEEDS_MODULE.get(module.split(".")[0], ()))
        for alternatives in needs:
            if alternatives and not any(_installed(a) for a in alternatives):
                missing.append(" or ".join(alternatives))
    return sorted(set(missing))


def is_heavy(code: str) -> bool:
    return any(m.split(".")[0] in _HEAVY for m in imported_modules(code))


def _param(case: Case):
    block = case.block
    marks = []
    code = "".join(s.code for s in case.setup) + block.code
    if "slow" in block.markers or is_heavy(code):
        marks.append(pytest.mark.slow)
    if "skip" in block.markers:
        marks.append(pytest.mark.skip(reason=f"docs: skip ({block.markers['skip']}) at {block.id}"))
    else:
        missing = missing_packages(code)
        if missing:
            marks.append(pytest.mark.skip(reason=f"{block.id} needs {', '.join(missing)}, not installed"))
    return pytest.param(case, id=block.id, marks=marks)


CASES = collect()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A temporary working directory, Agg, offline hubs and services, no connection beyond this machine."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "MPLBACKEND": "Agg",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": str(tmp_path),
        "WANDB_CACHE_DIR": str(tmp_path / ".wandb-cache"),
        "WANDB_CONFIG_DIR": str(tmp_path / ".wandb-config"),
        "MLFLOW_TRACKING_URI": (tmp_path / "mlruns").as_uri(),
        "TENSORBOARD_LOGGING_DIR": str(tmp_path / "runs"),
    }.items():
        monkeypatch.setenv(name, value)
    connect = socket.socket.connect

    def local_only(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
            raise OSError(f"the docs examples must not reach the network (tried {address!r})")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    if _installed("matplotlib"):
        import matplotlib

        matplotlib.use("Agg")
    yield tmp_path
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_python_block_runs(case: Case, sandbox):
    import torch

    torch.manual_seed(0)
    namespace: dict = {"__name__": "__docs__"}
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # a documented warning is shown to the reader, not an error here
        for block in (*case.setup, case.block):
            exec(compile(block.code, block.id, "exec"), namespace)


def test_every_python_fence_is_collected():
    """A fence spelt ```py, ```Python or indented would escape the collector: there is none."""
    for path in markdown_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        loose = [i + 1 for i, line in enumerate(lines) if _ANY_PY_FENCE.match(line)]
        assert loose == [b.line for b in parse_blocks(path)], f"{path}: python fences the collector misses"


def test_markers_are_read():
    text = "x\n<!-- docs: skip (needs a CUDA device) -->\n\n```python\n1/0\n```\n<!-- docs: setup -->\n```python\na = 1\n```\n"
    path = ROOT / "build" / "markers.md"
    lines = text.splitlines()
    assert _markers_above(lines, 3, path) == {"skip": "needs a CUDA device"}
    assert _markers_above(lines, 7, path) == {"setup": None}
    with pytest.raises(ValueError, match="needs a reason"):
        _markers_above(["<!-- docs: skip -->", "```python"], 1, path)
    with pytest.raises(ValueError, match="unknown docs marker"):
        _markers_above(["<!-- docs: skipp (x) -->", "```python"], 1, path)


def test_requirements_are_read_from_the_imports():
    assert missing_packages("import torch\nimport auroc_callbacks as ac\n") == []
    assert imported_modules("from auroc_callbacks.fastai import AUROC\nimport lightning.pytorch as pl\n") == [
        "auroc_callbacks.fastai",
        "auroc_callbacks.fastai.AUROC",
        "lightning.pytorch",
    ]
    assert is_heavy("from auroc_callbacks.transformers import AUROCMetric\nimport transformers\n")
    assert not is_heavy("import auroc_callbacks as ac\n")


def test_there_are_blocks_to_run():
    assert sum(1 for c in CASES if c.block.path == README) >= 2
    assert len(CASES) >= 40


@pytest.mark.slow
def test_site_builds_in_strict_mode(tmp_path):
    """``mkdocs build --strict``: a broken link or anchor, a missing reference or any warning fails."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("material")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "core" / "index.html").is_file()
