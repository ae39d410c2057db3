"""RegularizedNetClassifierCV / RegressorCV, and normalize_y on the regressor."""

import importlib
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sk_reg
from sk_reg import (
    RegularizedNetClassifier,
    RegularizedNetClassifierCV,
    RegularizedNetRegressor,
    RegularizedNetRegressorCV,
)
from sk_reg._compat import InvalidParameterError
from sk_reg.augment import GaussianNoise
from sk_reg.cv import halving_schedule

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Weak and strong L2; lr 1e-2 and batches of 32 so that 30 epochs train.
_L2_GRID = [
    {"l2": v, "learning_rate_init": 1e-2, "batch_size": 32, "hidden_layer_sizes": (64,)}
    for v in (1e-4, 1.0, 10.0)
]
_BASE = {"hidden_layer_sizes": (8,), "learning_rate_init": 1e-2, "batch_size": 16}
_SMALL = [_BASE, {**_BASE, "l2": 1e-1}, {**_BASE, "dropout": 0.2}]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _noisy_small(seed):
    """100 rows, 40 columns, a linear signal in two of them and unit noise."""
    rng = np.random.RandomState(seed)
    X = rng.randn(100, 40)
    return X, X[:, 0] + X[:, 1] + rng.randn(100)


def _clean_large(seed):
    """1000 rows of a noiseless nonlinear function of 3 columns."""
    rng = np.random.RandomState(seed)
    X = rng.randn(1000, 3)
    return X, np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]


@pytest.mark.parametrize("seed", [0, 1])
def test_stronger_regularization_on_noisy_small_data(seed):
    def chosen_l2(data):
        search = RegularizedNetRegressorCV(
            _L2_GRID, min_iter=30, max_iter=60, random_state=seed
        )
        return search.fit(*data).best_params_["l2"]

    assert chosen_l2(_noisy_small(seed)) >= 1.0
    assert chosen_l2(_clean_large(seed)) == 1e-4


