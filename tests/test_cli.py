"""The command line and the scripts people run: the demo (README's main job) and the benchmark."""

import subprocess
import sys
from pathlib import Path

import pytest

from auroc_callbacks import cli, demo

ROOT = Path(__file__).resolve().parents[1]


def test_demo_prints_exact_auroc_equal_to_sklearn_and_the_minibatch_gap(capsys):
    assert cli.main(["demo", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit() and len(line.split()) == 6]
    assert len(rows) == 2
    for _, _, exact, mean, gap, sk in rows:
        assert abs(float(exact) - float(sk)) < 1e-6  # the exact column is sklearn's value
        assert abs(float(mean) - float(exact) - float(gap)) < 2e-6
    assert "by batch size" in out


def test_demo_history_matches_sklearn():
    history = demo.run(epochs=1, out=lambda *_: None)
    assert abs(history[0]["exact"] - history[0]["sklearn"]) < 1e-12


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


def test_benchmark_smoke_run_agrees_with_peers():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_auroc.py"), "--quick", "--repeats", "1"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    assert "Summary" in out and "update():" in out
    assert "differs" not in out  # every peer computed the same AUROC before being timed
