"""Bad input and bad hyperparameters: clear errors, never a torch stack trace,
and a failed ``fit`` leaves the estimator as it was.

Property-based (hypothesis, derandomized so CI is reproducible) over data
shapes, values, dtypes and positions of the faults.
"""

import copy
import inspect
import os
import re
import traceback

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EpochTimer
from test_estimators import _WrongOutput

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg._compat import InvalidParameterError
from sk_reg._net import _SkorchNet
from sk_reg.augment import Compose, GaussianNoise, Mixup

TINY = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
ESTIMATORS = {
    "classifier": RegularizedNetClassifier,
    "regressor": RegularizedNetRegressor,
}

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_FOREIGN = (f"{os.sep}torch{os.sep}", f"{os.sep}skorch{os.sep}")


def assert_clean_error(excinfo, pattern):
    """A ValueError/TypeError naming the problem, raised outside torch/skorch,
    with no torch or skorch frame anywhere in the (chained) traceback."""
    assert issubclass(excinfo.type, (ValueError, TypeError)), excinfo.type
    assert re.search(pattern, str(excinfo.value)), str(excinfo.value)
    exc = excinfo.value
    while exc is not None:
        files = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
        assert not any(part in f for f in files for part in _FOREIGN), files
        exc = exc.__cause__ or exc.__context__


def _snapshot(est):
    """Everything fit may change: attributes, weights, optimizer state, history."""
    state = {
        k: (v.copy() if isinstance(v, np.ndarray) else v)
        for k, v in vars(est).items()
        if k != "net_"
    }
    net = getattr(est, "net_", None)
    if net is not None:
        state["net_"] = net
        state["weights"] = {k: v.clone() for k, v in net.module_.state_dict().items()}
        state["optimizer"] = copy.deepcopy(net.optimizer_.state_dict())
        state["history"] = len(net.history)
    return state


def assert_unchanged(est, before, assert_same_tree):
    after = _snapshot(est)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if key in ("weights", "optimizer"):
            assert_same_tree(value, after[key])
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, after[key])
        else:
            assert after[key] is value or after[key] == value, key


def assert_unfitted(est):
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert set(vars(est)) == set(est.get_params(deep=False))


# --- strategies ---------------------------------------------------------------------


@st.composite
def problems(draw, min_rows=2, max_rows=20):
    """A small well-formed problem: (task, X, y)."""
    task = draw(st.sampled_from(sorted(ESTIMATORS)))
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 4))
    X = draw(arrays(np.float64, (n, d), elements=st.floats(-100, 100)))
    if task == "classifier":
        k = draw(st.integers(2, 3))
        labels = draw(
            st.sampled_from(
                [
                    np.arange(k),
                    np.arange(k) * 2.0 - 1,
                    np.array(["no", "yes", "maybe"])[:k],
                ]
            )
        )
        offset = draw(st.integers(0, k - 1))
        y = labels[(np.arange(n) + offset) % k]
    else:
        y = draw(arrays(np.float64, (n,), elements=st.floats(-10, 10)))
    return task, X, y


def _fit(task, X, y, **kwargs):
    return ESTIMATORS[task](**{**TINY, **kwargs}).fit(X, y)


# --- non-finite values ---------------------------------------------------------------


@PROPERTY
@given(
    problem=problems(),
    where=st.sampled_from(["X", "y", "sample_weight", "X at predict"]),
    value=st.sampled_from([np.nan, np.inf, -np.inf]),
    data=st.data(),
)
def test_non_finite_values_anywhere_are_refused(
    problem, where, value, data, assert_same_tree
):
    task, X, y = problem
    X, y, w = X.copy(), y.copy(), np.ones(len(y))
    target = {"X": X, "X at predict": X, "sample_weight": w}.get(where)
    if where == "y":
        y = y.astype(np.float64) if task == "regressor" else np.arange(len(y)) % 2.0
        target = y
    flat = target.reshape(-1)
    flat[data.draw(st.integers(0, flat.size - 1), label="position")] = value
    name = {"X at predict": "X"}.get(where, where)
    problem_word = "NaN" if np.isnan(value) else "infinity"
    est = ESTIMATORS[task](**TINY)
    if where == "X at predict":
        est.fit(np.nan_to_num(X, posinf=1, neginf=-1), y)
        before = _snapshot(est)
        with pytest.raises(ValueError) as excinfo:
            est.predict(X)
        assert_unchanged(est, before, assert_same_tree)
    else:
        with pytest.raises(ValueError) as excinfo:
            est.fit(X, y, sample_weight=w)
        assert_unfitted(est)
    assert_clean_error(excinfo, rf"Input {name} contains {problem_word}")


