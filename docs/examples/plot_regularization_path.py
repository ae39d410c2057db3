"""
==============================================
Feature selection along a regularization path
==============================================

``feature_l1`` is a group lasso on the input columns: after every optimizer
step, each column of first-layer weights is shrunk as a whole, and weak
columns become exactly zero. :func:`sk_reg.regularization_path` trains along
increasing values with warm starts and scores every point on a hold-out.

We add 100 standard-normal noise columns to the 30 real columns of the breast
cancer data set and ask the path which columns the network needs.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sk_reg import RegularizedNetClassifier, regularization_path
from sk_reg.inspection import RegularizationPathDisplay

X, y = load_breast_cancer(return_X_y=True)
rng = np.random.RandomState(0)
X = np.hstack([X, rng.randn(len(X), 100)])  # columns 0-29 real, 30-129 noise
real = np.arange(X.shape[1]) < 30

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

clf = RegularizedNetClassifier((32,), l2=0.0, random_state=0)
path = regularization_path(clf, X_train, y_train, random_state=0)
print(
    f"{len(path.feature_l1)} points, feature_l1 from "
    f"{path.feature_l1[0]:.3g} to {path.feature_l1[-1]:.3g}"
)

# %%
# Reading the path
# ----------------
# We mark the best hold-out score, and among equally good points the one with
# the fewest columns (but at least one).
# :class:`~sk_reg.inspection.RegularizationPathDisplay` draws the number of
# columns kept and the hold-out accuracy against ``feature_l1`` (top), and the
# norm of each first-layer column (bottom), where we colour the real columns.
score = np.where(path.n_features_selected > 0, path.validation_score, -np.inf)
candidates = np.flatnonzero(score == score.max())
best = candidates[np.argmin(path.n_features_selected[candidates])]
display = RegularizationPathDisplay.from_path(path, chosen=best, show_norms=True)
for j in range(X.shape[1]):
    line = display.lines_[f"column {j}"]
    line.set_color("C3" if real[j] else "0.75")
    line.set_zorder(3 if real[j] else 2)
display.ax_.set_title("columns kept and hold-out accuracy (noise columns grey below)")
display.figure_.set_size_inches(8, 7)
display.figure_.set_layout_engine("constrained")
plt.show()

# %%
# How many of the kept columns are real, point by point: the noise columns die
# first.
n_real = (path.support & real).sum(axis=1)
for value, n, r, acc in zip(
    path.feature_l1,
    path.n_features_selected,
    n_real,
    path.validation_score,
    strict=True,
):
    print(f"feature_l1={value:8.4f}: {n:3d} columns ({r:2d} real), hold-out {acc:.3f}")

# %%
# Choosing a point and refitting
# ------------------------------
# The marked point's weights are shrunk by the penalty, so refit a model
# without ``feature_l1`` on the selected columns and measure it on the test
# part, which the path never saw.
support = path.support[best]
print(
    f"selected columns: {np.flatnonzero(support).tolist()} "
    f"({(support & real).sum()} of {support.sum()} real)"
)

refit = RegularizedNetClassifier((32,), random_state=0)
refit.fit(X_train[:, support], y_train)
dense = RegularizedNetClassifier((32,), random_state=0).fit(X_train, y_train)
print(
    f"test accuracy, refit on the selection: "
    f"{refit.score(X_test[:, support], y_test):.3f}"
)
print(f"test accuracy, all 130 columns:        {dense.score(X_test, y_test):.3f}")
