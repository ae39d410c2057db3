"""Multilabel classification, the Poisson loss and augmentation lists."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg._compat import InvalidParameterError
from sk_reg.augment import Compose, GaussianNoise, Mixup

FAST = dict(hidden_layer_sizes=(32,), learning_rate_init=1e-2, random_state=0)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        n_samples=300, n_classes=4, random_state=0, return_indicator=True
    )
    return X / X.max(), Y


# --- multilabel ---------------------------------------------------------------


def test_multilabel_outputs_like_mlp(multilabel):
    X, Y = multilabel
    clf = RegularizedNetClassifier(**FAST, max_iter=100).fit(X, Y)
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    pred = clf.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (clf.predict_proba(X) > 0.5).astype(int))
    # score is subset accuracy, as for MLPClassifier.
    assert clf.score(X, Y) == accuracy_score(Y, pred)
    assert clf.score(X, Y) > 0.6


def test_multilabel_label_smoothing_pulls_probabilities_to_one_half(multilabel):
    X, Y = multilabel
    sharp = RegularizedNetClassifier(**FAST, max_iter=100).fit(X, Y)
    smooth = RegularizedNetClassifier(**FAST, max_iter=100, label_smoothing=0.3)
    smooth.fit(X, Y)
    dist = [np.abs(m.predict_proba(X) - 0.5).mean() for m in (sharp, smooth)]
    assert dist[1] < dist[0] - 0.05


@pytest.mark.parametrize(
    "params",
    [
        {"l1": 1e-3},
        {"l2": 1e-2},
        {"dropout": 0.3},
        {"augment": "noise"},
        {"augment": "mixup"},
        {"augment": ["noise", Mixup(0.4)]},
        {"early_stopping": True},
        {"early_stopping": True, "scoring": "loss"},
        {"early_stopping": True, "scoring": "f1_micro"},
    ],
)
def test_every_regularizer_works_with_multilabel_targets(multilabel, params):
    X, Y = multilabel
    clf = RegularizedNetClassifier(**FAST, max_iter=60, **params).fit(X, Y)
    assert clf.score(X, Y) > 0.4
    if clf.early_stopping:
        assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_multilabel_mixup_trains_on_mixed_multi_hot_targets(multilabel):
    X, Y = multilabel
    seen = []

    class Spy(Mixup):
        def __call__(self, X, y):
            X, y = super().__call__(X, y)
            seen.append(y)
            return X, y

    RegularizedNetClassifier(**FAST, max_iter=2, augment=Spy(alpha=1.0)).fit(X, Y)
    targets = seen[0].numpy()
    assert targets.shape[1] == 4
    assert ((targets > 0) & (targets < 1)).any()  # mixed, not 0/1 any more
    assert targets.min() >= 0 and targets.max() <= 1


def test_multilabel_early_stopping_is_unstratified(multilabel):
    X, Y = multilabel
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*stratified")
        RegularizedNetClassifier(**FAST, max_iter=5, early_stopping=True).fit(X, Y)


def test_multilabel_errors(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match="class_weight is not supported"):
        RegularizedNetClassifier(class_weight={0: 2.0}).fit(X, Y)
    with pytest.raises(ValueError, match="only 0 and 1"):
        RegularizedNetClassifier().fit(X, 2 * Y)
    clf = RegularizedNetClassifier(**FAST).partial_fit(X, Y, classes=np.arange(4))
    with pytest.raises(ValueError, match="cannot switch between multilabel"):
        clf.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="fitted with 4"):
        clf.partial_fit(X, Y[:, :3])
    single = RegularizedNetClassifier(**FAST).partial_fit(X, Y[:, 0], classes=[0, 1])
    with pytest.raises(ValueError, match="cannot switch between multilabel"):
        single.partial_fit(X, Y)
    with pytest.raises(ValueError, match="np.arange"):
        RegularizedNetClassifier().partial_fit(X, Y, classes=["a", "b", "c", "d"])


def test_column_y_is_not_multilabel():
    X = np.arange(20.0).reshape(10, 2)
    y = (np.arange(10) % 2).reshape(-1, 1)
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        clf = RegularizedNetClassifier(**FAST, max_iter=3).fit(X, y)
    assert clf.predict(X).shape == (10,) and clf.out_activation_ == "softmax"


# --- Poisson ------------------------------------------------------------------


def test_poisson_predictions_are_positive_and_fit_counts():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 3))
    mu = np.exp(0.5 + X @ [1.0, -0.5, 0.0])
    y = rng.poisson(mu)
    reg = RegularizedNetRegressor(**FAST, loss="poisson", max_iter=200).fit(X, y)
    pred = reg.predict(X)
    assert (pred > 0).all()
    assert np.corrcoef(pred, mu)[0, 1] > 0.95
    # The deviance the net reports is MLP's (half) Poisson deviance.
    from sklearn.metrics import mean_poisson_deviance

    assert reg.loss_curve_[-1] == pytest.approx(
        0.5 * mean_poisson_deviance(y, pred), rel=0.1
    )


def test_poisson_refuses_negative_targets():
    reg = RegularizedNetRegressor(loss="poisson")
    with pytest.raises(ValueError, match="non-negative targets"):
        reg.fit([[0.0], [1.0], [2.0]], [1.0, -0.5, 2.0])
    assert not hasattr(reg, "net_")


def test_loss_is_validated():
    with pytest.raises(InvalidParameterError, match="'loss'"):
        RegularizedNetRegressor(loss="absolute_error").fit([[0.0], [1.0]], [0, 1])


# --- augment as a list ----------------------------------------------------------


def test_augment_list_applies_steps_in_order():
    calls = []

    class Tag(GaussianNoise):
        def __init__(self, std=0.0, tag="a"):
            super().__init__(std)
            self.tag = tag

        def __call__(self, X, y):
            calls.append(self.tag)
            return X, y

    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10) % 2
    clf = RegularizedNetClassifier(
        **FAST, max_iter=1, batch_size=10, augment=[Tag(tag="a"), Tag(tag="b")]
    )
    clf.fit(X, y)
    assert calls == ["a", "b"]
    assert isinstance(clf.net_.augment, Compose)


def test_augment_list_errors():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    for bad in ([], [3], ["unknown"]):
        with pytest.raises(InvalidParameterError, match="'augment'"):
            RegularizedNetClassifier(augment=bad).fit(X, y)
