"""Regularization path of ``feature_l1``: feature selection along warm starts."""

from __future__ import annotations

import copy
import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_array

from ._compat import Interval, validate_params
from ._holdout import holdout_labels
from ._training import _quiet_stop_warnings
from .modules import first_linear_weight

__all__ = ["regularization_path"]


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "values": ["array-like", None],
        "n_values": [Interval(Integral, 2, None, closed="left")],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "max_iter_per_value": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "scoring": [str, callable, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=False,  # the estimator is validated by its fit
)
def regularization_path(
    estimator,
    X,
    y,
    *,
    values=None,
    n_values=20,
    eps=1e-2,
    max_iter_per_value=20,
    validation_fraction=0.2,
    scoring=None,
    random_state=None,
    verbose=0,
):
    """Train along increasing ``feature_l1`` values with warm starts.

    The data are split once into a training part and a hold-out. A clone of
    ``estimator`` is first fitted on the training part without ``feature_l1``
    (a dense model, ``max_iter`` epochs with the estimator's stopping rule).
    Then, for each value in increasing order, ``feature_l1`` is set and
    training continues from the previous weights and optimizer state
    (``warm_start=True``) for at most ``max_iter_per_value`` epochs: as
    :func:`~sklearn.linear_model.lasso_path` and LassoNet do, the path goes
    from dense to sparse, each point starting close to its solution. After
    each point the live input columns (non-zero first-layer columns) are
    recorded with the training and hold-out scores.

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        The model (unfitted; it is cloned). Its hyperparameters apply along
        the whole path, except ``feature_l1``, ``warm_start`` and
        ``early_stopping`` (off: the path has its own hold-out). Standardise
        the features beforehand: the group penalty compares columns.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.

    values : array-like of shape (n_values,), default=None
        The ``feature_l1`` values, sorted increasingly before use. None
        derives them from the dense model: ``lambda_max``, the largest norm
        of the loss gradient with respect to a first-layer column when the
        first layer is set to zero (the value above which all-zero inputs are
        a fixed point of the proximal step, the network's analogue of
        :func:`~sklearn.linear_model.lasso_path`'s ``alpha_max``), then
        ``n_values`` values from ``eps * lambda_max`` to ``lambda_max`` on a
        geometric grid, extended with the same ratio (at most ``n_values``
        more) until no column is left: the hidden layers can partly offset a
        shrinking first layer, so columns may survive beyond ``lambda_max``.

    n_values : int, default=20
        Number of default values between ``eps * lambda_max`` and
        ``lambda_max``; ignored when ``values`` is given.

    eps : float, default=1e-2
        Ratio of the smallest to the largest default value.

    max_iter_per_value : int, default=20
        Most epochs per value after the dense fit (the estimator's stopping
        rule, ``n_iter_no_change`` and ``tol``, may stop earlier).

    validation_fraction : float, default=0.2
        Fraction of the data held out for ``validation_score`` (stratified
        for classifiers).

    scoring : str, callable or None, default=None
        Scorer for ``train_score`` and ``validation_score``; None uses the
        estimator's ``score`` (accuracy or R^2).

    random_state : int, RandomState instance or None, default=None
        Seeds the hold-out split.

    verbose : int, default=0
        0 prints nothing; 1 prints a line after the dense fit and one per
        value (columns kept, hold-out score, epochs, elapsed time).

    Returns
    -------
    path : sklearn.utils.Bunch
        With ``feature_l1`` (n_points,), the values trained (not named
        ``values``, which a ``Bunch``, being a dict, reserves for its method);
        ``support`` (n_points, n_features), bool, the live input columns;
        ``n_features_selected`` (n_points,); ``feature_norms``
        (n_points, n_features), the Euclidean norm of each first-layer
        column; ``train_score`` and ``validation_score`` (n_points,);
        ``n_iter`` (n_points,), epochs trained at each value;
        ``n_iter_dense``, epochs of the dense fit; ``lambda_max`` (None when
        ``values`` was given). ``n_points`` is ``len(values)`` when values
        are given.

    See Also
    --------
    sklearn.linear_model.lasso_path : The path of a linear Lasso.

    Notes
    -----
    The path selects features; the weights at a point are biased towards
    zero by the penalty. To use a selection, refit the estimator without
    ``feature_l1`` on the selected columns, ``X[:, path.support[i]]``, and
    judge it on data the path did not see.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_reg import RegularizedNetClassifier, regularization_path
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 10)
    >>> y = (X[:, 0] - X[:, 1] > 0).astype(int)
    >>> clf = RegularizedNetClassifier((16,), l2=0.0, learning_rate_init=1e-2,
    ...                                max_iter=100, random_state=0)
    >>> path = regularization_path(clf, X, y, random_state=0)
    >>> int(path.n_features_selected[0]) > 5, int(path.n_features_selected[-1])
    (True, 0)
    >>> two = np.flatnonzero(path.n_features_selected == 2)[0]
    >>> np.flatnonzero(path.support[two]).tolist()
    [0, 1]
    """
    model = clone(estimator)
    if "feature_l1" not in model.get_params(deep=False):
        raise TypeError(
            "regularization_path needs an estimator with a 'feature_l1' "
            f"parameter (RegularizedNetClassifier or RegularizedNetRegressor); "
            f"got {type(estimator).__name__}."
        )
    X_train, X_valid, y_train, y_valid = _holdout(
        model, X, y, validation_fraction, random_state
    )
    scorer = check_scoring(model, scoring=scoring)
    model.set_params(feature_l1=0.0, warm_start=True, early_stopping=False)
    say = _Progress(verbose)
    with _quiet_stop_warnings("max_iter"):
        model.fit(X_train, y_train)
        n_iter_dense = model.n_iter_
        lambda_max = None
        if values is None:
            lambda_max = _feature_l1_max(model, X_train, y_train)
            grid = lambda_max * np.geomspace(eps, 1.0, n_values)
            ratio = grid[1] / grid[0]
            grid = np.concatenate(
                [grid, grid[-1] * ratio ** np.arange(1, n_values + 1)]
            )
        else:
            grid = np.sort(np.asarray(values, dtype=float).ravel())
            if not np.all(np.isfinite(grid) & (grid >= 0)) or grid.size == 0:
                raise ValueError(
                    f"values must be finite non-negative numbers; got {values!r}."
                )
        model.set_params(max_iter=max_iter_per_value)
        say(f"dense fit: {n_iter_dense} epochs, {len(grid)} values to walk")
        points = _walk(
            model,
            grid,
            scorer,
            (X_train, y_train, X_valid, y_valid),
            stop_when_empty=values is None,
            say=say,
        )
    return Bunch(**points, n_iter_dense=n_iter_dense, lambda_max=lambda_max)


