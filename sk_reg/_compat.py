"""The private APIs sk_reg uses, each behind a public fallback.

Private names of torch, scikit-learn and skorch can change in any release, so
none is used outside this module (``tests/test_compat.py`` scans the package),
and each has a fallback built from public code that is chosen when the private
name is missing, or always when the environment variable
``SK_REG_PUBLIC_ONLY=1`` is set at import (CI runs the whole suite so once).
The private paths are speed-ups, never requirements: the fallbacks compute the
same numbers (the list operations, the convolution types) or draw from the same
distribution (the Beta draws), or they send the work down the regular path (the
fused Adam kernel and the hand-written MLP backward give way to
``optimizer.step()`` and autograd); scikit-learn's parameter validation gives
way to :mod:`sk_reg._constraints`. ``tests/test_compat.py`` removes each
private name and checks the fallback.
"""

from __future__ import annotations

import functools
import os
from itertools import repeat
from numbers import Real

import numpy as np
import sklearn
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_array, check_is_fitted, check_non_negative
from torch import nn

from . import _constraints

#: Use no private API at all (``SK_REG_PUBLIC_ONLY=1``): every fallback.
PUBLIC_ONLY = os.environ.get("SK_REG_PUBLIC_ONLY", "") not in ("", "0")


def _private(owner, name):
    """``owner.name``, a private attribute, or None where it is missing or
    ``PUBLIC_ONLY`` is set (the one place that looks them up, so tests can
    take them away)."""
    if PUBLIC_ONLY:
        return None
    try:
        return getattr(owner, name, None)
    except RuntimeError:  # torch.ops raise it for unknown ops
        return None


# -- scikit-learn's parameter validation -----------------------------------------
def _sklearn_validation():
    """scikit-learn's private validation module, if it has every name used."""
    try:
        from sklearn.utils import _param_validation as module
    except ImportError:
        return None
    names = (
        "Interval",
        "StrOptions",
        "Options",
        "HasMethods",
        "InvalidParameterError",
        "validate_parameter_constraints",
        "validate_params",
    )
    found = [_private(module, name) for name in names]
    return None if any(f is None for f in found) else module


_VALIDATION = _sklearn_validation() or _constraints
Interval = _VALIDATION.Interval
StrOptions = _VALIDATION.StrOptions
Options = _VALIDATION.Options
HasMethods = _VALIDATION.HasMethods
#: scikit-learn's ``InvalidParameterError`` (a ValueError and a TypeError).
InvalidParameterError = _VALIDATION.InvalidParameterError
validate_params = _VALIDATION.validate_params


def check_params(obj):
    """Check ``obj.get_params(deep=False)`` against ``obj._parameter_constraints``
    (scikit-learn's ``BaseEstimator._validate_params``, by public means)."""
    _VALIDATION.validate_parameter_constraints(
        obj._parameter_constraints,
        obj.get_params(deep=False),
        caller_name=type(obj).__name__,
    )


def fit_context(fit):
    """Decorate ``fit``/``partial_fit``: validate the hyperparameters first
    (not in a ``partial_fit`` after the first), and skip the validation of
    scikit-learn objects called inside (scikit-learn's
    ``_fit_context(prefer_skip_nested_validation=True)``, from its public
    configuration)."""

    @functools.wraps(fit)
    def fit_method(estimator, *args, **kwargs):
        skip = sklearn.get_config().get("skip_parameter_validation", False)
        if not skip and not (fit.__name__ == "partial_fit" and _fitted(estimator)):
            check_params(estimator)
        with sklearn.config_context(skip_parameter_validation=True):
            return fit(estimator, *args, **kwargs)

    return fit_method


