"""Deployment round trips: pickle without torch, skops, ONNX (issue 11)."""

import io
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sk_reg
from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg._state import STATE_KEY
from sk_reg.augment import GaussianNoise
from sk_reg.modules import MLP, ConvNet

FAST = dict(max_iter=5, learning_rate_init=1e-2, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, np.array(["benign", "malignant"])[y]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, np.c_[y, np.sqrt(y)] / 100


def _globals_of(blob):
    """Every (module, name) a pickle asks for while loading."""
    found = []

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            found.append((module, name))
            return super().find_class(module, name)

    return Recorder(io.BytesIO(blob)).load(), found


def _fitted_models(cancer, diabetes):
    X, y = cancer
    Xr, Y = diabetes
    return [
        make_pipeline(
            StandardScaler(),
            RegularizedNetClassifier(
                (16,), dropout=0.1, augment=GaussianNoise(0.05), **FAST
            ),
        ).fit(X, y),
        RegularizedNetClassifier(
            (8,), early_stopping=True, optimizer="sgd", **FAST
        ).fit(X / X.max(0), y),
        make_pipeline(
            StandardScaler(),
            RegularizedNetRegressor(
                module=MLP((8, 4), "tanh"), dtype="float32", **FAST
            ),
        ).fit(Xr, Y),
    ]


# --- pickle ---------------------------------------------------------------------


def test_pickle_holds_no_torch_or_skorch_objects(cancer, diabetes):
    for model in _fitted_models(cancer, diabetes):
        loaded, found = _globals_of(pickle.dumps(model))
        modules = {m.split(".")[0] for m, _ in found}
        assert modules <= {"sk_reg", "sklearn", "numpy", "builtins", "copyreg"}, found
        X = cancer[0] if hasattr(model, "classes_") else diabetes[0]
        method = "predict_proba" if hasattr(model, "classes_") else "predict"
        np.testing.assert_array_equal(
            getattr(loaded, method)(X), getattr(model, method)(X)
        )


def _walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk(v)


def test_state_is_plain_data(cancer):
    X, y = cancer
    clf = RegularizedNetClassifier((8,), **FAST).fit(X / X.max(0), y)
    state = clf.__getstate__()
    assert "net_" not in state
    for value in _walk(state):
        assert not type(value).__module__.startswith(("torch", "skorch")), value
    net = state[STATE_KEY]["net"]
    assert set(net["module"]) == set(clf.net_.module_.state_dict())
    assert all(isinstance(v, np.ndarray) for v in net["module"].values())
    assert len(net["history"]) == clf.n_iter_


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_unpickled_model_continues_training_identically(cancer, how):
    X, y = cancer
    X = X / X.max(0)
    clf = RegularizedNetClassifier((8,), warm_start=how == "warm_start", **FAST)
    clf.fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    for model in (clf, copy):
        if how == "partial_fit":
            model.partial_fit(X, y)
        else:
            model.set_params(max_iter=3).fit(X, y)
    assert copy.n_iter_ == clf.n_iter_ == (6 if how == "partial_fit" else 8)
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))


def test_cuda_state_restores_on_the_cpu(cancer, monkeypatch):
    """Simulated: the state says cuda:0, this machine has no such device."""
    X, y = cancer
    clf = RegularizedNetClassifier((8,), **FAST).fit(X / X.max(0), y)
    state = clf.__getstate__()
    state[STATE_KEY]["net"]["device"] = "cuda:0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = RegularizedNetClassifier.__new__(RegularizedNetClassifier)
    with pytest.warns(UserWarning, match="trained on 'cuda:0'.*restored on the CPU"):
        restored.__setstate__(state)
    assert restored.net_.device == "cpu"
    np.testing.assert_array_equal(
        restored.predict_proba(X / X.max(0)), clf.predict_proba(X / X.max(0))
    )


@pytest.mark.gpu
def test_cuda_fitted_pickle_loads_without_cuda(cancer, tmp_path):
    X, y = cancer
    X = (X / X.max(0)).astype(np.float32)
    clf = RegularizedNetClassifier((8,), device="cuda", **FAST).fit(X, y)
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, sys, warnings, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    clf = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "assert any('restored on the CPU' in str(x.message) for x in w)\n"
        "np.save(sys.argv[3], clf.predict_proba(np.load(sys.argv[2])))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(sk_reg.__file__)))
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "m.pkl"),
            str(tmp_path / "X.npy"),
            str(tmp_path / "p.npy"),
        ],
        check=True,
        cwd=root,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "p.npy"), clf.predict_proba(X), rtol=1e-5, atol=1e-6
    )


