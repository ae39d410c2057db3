"""Fit time with one torch thread against torch's default, idle and under load.

The load is reproducible: one busy-loop process per logical CPU
(``while True: pass``), started before and killed after the "busy" rows.
Each cell is the median over ``--repeats`` interleaved repeats of the wall
time per epoch (what a user waits for) and of the process CPU time per epoch.
"torch default" is ``torch.get_num_threads()`` at start (one per core) with
sk_reg's one-thread switch for small steps turned off; "sk_reg" is the
default behaviour (steps under ``sk_reg._net.SMALL_STEP_FLOPS`` run on one
thread).

Usage::

    python benchmarks/bench_threads.py             # ~2 minutes on 2 cores
    python benchmarks/bench_threads.py --smoke     # seconds, for CI
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings

import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_reg import RegularizedNetClassifier, _net

DEFAULT_THREADS = torch.get_num_threads()


def cases(smoke):
    rows = 2000 if smoke else 20_000
    digits = load_digits(return_X_y=True)
    wide = make_classification(rows, 50, n_informative=20, n_classes=5, random_state=0)
    return {
        "digits, (100,), batch 200": (digits, {"max_iter": 3 if smoke else 10}),
        f"{rows} x 50, (256, 256), batch 200": (
            wide,
            {"hidden_layer_sizes": (256, 256), "max_iter": 1 if smoke else 2},
        ),
    }


def fit_seconds(X, y, params, policy):
    """(wall, CPU) seconds per epoch under ``policy``."""
    threads = 1 if policy == "1 thread" else DEFAULT_THREADS
    saved = _net.SMALL_STEP_FLOPS
    if policy == "torch default":
        _net.SMALL_STEP_FLOPS = 0  # never switch to one thread
    torch.set_num_threads(threads)
    try:
        est = RegularizedNetClassifier(random_state=0, n_iter_no_change=10**6, **params)
        wall, cpu = time.perf_counter(), time.process_time()
        est.fit(X, y)
        return (
            (time.perf_counter() - wall) / est.n_iter_,
            (time.process_time() - cpu) / est.n_iter_,
        )
    finally:
        _net.SMALL_STEP_FLOPS = saved
        torch.set_num_threads(DEFAULT_THREADS)


def busy_loops():
    return [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count())
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    policies = ["1 thread", "torch default", "sk_reg"]
    print(
        f"{os.cpu_count()} logical CPUs, torch {torch.__version__}, torch default "
        f"{DEFAULT_THREADS} threads, load average at start "
        f"{os.getloadavg()[0]:.2f}; ms per epoch, wall (CPU)\n"
    )
    digits = load_digits(return_X_y=True)
    fit_seconds(*digits, {"max_iter": 2}, "1 thread")  # warm-up: lazy inits
    print("| load | model | " + " | ".join(policies) + " |")
    print("|---|---|" + "---|" * len(policies))
    for load in ("idle", "busy loop per CPU"):
        procs = busy_loops() if load != "idle" else []
        try:
            time.sleep(0.5 if procs else 0)
            for name, ((X, y), params) in cases(args.smoke).items():
                X = StandardScaler().fit_transform(X)
                runs = {p: [] for p in policies}
                for _ in range(args.repeats):
                    for policy in policies:
                        runs[policy].append(fit_seconds(X, y, params, policy))
                cells = [
                    f"{1e3 * statistics.median(w for w, _ in runs[p]):.0f} "
                    f"({1e3 * statistics.median(c for _, c in runs[p]):.0f})"
                    for p in policies
                ]
                print(f"| {load} | {name} | " + " | ".join(cells) + " |", flush=True)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
