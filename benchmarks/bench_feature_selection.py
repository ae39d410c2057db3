"""Feature selection: sk_reg's feature_l1 path against LassoNet, L1 logistic
regression and element-wise l1.

Data sets with known real features: breast_cancer, wine and digits, each with
100 added standard-normal noise columns (the real ones come first), and a
synthetic TF-IDF text task in which 5 of 2,000 words decide the label. Each is
split 70/30 (stratified, ``random_state=0``) and standardised on the training
part (TF-IDF: scaled by the training standard deviation, not centred).

For each method, the selections along its path (or grid) are read at a few
feature budgets (the largest selection with at most k features) and refitted:
the same ``RegularizedNetClassifier((32,), random_state=0)`` is trained on the
selected training columns and scored on the test part. Path times are process
CPU time with one torch thread, the methods run one after the other in the
same process.

    PYTHONPATH=. python benchmarks/bench_feature_selection.py          # ~3-6 min
    PYTHONPATH=. python benchmarks/bench_feature_selection.py --quick  # smoke run

LassoNet is optional (``pip install lassonet``, the ``bench`` extra); without
it its rows are skipped.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_reg import RegularizedNetClassifier, regularization_path

HIDDEN = (32,)


def with_noise(loader, n_noise=100, seed=0):
    X, y = loader(return_X_y=True)
    rng = np.random.RandomState(seed)
    return np.hstack([X, rng.randn(len(X), n_noise)]), y, X.shape[1]


def tfidf_task(n_docs=800, n_words=2000, n_key=5, doc_len=30, seed=0, sparse=False):
    """Documents of Zipf-distributed filler words plus 1 or 3 key words each
    (drawn with replacement); key words 0-2 vote for class 1, 3-4 for class
    0, and the majority decides. The number of votes varies, so the words of
    one side alone do not determine the label: all 5 are needed. Returns the
    TF-IDF matrix dense, or as scipy CSR with ``sparse=True``."""
    rng = np.random.RandomState(seed)
    words = np.array([f"w{i:04d}" for i in range(n_words)])
    fillers = words[n_key:]
    p = 1.0 / (np.arange(len(fillers)) + 10.0)
    docs, y = [], []
    for n_votes in rng.choice([1, 3], size=n_docs):
        keys = rng.randint(n_key, size=n_votes)
        filler = rng.choice(fillers, size=doc_len, p=p / p.sum())
        docs.append(" ".join([*filler, *words[keys]]))
        y.append(int(2 * (keys < 3).sum() > n_votes))
    vec = TfidfVectorizer(token_pattern=r"w\d{4}", vocabulary=words)
    X = vec.fit_transform(docs)
    return (X if sparse else X.toarray()), np.array(y), n_key


def split(X, y, center=True):
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    scaler = StandardScaler(with_mean=center).fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def cpu_timed(fn):
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def path_sk_reg(Xtr, ytr):
    clf = RegularizedNetClassifier(HIDDEN, l2=0.0, random_state=0)
    path = regularization_path(clf, Xtr, ytr, random_state=0)
    best = _best_by_validation(path)
    return list(path.support), {"points": len(path.support), "best": best}


def _best_by_validation(path):
    """Support of the best hold-out score (ties: fewest features), non-empty."""
    score = np.where(path.n_features_selected > 0, path.validation_score, -np.inf)
    top = np.flatnonzero(score >= score.max() - 1e-12)
    return path.support[top[np.argmin(path.n_features_selected[top])]]


def path_lassonet(Xtr, ytr):
    from lassonet import LassoNetClassifier

    model = LassoNetClassifier(
        hidden_dims=HIDDEN, verbose=0, random_state=0, torch_seed=0
    )
    history = model.path(Xtr, ytr, return_state_dicts=False)
    return [h.selected.cpu().numpy().astype(bool) for h in history], {
        "points": len(history)
    }


def path_logistic(Xtr, ytr):
    supports = []
    for C in np.geomspace(1e-3, 10, 25):
        # liblinear for two classes (fast on small data), saga otherwise.
        solver = "liblinear" if len(np.unique(ytr)) == 2 else "saga"
        lr = LogisticRegression(C=C, l1_ratio=1.0, solver=solver, max_iter=2000)
        coef = lr.fit(Xtr, ytr).coef_
        supports.append(np.abs(coef).max(axis=0) > 0)
    return supports, {"points": len(supports)}


def path_elementwise_l1(Xtr, ytr, values=(1e-3, 3e-3, 1e-2, 3e-2, 1e-1)):
    supports = []
    for l1 in values:
        clf = RegularizedNetClassifier(HIDDEN, l1=l1, l2=0.0, random_state=0)
        weight = clf.fit(Xtr, ytr).net_.module_[0].weight.detach()
        supports.append(weight.abs().amax(dim=0).numpy() > 0)
    return supports, {"points": len(supports)}


def refit_accuracy(support, Xtr, Xte, ytr, yte):
    if not support.any():
        return float("nan")
    clf = RegularizedNetClassifier(HIDDEN, random_state=0)
    return clf.fit(Xtr[:, support], ytr).score(Xte[:, support], yte)


def at_budget(supports, k):
    """The largest selection with at most k (but at least one) features."""
    fitting = [s for s in supports if 0 < s.sum() <= k]
    return max(fitting, key=lambda s: s.sum()) if fitting else None


def run_dataset(name, X, y, n_real, methods, budgets, center=True):
    Xtr, Xte, ytr, yte = split(X, y, center)
    rows = []
    for method, fn in methods.items():
        (supports, info), cpu = cpu_timed(lambda fn=fn: fn(Xtr, ytr))
        picks = [(f"<= {k}", at_budget(supports, k)) for k in budgets]
        if "best" in info:
            picks.append(("best on hold-out", info["best"]))
        for label, support in picks:
            if support is None:
                rows.append((name, method, label, "-", "-", "-", cpu, info["points"]))
                continue
            acc = refit_accuracy(support, Xtr, Xte, ytr, yte)
            real = int(support[:n_real].sum())
            rows.append(
                (
                    name,
                    method,
                    label,
                    int(support.sum()),
                    real,
                    f"{acc:.3f}",
                    cpu,
                    info["points"],
                )
            )
    return rows


def print_table(rows):
    print(
        "| data | method | budget | selected | real | refit test acc "
        "| path CPU s | path points |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, method, label, n, real, acc, cpu, points in rows:
        print(
            f"| {name} | {method} | {label} | {n} | {real} | {acc} "
            f"| {cpu:.1f} | {points} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: breast_cancer only, no LassoNet",
    )
    parser.add_argument("--no-lassonet", action="store_true")
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["breast_cancer", "wine", "digits", "tfidf", "tfidf-csr"],
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="lassonet")

    methods = {"sk_reg feature_l1 path": path_sk_reg}
    if not (args.quick or args.no_lassonet):
        try:
            import lassonet  # noqa: F401

            methods["LassoNet path"] = path_lassonet
        except ImportError:
            print("lassonet is not installed: its rows are skipped")
    methods["L1 logistic regression (25 C)"] = path_logistic
    methods["sk_reg element-wise l1 (5 fits)"] = path_elementwise_l1

    data = {
        "breast_cancer+100": lambda: with_noise(load_breast_cancer),
        "wine+100": lambda: with_noise(load_wine),
        "digits+100": lambda: with_noise(load_digits),
        "tfidf 5/2000": tfidf_task,
        # The same matrix kept sparse (CSR) for sk_reg and the logistic
        # regression; LassoNet needs dense input and is skipped there.
        "tfidf-csr 5/2000": lambda: tfidf_task(sparse=True),
    }
    names = ["breast_cancer"] if args.quick else args.datasets
    for key, load in data.items():
        if key.split("+")[0].split(" ")[0] not in names:
            continue
        X, y, n_real = load()
        usable = {
            m: fn
            for m, fn in methods.items()
            if not (sp.issparse(X) and "LassoNet" in m)
        }
        print_table(
            run_dataset(
                key,
                X,
                y,
                n_real,
                usable,
                budgets=(5, 10, 15, 50),
                center=not key.startswith("tfidf"),
            )
        )
        print(flush=True)


if __name__ == "__main__":
    main()
