"""AUROCAccumulator(mode="histogram"): memory and time on a long stream, and the certified bound against the truth.

    python benchmarks/bench_histogram.py               # stream of 1e7 x 10 (about a minute on 2 CPU threads)
    python benchmarks/bench_histogram.py --full        # stream of 1e8 x 10, the issue's size (several minutes)
    python benchmarks/bench_histogram.py --quick       # a smoke run
    python benchmarks/bench_histogram.py --device cuda

1. **Stream.** ``N`` samples x 10 classes of float32 logits, generated batch by
   batch (65,536 rows) from a seeded generator, so the stream itself is never
   stored; fed to a histogram accumulator in a fresh process: wall time,
   throughput, time in ``update()``, the counts' size and the process's peak
   resident set size over its baseline (Linux ``ru_maxrss``, after imports
   and before anything else). The memory the exact mode would need is computed
   (``N * C * 4`` bytes of logits + ``N * 8`` of int64 targets, before its
   buffer's over-allocation and the epoch-end sort) and measured, the same
   way, at 1e6 and 1e7 samples.
2. **The bound against the truth.** A small torch MLP trained on
   scikit-learn's digits (offline), its validation logits (as trained, and
   scaled x10: an over-confident model whose probabilities crowd next to 0
   and 1); and adversarial near-ties. For each, float16 and bfloat16: the
   exact AUROC, the histogram AUROC, the true ``|difference|`` and the
   certified bound.
3. **update() cost** per 65,536 x 10 and 256 x 10 batch, histogram vs exact (medians).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

import auroc_callbacks as ac

C = 10
BATCH = 65_536


def _stream(n: int, device: str, seed: int = 0):
    """Batches of (logits, target): target uniform, logits N(0, 1) + 1.5 on the true class (AUROC ~0.86)."""
    g = torch.Generator(device=device).manual_seed(seed)
    eye = torch.eye(C, device=device) * 1.5
    for start in range(0, n, BATCH):
        b = min(BATCH, n - start)
        target = torch.randint(0, C, (b,), generator=g, device=device)
        yield torch.randn(b, C, generator=g, device=device) + eye[target], target


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _stream_child(mode: str, n: int, device: str) -> dict:
    """Run in a fresh process: feed the stream, compute; report times and peak RSS over the baseline (imports)."""
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    base = _rss_mib()  # torch and auroc_callbacks imported, nothing else
    acc = ac.AUROCAccumulator(mode=mode, num_classes=C)
    warm = next(_stream(BATCH, device, seed=1))
    acc.update(*warm)
    acc.compute()
    acc.reset()
    sync()
    update_s = gen_s = 0.0
    start = time.perf_counter()
    gen = _stream(n, device)
    while True:
        t0 = time.perf_counter()
        batch = next(gen, None)
        sync()
        t1 = time.perf_counter()
        if batch is None:
            break
        acc.update(*batch)
        sync()
        update_s += time.perf_counter() - t1
        gen_s += t1 - t0
    t0 = time.perf_counter()
    if mode == "histogram":
        result = acc.compute_bound()
        value, bound = result.value.item(), result.bound.item()
        state = acc.state_bytes
    else:
        value, bound, state = acc.compute().item(), 0.0, None
    sync()
    compute_s = time.perf_counter() - t0
    return dict(
        mode=mode,
        n=n,
        wall_s=time.perf_counter() - start,
        update_s=update_s,
        gen_s=gen_s,
        compute_s=compute_s,
        peak_extra_mib=_rss_mib() - base,
        base_mib=base,
        value=value,
        bound=bound,
        state_bytes=state,
    )


def _run_child(mode: str, n: int, device: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(n), device], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_stream(n: int, exact_sizes, device: str) -> None:
    print(f"\n== 1. a stream of {n:.0e} samples x {C} classes, batches of {BATCH:,}, float32 logits ({device}) ==")
    r = _run_child("histogram", n, device)
    print(
        f"histogram mode: {r['wall_s']:.1f} s wall ({n / r['wall_s'] / 1e6:.2f} M samples/s), of which update()"
        f" {r['update_s']:.1f} s ({n / r['update_s'] / 1e6:.2f} M samples/s; generating the stream"
        f" {r['gen_s']:.1f} s), compute {r['compute_s'] * 1e3:.0f} ms"
    )
    print(
        f"  counts: {r['state_bytes'] / 2**20:.1f} MiB; peak RSS over the baseline: {r['peak_extra_mib']:.0f} MiB"
        f" (baseline after imports {r['base_mib']:.0f} MiB); AUROC {r['value']:.6f} +- {r['bound']:.2e}"
    )
    need = n * C * 4 + n * 8
    print(
        f"exact mode would hold {need / 2**30:.2f} GiB of logits and targets ({n:.0e} x {C} x 4 B + {n:.0e} x 8 B)"
        " before its buffer's over-allocation and the epoch-end sort"
    )
    rows = [("histogram", n, r)]
    for size in exact_sizes:
        e = _run_child("exact", size, device)
        h = _run_child("histogram", size, device)
        rows += [("exact", size, e), ("histogram", size, h)]
        print(
            f"  measured at {size:.0e}: exact peak RSS +{e['peak_extra_mib']:.0f} MiB (data {size * 48 / 2**20:.0f}"
            f" MiB), AUROC {e['value']:.6f}; histogram +{h['peak_extra_mib']:.0f} MiB, AUROC {h['value']:.6f}"
            f" +- {h['bound']:.1e} (|diff| {abs(h['value'] - e['value']):.1e})"
        )
    print("\n| mode | N x C | wall | update() | compute() | peak RSS over imports | kept |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode, size, x in rows:
        data = f"{size * 48 / 2**20:,.0f} MiB data"
        state = f"{x['state_bytes'] / 2**20:.0f} MiB counts" if x["state_bytes"] else data
        print(
            f"| {mode} | {size:.0e} x {C} | {x['wall_s']:.1f} s | {x['update_s']:.1f} s"
            f" ({size / x['update_s'] / 1e6:.1f} M rows/s) | {x['compute_s']:.2f} s | {x['peak_extra_mib']:,.0f} MiB"
            f" | {state} |"
        )
    print(f"| exact (computed) | {n:.0e} x {C} | | | | | {need / 2**20:,.0f} MiB data |")


# ----------------------------------------------------------------------------- 2. bound vs truth


def _digits_logits(seed: int = 0):
    """A small MLP on scikit-learn's digits: (validation logits, labels)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    x = torch.tensor(x / 16.0, dtype=torch.float32)[order]
    y = torch.tensor(y)[order]
    n_val = 599
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = x[n_val:], y[n_val:]
    for _ in range(30):
        for i in range(0, len(yt), 64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[i : i + 64]), yt[i : i + 64]).backward()
            opt.step()
    with torch.no_grad():
        return model(x[:n_val]), y[:n_val]


