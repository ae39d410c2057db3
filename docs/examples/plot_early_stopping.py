"""
====================================================
Learning curves with and without early stopping
====================================================

Early stopping watches the loss on a held-out part of the training data and
keeps the weights of the epoch where it was lowest. Here we plot the
per-epoch training and validation losses that the fitted estimator keeps in
``net_.history``.

Both models below hold out the same 20% of the training images (the split is
seeded by ``random_state``). The first one never stops early
(``n_iter_no_change`` is larger than ``max_iter``), so its curves show what
happens when training goes on; the second stops after 10 epochs without
improvement and restores the best epoch.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from sk_reg import RegularizedNetClassifier, RegularizedNetClassifierCV
from sk_reg.inspection import SearchDisplay, TrainingHistoryDisplay

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=400, stratify=y, random_state=0
)

common = dict(
    hidden_layer_sizes=(256,),
    l2=0.0,
    learning_rate_init=1e-2,
    early_stopping=True,
    scoring="loss",
    validation_fraction=0.2,
    max_iter=100,
    random_state=0,
)
long_run = RegularizedNetClassifier(**common, n_iter_no_change=1000)
stopped = RegularizedNetClassifier(**common, n_iter_no_change=10)
for model in (long_run, stopped):
    model.fit(X_train, y_train)

# %%
# The history has one row per epoch with the training loss (``train_loss``,
# without the penalties) and the loss on the held-out rows (``valid_loss``).
# :class:`~sk_reg.inspection.TrainingHistoryDisplay` draws them, and marks
# the epoch whose weights early stopping restored.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
for ax, model, title in [
    (axes[0], long_run, "run not stopped (100 epochs)"),
    (axes[1], stopped, "stopped after 10 epochs without improvement"),
]:
    display = TrainingHistoryDisplay.from_estimator(model, ax=ax)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
plt.show()

# %%
# Training is deterministic on a CPU with a fixed ``random_state``, so the
# right-hand curves are the first epochs of the left-hand ones. The training
# loss keeps falling towards zero, while the validation loss reaches its
# minimum early and then drifts upwards: the network grows over-confident on
# the images it memorised. Early stopping keeps the weights of the minimum
# (the vertical line) and saves the remaining epochs.
#
# To compare with training that really has no early stopping, fit the same
# network with ``early_stopping=False`` (it trains on all 400 images until the
# training loss stops improving or ``max_iter`` is reached) and score both on
# the 1397 test images. (``long_run`` is not that model: with
# ``early_stopping=True`` it too restores its best epoch at the end.)
plain = RegularizedNetClassifier(
    hidden_layer_sizes=(256,),
    l2=0.0,
    learning_rate_init=1e-2,
    max_iter=100,
    random_state=0,
).fit(X_train, y_train)
for name, model in [("no early stopping", plain), ("early stopping", stopped)]:
    print(
        f"{name:>18}: {model.n_iter_:3d} epochs, test accuracy "
        f"{model.score(X_test, y_test):.3f}, test log-loss "
        f"{log_loss(y_test, model.predict_proba(X_test)):.3f}"
    )

# %%
# Early stopping is not free: the 80 held-out images do not train the model.
# On a training set this small, that can cost as much as over-training does,
# so compare both on held-out data (or let a search choose ``early_stopping``
# by cross-validation) rather than assuming that it helps; its sure gain is
# the training time it saves.

# %%
# Letting a search decide
# -----------------------
# :class:`~sk_reg.RegularizedNetClassifierCV` trains a curated set of
# regularization candidates on a held-out fifth of the rows, every one with
# early stopping, keeps the best third after each rung of epochs, and refits
# the best four on all rows. :class:`~sk_reg.inspection.SearchDisplay` draws
# each candidate's hold-out score after each rung it reached; the refitted
# ones are drawn thick, with their parameters.
search = RegularizedNetClassifierCV(random_state=0, verbose=1).fit(X_train, y_train)
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
SearchDisplay.from_estimator(search, ax=ax)
ax.grid(alpha=0.3)
plt.show()
print(f"search: test accuracy {search.score(X_test, y_test):.3f}")