# --- magnitudes ----------------------------------------------------------------------


@PROPERTY
@given(
    problem=problems(min_rows=4),
    dtype=st.sampled_from([np.float32, np.float64]),
    x_exponents=st.lists(st.integers(-30, 30), min_size=4, max_size=4),
    y_exponent=st.integers(-30, 30),
)
def test_huge_and_tiny_magnitudes_train_or_fail_clearly(
    problem, dtype, x_exponents, y_exponent
):
    """Columns scaled independently by 1e-30..1e30 (targets too, for regression).

    float64 and every classifier train and predict finite values; float32
    regression may overflow the squared error, which is the clear
    "diverged" ValueError, never a nan prediction.
    """
    task, X, y = problem
    X = (X * 10.0 ** np.array(x_exponents[: X.shape[1]])).astype(dtype)
    if task == "regressor":
        y = y * 10.0**y_exponent
    est = ESTIMATORS[task](**TINY)
    may_diverge = task == "regressor" and dtype == np.float32
    try:
        est.fit(X, y)
    except ValueError as exc:
        assert may_diverge, exc
        assert "Training diverged at epoch 1" in str(exc)
        assert_unfitted(est)
        return
    out = est.predict_proba(X) if task == "classifier" else est.predict(X)
    assert np.isfinite(out).all()
    if task == "classifier":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert all(np.isfinite(est.loss_curve_))


def test_float64_values_beyond_float32_range_are_refused():
    X = np.array([[1e300], [2.0], [3.0], [4.0]])
    est = RegularizedNetClassifier(**TINY, dtype="float32")
    with pytest.raises(ValueError) as excinfo:
        est.fit(X, [0, 1, 0, 1])
    assert_clean_error(excinfo, "too large for float32")
    est.fit(X / 1e300, [0, 1, 0, 1])
    with pytest.raises(ValueError) as excinfo:
        est.predict(X)
    assert_clean_error(excinfo, "too large for float32")


# --- shapes ------------------------------------------------------------------------

