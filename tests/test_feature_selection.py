"""feature_l1 (group L1 on input columns) and regularization_path."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel
from sklearn.preprocessing import StandardScaler
from torch import nn

from sk_reg import (
    RegularizedNetClassifier,
    RegularizedNetRegressor,
    regularization_path,
)
from sk_reg._compat import InvalidParameterError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def informative4():
    """The issue's data: 600 x 30, the first 4 columns informative."""
    X, y = make_classification(
        600, 30, n_informative=4, shuffle=False, class_sep=2, random_state=0
    )
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def small():
    """300 x 12 whose labels depend on columns 0 and 1 only."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 12)
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def _live(model):
    weight = model.net_.module_[0].weight.detach()
    return (weight != 0).any(dim=0).numpy()


def test_feature_l1_keeps_the_informative_columns_and_zeroes_the_noise(informative4):
    X, y = informative4
    clf = RegularizedNetClassifier(
        (32,), feature_l1=0.03, l2=0.0, max_iter=300, random_state=0
    ).fit(X, y)
    live = _live(clf)
    assert live[:4].all()
    assert (~live[4:]).mean() >= 0.9  # measured 24 of 26 (0.92)
    assert clf.score(X, y) >= 0.9  # measured 0.995
    # Dead columns are exactly zero, their importances exactly 0.
    weight = clf.net_.module_[0].weight.detach().numpy()
    assert np.all(weight[:, ~live] == 0.0)
    assert np.all(clf.feature_importances_[~live] == 0.0)
    assert np.all(clf.feature_importances_[live] > 0.0)
    selector = SelectFromModel(clf, prefit=True, threshold=1e-12)
    np.testing.assert_array_equal(selector.get_support(), live)


def test_without_feature_l1_no_column_dies(informative4):
    X, y = informative4
    clf = RegularizedNetClassifier((32,), l2=0.0, max_iter=50, random_state=0)
    assert _live(clf.fit(X, y)).all()


def test_feature_l1_composes_with_l1_and_l2_in_the_logged_objective(small):
    X, y = small
    clf = RegularizedNetClassifier(
        (16,),
        l1=1e-3,
        l2=1e-2,
        feature_l1=0.05,
        learning_rate_init=1e-2,
        max_iter=40,
        random_state=0,
    ).fit(X, y)
    live = _live(clf)
    assert live[:2].all() and not live.all()
    # The logged objective of the last epoch is the data loss plus the three
    # penalties of the final weights (l2 scaled per batch of 200 rows here:
    # batches of 200 and 100 rows, 150 rows per batch on average).
    weights = [p.detach() for p in clf.net_.module_.parameters() if p.dim() >= 2]
    penalty = (
        0.5 * 1e-2 * sum(float((w**2).sum()) for w in weights) / 150
        + 1e-3 * sum(float(w.abs().sum()) for w in weights)
        + 0.05 * float(weights[0].norm(dim=0).sum())
    )
    row = clf.net_.history[-1]
    assert row["train_objective"] - row["train_loss"] == pytest.approx(
        penalty, rel=1e-9
    )


def test_feature_l1_with_sgd_and_the_regressor():
    X, y = make_regression(
        300, 10, n_informative=3, shuffle=False, noise=0.1, random_state=0
    )
    reg = RegularizedNetRegressor(
        (16,),
        feature_l1=0.1,
        optimizer="sgd",
        learning_rate_init=1e-2,
        batch_size=50,
        max_iter=150,
        random_state=0,
    ).fit(X, y / y.std())
    live = _live(reg)
    assert live[:3].all() and not live[3:].any()
    assert reg.score(X, y / y.std()) > 0.9


class _NoLinear(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_features, n_outputs) * 0.1)

    def forward(self, X):
        return X @ self.weight


@pytest.mark.parametrize(
    "params",
    [
        {"module": "cnn", "input_shape": (1, 4, 4)},
        {"module": _NoLinear},
    ],
)
def test_feature_l1_without_a_first_linear_layer_is_a_clear_error(params):
    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 16), np.arange(40) % 2
    clf = RegularizedNetClassifier(feature_l1=0.1, max_iter=2, **params)
    with pytest.raises(InvalidParameterError, match="'feature_l1'.*torch.nn.Linear"):
        clf.fit(X, y)
    # Without feature_l1 the same module trains.
    clf.set_params(feature_l1=0.0).fit(X, y)


@pytest.mark.parametrize("value", [-0.1, "a", None, np.inf * -1])
def test_invalid_feature_l1_is_an_invalid_parameter_error(small, value):
    X, y = small
    with pytest.raises(InvalidParameterError, match="feature_l1"):
        RegularizedNetClassifier(feature_l1=value, max_iter=1).fit(X, y)


def test_warm_start_rereads_feature_l1(small):
    X, y = small
    clf = RegularizedNetClassifier(
        (16,),
        l2=0.0,
        learning_rate_init=1e-2,
        max_iter=30,
        warm_start=True,
        random_state=0,
    )
    assert _live(clf.fit(X, y)).all()
    clf.set_params(feature_l1=0.1).fit(X, y)
    assert clf.net_.feature_l1 == 0.1
    assert not _live(clf).all()


def test_pickle_keeps_feature_l1_and_the_zero_columns(small):
    X, y = small
    clf = RegularizedNetClassifier(
        (16,), feature_l1=0.1, learning_rate_init=1e-2, max_iter=30, random_state=0
    ).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.feature_l1 == 0.1
    np.testing.assert_array_equal(_live(copy), _live(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))


# -- regularization_path -----------------------------------------------------


def _clf():
    return RegularizedNetClassifier(
        (16,), l2=0.0, learning_rate_init=1e-2, max_iter=100, random_state=0
    )


@pytest.fixture(scope="module")
def default_path(small):
    X, y = small
    return regularization_path(_clf(), X, y, random_state=0)


def test_path_goes_from_dense_to_empty(default_path):
    path = default_path
    n = path.n_features_selected
    assert np.all(np.diff(path.feature_l1) > 0)
    assert n[0] >= 6 and n[-1] == 0  # measured 8 of 12 ... 0
    # Monotone-ish: a column may come back for a point, rarely.
    assert np.mean(np.diff(n) > 0) <= 0.2
    # Somewhere along it, exactly the two informative columns, scoring well.
    two = np.flatnonzero(n == 2)
    assert len(two) and (path.support[two][:, :2]).all()
    assert path.validation_score[two].max() >= 0.95
    assert path.support.shape == (len(path.feature_l1), 12)
    np.testing.assert_array_equal(path.n_features_selected, path.support.sum(axis=1))
    np.testing.assert_array_equal(path.support, path.feature_norms > 0)
    assert path.train_score.shape == path.validation_score.shape == n.shape
    # The default grid starts at eps * lambda_max (eps=1e-2).
    assert path.feature_l1[0] == pytest.approx(1e-2 * path.lambda_max)


def test_path_is_cheaper_than_refitting_each_value(small, default_path):
    X, y = small
    path = default_path
    path_epochs = path.n_iter_dense + path.n_iter.sum()
    # From-scratch fits at every 5th value of the path (100 epochs at the weak
    # end, ~15 at the strong end, where a cold start loses every column);
    # fitting every value so would cost len(values) times their mean.
    scratch = [
        _clf().set_params(feature_l1=v).fit(X, y).n_iter_ for v in path.feature_l1[::5]
    ]
    # Measured: 470 epochs along the path against ~1500 from scratch.
    assert path_epochs < 0.5 * np.mean(scratch) * len(path.feature_l1)


def test_path_is_deterministic_and_honours_explicit_values(small):
    X, y = small
    runs = [
        regularization_path(
            _clf(), X, y, values=[0.3, 0.01, 0.1], max_iter_per_value=5, random_state=0
        )
        for _ in range(2)
    ]
    a, b = runs
    np.testing.assert_array_equal(a.feature_l1, [0.01, 0.1, 0.3])
    assert a.lambda_max is None
    for key in ("support", "feature_norms", "validation_score", "train_score"):
        np.testing.assert_array_equal(a[key], b[key])
    assert np.all(a.n_iter <= 5)


def test_path_leaves_the_callers_estimator_and_warnings_alone(small):
    X, y = small
    clf = _clf()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        regularization_path(
            clf, X, y, values=[0.1], max_iter_per_value=2, random_state=0
        )
    assert not hasattr(clf, "net_") and clf.feature_l1 == 0.0


def test_path_bad_arguments(small):
    X, y = small
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="feature_l1"):
        regularization_path(LogisticRegression(), X, y)
    with pytest.raises(ValueError, match="values"):
        regularization_path(_clf(), X, y, values=[0.1, -1.0])
    with pytest.raises(InvalidParameterError, match="n_values"):
        regularization_path(_clf(), X, y, n_values=1)
    # The estimator's own hyperparameters are checked, though nested
    # validation is skipped inside the path.
    with pytest.raises(InvalidParameterError, match="'l2' parameter"):
        regularization_path(_clf().set_params(l2=-1.0), X, y, values=[0.1])


def _key_word_corpus(n_docs=400, n_words=500, n_key=5, seed=0):
    """TF-IDF of documents whose label only 5 key words decide (the majority of
    1 or 3 votes: words 0-2 for class 1, 3-4 for class 0), among Zipf fillers."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = np.random.RandomState(seed)
    words = np.array([f"w{i:04d}" for i in range(n_words)])
    p = 1.0 / (np.arange(n_words - n_key) + 10.0)
    docs, y = [], []
    for n_votes in rng.choice([1, 3], size=n_docs):
        keys = rng.randint(n_key, size=n_votes)
        filler = rng.choice(words[n_key:], size=20, p=p / p.sum())
        docs.append(" ".join([*filler, *words[keys]]))
        y.append(int(2 * (keys < 3).sum() > n_votes))
    X = TfidfVectorizer(token_pattern=r"w\d{4}", vocabulary=words).fit_transform(docs)
    return StandardScaler(with_mean=False).fit_transform(X), np.array(y)


