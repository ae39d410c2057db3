"""fit(..., X_val=, y_val=, sample_weight_val=): early stopping on given rows."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.datasets import load_diabetes, load_iris, make_multilabel_classification
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_reg import (
    RegularizedNetClassifier,
    RegularizedNetClassifierCV,
    RegularizedNetRegressor,
)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = StandardScaler().fit_transform(X[order]), y[order]
    return X[:100], y[:100], X[100:], y[100:]


def _clf(**kw):
    params = dict(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        max_iter=40,
        random_state=0,
        dtype="float64",
    )
    return RegularizedNetClassifier(**{**params, **kw})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_validation_scores_are_computed_on_the_given_rows(iris):
    X, y, X_val, y_val = iris
    clf = _clf(scoring="loss").fit(X, y, X_val=X_val, y_val=y_val)
    # The restored (best) weights reproduce the best score on exactly X_val.
    expected = -log_loss(y_val, clf.predict_proba(X_val), labels=clf.classes_)
    assert clf.best_validation_score_ == pytest.approx(expected, rel=1e-9)
    assert max(clf.validation_scores_) == clf.best_validation_score_
    acc = _clf().fit(X, y, X_val=X_val, y_val=y_val)
    assert acc.best_validation_score_ == accuracy_score(y_val, acc.predict(X_val))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_all_training_rows_train(iris):
    X, y, X_val, y_val = iris
    given = _clf(max_iter=5).fit(X, y, X_val=X_val, y_val=y_val)
    held_out = _clf(max_iter=5).fit(X, y)
    assert given.t_ == 5 * len(X)  # every row of X, every epoch
    assert held_out.t_ == 5 * (len(X) - 10)  # 10% held out of X


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sample_weight_val_weights_the_validation_score(iris):
    X, y, X_val, y_val = iris
    weights = np.where(np.arange(len(y_val)) % 2 == 0, 3.0, 0.0)
    clf = _clf(scoring="loss").fit(
        X, y, X_val=X_val, y_val=y_val, sample_weight_val=weights
    )
    proba = clf.predict_proba(X_val)
    expected = -log_loss(y_val, proba, sample_weight=weights, labels=clf.classes_)
    assert clf.best_validation_score_ == pytest.approx(expected, rel=1e-9)
    unweighted = -log_loss(y_val, proba, labels=clf.classes_)
    assert clf.best_validation_score_ != pytest.approx(unweighted, rel=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sparse_training_rows_with_dense_validation_rows(iris):
    X, y, X_val, y_val = iris
    dense = _clf(scoring="loss", max_iter=10).fit(X, y, X_val=X_val, y_val=y_val)
    sparse = _clf(scoring="loss", max_iter=10).fit(
        sp.csr_matrix(X), y, X_val=X_val, y_val=y_val
    )
    mixed = _clf(scoring="loss", max_iter=10).fit(
        X, y, X_val=sp.csr_matrix(X_val), y_val=y_val
    )
    np.testing.assert_allclose(sparse.validation_scores_, dense.validation_scores_)
    np.testing.assert_allclose(mixed.validation_scores_, dense.validation_scores_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_scales_targets_from_training_rows_only():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    reg = RegularizedNetRegressor(
        (16,), early_stopping=True, normalize_y=True, max_iter=20, random_state=0
    )
    reg.fit(X[:300], y[:300], X_val=X[300:], y_val=y[300:] + 1000.0)
    np.testing.assert_allclose(reg._y_shift, [y[:300].mean()])
    # Shifted validation targets: every epoch scores far below zero R².
    assert max(reg.validation_scores_) < -10


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multilabel_validation_rows():
    X, Y = make_multilabel_classification(n_samples=120, n_classes=3, random_state=0)
    clf = _clf(scoring="loss").fit(X[:90], Y[:90], X_val=X[90:], y_val=Y[90:])
    assert len(clf.validation_scores_) == clf.n_iter_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_transforms_X_val_with_metadata_routing(iris):
    X, y, X_val, y_val = iris
    X, X_val = 10 * X + 5, 10 * X_val + 5  # unscaled: the scaler matters
    with sklearn.config_context(enable_metadata_routing=True):
        net = _clf(scoring="loss").set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("net", net)], transform_input=["X_val"]
        ).fit(X, y, X_val=X_val, y_val=y_val)
    scaled = pipe["scale"].transform(X_val)
    expected = -log_loss(y_val, pipe["net"].predict_proba(scaled), labels=[0, 1, 2])
    assert pipe["net"].best_validation_score_ == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"X_val": np.zeros((3, 4))}, "X_val was passed to fit without y_val"),
        ({"y_val": np.zeros(3)}, "y_val was passed to fit without X_val"),
        ({"sample_weight_val": np.ones(3)}, "sample_weight_val was passed without"),
        ({"X_val": np.zeros((3, 2)), "y_val": np.zeros(3)}, "X has 2 features"),
        ({"X_val": np.zeros((3, 4)), "y_val": [0, 1, 7]}, r"labels .*\[7\]"),
        ({"X_val": np.zeros((3, 4)), "y_val": [0, 1]}, "inconsistent numbers"),
        ({"X_val": np.full((3, 4), np.nan), "y_val": [0, 1, 2]}, "NaN"),
    ],
)
def test_bad_validation_data_is_a_clear_error(iris, kwargs, message):
    X, y, _, _ = iris
    clf = _clf(max_iter=2)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y, **kwargs)
    assert not hasattr(clf, "net_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_validation_rows_need_early_stopping_and_leave_the_model_untouched(iris):
    X, y, X_val, y_val = iris
    clf = _clf(early_stopping=False, max_iter=3).fit(X, y)
    before = clf.predict_proba(X_val)
    with pytest.raises(ValueError, match="early_stopping=False"):
        clf.fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(clf.predict_proba(X_val), before)


@pytest.mark.parametrize("Est", [RegularizedNetClassifier, RegularizedNetRegressor])
def test_a_weightless_validation_split_is_named(Est):
    # It used to surface as "Training diverged at epoch 1 (valid_loss is nan)
    # ... lower learning_rate_init": the hold-out's loss was 0 / 0.
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X[:, 0] > 0).astype(int) if Est is RegularizedNetClassifier else X[:, 0]
    est = Est(early_stopping=True, max_iter=3, random_state=0)
    hits = 0
    for _ in range(20):  # random weights; some draws leave the hold-out weightless
        sample_weight = np.zeros(40)
        sample_weight[rng.choice(40, 6, replace=False)] = 1.0
        try:
            est.fit(X, y, sample_weight=sample_weight)
        except ValueError as exc:
            assert "validation rows of the early-stopping split" in str(exc)
            assert "all have sample_weight 0" in str(exc)
            hits += 1
    assert hits > 0


def test_a_search_with_a_weightless_hold_out_is_named():
    from sk_reg._training import _draw_seed

    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X[:, 0] > 0).astype(int)
    search = RegularizedNetClassifierCV([{}], max_iter=2, random_state=4)
    search._multilabel = False  # as fit sets it before splitting
    train, _ = search._holdout(X, y, _draw_seed(4))
    sample_weight = np.zeros(40)
    sample_weight[train[:6]] = 1.0  # every weighted row trains, none is held out
    with pytest.raises(ValueError, match="hold-out rows .* all have sample_weight 0"):
        search.fit(X, y, sample_weight=sample_weight)
