"""Does regularization help? A study on scikit-learn's bundled real data sets.

For every data set (digits, breast cancer and wine for classification,
diabetes for regression) and each of ``--n-seeds`` stratified train/test
splits, this fits:

- the network with no regularization (``l2=0``, nothing else);
- the network with each regularizer alone, tuned over a small grid by an
  inner 3-fold cross-validation on the training half;
- the network with all regularizers together, tuned by greedy forward
  selection on the same inner cross-validation: starting from no
  regularization, the regularizers that improved the inner-CV score alone are
  added one at a time (best first, each at its own tuned value) and kept only
  if the inner-CV score of the combination improves;
- ``MLPClassifier`` / ``MLPRegressor`` (same architecture) tuned over
  ``alpha`` and ``early_stopping``;
- ``LogisticRegression`` / ``Ridge`` as a linear reference.

Inputs are standardised inside the pipeline (and the diabetes targets through
a ``TransformedTargetRegressor``). Every network has one hidden layer of 100
ReLU units and uses Adam at ``learning_rate_init=1e-3`` with at most
``--max-iter`` epochs, as the MLP does.

It writes, to ``--output-dir`` (default ``benchmarks/results/``):

- ``regularization.md``: the tables (test score mean ± std over the splits,
  train - test gap, CPU seconds of the tuning search and of the final fit,
  the most frequently chosen hyperparameters) and a per-data-set verdict;
- ``regularization.csv``: the same rows, formatted (the docs include it);
- ``regularization.png``: test and training scores, one panel per data set;
- ``regularization.json``: every split's raw numbers.

Usage::

    python benchmarks/bench_regularization.py            # the full study
    python benchmarks/bench_regularization.py --quick    # a smoke run (~1 min)
    # rewrite the table and plot of a finished run, without fitting:
    python benchmarks/bench_regularization.py \
        --from-json benchmarks/results/regularization.json

Times are process CPU seconds with one torch and one BLAS thread
(``n_jobs=1``); scores are accuracy (classification) and R^2 (regression).
Sample output (one line per fitted row, then the markdown tables; the full
tables of the last run are in ``benchmarks/results/regularization.md``)::

    digits        seed 0  no regularization                   test 0.9689  train 1.0000
        search    4.7s  fit  4.74s
    digits        seed 0  l1                                  test 0.9766  train 1.0000
        search   21.6s  fit  2.45s  l1=0.0001
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import sk_reg
from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg.augment import GaussianNoise, Mixup

DATASETS = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
}

HIDDEN = (100,)

# name -> (family, grid over the network's own parameter names, tasks).
# Family "net" rows start from the unregularized network (l2=0).
ESTIMATORS = {
    "no regularization": ("net", None, ("classification", "regression")),
    "l1": ("net", {"l1": [1e-4, 1e-3, 1e-2]}, ("classification", "regression")),
    "l2": ("net", {"l2": [1e-2, 1e-1, 1.0]}, ("classification", "regression")),
    "dropout": ("net", {"dropout": [0.1, 0.3, 0.5]}, ("classification", "regression")),
    "label_smoothing": (
        "net",
        {"label_smoothing": [0.05, 0.1, 0.2]},
        ("classification",),
    ),
    "augment": (
        "net",
        {"augment": [GaussianNoise(0.1), GaussianNoise(0.3), Mixup(0.2)]},
        ("classification", "regression"),
    ),
    "early_stopping": (
        "net",
        {"early_stopping": [True], "n_iter_no_change": [10, 20]},
        ("classification", "regression"),
    ),
    "all (greedy forward)": ("net-greedy", None, ("classification", "regression")),
    "MLP tuned (alpha, early_stopping)": (
        "mlp",
        {"alpha": [1e-4, 1e-2, 1e-1, 1.0], "early_stopping": [False, True]},
        ("classification", "regression"),
    ),
    "linear (LogisticRegression / Ridge)": (
        "linear",
        None,
        ("classification", "regression"),
    ),
}


def make_model(family, task, seed, max_iter):
    """(pipeline, prefix of the tuned step's parameters)."""
    if family in ("net", "net-greedy"):
        Net = (
            RegularizedNetClassifier
            if task == "classification"
            else RegularizedNetRegressor
        )
        est = Net(
            hidden_layer_sizes=HIDDEN, l2=0.0, max_iter=max_iter, random_state=seed
        )
    elif family == "mlp":
        MLP = MLPClassifier if task == "classification" else MLPRegressor
        est = MLP(hidden_layer_sizes=HIDDEN, max_iter=max_iter, random_state=seed)
    elif task == "classification":
        est = LogisticRegression(max_iter=2000)
    else:
        est = Ridge()
    if task == "classification":
        return Pipeline([("scale", StandardScaler()), ("model", est)]), "model__"
    model = TransformedTargetRegressor(regressor=est, transformer=StandardScaler())
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)])
    return pipe, "model__regressor__"