SHAPE_CASES = {
    "no samples": (lambda X, y: (X[:0], y[:0]), r"0 sample\(s\)"),
    "no features": (lambda X, y: (X[:, :0], y), r"0 feature\(s\)"),
    "y too short": (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
    "y too long": (
        lambda X, y: (X, np.r_[y, y[:1]]),
        "inconsistent numbers of samples",
    ),
    "3-D X": (lambda X, y: (X[:, :, None], y), "dim 3"),
    "1-D X": (lambda X, y: (X[:, 0], y), "Expected 2D array"),
    "scalar X": (lambda X, y: (X[0, 0], y), "Expected 2D array|scalar"),
}


@PROPERTY
@given(problem=problems(), case=st.sampled_from(sorted(SHAPE_CASES)))
def test_bad_shapes_at_fit(problem, case):
    task, X, y = problem
    make, pattern = SHAPE_CASES[case]
    X, y = make(X, y)
    est = ESTIMATORS[task](**TINY)
    with pytest.raises(ValueError) as excinfo:
        est.fit(X, y)
    assert_clean_error(excinfo, pattern)
    assert_unfitted(est)


@PROPERTY
@given(
    problem=problems(),
    extra=st.integers(-3, 3).filter(bool),
    case=st.sampled_from(["features", "3-D", "1-D", "empty"]),
)
def test_bad_shapes_at_predict(problem, extra, case, assert_same_tree):
    task, X, y = problem
    est = _fit(task, X, y)
    before = _snapshot(est)
    if case == "features":
        d = X.shape[1] + extra if X.shape[1] + extra >= 1 else X.shape[1] + 1
        X_bad = np.zeros((3, d))
        pattern = rf"X has {d} features.*expecting {X.shape[1]}"
    elif case == "3-D":
        X_bad, pattern = X[:, :, None], "dim 3"
    elif case == "1-D":
        X_bad, pattern = X[0], "Expected 2D array"
    else:
        X_bad, pattern = X[:0], r"0 sample\(s\)"
    methods = ["predict"] + (
        ["predict_proba", "predict_log_proba"] if task == "classifier" else []
    )
    for method in methods:
        with pytest.raises(ValueError) as excinfo:
            getattr(est, method)(X_bad)
        assert_clean_error(excinfo, pattern)
    assert_unchanged(est, before, assert_same_tree)


@pytest.mark.parametrize("task", sorted(ESTIMATORS))
def test_one_sample_and_one_feature(task):
    X = np.array([[0.5], [1.5], [2.5], [3.5]])
    y = np.array([0, 1, 0, 1]) if task == "classifier" else X[:, 0]
    est = _fit(task, X, y)
    assert est.n_features_in_ == 1
    assert np.isfinite(est.predict(X[:1]).astype(float)).all()
    if task == "classifier":  # one row, so one class: predicted, as by MLP
        assert (_fit(task, X[:1], y[:1]).predict(X) == y[0]).all()
    else:
        assert _fit(task, X[:1], y[:1]).predict(X).shape == (4,)
    # Early stopping needs a hold-out of at least 2 rows.
    est = ESTIMATORS[task](**TINY, early_stopping=True)
    with pytest.raises(ValueError) as excinfo:
        est.fit(X, y)
    assert_clean_error(excinfo, "validation set is too small")
    assert_unfitted(est)


# --- dtypes --------------------------------------------------------------------------


@PROPERTY
@given(
    problem=problems(),
    kind=st.sampled_from(["string", "complex", "bytes", "object dict"]),
    at_predict=st.booleans(),
    data=st.data(),
)
def test_object_and_complex_dtypes_are_refused(problem, kind, at_predict, data):
    task, X, y = problem
    i = data.draw(st.integers(0, X.shape[0] - 1), label="row")
    j = data.draw(st.integers(0, X.shape[1] - 1), label="column")
    if kind == "complex":
        X_bad = X + 0j
        X_bad[i, j] += 1j
        pattern = "Complex data not supported"
    else:
        X_bad = X.astype(object)
        bad = {"string": "seven", "bytes": b"\x80", "object dict": {"a": 1}}
        X_bad[i, j] = bad[kind]
        pattern = "could not convert|float|argument must be"
    est = ESTIMATORS[task](**TINY)
    if at_predict:
        est.fit(X, y)
        with pytest.raises((ValueError, TypeError)) as excinfo:
            est.predict(X_bad)
    else:
        with pytest.raises((ValueError, TypeError)) as excinfo:
            est.fit(X_bad, y)
        assert_unfitted(est)
    assert_clean_error(excinfo, pattern)


def test_numeric_strings_and_dates_are_converted_like_sklearn():
    # scikit-learn converts object arrays of numeric strings; so do we.
    X = np.array([["1.5", "2"], ["0", "-1"], ["3", "3"], ["1", "0"]], dtype=object)
    est = RegularizedNetClassifier(**TINY).fit(X, [0, 1, 0, 1])
    assert est.predict(X).shape == (4,)
    # datetime64 columns become numbers (as in MLPClassifier): not refused.
    dates = np.array(
        [["2024-01-01"], ["2024-02-01"], ["2024-03-01"], ["2024-04-01"]],
        dtype="datetime64[D]",
    )
    assert RegularizedNetClassifier(**TINY).fit(dates, [0, 1, 0, 1]).n_features_in_ == 1


@pytest.mark.parametrize(
    "y, pattern",
    [
        (np.array(["a", "b", "c", "d"]), "numeric targets"),
        (np.array([1 + 1j, 2, 3, 4]), "Complex data not supported"),
        (np.ones((4, 2, 2)), "dim 3"),
    ],
)
def test_bad_regression_targets(y, pattern):
    est = RegularizedNetRegressor(**TINY)
    with pytest.raises(ValueError) as excinfo:
        est.fit(np.ones((4, 2)), y)
    assert_clean_error(excinfo, pattern)
    assert_unfitted(est)


@pytest.mark.parametrize(
    "y, pattern",
    [
        (np.linspace(0, 1, 6), "Unknown label type: continuous"),
        (np.c_[np.arange(6) % 2, np.arange(6) % 3], "multiclass-multioutput"),
        (np.c_[2 * (np.arange(6) % 2), 2 * (np.arange(1, 7) % 2)], "only 0 and 1"),
        (np.array([0, 1, None, 0, 1, 0], dtype=object), "Unknown label type|mix|None"),
    ],
)
def test_bad_class_labels(y, pattern):
    est = RegularizedNetClassifier(**TINY)
    with pytest.raises(ValueError) as excinfo:
        est.fit(np.arange(12.0).reshape(6, 2), y)
    assert_clean_error(excinfo, pattern)
    assert_unfitted(est)


@PROPERTY
@given(
    n_known=st.integers(2, 4),
    unseen=st.lists(st.integers(5, 9), min_size=1, max_size=3),
)
def test_unseen_labels_in_partial_fit(n_known, unseen, assert_same_tree):
    X = np.arange(20.0).reshape(10, 2)
    est = RegularizedNetClassifier(**TINY)
    est.partial_fit(X, np.arange(10) % 2, classes=np.arange(n_known))
    before = _snapshot(est)
    y = np.arange(10) % 2
    y[: len(unseen)] = unseen
    with pytest.raises(ValueError) as excinfo:
        est.partial_fit(X, y)
    assert_clean_error(excinfo, "not seen in the first call")
    assert_unchanged(est, before, assert_same_tree)
    # On the first call, y must be covered by classes.
    est = RegularizedNetClassifier(**TINY)
    with pytest.raises(ValueError) as excinfo:
        est.partial_fit(X, y, classes=np.arange(n_known))
    assert_clean_error(excinfo, "not seen")
    assert_unfitted(est)
    with pytest.raises(ValueError) as excinfo:
        est.partial_fit(X, y)
    assert_clean_error(excinfo, "classes must be passed")


# --- a failed fit leaves the estimator as it was ------------------------------


def _bad_calls(task, X, y):
    """(description, call(est)) pairs that fail at different stages."""
    n = len(y)
    calls = {
        "NaN in X": lambda e: e.fit(
            np.where(np.eye(*X.shape, dtype=bool), np.nan, X), y
        ),
        "other n_features + bad sample_weight": lambda e: e.fit(
            np.c_[X, X], y, sample_weight=np.ones(n + 1)
        ),
        "negative sample_weight": lambda e: e.fit(X, y, sample_weight=-np.ones(n)),
        "too small for early stopping": lambda e: e.set_params(
            early_stopping=True, validation_fraction=0.01
        ).fit(X[:3], y[:3]),
        "module with wrong output": lambda e: e.set_params(module=_WrongOutput).fit(
            X, y
        ),
        "invalid hyperparameter": lambda e: e.set_params(l1=-1.0).fit(X, y),
    }
    if task == "classifier":
        calls["partial_fit unseen label"] = lambda e: e.partial_fit(
            X, np.full(n, "zzz") if y.dtype.kind == "U" else np.full(n, 99)
        )
    else:
        calls["divergence in the first epoch"] = lambda e: e.set_params(
            learning_rate_init=1e6, optimizer="sgd"
        ).fit(X + 1e150, y * 1e200 + 1e200)
        calls["partial_fit diverges"] = lambda e: e.partial_fit(
            (X + 1) * 1e150, (y + 1) * 1e200
        )
    return calls


@PROPERTY
@given(
    problem=problems(min_rows=6),
    how=st.sampled_from(["unfitted", "fit", "partial_fit", "warm_start"]),
    data=st.data(),
)
def test_failed_fit_leaves_the_previous_state(problem, how, data, assert_same_tree):
    """Policy: a call that raises leaves every attribute, the weights, the
    optimizer state and the history exactly as they were; an unfitted
    estimator stays unfitted."""
    task, X, y = problem
    calls = _bad_calls(task, X, y)
    name = data.draw(st.sampled_from(sorted(calls)), label="failure")
    est = ESTIMATORS[task](**TINY, warm_start=how == "warm_start")
    if how in ("fit", "warm_start"):
        est.fit(X, y)
    elif how == "partial_fit":
        est.partial_fit(
            X, y, **({"classes": np.unique(y)} if task == "classifier" else {})
        )
    params = est.get_params()
    before = _snapshot(est) if how != "unfitted" else None
    expected = est.predict(X) if how != "unfitted" else None
    with pytest.raises((ValueError, TypeError)):
        calls[name](est)
    est.set_params(**params)
    if how == "unfitted":
        assert_unfitted(est)
        return
    assert_unchanged(est, before, assert_same_tree)
    np.testing.assert_array_equal(est.predict(X), expected)


# --- invalid hyperparameters --------------------------------------------------

INVALID = {
    "hidden_layer_sizes": [
        0,
        -1,
        (10, 0),
        (10, -2),
        (2.5,),
        1.5,
        "abc",
        None,
        np.array([3, 0]),
    ],
    "activation": ["swish", 1, None, "RELU"],
    "l1": [-1e-3, "0.1", None, np.nan, np.inf, 1j],
    "l2": [-0.1, "0", None, np.nan, np.inf],
    "dropout": [1.0, -0.1, 1.5, "0.5", None, np.nan],
    "label_smoothing": [1.0, -0.1, "0.1", None, np.nan],
    "augment": [
        "unknown",
        "noise+noise",
        "noise+",
        3,
        GaussianNoise(std=-1),
        Mixup(alpha=0),
        Compose([("a", 3)]),
        Compose("noise"),
        Compose([("x", GaussianNoise()), ("x", Mixup())]),
        torch.nn.Identity(),
    ],
    "early_stopping": ["yes", 1, None],
    "validation_fraction": [0.0, 1.0, -0.5, 1.5, "0.1", None],
    "n_iter_no_change": [0, -1, 1.5, "10", None, -np.inf],
    "scoring": [3, "no_such_scorer", ["accuracy"]],
    "feature_l1": [-0.1, "0.1", None, np.nan],
    "normalize_y": ["yes", 2, None],
    "shuffle": ["yes", 2, None],
    "loss": ["absolute_error", None, 1],
    "tol": [-1e-4, "1e-4", None, np.nan],
    "max_iter": [0, -5, 2.5, "200", None],
    "batch_size": [0, -1, 1.5, "big", None],
    "learning_rate_init": [0.0, -1e-3, np.inf, np.nan, "0.01", None],
    "learning_rate": ["step", "Cosine", 0.01, None],
    "power_t": [-0.5, "0.5", None, np.nan],
    "max_fun": [0, -1, 1.5, "100", None],
    "optimizer": [
        "newton",
        "Adam",
        3,
        int,
        None,
        torch.optim.Adam([torch.zeros(1, requires_grad=True)]),
    ],
    "optimizer_kwargs": [
        [("betas", (0.9, 0.99))],
        "x",
        {"not_an_arg": 1},
        {"betas": (2.0, 0.5)},
        {"lr": 0.1},
        {"eps": -1.0},
    ],
    "class_weight": ["auto", [1, 2], 3, {0: -1.0}, {0: np.nan}, {0: "heavy"}],
    "warm_start": ["yes", 1, None],
    "device": [3, None, "not-a-device", "meta", "cuda:x", "tpu"],
    "dtype": ["float16", "int32", 32, np.float32, torch.float32],
    "module": [3, "not-a-module", torch.nn.Linear(2, 2), int, object()],
    "input_shape": [(1, 8), (0, 8, 8), (1, -1, -1), (1.5, 8, 8), "1x8x8", 3],
    "callbacks": [
        "progress",
        3,
        [3],
        [EpochTimer, "x"],
        [("stopping", EpochTimer())],
        [("a", EpochTimer()), ("a", EpochTimer())],
        EpochTimer(),
    ],
    "random_state": [-1, 1.5, "seed", 2**32],
    "verbose": [-1, 1.5, "loud", None],
}


def _invalid_cases():
    for task, Est in sorted(ESTIMATORS.items()):
        for name in inspect.signature(Est).parameters:
            for i, value in enumerate(INVALID.get(name, [])):
                yield pytest.param(task, name, value, id=f"{task}-{name}-{i}")


def test_every_parameter_has_invalid_values():
    for Est in ESTIMATORS.values():
        missing = set(inspect.signature(Est).parameters) - set(INVALID)
        assert not missing, f"add invalid values for {sorted(missing)}"


@pytest.mark.parametrize("task, name, value", list(_invalid_cases()))
def test_invalid_hyperparameter_refused_before_training(task, name, value, monkeypatch):
    def no_net(*args, **kwargs):
        raise AssertionError("a net was built despite an invalid hyperparameter")

    monkeypatch.setattr(_SkorchNet, "initialize", no_net)
    X = np.arange(16.0).reshape(8, 2)
    y = np.arange(8) % 2
    est = ESTIMATORS[task](**{**TINY, name: value})
    with pytest.raises(InvalidParameterError, match=re.escape(f"'{name}'")):
        est.fit(X, y)
    assert_unfitted(est)
    fresh = ESTIMATORS[task](**{**TINY, name: value})
    with pytest.raises(InvalidParameterError, match=re.escape(f"'{name}'")):
        fresh.partial_fit(X, y, **({"classes": [0, 1]} if task == "classifier" else {}))


@pytest.mark.parametrize("Est", ESTIMATORS.values())
def test_valid_edge_values_are_accepted(Est):
    X = np.arange(16.0).reshape(8, 2)
    y = np.arange(8) % 2
    for params in [
        {"hidden_layer_sizes": 3},
        {"hidden_layer_sizes": ()},
        {"hidden_layer_sizes": np.array([3, 2])},
        {"dropout": 0.0},
        {"batch_size": 1},
        {"tol": 0.0},
        {"verbose": False},
        {"optimizer_kwargs": {"betas": [0.8, 0.9]}},
        {"optimizer": torch.optim.RMSprop},
        {"device": "auto"},
        {"callbacks": [EpochTimer, ("timer2", EpochTimer())]},
    ]:
        est = Est(**{**TINY, **params}).fit(X, y)
        assert est.predict(X).shape == (8,)