def test_deterministic_under_random_state(iris):
    X, y = iris
    fits = [
        RegularizedNetClassifierCV(_SMALL, min_iter=5, max_iter=15, random_state=3).fit(
            X, y
        )
        for _ in range(2)
    ]
    a, b = fits
    np.testing.assert_array_equal(
        a.cv_results_["test_score"], b.cv_results_["test_score"]
    )
    assert a.best_params_ == b.best_params_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_parallel_search_matches_sequential(iris):
    X, y = iris
    kwargs = dict(candidates=_SMALL, min_iter=5, max_iter=15, random_state=0)
    one = RegularizedNetClassifierCV(**kwargs).fit(X, y)
    two = RegularizedNetClassifierCV(**kwargs, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(
        one.cv_results_["test_score"], two.cv_results_["test_score"]
    )
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_halving_schedule():
    assert halving_schedule(9, 30, 200, 3) == [(9, 30), (3, 200)]
    assert halving_schedule(27, 2, 200, 3) == [(27, 2), (9, 6), (3, 200)]
    assert halving_schedule(27, 30, 60, 3) == [(27, 30), (9, 60)]
    assert halving_schedule(3, 5, 10, 3) == [(3, 10)]
    assert halving_schedule(1, 5, 10, 3) == [(1, 10)]
    # The last rung holds at least n_last candidates (what n_ensemble refits).
    assert halving_schedule(9, 30, 200, 3, n_last=2) == [(9, 30), (3, 200)]
    assert halving_schedule(9, 30, 200, 3, n_last=4) == [(9, 30), (4, 200)]
    assert halving_schedule(27, 2, 200, 3, n_last=5) == [(27, 2), (9, 6), (5, 200)]
    assert halving_schedule(9, 30, 200, 3, n_last=12) == [(9, 200)]


def test_last_rung_keeps_n_ensemble_candidates(iris):
    candidates = [{**_BASE, "l2": 10.0**-k} for k in range(6)]
    search = RegularizedNetClassifierCV(
        candidates, min_iter=3, max_iter=12, n_ensemble=4, random_state=0
    ).fit(*iris)
    assert search.n_candidates_ == [6, 4]
    assert len(search.estimators_) == 4
    ranked = _ranked_last_rung(search)
    assert len(ranked) == 4
    for net, index in zip(search.estimators_, ranked, strict=True):
        assert net.get_params()["l2"] == candidates[index]["l2"]
    # Without it, the last rung would hold two and so would the ensemble.
    assert clone(search).set_params(n_ensemble=1).fit(*iris).n_candidates_ == [6, 2]


def test_halving_keeps_the_best_and_counts_epochs(iris):
    X, y = iris
    search = RegularizedNetClassifierCV(
        _SMALL, min_iter=4, max_iter=40, factor=2, n_ensemble=1, random_state=0
    ).fit(X, y)
    res = search.cv_results_
    assert search.n_candidates_ == [3, 2] and search.n_resources_ == [4, 40]
    first = res["iter"] == 0
    survivors = set(res["candidate"][res["iter"] == 1])
    # The survivors are the two best of the first rung.
    best_two = res["candidate"][first][np.argsort(-res["test_score"][first])][:2]
    assert survivors == set(best_two)
    # search_epochs_ is what the candidates' nets trained.
    last = {c: n for c, n in zip(res["candidate"], res["n_iter"], strict=True)}
    assert search.search_epochs_ == sum(last.values()) <= 3 * 4 + 2 * 36


@pytest.mark.parametrize("budget", [12, 16, 20])
def test_budget_bounds_the_search(iris, budget):
    X, y = iris
    search = RegularizedNetClassifierCV(
        _SMALL,
        min_iter=4,
        max_iter=40,
        factor=2,
        budget=budget,
        n_ensemble=1,
        random_state=0,
    ).fit(X, y)
    assert search.search_epochs_ <= budget
    # 12 epochs pay for the first rung only; more buy a (shortened) second.
    assert search.n_iterations_ == (1 if budget == 12 else 2)
    assert search.n_resources_[-1] <= 4 + (budget - 12) // 2


def test_budget_shortens_a_single_rung_search(iris):
    # n_ensemble as large as the candidates: one rung, to max_iter; the
    # budget shortens it but never below min_iter.
    search = RegularizedNetClassifierCV(
        _SMALL, min_iter=4, max_iter=40, n_ensemble=3, budget=30, random_state=0
    ).fit(*iris)
    assert search.n_candidates_ == [3] and search.n_resources_ == [10]
    assert search.search_epochs_ <= 30
    with pytest.raises(ValueError, match="min_iter=4 epochs each"):
        clone(search).set_params(budget=11).fit(*iris)


def test_budget_too_small_is_an_error(iris):
    X, y = iris
    search = RegularizedNetClassifierCV(_SMALL, min_iter=5, budget=14)
    with pytest.raises(ValueError, match="budget=14 epochs is too small"):
        search.fit(X, y)
    assert not hasattr(search, "best_estimator_")


def test_data_too_small_is_an_error():
    X = np.random.RandomState(0).randn(4, 2)
    with pytest.raises(ValueError, match="n_samples=4 is too few"):
        RegularizedNetRegressorCV(_SMALL).fit(X, X[:, 0])
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2])  # class 2 has 1 sample
    X = np.random.RandomState(0).randn(10, 2)
    with pytest.raises(ValueError, match="2 samples of every class"):
        RegularizedNetClassifierCV(_SMALL).fit(X, y)


