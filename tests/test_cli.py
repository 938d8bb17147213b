"""The command line and the scripts people run: the demo (README's main job) and the benchmark."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from auroc_callbacks import cli, demo

ROOT = Path(__file__).resolve().parents[1]


def test_demo_prints_exact_auroc_equal_to_sklearn_and_the_minibatch_gap(capsys, tmp_path):
    assert cli.main(["demo", "--epochs", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit() and len(line.split()) == 6]
    assert len(rows) == 2 * len(demo.installed_frameworks())  # one table of 2 epochs per framework
    for _, _, exact, mean, gap, sk in rows:
        assert abs(float(exact) - float(sk)) < 1e-6  # the exact column is sklearn's value
        assert abs(float(mean) - float(exact) - float(gap)) < 2e-6
    assert "Minibatch mean vs exact, measured" in out and "batch 8" in out
    assert (tmp_path / "roc_digits.png").stat().st_size > 10_000
    assert f"tensorboard --logdir {tmp_path}" in out
    if importlib.util.find_spec("tensorboard") is None:
        return
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for run in sorted(tmp_path.glob("*/version_0")):  # fastai/ and lightning/
        ea = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0})
        ea.Reload()
        tag = "val_auroc" if run.parent.name == "lightning" else "auroc"
        assert len(ea.Scalars(tag)) == 2 and len(ea.Images(f"{tag}/roc")) == 2  # one per epoch


def test_demo_history_matches_sklearn(tmp_path):
    result = demo.run(epochs=1, out=lambda *_: None, out_dir=tmp_path, frameworks=["torch"])
    history = result["histories"]["torch"]
    assert abs(history[0]["exact"] - history[0]["sklearn"]) < 1e-12


@pytest.mark.slow
def test_entry_point_is_installed_and_has_help():
    exe = Path(sys.executable).with_name("auroc-callbacks")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert "demo" in out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_smoke_run_agrees_with_peers():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_auroc.py"), "--quick", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "Summary" in out and "update() exact:" in out and "update() histogram:" in out
    assert "differs" not in out  # every peer computed the same AUROC before being timed


@pytest.mark.slow
def test_demo_torchmetrics_section_logs_the_callbacks_number(tmp_path):
    pytest.importorskip("torchmetrics")
    pytest.importorskip("lightning")
    lines = []
    result = demo.run(
        epochs=1, out=lambda *a: lines.append(" ".join(map(str, a))), out_dir=tmp_path, frameworks=["lightning"]
    )
    assert result["torchmetrics"] == result["histories"]["lightning"][-1]["exact"]
    assert result["torchmetrics"] == pytest.approx(result["histories"]["lightning"][-1]["sklearn"], abs=1e-12)
    assert any("the same number" in line for line in lines)
