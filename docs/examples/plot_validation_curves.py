"""
============================================
Validation curves of ``l2`` and ``dropout``
============================================

How strong should a regularizer be? A validation curve answers by
cross-validation: it fits the model for each value of one hyperparameter and
plots the training and validation scores. Too little regularization leaves a
gap between the two (over-fitting); too much pulls both down (under-fitting).

We use 500 of the 8x8 digits images, few enough for a network with 256
hidden units to over-fit, and scikit-learn's
:class:`~sklearn.model_selection.ValidationCurveDisplay`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, ValidationCurveDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_reg import RegularizedNetClassifier

X, y = load_digits(return_X_y=True)
X, y = X[:500], y[:500]

# The base model has every regularizer off (``l2=0.0``; the estimator's default
# is ``l2=1e-4``, as MLPClassifier's ``alpha``); each curve varies one of them.
model = make_pipeline(
    StandardScaler(),
    RegularizedNetClassifier((256,), l2=0.0, max_iter=60, random_state=0),
)
cv = StratifiedKFold(3, shuffle=True, random_state=0)

# %%
# ``l2`` is scaled like ``MLPClassifier``'s ``alpha`` (per batch, divided by the
# batch size), so useful values span several orders of magnitude. Dropout is a
# probability.
fig, (ax_l2, ax_drop) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
ValidationCurveDisplay.from_estimator(
    model,
    X,
    y,
    param_name="regularizednetclassifier__l2",
    param_range=np.logspace(-2, 2, 5),
    cv=cv,
    ax=ax_l2,
    score_name="accuracy",
)
ax_l2.set_xscale("log")
ax_l2.set_xlabel("l2")
ValidationCurveDisplay.from_estimator(
    model,
    X,
    y,
    param_name="regularizednetclassifier__dropout",
    param_range=[0.0, 0.25, 0.5, 0.75],
    cv=cv,
    ax=ax_drop,
    score_name="accuracy",
)
ax_drop.set_xlabel("dropout")
for ax in (ax_l2, ax_drop):
    ax.set_ylim(0.7, 1.01)
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %%
# Up to ``l2=1`` the training accuracy stays at 1 and the validation accuracy
# is flat: on this data the unregularized network does not over-fit much that
# an L2 penalty can repair. From ``l2=10`` both curves fall together, the
# signature of under-fitting: the penalty now dominates the loss. Dropout
# moves the scores much less on this small, clean data set; only at high
# rates does it begin to cost accuracy. The curves are averages over three
# folds of 333 training images, so differences of one percent are within the
# noise: :doc:`/regularization_study` uses repeated splits for that reason.