def linear_grid(task):
    if task == "classification":
        return {"C": [0.01, 0.1, 1.0, 10.0]}
    return {"alpha": [0.1, 1.0, 10.0, 100.0]}


def describe(params):
    """Short, stable text for a best-parameter dict (for the 'chosen' column)."""
    parts = []
    for key in sorted(params):
        value = params[key]
        if isinstance(value, GaussianNoise):
            value = f"noise({value.std:g})"
        elif isinstance(value, Mixup):
            value = f"mixup({value.alpha:g})"
        elif isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def inner_cv(task, seed, n_folds):
    """The inner CV splits; identical for every row of one outer split."""
    if task == "classification":
        return StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    return KFold(n_folds, shuffle=True, random_state=seed)


def fit_and_score(pipe, X_train, y_train, X_test, y_test, start, params, prefix):
    """Final fit on the whole training half; the row's result."""
    fit_start = time.process_time()
    pipe.fit(X_train, y_train)
    end = time.process_time()
    return {
        "test": float(pipe.score(X_test, y_test)),
        "train": float(pipe.score(X_train, y_train)),
        "search_cpu_s": end - start,
        "fit_cpu_s": end - fit_start,
        "chosen": describe({k[len(prefix) :]: v for k, v in params.items()}),
    }


def run_one(name, task, X_train, y_train, X_test, y_test, seed, args):
    """A row tuned by grid search (or untuned); also returns the inner-CV
    outcome, (best score, best params, search CPU s), for the greedy row."""
    family, grid, _ = ESTIMATORS[name]
    pipe, prefix = make_model(family, task, seed, args.max_iter)
    if family == "linear":
        grid = linear_grid(task)
    start = time.process_time()
    best_params, inner = {}, None
    if grid is not None:
        search = GridSearchCV(
            pipe,
            {prefix + k: v for k, v in grid.items()},
            cv=inner_cv(task, seed, args.cv),
            refit=False,
            n_jobs=1,
            error_score="raise",
        )
        search.fit(X_train, y_train)
        best_params = search.best_params_
        inner = (
            search.best_score_,
            {k[len(prefix) :]: v for k, v in best_params.items()},
            time.process_time() - start,
        )
        pipe = clone(pipe).set_params(**best_params)
    result = fit_and_score(
        pipe, X_train, y_train, X_test, y_test, start, best_params, prefix
    )
    return result, inner