def test_bad_candidates_are_an_error(iris):
    X, y = iris
    with pytest.raises(ValueError, match="candidates must be a non-empty list"):
        RegularizedNetClassifierCV([]).fit(X, y)
    with pytest.raises(InvalidParameterError):
        RegularizedNetClassifierCV(budget=0).fit(X, y)
    # Unknown names are refused naming the candidate (not the internal seed
    # of the estimator set_params would have printed); nested names pass.
    with pytest.raises(
        InvalidParameterError,
        match=r"candidates\[1\] = \{'nope': 1\}: 'nope' is not a parameter",
    ):
        RegularizedNetClassifierCV([{}, {"nope": 1}]).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'augmnt' is not a parameter"):
        RegularizedNetClassifierCV([{"augmnt__std": 0.1}]).fit(X, y)
    nested = [{"augment": GaussianNoise(), "augment__std": 0.3}]
    search = RegularizedNetClassifierCV(nested, min_iter=2, max_iter=2).fit(X, y)
    assert search.best_estimator_.augment.std == 0.3
    # The search's own settings are not blamed on a candidate.
    with pytest.raises(InvalidParameterError, match="^The 'device' parameter"):
        RegularizedNetClassifierCV([{}], device="tpu").fit(X, y)
    # Values the network refuses are refused inside the search too (its fit
    # skips nested validation), naming the candidate.
    for bad in ({"l2": -1.0}, {"dropout": 1.5}, {"learning_rate_init": 0}):
        with pytest.raises(InvalidParameterError, match=r"candidates\[1\] = "):
            RegularizedNetClassifierCV([{}, bad], min_iter=2, max_iter=4).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'l2' parameter"):
        RegularizedNetRegressorCV([{"l2": -1.0}], min_iter=2).fit(X, X[:, 0])
    # What the search sets on every candidate cannot be searched.
    for bad in ({"max_iter": 5}, {"early_stopping": False}, {"warm_start": True}):
        with pytest.raises(InvalidParameterError, match="cannot be searched"):
            RegularizedNetClassifierCV([{}, bad], min_iter=2, max_iter=4).fit(X, y)
    with pytest.raises(
        InvalidParameterError, match=r"candidates\[0\] = .*positive integers only"
    ):
        RegularizedNetClassifierCV([{"hidden_layer_sizes": (0,)}]).fit(X, y)


def test_fitted_attributes(iris):
    X, y = iris
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(4)])
    search = RegularizedNetClassifierCV(
        _SMALL, min_iter=5, max_iter=15, n_ensemble=1, random_state=0
    ).fit(df, y)
    assert search.estimators_ == [search.best_estimator_]
    assert search.best_params_ in _SMALL
    res = search.cv_results_
    assert res["rank_test_score"][search.best_index_] == 1
    assert res["params"][search.best_index_] == search.best_params_
    assert search.best_score_ == res["test_score"][search.best_index_]
    best = search.best_estimator_
    assert isinstance(best, RegularizedNetClassifier)
    assert all(best.get_params()[k] == v for k, v in search.best_params_.items())
    assert best.n_iter_ == search.refit_epochs_ == search.n_iter_
    np.testing.assert_array_equal(search.classes_, [0, 1, 2])
    assert search.n_features_in_ == 4
    np.testing.assert_array_equal(search.feature_names_in_, df.columns)
    np.testing.assert_array_equal(search.predict(df), best.predict(X))
    assert search.score(df, y) > 0.8


def test_pipeline_and_nested_search():
    X, y = make_regression(120, 4, noise=5.0, random_state=0)
    pipe = make_pipeline(
        StandardScaler(),
        RegularizedNetRegressorCV(_SMALL[:2], min_iter=10, max_iter=20, random_state=0),
    )
    outer = GridSearchCV(
        pipe, {"regularizednetregressorcv__validation_fraction": [0.2, 0.3]}, cv=2
    ).fit(X, y * 1e3)
    inner = outer.best_estimator_[-1]
    assert inner.best_params_ in _SMALL[:2]
    assert outer.score(X, y * 1e3) > 0.5


