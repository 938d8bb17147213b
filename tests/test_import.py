"""The core never pulls in a framework or a plotting/logging library."""

import subprocess
import sys

HEAVY = (
    "fastai",
    "lightning",
    "pytorch_lightning",
    "torchmetrics",
    "matplotlib",
    "tensorboard",
    "torch.utils.tensorboard",
    "sklearn",
)


def test_import_loads_no_framework_plotting_or_tensorboard():
    code = f"import sys, auroc_callbacks as ac\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"`import auroc_callbacks` imported: {out}"


def test_public_names():
    import auroc_callbacks as ac

    assert {
        "auroc",
        "auroc_scores",
        "roc_curve",
        "probabilities",
        "AUROCAccumulator",
        "AUROCScores",
        "UndefinedAUROCWarning",
    } <= set(ac.__all__)
    assert issubclass(ac.UndefinedAUROCWarning, UserWarning)
