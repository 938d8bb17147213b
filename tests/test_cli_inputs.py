"""``auroc-callbacks report`` on the inputs users bring: labels as other libraries write them, bad options and
corrupt files.

Expected numbers come from ``sklearn.metrics.roc_auc_score`` on the saved
arrays. The promise under test for bad input: exit status 2 and one line on
stderr, never a traceback. Most cases call ``cli.main`` in-process (what the
console script runs); a handful run the installed console script itself.
"""

import contextlib
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from auroc_callbacks import cli

EXE = Path(sys.executable).with_name("auroc-callbacks")
PREFIX = "auroc-callbacks report: error: "


def _main(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys, *args):
    code, out, err = _main(capsys, "report", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def _script(*args):
    if not EXE.exists():
        pytest.skip("console script not installed in this environment")
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=120)


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(PREFIX), err
    return err[len(PREFIX) : -1]


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _text(values):
    """Each float as its shortest round-tripping decimal string: the CSV holds the exact scores."""
    return [repr(float(v)) for v in values]


def _tumours(n=120, seed=0):
    """Scores and benign/malignant labels: the malignant score is noisy but informative."""
    rng = np.random.default_rng(seed)
    malignant = rng.random(n) < 0.4
    score = np.clip(rng.normal(0.35 + 0.3 * malignant, 0.2), 0, 1)
    return score, np.where(malignant, "malignant", "benign")


# ----------------------------------------------------------------------------- labels: --pos-label (item 14)


@pytest.mark.parametrize("pos", ["malignant", "benign"])
def test_one_score_column_csv_with_string_labels_and_pos_label_equals_sklearn(capsys, tmp_path, pos):
    score, label = _tumours()
    path = _write_csv(tmp_path / "tumours.csv", ["score", "label"], zip(_text(score), label))
    doc = _json(capsys, path, "--pos-label", pos)
    assert doc["task"] == "binary" and doc["pos_label"] == pos and list(doc["report"])[0] == pos
    assert doc["auroc"] == pytest.approx(roc_auc_score(label == pos, score), abs=1e-12)
    assert doc["report"][pos]["support"] == int((label == pos).sum())


def test_one_score_column_csv_with_two_string_labels_and_no_pos_label_names_both(capsys, tmp_path):
    score, label = _tumours()
    path = _write_csv(tmp_path / "tumours.csv", ["score", "label"], zip(_text(score), label))
    code, out, err = _main(capsys, "report", path)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert "pass --pos-label" in line and "'benign', 'malignant'" in line, line


def test_two_score_columns_named_after_the_string_labels(capsys, tmp_path):
    score, label = _tumours()
    rows = zip(_text(1 - score), _text(score), label)
    path = _write_csv(tmp_path / "tumours.csv", ["benign", "malignant", "label"], rows)
    doc = _json(capsys, path)  # no option: two classes, one-vs-rest, the column of each label scores it
    assert doc["task"] == "multiclass" and list(doc["report"])[:2] == ["benign", "malignant"]
    assert doc["auroc"] == pytest.approx(roc_auc_score(label == "malignant", score), abs=1e-12)
    scores = {"malignant": score, "benign": 1 - score}
    for pos, extra in (("malignant", []), ("benign", []), ("malignant", ["--classes", "malignant"])):
        doc = _json(capsys, path, *extra, "--pos-label", pos)
        assert doc["task"] == "binary" and list(doc["report"])[0] == pos and doc["activation"] is None
        assert doc["auroc"] == pytest.approx(roc_auc_score(label == pos, scores[pos]), abs=1e-12)