def test_pickle_and_save(iris, tmp_path):
    X, y = iris
    cv = RegularizedNetClassifierCV(
        _SMALL[:2], min_iter=5, max_iter=10, n_ensemble=2, random_state=0
    )
    ensemble = clone(cv).fit(X, y)
    again = pickle.loads(pickle.dumps(ensemble))
    np.testing.assert_array_equal(again.predict_proba(X), ensemble.predict_proba(X))
    sk_reg.save(ensemble, tmp_path / "ensemble.skreg")
    np.testing.assert_array_equal(
        sk_reg.load(tmp_path / "ensemble.skreg").predict_proba(X),
        ensemble.predict_proba(X),
    )
    search = cv.set_params(n_ensemble=1).fit(X, y)
    path = tmp_path / "refit.skreg"
    sk_reg.save(search.best_estimator_, path)
    np.testing.assert_array_equal(
        sk_reg.load(path).predict_proba(X), search.predict_proba(X)
    )


# -- normalize_y ----------------------------------------------------------------
def _reg(**kwargs):
    return RegularizedNetRegressor(
        (16,), max_iter=60, learning_rate_init=1e-2, random_state=0, **kwargs
    )


def test_normalize_y_makes_the_fit_scale_free():
    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    small = _reg(normalize_y=True).fit(X, y)
    large = _reg(normalize_y=True).fit(X, y * 1e4)
    # Same model in standardised units: predictions scale with y.
    np.testing.assert_allclose(large.predict(X), 1e4 * small.predict(X), rtol=1e-5)
    assert large.score(X, y * 1e4) == pytest.approx(small.score(X, y), abs=1e-6)
    assert small.score(X, y) > 0.9
    # Without it, targets of 1e6 are out of reach of a 60-epoch Adam fit.
    assert _reg().fit(X, y * 1e4).score(X, y * 1e4) < 0.5


def test_normalize_y_defaults_and_poisson():
    assert RegularizedNetRegressor().normalize_y is False
    assert RegularizedNetRegressorCV().normalize_y is True
    X, y = make_regression(50, 3, random_state=0)
    with pytest.raises(InvalidParameterError, match="not applicable with loss"):
        _reg(normalize_y=True, loss="poisson").fit(X, np.abs(y))


def test_normalize_y_survives_persistence_and_onnx(tmp_path):
    X, y = make_regression(100, 4, noise=5.0, random_state=0)
    X = X.astype(np.float32)
    reg = _reg(normalize_y=True).fit(X, y * 1e4)
    expected = reg.predict(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), expected)
    sk_reg.save(reg, tmp_path / "m.skreg")
    np.testing.assert_array_equal(
        sk_reg.load(tmp_path / "m.skreg").predict(X), expected
    )
    onnxruntime = pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    importlib.import_module("sk_reg.onnx")  # registers the converters

    model = skl2onnx.to_onnx(reg, X[:1])
    session = onnxruntime.InferenceSession(model.SerializeToString())
    got = session.run(None, {session.get_inputs()[0].name: X})[0].ravel()
    np.testing.assert_allclose(
        got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max()
    )


@pytest.mark.parametrize(
    "weights", ["none", "sample", "class", "balanced", "sample+class"]
)
def test_candidates_early_stop_on_the_search_hold_out(iris, weights):
    """One candidate: the search's score is its best validation score on the
    hold-out (weighted as its early stopping is, by sample and class
    weights), reached at the epoch the refit trains for."""
    from sk_reg._training import _draw_seed

    X, y = iris
    keep = np.r_[0:50, 50:70, 100:150]  # unequal classes, for "balanced"
    X, y = X[keep], y[keep]
    w = None
    if "sample" in weights:
        w = np.random.RandomState(0).uniform(0.1, 3.0, len(y))
    class_weight = {"class": {0: 1.0, 1: 6.0, 2: 0.3}, "balanced": "balanced"}
    search = RegularizedNetClassifierCV(
        [_BASE],
        max_iter=15,
        scoring="neg_log_loss",
        random_state=0,
        class_weight=class_weight.get(weights.split("+")[-1]),
    ).fit(X, y, sample_weight=w)
    assert search.best_estimator_.class_weight == search.class_weight
    seed = _draw_seed(0)
    train, val = search._holdout(X, y, seed)
    w_train, w_val = (None, None) if w is None else (w[train], w[val])
    alone = (
        search._base(seed)
        .set_params(**_BASE, max_iter=15)
        .fit(
            X[train],
            y[train],
            sample_weight=w_train,
            X_val=X[val],
            y_val=y[val],
            sample_weight_val=w_val,
        )
    )
    assert alone.t_ == alone.n_iter_ * len(train)  # every non-held-out row trains
    assert search.best_score_ == pytest.approx(alone.best_validation_score_, rel=1e-9)
    assert search.refit_epochs_ == int(np.argmax(alone.validation_scores_)) + 1


