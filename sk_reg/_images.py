"""Image shapes: viewing rows of ``X`` as ``(C, H, W)`` images and back.

The estimators keep ``X`` two-dimensional everywhere scikit-learn looks at it
(``validate_data``, ``n_features_in_``, pipelines); images only exist inside
the module and the augmentations, which reshape each batch with
``input_shape``. A 4-D ``X`` of shape ``(n, C, H, W)`` is flattened to rows
before validation.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ._compat import InvalidParameterError


def check_input_shape_param(input_shape) -> None:
    """Raise ``InvalidParameterError`` unless ``input_shape`` is None or
    ``(C, H, W)`` of positive ints, with at most one ``-1`` (inferred)."""
    if input_shape is None:
        return
    dims = list(input_shape)
    if (
        len(dims) != 3
        or not all(isinstance(d, Integral) and (d > 0 or d == -1) for d in dims)
        or dims.count(-1) > 1
    ):
        raise InvalidParameterError(
            "The 'input_shape' parameter must be None or (channels, height, width): "
            "three positive ints, one of which may be -1 (inferred from the number "
            f"of features, as in numpy.reshape); got {input_shape!r}."
        )


def resolve_input_shape(input_shape, n_features: int) -> tuple[int, int, int] | None:
    """``input_shape`` with any ``-1`` filled in from ``n_features``.

    Raises ``ValueError`` when the image size does not match ``n_features``.
    """
    if input_shape is None:
        return None
    dims = [int(d) for d in input_shape]
    known = int(np.prod([d for d in dims if d != -1]))
    if -1 in dims and known > 0 and n_features % known == 0:
        dims[dims.index(-1)] = n_features // known
    if int(np.prod(dims)) != n_features:
        raise ValueError(
            f"input_shape={tuple(input_shape)!r} does not fit rows of {n_features} "
            f"features: the product of the shape must equal the number of features "
            f"(images of shape (C, H, W) are flattened to C*H*W columns)."
        )
    return tuple(dims)


def _shape_matches(shape, input_shape) -> bool:
    return len(shape) == len(input_shape) and all(
        int(e) in (-1, s) for s, e in zip(shape, input_shape, strict=True)
    )


def images_as_rows(X, input_shape, *, infer: bool):
    """Flatten a 4-D ``X`` of images ``(n, C, H, W)`` to ``(n, C*H*W)``.

    Parameters
    ----------
    X : array-like
        Input data; only 4-D arrays (anything with ``ndim == 4``) are changed.

    input_shape : tuple of int or None
        The expected image shape; ``X.shape[1:]`` must match it (``-1`` matches
        any size).

    infer : bool
        When ``input_shape`` is None, take the image shape from a 4-D ``X``
        (in ``fit``); otherwise leave such an ``X`` to the usual validation,
        which rejects it (a model fitted on tabular data).

    Returns
    -------
    X : array-like
        ``X`` itself, or its 2-D view.

    input_shape : tuple of int or None
        ``input_shape``, or the image shape inferred from ``X``.
    """
    if getattr(X, "ndim", None) != 4 or (input_shape is None and not infer):
        return X, input_shape
    X = np.asarray(X)
    shape = X.shape[1:]
    if input_shape is not None and not _shape_matches(shape, input_shape):
        raise ValueError(
            f"X holds images of shape {shape} but input_shape is "
            f"{tuple(input_shape)!r}."
        )
    return X.reshape(len(X), -1), input_shape if input_shape is not None else shape