def _save(fmt: str, tmp: Path, score, label):
    """``score`` and ``label`` saved as ``fmt``; the arguments that read them."""
    if fmt == "pt":
        torch.save({"scores": torch.tensor(score), "labels": torch.tensor(label)}, tmp / "p.pt")
        return [tmp / "p.pt"]
    if fmt == "npz":
        np.savez(tmp / "p.npz", preds=score, target=label)
        return [tmp / "p.npz"]
    if fmt == "npy":
        np.save(tmp / "scores.npy", score)
        np.save(tmp / "labels.npy", label)
        return [tmp / "scores.npy", "--target", tmp / "labels.npy"]
    return [_write_csv(tmp / "p.csv", ["score", "y"], zip(_text(score), map(str, label)))]


@pytest.mark.parametrize("fmt", ["pt", "npz", "npy", "csv"])
@pytest.mark.parametrize("values, pos", [((1, 2), "2"), ((1, 2), "1"), ((-1, 1), "-1"), ((0, 7), "7")])
def test_pos_label_with_numeric_labels_in_every_format_equals_sklearn(capsys, tmp_path, fmt, values, pos):
    score, text = _tumours()
    label = np.where(text == "malignant", values[1], values[0])
    doc = _json(capsys, *_save(fmt, tmp_path, score, label), "--pos-label", pos)
    assert doc["task"] == "binary" and list(doc["report"])[0] == pos
    assert doc["auroc"] == pytest.approx(roc_auc_score(label == int(pos), score), abs=1e-12)


@pytest.mark.parametrize("fmt", ["pt", "npz", "npy", "csv"])
def test_labels_minus_one_and_one_need_no_option(capsys, tmp_path, fmt):
    score, text = _tumours()
    label = np.where(text == "malignant", 1, -1)
    doc = _json(capsys, *_save(fmt, tmp_path, score, label))
    assert doc["task"] == "binary"
    assert doc["auroc"] == pytest.approx(roc_auc_score(label, score), abs=1e-12)  # sklearn: 1 is positive
    positive = next(iter(doc["report"].values()))  # "1", or a CSV's score column: the positive class's row
    assert positive["support"] == int((label == 1).sum())


def test_two_score_columns_with_labels_minus_one_and_one(capsys, tmp_path):
    score, text = _tumours()
    label = np.where(text == "malignant", 1, -1)
    torch.save((torch.tensor(np.stack([1 - score, score], 1)), torch.tensor(label)), tmp_path / "p.pt")
    for pos, ref in (([], score), (["--pos-label", "1"], score), (["--pos-label", "-1"], 1 - score)):
        doc = _json(capsys, tmp_path / "p.pt", *pos)
        positive = -1 if pos and pos[1] == "-1" else 1
        assert doc["auroc"] == pytest.approx(roc_auc_score(label == positive, ref), abs=1e-12)


@pytest.mark.parametrize("holder", ["npz", "pt list"])
def test_pos_label_with_string_labels_in_an_array_file(capsys, tmp_path, holder):
    score, label = _tumours()
    if holder == "npz":
        np.savez(tmp_path / "p.npz", scores=score, labels=label)
        path = tmp_path / "p.npz"
    else:
        torch.save({"scores": torch.tensor(score), "labels": label.tolist()}, tmp_path / "p.pt")
        path = tmp_path / "p.pt"
    doc = _json(capsys, path, "--pos-label", "malignant")
    assert doc["auroc"] == pytest.approx(roc_auc_score(label == "malignant", score), abs=1e-12)


def test_pos_label_leaves_ignore_index_out(capsys, tmp_path):
    score, text = _tumours()
    label = np.where(text == "malignant", 2, 1)
    label[::10] = -100
    torch.save((torch.tensor(score), torch.tensor(label)), tmp_path / "p.pt")
    doc = _json(capsys, tmp_path / "p.pt", "--pos-label", "2", "--ignore-index", "-100")
    keep = label != -100
    assert doc["num_samples"] == keep.sum()
    assert doc["auroc"] == pytest.approx(roc_auc_score(label[keep] == 2, score[keep]), abs=1e-12)


