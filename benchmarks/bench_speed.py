"""CPU speed and memory of sk_reg against a raw torch loop, skorch and MLPClassifier.

Every model is the same MLP ``n_features -> 256 -> 256 -> n_classes`` (ReLU),
trained with Adam (learning rate 1e-3), batch size 256, for the same number of
epochs on float32 data, with one torch thread and BLAS limited to one thread.

Times are *process CPU time* (``time.process_time``), so a busy shared machine
inflates them less than wall time would. Each repeat runs every row once, in
a shuffled order (interleaved), and the table shows medians over the repeats; "x raw" is
the median of the per-repeat ratios to the raw loop of the same repeat, and
"x base" the same against the row's own baseline: plain sk_reg for the sk_reg
rows with a regularizer (its overhead), the raw loop for the raw loop with
dropout.
"peak MB" is the growth of the peak resident set during the fit, above the
resident set before it (Linux ``/proc/self/status``; ``n/a`` elsewhere).

Rows
----
- raw torch loop: tensors preloaded, ``randperm`` + index slices, ``Adam``.
- skorch defaults: ``NeuralNetClassifier`` with skorch's default data path
  (``Dataset`` + ``DataLoader``), ``train_split=None``, shuffled.
- sk_reg: ``RegularizedNetClassifier`` with ``l2=0`` (the raw loop has none).
- MLPClassifier: scikit-learn's numpy MLP, ``alpha=0``, float32 input.
- sk_reg with one regularizer on: its overhead against plain sk_reg.
  ``early_stopping`` holds out 10% of the rows and scores them every epoch.

Also: ``predict_proba`` on ``--predict-rows`` rows against the raw forward
pass (with softmax, to numpy) in 65536-row chunks and in sk_reg's own chunk
size, single-row ``predict`` latency, and, in a fresh subprocess (clean RSS), the peak memory of fitting a
float64 ``--memory-rows x --memory-features`` array.

Sparse input: on a TF-IDF matrix (``TfidfTransformer`` of synthetic word
counts with Zipf-like word frequencies, ``--sparse-shapes rows x vocabulary x
words per row``) kept in CSR, MLP's defaults ((100,), batch 200, Adam 1e-3,
no penalty) for sk_reg (CSR batches into the first layer), sk_reg with a
plain ``nn.Linear`` first layer (batches densified) and MLPClassifier; each
fit in a fresh process: CPU s/epoch and the growth of the peak RSS during the
fit, against the size the matrix would have dense.

Usage::

    python benchmarks/bench_speed.py                 # full run, ~10 minutes
    python benchmarks/bench_speed.py --smoke         # tiny sizes, for CI
    python benchmarks/bench_speed.py --dataset digits --epochs 20

Sample output (``--repeats 7`` on a 2-core shared AMD EPYC VM, 1 torch
thread; see README.md for how to read it)::

    Machine: x86_64  2 logical CPUs; torch 2.13.0+cpu, 1 torch thread; process CPU time

    Training: 160000 x 50, 10 classes, 1 epochs, 7 interleaved repeats

    | model | s/epoch | x raw | x MLPClassifier | x base | test acc | peak MB |
    |---|---|---|---|---|---|---|
    | raw torch loop | 2.864 | 1.00 | 1.06 |  | 0.911 | 0 |
    | skorch NeuralNetClassifier defaults | 4.828 | 1.58 | 1.74 |  | 0.912 | 4 |
    | sk_reg RegularizedNetClassifier | 2.398 | 0.83 | 0.88 |  | 0.908 | 0 |
    | sklearn MLPClassifier (no dropout) | 2.825 | 0.94 | 1.00 |  | 0.912 | 0 |
    | raw torch loop, nn.Dropout(0.2) | 4.114 | 1.46 | 1.51 | 1.46 | 0.906 | 0 |
    | sk_reg dropout=0.2 | 3.248 | 0.99 | 1.12 | 1.30 | 0.901 | 0 |
    | sk_reg l1=1e-4 (prox step) | 3.648 | 1.17 | 1.20 | 1.32 | 0.909 | 1 |
    | sk_reg l2=1e-4 | 2.946 | 0.84 | 0.92 | 1.07 | 0.908 | 0 |
    | sk_reg label_smoothing=0.1 | 2.544 | 0.85 | 0.90 | 1.07 | 0.919 | 0 |
    | sk_reg augment='mixup' | 2.682 | 0.94 | 0.98 | 1.21 | 0.904 | 0 |
    | sk_reg augment='noise' | 3.388 | 1.13 | 1.01 | 1.14 | 0.908 | 0 |
    | sk_reg early_stopping=True (10% held out) | 2.426 | 0.79 | 0.89 | 1.01 | 0.906 | 7 |

    Prediction: predict_proba on 200000 rows; single-row predict latency over 300 calls; 7 interleaved repeats

    | model | predict_proba s | rows/s | x raw (65536) | x raw (same chunks) | single-row predict us | x raw |
    |---|---|---|---|---|---|---|
    | raw forward, 65536-row chunks | 1.299 | 153,988 | 1.00 | 1.40 | 193 | 1.00 |
    | raw forward, 8192-row chunks (as sk_reg) | 1.017 | 196,745 | 0.71 | 1.00 | 235 | 0.93 |
    | sk_reg predict_proba | 0.959 | 208,454 | 0.70 | 0.97 | 495 | 2.29 |
    | skorch defaults predict_proba | 5.416 | 36,930 | 3.97 | 5.50 | 539 | 2.79 |
    | MLPClassifier predict_proba | 1.174 | 170,331 | 0.93 | 1.24 | 344 | 1.80 |

    Memory: fit on a float64 1000000 x 50 array (1 epoch, hidden (64,)), each in a fresh process

    | model | data MB (float64) | peak RSS growth MB | x one float32 copy |
    |---|---|---|---|
    | sk_reg dtype=None (trains in float64) | 381 | 16 | 0.08 |
    | sk_reg dtype='float32' | 381 | 206 | 1.08 |
    | MLPClassifier | 381 | 54 | 0.28 |
"""  # noqa: E501

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from functools import partial

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from sk_reg import RegularizedNetClassifier

