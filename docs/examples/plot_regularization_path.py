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
# Left: the hold-out accuracy of each point against the number of columns it
# keeps (the numbers: how many of them are real). Right: the norm of each
# first-layer column along the path; noise columns (grey) die first.
n_real = (path.support & real).sum(axis=1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
ax1.plot(path.n_features_selected, path.validation_score, "o")
for n, score, r in zip(
    path.n_features_selected, path.validation_score, n_real, strict=True
):
    ax1.annotate(
        str(r),
        (n, score),
        textcoords="offset points",
        xytext=(0, 6),
        ha="center",
        fontsize=8,
    )
ax1.set_xscale("symlog", linthresh=10)
ax1.set_xlabel("number of selected columns")
ax1.set_ylabel("hold-out accuracy")
ax1.set_title("validation score along the path\n(labels: real columns kept)")
for j in np.flatnonzero(~real):
    ax2.plot(path.feature_l1, path.feature_norms[:, j], color="0.7", lw=0.8)
for j in np.flatnonzero(real):
    ax2.plot(path.feature_l1, path.feature_norms[:, j], color="C3", lw=1)
ax2.set_xscale("log")
ax2.set_xlabel("feature_l1")
ax2.set_ylabel("||W1[:, j]||")
ax2.set_title("column norms (red: real, grey: noise)")
plt.show()

# %%
# Choosing a point and refitting
# ------------------------------
# Take the best hold-out score, and among equally good points the one with the
# fewest columns. Its weights are shrunk by the penalty, so refit a model
# without ``feature_l1`` on the selected columns and measure it on the test
# part, which the path never saw.
score = np.where(path.n_features_selected > 0, path.validation_score, -np.inf)
candidates = np.flatnonzero(score == score.max())
best = candidates[np.argmin(path.n_features_selected[candidates])]
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