class _Progress:
    """``regularization_path``'s progress lines (printed when ``verbose``)."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.start = time.perf_counter()

    def __call__(self, message):
        if self.verbose:
            elapsed = time.perf_counter() - self.start
            print(f"[regularization_path] {message}; {elapsed:.1f} s", flush=True)


def _walk(model, grid, scorer, data, *, stop_when_empty, say):
    """Fit ``model`` at each value of ``grid`` in turn; collect the points."""
    X_train, y_train, X_valid, y_valid = data
    rows = []
    for k, value in enumerate(grid):
        epochs_before = model.n_iter_
        model.set_params(feature_l1=float(value)).fit(X_train, y_train)
        norms = _column_norms(model)
        rows.append(
            (
                value,
                norms,
                scorer(model, X_train, y_train),
                scorer(model, X_valid, y_valid),
                model.n_iter_ - epochs_before,
            )
        )
        say(
            f"value {k + 1}/{len(grid)}, feature_l1={value:.3g}: "
            f"{int((norms > 0).sum())} columns, hold-out score {rows[-1][3]:.4g}, "
            f"{rows[-1][4]} epochs"
        )
        if stop_when_empty and not norms.any():
            break
    columns = (np.asarray(c) for c in zip(*rows, strict=True))
    values, norms, train, valid, n_iter = columns
    support = norms > 0
    return {
        "feature_l1": values,
        "support": support,
        "n_features_selected": support.sum(axis=1),
        "feature_norms": norms,
        "train_score": train,
        "validation_score": valid,
        "n_iter": n_iter,
    }


def _column_norms(model):
    weight = first_linear_weight(model.net_.module_, model.n_features_in_)
    return torch.linalg.vector_norm(weight.detach(), dim=0).double().cpu().numpy()


def _feature_l1_max(model, X, y, max_rows=10_000):
    """Largest first-layer column gradient norm of the training loss at W1 = 0.

    The rest of the fitted network is kept; evaluated in eval mode (no
    dropout) on at most ``max_rows`` rows.
    """
    net = model.net_
    module = copy.deepcopy(net.module_).train(False)
    weight = first_linear_weight(module, model.n_features_in_)
    with torch.no_grad():
        weight.zero_()
    X = check_array(X, dtype=(np.float64, np.float32), accept_sparse="csr")[:max_rows]
    y_enc, _ = model._set_and_encode_targets(np.asarray(y)[:max_rows], first_call=False)
    X_t = model._to_tensor(X, model._dtype, net.device)
    y_t = torch.as_tensor(
        np.asarray(y_enc),
        device=net.device,
        dtype=model._loss_class().target_dtype(model._dtype),
    )
    loss = net.criterion_(module(X_t), y_t).mean()
    (grad,) = torch.autograd.grad(loss, weight)
    value = float(torch.linalg.vector_norm(grad, dim=0).max())
    if value <= 0:
        raise ValueError(
            "Cannot derive feature_l1 values: the loss does not depend on the "
            "first layer when it is zero (all hidden units inactive). Pass "
            "'values' explicitly."
        )
    return value


def _holdout(model, X, y, fraction, random_state):
    """``X_train, X_valid, y_train, y_valid`` by sk_reg's hold-out policy
    (stratified where possible for single-label classification, else warned)."""
    labels = y if is_classifier(model) and np.ndim(y) == 1 else None
    return train_test_split(
        X,
        y,
        test_size=fraction,
        random_state=random_state,
        stratify=holdout_labels(labels, len(y), fraction, who="regularization_path"),
    )
