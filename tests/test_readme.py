"""The README's promises: its runnable example runs, and its Quick start is what CI runs."""

import re
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^##+ {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_core_api_example_runs():
    block = re.search(r"```python\n(.*?)```", _section("The core API"), flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["fpr"][0] == 0 and torch.isinf(namespace["thresholds"][0])


def test_quick_start_has_two_commands_and_ci_runs_the_test_one():
    block = re.search(r"```bash\n(.*?)```", _section("Quick start"), flags=re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_average_precision_example_runs_and_matches_sklearn():
    from sklearn.metrics import average_precision_score
    from sklearn.preprocessing import label_binarize

    block = re.search(r"```python\n(.*?)```", _section("Average precision and sample weights"), flags=re.S).group(1)
    ns: dict = {}
    exec(compile(block, "README.md", "exec"), ns)
    probs = torch.softmax(ns["logits"].double(), 1).numpy()
    onehot = label_binarize(ns["target"].numpy(), classes=range(5))
    want = average_precision_score(onehot, probs, sample_weight=ns["w"].numpy())
    assert abs(float(ns["ap"].value) - want) < 1e-12