def _label_errors(tmp: Path):
    """name -> (args, fragments of the one error line)."""
    score, text = _tumours(30)
    three = np.array(["benign", "malignant", "unsure"] * 10)
    _write_csv(tmp / "three.csv", ["score", "label"], zip(_text(score), three))
    _write_csv(tmp / "two.csv", ["score", "label"], zip(_text(score), text))
    _write_csv(tmp / "unnamed.csv", ["p0", "p1", "label"], zip(_text(1 - score), _text(score), text))
    _write_csv(tmp / "cols3.csv", ["a", "b", "c", "label"], [(0.2, 0.3, 0.5, "a")] * 3)
    torch.save((torch.tensor(score), torch.tensor([0, 1, 2] * 10)), tmp / "ints3.pt")
    torch.save((torch.tensor(score), torch.tensor([1, 2] * 15)), tmp / "ints12.pt")
    torch.save((torch.rand(30, 2), torch.tensor([1, 2] * 15)), tmp / "cols12.pt")
    return {
        "three strings": (
            [tmp / "three.csv", "--pos-label", "malignant"],
            ["binary", "3 distinct labels", "'benign', 'malignant', 'unsure'"],
        ),
        "three strings, no option": ([tmp / "three.csv"], ["one score column", "'benign', 'malignant', 'unsure'"]),
        "three ints": ([tmp / "ints3.pt", "--pos-label", "1"], ["binary", "3 distinct labels: 0, 1, 2"]),
        "absent string": (
            [tmp / "two.csv", "--pos-label", "Malignant"],
            ["--pos-label 'Malignant' is not a label", "'benign', 'malignant'"],
        ),
        "absent int": ([tmp / "ints12.pt", "--pos-label", "3"], ["--pos-label '3' is not a label", "1, 2"]),
        "word for ints": ([tmp / "ints12.pt", "--pos-label", "yes"], ["are numbers (1, 2)"]),
        "ints 1 and 2": ([tmp / "ints12.pt"], ["labels 1 and 2", "pass --pos-label"]),
        "unnamed columns": ([tmp / "unnamed.csv", "--pos-label", "malignant"], ["'p0', 'p1'", "--classes"]),
        "unknown column order": ([tmp / "cols12.pt", "--pos-label", "2"], ["two score columns", "unknown"]),
        "three columns": ([tmp / "cols3.csv", "--pos-label", "a"], ["3 score columns", "--classes"]),
        "with multiclass": (
            [tmp / "two.csv", "--pos-label", "malignant", "--task", "multiclass"],
            ["cannot go with --task multiclass"],
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "three strings",
        "three strings, no option",
        "three ints",
        "absent string",
        "absent int",
        "word for ints",
        "ints 1 and 2",
        "unnamed columns",
        "unknown column order",
        "three columns",
        "with multiclass",
    ],
)
def test_label_problems_are_one_line_naming_the_labels(capsys, tmp_path, case):
    args, fragments = _label_errors(tmp_path)[case]
    code, out, err = _main(capsys, "report", *args)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    for fragment in fragments:
        assert fragment in line, line


# ----------------------------------------------------------------------------- options checked when parsed (item 15)


