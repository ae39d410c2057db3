"""Fit a regularized net on the digits data set, with and without regularization.

Run: ``python demo.py`` (about half a minute on one CPU core).
"""

import warnings

import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sk_reg import RegularizedNetClassifier

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X / 16.0
# A small training set makes over-fitting, and its cure, visible.
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=300, stratify=y, random_state=0
)
common = dict(hidden_layer_sizes=(256, 256), max_iter=200, random_state=0)
models = {
    "no regularization": RegularizedNetClassifier(**common, l2=0.0),
    "l2 + dropout + label smoothing + noise + early stopping": RegularizedNetClassifier(
        **common,
        l2=1e-3,
        dropout=0.3,
        label_smoothing=0.1,
        augment="noise",
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=20,
    ),
}
print(f"digits: {len(X_train)} training images, {len(X_test)} test images")
for name, model in models.items():
    model.fit(X_train, y_train)
    print(
        f"{name:>55}: test accuracy {model.score(X_test, y_test):.3f} "
        f"({model.n_iter_} epochs)"
    )
