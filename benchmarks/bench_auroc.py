"""Time ac.auroc against scikit-learn, torcheval, torchmetrics and a values-only np.sort floor.

Every contender is measured in the same run, on the same float32 logits, with
the same thread count; the script prints medians and ratios, never absolute
claims. Targets (issue 2): ac.auroc <= 2x the np.sort floor, >= 5x faster than
scikit-learn, >= 3x faster than the faster of torcheval and torchmetrics.
Issue 6: DeLong intervals (ac.auroc_ci) at the first size cost <= 1.5x ac.auroc.
Issue 14: ac.average_precision >= 5x faster than the fastest peer, and the
AUROC+AP pair of an epoch (one sort) <= 1.3x the AUROC alone.

    python benchmarks/bench_auroc.py                 # CPU, 2 threads, the issue's three sizes
    python benchmarks/bench_auroc.py --ties          # logits rounded to 0.1: tie-heavy
    python benchmarks/bench_auroc.py --device cuda   # GPU: 1e7 x 10 (target < 30 ms on an H100)
    python benchmarks/bench_auroc.py --quick         # tiny sizes, a smoke run

What is timed: every contender gets the same float32 logits and does the
whole job, softmax included (ac.auroc and torchmetrics apply it themselves;
scikit-learn and torcheval are given ``torch.softmax(logits, 1)`` inside the
timed call, as a user would). The floor sorts the logits matrix column by
column, values only, single-threaded. Peak memory is measured for each
contender in a fresh process (Linux: the peak resident set size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

import auroc_callbacks as ac

CPU_SIZES = [(1_000_000, 10), (100_000, 100), (50_000, 1000)]
GPU_SIZES = [(10_000_000, 10), (1_000_000, 100), (100_000, 1000)]
QUICK_SIZES = [(20_000, 10), (5_000, 100)]


def _median_time(fn, repeats: int, sync=None) -> float:
    fn()  # warm-up (allocations, lazy imports, kernels)
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _contenders(logits: torch.Tensor, target: torch.Tensor, num_classes: int, with_sklearn: bool):
    """Each contender does the whole job from the same float32 logits: softmax, then one-vs-rest macro AUROC."""
    out = {"auroc_callbacks": lambda: ac.auroc(logits, target)}
    try:
        from torchmetrics.functional.classification import multiclass_auroc as tm_auroc

        out["torchmetrics"] = lambda: tm_auroc(
            logits, target, num_classes=num_classes, average="macro", thresholds=None
        )
    except ImportError:
        print("  (torchmetrics not installed: skipped)")
    try:
        from torcheval.metrics.functional import multiclass_auroc as te_auroc

        out["torcheval"] = lambda: te_auroc(torch.softmax(logits, 1), target, num_classes=num_classes, average="macro")
    except ImportError:
        print("  (torcheval not installed: skipped)")
    if with_sklearn:
        from sklearn.metrics import roc_auc_score

        y_np = target.cpu().numpy()
        out["scikit-learn"] = lambda: roc_auc_score(
            y_np, torch.softmax(logits, 1).cpu().numpy(), multi_class="ovr", average="macro"
        )
    return out


def _peak_rss_mib(fn) -> float:
    """Extra resident memory at the peak of fn(), in MiB (Linux: VmHWM after resetting it).

    Meaningful in a fresh process only: freed memory that the allocator keeps
    would hide a smaller peak. See :func:`bench_memory`.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak resident set size to the current one
    except OSError:
        return float("nan")

    def read(key):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        return float("nan")

    base = read("VmRSS:")
    fn()
    return read("VmHWM:") - base


def _check_results(contenders) -> None:
    """The peers must agree with us (to their own float32 precision) before their times mean anything."""
    ours = float(contenders["auroc_callbacks"]())
    for name, fn in contenders.items():
        if name != "auroc_callbacks":
            theirs = float(fn())
            flag = "" if abs(theirs - ours) < 1e-4 else "   <-- differs"
            print(f"  value  {name:16s} {theirs:.9f}  (ours {ours:.9f}){flag}")