@pytest.mark.parametrize(
    "option, good, bad, message",
    [
        ("--digits", "0", "-1", "must be an integer in [0, 17]; got '-1'"),
        ("--digits", "17", "18", "must be an integer in [0, 17]; got '18'"),
        ("--digits", "2", "2.5", "must be an integer in [0, 17]; got '2.5'"),
        ("--max-fpr", "1", "1.5", "must be a number in (0, 1]; got '1.5'"),
        ("--max-fpr", "0.001", "0", "must be a number in (0, 1]; got '0'"),
        ("--max-fpr", "0.5", "nan", "must be a number in (0, 1]; got 'nan'"),
        ("--fpr-levels", "0", "-0.1", "must be a number in [0, 1]; got '-0.1'"),
        ("--fpr-levels", "1", "2", "must be a number in [0, 1]; got '2'"),
        ("--threshold", "-3.5", "inf", "must be a finite number; got 'inf'"),
        ("--threshold", "0.7", "nan", "must be a finite number; got 'nan'"),
        ("--step", "0", "-1", "must be an integer >= 0; got '-1'"),
        ("--ignore-index", "-100", "1.5", "must be an integer; got '1.5'"),
        ("--pos-label", "1", " ", "must name a label; got ' '"),
    ],
)
def test_options_are_checked_when_parsed(capsys, tmp_path, option, good, bad, message):
    torch.save((torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])), tmp_path / "p.pt")
    code, _, _ = _main(capsys, "report", tmp_path / "p.pt", option, good)
    assert code == 0
    with pytest.raises(SystemExit) as info:
        cli.main(["report", str(tmp_path / "p.pt"), option, bad])
    captured = capsys.readouterr()
    assert info.value.code == 2 and captured.out == ""  # nothing printed before the error
    assert "Traceback" not in captured.err
    assert captured.err.splitlines()[-1] == f"auroc-callbacks report: error: argument {option}: {message}"


# ----------------------------------------------------------------------------- corrupt files (item 15)


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


GOOD = {
    ".pt": _torch_bytes((torch.rand(20, 3), torch.randint(0, 3, (20,)))),
    ".npz": _npz_bytes(preds=np.linspace(0, 1, 20), target=np.arange(20) % 2),
    ".npy": _npy_bytes(np.linspace(0, 1, 20)),
}


