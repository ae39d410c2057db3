"""sk_reg.save / sk_reg.load: exact round trips, tampered files refused, no code run."""

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

import sk_reg
from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg.augment import Compose, GaussianNoise, Mixup
from sk_reg.modules import MLP
from sk_reg.persistence import _checksum

FAST = dict(
    hidden_layer_sizes=(8,), max_iter=8, learning_rate_init=1e-2, random_state=0
)


@pytest.fixture(scope="module")
def clf_frame():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(90, 4), columns=["age", "height", "weight", "score"])
    y = np.array(["cat", "dog", "eel"])[
        (X["age"] + X["score"] > 0).to_numpy(int) + (X["height"] > 0.5).to_numpy(int)
    ]
    return X, y


@pytest.fixture(scope="module")
def saved_clf(clf_frame, tmp_path_factory):
    X, y = clf_frame
    clf = RegularizedNetClassifier(
        **FAST,
        l2=1e-3,  # not l1: RMSprop has no proximal step-size rule
        dropout=0.1,
        label_smoothing=0.1,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        augment=Compose([("noise", GaussianNoise(0.05)), ("mixup", Mixup(0.3))]),
        class_weight={"cat": 2.0},
        optimizer=torch.optim.RMSprop,
        optimizer_kwargs={"alpha": 0.95},
    ).fit(X, y)
    path = tmp_path_factory.mktemp("saved") / "clf.safetensors"
    sk_reg.save(clf, path)
    return clf, path


def _assert_same_params(a, b):
    pa, pb = a.get_params(deep=True), b.get_params(deep=True)
    assert pa.keys() == pb.keys()
    for key in pa:
        assert type(pa[key]) is type(pb[key]), key
        if isinstance(pa[key], np.ndarray):
            np.testing.assert_array_equal(pa[key], pb[key])
            assert pa[key].dtype == pb[key].dtype
        else:
            assert repr(pa[key]) == repr(pb[key]), key


# --- round trips ----------------------------------------------------------------


def test_classifier_round_trip_string_labels_pandas(saved_clf, clf_frame):
    clf, path = saved_clf
    X, _ = clf_frame
    loaded = sk_reg.load(path)
    assert type(loaded) is RegularizedNetClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.feature_names_in_, clf.feature_names_in_)
    assert loaded.n_features_in_ == 4
    assert loaded.n_iter_ == clf.n_iter_
    assert loaded.loss_curve_ == clf.loss_curve_
    assert loaded.validation_scores_ == clf.validation_scores_
    assert loaded.best_validation_score_ == clf.best_validation_score_
    assert loaded._dtype == clf._dtype and loaded._seed == clf._seed
    assert len(loaded.net_.history) == len(clf.net_.history)
    _assert_same_params(loaded, clf)
    # Feature names are still enforced, as after fit.
    with pytest.warns(UserWarning, match="feature names"):
        loaded.predict(X.to_numpy())
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(X[["height", "age", "weight", "score"]])


@pytest.mark.parametrize("dtype", [None, "float32"])
def test_regressor_multi_output_round_trip(tmp_path, dtype):
    rng = np.random.RandomState(1)
    X = rng.randn(80, 3)
    Y = np.c_[X[:, 0] - X[:, 1], X[:, 2] ** 2, X.sum(axis=1)]
    reg = RegularizedNetRegressor(
        hidden_layer_sizes=np.array([6, 5]),
        max_iter=8,
        learning_rate_init=1e-2,
        random_state=0,
        dtype=dtype,
        augment="noise+mixup",
        activation="tanh",
    )
    reg.fit(X, Y)
    sk_reg.save(reg, tmp_path / "reg.safetensors")
    loaded = sk_reg.load(tmp_path / "reg.safetensors")
    assert loaded.predict(X).shape == (80, 3)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded._dtype == (torch.float32 if dtype else torch.float64)
    assert loaded.augment == "noise+mixup"
    _assert_same_params(loaded, reg)


def test_regressor_1d_target_and_builder_module(tmp_path):
    rng = np.random.RandomState(2)
    X = rng.randn(50, 2)
    reg = RegularizedNetRegressor(
        module=MLP((7,), activation="gelu"), max_iter=5, random_state=0
    ).fit(X, X[:, 0])
    sk_reg.save(reg, tmp_path / "m.safetensors")
    loaded = sk_reg.load(tmp_path / "m.safetensors")
    assert loaded.predict(X).shape == (50,)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert isinstance(loaded.module, MLP) and loaded.module.activation == "gelu"
    assert loaded.module.hidden_layer_sizes == (7,)