def bench_sizes(sizes, device: str, repeats: int, ties: bool, with_sklearn: bool) -> list[str]:
    sync = torch.cuda.synchronize if device == "cuda" else None
    verdicts = []
    for n, c in sizes:
        logits, target = _data(n, c, device, ties)
        print(f"\n{n:,} x {c} {'(ties) ' if ties else ''}on {device}")
        contenders = _contenders(logits, target, c, with_sklearn and device == "cpu")
        _check_results(contenders)
        times = {name: _median_time(fn, repeats, sync) for name, fn in contenders.items()}
        if device == "cpu":
            host = logits.numpy()
            times["np.sort floor"] = _median_time(lambda host=host: np.sort(host, axis=0), repeats)
        ours = times["auroc_callbacks"]
        for name, t in times.items():
            print(f"  {name:16s} {t * 1e3:10.1f} ms   {t / ours:6.2f}x ours")
        line = f"{n:,}x{c}: ours {ours * 1e3:.1f} ms"
        if "np.sort floor" in times:
            r = ours / times["np.sort floor"]
            line += f"; {r:.2f}x floor ({'ok' if r <= 2.0 else 'MISS'} <= 2.0)"
        if "scikit-learn" in times:
            r = times["scikit-learn"] / ours
            line += f"; sklearn/ours {r:.1f} ({'ok' if r >= 5 else 'MISS'} >= 5)"
        peers = [times[k] for k in ("torchmetrics", "torcheval") if k in times]
        if peers:
            r = min(peers) / ours
            line += f"; best peer/ours {r:.1f} ({'ok' if r >= 3 else 'MISS'} >= 3)"
        if device == "cuda" and (n, c) == (10_000_000, 10):
            line += f"; {'ok' if ours < 0.030 else 'MISS'} < 30 ms"
        verdicts.append(line)
    return verdicts


def _ap_contenders(logits: torch.Tensor, target: torch.Tensor, num_classes: int, with_sklearn: bool):
    """Each contender: softmax, then the one-vs-rest macro average precision (every threshold: exact)."""
    out = {"auroc_callbacks": lambda: ac.average_precision(logits, target)}
    try:
        from torchmetrics.functional.classification import multiclass_average_precision as tm_ap

        out["torchmetrics"] = lambda: tm_ap(logits, target, num_classes=num_classes, average="macro", thresholds=None)
    except ImportError:
        pass
    try:
        from torcheval.metrics.functional import multiclass_auprc as te_ap

        out["torcheval"] = lambda: te_ap(torch.softmax(logits, 1), target, num_classes=num_classes, average="macro")
    except ImportError:
        pass
    if with_sklearn:
        from sklearn.metrics import average_precision_score
        from sklearn.preprocessing import label_binarize

        onehot = label_binarize(target.cpu().numpy(), classes=np.arange(num_classes))
        out["scikit-learn"] = lambda: average_precision_score(
            onehot, torch.softmax(logits, 1).cpu().numpy(), average="macro"
        )
    return out