def _corrupt_files(tmp: Path):
    """name -> the arguments reading one corrupt or wrong file. Each must give one error line and status 2."""
    rng = np.random.default_rng(0)
    np.save(tmp / "labels.npy", np.arange(20) % 2)
    files = {}
    for suffix in (".pt", ".pth", ".npz", ".npy", ".csv"):
        for i in range(3):
            files[f"random{i}{suffix}"] = rng.bytes(int(rng.integers(1, 400)))
        files[f"empty{suffix}"] = b""
    files.update(
        {
            "pop_from_empty_list.pt": b"\x80\x02e",  # the IndexError
            "bad_memo.pt": b"\x80\x02]h\x05",  # KeyError in the unpickler
            "odd_protocol.pt": b"\x80\xa3o_\x8d`u\x88E2",  # torch warns about the protocol, then fails
            "half.pt": GOOD[".pt"][: len(GOOD[".pt"]) // 2],  # a real torch.save zip cut in half
            "string.pt": _torch_bytes("not predictions"),
            "strings.pt": _torch_bytes({"preds": "a", "target": "b"}),
            "number.pt": _torch_bytes(3),
            "complex.pt": _torch_bytes((torch.rand(20) + 1j, torch.randint(0, 2, (20,)))),
            "zero_d.pt": _torch_bytes((torch.tensor(0.5), torch.tensor(1))),
            "sparse.pt": _torch_bytes((torch.eye(20, 3).to_sparse(), torch.randint(0, 3, (20,)))),
            "half.npz": GOOD[".npz"][: len(GOOD[".npz"]) // 2],
            "no_arrays.npz": _npz_bytes(),  # np.savez(path) with no arrays: an empty zip
            "bad_crc.npz": GOOD[".npz"][:60] + bytes([GOOD[".npz"][60] ^ 0xFF]) + GOOD[".npz"][61:],
            "half.npy": GOOD[".npy"][: len(GOOD[".npy"]) // 2],
            "text.npy": _npy_bytes(np.array(["a", "b"])),
            "objects.npy": _npy_bytes(np.array([1, "a"], dtype=object)),
            "torch_file.csv": GOOD[".pt"],  # binary, named .csv
            "ragged.csv": b"score,label\n0.1,1\n0.2\n",
            "header_only.csv": b"score,label\n",
            "latin1.csv": "score,label\n0.1,caf\xe9\n".encode("latin-1"),
            "new\nline.pt": b"\x80\x02e",  # a newline in the name must not make two lines
        }
    )
    cases = {}
    for name, data in files.items():
        (tmp / name).write_bytes(data)
        cases[name] = [tmp / name] + (["--target", tmp / "labels.npy"] if name.endswith(".npy") else [])
    cases["name too long"] = [tmp / ("x" * 300 + ".pt")]
    return cases


def test_corrupt_and_wrong_files_are_one_line_and_status_2(tmp_path, capsys):
    failures = []
    for name, args in _corrupt_files(tmp_path).items():
        try:
            code, out, err = _main(capsys, "report", *args)
        except Exception as exc:
            failures.append(f"{name!r}: raised {type(exc).__name__}: {exc}")
            continue
        if code != 2 or out or "Traceback" in err or err.count("\n") != 1 or not err.startswith(PREFIX):
            failures.append(f"{name!r}: rc={code} stderr={err!r}")
    assert not failures, "\n".join(failures)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from([".pt", ".pth", ".npz", ".npy", ".csv"]),
    head=st.sampled_from([b"", b"\x80\x02", b"PK\x03\x04", b"\x93NUMPY\x01\x00"]),
    body=st.binary(max_size=300),
)
@example(suffix=".pt", head=b"\x80\x02", body=b"e")  # IndexError: pop from empty list
@example(suffix=".pt", head=b"\x80\x02", body=b"(e.")  # IndexError: list index out of range
def test_random_bytes_are_one_line_and_status_2(tmp_path, suffix, head, body):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(head + body)
    args = ["report", str(path)] + (["--target", str(path)] if suffix == ".npy" else [])
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(args)
    assert code == 2 and err.getvalue().count("\n") == 1 and err.getvalue().startswith(PREFIX), err.getvalue()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from(sorted(GOOD)),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.floats(0.05, 1),
)
def test_damaged_real_files_are_read_or_refused_in_one_line(tmp_path, suffix, flips, cut):
    data = bytearray(GOOD[suffix])
    for where, byte in flips:
        data[int(where * len(data))] = byte
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(bytes(data[: max(1, int(cut * len(data)))]))
    np.save(tmp_path / "labels.npy", np.arange(20) % 2)
    args = ["report", str(path)] + (["--target", str(tmp_path / "labels.npy")] if suffix == ".npy" else [])
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(args)
    if code != 0:  # a flip may land where it changes nothing, or only a value
        assert code == 2 and err.getvalue().count("\n") == 1 and err.getvalue().startswith(PREFIX), err.getvalue()


# ----------------------------------------------------------------------------- through the console script


@pytest.mark.slow
def test_corrupt_files_through_the_console_script_are_one_line_and_status_2(tmp_path):
    cases = _corrupt_files(tmp_path)
    for name in ("pop_from_empty_list.pt", "half.pt", "torch_file.csv"):  # unpickler, zip reader, CSV decoder
        done = _script("report", *cases[name])
        assert done.returncode == 2 and done.stdout == "", (name, done.stderr)
        _one_error_line(done.stderr)


@pytest.mark.slow
def test_bad_option_through_the_console_script_is_a_usage_error_before_any_output(tmp_path):
    torch.save((torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])), tmp_path / "p.pt")
    done = _script("report", tmp_path / "p.pt", "--digits", "-1")
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "auroc-callbacks report: error: argument --digits: must be an integer in [0, 17]; got '-1'"
    )


@pytest.mark.slow
def test_string_label_csv_with_pos_label_through_the_console_script_equals_sklearn(tmp_path):
    score, label = _tumours()
    path = _write_csv(tmp_path / "tumours.csv", ["score", "label"], zip(_text(score), label))
    done = _script("report", path, "--pos-label", "malignant", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["auroc"] == pytest.approx(roc_auc_score(label == "malignant", score), abs=1e-12)
