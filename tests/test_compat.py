"""Each private torch API sk_reg uses has a working public fallback.

Every test removes the private name (as a torch release might) and checks
that the fallback computes the same numbers, draws from the same
distribution, or sends the work down the regular path with the same result.
"""

import importlib

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from sk_reg import (
    RegularizedNetClassifier,
    _activations,
    _compat,
    _fast_mlp,
    _fused_adam,
)
from sk_reg.penalties import add_l2_gradient_


def _without(monkeypatch, *names):
    """Hide private torch names from sk_reg (all of them if none is named),
    as a torch release without them would; torch itself keeps them."""
    private = _compat._private

    def lookup(owner, name):
        return None if not names or name in names else private(owner, name)

    monkeypatch.setattr(_compat, "_private", lookup)


def _lists(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, generator=g), torch.randn(5, generator=g)]


@pytest.mark.parametrize(
    "op, args, kwargs",
    [
        ("add_", ("a", "b"), {"alpha": 0.3}),
        ("add_", ("a", 0.5), {}),
        ("mul", ("a", 2.0), {}),
        ("reciprocal_", ("a",), {}),
        ("minimum", ("a", "b"), {}),
        ("maximum_", ("a", "b"), {}),
        ("neg", ("a",), {}),
        ("sub_", ("a", "b"), {}),
    ],
)
def test_foreach_fallback_computes_the_same_numbers(monkeypatch, op, args, kwargs):
    results = []
    for private in (True, False):
        if not private:
            _without(monkeypatch, f"_foreach_{op}")
        tensors = {"a": _lists(0), "b": _lists(1)}
        out = _compat.foreach(op, *(tensors.get(a, a) for a in args), **kwargs)
        results.append(out if out is not None else tensors["a"])
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


def test_l2_gradient_without_foreach(monkeypatch):
    def grads():
        params = [nn.Parameter(t) for t in _lists(2)]
        add_l2_gradient_(params, l2=0.5, sw_sum=torch.tensor(3.0))
        return [p.grad for p in params]

    expected = grads()
    _without(monkeypatch, "_foreach_add_", "_foreach_mul")
    for a, b in zip(expected, grads(), strict=True):
        assert torch.equal(a, b)


def test_beta_fallback_draws_beta_reproducibly(monkeypatch):
    _without(monkeypatch, "_sample_dirichlet")

    def draw(seed):
        g = torch.Generator().manual_seed(seed)
        return _compat.sample_beta(
            0.4, 4000, dtype=torch.float32, device="cpu", generator=g
        )

    lam = draw(0)
    assert lam.dtype == torch.float32 and lam.shape == (4000,)
    assert torch.equal(lam, draw(0)) and not torch.equal(lam, draw(1))
    # the same distribution as the private sampler: Beta(0.4, 0.4)
    assert stats.kstest(lam.numpy(), stats.beta(0.4, 0.4).cdf).pvalue > 1e-3


