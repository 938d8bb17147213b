"""What the project promises about its own installation: one list of dev requirements, and a suite that
collects without the optional frameworks."""

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _blocks():
    """requirements/dev.txt as its two blocks of names: the dev extra, and fastai's own requirements."""
    blocks, current = [], None
    for line in (ROOT / "requirements" / "dev.txt").read_text().splitlines():
        if line.startswith("# fastai's own requirements"):
            current = None
        if line.startswith("#") or not line.strip():
            continue
        if current is None:
            current = set()
            blocks.append(current)
        current.add(_name(line.split("#")[0]))
    return blocks


def test_dev_extra_and_requirements_list_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    dev = set()
    for req in extras["dev"]:
        if req.startswith("auroc-callbacks["):  # the project's own extras, expanded
            for extra in req[req.index("[") + 1 : req.index("]")].split(","):
                dev |= {_name(r) for r in extras[extra]}
        else:
            dev.add(_name(req))
    dev |= {_name(r) for r in project["dependencies"]}
    listed, fastai_block = _blocks()
    assert listed == dev


def test_fastai_block_is_fastais_requirements_without_torchvision():
    fastai = pytest.importorskip("fastai")  # noqa: F841
    required = {_name(r) for r in importlib.metadata.requires("fastai") if "extra ==" not in r}
    listed, fastai_block = _blocks()
    assert "torchvision" not in listed | fastai_block
    assert fastai_block - {"setuptools"} <= required  # nothing listed that fastai does not ask for
    assert required - listed - fastai_block == {"torchvision", "spacy"}  # the two left out, on purpose


def test_every_dev_requirement_is_pinned_for_ci():
    pinned = {
        _name(line)
        for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    listed, _ = _blocks()
    assert {"torch", "pytest-xdist", "lightning", "torchmetrics", "fastai"} <= pinned
    assert pinned <= listed | {"fastai", "fastcore"}  # no stale pins


BLOCKER = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'fastai', 'lightning', 'pytorch_lightning', 'torchmetrics', 'matplotlib', 'tensorboard', 'transformers'}:
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import pytest
sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', '-p', 'no:xdist', 'auroc_callbacks']))
"""


@pytest.mark.slow
def test_doctests_collect_without_the_optional_frameworks():
    """``--doctest-modules`` must not fail collection when fastai, Lightning, torchmetrics, matplotlib or tensorboard
    is absent."""
    proc = subprocess.run([sys.executable, "-c", BLOCKER], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ERROR" not in proc.stdout and "errors" not in proc.stdout
    assert "auroc_callbacks/fastai.py" not in proc.stdout and "auroc_callbacks/functional.py" in proc.stdout
