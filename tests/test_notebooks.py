"""The notebooks run, top to bottom, in a fresh kernel of this interpreter: they cannot rot.

Each is executed in memory with nbclient (the files on disk are not
touched), in a temporary working directory, on a kernel started as
``sys.executable -m ipykernel_launcher``: the interpreter running the tests,
whatever kernelspecs are installed elsewhere. The notebooks check their own
numbers against scikit-learn with ``assert``; a failing cell fails the test.
"""

import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

pytestmark = pytest.mark.slow  # a kernel per notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BUDGET_S = 30  # each notebook should run well under this on 2 CPU cores
NEEDS = {
    "01_fastai_quickstart.ipynb": ["fastai", "matplotlib", "tensorboard"],
    "02_lightning_quickstart.ipynb": ["matplotlib", "tensorboard"],
    "03_why_auc_high_recall_low.ipynb": ["matplotlib", "sklearn"],
}


class ThisInterpreter(KernelSpecManager):
    """Every kernel name resolves to an IPython kernel of the interpreter running the tests."""

    def get_kernel_spec(self, kernel_name):
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})",
            language="python",
            env={"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        )


def _lightning_available():
    import importlib.util

    return any(importlib.util.find_spec(m) is not None for m in ("lightning", "pytorch_lightning"))


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NEEDS)


def test_committed_notebooks_carry_no_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_notebook_runs_clean(name, tmp_path):
    for module in NEEDS[name]:
        pytest.importorskip(module)
    if name.startswith("02") and not _lightning_available():
        pytest.skip("Lightning is not installed")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())
    client = nbclient.NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.executable  # the kernel ran this interpreter
    assert elapsed < 3 * BUDGET_S, f"{name} took {elapsed:.0f} s"  # generous: the machine may be shared
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the ROC figure is displayed"