def _near_ties(seed: int = 0):
    """Binary scores hiding a perfect ranking inside float16 buckets: every positive a few float32 ulps above
    every negative of its bucket (the bound is attained)."""
    g = torch.Generator().manual_seed(seed)
    bases = (torch.rand(10, generator=g) * 0.8 + 0.1).half().float()  # 10 float16 values
    eps = torch.finfo(torch.float32).eps
    neg = bases.unsqueeze(1) * (1 + eps * torch.arange(1, 51))
    pos = bases.unsqueeze(1) * (1 + eps * torch.arange(60, 110))
    return torch.cat([neg.reshape(-1), pos.reshape(-1)]), torch.cat([torch.zeros(500), torch.ones(500)]).long()


def _near_ties_random(seed: int = 1):
    """Scores within a few float32 ulps of 40 values, labels at random."""
    g = torch.Generator().manual_seed(seed)
    bases = (torch.rand(40, generator=g) * 0.8 + 0.1).half().float()
    offsets = torch.randint(-4, 5, (40, 100), generator=g).float() * torch.finfo(torch.float32).eps
    scores = (bases.unsqueeze(1) * (1 + offsets)).reshape(-1)
    return scores, (torch.rand(scores.shape, generator=g) < 0.3).long()


def bench_bound() -> None:
    print("\n== 2. the certified bound against the true |difference| ==")
    logits, y = _digits_logits()
    near, near_y = _near_ties()
    rnd, rnd_y = _near_ties_random()
    cases = [
        ("digits MLP, 599 validation logits, macro", logits, y, {}),
        ("digits MLP, logits x10 (over-confident), macro", logits * 10, y, {}),
        ("digits MLP, logits x10, micro", logits * 10, y, {"average": "micro"}),
        ("digits MLP, logits x10, max_fpr=0.1", logits * 10, y, {"max_fpr": 0.1}),
        ("near-ties: positives 1 ulp above negatives, per bucket", near, near_y, {}),
        ("near-ties: positives 1 ulp above, max_fpr=0.2", near, near_y, {"max_fpr": 0.2}),
        ("near-ties: random order within buckets", rnd, rnd_y, {}),
    ]
    print("\n| scores | dtype | exact AUROC | histogram AUROC | true abs. difference | certified bound |")
    print("|---|---|---:|---:|---:|---:|")
    for name, preds, target, options in cases:
        exact = ac.auroc(preds, target, **options).item()
        for dtype in (torch.float16, torch.bfloat16):
            acc = ac.AUROCAccumulator(mode="histogram", histogram_dtype=dtype, **options)
            for i in range(0, len(target), 128):
                acc.update(preds[i : i + 128], target[i : i + 128])
            b = acc.compute_bound()
            diff = abs(exact - b.value.item())
            assert diff <= b.bound.item() + 1e-12, (name, dtype, diff, b.bound.item())
            print(
                f"| {name} | {str(dtype)[6:]} | {exact:.6f} | {b.value.item():.6f} | {diff:.2e} |"
                f" {b.bound.item():.2e} |"
            )


