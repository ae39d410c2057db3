"""Hyperparameter constraints from public Python only: the fallback of
scikit-learn's private parameter-validation module (reached only through
:mod:`sk_reg._compat`).

:mod:`sk_reg._compat` uses scikit-learn's own classes where that module has
them (so errors are scikit-learn's ``InvalidParameterError``) and these
otherwise. They cover the constraint kinds sk_reg's ``_parameter_constraints``
use: ``Interval``, ``StrOptions``, ``Options``, ``HasMethods``, types,
``None``, ``callable`` and the strings ``"boolean"``, ``"random_state"``,
``"array-like"``, ``"sparse matrix"`` and ``"verbose"``, with messages of the
same form ("The 'l1' parameter of X must be ... Got ... instead.").
"""

from __future__ import annotations

import functools
import inspect
from numbers import Integral, Real

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A hyperparameter of the wrong type or value.

    Examples
    --------
    >>> from sk_reg._constraints import InvalidParameterError
    >>> issubclass(InvalidParameterError, ValueError)
    True
    """


class Interval:
    """Numbers of ``type`` between ``left`` and ``right`` (None: unbounded).

    Examples
    --------
    >>> from numbers import Real
    >>> from sk_reg._constraints import Interval
    >>> Interval(Real, 0, 1, closed="left").is_satisfied_by(1.0)
    False
    """

    def __init__(self, type, left, right, *, closed):
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, val):
        if not isinstance(val, self.type):
            return False
        if not isinstance(val, Integral) and np.isnan(val):
            return False
        left = -np.inf if self.left is None else self.left
        right = np.inf if self.right is None else self.right
        low = val >= left if self.closed in ("left", "both") else val > left
        high = val <= right if self.closed in ("right", "both") else val < right
        return bool(low and high)

    def __str__(self):
        kind = "an int" if self.type is Integral else "a float"
        low = "[" if self.closed in ("left", "both") else "("
        high = "]" if self.closed in ("right", "both") else ")"
        left, right = (
            ("-inf" if self.left is None else self.left),
            ("inf" if self.right is None else self.right),
        )
        if self.type is not Integral:  # bounds of float ranges print as floats
            left, right = (
                float(b) if isinstance(b, Real) else b for b in (left, right)
            )
        return f"{kind} in the range {low}{left}, {right}{high}"


class Options:
    """One of ``options``, of type ``type``."""

    def __init__(self, type, options):
        self.type, self.options = type, options

    def is_satisfied_by(self, val):
        return isinstance(val, self.type) and val in self.options

    def __str__(self):
        listed = ", ".join(repr(o) for o in sorted(self.options, key=repr))
        return f"a {self.type.__name__} among {{{listed}}}"


class StrOptions(Options):
    """One of the strings ``options``."""

    def __init__(self, options):
        super().__init__(str, options)


class HasMethods:
    """An object with every method of ``methods``."""

    def __init__(self, methods):
        self.methods = [methods] if isinstance(methods, str) else list(methods)

    def is_satisfied_by(self, val):
        return all(callable(getattr(val, m, None)) for m in self.methods)

    def __str__(self):
        return f"an object implementing {', '.join(map(repr, self.methods))}"


class _Check:
    def __init__(self, test, text):
        self.is_satisfied_by, self.text = test, text

    def __str__(self):
        return self.text


def _random_state(val):
    return (
        val is None
        or isinstance(val, np.random.RandomState)
        or (isinstance(val, Integral) and 0 <= val < 2**32)
    )


def _array_like(val):
    sized = any(hasattr(val, a) for a in ("__len__", "shape", "__array__"))
    return sized and not np.isscalar(val)


def _verbose(val):
    return isinstance(val, (bool, np.bool_)) or (isinstance(val, Integral) and val >= 0)


_NAMED = {
    "boolean": _Check(lambda v: isinstance(v, (bool, np.bool_)), "a bool"),
    "random_state": _Check(_random_state, "an int, a RandomState instance or None"),
    "array-like": _Check(_array_like, "an array-like"),
    "sparse matrix": _Check(lambda v: hasattr(v, "tocsr"), "a sparse matrix"),
    "verbose": _Check(_verbose, "an int in the range [0, inf) or a bool"),
}


def _constraint(c):
    """A constraint object for an entry of a ``_parameter_constraints`` list."""
    if c is None:
        return _Check(lambda v: v is None, "None")
    if c is callable:
        return _Check(callable, "a callable")
    if isinstance(c, str):
        return _NAMED[c]
    if isinstance(c, type):
        name = f"{c.__module__}.{c.__qualname__}".removeprefix("builtins.")
        return _Check(lambda v: isinstance(v, c), f"an instance of {name!r}")
    return c  # Interval, Options, HasMethods, or scikit-learn's own


def validate_parameter_constraints(parameter_constraints, params, caller_name):
    """Raise :class:`InvalidParameterError` for the first parameter of
    ``params`` that meets none of its constraints.

    Examples
    --------
    >>> from sk_reg._constraints import validate_parameter_constraints
    >>> try:
    ...     validate_parameter_constraints({"n": [None]}, {"n": 3}, "f")
    ... except ValueError as exc:
    ...     print(exc)
    The 'n' parameter of f must be None. Got 3 instead.
    """
    for name, value in params.items():
        listed = parameter_constraints.get(name, "no_validation")
        if listed == "no_validation":
            continue
        constraints = [_constraint(c) for c in listed]
        if any(c.is_satisfied_by(value) for c in constraints):
            continue
        texts = [str(c) for c in constraints]
        joined = (
            texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
        )
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller_name} must be {joined}. "
            f"Got {value!r} instead."
        )


def validate_params(parameter_constraints, *, prefer_skip_nested_validation):
    """Decorator: check a function's arguments against ``parameter_constraints``.

    Examples
    --------
    >>> from numbers import Integral
    >>> from sk_reg._constraints import Interval, validate_params
    >>> @validate_params(
    ...     {"n": [Interval(Integral, 1, None, closed="left")]},
    ...     prefer_skip_nested_validation=True,
    ... )
    ... def f(n):
    ...     return n
    >>> try:
    ...     f(0)
    ... except ValueError as exc:
    ...     print(exc)
    The 'n' parameter of f must be an int in the range [1, inf). Got 0 instead.
    """

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def checked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            validate_parameter_constraints(
                parameter_constraints, bound.arguments, function.__qualname__
            )
            return function(*args, **kwargs)

        return checked

    return decorate
