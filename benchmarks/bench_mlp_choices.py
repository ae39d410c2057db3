"""Two defaults chosen by measurement for MLP parity (prints markdown tables).

1. Initialisation: torch's default for ``nn.Linear`` (Kaiming-uniform,
   ``a=sqrt(5)``) against MLPClassifier's Glorot-uniform
   (``sk_reg.modules.MLP(init="glorot")``), at sk_reg's defaults (Adam,
   ``(100,)``, ``StandardScaler`` pipeline, regression targets standardised)
   on the regularization study's four data sets (50/50 splits), plus the
   plain-SGD regression of scikit-learn's ``test_partial_fit_regression``.
2. What early stopping monitors: ``scoring=None`` (the validation accuracy, as
   MLPClassifier) against ``scoring="loss"``.

Usage (1 torch thread, about 2 CPU-minutes; ``--seeds 2`` for a quick look)::

    PYTHONPATH=. python benchmarks/bench_mlp_choices.py --seeds 10
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg.modules import MLP

DATA = {
    "digits": load_digits,
    "breast_cancer": load_breast_cancer,
    "wine": load_wine,
    "diabetes": load_diabetes,
}


def _pipeline(name, seed, **params):
    if name == "diabetes":
        est = TransformedTargetRegressor(
            RegularizedNetRegressor(random_state=seed, **params),
            transformer=StandardScaler(),
        )
    else:
        est = RegularizedNetClassifier(random_state=seed, **params)
    return make_pipeline(StandardScaler(), est)


def _split(name, seed):
    X, y = DATA[name](return_X_y=True)
    stratify = None if name == "diabetes" else y
    return train_test_split(X, y, test_size=0.5, random_state=seed, stratify=stratify)


def _row(name, a, b):
    a, b = np.asarray(a), np.asarray(b)
    d = b - a
    return (
        f"| {name} | {a.mean():.4f} ± {a.std(ddof=1):.4f} | "
        f"{b.mean():.4f} ± {b.std(ddof=1):.4f} | {d.mean():+.4f} ± "
        f"{d.std(ddof=1):.4f} | {(d > 0).sum()}/{len(d)} (ties {(d == 0).sum()}) |"
    )


def compare_init(seeds):
    print("| data | torch init | glorot init | glorot - torch (paired) | glorot wins |")
    print("|---|---|---|---|---|")
    for name in DATA:
        scores = {"torch": [], "glorot": []}
        for seed in range(seeds):
            Xtr, Xte, ytr, yte = _split(name, seed)
            for init in scores:
                pipe = _pipeline(name, seed, module=MLP((100,), "relu", init=init))
                scores[init].append(pipe.fit(Xtr, ytr).score(Xte, yte))
        print(_row(name, scores["torch"], scores["glorot"]))
    X, y = make_regression(
        n_samples=200, n_features=10, bias=20.0, noise=100.0, random_state=7
    )
    y = scale(y)
    scores = {"torch": [], "glorot": []}
    for seed in range(seeds):
        for init in scores:
            reg = RegularizedNetRegressor(
                module=MLP((100,), "relu", init=init),
                optimizer="sgd",
                optimizer_kwargs={"momentum": 0},
                learning_rate_init=0.01,
                batch_size=200,
                max_iter=100,
                random_state=seed,
            )
            scores[init].append(reg.fit(X, y).score(X, y))
    print(_row("plain SGD regression (train R^2)", scores["torch"], scores["glorot"]))


def compare_scoring(seeds):
    print(
        "| data | scoring=None (accuracy) | scoring='loss' | loss - None (paired) "
        "| loss wins |"
    )
    print("|---|---|---|---|---|")
    for name in ("digits", "breast_cancer", "wine"):
        scores = {None: [], "loss": []}
        for seed in range(seeds):
            Xtr, Xte, ytr, yte = _split(name, seed)
            for scoring in scores:
                pipe = _pipeline(name, seed, early_stopping=True, scoring=scoring)
                scores[scoring].append(pipe.fit(Xtr, ytr).score(Xte, yte))
        print(_row(name, scores[None], scores["loss"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    compare_init(args.seeds)
    print()
    compare_scoring(args.seeds)


if __name__ == "__main__":
    main()
