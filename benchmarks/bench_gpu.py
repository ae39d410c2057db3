"""GPU throughput of sk_reg against a raw torch loop and skorch's defaults.

Same MLP as ``bench_speed.py`` (``n_features -> 256 -> 256 -> n_classes``,
Adam 1e-3), on one CUDA device, batch 1024 by default. Times are wall-clock
seconds with ``torch.cuda.synchronize()`` before and after each timed call;
rows run interleaved in a shuffled order per repeat, tables show medians and
"x raw" the median per-repeat ratio to the raw loop. The raw loop gets its
data as tensors already on the GPU; sk_reg and skorch get numpy arrays (their
host-to-device copy is part of their time, as for a user).

"ms/batch" shows what limits the small MLP: at batch 1024 a step is a few
dozen tiny kernels, so the loop is bound by kernel launches and Python, not
by arithmetic (the larger-batch sk_reg row shows how throughput then grows).
sk_reg's training step makes no host sync per batch (losses are summed on the
device and read once per epoch); skorch's default path collates every batch on
the host and reads the loss back per batch.

Needs only torch, numpy, scikit-learn, skorch and sk_reg; runs in about 2-3
minutes on one H100/H200 with the defaults. Run from the repository root::

    python benchmarks/bench_gpu.py
    python benchmarks/bench_gpu.py --smoke --device cpu   # checks the script

Sample output: none yet -- no GPU was lent to the session that wrote this
script; see benchmarks/README.md for how to run it on one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from functools import partial

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_speed import (  # noqa: E402
    RawLoop,
    _sk_reg,
    _skorch_defaults,
    bench_predict,
    median_ratio,
)


def _wall(device):
    def timer(fn):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    return timer


def training_jobs(args, n_in, n_out):
    """name -> (factory, epochs, batch, data kind) per training row."""
    e, seed, dev, b = args.epochs, args.random_seed, args.device, args.batch_size
    return {
        "raw torch loop": (
            lambda: RawLoop(e, seed, batch=b, device=dev),
            e,
            b,
            "tensor",
        ),
        "raw torch loop, Adam(fused=True)": (
            lambda: RawLoop(e, seed, batch=b, device=dev, fused=True),
            e,
            b,
            "tensor",
        ),
        "sk_reg RegularizedNetClassifier": (
            lambda: _sk_reg(e, seed, batch=b, device=dev),
            e,
            b,
            "numpy",
        ),
        "sk_reg dropout=0.2": (
            lambda: _sk_reg(e, seed, batch=b, device=dev, dropout=0.2),
            e,
            b,
            "numpy",
        ),
        "sk_reg l1=1e-4": (
            lambda: _sk_reg(e, seed, batch=b, device=dev, l1=1e-4),
            e,
            b,
            "numpy",
        ),
        f"sk_reg batch_size={8 * b}": (
            lambda: _sk_reg(e, seed, batch=8 * b, device=dev),
            e,
            8 * b,
            "numpy",
        ),
        # One epoch only: skorch's row-by-row data path is ~5x slower here.
        "skorch NeuralNetClassifier defaults": (
            lambda: _skorch_defaults(1, seed, n_in, n_out, batch=b, device=dev),
            1,
            b,
            "numpy",
        ),
    }


def bench_training(args, X, y):
    n_out = int(y.max()) + 1
    timer = _wall(args.device)
    X_dev = torch.from_numpy(X).to(args.device)
    y_dev = torch.from_numpy(y).to(args.device)
    jobs = training_jobs(args, X.shape[1], n_out)
    for factory, _, _, kind in jobs.values():  # warm-up: CUDA context, kernels
        n = min(len(X), 4096)
        data = (X_dev[:n], y_dev[:n]) if kind == "tensor" else (X[:n], y[:n])
        factory().fit(*data)
    times = {name: [] for name in jobs}
    names = list(jobs)
    order_rng = np.random.RandomState(args.random_seed)
    for rep in range(args.repeats):
        for i in order_rng.permutation(len(names)):
            factory, epochs, _, kind = jobs[names[i]]
            model = factory()
            data = (X_dev, y_dev) if kind == "tensor" else (X, y)
            times[names[i]].append(timer(partial(model.fit, *data)) / epochs)
        print(f"  repeat {rep + 1}/{args.repeats} done", file=sys.stderr)
    lines = [
        f"Training on {args.device}: {len(X)} x {X.shape[1]}, {n_out} classes, "
        f"{args.epochs} epochs (skorch: 1), {args.repeats} interleaved repeats",
        "",
        "| model | batch | s/epoch | rows/s | ms/batch | x raw |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        sec = statistics.median(times[name])
        batch = jobs[name][2]
        lines.append(
            f"| {name} | {batch} | {sec:.3f} | {len(X) / sec:,.0f} | "
            f"{1e3 * sec / -(-len(X) // batch):.2f} | "
            f"{median_ratio(times, name, 'raw torch loop'):.2f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--predict-rows", type=int, default=2_000_000)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA is not available; pass --device cpu to check the script.")
        return
    if args.smoke:
        args.n_samples, args.n_features, args.epochs, args.repeats = 4096, 20, 1, 1
        args.predict_rows, args.latency_calls = 10_000, 10
    warnings.simplefilter("ignore", ConvergenceWarning)
    import sklearn
    import skorch

    name = (
        torch.cuda.get_device_name(args.device)
        if args.device.startswith("cuda")
        else "CPU"
    )
    print(
        f"Device: {name}; torch {torch.__version__}, skorch {skorch.__version__}, "
        f"scikit-learn {sklearn.__version__}; wall time with synchronize"
    )
    # Random data: throughput does not depend on it, and it is quick to make.
    rng = np.random.default_rng(args.random_seed)
    X = rng.standard_normal((args.n_samples, args.n_features), dtype=np.float32)
    y = (X[:, : args.n_classes].argmax(axis=1)).astype(np.int64)
    print()
    print(bench_training(args, X, y), flush=True)
    print()
    print(
        bench_predict(
            args,
            X,
            y,
            timer=_wall(args.device),
            device=args.device,
            batch=args.batch_size,
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
