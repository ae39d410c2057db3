"""
==============================================
L1 sparsity and feature selection
==============================================

``l1`` soft-thresholds the weights after every optimizer step (a proximal
step), which sets weights to *exactly* zero. When every first-layer weight
reading an input column is zero, the network ignores that column, its
``feature_importances_`` entry is 0, and
:class:`~sklearn.feature_selection.SelectFromModel` can drop it.

We build data whose labels depend on 4 of 30 columns and look at the first
layer of networks trained with increasing ``l1``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from sk_reg import RegularizedNetClassifier

rng = np.random.RandomState(0)
X = rng.randn(600, 30)
# Only columns 0-3 are informative; the other 26 are noise.
y = (X[:, 0] + X[:, 1] - X[:, 2] + 0.5 * X[:, 3] > 0).astype(int)

strengths = [0.0, 1e-3, 1e-2]
models = [
    RegularizedNetClassifier((32,), l1=l1, l2=0.0, max_iter=150, random_state=0).fit(
        X, y
    )
    for l1 in strengths
]

# %%
# The first layer's weights
# -------------------------
# Each panel is the 32 x 30 weight matrix of the first layer (hidden units in
# rows, input columns in columns); white means exactly zero.
fig, axes = plt.subplots(1, 3, figsize=(12, 4.5), sharey=True, layout="constrained")
for ax, l1, model in zip(axes, strengths, models, strict=True):
    W = model.net_.module_[0].weight.detach().numpy()
    magnitude = np.abs(W)
    shown = np.ma.masked_where(magnitude == 0, magnitude)
    image = ax.imshow(shown, cmap="viridis", aspect="auto", interpolation="nearest")
    ax.axvline(3.5, color="red", linewidth=1)
    zero_columns = int((magnitude[:, 4:].max(axis=0) == 0).sum())
    ax.set_title(
        f"l1={l1:g}\n{(W == 0).mean():.0%} of weights zero,\n"
        f"{zero_columns} of 26 noise columns all-zero"
    )
axes[0].set_ylabel("hidden unit")
fig.supxlabel("input column (left of the red line: the 4 informative ones)")
fig.colorbar(image, ax=axes, label="|weight|", shrink=0.8)
plt.show()

# %%
# Without ``l1`` no weight is zero. ``l1=0.001`` zeroes about half of the
# weights but no whole column. With ``l1=0.01`` most noise columns are
# entirely zero (and so are several hidden units, the all-white rows):
# proximal Adam scales the threshold by each weight's inverse gradient
# magnitude, so the weights that read noise, whose gradients are small, are
# the first to go, while the 4 informative columns stay dense.
#
# Feature importances and SelectFromModel
# ---------------------------------------
# ``feature_importances_`` is the mean absolute first-layer weight of each
# column, normalised to sum to one: exactly 0 for an all-zero column.
sparse = models[-1]
fig, ax = plt.subplots(figsize=(8, 3))
colors = ["C3"] * 4 + ["C0"] * 26
ax.bar(range(30), sparse.feature_importances_, color=colors)
ax.set_xlabel("input column (red: informative)")
ax.set_ylabel("feature importance")
ax.set_title("feature_importances_ with l1=0.01")
plt.show()

# %%
# A small positive ``threshold`` keeps every column with a non-zero weight
# (the default threshold, the mean importance, would also drop weaker
# informative columns).
selector = SelectFromModel(sparse, prefit=True, threshold=1e-12)
print("kept columns:", np.flatnonzero(selector.get_support()).tolist())

# %%
# In a pipeline, the selection is refitted inside every cross-validation fold,
# so the score below is an honest estimate of selecting and then classifying.
pipe = make_pipeline(
    SelectFromModel(
        RegularizedNetClassifier((32,), l1=0.01, l2=0.0, max_iter=150, random_state=0),
        threshold=1e-12,
    ),
    LogisticRegression(),
)
print(
    f"selection + logistic regression, 3-fold accuracy: "
    f"{cross_val_score(pipe, X, y, cv=3).mean():.3f}"
)
print(
    f"logistic regression on all 30 columns:             "
    f"{cross_val_score(LogisticRegression(), X, y, cv=3).mean():.3f}"
)