@pytest.mark.parametrize("how", ["cnn string, 4-D X", "ConvNet builder, flat X"])
def test_image_model_round_trip(tmp_path, how):
    from sklearn.datasets import load_digits

    from sk_reg.augment import CutMix, RandomFlip, RandomRotation
    from sk_reg.modules import ConvNet

    X, y = load_digits(return_X_y=True)
    X = (X[:200] / 16.0).astype(np.float32)
    y = y[:200]
    if how.startswith("cnn"):
        X, params = X.reshape(-1, 1, 8, 8), dict(module="cnn", augment="flip+rotate")
    else:
        params = dict(
            module=ConvNet(channels=(4,), hidden=16),
            input_shape=(1, 8, -1),
            augment=Compose(
                [
                    ("flip", RandomFlip(vertical=True)),
                    ("rot", RandomRotation(10)),
                    ("cutmix", CutMix(0.5)),
                ]
            ),
        )
    clf = RegularizedNetClassifier(max_iter=2, random_state=0, **params).fit(X, y)
    sk_reg.save(clf, tmp_path / "img.safetensors")
    loaded = sk_reg.load(tmp_path / "img.safetensors")
    assert loaded._input_shape == clf._input_shape == (1, 8, 8)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    _assert_same_params(loaded, clf)
    # Two channels instead of one: the first convolution no longer fits.
    bad = _rewrite(
        tmp_path / "img.safetensors",
        tmp_path / "bad.safetensors",
        edit_doc=_set("fitted", "_input_shape", value=[2, 4, 8]),
    )
    with pytest.raises(ValueError, match="shape"):
        sk_reg.load(bad)
    bad = _rewrite(
        tmp_path / "img.safetensors",
        tmp_path / "bad.safetensors",
        edit_doc=_set("fitted", "_input_shape", value=[1, 8, 9]),
    )
    with pytest.raises(ValueError, match="input_shape must be three positive ints"):
        sk_reg.load(bad)


def test_loaded_model_keeps_training(saved_clf, clf_frame):
    _, path = saved_clf
    X, y = clf_frame
    loaded = sk_reg.load(path)
    n_iter = loaded.n_iter_
    with pytest.raises(ValueError, match="partial_fit does not support early"):
        loaded.partial_fit(X, y)
    loaded.set_params(early_stopping=False).partial_fit(X, y)
    assert loaded.n_iter_ == n_iter + 1
    # A fresh fit trains: its objective falls. (Not an accuracy bar: with
    # class_weight and mixup each mixed target now carries its own row's
    # weight, and this 8-epoch network on 90 rows scores 0.47 to 0.73 on its
    # training rows over seeds.)
    refit = loaded.fit(X, y)
    assert refit.loss_curve_[-1] < refit.loss_curve_[0]


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_loaded_model_continues_like_the_saved_one(tmp_path, clf_frame, how):
    # Weights, optimizer state, history and shuffling state are all stored:
    # one more epoch gives the same weights as on the never-saved model.
    X, y = clf_frame
    clf = RegularizedNetClassifier(**FAST, warm_start=how == "warm_start").fit(X, y)
    sk_reg.save(clf, tmp_path / "m.safetensors")
    loaded = sk_reg.load(tmp_path / "m.safetensors")
    for model in (clf, loaded):
        if how == "partial_fit":
            model.partial_fit(X, y)
        else:
            model.set_params(max_iter=2).fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.n_iter_ == clf.n_iter_


class TinyNet(torch.nn.Module):
    def __init__(self, n_features, n_outputs, width=5):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, n_outputs),
        )

    def forward(self, X):
        return self.body(X)


class TinyBuilder:
    """A user's builder (not an sk_reg class)."""

    def __init__(self, width=3):
        self.width = width

    def build(self, n_features, n_outputs, **kwargs):
        return TinyNet(n_features, n_outputs, width=self.width)


def tiny_factory(n_features, n_outputs):
    return TinyNet(n_features, n_outputs, width=4)


@pytest.mark.parametrize(
    "module",
    [TinyNet, TinyBuilder(width=4), tiny_factory],
    ids=["class", "builder", "function"],
)
def test_custom_module_must_be_passed_at_load(tmp_path, clf_frame, module):
    X, y = clf_frame
    clf = RegularizedNetClassifier(module=module, max_iter=4, random_state=0).fit(X, y)
    sk_reg.save(clf, tmp_path / "c.safetensors")
    name = getattr(module, "__name__", "TinyBuilder")
    with pytest.raises(ValueError, match=rf"custom module.*{name}.*module={name}"):
        sk_reg.load(tmp_path / "c.safetensors")
    loaded = sk_reg.load(tmp_path / "c.safetensors", module=module)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # The wrong architecture is refused by the tensor check.
    with pytest.raises(ValueError, match="do not match|shape"):
        sk_reg.load(tmp_path / "c.safetensors", module=TinyBuilder(width=9))


