"""``auroc-callbacks report`` on predictions saved by real fastai and Lightning runs, checked against scikit-learn.

The console script is run in a subprocess where the entry point itself is
the subject (exit codes, no traceback); the other cases call ``cli.main``
in-process, which is what the script runs. Expected numbers come from
``sklearn.metrics`` on the saved arrays; TensorBoard events are read back
with tensorboard's ``EventAccumulator``.
"""

import csv
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from auroc_callbacks import cli

EXE = Path(sys.executable).with_name("auroc-callbacks")
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _digits(n=900):
    x, y = load_digits(return_X_y=True)
    return (x[:n] / 16).astype(np.float32), y[:n]


def _script(*args):
    if not EXE.exists():
        pytest.skip("console script not installed in this environment")
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=120)


def _main(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ----------------------------------------------------------------------------- real trainings


@pytest.fixture(scope="module")
def fastai_preds(tmp_path_factory):
    """``learn.get_preds()`` of a one-epoch fastai model on the digits, saved with torch.save."""
    pytest.importorskip("fastai")
    import fastai.callback.progress  # noqa: F401  (Learner.no_bar)
    from fastai.data.core import Datasets
    from fastai.data.transforms import Categorize, IndexSplitter, ItemGetter, ToTensor
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat

    x, y = _digits()
    items = list(zip(x, y))
    splits = IndexSplitter(list(range(0, len(items), 5)))(items)
    dsets = Datasets(items, tfms=[[ItemGetter(0), ToTensor()], [ItemGetter(1), Categorize()]], splits=splits)
    dls = dsets.dataloaders(bs=64, num_workers=0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat())
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-2)
        preds = learn.get_preds()
    path = tmp_path_factory.mktemp("fastai") / "preds.pt"
    torch.save(preds, path)
    return path, preds[0].numpy(), preds[1].numpy()


@pytest.fixture(scope="module")
def lightning_preds(tmp_path_factory):
    """Validation logits of a one-epoch Lightning model on the digits, saved as .npz."""
    try:
        import lightning.pytorch as pl
    except ImportError:
        pl = pytest.importorskip("pytorch_lightning")
    from torch.utils.data import DataLoader, TensorDataset

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            return torch.nn.functional.cross_entropy(self(batch[0]), batch[1])

        def predict_step(self, batch, batch_idx):
            return self(batch[0]), batch[1]

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    x, y = _digits()
    x, y = torch.tensor(x), torch.tensor(y)
    train, valid = TensorDataset(x[180:], y[180:]), TensorDataset(x[:180], y[:180])
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path_factory.mktemp("pl_root")),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
        trainer.fit(Net(), DataLoader(train, batch_size=32, shuffle=True))
        batches = trainer.predict(trainer.lightning_module, DataLoader(valid, batch_size=32))
    logits = torch.cat([b[0] for b in batches]).numpy()
    target = torch.cat([b[1] for b in batches]).numpy()
    path = tmp_path_factory.mktemp("lightning") / "val.npz"
    np.savez(path, logits=logits, target=target)
    return path, logits, target


def _softmax(logits):
    return torch.softmax(torch.tensor(logits), 1).numpy()


# ----------------------------------------------------------------------------- values


@pytest.mark.slow
def test_fastai_get_preds_file_through_the_entry_point_equals_sklearn(fastai_preds):
    path, probs, target = fastai_preds
    done = _script("report", path, "--json", "--classes", *NAMES)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["task"] == "multiclass" and doc["num_samples"] == len(target)
    assert doc["auroc"] == pytest.approx(roc_auc_score(target, probs, multi_class="ovr"), abs=1e-9)
    prec, rec, f1, sup = precision_recall_fscore_support(
        target, probs.argmax(1), labels=range(10), zero_division=np.nan
    )
    for k, name in enumerate(NAMES):
        row = doc["report"][name]
        assert row["support"] == sup[k]
        assert row["auroc"] == pytest.approx(roc_auc_score(target == k, probs[:, k]), abs=1e-9)
        for key, ref in (("precision", prec[k]), ("recall", rec[k]), ("f1", f1[k])):
            assert (row[key] is None and np.isnan(ref)) or row[key] == pytest.approx(ref, abs=1e-12)
    macro = precision_recall_fscore_support(target, probs.argmax(1), average="macro", zero_division=np.nan)
    assert doc["report"]["macro avg"]["recall"] == pytest.approx(macro[1], abs=1e-12)


def test_fastai_file_prints_the_table_and_the_auroc_line(fastai_preds, capsys):
    path, probs, target = fastai_preds
    code, out, err = _main(capsys, "report", path, "--classes", *NAMES)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}: {len(target)} samples, multiclass, 10 classes")
    three = next(line.split() for line in lines if line.split()[:1] == ["three"])
    assert three[1] == str(int((target == 3).sum()))
    assert three[2] == f"{roc_auc_score(target == 3, probs[:, 3]):.3f}"
    last = lines[-1]
    assert last.startswith("AUROC (macro, one-vs-rest): ")
    assert float(last.split()[-1]) == pytest.approx(roc_auc_score(target, probs, multi_class="ovr"), abs=1e-6)