def test_mixup_trains_without_the_private_sampler(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    _without(monkeypatch, "_sample_dirichlet")
    clf = RegularizedNetClassifier(
        (16,), augment="mixup", max_iter=40, learning_rate_init=1e-2, random_state=0
    ).fit(X, y)
    assert clf.score(X, y) > 0.9


@pytest.mark.fast_path
def test_adam_without_the_fused_kernel_takes_the_regular_step(monkeypatch):
    params = [nn.Parameter(torch.randn(3, 2))]
    opt = torch.optim.Adam(params, lr=0.1, fused=True)
    params[0].grad = torch.ones_like(params[0])
    opt.step()
    assert _fused_adam.can_step(opt)
    _without(monkeypatch, "_fused_adam_")
    assert not _fused_adam.can_step(opt)
    assert _compat.optimizer_hooked(object())  # cannot tell: assume hooks


@pytest.mark.fast_path
def test_missing_backward_ops_disable_the_hand_written_step(monkeypatch):
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert _fast_mlp.mlp_plan(module) is not None
    monkeypatch.setattr(_compat, "activation_backward", lambda name: None)
    importlib.reload(_activations)
    reloaded = importlib.reload(_fast_mlp)
    try:
        assert reloaded.mlp_plan(module) is None
    finally:
        monkeypatch.undo()
        importlib.reload(_activations)
        importlib.reload(_fast_mlp)
    assert _compat.activation_backward("no_such_op") is None
    assert _compat.module_hooked(object())  # cannot tell: assume hooks


def test_public_convolution_types_cover_the_private_base():
    convolutions = [
        cls
        for cls in vars(nn).values()
        if isinstance(cls, type) and issubclass(cls, _compat.CONV_TYPES)
    ]
    assert len(convolutions) >= 6
    for cls in convolutions:
        assert issubclass(cls, _compat._PUBLIC_CONV_TYPES), cls


def test_fit_with_penalties_is_the_same_without_private_names(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.randn(80, 5).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(l1=1e-2, l2=1e-2, max_iter=5, random_state=0)

    def coefs():
        clf = RegularizedNetClassifier((8,), **params).fit(X, y)
        return clf.coefs_

    expected = coefs()
    _without(monkeypatch)  # every private name: no foreach, no fused kernel
    for a, b in zip(expected, coefs(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (expected[0] == 0).any()  # the L1 step ran and set exact zeros


# -- scikit-learn's parameter validation -------------------------------------------
def _as_fallback(constraint):
    """scikit-learn's constraint object as its sk_reg._constraints twin."""
    from sk_reg import _constraints as fb

    kind = type(constraint).__name__
    if kind == "Interval":
        c = constraint
        return fb.Interval(c.type, c.left, c.right, closed=c.closed)
    if kind == "StrOptions":
        return fb.StrOptions(constraint.options)
    if kind == "Options":
        return fb.Options(constraint.type, constraint.options)
    if kind == "HasMethods":
        return fb.HasMethods(constraint.methods)
    return constraint  # None, a type, callable or a named string


_VALUES = [0, 1, -1, 3, 0.5, 1.5, -0.1, 1.0, np.inf, -np.inf, np.nan, True, None]
_VALUES += ["auto", "x", "adam", "relu", [1], (1,), (8, 8), 1j, 2**32, np.float32(2)]
_VALUES += [np.random.RandomState(0), torch.optim.SGD, print, "cnn", "noise+mixup"]


def _verdict(validate, constraints, name, value):
    try:
        validate({name: constraints}, {name: value}, "Est")
    except ValueError as exc:
        assert f"'{name}' parameter of Est must be" in str(exc)
        return False
    return True


@pytest.mark.skipif(
    _compat._VALIDATION is _compat._constraints, reason="scikit-learn's is missing"
)
def test_constraint_fallback_agrees_with_scikit_learn():
    from sk_reg import _constraints
    from sk_reg._state import storable_classes

    checked = 0
    for kind in ("estimator", "search", "builder", "augmentation"):
        for cls in storable_classes(kind).values():
            defaults = cls().get_params(deep=False) if kind != "augmentation" else {}
            for name, constraints in cls._parameter_constraints.items():
                twins = [_as_fallback(c) for c in constraints]
                for value in [*_VALUES, defaults.get(name)]:
                    ours = _verdict(
                        _constraints.validate_parameter_constraints, twins, name, value
                    )
                    theirs = _verdict(
                        _compat._VALIDATION.validate_parameter_constraints,
                        constraints,
                        name,
                        value,
                    )
                    assert ours == theirs, (cls.__name__, name, value)
                    checked += 1
    assert checked > 1000


def test_public_only_mode_uses_no_private_api():
    # The whole suite runs once with SK_REG_PUBLIC_ONLY=1 in CI; here, that
    # the switch reaches every lookup.
    code = (
        "from sk_reg import _compat as c; import torch; "
        "assert c._private(torch, '_foreach_add_') is None; "
        "assert c._VALIDATION is c._constraints; "
        "assert c.CONV_TYPES == c._PUBLIC_CONV_TYPES; "
        "assert c.activation_backward('tanh') is None; "
        "assert c.module_hooked(torch.nn.Linear(1, 1)); print('ok')"
    )
    import subprocess
    import sys

    env = {**__import__("os").environ, "SK_REG_PUBLIC_ONLY": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_no_private_api_outside_compat():
    """Scan sk_reg: no private name of torch, scikit-learn, skorch, numpy or
    Python (a module path or an attribute with a leading underscore, or a
    private attribute those libraries' base classes define) outside _compat."""
    import ast
    import pathlib

    import sklearn.base
    import skorch

    import sk_reg

    def private(name):
        return name.startswith("_") and not name.endswith("__")

    bases = (nn.Module, torch.optim.Optimizer, skorch.NeuralNet)
    inherited = {n for cls in bases for n in dir(cls) if private(n)}
    inherited |= {n for n in dir(sklearn.base.BaseEstimator) if private(n)}
    roots = {"torch", "sklearn", "skorch", "np", "numpy", "sys", "nn", "F", "sp"}
    found = []
    for path in sorted(pathlib.Path(sk_reg.__file__).parent.glob("*.py")):
        if path.name == "_compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                parts = node.module.split(".") + [a.name for a in node.names]
                if parts[0] in ("torch", "sklearn", "skorch", "numpy", "scipy") and any(
                    private(p) for p in parts
                ):
                    found.append(f"{where} from {node.module} import ...")
            if isinstance(node, ast.Attribute) and private(node.attr):
                root = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in roots:
                    found.append(f"{where} {ast.unparse(node)}")
                elif node.attr in inherited:
                    found.append(f"{where} {ast.unparse(node)} (a library's own)")
    assert not found, found