class _RecordMarker(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("marker", 0.5)


def test_unstorable_params_warn_and_reset(tmp_path, clf_frame):
    X, y = clf_frame
    clf = RegularizedNetClassifier(
        **{**FAST, "random_state": np.random.RandomState(0)},
        callbacks=[_RecordMarker()],
    ).fit(X, y)
    with pytest.warns(
        UserWarning, match="callbacks.*random_state|random_state.*callb"
    ) as saving:
        sk_reg.save(clf, tmp_path / "c.safetensors")
    with pytest.warns(UserWarning, match="reset to their defaults") as loading:
        loaded = sk_reg.load(tmp_path / "c.safetensors")
    # Both warnings name the line that called sk_reg, not sk_reg's own code.
    assert [w.filename for w in (*saving, *loading)] == [__file__, __file__]
    assert loaded.callbacks is None and loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # The history values the callback recorded are kept.
    assert (
        loaded.net_.history[:, "marker"]
        == clf.net_.history[:, "marker"]
        == [0.5] * clf.n_iter_
    )


def test_device_override_and_cuda_request(saved_clf, clf_frame):
    _, path = saved_clf
    loaded = sk_reg.load(path, device="cpu")
    assert loaded.device == "cpu" and loaded.net_.device == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            sk_reg.load(path, device="cuda")


def test_save_refuses_other_objects_and_unfitted(tmp_path, clf_frame):
    X, y = clf_frame
    with pytest.raises(TypeError, match="Pipeline"):
        sk_reg.save(
            make_pipeline(StandardScaler(), RegularizedNetClassifier(**FAST)).fit(X, y),
            tmp_path / "p",
        )
    with pytest.raises(NotFittedError):
        sk_reg.save(RegularizedNetClassifier(), tmp_path / "u")
    assert not list(tmp_path.iterdir())


def test_save_is_atomic(tmp_path, saved_clf, monkeypatch):
    clf, path = saved_clf
    target = tmp_path / "model.safetensors"
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        sk_reg.save(clf, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_pipeline_recipe_from_the_notes(tmp_path, clf_frame):
    """The sk_reg step through save/load, the rest rebuilt around it."""
    from sklearn.pipeline import Pipeline

    X, y = clf_frame
    pipe = make_pipeline(StandardScaler(), RegularizedNetClassifier(**FAST)).fit(X, y)
    sk_reg.save(pipe[-1], tmp_path / "net.safetensors")
    joblib.dump(pipe[:-1], tmp_path / "pre.joblib")  # skops.io in the Notes
    pre = joblib.load(tmp_path / "pre.joblib")
    rebuilt = Pipeline(pre.steps + [("net", sk_reg.load(tmp_path / "net.safetensors"))])
    np.testing.assert_array_equal(rebuilt.predict_proba(X), pipe.predict_proba(X))


# --- tampered files ----------------------------------------------------------------


def _read_raw(path):
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}


def _rewrite(
    src, dst, edit_doc=None, edit_tensors=None, fix_checksum=True, raw_document=None
):
    """Write a modified copy of ``src``; recompute the checksum as an attacker
    would, so that the checks behind it are exercised."""
    metadata, tensors = _read_raw(src)
    doc = json.loads(metadata["sk_reg"])
    if edit_doc is not None:
        edit_doc(doc)
    if edit_tensors is not None:
        edit_tensors(tensors)
    text = raw_document if raw_document is not None else json.dumps(doc)
    metadata["sk_reg"] = text
    if fix_checksum:
        metadata["sha256"] = _checksum(text, tensors)
    save_file(tensors, str(dst), metadata=metadata)
    return dst


def test_untouched_rewrite_loads(saved_clf, tmp_path, clf_frame):
    # The helper itself produces loadable files: the refusals below are due
    # to the edits, not to the rewrite.
    clf, path = saved_clf
    loaded = sk_reg.load(_rewrite(path, tmp_path / "same.safetensors"))
    np.testing.assert_array_equal(
        loaded.predict_proba(clf_frame[0]), clf.predict_proba(clf_frame[0])
    )


def _set(*keys, value):
    def edit(doc):
        target = doc
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def _first_weight(tensors):
    return next(k for k in sorted(tensors) if k.endswith("weight"))


TAMPERING = {
    "estimator class": (
        dict(edit_doc=_set("estimator", value="os.system")),
        "unknown estimator class 'os.system'",
    ),
    "module builder name": (
        dict(
            edit_doc=_set(
                "params",
                "module",
                value={"__builder__": "subprocess.Popen", "params": {}},
            )
        ),
        "unknown module builder 'subprocess.Popen'",
    ),
    "augmentation name": (
        dict(
            edit_doc=_set(
                "params", "augment", value={"__augment__": "Evil", "params": {}}
            )
        ),
        "unknown augmentation 'Evil'",
    ),
    "augmentation string": (
        dict(edit_doc=_set("params", "augment", value="warp")),
        "unknown name 'warp'",
    ),
    "optimizer name": (
        dict(
            edit_doc=_set(
                "params", "optimizer", value={"__optimizer__": "lr_scheduler"}
            )
        ),
        "unknown optimizer 'lr_scheduler'",
    ),
    "pickle tag": (
        dict(
            edit_doc=_set(
                "params", "callbacks", value={"__pickle__": "gASVIQAAAAAAAAB9lC4="}
            )
        ),
        "unexpected value",
    ),
    "unknown parameter": (
        dict(edit_doc=_set("params", "exec", value="x")),
        "are not those of RegularizedNetClassifier",
    ),
    "invalid hyperparameter": (
        dict(edit_doc=_set("params", "l1", value=-1.0)),
        "'l1' parameter",
    ),
    "builder parameter": (
        dict(
            edit_doc=_set(
                "params", "module", value={"__builder__": "MLP", "params": {"depth": 3}}
            )
        ),
        "MLP has no parameters",
    ),
    "hidden layer sizes": (
        dict(edit_doc=_set("params", "hidden_layer_sizes", value={"__tuple__": [9]})),
        "shape",
    ),
    "n_features_in_": (
        dict(
            edit_doc=lambda doc: doc["fitted"].update(
                n_features_in_=5, feature_names_in_=list("abcde")
            )
        ),
        "shape",
    ),
    "n_features_in_ type": (
        dict(edit_doc=_set("fitted", "n_features_in_", value="4")),
        "wrong type",
    ),
    "classes_ count": (
        dict(edit_doc=_set("fitted", "classes_", "__ndarray__", value=["cat", "dog"])),
        "classes_",
    ),
    "classes_ dtype": (
        dict(edit_doc=_set("fitted", "classes_", "dtype", value="V8")),
        "dtype",
    ),
    "compute dtype": (
        dict(edit_doc=_set("fitted", "_dtype", value="int8")),
        "compute dtype",
    ),
    "feature names": (
        dict(edit_doc=_set("fitted", "feature_names_in_", value=["a"])),
        "feature_names_in_",
    ),
    "history length": (dict(edit_doc=_set("fitted", "n_iter_", value=99)), "disagree"),
    "format version": (
        dict(edit_doc=_set("format_version", value=3)),
        "format_version",
    ),
    "not JSON": (dict(raw_document='{"estimator": '), "not valid JSON"),
    "NaN constant": (dict(raw_document='{"estimator": NaN}'), "not valid JSON"),
    "duplicate keys": (
        dict(raw_document='{"estimator": 1, "estimator": 2}'),
        "not valid JSON",
    ),
    "deep nesting": (
        dict(raw_document="[" * 100_000 + "]" * 100_000),
        "not valid JSON",
    ),
    "wrong tensor shape": (
        dict(
            edit_tensors=lambda t: t.update(
                {_first_weight(t): torch.zeros(3, 3, dtype=t[_first_weight(t)].dtype)}
            )
        ),
        "shape",
    ),
    "wrong tensor dtype": (
        dict(
            edit_tensors=lambda t: t.update(
                {_first_weight(t): t[_first_weight(t)].float()}
            )
        ),
        "dtype",
    ),
    "missing tensor": (dict(edit_tensors=lambda t: t.pop(_first_weight(t))), "missing"),
    "extra tensor": (
        dict(edit_tensors=lambda t: t.update({"module.extra": torch.zeros(2)})),
        "unexpected",
    ),
    "tensor outside module": (
        dict(edit_tensors=lambda t: t.update({"payload": torch.zeros(2)})),
        "unexpected tensor 'payload'",
    ),
    "custom module name": (
        dict(
            edit_doc=lambda doc: doc["module"].update(
                kind="custom", **{"class": "\x1b[2Jevil()"}
            )
        ),
        r"custom module \(YourModule\)",
    ),
    "attribute shadowing a method": (
        dict(edit_doc=_set("fitted", "predict", value=1)),
        "fitted attribute 'predict'",
    ),
    "optimizer tensor shape": (
        dict(
            edit_tensors=lambda t: t.update({"optimizer.0.square_avg": torch.zeros(2)})
        ),
        "optimizer state 0.square_avg",
    ),
    "optimizer tensor outside the state": (
        dict(edit_tensors=lambda t: t.update({"optimizer.9.x": torch.zeros(2)})),
        "unexpected optimizer tensors",
    ),
    "generator state": (
        dict(
            edit_doc=_set(
                "net",
                "rng",
                value={"__dict__": [["bit_generator", "MT19937"], ["state", 1]]},
            )
        ),
        "generator state",
    ),
    "NaN weights": (
        dict(edit_tensors=lambda t: t[_first_weight(t)].fill_(float("nan"))),
        "non-finite",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampered_file_is_refused(saved_clf, tmp_path, case):
    _, path = saved_clf
    edits, message = TAMPERING[case]
    bad = _rewrite(path, tmp_path / "bad.safetensors", **edits)
    with pytest.raises(ValueError, match=message):
        sk_reg.load(bad)


def test_edit_without_new_checksum_is_refused(saved_clf, tmp_path):
    _, path = saved_clf
    bad = _rewrite(
        path,
        tmp_path / "bad.safetensors",
        fix_checksum=False,
        edit_doc=_set("params", "l2", value=0.5),
    )
    with pytest.raises(ValueError, match="checksum"):
        sk_reg.load(bad)
    flipped = _rewrite(
        path,
        tmp_path / "flip.safetensors",
        fix_checksum=False,
        edit_tensors=lambda t: t[_first_weight(t)].mul_(-1),
    )
    with pytest.raises(ValueError, match="checksum"):
        sk_reg.load(flipped)


def test_missing_metadata_and_truncated_file(saved_clf, tmp_path):
    _, path = saved_clf
    _, tensors = _read_raw(path)
    save_file(tensors, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ValueError, match="no sk_reg format"):
        sk_reg.load(tmp_path / "plain.safetensors")
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) - 10])
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        sk_reg.load(tmp_path / "cut.safetensors")
    with pytest.raises(FileNotFoundError):
        sk_reg.load(tmp_path / "nowhere.safetensors")