def test_exposes_what_a_fitted_network_exposes(iris):
    from sklearn.feature_selection import SelectFromModel

    X, y = iris
    X = np.hstack([X, np.random.RandomState(0).randn(len(X), 4)])  # 4 noise columns
    search = RegularizedNetClassifierCV(
        [{"l1": 1e-2, **_BASE}], min_iter=5, max_iter=40, random_state=0
    )
    assert not hasattr(search, "coefs_")  # before fit
    search.fit(X, y)
    best = search.best_estimator_
    for name in ("coefs_", "intercepts_", "loss_curve_"):
        ours, theirs = getattr(search, name), getattr(best, name)
        assert len(ours) == len(theirs) > 0
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
    for name in ("n_layers_", "n_outputs_", "out_activation_", "loss_", "t_"):
        assert getattr(search, name) == getattr(best, name)
    # The refit holds no rows out: None, as MLP without early stopping.
    assert search.validation_scores_ is None
    assert search.best_validation_score_ is None
    np.testing.assert_array_equal(
        search.feature_importances_, best.feature_importances_
    )
    # With l1 the noise columns end up near zero (about 0.26 in all without
    # it), and SelectFromModel reads that from the search.
    assert search.feature_importances_[4:].sum() < 0.05
    selector = SelectFromModel(search, threshold="mean", prefit=True)
    assert not selector.get_support()[4:].any()


# -- the ensemble of the best refits -------------------------------------------
def _ranked_last_rung(search):
    """Candidate indices of the last rung, best first (from cv_results_)."""
    res = search.cv_results_
    last = res["iter"] == res["iter"].max()
    return list(res["candidate"][last][np.argsort(res["rank_test_score"][last])])


@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_ensemble_refits_the_best_of_the_last_rung(iris, task):
    X, y = iris
    Search = RegularizedNetClassifierCV
    if task == "regressor":
        X, y, Search = X[:, 1:], X[:, 0], RegularizedNetRegressorCV
    search = Search(_SMALL, min_iter=4, max_iter=30, n_ensemble=2, random_state=0)
    search.fit(X, y)
    assert search.n_candidates_ == [3]
    first, second = search.estimators_
    assert first is search.best_estimator_
    # The two best of the last rung, each with its own parameters.
    ranked = _ranked_last_rung(search)
    for net, index in zip(search.estimators_, ranked[:2], strict=True):
        params = net.get_params()
        assert all(params[k] == v for k, v in _SMALL[index].items())
    assert first.get_params() != second.get_params()
    assert first.n_iter_ == search.refit_epochs_ == search.n_iter_
    # They predict together: the mean of their outputs.
    if task == "classifier":
        proba = (first.predict_proba(X) + second.predict_proba(X)) / 2
        np.testing.assert_allclose(search.predict_proba(X), proba, rtol=1e-6)
        np.testing.assert_allclose(
            search.predict_log_proba(X), np.log(proba), rtol=1e-5
        )
        np.testing.assert_array_equal(
            search.predict(X), search.classes_[proba.argmax(axis=1)]
        )
    else:
        mean = (first.predict(X) + second.predict(X)) / 2
        np.testing.assert_allclose(search.predict(X), mean, rtol=1e-6)
    np.testing.assert_allclose(
        search.feature_importances_,
        (first.feature_importances_ + second.feature_importances_) / 2,
    )
    # n_ensemble=1 is the winner alone; more than there are candidates is all
    # of them.
    alone = clone(search).set_params(n_ensemble=1).fit(X, y)
    np.testing.assert_array_equal(alone.predict(X), first.predict(X))
    assert alone.refit_cpu_time_ < search.refit_cpu_time_
    every = clone(search).set_params(n_ensemble=5).fit(X, y)
    assert len(every.estimators_) == 3