def run_greedy(task, X_train, y_train, X_test, y_test, seed, args, singles):
    """All regularizers together, by greedy forward selection on the inner CV.

    ``singles`` maps each single-regularizer row to its inner-CV outcome
    (best score, best params, search CPU s) on the same inner splits. The
    regularizers that beat the unregularized net's inner-CV score are added
    best first; each is kept only if the combination's inner-CV score
    improves. The reported search time includes the single searches.
    """
    pipe, prefix = make_model("net-greedy", task, seed, args.max_iter)
    cv = inner_cv(task, seed, args.cv)
    start = time.process_time()

    def cv_score(params):
        candidate = clone(pipe).set_params(**{prefix + k: v for k, v in params.items()})
        return cross_val_score(candidate, X_train, y_train, cv=cv, n_jobs=1).mean()

    baseline = cv_score({})
    chosen, best = {}, baseline
    helpful = sorted(
        (inner for inner in singles.values() if inner[0] > baseline),
        key=lambda inner: -inner[0],
    )
    for i, (score, params, _) in enumerate(helpful):
        # The best single regularizer's inner-CV score is already known (same
        # splits, same seed: the fits would be identical).
        candidate_score = score if i == 0 else cv_score({**chosen, **params})
        if candidate_score > best:
            chosen, best = {**chosen, **params}, candidate_score
    # Charge the single searches this selection builds on.
    start -= sum(inner[2] for inner in singles.values())
    pipe = clone(pipe).set_params(**{prefix + k: v for k, v in chosen.items()})
    return fit_and_score(
        pipe,
        X_train,
        y_train,
        X_test,
        y_test,
        start,
        {prefix + k: v for k, v in chosen.items()},
        prefix,
    )


def split(X, y, task, seed, test_size):
    if task == "classification":
        strata = y
    else:
        # Stratify a continuous target on its quintiles.
        strata = np.digitize(y, np.quantile(y, [0.2, 0.4, 0.6, 0.8]))
    return train_test_split(
        X, y, test_size=test_size, stratify=strata, random_state=seed
    )


def summarise(results):
    """Per (data set, row): formatted columns and the numbers behind them."""
    rows = []
    for dataset, by_name in results.items():
        for name, runs in by_name.items():
            test = np.array([r["test"] for r in runs])
            train = np.array([r["train"] for r in runs])
            chosen = Counter(r["chosen"] for r in runs).most_common(1)[0]
            rows.append(
                {
                    "dataset": dataset,
                    "model": name,
                    "test_mean": test.mean(),
                    "test_std": test.std(),
                    "train_mean": train.mean(),
                    "gap_mean": (train - test).mean(),
                    "search_cpu_s": float(np.median([r["search_cpu_s"] for r in runs])),
                    "fit_cpu_s": float(np.median([r["fit_cpu_s"] for r in runs])),
                    "chosen": (
                        f"{chosen[0]} ({chosen[1]}/{len(runs)})"
                        if chosen[0]
                        else "none"
                    ),
                    "n_splits": len(runs),
                }
            )
    return rows


def verdicts(rows, results):
    """Check the study's targets from the measured rows (nothing hard-coded).

    Besides the means, the per-split (paired) differences: every row of one
    split shares its train/test partition, so they are the fairer comparison.
    """
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        by = {r["model"]: r for r in rows if r["dataset"] == dataset}
        greedy = by["all (greedy forward)"]
        mlp = by["MLP tuned (alpha, early_stopping)"]
        none = by["no regularization"]
        runs = results[dataset]
        diff = np.array(
            [
                g["test"] - m["test"]
                for g, m in zip(
                    runs["all (greedy forward)"],
                    runs["MLP tuned (alpha, early_stopping)"],
                    strict=True,
                )
            ]
        )
        gap_diff = np.array(
            [
                (g["train"] - g["test"]) - (n["train"] - n["test"])
                for g, n in zip(
                    runs["all (greedy forward)"], runs["no regularization"], strict=True
                )
            ]
        )
        beats = greedy["test_mean"] >= mlp["test_mean"]
        smaller_gap = greedy["gap_mean"] < none["gap_mean"]
        others = [
            r
            for m, r in by.items()
            if m
            not in (
                "all (greedy forward)",
                "MLP tuned (alpha, early_stopping)",
                "linear (LogisticRegression / Ridge)",
            )
        ]
        best_single = max(others, key=lambda r: r["test_mean"])
        lines.append(
            f"- **{dataset}**: all-regularizers {greedy['test_mean']:.4f} vs tuned "
            f"MLP {mlp['test_mean']:.4f}: "
            f"{'matches or beats' if beats else 'BELOW'} (paired difference "
            f"{diff.mean():+.4f} ± {diff.std():.4f}; at least as good on "
            f"{(diff >= 0).sum()} of {len(diff)} splits). Train-test gap "
            f"{greedy['gap_mean']:.4f} vs unregularized {none['gap_mean']:.4f}: "
            f"{'smaller' if smaller_gap else 'NOT smaller'} (smaller on "
            f"{(gap_diff < 0).sum()} of {len(gap_diff)} splits). Best other "
            f"network row: {best_single['model']} ({best_single['test_mean']:.4f})."
        )
    return lines