HIDDEN = (256, 256)
BATCH = 256
LR = 1e-3
RAW_PREDICT_CHUNK = 65536


# -- measurement helpers ----------------------------------------------------
def _status_kb(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss():
    """Reset the kernel's peak-RSS counter (VmHWM); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _PeakRSS:
    """Peak resident-set growth (MB) over a ``with`` block."""

    def __enter__(self):
        self.ok = _reset_peak_rss()
        self.before = _status_kb("VmRSS")
        return self

    def __exit__(self, *exc):
        peak = _status_kb("VmHWM")
        self.mb = (
            (peak - self.before) / 1024
            if self.ok and peak is not None and self.before is not None
            else None
        )


def _cpu_time(fn):
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


# -- the models -------------------------------------------------------------
def _torch_mlp(n_in, n_out, dropout=0.0):
    """The same architecture as sk_reg's MLP builder, in plain torch."""
    layers, width_in = [], n_in
    for width in HIDDEN:
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width_in = width
    layers.append(nn.Linear(width_in, n_out))
    return nn.Sequential(*layers)


class RawLoop:
    """A minimal hand-written torch training loop on preloaded tensors."""

    def __init__(
        self, epochs, seed, dropout=0.0, *, batch=BATCH, device="cpu", fused=False
    ):
        self.epochs, self.seed, self.dropout = epochs, seed, dropout
        self.batch, self.device, self.fused = batch, device, fused

    def fit(self, X, y):
        """Train on ``X``, ``y``: numpy arrays or tensors already on the device."""
        torch.manual_seed(self.seed)
        Xt = torch.as_tensor(X).to(self.device)
        yt = torch.as_tensor(y).to(self.device)
        self.classes_ = np.arange(int(yt.max()) + 1)
        self.module = _torch_mlp(X.shape[1], len(self.classes_), self.dropout)
        self.module.to(self.device)
        kwargs = {"fused": True} if self.fused else {}
        opt = torch.optim.Adam(self.module.parameters(), lr=LR, **kwargs)
        loss_fn = nn.CrossEntropyLoss()
        self.module.train()
        n = len(Xt)
        for _ in range(self.epochs):
            perm = torch.randperm(n, device=Xt.device)
            for start in range(0, n, self.batch):
                idx = perm[start : start + self.batch]
                opt.zero_grad()
                loss = loss_fn(self.module(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        return self

    def predict_proba(self, X, chunk=RAW_PREDICT_CHUNK):
        """Softmax of the forward pass in ``chunk``-row pieces, back to numpy."""
        self.module.eval()
        Xt = torch.from_numpy(X).to(self.device)
        with torch.inference_mode():
            out = torch.cat(
                [self.module(Xt[s : s + chunk]) for s in range(0, len(Xt), chunk)]
            )
            return torch.softmax(out, dim=1).cpu().numpy()

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _skorch_defaults(epochs, seed, n_in, n_out, *, batch=BATCH, device="cpu"):
    from skorch import NeuralNetClassifier

    torch.manual_seed(seed)
    return NeuralNetClassifier(
        _torch_mlp(n_in, n_out),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=batch,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
        device=device,
    )


def _sk_reg(epochs, seed, *, batch=BATCH, **params):
    kw = dict(
        hidden_layer_sizes=HIDDEN,
        batch_size=batch,
        learning_rate_init=LR,
        max_iter=epochs,
        l2=0.0,
        tol=0.0,
        n_iter_no_change=10**6,
        random_state=seed,
    )
    kw.update(params)
    return RegularizedNetClassifier(**kw)


def _mlp_classifier(epochs, seed):
    return MLPClassifier(
        HIDDEN,
        alpha=0.0,
        batch_size=BATCH,
        learning_rate_init=LR,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**6,
        random_state=seed,
    )


def training_rows(epochs, seed, n_in, n_out):
    """(name, baseline for the overhead column, factory) per table row."""
    sk = lambda **p: lambda: _sk_reg(epochs, seed, **p)  # noqa: E731
    return [
        ("raw torch loop", None, lambda: RawLoop(epochs, seed)),
        (
            "skorch NeuralNetClassifier defaults",
            None,
            lambda: _skorch_defaults(epochs, seed, n_in, n_out),
        ),
        ("sk_reg RegularizedNetClassifier", None, sk()),
        (
            "sklearn MLPClassifier (no dropout)",
            None,
            lambda: _mlp_classifier(epochs, seed),
        ),
        (
            "raw torch loop, nn.Dropout(0.2)",
            "raw torch loop",
            lambda: RawLoop(epochs, seed, dropout=0.2),
        ),
        ("sk_reg dropout=0.2", "sk_reg RegularizedNetClassifier", sk(dropout=0.2)),
        ("sk_reg l1=1e-4 (prox step)", "sk_reg RegularizedNetClassifier", sk(l1=1e-4)),
        ("sk_reg l2=1e-4", "sk_reg RegularizedNetClassifier", sk(l2=1e-4)),
        (
            "sk_reg label_smoothing=0.1",
            "sk_reg RegularizedNetClassifier",
            sk(label_smoothing=0.1),
        ),
        (
            "sk_reg augment='mixup'",
            "sk_reg RegularizedNetClassifier",
            sk(augment="mixup"),
        ),
        (
            "sk_reg augment='noise'",
            "sk_reg RegularizedNetClassifier",
            sk(augment="noise"),
        ),
        (
            "sk_reg early_stopping=True (10% held out)",
            "sk_reg RegularizedNetClassifier",
            sk(early_stopping=True),
        ),
    ]


# -- the benchmarks ---------------------------------------------------------
def make_data(args):
    if args.dataset == "digits":
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        rng = np.random.RandomState(args.random_seed)
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
        n_train = int(0.8 * len(X))
    else:
        n_train = args.n_samples
        X, y = make_classification(
            n_train + args.n_test,
            args.n_features,
            n_informative=min(args.n_features, 30),
            n_redundant=0,
            n_classes=args.n_classes,
            n_clusters_per_class=2,
            class_sep=1.0,
            random_state=args.random_seed,
        )
    X = X.astype(np.float32)
    y = y.astype(np.int64)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def bench_training(args, X, y, X_test, y_test):
    n_out = len(np.unique(y))
    rows = training_rows(args.epochs, args.random_seed, X.shape[1], n_out)
    if args.rows:
        rows = [r for r in rows if any(key in r[0] for key in args.rows)]
    times = {name: [] for name, _, _ in rows}
    acc, mem = {}, {}
    for _, _, factory in rows:  # warm-up: lazy imports, first-call allocations
        factory().fit(X[: 4 * BATCH], y[: 4 * BATCH])
    order_rng = np.random.RandomState(args.random_seed)
    for rep in range(args.repeats):
        # A fresh order each repeat: drifting load on a shared machine then
        # spreads over all rows instead of biasing the ones that run late.
        for i in order_rng.permutation(len(rows)):
            name, _, factory = rows[i]
            model = factory()
            with _PeakRSS() as peak:
                seconds, _ = _cpu_time(partial(model.fit, X, y))
            times[name].append(seconds / args.epochs)
            mem[name] = peak.mb if rep == 0 else max(mem[name], peak.mb or 0)
            acc[name] = float(np.mean(model.predict(X_test) == y_test))
        print(f"  repeat {rep + 1}/{args.repeats} done", file=sys.stderr)

    def ratio(name, base):
        return median_ratio(times, name, base) if base in times else None

    lines = [
        f"Training: {len(X)} x {X.shape[1]}, {n_out} classes, {args.epochs} epochs, "
        f"{args.repeats} interleaved repeats",
        "",
        "| model | s/epoch | x raw | x MLPClassifier | x base | test acc | peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, base, _ in rows:
        r_raw = ratio(name, "raw torch loop")
        r_mlp = ratio(name, "sklearn MLPClassifier (no dropout)")
        r_base = ratio(name, base) if base else None
        fmt = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
        lines.append(
            f"| {name} | {statistics.median(times[name]):.3f} | {fmt(r_raw)} | "
            f"{fmt(r_mlp)} | {fmt(r_base)} | {acc[name]:.3f} | "
            f"{'n/a' if mem[name] is None else f'{max(mem[name], 0):.0f}'} |"
        )
    return "\n".join(lines)


def median_ratio(times, name, base):
    """Median over repeats of ``times[name][i] / times[base][i]``."""
    return statistics.median(
        a / b for a, b in zip(times[name], times[base], strict=True)
    )


def predict_jobs(X, y, epochs, seed, *, batch=BATCH, device="cpu"):
    """name -> (predict_proba, predict) of fitted models; raw at two chunk sizes."""
    n_out = len(np.unique(y))
    raw = RawLoop(epochs, seed, batch=batch, device=device).fit(X, y)
    sk = _sk_reg(epochs, seed, batch=batch, device=device).fit(X, y)
    skorch = _skorch_defaults(
        epochs, seed, X.shape[1], n_out, batch=batch, device=device
    ).fit(X, y)
    chunk = sk.net_.predict_batch_size
    jobs = {
        f"raw forward, {RAW_PREDICT_CHUNK}-row chunks": (
            raw.predict_proba,
            raw.predict,
        ),
        f"raw forward, {chunk}-row chunks (as sk_reg)": (
            lambda X: raw.predict_proba(X, chunk=chunk),
            raw.predict,
        ),
        "sk_reg predict_proba": (sk.predict_proba, sk.predict),
        "skorch defaults predict_proba": (skorch.predict_proba, skorch.predict),
    }
    if device == "cpu":
        mlp = _mlp_classifier(epochs, seed).fit(X, y)
        jobs["MLPClassifier predict_proba"] = (mlp.predict_proba, mlp.predict)
    return jobs


def bench_predict(args, X, y, timer=None, device="cpu", batch=BATCH):
    """Bulk predict_proba and single-row predict, interleaved; a markdown table."""
    timer = timer or (lambda fn: _cpu_time(fn)[0])
    reps = np.resize(np.arange(len(X)), args.predict_rows)
    X_pred = np.ascontiguousarray(X[reps])
    # Models fitted for one epoch on at most 20000 rows: prediction speed
    # does not depend on how well they are trained.
    fit_rows = min(len(X), 20_000)
    jobs = predict_jobs(
        X[:fit_rows], y[:fit_rows], 1, args.random_seed, batch=batch, device=device
    )
    for proba, _ in jobs.values():
        proba(X[:10])  # warm-up
    bulk = {name: [] for name in jobs}
    single = {name: [] for name in jobs}
    rows = [X[i : i + 1] for i in range(args.latency_calls)]
    order_rng = np.random.RandomState(args.random_seed)
    names = list(jobs)
    for _ in range(args.repeats):
        for i in order_rng.permutation(len(names)):
            proba, predict = jobs[names[i]]
            bulk[names[i]].append(timer(lambda: proba(X_pred)))  # noqa: B023

            def serve(predict=predict):
                for row in rows:
                    predict(row)

            single[names[i]].append(timer(serve) / len(rows))
    big, same = names[0], names[1]
    lines = [
        f"Prediction: predict_proba on {len(X_pred)} rows; single-row predict "
        f"latency over {len(rows)} calls; {args.repeats} interleaved repeats",
        "",
        f"| model | predict_proba s | rows/s | x raw ({RAW_PREDICT_CHUNK}) "
        "| x raw (same chunks) | single-row predict us | x raw |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        sec = statistics.median(bulk[name])
        lines.append(
            f"| {name} | {sec:.3f} | {len(X_pred) / sec:,.0f} | "
            f"{median_ratio(bulk, name, big):.2f} | "
            f"{median_ratio(bulk, name, same):.2f} | "
            f"{statistics.median(single[name]) * 1e6:.0f} | "
            f"{median_ratio(single, name, big):.2f} |"
        )
    return "\n".join(lines)


def _memory_child(rows, features, dtype, model, seed):
    """Runs in a fresh interpreter: fit once and print the RSS figures as JSON."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))  # float64, no temporaries
    y = (X[:, 0] > 0).astype(np.int64)
    if model == "sk_reg":
        est = RegularizedNetClassifier(
            (64,), batch_size=BATCH, max_iter=1, dtype=dtype, random_state=seed
        )
    else:
        est = MLPClassifier((64,), batch_size=BATCH, max_iter=1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Warm-up on a slice (a view, no copy): lazy imports and the first-call
        # allocations of torch would otherwise count as data overhead.
        est.fit(X[:1000], y[:1000])
        with _PeakRSS() as peak:
            est.fit(X, y)
    print(json.dumps({"data_mb": X.nbytes / 2**20, "extra_mb": peak.mb}))


def bench_memory(args):
    rows, feats = args.memory_rows, args.memory_features
    cases = [("sk_reg", None), ("sk_reg", "float32"), ("MLPClassifier", None)]
    if args.smoke:
        cases = cases[1:2]  # each case is a fresh interpreter (~5 s of imports)
    lines = [
        f"Memory: fit on a float64 {rows} x {feats} array (1 epoch, hidden (64,)), "
        "each in a fresh process",
        "",
        "| model | data MB (float64) | peak RSS growth MB | x one float32 copy |",
        "|---|---|---|---|",
    ]
    for model, dtype in cases:
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--memory-child",
            json.dumps([rows, feats, dtype, model, args.random_seed]),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        f32_mb = result["data_mb"] / 2
        extra = result["extra_mb"]
        label = model + (f" dtype={dtype!r}" if model == "sk_reg" else "")
        if model == "sk_reg" and dtype is None:
            label += " (trains in float64)"
        lines.append(
            f"| {label} | {result['data_mb']:.0f} | "
            + (
                "n/a | n/a |"
                if extra is None
                else f"{extra:.0f} | {extra / f32_mb:.2f} |"
            )
        )
    return "\n".join(lines)


# -- sparse input -------------------------------------------------------------
SPARSE_MODELS = ["sk_reg", "sk_reg dense batches", "MLPClassifier"]


def tfidf_matrix(rows, vocabulary, words, seed, n_classes=5):
    """A CSR TF-IDF matrix of synthetic documents and labels it determines."""
    rng = np.random.default_rng(seed)
    freq = 1.0 / (np.arange(vocabulary) + 10.0)  # Zipf-like word frequencies
    cols = rng.choice(vocabulary, size=rows * words, p=freq / freq.sum())
    counts = sp.csr_matrix(
        (np.ones(rows * words), cols, np.arange(0, rows * words + 1, words)),
        shape=(rows, vocabulary),
    )
    counts.sum_duplicates()
    X = TfidfTransformer().fit_transform(counts)
    y = np.asarray(X @ rng.standard_normal((vocabulary, n_classes))).argmax(1)
    return X, y


class _DenseBatchMLP(nn.Sequential):
    """MLP's architecture with a plain ``nn.Linear`` first layer: sk_reg then
    densifies every CSR batch (what any custom module gets)."""

    def __init__(self, n_features, n_outputs):
        super().__init__(
            nn.Linear(n_features, 100), nn.ReLU(), nn.Linear(100, n_outputs)
        )


def _sparse_child(rows, vocabulary, words, model, epochs, seed):
    """Runs in a fresh interpreter: fit on CSR input, print time and RSS as JSON."""
    torch.set_num_threads(1)
    X, y = tfidf_matrix(rows, vocabulary, words, seed)
    common = dict(
        batch_size=200,
        learning_rate_init=LR,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**6,
        random_state=seed,
    )
    if model == "MLPClassifier":
        est = MLPClassifier((100,), alpha=0.0, **common)
    else:
        extra = {"module": _DenseBatchMLP} if model == "sk_reg dense batches" else {}
        est = RegularizedNetClassifier((100,), l2=0.0, **common, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:400], y[:400])  # lazy imports and first-call allocations
        with _PeakRSS() as peak:
            seconds, _ = _cpu_time(lambda: est.fit(X, y))
    csr_mb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    print(
        json.dumps(
            {
                "s_per_epoch": seconds / epochs,
                "peak_mb": peak.mb,
                "csr_mb": csr_mb,
                "nnz": X.nnz,
                "train_acc": est.score(X, y),
            }
        )
    )


def bench_sparse(args):
    lines = [
        "Sparse input: TF-IDF CSR matrices (rows x vocabulary, stored values), "
        f"MLP defaults ((100,), batch 200), {args.sparse_epochs} epoch(s), each fit "
        f"in a fresh process; medians of {args.sparse_repeats} interleaved repeats",
        "",
        "| data | dense MB (float64) | CSR MB | model | s/epoch | x MLPClassifier "
        "| peak RSS growth MB | train acc |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rng = np.random.default_rng(args.random_seed)
    for shape in args.sparse_shapes:
        rows, vocabulary, words = (int(v) for v in shape.split("x"))
        runs = {m: [] for m in args.sparse_models}
        for _ in range(args.sparse_repeats):
            for model in rng.permutation(args.sparse_models):
                cmd = [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--sparse-child",
                    json.dumps(
                        [
                            rows,
                            vocabulary,
                            words,
                            str(model),
                            args.sparse_epochs,
                            args.random_seed,
                        ]
                    ),
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                runs[model].append(json.loads(out.stdout.strip().splitlines()[-1]))
        ref = None
        if "MLPClassifier" in runs:
            ref = statistics.median(r["s_per_epoch"] for r in runs["MLPClassifier"])
        for model, results in runs.items():
            sec = statistics.median(r["s_per_epoch"] for r in results)
            peaks = [r["peak_mb"] for r in results]
            peak = "n/a" if None in peaks else f"{statistics.median(peaks):.0f}"
            first = results[0]
            lines.append(
                f"| {rows} x {vocabulary}, {first['nnz']} stored | "
                f"{rows * vocabulary * 8 / 2**20:,.0f} | {first['csr_mb']:.1f} | "
                f"{model} | {sec:.3f} | "
                f"{'' if ref is None else f'{sec / ref:.2f}'} | {peak} | "
                f"{first['train_acc']:.3f} |"
            )
    return "\n".join(lines)


# -- MLP's defaults: what users run ------------------------------------------
def _defaults_pair(dtype, **params):
    """sk_reg and MLPClassifier as a user swaps one for the other."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    cast = FunctionTransformer(lambda X: X.astype(dtype))
    return {
        "MLPClassifier": make_pipeline(
            StandardScaler(), cast, MLPClassifier(random_state=0, **params)
        ),
        "sk_reg": make_pipeline(
            StandardScaler(), cast, RegularizedNetClassifier(random_state=0, **params)
        ),
    }


def _timed_fits(data, repeats, dtype=np.float64, **params):
    """{name: [(CPU s, epochs), ...]} over interleaved repeats."""
    out = {"MLPClassifier": [], "sk_reg": []}
    X, y = data
    for _ in range(repeats):
        for name, model in _defaults_pair(dtype, **params).items():
            seconds, fitted = _cpu_time(partial(model.fit, X, y))
            out[name].append((seconds, fitted[-1].n_iter_))
    return out


def _per_epoch_ratio(runs):
    return statistics.median(
        (a / ea) / (b / eb)
        for (a, ea), (b, eb) in zip(runs["sk_reg"], runs["MLPClassifier"], strict=True)
    )


def defaults_data(smoke):
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X, y, random_state=0)[0::2]
    big = make_classification(
        2000 if smoke else 20_000, 50, n_informative=20, n_classes=5, random_state=0
    )
    return {"digits (1347 x 64)": digits, f"{len(big[0])} x 50, 5 classes": big}


def bench_defaults(args):
    """MLP's defaults, float64, whole fits (MLP's stopping rule on both)."""
    lines = [
        f"MLP's defaults ((100,), batch 200, Adam, alpha 1e-4 = l2, float64, "
        f"StandardScaler pipeline), whole fits, {args.defaults_repeats} "
        "interleaved repeats",
        "",
        "| data | MLPClassifier s (epochs) | sk_reg s (epochs) | x MLP per epoch "
        "| x MLP whole fit |",
        "|---|---|---|---|---|",
    ]
    for name, data in defaults_data(args.smoke).items():
        runs = _timed_fits(data, args.defaults_repeats)
        cells = []
        for model in ("MLPClassifier", "sk_reg"):
            seconds = statistics.median(t for t, _ in runs[model])
            epochs = statistics.median(e for _, e in runs[model])
            cells.append(f"{seconds:.2f} ({epochs:.0f})")
        whole = statistics.median(
            a / b
            for (a, _), (b, _) in zip(
                runs["sk_reg"], runs["MLPClassifier"], strict=True
            )
        )
        lines.append(
            f"| {name} | {cells[0]} | {cells[1]} | {_per_epoch_ratio(runs):.2f} "
            f"| {whole:.2f} |"
        )
    return "\n".join(lines)


def bench_sweep(args):
    """Per-epoch ratio to MLPClassifier over rows x hidden sizes x dtype."""
    sizes = [1000, 10_000] if args.smoke else [1000, 10_000, 100_000]
    lines = [
        "Size sweep: x MLPClassifier per epoch (fixed epochs, batch 200, Adam, "
        f"l2 = alpha = 1e-4), 50 features, 5 classes, {args.defaults_repeats} "
        "interleaved repeats",
        "",
        "| rows | (100,) float64 | (100,) float32 | (256, 256) float64 "
        "| (256, 256) float32 |",
        "|---|---|---|---|---|",
    ]
    for rows in sizes:
        data = make_classification(
            rows, 50, n_informative=20, n_classes=5, random_state=0
        )
        epochs = max(1, min(10, 20_000 // rows))
        cells = []
        for hidden in ((100,), (256, 256)):
            for dtype in (np.float64, np.float32):
                runs = _timed_fits(
                    data,
                    args.defaults_repeats,
                    dtype,
                    hidden_layer_sizes=hidden,
                    max_iter=epochs,
                    n_iter_no_change=10**6,
                )
                cells.append(f"{_per_epoch_ratio(runs):.2f}")
        lines.append(f"| {rows} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


REGULARIZER_ROWS = {
    "plain (l2=0)": {"l2": 0.0},
    "dropout=0.2": {"l2": 0.0, "dropout": 0.2},
    "l1=1e-4": {"l2": 0.0, "l1": 1e-4},
    "feature_l1=1e-3": {"l2": 0.0, "feature_l1": 1e-3},
    "l2=1e-4": {"l2": 1e-4},
    "label_smoothing=0.1": {"l2": 0.0, "label_smoothing": 0.1},
    "augment='mixup'": {"l2": 0.0, "augment": "mixup"},
    "augment='noise'": {"l2": 0.0, "augment": "noise"},
}


def bench_regularizers_at_defaults(args):
    """Each regularizer's cost per epoch at MLP's defaults, float64."""
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(
        2000 if args.smoke else 20_000, 50, n_informative=20, n_classes=5,
        random_state=0,
    )  # fmt: skip
    X = StandardScaler().fit_transform(X)
    fixed = {"max_iter": 1 if args.smoke else 3, "n_iter_no_change": 10**6}
    times = {name: [] for name in [*REGULARIZER_ROWS, "MLPClassifier"]}
    for _ in range(args.defaults_repeats):
        for name, params in REGULARIZER_ROWS.items():
            est = RegularizedNetClassifier(random_state=0, **fixed, **params)
            times[name].append(_cpu_time(partial(est.fit, X, y))[0] / est.n_iter_)
        mlp = MLPClassifier(random_state=0, alpha=0.0, **fixed)
        times["MLPClassifier"].append(
            _cpu_time(partial(mlp.fit, X, y))[0] / mlp.n_iter_
        )
    lines = [
        f"Regularizers at MLP's defaults: {len(X)} x 50, (100,), batch 200, "
        f"float64, {fixed['max_iter']} epochs, {args.defaults_repeats} "
        "interleaved repeats",
        "",
        "| model | ms/epoch | x plain | x MLPClassifier (alpha=0) |",
        "|---|---|---|---|",
    ]
    for name, seconds in times.items():
        lines.append(
            f"| {name} | {1e3 * statistics.median(seconds):.1f} "
            f"| {median_ratio(times, name, 'plain (l2=0)'):.2f} "
            f"| {median_ratio(times, name, 'MLPClassifier'):.2f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset", choices=["synthetic", "digits"], default="synthetic"
    )
    parser.add_argument("--n-samples", type=int, default=160_000)
    parser.add_argument("--n-test", type=int, default=20_000)
    parser.add_argument("--n-features", type=int, default=50)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--predict-rows", type=int, default=200_000)
    parser.add_argument("--latency-calls", type=int, default=300)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--memory-features", type=int, default=50)
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument(
        "--sparse-shapes",
        nargs="*",
        default=["20000x20000x50", "100000x50000x10"],
        help="TF-IDF matrices as ROWSxVOCABULARYxWORDS_PER_ROW",
    )
    parser.add_argument(
        "--sparse-models", nargs="*", default=SPARSE_MODELS, choices=SPARSE_MODELS
    )
    parser.add_argument("--defaults-repeats", type=int, default=3)
    parser.add_argument("--sparse-epochs", type=int, default=1)
    parser.add_argument("--sparse-repeats", type=int, default=3)
    parser.add_argument(
        "--rows",
        nargs="*",
        help="only training rows containing one "
        "of these substrings (the baselines are always kept)",
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=[
            "defaults",
            "sweep",
            "regularizers",
            "training",
            "predict",
            "memory",
            "sparse",
        ],
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, one repeat: checks that the script runs",
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--sparse-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    threadpool_limits(1)  # numpy's BLAS too: MLPClassifier must not get 2 threads
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.memory_child:
        _memory_child(*json.loads(args.memory_child))
        return
    if args.sparse_child:
        _sparse_child(*json.loads(args.sparse_child))
        return
    if args.smoke:
        args.n_samples, args.n_test, args.n_features = 2000, 500, 10
        args.epochs, args.repeats, args.predict_rows = 1, 1, 5000
        args.latency_calls, args.memory_rows, args.memory_features = 20, 20_000, 10
        args.sparse_shapes, args.sparse_repeats = ["2000x1000x10"], 1
        args.sparse_models = ["sk_reg", "MLPClassifier"]
        args.defaults_repeats = 1
    if args.rows:
        args.rows = list(args.rows) + [
            "raw torch loop",
            "sk_reg RegularizedNetClassifier",
            "MLPClassifier",
        ]

    print(
        f"Machine: {platform.machine()} {platform.processor() or ''} "
        f"{os.cpu_count()} logical CPUs; torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread; process CPU time"
    )
    print(f"Load average at start: {os.getloadavg()[0]:.2f}")
    if "defaults" not in args.skip:
        print()
        print(bench_defaults(args), flush=True)
    if "sweep" not in args.skip:
        print()
        print(bench_sweep(args), flush=True)
    if "regularizers" not in args.skip:
        print()
        print(bench_regularizers_at_defaults(args), flush=True)
    X, y, X_test, y_test = make_data(args)
    if "training" not in args.skip:
        print()
        print(bench_training(args, X, y, X_test, y_test), flush=True)
    if "predict" not in args.skip:
        print()
        print(bench_predict(args, X, y), flush=True)
    if "memory" not in args.skip:
        print()
        print(bench_memory(args), flush=True)
    if "sparse" not in args.skip:
        print()
        print(bench_sparse(args), flush=True)


if __name__ == "__main__":
    main()
