"""sk_reg's one hold-out policy: early stopping, the CV search and
:func:`~sk_reg.regularization_path` split their rows here.

``ceil(validation_fraction * n)`` rows are held out at random
(``train_test_split`` with the caller's seed), stratified by class for
single-label classification when that is possible: every class has at least
two members, and each side has room for one row of every class. When it is
not possible, early stopping and ``regularization_path`` hold rows out without
stratification and warn (``MLPClassifier`` would raise), while the CV search
raises: it compares its candidates on the hold-out, which must see every
class. Each caller checks its own minimum sizes first.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.model_selection import train_test_split


def n_validation(n, fraction):
    """The number of held-out rows: ``ceil(fraction * n)``.

    Examples
    --------
    >>> from sk_reg._holdout import n_validation
    >>> n_validation(101, 0.1)
    11
    """
    return math.ceil(fraction * n)


def holdout_labels(labels, n, fraction, *, strict=False, who="early_stopping"):
    """``labels`` if a stratified hold-out of them is possible, else None.

    Parameters
    ----------
    labels : array-like of shape (n,) or None
        Class labels to stratify by; None for no stratification.
    n : int
        Number of rows.
    fraction : float
        The held-out fraction.
    strict : bool, default=False
        Raise a ``ValueError`` instead of warning and returning None.
    who : str, default="early_stopping"
        What splits, for the warning.

    Returns
    -------
    labels : array-like or None

    Examples
    --------
    >>> import warnings
    >>> from sk_reg._holdout import holdout_labels
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     holdout_labels([0, 0, 0, 1], 4, 0.5) is None, len(caught)
    (True, 1)
    """
    if labels is None:
        return None
    counts = np.unique(labels, return_counts=True)[1]
    n_valid = n_validation(n, fraction)
    if counts.min() >= 2 and len(counts) <= min(n_valid, n - n_valid):
        return labels
    problem = (
        f"the rarest class has {counts.min()} member(s); {len(counts)} classes "
        f"for {n_valid} validation rows"
    )
    if strict:
        raise ValueError(
            f"A stratified hold-out of validation_fraction={fraction} is "
            f"impossible here ({problem}): it needs 2 samples of every class and "
            "room for each class on both sides."
        )
    warnings.warn(
        f"{who}: a stratified validation split is impossible here ({problem}), so "
        "the validation rows are drawn without stratification.",
        UserWarning,
        stacklevel=3,
    )
    return None


def holdout_rows(n, fraction, seed, labels=None, *, strict=False):
    """Row indices ``(train, validation)`` of the hold-out (module docstring).

    Examples
    --------
    >>> from sk_reg._holdout import holdout_rows
    >>> train, valid = holdout_rows(10, 0.2, seed=0, labels=[0, 1] * 5)
    >>> len(train), len(valid)
    (8, 2)
    """
    labels = holdout_labels(labels, n, fraction, strict=strict)
    return train_test_split(
        np.arange(n),
        test_size=n_validation(n, fraction),
        stratify=labels,
        random_state=seed,
    )