def write_markdown(rows, results, path, command, header):
    out = [header, "", f"Command: `{command.strip()}`", ""]
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        metric = "R^2" if DATASETS[dataset][1] == "regression" else "accuracy"
        out += [
            f"### {dataset} ({metric})",
            "",
            "| model | test (mean ± std) | train − test gap | search CPU s | "
            "final fit CPU s | chosen (most frequent) |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            if r["dataset"] != dataset:
                continue
            out.append(
                f"| {r['model']} | {r['test_mean']:.4f} ± {r['test_std']:.4f} | "
                f"{r['gap_mean']:.4f} | {r['search_cpu_s']:.1f} | "
                f"{r['fit_cpu_s']:.2f} | {r['chosen']} |"
            )
        out.append("")
    out += ["### Targets", ""] + verdicts(rows, results) + [""]
    path.write_text("\n".join(out))


def write_csv(rows, path):
    import csv

    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "data set",
                "model",
                "test (mean ± std)",
                "train − test gap",
                "search CPU s",
                "final fit CPU s",
                "chosen (most frequent)",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    r["dataset"],
                    r["model"],
                    f"{r['test_mean']:.4f} ± {r['test_std']:.4f}",
                    f"{r['gap_mean']:.4f}",
                    f"{r['search_cpu_s']:.1f}",
                    f"{r['fit_cpu_s']:.2f}",
                    r["chosen"],
                ]
            )