@pytest.mark.parametrize(
    "extra, reference",
    [
        (["--average", "weighted"], dict(multi_class="ovr", average="weighted")),
        (["--multi-class", "ovo"], dict(multi_class="ovo", average="macro")),
    ],
)
def test_lightning_npz_logits_get_softmax_and_the_chosen_average(lightning_preds, capsys, extra, reference):
    path, logits, target = lightning_preds
    code, out, _ = _main(capsys, "report", path, "--json", *extra)
    assert code == 0
    doc = json.loads(out)
    assert doc["activation"] == "softmax"
    assert doc["auroc"] == pytest.approx(roc_auc_score(target, _softmax(logits), **reference), abs=1e-9)


def test_max_fpr_gives_sklearn_partial_auroc_for_binary(capsys, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scores = rng.normal(size=300) + y
    torch.save({"scores": torch.tensor(scores), "labels": torch.tensor(y)}, tmp_path / "b.pt")
    code, out, _ = _main(capsys, "report", tmp_path / "b.pt", "--max-fpr", "0.2", "--json", "--classes", "neg", "pos")
    doc = json.loads(out)
    assert code == 0 and doc["task"] == "binary" and list(doc["report"])[0] == "pos"
    assert doc["auroc"] == pytest.approx(roc_auc_score(y, scores, max_fpr=0.2), abs=1e-9)
    p = 1 / (1 + np.exp(-scores))
    prec, rec, f1, _ = precision_recall_fscore_support(y, p >= 0.5, average="binary")
    assert doc["report"]["pos"]["precision"] == pytest.approx(prec, abs=1e-12)


def test_csv_with_named_score_columns_and_string_labels(lightning_preds, capsys, tmp_path):
    _, logits, target = lightning_preds
    probs = _softmax(logits)
    path = tmp_path / "preds.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", *NAMES, "label"])  # a pandas-style index column first
        for i, (row, t) in enumerate(zip(probs, target)):
            w.writerow([i, *[repr(float(v)) for v in row], NAMES[t]])
    code, out, _ = _main(capsys, "report", path, "--json")
    assert code == 0
    doc = json.loads(out)
    assert list(doc["report"])[:10] == NAMES
    assert doc["auroc"] == pytest.approx(roc_auc_score(target, probs, multi_class="ovr"), abs=1e-9)