# ----------------------------------------------------------------------------- 3. update() cost


def _duration(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def bench_update(device: str, repeats: int) -> None:
    print(f"\n== 3. update() per batch ({device}, {repeats} calls) ==")
    print("median call; in brackets the mean with the counting of the staged blocks (every 2**18 scores) included")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    print("\n| batch | exact | histogram | histogram, activation='softmax' |")
    print("|---|---:|---:|---:|")
    for n in (256, BATCH):
        g = torch.Generator(device=device).manual_seed(0)
        x = torch.randn(n, C, generator=g, device=device)
        t = torch.randint(0, C, (n,), generator=g, device=device)
        cells = []
        for options in ({"mode": "exact"}, {"mode": "histogram"}, {"mode": "histogram", "activation": "softmax"}):
            acc = ac.AUROCAccumulator(num_classes=C, **options)
            acc.update(x, t)
            times = []
            for i in range(repeats):
                if options["mode"] == "exact" and i % 64 == 0:
                    acc.reset()  # keep the exact buffer from growing without bound at 65,536 rows
                sync()
                t0 = time.perf_counter()
                acc.update(x, t)
                sync()
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            if options["mode"] == "histogram":
                acc.epoch()  # counts what is still staged: part of what the updates cost
            sync()
            mean = (sum(times) + time.perf_counter() - t0) / repeats
            cells.append(f"{_duration(statistics.median(times))} ({_duration(mean)})")
        print(f"| {n:,} x {C} | " + " | ".join(cells) + " |")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_stream_child(sys.argv[2], int(float(sys.argv[3])), sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="stream 1e8 samples (the issue's size)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes")
    parser.add_argument("--samples", type=float, default=None, help="stream length (default 1e7; 1e8 with --full)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ["BENCH_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    n = int(args.samples or (1e8 if args.full else 2e5 if args.quick else 1e7))
    exact_sizes = [int(2e5)] if args.quick else [int(1e6), int(1e7)]
    print(
        f"torch {torch.__version__}, {args.threads} threads, device {args.device},"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    bench_stream(n, exact_sizes, args.device)
    bench_bound()
    bench_update(args.device, 20 if args.quick else 200)


if __name__ == "__main__":
    main()