def _fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def check_sample_weight(sample_weight, X, dtype=None, ensure_non_negative=False):
    """``sample_weight`` as a float array of one weight per row of ``X``.

    None means ones and a number that weight for every row; arrays must be
    1-D, of length ``n_samples``, finite, not all zero (and non-negative when
    asked), or a ``ValueError`` says what is wrong (scikit-learn's private
    ``_check_sample_weight``, written with public parts).
    """
    n = X.shape[0]
    dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    if sample_weight is None:
        return np.ones(n, dtype=dtype)
    if isinstance(sample_weight, Real):
        return np.full(n, sample_weight, dtype=dtype)
    weights = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=[dtype, np.float64, np.float32],
        order="C",
        input_name="sample_weight",
    )
    if weights.ndim != 1:
        raise ValueError(
            f"sample_weight must be a 1-D array or a number; got shape {weights.shape}."
        )
    if weights.shape != (n,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected {(n,)}!")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if ensure_non_negative:
        check_non_negative(weights, "`sample_weight`")
    return weights


# -- lists of tensors ---------------------------------------------------------
def foreach(op, *args, **kwargs):
    """``torch._foreach_<op>(*args, **kwargs)``, or ``Tensor.<op>`` per tensor.

    ``args`` are lists of tensors (one per position) or scalars; an in-place
    ``op`` (``"add_"``) returns None, an out-of-place one a list.
    """
    fused = _private(torch, f"_foreach_{op}")
    if fused is not None:
        return fused(*args, **kwargs)
    method = getattr(torch.Tensor, op, None) or _into_first(getattr(torch, op[:-1]))
    columns = [a if isinstance(a, (list, tuple)) else repeat(a) for a in args]
    # scalars repeat without end: the lists set the length
    out = [method(*row, **kwargs) for row in zip(*columns, strict=False)]
    return None if op.endswith("_") else out


def _into_first(function):
    """An in-place form of ``function`` (``maximum`` has no ``maximum_``)."""

    def inplace(first, *rest, **kwargs):
        return function(first, *rest, out=first, **kwargs)

    return inplace


# -- Adam ---------------------------------------------------------------------
def fused_adam_kernel(decoupled):
    """torch's fused CPU Adam (``decoupled``: AdamW) kernel, or None."""
    return _private(torch, "_fused_adamw_" if decoupled else "_fused_adam_")


def optimizer_hooked(optimizer):
    """Whether step hooks are registered on ``optimizer`` or globally (True
    when torch does not expose them where this looks: assume the worst)."""
    from torch.optim import optimizer as module

    if PUBLIC_ONLY:
        return True
    try:
        return bool(
            optimizer._optimizer_step_pre_hooks
            or optimizer._optimizer_step_post_hooks
            or module._global_optimizer_pre_hooks
            or module._global_optimizer_post_hooks
        )
    except AttributeError:
        return True


# -- modules ------------------------------------------------------------------
def module_hooked(layer):
    """Whether ``layer`` has forward or backward hooks (True when torch does
    not expose them where this looks)."""
    if PUBLIC_ONLY:
        return True
    try:
        return bool(
            layer._forward_hooks
            or layer._forward_pre_hooks
            or layer._backward_hooks
            or getattr(layer, "_backward_pre_hooks", None)
        )
    except AttributeError:
        return True


_PUBLIC_CONV_TYPES = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
#: Every convolution layer type (their private base class, or the public ones).
_CONV_BASE = _private(nn.modules.conv, "_ConvNd")
CONV_TYPES = _PUBLIC_CONV_TYPES if _CONV_BASE is None else (_CONV_BASE,)


def activation_backward(name):
    """aten's ``<name>_backward`` op (``"threshold"``, ``"tanh"``,
    ``"sigmoid"``), or None: then the hand-written MLP step is not used."""
    op = _private(torch.ops.aten, f"{name}_backward")
    return None if op is None else op.default


# -- random draws -------------------------------------------------------------
def sample_beta(alpha, n, *, dtype, device, generator):
    """``n`` draws of Beta(alpha, alpha) from ``generator``.

    The first coordinate of a Dirichlet, as ``Beta.sample`` draws it (whose
    public form takes no generator); without that sampler, numpy draws from a
    seed taken from ``generator``.
    """
    sampler = _private(torch, "_sample_dirichlet")
    if sampler is not None:
        concentration = torch.full((n, 2), float(alpha), dtype=dtype, device=device)
        return sampler(concentration, generator=generator)[:, 0]
    seed = int(torch.randint(2**62, (), generator=generator, device=device))
    draws = np.random.default_rng(seed).beta(alpha, alpha, n)
    return torch.as_tensor(draws, dtype=dtype, device=device)