# --- skops ------------------------------------------------------------------------


def test_skops_round_trip_trusts_only_sk_reg_types(cancer, diabetes, tmp_path):
    sio = pytest.importorskip("skops.io")
    for i, model in enumerate(_fitted_models(cancer, diabetes)):
        path = tmp_path / f"m{i}.skops"
        sio.dump(model, path)
        untrusted = sio.get_untrusted_types(file=path)
        assert untrusted, "the sk_reg estimator is not trusted by default"
        assert all(t.startswith("sk_reg.") for t in untrusted), untrusted
        with pytest.raises(Exception, match="[Uu]ntrusted"):
            sio.load(path)
        loaded = sio.load(path, trusted=untrusted)
        X = cancer[0] if hasattr(model, "classes_") else diabetes[0]
        method = "predict_proba" if hasattr(model, "classes_") else "predict"
        np.testing.assert_array_equal(
            getattr(loaded, method)(X), getattr(model, method)(X)
        )


def test_skops_trusted_list_of_a_default_model(cancer):
    sio = pytest.importorskip("skops.io")
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), RegularizedNetClassifier((8,), **FAST))
    data = sio.dumps(pipe.fit(X, y))
    assert sio.get_untrusted_types(data=data) == [
        "sk_reg.estimators.RegularizedNetClassifier"
    ]


# --- ONNX ---------------------------------------------------------------------------


def _onnx_run(model, X, options=None):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    import sk_reg.onnx  # noqa: F401

    onx = skl2onnx.to_onnx(model, X[:1], options=options)
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _no_zipmap(pipe):
    return {id(pipe[-1]): {"zipmap": False}}


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", "gelu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnx_mlp_classifier_in_scaler_pipeline(cancer, activation, dtype):
    X, y = cancer
    X = X.astype(dtype)
    pipe = make_pipeline(
        StandardScaler(),
        RegularizedNetClassifier(
            (16, 8), activation=activation, dropout=0.2, augment="noise", **FAST
        ),
    )
    pipe.fit(X, y)
    labels, proba = _onnx_run(pipe, X, _no_zipmap(pipe))
    assert proba.dtype == dtype
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(labels, pipe.predict(X))


def test_onnx_zipmap_and_integer_multiclass(digits):
    X, y = digits
    clf = RegularizedNetClassifier((32,), **FAST).fit(X, y)
    labels, maps = _onnx_run(clf, X)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, clf.predict(X))
    proba = np.array([[row[c] for c in clf.classes_] for row in maps])
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)


def test_onnx_float32_model_fed_float64(cancer):
    X, y = cancer
    pipe = make_pipeline(
        StandardScaler(), RegularizedNetClassifier((8,), dtype="float32", **FAST)
    ).fit(X, y)
    _, proba = _onnx_run(pipe, X, _no_zipmap(pipe))
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-6)


def test_onnx_column_transformer_pipelines(cancer, diabetes):
    X, y = cancer
    X = X.astype(np.float32)
    columns = ColumnTransformer(
        [
            ("scale", StandardScaler(), list(range(10))),
            ("keep", "passthrough", list(range(10, 30))),
        ]
    )
    pipe = make_pipeline(columns, RegularizedNetClassifier((16,), **FAST)).fit(X, y)
    labels, proba = _onnx_run(pipe, X, _no_zipmap(pipe))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(labels, pipe.predict(X))

    Xr, Y = diabetes
    Xr = Xr.astype(np.float32)
    columns = ColumnTransformer(
        [
            ("scale", StandardScaler(), [0, 2, 3]),
            ("keep", "passthrough", [1, 4, 5, 6, 7, 8, 9]),
        ]
    )
    for target in (Y, Y[:, 0]):  # multi-output and 1-D
        reg = make_pipeline(columns, RegularizedNetRegressor((16,), **FAST))
        reg.fit(Xr, target)
        (pred,) = _onnx_run(reg, Xr)
        assert pred.shape == (len(Xr), target.ndim if target.ndim == 1 else 2)
        np.testing.assert_allclose(
            pred.reshape(reg.predict(Xr).shape), reg.predict(Xr), atol=1e-5
        )