def test_multilabel_ensemble_votes_by_mean_probability():
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(200, n_classes=3, random_state=0)
    search = RegularizedNetClassifierCV(
        _SMALL, min_iter=4, max_iter=30, n_ensemble=2, random_state=0
    ).fit(X, Y)
    proba = np.mean([net.predict_proba(X) for net in search.estimators_], axis=0)
    np.testing.assert_array_equal(search.predict(X), (proba > 0.5).astype(int))
    # Somewhere the two networks disagree, and the mean decides.
    first, second = (net.predict(X) for net in search.estimators_)
    assert (first != second).any()


def test_n_ensemble_defaults():
    # Measured on the design splits of the study (two for regression, four
    # for classification).
    assert RegularizedNetRegressorCV().n_ensemble == 2
    assert RegularizedNetClassifierCV().n_ensemble == 4


def test_n_ensemble_is_validated(iris):
    with pytest.raises(InvalidParameterError, match="'n_ensemble' parameter"):
        RegularizedNetClassifierCV(n_ensemble=0).fit(*iris)


def test_class_weight_with_multilabel_targets_is_a_clear_error():
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(60, n_classes=3, random_state=0)
    search = RegularizedNetClassifierCV(_SMALL, min_iter=2, class_weight="balanced")
    with pytest.raises(ValueError, match="class_weight is not supported for multi"):
        search.fit(X, Y)


def test_a_candidate_may_set_its_own_patience(iris):
    """n_iter_no_change in a candidate: its early stopping uses it, and the
    refit (which has no early stopping) still trains to its epoch count."""
    X, y = iris
    patient = {**_BASE, "n_iter_no_change": 3}
    search = RegularizedNetClassifierCV(
        [patient], min_iter=2, max_iter=60, random_state=0
    ).fit(X, y)
    row = search.cv_results_
    # Its patience of 3 (not the shared 10) ended it: MLP's rule stops once
    # more than 3 epochs in a row miss the best, well before max_iter.
    assert search.refit_epochs_ < row["n_iter"][-1] <= search.refit_epochs_ + 4 < 60
    assert search.best_estimator_.n_iter_ == search.refit_epochs_
    assert search.best_estimator_.n_iter_no_change == np.inf


@pytest.fixture(scope="module")
def digit_images():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8), y[:300]


def test_convnet_search_uses_the_image_space_in_one_rung(digit_images):
    from sk_reg.cv import _IMAGE_CANDIDATES
    from sk_reg.modules import ConvNet

    X, y = digit_images
    clf = RegularizedNetClassifierCV(
        module=ConvNet(channels=(4,), hidden=8),
        max_iter=4,
        n_ensemble=2,
        random_state=0,
    ).fit(X, y)  # 4-D X: the image shape comes from it
    params = clf.cv_results_["params"]
    assert params == [
        dict(c) for c in np.array(_IMAGE_CANDIDATES)[clf.cv_results_["candidate"]]
    ]
    assert {"augment": "cutout"} in params and {} in params
    # every candidate trained the whole decay, and so does every refit
    assert all(n == 4 for n in clf.cv_results_["n_iter"]) and clf.refit_epochs_ == 4
    assert all(net.n_iter_ == 4 for net in clf.estimators_)
    # min_iter="auto": one rung, every candidate trains one whole decay
    assert clf.n_resources_ == [4] and clf.n_candidates_ == [len(_IMAGE_CANDIDATES)]
    for net in clf.estimators_:
        assert net.input_shape == (1, 8, 8) and isinstance(net.module, ConvNet)
        lrs = net.net_.history[:, "lr"]
        assert lrs[0] == 1e-3 and lrs[-1] < lrs[0]  # a cosine decay
    flat = X.reshape(len(X), -1)
    np.testing.assert_array_equal(clf.predict(X), clf.predict(flat))
    assert clf.n_features_in_ == 64 and np.isfinite(clf.cv_results_["test_score"]).all()
    # the regressor's image space has no label smoothing
    reg = RegularizedNetRegressorCV(module="cnn", max_iter=2, random_state=0)
    reg.fit(X[:100], y[:100].astype(float))
    assert all("label_smoothing" not in p for p in reg.cv_results_["params"])
    assert {"augment": "flip+shift"} in reg.cv_results_["params"]