def plot(rows, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    names = list(ESTIMATORS)
    # Two panels a row at a width that the docs show near 1:1, so that the
    # text stays readable at page width (four panels in a row shrank to ~7 px).
    ncols = min(2, len(datasets))
    nrows = -(-len(datasets) // ncols)
    plt.rcParams.update({"font.size": 11})
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(10, 3.9 * nrows + 0.6), sharey=True, squeeze=False
    )
    for ax in axes.flat[len(datasets) :]:
        ax.set_visible(False)
    for ax, dataset in zip(axes.flat, datasets, strict=False):
        by = {r["model"]: r for r in rows if r["dataset"] == dataset}
        for i, name in enumerate(names):
            if name not in by:
                continue
            r = by[name]
            color = (
                "C3"
                if name == "all (greedy forward)"
                else ("C1" if name.startswith("MLP") else "C0")
            )
            ax.errorbar(
                r["test_mean"],
                i,
                xerr=r["test_std"],
                fmt="o",
                color=color,
                capsize=3,
                label="test (mean ± std)" if i == 0 else None,
            )
            ax.plot(
                r["train_mean"],
                i,
                marker="|",
                markersize=12,
                color="0.4",
                linestyle="none",
                label="train (mean)" if i == 0 else None,
            )
            ax.plot([r["test_mean"], r["train_mean"]], [i, i], color="0.8", zorder=0)
        mlp = by["MLP tuned (alpha, early_stopping)"]["test_mean"]
        ax.axvline(mlp, color="C1", linestyle=":", linewidth=1)
        metric = "R²" if DATASETS[dataset][1] == "regression" else "accuracy"
        ax.set_title(dataset)
        ax.set_xlabel(metric)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(names)), names)
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _git_commit():
    """The checkout's commit (and whether sk_reg has local changes), if any."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "sk_reg"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {commit.strip()}" + (" with local changes" if dirty else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output-dir", type=Path, default=Path(__file__).resolve().parent / "results"
    )
    parser.add_argument(
        "--n-seeds", type=int, default=5, help="number of stratified train/test splits"
    )
    parser.add_argument(
        "--random-seed",
        type=int,
        default=0,
        help="seed of the first split; the others follow",
    )
    parser.add_argument("--test-size", type=float, default=0.5)
    parser.add_argument("--cv", type=int, default=3, help="inner CV folds")
    parser.add_argument("--max-iter", type=int, default=200, help="epochs")
    parser.add_argument(
        "--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS)
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 split, 2 folds, 20 epochs"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="rewrite the table and plot from a previous run's "
        "regularization.json instead of fitting anything",
    )
    args = parser.parse_args(argv)
    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        write_outputs(
            saved["results"],
            args.output_dir,
            saved["command"],
            saved["header"],
            saved["args"],
        )
        return
    if args.quick:
        args.n_seeds, args.cv, args.max_iter = 1, 2, 20

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    command = " ".join(
        [
            "python benchmarks/bench_regularization.py",
            *(sys.argv[1:] if argv is None else argv),
        ]
    )
    results = {}
    wall_start = time.time()
    with threadpool_limits(1):
        for dataset in args.datasets:
            load, task = DATASETS[dataset]
            X, y = load(return_X_y=True)
            results[dataset] = {}
            for k in range(args.n_seeds):
                seed = args.random_seed + k
                X_train, X_test, y_train, y_test = split(
                    X, y, task, seed, args.test_size
                )
                singles = {}
                for name, (family, _, tasks) in ESTIMATORS.items():
                    if task not in tasks:
                        continue
                    if family == "net-greedy":
                        r = run_greedy(
                            task, X_train, y_train, X_test, y_test, seed, args, singles
                        )
                    else:
                        r, inner = run_one(
                            name, task, X_train, y_train, X_test, y_test, seed, args
                        )
                        if family == "net" and inner is not None:
                            singles[name] = inner
                    results[dataset].setdefault(name, []).append({"seed": seed, **r})
                    print(
                        f"{dataset:<14}seed {seed}  {name:<36}test {r['test']:.4f}  "
                        f"train {r['train']:.4f}  search {r['search_cpu_s']:6.1f}s  "
                        f"fit {r['fit_cpu_s']:5.2f}s  {r['chosen']}",
                        flush=True,
                    )
    wall = time.time() - wall_start

    header = (
        f"Measured {date.today().isoformat()} on {platform.machine()} CPU "
        f"(1 torch thread, 1 BLAS thread, n_jobs=1, shared machine), "
        f"sk_reg {sk_reg.__version__} ({_git_commit()}), "
        f"scikit-learn {sklearn.__version__}, "
        f"torch {torch.__version__}. {args.n_seeds} stratified splits "
        f"(test_size={args.test_size}), inner {args.cv}-fold CV, "
        f"max_iter={args.max_iter}. "
        f"Total wall time {wall / 60:.1f} min."
    )
    write_outputs(
        results,
        args.output_dir,
        command,
        header,
        {k: str(v) for k, v in vars(args).items()},
    )


def write_outputs(results, output_dir, command, header, args):
    rows = summarise(results)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_markdown(rows, results, output_dir / "regularization.md", command, header)
    write_csv(rows, output_dir / "regularization.csv")
    plot(
        rows,
        output_dir / "regularization.png",
        f"Test and training scores over {args['n_seeds']} stratified splits",
    )
    (output_dir / "regularization.json").write_text(
        json.dumps(
            {"command": command, "header": header, "args": args, "results": results},
            indent=1,
        )
    )
    print()
    print((output_dir / "regularization.md").read_text())


if __name__ == "__main__":
    main()
