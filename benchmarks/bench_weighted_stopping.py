"""Early stopping under extreme class weights: does the weighted hold-out loss
stop better than the hold-out score (#25)?

scikit-learn's ``check_class_weight_classifiers`` data (very noisy blobs,
``cluster_std=20``, half for training) with ``class_weight={0: 1000, others:
1e-4}``: the weighted optimum predicts class 0 everywhere. With early
stopping, the hold-out accuracy (``scoring=None``, MLP's rule) is a weighted
accuracy here and saturates early; ``scoring="loss"`` follows the weighted
loss. For 2 and 3 classes, seeds 0 to 9 (the estimator's ``random_state``):
the share of test rows predicted as class 0 (the check asks > 0.87) and the
epochs trained, mean and minimum over the seeds.

    python benchmarks/bench_weighted_stopping.py
"""

import warnings

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.model_selection import train_test_split

from sk_reg import RegularizedNetClassifier

SETTINGS = {
    "scoring=None": dict(early_stopping=True, scoring=None),
    'scoring="loss"': dict(early_stopping=True, scoring="loss"),
    "no early stopping": dict(early_stopping=False),
}


def share_of_class_0(n_centers, seed, **params):
    X, y = make_blobs(centers=n_centers, random_state=0, cluster_std=20)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.5, random_state=0)
    weights = {0: 1000, **{k: 1e-4 for k in range(1, n_centers)}}
    clf = RegularizedNetClassifier(
        max_iter=1000,
        n_iter_no_change=20,
        class_weight=weights,
        random_state=seed,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X_train, y_train)
    return np.mean(clf.predict(X_test) == 0), clf.n_iter_


def main():
    print("| classes | stopping | share of class 0: mean (min) | epochs: mean (min) |")
    print("|---|---|---|---|")
    for n_centers in (2, 3):
        for name, params in SETTINGS.items():
            runs = np.array(
                [share_of_class_0(n_centers, s, **params) for s in range(10)]
            )
            share, epochs = runs[:, 0], runs[:, 1]
            print(
                f"| {n_centers} | {name} | {share.mean():.3f} ({share.min():.3f}) "
                f"| {epochs.mean():.0f} ({epochs.min():.0f}) |"
            )


if __name__ == "__main__":
    main()