def test_onnx_convnet_with_input_shape(digits):
    X, y = digits
    clf = RegularizedNetClassifier(
        module=ConvNet(channels=(4, 8), hidden=16),
        input_shape=(1, 8, 8),
        dropout=0.3,
        augment="flip",
        **{**FAST, "max_iter": 2},
    ).fit(X, y)
    labels, maps = _onnx_run(clf, X, {id(clf): {"zipmap": False}})
    np.testing.assert_allclose(maps, clf.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(labels, clf.predict(X))


class _Residual(torch.nn.Module):
    """A custom module with a skip connection and a LayerNorm."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.inner = torch.nn.Linear(n_features, n_features)
        self.norm = torch.nn.LayerNorm(n_features)
        self.out = torch.nn.Linear(n_features, n_outputs)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, X):
        return self.out(self.drop(self.norm(X + torch.relu(self.inner(X)))))


def test_onnx_custom_module(diabetes):
    Xr, Y = diabetes
    Xr = Xr.astype(np.float32)
    reg = make_pipeline(
        StandardScaler(), RegularizedNetRegressor(module=_Residual, **FAST)
    ).fit(Xr, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the exporter's deprecation notes are muted
        (pred,) = _onnx_run(reg, Xr)
    np.testing.assert_allclose(pred, reg.predict(Xr), atol=1e-5)


def test_onnx_refuses_float_class_labels(cancer):
    X, y = cancer
    y_float = (y == "benign") * 1.0  # labels 0.0 and 1.0
    clf = RegularizedNetClassifier((4,), **FAST).fit(X / X.max(0), y_float)
    with pytest.raises(NotImplementedError, match="integer or string class labels"):
        _onnx_run(clf, (X / X.max(0)).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnx_multilabel_classifier(dtype):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(200, n_classes=4, random_state=0)
    X = X.astype(dtype)
    pipe = make_pipeline(
        StandardScaler(), RegularizedNetClassifier((16,), dropout=0.1, **FAST)
    ).fit(X, Y)
    labels, proba = _onnx_run(pipe, X, _no_zipmap(pipe))
    assert labels.dtype == np.int64 and proba.dtype == dtype
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-5)
    if dtype == np.float32:  # onnxruntime's ZipMap takes float32 only
        labels, maps = _onnx_run(pipe, X)  # a dict per row: label -> proba
        np.testing.assert_allclose(
            [[row[c] for c in range(4)] for row in maps],
            pipe.predict_proba(X),
            atol=1e-5,
        )


def test_onnx_poisson_regressor_predicts_the_mean(diabetes):
    X, y = diabetes
    pipe = make_pipeline(
        StandardScaler(), RegularizedNetRegressor((16,), loss="poisson", **FAST)
    ).fit(X, np.abs(y) / 100)
    (out,) = _onnx_run(pipe, X.astype(np.float32))
    assert (out > 0).all()
    pred = pipe.predict(X.astype(np.float32))
    np.testing.assert_allclose(out.reshape(pred.shape), pred, rtol=1e-5)


_CV = dict(candidates=[{"l2": 1e-4}, {"dropout": 0.2}], min_iter=3, max_iter=6)


def _differs_from_best(search, X, what):
    """With two refits, the ensemble is not its best network alone."""
    best = getattr(search.best_estimator_, what)(X)
    return not np.allclose(getattr(search, what)(X), best, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("n_ensemble", [1, 2])
def test_onnx_cv_estimators_export_their_refits(cancer, diabetes, n_ensemble):
    """The search exports as the mean of its refits: same labels, probabilities."""
    from sk_reg import RegularizedNetClassifierCV, RegularizedNetRegressorCV

    cv = dict(_CV, n_ensemble=n_ensemble, random_state=0)
    X, y = cancer
    X = X.astype(np.float32)
    pipe = make_pipeline(StandardScaler(), RegularizedNetClassifierCV(**cv)).fit(X, y)
    assert len(pipe[-1].estimators_) == n_ensemble
    labels, proba = _onnx_run(pipe, X, _no_zipmap(pipe))
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-5)
    Z = pipe[0].transform(X)
    assert _differs_from_best(pipe[-1], Z, "predict_proba") == (n_ensemble == 2)
    # A regressor with normalize_y=True (its default): targets in their units.
    Xr, Y = diabetes
    Xr = Xr.astype(np.float32)
    reg = RegularizedNetRegressorCV(**cv).fit(Xr, Y * 1e3)
    (out,) = _onnx_run(reg, Xr)
    np.testing.assert_allclose(out, reg.predict(Xr), rtol=1e-4, atol=1e-2)
    assert np.abs(out).max() > 10  # not the standardised scale
    assert _differs_from_best(reg, Xr, "predict") == (n_ensemble == 2)


def test_onnx_ensemble_casts_its_input_once(diabetes):
    """float64 networks fed float32 rows: one Cast of the input, shared."""
    skl2onnx = pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    import sk_reg.onnx  # noqa: F401
    from sk_reg import RegularizedNetRegressorCV

    X, y = diabetes
    reg = RegularizedNetRegressorCV(**_CV, random_state=0).fit(X, y)  # float64
    assert len(reg.estimators_) == 2
    onx = skl2onnx.to_onnx(reg, X[:1].astype(np.float32))
    graph_input = onx.graph.input[0].name
    casts = [
        n for n in onx.graph.node if n.op_type == "Cast" and n.input[0] == graph_input
    ]
    assert len(casts) == 1
    (out,) = _onnx_run(reg, X.astype(np.float32))
    pred = reg.predict(X.astype(np.float32))
    np.testing.assert_allclose(out.reshape(pred.shape), pred, rtol=1e-4)


@pytest.mark.parametrize("n_ensemble", [1, 2])
def test_onnx_cv_estimators_in_float64(cancer, diabetes, n_ensemble):
    """Networks fitted on float64 rows compute in float64 (MLP's default):
    their mean runs in onnxruntime too, for float64 and float32 inputs."""
    from sk_reg import RegularizedNetClassifierCV, RegularizedNetRegressorCV

    cv = dict(_CV, n_ensemble=n_ensemble, random_state=0)
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), RegularizedNetClassifierCV(**cv)).fit(X, y)
    assert pipe[-1].best_estimator_._dtype == torch.float64
    labels, proba = _onnx_run(pipe, X, _no_zipmap(pipe))
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=1e-10)
    Xr, Y = diabetes
    reg = RegularizedNetRegressorCV(**cv).fit(Xr, Y)
    for rows in (Xr, Xr.astype(np.float32)):
        (out,) = _onnx_run(reg, rows)
        pred = reg.predict(rows)
        np.testing.assert_allclose(out.reshape(pred.shape), pred, rtol=1e-4)


@pytest.mark.parametrize("n_ensemble", [1, 2])
def test_onnx_cv_multilabel(n_ensemble):
    from sklearn.datasets import make_multilabel_classification

    from sk_reg import RegularizedNetClassifierCV

    X, Y = make_multilabel_classification(200, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    search = RegularizedNetClassifierCV(
        **_CV, n_ensemble=n_ensemble, random_state=0
    ).fit(X, Y)
    labels, proba = _onnx_run(search, X, {id(search): {"zipmap": False}})
    np.testing.assert_array_equal(labels, search.predict(X))
    np.testing.assert_allclose(proba, search.predict_proba(X), rtol=0, atol=1e-5)
    assert _differs_from_best(search, X, "predict_proba") == (n_ensemble == 2)


def test_skops_round_trip_of_a_cv_estimator(cancer):
    sio = pytest.importorskip("skops.io")
    from sk_reg import RegularizedNetClassifierCV

    X, y = cancer
    search = RegularizedNetClassifierCV(**_CV, random_state=0).fit(X, y)
    data = sio.dumps(search)
    untrusted = sio.get_untrusted_types(data=data)
    assert sorted(untrusted) == [
        "sk_reg.cv.RegularizedNetClassifierCV",
        "sk_reg.estimators.RegularizedNetClassifier",
    ]
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), search.predict_proba(X))
    assert loaded.best_params_ == search.best_params_
