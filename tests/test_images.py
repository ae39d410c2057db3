"""Estimators on images: input_shape, 4-D input, ConvNet, image augmentation."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from torch import nn

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg._compat import InvalidParameterError
from sk_reg.augment import _resolve_augment
from sk_reg.modules import ConvNet

IMAGE_AUGMENTS = ["flip", "rotate", "scale", "shift", "affine", "cutout", "cutmix"]
TINY = dict(
    module=ConvNet(channels=(4,), hidden=16),
    input_shape=(1, 8, 8),
    max_iter=3,
    batch_size=64,
    random_state=0,
)


@pytest.fixture(scope="module")
def small_digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:200] / 16.0).astype(np.float32), y[:200]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at a few epochs
        return est.fit(X, y)


def _weights(est):
    return [p.detach().clone() for p in est.net_.module_.parameters()]


def test_convnet_learns_digits_from_flat_rows(digits):
    X, y = digits
    clf = _fit(
        RegularizedNetClassifier(**{**TINY, "max_iter": 30}, learning_rate_init=3e-3),
        X[:600],
        y[:600],
    )
    assert clf.n_features_in_ == 64
    assert clf.score(X[600:900], y[600:900]) > 0.85
    assert isinstance(clf.net_.module_.features[0], nn.Conv2d)


def test_4d_input_is_the_same_as_flat_rows(small_digits):
    X, y = small_digits
    images = X.reshape(-1, 1, 8, 8)
    flat = _fit(RegularizedNetClassifier(**TINY), X, y)
    four_d = _fit(RegularizedNetClassifier(**{**TINY, "input_shape": None}), images, y)
    for a, b in zip(_weights(flat), _weights(four_d), strict=True):
        torch.testing.assert_close(a, b)
    assert four_d.n_features_in_ == 64
    np.testing.assert_array_equal(four_d.predict(images), four_d.predict(X))
    np.testing.assert_array_equal(flat.predict(images), four_d.predict(X))
    with pytest.raises(ValueError, match=r"shape \(1, 4, 16\).*\(1, 8, 8\)"):
        four_d.predict(X.reshape(-1, 1, 4, 16))


def test_partial_fit_on_image_batches(small_digits):
    X, y = small_digits
    images = X.reshape(-1, 1, 8, 8)
    clf = RegularizedNetClassifier(**{**TINY, "input_shape": None}, augment="flip")
    clf.partial_fit(images[:100], y[:100], classes=np.arange(10))
    clf.partial_fit(images[100:], y[100:])
    assert clf.n_iter_ == 2 and clf.predict(X).shape == (200,)


def test_regressor_with_convnet_and_augmentation(small_digits):
    X, y = small_digits
    reg = _fit(
        RegularizedNetRegressor(**TINY, augment="shift+cutmix"), X, np.c_[y, -y] / 10.0
    )
    assert reg.predict(X).shape == (200, 2)


def test_pipelines_pass_flat_arrays(small_digits):
    X, y = small_digits
    pipe = make_pipeline(
        MinMaxScaler(), RegularizedNetClassifier(**TINY, augment="rotate")
    )
    assert _fit(pipe, X, y).predict(X[:5]).shape == (5,)


@pytest.mark.parametrize("module", ["cnn", ConvNet(channels=(2,))])
def test_inferred_input_shape_with_minus_one(small_digits, module):
    X, y = small_digits
    params = {**TINY, "module": module, "input_shape": (1, -1, 8)}
    clf = _fit(RegularizedNetClassifier(**params), X, y)
    assert clf.net_.module_.input_shape == (1, 8, 8)


@pytest.mark.parametrize("shape", [(1, 8, 7), (2, 8, 8), (1, -1, 7)])
def test_input_shape_that_does_not_fit_is_a_value_error(small_digits, shape):
    X, y = small_digits
    with pytest.raises(ValueError, match="does not fit rows of 64 features"):
        RegularizedNetClassifier(**{**TINY, "input_shape": shape}).fit(X, y)


def test_4d_input_with_another_shape_than_input_shape(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="images of shape"):
        RegularizedNetClassifier(**TINY).fit(X.reshape(-1, 1, 4, 16), y)


@pytest.mark.parametrize(
    "shape", [(8, 8), (1, 0, 64), (-1, -1, 64), (1.0, 8, 8), "1x8x8", 64]
)
def test_invalid_input_shape_parameter(small_digits, shape):
    X, y = small_digits
    with pytest.raises(InvalidParameterError, match="input_shape"):
        RegularizedNetClassifier(**{**TINY, "input_shape": shape}).fit(X, y)


def test_tabular_model_rejects_4d_input(small_digits):
    X, y = small_digits
    clf = _fit(RegularizedNetClassifier((4,), max_iter=2), X, y)
    with pytest.raises(ValueError, match="dim 4"):
        clf.predict(X.reshape(-1, 1, 8, 8))


@pytest.mark.parametrize("augment", IMAGE_AUGMENTS + ["noise+flip"])
def test_image_augmentation_on_tabular_data_is_a_value_error_at_fit(
    small_digits, augment
):
    X, y = small_digits
    with pytest.raises(ValueError, match="image augmentation.*input_shape"):
        RegularizedNetClassifier((4,), augment=augment, max_iter=2).fit(X, y)


def test_cnn_without_input_shape_is_a_value_error(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="ConvNet needs the image shape"):
        RegularizedNetClassifier(module="cnn", max_iter=2).fit(X, y)


class _Recorder(nn.Module):
    """Linear model that records the inputs of its training forward passes."""

    seen: list = []

    def __init__(self, n_features, n_outputs, input_shape):
        super().__init__()
        self.input_shape = input_shape
        self.lin = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        if self.training:
            _Recorder.seen.append(X.detach().clone())
        return self.lin(X)


@pytest.mark.parametrize("augment", [None, *IMAGE_AUGMENTS])
def test_augmentation_changes_training_batches_never_predictions(small_digits, augment):
    X, y = small_digits
    _Recorder.seen = []
    clf = _fit(
        RegularizedNetClassifier(
            module=_Recorder,
            input_shape=(1, 8, 8),
            augment=augment,
            max_iter=2,
            random_state=0,
        ),
        X,
        y,
    )
    assert clf.net_.module_.input_shape == (1, 8, 8)
    seen = torch.cat(_Recorder.seen)
    assert seen.shape == (2 * len(X), 64)
    originals = {tuple(row) for row in torch.from_numpy(X).tolist()}
    changed = sum(tuple(row) not in originals for row in seen.tolist())
    if augment is None:
        assert changed == 0
    else:  # a flip or a small box can leave a few rows unchanged
        assert changed > len(seen) // 4
    _Recorder.seen = []
    proba = clf.predict_proba(X)
    assert _Recorder.seen == []  # prediction runs in eval mode
    with torch.no_grad():
        logits = clf.net_.module_.eval()(torch.from_numpy(X))
    np.testing.assert_allclose(proba, torch.softmax(logits, 1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("augment", ["flip+affine+cutmix", "cutout"])
def test_same_random_state_same_fit_with_image_augmentation(small_digits, augment):
    X, y = small_digits
    params = dict(TINY, augment=augment, dropout=0.2)
    a = _fit(RegularizedNetClassifier(**params), X, y)
    b = _fit(RegularizedNetClassifier(**params), X, y)
    c = _fit(RegularizedNetClassifier(**{**params, "random_state": 1}), X, y)
    for wa, wb in zip(_weights(a), _weights(b), strict=True):
        assert torch.equal(wa, wb)
    pairs = zip(_weights(a), _weights(c), strict=True)
    assert not all(torch.equal(wa, wc) for wa, wc in pairs)


def test_pickled_convnet_estimator_predicts_the_same(small_digits):
    X, y = small_digits
    clf = _fit(
        RegularizedNetClassifier(**TINY, augment="affine+cutmix", dropout=0.25), X, y
    )
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(
        restored.predict(X.reshape(-1, 1, 8, 8)), clf.predict(X)
    )


def test_dropout_reaches_the_convnet(small_digits):
    X, y = small_digits
    clf = _fit(RegularizedNetClassifier(**TINY, dropout=0.4), X, y)
    drops = [m.p for m in clf.net_.module_.modules() if isinstance(m, nn.Dropout)]
    assert drops == [0.4, 0.4]


def test_feature_importances_is_absent_for_a_convnet(small_digits):
    X, y = small_digits
    clf = _fit(RegularizedNetClassifier(**TINY), X, y)
    assert not hasattr(clf, "feature_importances_")
    with pytest.raises(AttributeError, match="torch.nn.Linear"):
        clf.feature_importances_  # noqa: B018


def test_grid_search_over_module_and_augment_params(small_digits):
    X, y = small_digits
    search = GridSearchCV(
        RegularizedNetClassifier(**TINY, augment=_resolve_augment("flip+rotate")),
        {"module__channels": [(2,), (4,)], "augment__rotate__degrees": [5, 20]},
        cv=2,
    )
    _fit(search, X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.module.channels in [(2,), (4,)]
    assert (
        search.best_estimator_.net_.module_.features[0].out_channels
        == (search.best_params_["module__channels"][0])
    )


@pytest.mark.gpu
def test_convnet_with_image_augmentation_on_cuda(small_digits):
    X, y = small_digits
    clf = _fit(
        RegularizedNetClassifier(
            **TINY, device="cuda", augment="flip+affine+cutout+cutmix"
        ),
        X,
        y,
    )
    assert next(clf.net_.module_.parameters()).device.type == "cuda"
    cpu = _fit(
        RegularizedNetClassifier(**TINY, augment="flip+affine+cutout+cutmix"), X, y
    )
    assert clf.predict(X).shape == cpu.predict(X).shape == (200,)
    again = _fit(
        RegularizedNetClassifier(
            **TINY, device="cuda", augment="flip+affine+cutout+cutmix"
        ),
        X,
        y,
    )
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))