def bench_ap(sizes, device: str, repeats: int, ties: bool, with_sklearn: bool) -> list[str]:
    """ac.average_precision against its peers, and an epoch's AUROC+AP (one sort) against its AUROC alone."""
    sync = torch.cuda.synchronize if device == "cuda" else None
    verdicts = []
    for n, c in sizes:
        logits, target = _data(n, c, device, ties)
        print(f"\naverage precision, {n:,} x {c} {'(ties) ' if ties else ''}on {device}")
        contenders = _ap_contenders(logits, target, c, with_sklearn and device == "cpu")
        _check_results(contenders)
        times = {name: _median_time(fn, repeats, sync) for name, fn in contenders.items()}
        acc = ac.AUROCAccumulator(num_classes=c)
        acc.update(logits, target)
        acc.compute_scores()  # the epoch's checks, once, as a callback's epoch end does
        auroc_alone = _median_time(acc.compute_scores, repeats, sync)
        pair = _median_time(lambda acc=acc: acc.compute_metrics(auroc=True, average_precision=True), repeats, sync)
        ours = times["auroc_callbacks"]
        for name, t in times.items():
            print(f"  {name:16s} {t * 1e3:10.1f} ms   {t / ours:6.2f}x ours")
        print(f"  epoch AUROC alone {auroc_alone * 1e3:8.1f} ms; AUROC+AP {pair * 1e3:.1f} ms")
        line = f"AP {n:,}x{c}: ours {ours * 1e3:.1f} ms"
        peers = [times[k] for k in ("torchmetrics", "torcheval", "scikit-learn") if k in times]
        if peers:
            r = min(peers) / ours
            line += f"; fastest peer/ours {r:.1f} ({'ok' if r >= 5 else 'MISS'} >= 5)"
        r = pair / auroc_alone
        line += f"; AUROC+AP / AUROC {r:.2f} ({'ok' if r <= 1.3 else 'MISS'} <= 1.3)"
        verdicts.append(line)
    return verdicts


