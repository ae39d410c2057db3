"""Image augmentation on a small training set: load_digits (8x8 images).

For each seed, a stratified random draw of ``--train-size`` images (300 by
default) trains every estimator and the remaining images test it. The
ConvNet is the same network with the same hyperparameters in every row
(``ConvNet(channels=(16, 32), hidden=64)``, Adam 3e-3 with cosine decay to
zero over ``--epochs`` epochs, batch 64, l2 1e-4, no dropout, no early
stopping); only ``augment`` changes. The seed also seeds the networks. The
"vs ConvNet" column is the paired difference in test accuracy from the
un-augmented ConvNet on the same split (mean ± std over seeds). Fit times are
process CPU seconds per fit (medians over seeds) with one torch thread.

Usage::

    python benchmarks/bench_images.py                 # 5 seeds, 150 epochs
    python benchmarks/bench_images.py --n-seeds 10 --epochs 100

Sample output (5 seeds, 150 epochs; see the final report of issue #3 for
the recorded table)::

    | estimator | augment | test accuracy | vs ConvNet | fit CPU s |
    |---|---|---|---|---|
    | DummyClassifier | - | 0.101 ± 0.000 | ... | 0.00 |
    | MLPClassifier | - | ... | ... | ... |
    | ConvNet | none | ... | +0.000 ± 0.000 | ... |
    | ConvNet | cutmix | ... | ... | ... |
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from skorch.callbacks import LRScheduler

from sk_reg import RegularizedNetClassifier
from sk_reg.augment import Compose, CutMix, RandomRotation
from sk_reg.modules import ConvNet

#: The recommended combination: a mild rotation, then CutMix.
COMBINATION = Compose([("rotate", RandomRotation(degrees=10)), ("cutmix", CutMix())])

AUGMENTS = {
    "none": None,
    "flip": "flip",
    "rotate": "rotate",
    "scale": "scale",
    "shift": "shift",
    "affine": "affine",
    "cutout": "cutout",
    "cutmix": "cutmix",
    "rotate(10)+cutmix": COMBINATION,
}


def convnet(augment, epochs, seed):
    return RegularizedNetClassifier(
        module=ConvNet(channels=(16, 32), hidden=64),
        input_shape=(1, 8, 8),
        augment=augment,
        max_iter=epochs,
        n_iter_no_change=epochs,  # fixed number of epochs
        batch_size=64,
        learning_rate_init=3e-3,
        callbacks=[LRScheduler(policy="CosineAnnealingLR", T_max=epochs)],
        random_state=seed,
    )


def estimators(epochs, seed, augments):
    ests = {
        ("DummyClassifier", "-"): DummyClassifier(),
        ("MLPClassifier", "-"): MLPClassifier(max_iter=500, random_state=seed),
    }
    for name in augments:
        ests[("ConvNet", name)] = convnet(AUGMENTS[name], epochs, seed)
    return ests


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-seeds", type=int, default=5)
    parser.add_argument("--random-seed", type=int, default=0, help="first seed")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--train-size", type=int, default=300)
    parser.add_argument(
        "--augments", default=",".join(AUGMENTS),
        help=f"comma-separated subset of {list(AUGMENTS)}",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    augments = args.augments.split(",")
    if "none" not in augments:
        augments.insert(0, "none")

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    scores, times = {}, {}
    start = time.process_time()
    seeds = range(args.random_seed, args.random_seed + args.n_seeds)
    for seed in seeds:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=args.train_size, stratify=y, random_state=seed
        )
        for key, est in estimators(args.epochs, seed, augments).items():
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs
                est.fit(X_train, y_train)
            times.setdefault(key, []).append(time.process_time() - t0)
            scores.setdefault(key, []).append(est.score(X_test, y_test))
        print(f"seed {seed} done ({time.process_time() - start:.0f} s CPU)", flush=True)

    base = np.array(scores[("ConvNet", "none")])
    print(
        f"\nload_digits, {args.train_size} training images, "
        f"{len(X) - args.train_size} test images, {args.n_seeds} seeds, "
        f"{args.epochs} epochs\n"
    )
    print("| estimator | augment | test accuracy | vs ConvNet | fit CPU s |")
    print("|---|---|---|---|---|")
    for key, acc in scores.items():
        acc = np.array(acc)
        diff = acc - base
        print(
            f"| {key[0]} | {key[1]} | {acc.mean():.3f} ± {acc.std(ddof=1):.3f} | "
            f"{diff.mean():+.3f} ± {diff.std(ddof=1):.3f} | {np.median(times[key]):.2f} |"
        )
    print(f"\nTotal: {time.process_time() - start:.0f} s CPU")


if __name__ == "__main__":
    main()