def test_feature_l1_selects_the_key_words_of_sparse_tfidf():
    X, y = _key_word_corpus()
    assert sp.issparse(X)
    params = dict(
        hidden_layer_sizes=(16,),
        feature_l1=0.03,
        l2=0.0,
        learning_rate_init=1e-2,
        max_iter=100,
        random_state=0,
    )
    clf = RegularizedNetClassifier(**params).fit(X, y)
    live = np.flatnonzero(clf.feature_importances_)
    assert live.tolist() == [0, 1, 2, 3, 4]  # the 5 key words of 500, no filler
    assert clf.score(X, y) > 0.95
    dense = RegularizedNetClassifier(**params).fit(X.toarray(), y)
    np.testing.assert_array_equal(np.flatnonzero(dense.feature_importances_), live)


def test_regularization_path_on_sparse_tfidf_finds_the_key_words():
    X, y = _key_word_corpus(n_docs=300)
    clf = RegularizedNetClassifier(
        (16,), l2=0.0, learning_rate_init=1e-2, random_state=0
    )
    path = regularization_path(clf, X, y, random_state=0)
    supports = [tuple(np.flatnonzero(s)) for s in path.support]
    assert (0, 1, 2, 3, 4) in supports
    assert path.n_features_selected[0] > 50  # starts dense ...
    assert path.n_features_selected[-1] == 0  # ... and ends empty