#: the speed issue's table beyond the multiclass-logits sizes above: (name, task, n, c, scores)
CASES = [
    ("binary 1e6 logits", "binary", 1_000_000, 1, "logits"),
    ("binary 1e7 logits", "binary", 10_000_000, 1, "logits"),
    ("binary 1e7 probabilities", "binary", 10_000_000, 1, "probabilities"),
    ("multilabel 1e6x10 logits", "multilabel", 1_000_000, 10, "logits"),
    ("multiclass 1e6x10 probabilities", "multiclass", 1_000_000, 10, "probabilities"),
]
QUICK_CASES = [(f"quick {name} / 100", task, n // 100, c, scores) for name, task, n, c, scores in CASES]


def _case_data(task: str, n: int, c: int, scores: str):
    g = torch.Generator().manual_seed(0)
    if task == "binary":
        target = torch.randint(0, 2, (n,), generator=g)
        x = torch.randn(n, generator=g) + target
        return (torch.sigmoid(x) if scores == "probabilities" else x), target
    if task == "multilabel":
        target = torch.randint(0, 2, (n, c), generator=g)
        return torch.randn(n, c, generator=g) + target, target
    target = torch.randint(0, c, (n,), generator=g)
    x = torch.randn(n, c, generator=g) + 2 * torch.nn.functional.one_hot(target, c)
    return (torch.softmax(x, 1) if scores == "probabilities" else x), target


def _case_contenders(task: str, preds: torch.Tensor, target: torch.Tensor, c: int):
    """Each from the same float32 scores; the peers get a sigmoid/softmax where their contract needs probabilities."""
    out = {"auroc_callbacks": lambda: ac.auroc(preds, target, task=task, num_classes=None if task == "binary" else c)}
    try:
        from torchmetrics.functional.classification import binary_auroc, multiclass_auroc, multilabel_auroc

        if task == "binary":
            out["torchmetrics"] = lambda: binary_auroc(preds, target, thresholds=None)
        elif task == "multilabel":
            out["torchmetrics"] = lambda: multilabel_auroc(preds, target, num_labels=c, thresholds=None)
        else:
            out["torchmetrics"] = lambda: multiclass_auroc(preds, target, num_classes=c, thresholds=None)
    except ImportError:
        print("  (torchmetrics not installed: skipped)")
    try:
        from torcheval.metrics.functional import binary_auroc as te_binary
        from torcheval.metrics.functional import multiclass_auroc as te_multiclass

        if task == "binary":
            out["torcheval"] = lambda: te_binary(preds, target)
        elif task == "multilabel":  # torcheval has no multilabel AUROC: one binary AUROC per label, averaged
            out["torcheval"] = lambda: torch.stack([te_binary(preds[:, j], target[:, j]) for j in range(c)]).mean()
        else:
            out["torcheval"] = lambda: te_multiclass(preds, target, num_classes=c)
    except ImportError:
        print("  (torcheval not installed: skipped)")
    return out


def bench_cases(cases, repeats: int) -> list[str]:
    """The speed issue's table: ours against np.sort of the same float32 scores and against the fastest peer."""
    verdicts = []
    for name, task, n, c, scores in cases:
        preds, target = _case_data(task, n, c, scores)
        print(f"\n{name} ({n:,} x {c}) on cpu")
        contenders = _case_contenders(task, preds, target, c)
        _check_results(contenders)
        times = {k: _median_time(fn, repeats) for k, fn in contenders.items()}
        host = preds.numpy()
        times["np.sort floor"] = _median_time(lambda host=host: np.sort(host, axis=0), repeats)
        ours = times["auroc_callbacks"]
        for k, t in times.items():
            print(f"  {k:16s} {t * 1e3:10.1f} ms   {t / ours:6.2f}x ours")
        floor = ours / times["np.sort floor"]
        line = f"{name}: ours {ours * 1e3:.1f} ms; {floor:.2f}x floor ({'ok' if floor <= 2.0 else 'MISS'} <= 2.0)"
        peers = [times[k] for k in ("torchmetrics", "torcheval") if k in times]
        if peers:
            r = min(peers) / ours
            line += f"; best peer/ours {r:.1f} ({'ok' if r >= 5 else 'MISS'} >= 5)"
        verdicts.append(line)
    return verdicts


def simd_level() -> str:
    """numpy's SIMD baseline and the extensions it found on this CPU (what its sort runs with)."""
    try:
        simd = np.show_config(mode="dicts").get("SIMD Extensions", {})
    except (TypeError, AttributeError):  # numpy < 1.26
        return "unknown"
    return f"baseline {' '.join(simd.get('baseline', [])) or '-'}; found {' '.join(simd.get('found', [])) or '-'}"


def bench_update(device: str, batches: int = 2000, batch: int = 256, classes: int = 10, mode: str = "exact") -> str:
    """Host cost of one update(): what a training loop pays per validation batch (against a plain list.append)."""
    preds = torch.randn(batch, classes, device=device)
    target = torch.randint(0, classes, (batch,), device=device)
    acc = ac.AUROCAccumulator(num_classes=classes, mode=mode)
    acc.update(preds, target)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")  # any host sync inside update() raises
    try:
        start = time.perf_counter()
        for _ in range(batches):
            acc.update(preds, target)
        if mode == "histogram":
            acc.epoch()  # it counts the batches it kept together: part of what update() costs
        per = (time.perf_counter() - start) / batches * 1e6
    finally:
        if device == "cuda":
            torch.cuda.set_sync_debug_mode("default")
    kept: list = []
    start = time.perf_counter()
    for _ in range(batches):
        kept.append(preds.detach())
        kept.append(target.detach())
    plain = (time.perf_counter() - start) / batches * 1e6
    syncs = (
        "0 host syncs (CUDA sync debug mode 'error')"
        if device == "cuda"
        else "the device path calls no sync method (tests); on the CPU histogram counts read their own flags"
    )
    goal = 5 if mode == "exact" else 25
    return (
        f"update() {mode}: {per:.1f} us per batch of {batch}x{classes} ({'ok' if per <= goal else 'MISS'} <= {goal}"
        f" us; two list.append(x.detach()) {plain:.1f} us here); {syncs}"
    )


def bench_ci(device: str, n: int, c: int, repeats: int) -> str:
    """Issue 6: DeLong intervals at n x c cost <= 1.5x the plain ac.auroc (same logits, same threads)."""
    sync = torch.cuda.synchronize if device == "cuda" else None
    logits, target = _data(n, c, device)
    contenders = {
        "ac.auroc": lambda: ac.auroc(logits, target),
        "auroc_ci(average=None)": lambda: ac.auroc_ci(logits, target, average=None),
        "auroc_ci (macro)": lambda: ac.auroc_ci(logits, target),
    }
    times = {name: float("inf") for name in contenders}
    for fn in contenders.values():
        fn()  # warm-up
    for _ in range(repeats):  # interleaved, best of: other load on the machine hits every contender alike
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            if sync:
                sync()
            times[name] = min(times[name], time.perf_counter() - start)
    base = times["ac.auroc"]
    print(f"\nintervals at {n:,} x {c} on {device} (best of {repeats}, interleaved)")
    for name, t in times.items():
        print(f"  {name:24s} {t * 1e3:10.1f} ms   {t / base:5.2f}x ac.auroc")
    per, macro = times["auroc_ci(average=None)"] / base, times["auroc_ci (macro)"] / base
    return (
        f"intervals {n:,}x{c}: per class {per:.2f}x ac.auroc ({'ok' if per <= 1.5 else 'MISS'} <= 1.5);"
        f" macro (with the classes' covariance) {macro:.2f}x ({'ok' if macro <= 1.5 else 'MISS'} <= 1.5)"
    )


def _data(n: int, c: int, device: str = "cpu", ties: bool = False):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(n, c, generator=g)
    if ties:
        logits = logits.round(decimals=1)
    target = torch.randint(0, c, (n,), generator=g)
    return logits.to(device), target.to(device)


def bench_memory(device: str, n: int, c: int) -> str:
    input_mib = (n * c * 4 + n * 8) / 2**20
    if device == "cuda":
        logits, target = _data(n, c, device)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        ac.auroc(logits, target)
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
        return f"peak extra GPU memory of ac.auroc at {n:,}x{c}: {peak:.0f} MiB (inputs: {input_mib:.0f} MiB)"
    lines = [f"peak extra resident memory at {n:,}x{c}, each in a fresh process (inputs: {input_mib:.0f} MiB):"]
    for name in ("auroc_callbacks", "torchmetrics", "torcheval", "scikit-learn"):
        probe = subprocess.run(
            [sys.executable, __file__, "--memory-probe", name, str(n), str(c)], capture_output=True, text=True
        )
        value = probe.stdout.strip().splitlines()[-1] if probe.returncode == 0 and probe.stdout.strip() else "n/a"
        lines.append(f"    {name:16s} {value:>8} MiB")
    return "\n".join(lines)


def _memory_probe(name: str, n: int, c: int) -> None:
    torch.set_num_threads(2)
    logits, target = _data(n, c)
    fn = _contenders(logits, target, c, with_sklearn=True).get(name)
    if fn is None:
        raise SystemExit(1)
    print(f"{_peak_rss_mib(fn):.0f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per contender (median reported)")
    parser.add_argument("--ties", action="store_true", help="round logits to 0.1 (tie-heavy scores)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn (slow at large sizes)")
    parser.add_argument("--memory-probe", nargs=3, metavar=("NAME", "N", "C"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        name, n, c = args.memory_probe
        _memory_probe(name, int(n), int(c))
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    warnings.simplefilter("ignore")
    sizes = QUICK_SIZES if args.quick else (GPU_SIZES if args.device == "cuda" else CPU_SIZES)
    print(
        f"torch {torch.__version__}, numpy {np.__version__}, {args.threads} CPU threads, device {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
    )
    print(f"numpy SIMD: {simd_level()}")
    verdicts = bench_sizes(sizes, args.device, args.repeats, args.ties, not args.no_sklearn)
    verdicts += bench_ap(sizes, args.device, args.repeats, args.ties, not args.no_sklearn)
    if args.device == "cpu":
        verdicts += bench_cases(QUICK_CASES if args.quick else CASES, args.repeats)
    for mode in ("exact", "histogram"):
        verdicts.append(bench_update(args.device, batches=200 if args.quick else 2000, mode=mode))
    verdicts.append(bench_ci(args.device, *sizes[0], repeats=max(args.repeats, 5)))
    verdicts.append(bench_memory(args.device, *sizes[0]))
    print("\nSummary")
    for line in verdicts:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