def test_auto_epochs_follow_the_network():
    from sk_reg.modules import ConvNet

    assert RegularizedNetClassifierCV()._epochs() == (20, 200)
    assert RegularizedNetClassifierCV(module="cnn")._epochs() == (60, 60)
    assert RegularizedNetRegressorCV(module=ConvNet(), max_iter=30)._epochs() == (
        30,
        30,
    )
    assert RegularizedNetClassifierCV(module="cnn", min_iter=10)._epochs() == (10, 60)


def test_image_search_round_trips_and_rejects_bad_shapes(digit_images, tmp_path):
    from sk_reg.modules import ConvNet

    X, y = digit_images
    clf = RegularizedNetClassifierCV(
        [{}, {"augment": "rotate"}],
        module=ConvNet(channels=(2,), hidden=0),
        input_shape=(1, 8, 8),
        max_iter=2,
        n_ensemble=1,
        random_state=0,
    ).fit(X.reshape(len(X), -1), y)
    expected = clf.predict_proba(X)
    sk_reg.save(clf, tmp_path / "search.safetensors")
    for restored in (
        sk_reg.load(tmp_path / "search.safetensors"),
        pickle.loads(pickle.dumps(clf)),
    ):
        np.testing.assert_array_equal(restored.predict_proba(X), expected)
        assert restored.module.channels == (2,) and restored.input_shape == (1, 8, 8)
    with pytest.raises(ValueError, match=r"input_shape=\(1, 8, 7\).*64 features"):
        clone(clf).set_params(input_shape=(1, 8, 7)).fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match=r"shape \(1, 4, 16\)"):
        clf.predict(X.reshape(-1, 1, 4, 16))
    with pytest.raises(InvalidParameterError, match="input_shape"):
        clone(clf).set_params(input_shape=(1, 8)).fit(X, y)


def test_verbose_prints_one_line_per_rung_and_nothing_by_default(iris, capsys):
    X, y = iris
    search = RegularizedNetClassifierCV(
        budget=150, min_iter=10, max_iter=30, random_state=0
    )
    search.fit(X, y)
    assert capsys.readouterr().out == ""
    search.set_params(verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    rungs = [line for line in lines if " rung " in line]
    assert len(rungs) == search.n_iterations_ == 2
    assert "rung 1/2: 9 candidates trained to 10 epochs" in rungs[0]
    assert "4 continue" in rungs[0] and "the best 4 are refitted" in rungs[1]
    assert len(lines) == 3 and "refitted the best 4 on all 150 rows" in lines[2]
    search.set_params(verbose=2).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert sum("  candidate " in line for line in lines) == 9 + 4  # per rung


def test_regularization_path_verbose(capsys):
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6)
    y = (X[:, 0] > 0).astype(int)
    clf = RegularizedNetClassifier((8,), max_iter=20, random_state=0)
    path = sk_reg.regularization_path(
        clf, X, y, values=[1e-3, 1e-1, 10.0], random_state=0, verbose=1
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(path.feature_l1) == 4
    assert lines[0].startswith("[regularization_path] dense fit: 20 epochs")
    assert "value 3/3, feature_l1=10" in lines[-1]
    sk_reg.regularization_path(clf, X, y, values=[1e-3], random_state=0)
    assert capsys.readouterr().out == ""