# --- files that carry a pickle payload --------------------------------------------


class _Payload:
    """Unpickling this creates (truncates) the file at ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_payload_is_live(tmp_path):
    # Guard: the payload really runs when unpickled, so the tests below would
    # notice if load unpickled it.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker))).close()
    assert marker.exists()


def _pickle_file(path, marker):
    path.write_bytes(pickle.dumps({"estimator": _Payload(marker)}))


def _joblib_file(path, marker):
    joblib.dump({"estimator": _Payload(marker)}, path)


def _torch_file(path, marker):
    torch.save({"estimator": _Payload(marker)}, path)


def _pickled_estimator_file(path, marker):
    clf = RegularizedNetClassifier(**FAST).fit([[0.0], [1.0], [2.0]], [0, 1, 1])
    clf.payload_ = _Payload(marker)
    path.write_bytes(pickle.dumps(clf))


@pytest.mark.parametrize(
    "make", [_pickle_file, _joblib_file, _torch_file, _pickled_estimator_file]
)
def test_pickle_files_are_refused_without_running(tmp_path, make):
    marker = tmp_path / "ran"
    path = tmp_path / "model.safetensors"
    make(path, marker)
    with pytest.raises(ValueError, match="not an sk_reg model file.*never unpickles"):
        sk_reg.load(path)
    assert not marker.exists()


def test_payload_inside_a_valid_file_is_not_run(saved_clf, tmp_path):
    _, path = saved_clf
    marker = tmp_path / "ran"
    blob = pickle.dumps(_Payload(marker))
    # As a tensor of raw bytes ...
    payload = torch.frombuffer(bytearray(blob), dtype=torch.uint8)
    as_tensor = _rewrite(
        path,
        tmp_path / "t.safetensors",
        edit_tensors=lambda t: t.update({"module.payload": payload}),
    )
    with pytest.raises(ValueError, match="unexpected"):
        sk_reg.load(as_tensor)
    # ... and as text in the JSON, where a parameter value is expected.
    as_text = _rewrite(
        path,
        tmp_path / "j.safetensors",
        edit_doc=_set(
            "params",
            "module",
            value={"__builder__": blob.decode("latin-1"), "params": {}},
        ),
    )
    with pytest.raises(ValueError, match="unknown module builder"):
        sk_reg.load(as_text)
    assert not marker.exists()


# --- GPU ------------------------------------------------------------------------------


@pytest.mark.gpu
def test_cuda_model_saves_and_loads_on_cpu(tmp_path, clf_frame):
    X, y = clf_frame
    clf = RegularizedNetClassifier(**FAST, device="cuda").fit(X, y)
    sk_reg.save(clf, tmp_path / "gpu.safetensors")
    code = (
        "import sys, numpy as np, pandas as pd, torch, sk_reg\n"
        "assert not torch.cuda.is_available()\n"
        "clf = sk_reg.load(sys.argv[1], device='cpu')\n"
        "X = pd.read_pickle(sys.argv[2])\n"
        "np.savez(sys.argv[3], proba=clf.predict_proba(X), *[\n"
        "    p.detach().numpy() for p in clf.net_.module_.parameters()])\n"
    )
    X.to_pickle(tmp_path / "X.pkl")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    root = os.path.dirname(os.path.dirname(os.path.abspath(sk_reg.__file__)))
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "gpu.safetensors"),
            str(tmp_path / "X.pkl"),
            str(tmp_path / "out.npz"),
        ],
        check=True,
        env=env,
        cwd=root,
    )
    out = np.load(tmp_path / "out.npz")
    # The weights are bit-identical; CPU and GPU kernels may round the
    # forward pass differently in the last bits.
    for i, p in enumerate(clf.net_.module_.parameters()):
        np.testing.assert_array_equal(out[f"arr_{i}"], p.detach().cpu().numpy())
    np.testing.assert_allclose(out["proba"], clf.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_no_warnings_on_a_plain_round_trip(tmp_path, clf_frame):
    X, y = clf_frame
    clf = RegularizedNetClassifier(**FAST).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk_reg.save(clf, tmp_path / "m.safetensors")
        sk_reg.load(tmp_path / "m.safetensors")


# --- CV searches ----------------------------------------------------------------
_CANDIDATES = [{"l2": 1e-4}, {"l2": 1.0, "hidden_layer_sizes": (6,)}, {"dropout": 0.2}]


@pytest.fixture(scope="module")
def saved_search(clf_frame, tmp_path_factory):
    X, y = clf_frame
    search = sk_reg.RegularizedNetClassifierCV(
        _CANDIDATES, min_iter=3, max_iter=8, n_ensemble=2, random_state=0
    ).fit(X, y)
    path = tmp_path_factory.mktemp("saved") / "search.safetensors"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        sk_reg.save(search, path)
    return search, path


def _assert_same_search(loaded, search, X):
    assert type(loaded) is type(search)
    _assert_same_params(loaded, search)
    assert len(loaded.estimators_) == len(search.estimators_) == 2
    assert loaded.best_estimator_ is loaded.estimators_[0]
    for a, b in zip(loaded.estimators_, search.estimators_, strict=True):
        _assert_same_params(a, b)
        for wa, wb in zip(a.coefs_, b.coefs_, strict=True):
            np.testing.assert_array_equal(wa, wb)
    assert loaded.best_params_ == search.best_params_
    assert loaded.best_index_ == search.best_index_
    assert loaded.best_score_ == search.best_score_
    assert loaded.cv_results_["params"] == search.cv_results_["params"]
    for key, value in search.cv_results_.items():
        np.testing.assert_array_equal(loaded.cv_results_[key], value)
    assert set(vars(loaded)) == set(vars(search))
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))


def test_search_round_trip_keeps_every_network(saved_search, clf_frame):
    search, path = saved_search
    X, y = clf_frame
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # feature names are kept: no warning
        loaded = sk_reg.load(path)
        _assert_same_search(loaded, search, X)
    np.testing.assert_array_equal(loaded.predict_proba(X), search.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, ["cat", "dog", "eel"])
    np.testing.assert_array_equal(loaded.feature_names_in_, X.columns)
    # Two networks averaged: the search's probabilities are not the best's alone.
    assert not np.allclose(
        loaded.predict_proba(X), loaded.best_estimator_.predict_proba(X.to_numpy())
    )
    assert loaded.score(X, y) == search.score(X, y)


def test_regressor_and_multilabel_searches_round_trip(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randn(80, 3)
    Y = np.c_[X[:, 0] * 1e3, X[:, 1] - X[:, 2]]
    reg = sk_reg.RegularizedNetRegressorCV(
        _CANDIDATES[:2], min_iter=3, max_iter=8, n_ensemble=2, random_state=0
    ).fit(X, Y)
    sk_reg.save(reg, tmp_path / "reg.safetensors")
    _assert_same_search(sk_reg.load(tmp_path / "reg.safetensors"), reg, X)
    labels = (np.c_[X[:, 0], X[:, 1], X[:, 0] + X[:, 2]] > 0).astype(int)
    multi = sk_reg.RegularizedNetClassifierCV(
        _CANDIDATES[:2], min_iter=3, max_iter=8, n_ensemble=2, random_state=0
    ).fit(X, labels)
    sk_reg.save(multi, tmp_path / "multi.safetensors")
    loaded = sk_reg.load(tmp_path / "multi.safetensors")
    _assert_same_search(loaded, multi, X)
    assert loaded._multilabel and loaded.predict(X).shape == labels.shape


def test_search_device_override_reaches_every_network(saved_search):
    _, path = saved_search
    loaded = sk_reg.load(path, device="cpu")
    assert loaded.device == "cpu"
    assert all(net.device == "cpu" for net in loaded.estimators_)


class _Flip(GaussianNoise):
    """An augmentation sk_reg does not know by name: not storable as data."""


def test_search_with_unstorable_candidates_warns_and_predicts(tmp_path, clf_frame):
    X, y = clf_frame
    search = sk_reg.RegularizedNetClassifierCV(
        [{"l2": 1e-4}], min_iter=3, max_iter=6, random_state=0
    ).fit(X, y)
    search.set_params(candidates=[{"augment": _Flip(0.1)}])  # as if fitted so
    with pytest.warns(UserWarning, match="RegularizedNetClassifierCV.*candidates"):
        sk_reg.save(search, tmp_path / "s.safetensors")
    with pytest.warns(UserWarning, match=r"\['candidates'\]") as record:
        loaded = sk_reg.load(tmp_path / "s.safetensors")
    assert record[0].filename == __file__  # the caller's line, not sk_reg's
    assert loaded.candidates is None
    np.testing.assert_array_equal(loaded.predict_proba(X), search.predict_proba(X))


def test_other_searches_are_refused_with_advice(tmp_path, clf_frame):
    from sklearn.model_selection import GridSearchCV

    X, y = clf_frame
    grid = GridSearchCV(RegularizedNetClassifier(**FAST), {"l2": [0.0]}, cv=2)
    with pytest.raises(TypeError, match="got GridSearchCV. Save its best_estim"):
        sk_reg.save(grid.fit(X, y), tmp_path / "g")


def _member(k, *keys, value):
    return _set("members", k, *keys, value=value)


def _drop_member_tensors(k):
    def edit(tensors):
        for name in [n for n in tensors if n.startswith(f"estimators.{k}.module")]:
            del tensors[name]

    return edit


SEARCH_TAMPERING = {
    "no members": (dict(edit_doc=_set("members", value=[])), "members must hold"),
    "member of the wrong kind": (
        dict(edit_doc=_member(1, "estimator", value="RegularizedNetRegressor")),
        r"members\[1\] is not a RegularizedNetClassifier",
    ),
    "member naming code": (
        dict(edit_doc=_member(0, "estimator", value="os.system")),
        r"members\[0\] is not a RegularizedNetClassifier",
    ),
    "member builder name": (
        dict(
            edit_doc=_member(
                0,
                "params",
                "module",
                value={"__builder__": "subprocess.Popen", "params": {}},
            )
        ),
        "unknown module builder 'subprocess.Popen'",
    ),
    "tensor of no member": (
        dict(edit_tensors=lambda t: t.update({"module.x": torch.zeros(2)})),
        "unexpected tensor 'module.x'",
    ),
    "tensor of a member too many": (
        dict(edit_tensors=lambda t: t.update({"estimators.2.x": torch.zeros(2)})),
        "unexpected tensor 'estimators.2.x'",
    ),
    "member index written two ways": (
        dict(edit_tensors=lambda t: t.update({"estimators.01.x": torch.zeros(2)})),
        "unexpected tensor 'estimators.01.x'",
    ),
    "member without its weights": (
        dict(edit_tensors=_drop_member_tensors(1)),
        "saved weights do not match",
    ),
    "fitted attribute shadowing a method": (
        dict(edit_doc=_set("fitted", "predict", value=1)),
        "fitted attribute 'predict'",
    ),
    "classes from the file": (
        dict(edit_doc=_set("fitted", "classes_", value=["x", "y", "z"])),
        "fitted attribute 'classes_'",
    ),
    "feature count": (
        dict(edit_doc=_set("fitted", "n_features_in_", value=5)),
        "disagree on n_features_in_|feature_names_in_",
    ),
    "members' classes": (
        dict(
            edit_doc=_member(
                1,
                "fitted",
                "classes_",
                value={"__ndarray__": ["cat", "dog", "fox"], "dtype": "<U3"},
            )
        ),
        "disagree on classes_",
    ),
    "n_iter_ of another network": (
        dict(edit_doc=_set("fitted", "n_iter_", value=10_000)),
        "n_iter_ is not the best's",
    ),
    "search parameter": (
        dict(edit_doc=_set("params", "n_ensemble", value=0)),
        "n_ensemble",
    ),
    "missing best_params_": (
        dict(edit_doc=lambda d: d["fitted"].pop("best_params_")),
        "best_params_ is missing",
    ),
}


@pytest.mark.parametrize("case", sorted(SEARCH_TAMPERING))
def test_tampered_search_file_is_refused(saved_search, tmp_path, case):
    _, path = saved_search
    edits, message = SEARCH_TAMPERING[case]
    bad = _rewrite(path, tmp_path / "bad.safetensors", **edits)
    with pytest.raises(ValueError, match=message):
        sk_reg.load(bad)


def test_untouched_search_rewrite_loads(saved_search, tmp_path, clf_frame):
    search, path = saved_search
    loaded = sk_reg.load(_rewrite(path, tmp_path / "same.safetensors"))
    np.testing.assert_array_equal(
        loaded.predict_proba(clf_frame[0]), search.predict_proba(clf_frame[0])
    )


_OLD = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "name, row",
    [
        ("convnet_format2.safetensors", 0),
        ("convnet_state1.pkl", 0),
        ("search_format2.safetensors", 1),
        ("search_state1.pkl", 1),
    ],
)
def test_models_saved_by_an_earlier_version_load_and_predict_as_they_did(name, row):
    # Written at commit 157b469 (tests/data/make_old_files.py), before ConvNet's
    # batch_norm, the estimators' learning_rate and the searches' module and
    # input_shape: absent parameters take the values those models had.
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    X = (X[:120] / 16).astype(np.float32)
    path = _OLD / name
    if path.suffix == ".pkl" and np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("pickles written with numpy 2 need numpy 2 to load")
    if path.suffix == ".pkl":
        with open(path, "rb") as f:
            model = pickle.load(f)
    else:
        model = sk_reg.load(path)
    expected = np.load(_OLD / "old_predictions.npy")[row]
    if row == 0:
        # ConvNets now compute channels-last: float32 sums in another order
        np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-5)
    else:
        np.testing.assert_array_equal(model.predict_proba(X), expected)
    net = model if row == 0 else model.best_estimator_
    assert net.learning_rate == "constant"
    if row == 0:
        assert model.module.batch_norm is False
    else:
        assert model.module is None and model.input_shape is None


def _built_net(net):
    """What fit chose when it built ``net``: settings and the built pieces."""
    split = net.train_split
    return {
        **net.settings(),
        "module": repr(net.module_),
        "optimizer": type(net.optimizer_).__name__,
        "param_groups": [
            {k: v for k, v in g.items() if k != "params"}
            for g in net.optimizer_.param_groups
        ],
        "callbacks": [name for name, _ in net.callbacks_],
        "lr_schedule": net.lr_schedule,
        "augment": repr(net.augment),
        "split": None if split is None else vars(split),
        "history": len(net.history),
    }


def _through_skops(est, tmp_path):
    import skops.io as sio

    path = tmp_path / "m.skops"
    sio.dump(est, path)
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


def _through_save(est, tmp_path):
    sk_reg.save(est, tmp_path / "m.safetensors")
    return sk_reg.load(tmp_path / "m.safetensors")


@pytest.mark.parametrize(
    "restore",
    [
        lambda est, tmp_path: pickle.loads(pickle.dumps(est)),
        _through_save,
        _through_skops,
    ],
    ids=["pickle", "save-load", "skops"],
)
def test_every_restore_rebuilds_the_net_fit_built(tmp_path, restore):
    # The validation rows given to fit set the hold-out's n_train, which a
    # rebuilt net must have too; also augment, schedule and optimizer.
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), np.tile([0, 1], 20)
    est = RegularizedNetClassifier(
        (5,),
        max_iter=3,
        random_state=0,
        early_stopping=True,
        augment="noise",
        learning_rate="invscaling",
        optimizer="sgd",
        learning_rate_init=0.01,
    ).fit(X[:30], y[:30], X_val=X[30:], y_val=y[30:])
    assert est.net_.settings()["n_train"] == 30
    restored = restore(est, tmp_path)
    assert _built_net(restored.net_) == _built_net(est.net_)
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


def test_pickle_from_other_versions_warns(monkeypatch):
    from sklearn.exceptions import InconsistentVersionWarning

    from sk_reg import _state

    est = RegularizedNetRegressor((3,), max_iter=2, random_state=0)
    est.fit(np.eye(3), np.arange(3.0))
    blob = pickle.dumps(est)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(blob)  # same versions: silent
    monkeypatch.setattr(
        _state, "library_versions", lambda: {"sk_reg": "9.9", "scikit-learn": "0.1"}
    )
    with pytest.warns(InconsistentVersionWarning, match="0.1"):
        with pytest.warns(UserWarning, match="from sk_reg 0.1.0 with sk_reg 9.9"):
            pickle.loads(blob)
