"""Prediction latency of a deployed model: onnxruntime against ``predict_proba``.

Four ways to get class probabilities from the same kind of model, a
``StandardScaler -> MLP (100,) -> softmax`` pipeline fitted on digits (64
features, 10 classes, float32):

- sk_reg ``predict_proba`` (torch, in process);
- the sk_reg pipeline exported with ``skl2onnx`` (``import sk_reg.onnx``), run
  by onnxruntime;
- scikit-learn's ``MLPClassifier`` ``predict_proba`` (numpy);
- the MLPClassifier pipeline exported with ``skl2onnx``, run by onnxruntime.

Each is timed on one row (median over ``--calls`` calls) and on a batch of
``--rows`` rows. Times are process CPU time (``time.process_time``) with one
torch thread, one onnxruntime thread and numpy's BLAS at one thread; every
repeat runs the four in a shuffled order and the table shows medians over
repeats. On a shared machine compare rows within one run, not across runs.

Usage::

    PYTHONPATH=. python benchmarks/bench_deploy.py              # ~1 minute
    PYTHONPATH=. python benchmarks/bench_deploy.py --smoke      # a few seconds
"""

from __future__ import annotations

import argparse
import platform
import random
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits


def _session(pipe, X):
    import onnxruntime as ort
    import skl2onnx

    import sk_reg.onnx  # noqa: F401

    onx = skl2onnx.to_onnx(pipe, X[:1], options={id(pipe[-1]): {"zipmap": False}})
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    return lambda rows: session.run(None, {name: rows})[1]


def _cpu_seconds(fn, rows, calls):
    """Median process CPU seconds of one call over ``calls`` calls."""
    times = []
    for _ in range(calls):
        start = time.process_time()
        fn(rows)
        times.append(time.process_time() - start)
    return float(np.median(times))


def _models(X, y, max_iter):
    from sk_reg import RegularizedNetClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = make_pipeline(
            StandardScaler(),
            RegularizedNetClassifier(max_iter=max_iter, random_state=0),
        ).fit(X, y)
        mlp = make_pipeline(
            StandardScaler(), MLPClassifier(max_iter=max_iter, random_state=0)
        ).fit(X, y)
    return {
        "sk_reg predict_proba": ours.predict_proba,
        "sk_reg via onnxruntime": _session(ours, X),
        "MLPClassifier predict_proba": mlp.predict_proba,
        "MLPClassifier via onnxruntime": _session(mlp, X),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.calls, args.repeats, args.max_iter = 500, 20, 1, 2
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    batch = np.resize(X, (args.rows, X.shape[1]))
    one = X[:1]
    with threadpool_limits(1):
        models = _models(X, y, args.max_iter)
        results = {name: ([], []) for name in models}
        for _ in range(args.repeats):
            order = list(models)
            random.shuffle(order)
            for name in order:
                fn = models[name]
                fn(one)  # warm up
                results[name][0].append(_cpu_seconds(fn, one, args.calls))
                results[name][1].append(
                    _cpu_seconds(fn, batch, max(1, args.calls // 100))
                )
    print(
        f"Machine: {platform.machine()}; torch {torch.__version__}, 1 thread; "
        f"process CPU time; {args.repeats} interleaved repeats\n"
    )
    print(f"| model | 1 row, µs | {args.rows} rows, ms | rows/s ({args.rows}) |")
    print("|---|---|---|---|")
    for name, (single, many) in results.items():
        s, m = np.median(single), np.median(many)
        print(f"| {name} | {s * 1e6:.0f} | {m * 1e3:.1f} | {args.rows / m:,.0f} |")


if __name__ == "__main__":
    main()
