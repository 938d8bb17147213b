"""Check that the wheel installs and works on its own, as a user's ``pip install auroc-callbacks`` would.

1. Build the sdist and the wheel with ``python -m build``.
2. Check their contents: the sdist holds the tests and the README figure; the wheel holds the ``py.typed``
   marker and neither the tests nor the notebooks.
3. Make a fresh venv holding only the pinned CPU torch and numpy, install the wheel there, and (from a
   directory outside the checkout, so the source tree cannot be imported by accident) run
   ``import auroc_callbacks``, ``ac.auroc`` on random tensors and ``auroc-callbacks --help``; check that no
   fastai, Lightning, matplotlib or tensorboard was pulled in.
4. Install the ``[plot]`` extra and draw one ROC figure to a PNG.

Usage: ``python tools/check_wheel.py [--keep]`` (``make wheel-check``), with ``build`` installed in the
interpreter that runs it (requirements/lint.txt). pip's usual configuration (index, find-links) applies, and
requirements/constraints.txt pins torch to the CPU wheel.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
FORBIDDEN = ("fastai", "lightning", "pytorch_lightning", "matplotlib", "tensorboard")

CORE_CHECK = f"""
import importlib.util, pathlib, sys
import torch
import auroc_callbacks as ac

where = pathlib.Path(ac.__file__).resolve()
assert "site-packages" in where.parts, f"auroc_callbacks imported from {{where}}, not from the installed wheel"
assert (where.parent / "py.typed").is_file(), "py.typed is not installed"

torch.manual_seed(0)
preds, target = torch.rand(200), torch.randint(0, 2, (200,))
value = float(ac.auroc(preds, target))
assert 0.0 <= value <= 1.0, value
multi = float(ac.auroc(torch.randn(300, 4), torch.randint(0, 4, (300,)), task="multiclass", num_classes=4))
assert 0.0 <= multi <= 1.0, multi

loaded = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)
assert not loaded, f"import auroc_callbacks loaded {{loaded}}"
installed = sorted(m for m in {FORBIDDEN!r} if importlib.util.find_spec(m) is not None)
assert not installed, f"installing the wheel pulled in {{installed}}"
print(f"core ok: auroc_callbacks {{ac.__version__}} from {{where.parent}}; binary auroc {{value:.4f}}, "
      f"multiclass auroc {{multi:.4f}}; none of {FORBIDDEN} installed")
"""

PLOT_CHECK = """
import sys
import matplotlib
matplotlib.use("Agg")
import torch
from auroc_callbacks.plotting import plot_roc

torch.manual_seed(0)
logits, target = torch.randn(300, 3), torch.randint(0, 3, (300,))
fig, ax = plot_roc(logits, target, class_names=["a", "b", "c"])
fig.savefig(sys.argv[1])
print(f"plot ok: ROC figure written to {sys.argv[1]}")
"""


def _run(*cmd: object, cwd: Path | None = None, quiet: bool = False) -> str:
    args = [str(c) for c in cmd]
    shown = ["<script>" if "\n" in a else a for a in args]
    print("+", " ".join(shown), flush=True)
    proc = subprocess.run(args, cwd=cwd, capture_output=quiet, text=True)
    if proc.returncode != 0:
        if quiet:
            sys.stdout.write(proc.stdout)
            sys.stderr.write(proc.stderr)
        sys.exit(f"wheel-check FAILED: {' '.join(args)} exited {proc.returncode}")
    return proc.stdout if quiet else ""


def _check_archives(dist: Path) -> tuple[Path, Path]:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    problems = []

    with tarfile.open(sdist) as tar:
        # names are "<name>-<version>/<path>"
        sdist_names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    if not any(n.startswith("tests/test_") for n in sdist_names):
        problems.append(f"{sdist.name} holds no tests/test_*.py")
    if "docs/roc_digits.png" not in sdist_names:
        problems.append(f"{sdist.name} lacks docs/roc_digits.png (the README figure)")

    with zipfile.ZipFile(wheel) as whl:
        wheel_names = whl.namelist()
    if "auroc_callbacks/py.typed" not in wheel_names:
        problems.append(f"{wheel.name} lacks auroc_callbacks/py.typed")
    for top in ("tests/", "notebooks/", "benchmarks/", "docs/"):
        if any(n.startswith(top) for n in wheel_names):
            problems.append(f"{wheel.name} holds {top}")
    if any(n.endswith(".ipynb") for n in wheel_names):
        problems.append(f"{wheel.name} holds a notebook")

    if problems:
        sys.exit("wheel-check FAILED:\n  " + "\n  ".join(problems))
    print(
        f"archives ok: {sdist.name} ({len(sdist_names)} files, tests and docs/roc_digits.png in), "
        f"{wheel.name} ({len(wheel_names)} files, py.typed in, no tests/notebooks)",
        flush=True,
    )
    return wheel, sdist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (printed) for a look")
    args = parser.parse_args()

    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="auroc-wheel-check-"))
    try:
        dist = work / "dist"
        _run(sys.executable, "-m", "build", "--outdir", dist, ROOT, quiet=True)
        wheel, _ = _check_archives(dist)
        t_build = time.monotonic()

        env_dir = work / "venv"
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        py = env_dir / "bin" / "python"
        pip = [py, "-m", "pip", "install", "-q", "-c", CONSTRAINTS]
        _run(*pip, "torch==2.13.0", "numpy")
        _run(*pip, wheel)  # with its dependencies: they must resolve to the torch and numpy already there
        t_install = time.monotonic()

        scratch = work / "run"  # outside the checkout: the source tree must not be importable
        scratch.mkdir()
        _run(py, "-c", CORE_CHECK, cwd=scratch)
        help_text = _run(env_dir / "bin" / "auroc-callbacks", "--help", cwd=scratch, quiet=True)
        if "usage" not in help_text.lower():
            sys.exit(f"wheel-check FAILED: auroc-callbacks --help printed no usage:\n{help_text}")
        print(f"cli ok: auroc-callbacks --help ({len(help_text.splitlines())} lines)", flush=True)

        _run(*pip, f"{wheel}[plot]")
        png = scratch / "roc.png"
        _run(py, "-c", PLOT_CHECK, png, cwd=scratch)
        if not png.is_file() or png.stat().st_size < 1000 or png.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            sys.exit(f"wheel-check FAILED: {png} is not a PNG figure")
        end = time.monotonic()
        print(
            f"wheel-check passed in {end - start:.0f}s (build {t_build - start:.0f}s, venv and install "
            f"{t_install - t_build:.0f}s, checks and [plot] {end - t_install:.0f}s)"
        )
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    main()