def test_separate_target_file_and_csv_target_column(lightning_preds, capsys, tmp_path):
    _, logits, target = lightning_preds
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "target.npy", target)
    code, out, _ = _main(capsys, "report", tmp_path / "logits.npy", "--target", tmp_path / "target.npy", "--json")
    assert code == 0
    assert json.loads(out)["auroc"] == pytest.approx(
        roc_auc_score(target, _softmax(logits), multi_class="ovr"), abs=1e-9
    )
    with open(tmp_path / "t.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["p0", "p1", "truth"])
        for row, t in zip(_softmax(logits)[:, :2], target):
            w.writerow([row[0], row[1], int(t == 1)])
    code, out, _ = _main(capsys, "report", tmp_path / "t.csv", "--target", "truth", "--classes", "p1", "--json")
    assert code == 0
    doc = json.loads(out)
    # the CSV holds float32's shortest decimal strings: the same ranking as the float32 scores
    assert doc["task"] == "binary" and doc["auroc"] == pytest.approx(
        roc_auc_score(target == 1, _softmax(logits)[:, 1]), abs=1e-9
    )


# ----------------------------------------------------------------------------- figure and TensorBoard


def test_out_writes_the_roc_png(fastai_preds, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path, _, _ = fastai_preds
    png = tmp_path / "roc.png"
    code, out, _ = _main(capsys, "report", path, "--out", png)
    assert code == 0 and f"wrote {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_tensorboard_events_read_back_equal_sklearn(lightning_preds, capsys, tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path, logits, target = lightning_preds
    logdir = tmp_path / "tb"
    code, out, _ = _main(capsys, "report", path, "--tensorboard", logdir, "--classes", *NAMES, "--step", 7)
    assert code == 0 and f"tensorboard --logdir {logdir}" in out
    ea = EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    ea.Reload()
    probs = _softmax(logits)
    (scalar,) = ea.Scalars("auroc")
    assert scalar.step == 7
    assert scalar.value == pytest.approx(roc_auc_score(target, probs, multi_class="ovr"), abs=1e-6)  # float32
    for k in (0, 8):
        assert ea.Scalars(f"auroc/{NAMES[k]}")[0].value == pytest.approx(
            roc_auc_score(target == k, probs[:, k]), abs=1e-6
        )
    (image,) = ea.Images("auroc/roc")
    assert image.width > 100 and image.height > 100
    tensors = set(ea.Tags()["tensors"])
    assert {f"auroc/pr/{n}" for n in NAMES} <= tensors
    assert "auroc/operating_points/text_summary" in tensors or "auroc/operating_points" in tensors
    text_tag = (
        "auroc/operating_points/text_summary"
        if "auroc/operating_points/text_summary" in tensors
        else "auroc/operating_points"
    )
    text = ea.Tensors(text_tag)[0].tensor_proto.string_val[0].decode()
    assert "| class | support | AUROC" in text and "| eight |" in text


# ----------------------------------------------------------------------------- errors: one line, status 2


@pytest.mark.slow
def test_bad_file_through_the_entry_point_is_one_line_and_status_2(tmp_path):
    bad = tmp_path / "preds.pt"
    bad.write_text("not a tensor file")
    done = _script("report", bad)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("auroc-callbacks report: error: preds.pt is not a file torch.save wrote")


class Thing:
    """Not a tensor: torch.load(weights_only=True) refuses it."""


def _write_bad_inputs(tmp: Path):
    """name -> (args, message fragment) for each kind of bad input."""
    torch.save(torch.rand(10, 3), tmp / "only_preds.pt")
    torch.save({"a": torch.rand(4, 3), "b": torch.zeros(4)}, tmp / "keys.pt")
    torch.save({"preds": torch.rand(4, 3), "target": torch.tensor([0, 1, 2, 5])}, tmp / "range.pt")
    torch.save((torch.rand(5, 3), torch.tensor([0, 1, 2, 0, 1])), tmp / "five.pt")
    np.save(tmp / "four.npy", np.array([0, 1, 2, 0]))
    np.savez(tmp / "named.npz", logits=np.random.rand(4, 3), y=np.array([0, 1, 2, 0]))
    (tmp / "notzip.npz").write_bytes(b"hello")
    (tmp / "scores.csv").write_text("cat,dog,label\n0.2,0.8,dog\n0.9,0.1,cat\n0.4,0.6,eel\n")
    (tmp / "nan.csv").write_text("cat,dog,label\n0.2,oops,1\n")
    (tmp / "ragged.csv").write_text("cat,dog,label\n0.2,0.8\n")
    (tmp / "preds.txt").write_text("0.1\n")
    (tmp / "dir.pt").mkdir()
    torch.save({"preds": torch.rand(3), "target": torch.tensor([0, 1, 0]), "extra": Thing()}, tmp / "object.pt")
    return {
        "missing": (["nope.pt"], "PREDS nope.pt: no such file"),
        "suffix": ([tmp / "preds.txt"], "unknown file type '.txt'"),
        "directory": ([tmp / "dir.pt"], "is a directory"),
        "no labels": ([tmp / "only_preds.pt"], "holds predictions only: give the labels with --target"),
        "unknown keys": ([tmp / "keys.pt"], "has no predictions: expected one of 'preds', 'logits'"),
        "unknown preds key": ([tmp / "named.npz", "--preds-key", "probs"], "has no predictions named 'probs'"),
        "label range": ([tmp / "range.pt"], "`target` holds label 5, but `preds` has 3 columns"),
        "lengths": ([tmp / "five.pt", "--target", tmp / "four.npy"], "five.pt has 5 predictions but four.npy has 4"),
        "not npz": ([tmp / "notzip.npz"], "notzip.npz is not a .npz file"),
        "object": ([tmp / "object.pt"], "Thing object, which is not loaded for safety"),
        "unknown column": ([tmp / "scores.csv", "--classes", "cat", "cow"], "has no column(s) 'cow'"),
        "unknown label": ([tmp / "scores.csv"], "label 'eel' is not an integer; names must be one of 'cat', 'dog'"),
        "not a number": ([tmp / "nan.csv"], "line 2, column 'dog': 'oops' is not a number"),
        "ragged": ([tmp / "ragged.csv"], "line 2: 2 fields, but the header has 3"),
        "target key": ([tmp / "scores.csv", "--target-key", "truth"], "has no column 'truth'"),
        "class names": ([tmp / "named.npz", "--classes", "a", "b"], "`class_names` must have 3 names; got 2"),
    }  # options out of range are refused by the parser: tests/test_cli_inputs.py


BAD = [
    "missing",
    "suffix",
    "directory",
    "no labels",
    "unknown keys",
    "unknown preds key",
    "label range",
    "lengths",
    "not npz",
    "object",
    "unknown column",
    "unknown label",
    "not a number",
    "ragged",
    "target key",
    "class names",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_clear_line_and_status_2(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, fragment = _write_bad_inputs(tmp_path)[case]
    code, out, err = _main(capsys, "report", *args)
    assert code == 2 and out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("auroc-callbacks report: error: ") and fragment in err, err


def test_undefined_class_is_a_warning_line_not_a_failure(capsys, tmp_path):
    torch.save(
        (torch.tensor([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]]), torch.tensor([0, 1, 0])), tmp_path / "p.pt"
    )
    code, out, err = _main(capsys, "report", tmp_path / "p.pt")
    assert code == 0 and "AUROC (macro, one-vs-rest): 1.000000" in out
    assert err.count("\n") == 1
    assert err.startswith("auroc-callbacks report: warning: AUROC is undefined for class(es) 2")


def test_report_help_text(capsys):
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    out = capsys.readouterr().out
    for option in ("--target", "--classes", "--out", "--tensorboard", "--json", "--average", "--multi-class"):
        assert option in out
    assert ".npz" in out and ".csv" in out
