"""Every hyperparameter has an observable effect; sklearn conventions hold."""

import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.feature_selection import SelectFromModel
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg._compat import InvalidParameterError
from sk_reg._net import _TensorDataset
from sk_reg.augment import BaseAugmentation, Compose, GaussianNoise, Mixup

FAST = dict(
    hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=1e-2, random_state=0
)


def _weights(est):
    return [
        p.detach().cpu().numpy() for p in est.net_.module_.parameters() if p.dim() >= 2
    ]


def _l1_norm(est):
    return sum(np.abs(w).sum() for w in _weights(est))


def _l2_norm(est):
    return np.sqrt(sum((w**2).sum() for w in _weights(est)))


@pytest.fixture(scope="module")
def clf_data():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=4, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(n_samples=300, n_features=8, noise=0.5, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std()


@pytest.fixture(params=["classifier", "regressor"])
def est_and_data(request, clf_data, reg_data):
    if request.param == "classifier":
        return RegularizedNetClassifier, clf_data
    return RegularizedNetRegressor, reg_data


# --- the six regularizers ----------------------------------------------------


def test_larger_l2_gives_smaller_weight_norms(est_and_data):
    Est, (X, y) = est_and_data
    norms = [_l2_norm(Est(**FAST, l2=l2).fit(X, y)) for l2 in (0.0, 1.0, 10.0)]
    assert norms[0] > norms[1] > norms[2]


def test_l2_is_not_applied_to_biases(clf_data):
    X, y = clf_data
    est = RegularizedNetClassifier(**FAST, l2=50.0).fit(X, y)
    biases = [p.detach() for p in est.net_.module_.parameters() if p.dim() == 1]
    # Strong l2 pushes weights towards zero while biases stay free to fit
    # the class priors.
    assert _l2_norm(est) < 1.0
    assert max(b.abs().max().item() for b in biases) > 0.05


def test_larger_l1_shrinks_and_gives_exact_zeros(est_and_data):
    Est, (X, y) = est_and_data
    ests = [Est(**FAST, l1=l1, l2=0.0).fit(X, y) for l1 in (0.0, 1e-3, 1e-2)]
    l1_norms = [_l1_norm(e) for e in ests]
    assert l1_norms[0] > l1_norms[1] > l1_norms[2]
    zeros = [sum((w == 0).sum() for w in _weights(e)) for e in ests]
    assert zeros[0] == 0
    assert zeros[2] > zeros[1] > 0


@pytest.mark.parametrize(
    "optimizer, lr, l1", [("adam", 1e-3, 0.01), ("sgd", 0.01, 0.2)]
)
def test_l1_selects_the_informative_features(sparse_signal, optimizer, lr, l1):
    X, y = sparse_signal
    clf = RegularizedNetClassifier(
        (32,),
        l1=l1,
        l2=0.0,
        optimizer=optimizer,
        learning_rate_init=lr,
        max_iter=150,
        random_state=0,
    ).fit(X, y)
    importances = clf.feature_importances_
    assert importances.shape == (30,)
    assert np.all(importances[:4] > 0)
    dead = importances[4:] == 0
    assert dead.mean() >= 0.5, f"only {dead.sum()} of 26 noise columns were zeroed"
    assert clf.score(X, y) > 0.9
    # Whole first-layer columns are exactly zero for the dead features.
    first = clf.net_.module_[0].weight.detach().numpy()
    assert np.all(first[:, 4:][:, dead] == 0)
    selector = SelectFromModel(clf, prefit=True, threshold=1e-12)
    assert set(np.flatnonzero(selector.get_support())) >= {0, 1, 2, 3}
    assert selector.transform(X).shape[1] < 30


def test_select_from_model_in_pipeline(sparse_signal):
    X, y = sparse_signal
    pipe = make_pipeline(
        SelectFromModel(
            RegularizedNetClassifier(
                (16,), l1=0.01, l2=0.0, max_iter=150, random_state=0
            ),
            threshold=1e-12,
        ),
        RegularizedNetClassifier(**FAST),
    ).fit(X, y)
    n_kept = pipe[0].get_support().sum()
    assert 4 <= n_kept < 30
    assert pipe.score(X, y) > 0.9


def test_dropout_layers_and_eval_mode(clf_data):
    X, y = clf_data
    clf = RegularizedNetClassifier(**FAST, dropout=0.5).fit(X, y)
    drops = [m for m in clf.net_.module_.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 1 and drops[0].p == 0.5
    # Off at predict time: repeated predictions are identical.
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    plain = RegularizedNetClassifier(**FAST).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), clf.predict_proba(X))


def test_dropout_reduces_overconfidence_on_new_data():
    # 100 noisy training rows, 40 features, a wide net: it memorises.
    X, y = make_classification(
        n_samples=400, n_features=40, n_informative=5, flip_y=0.2, random_state=1
    )
    Xte, yte = X[100:], y[100:]
    X, y = X[:100], y[:100]
    kw = dict(
        hidden_layer_sizes=(256,),
        max_iter=200,
        l2=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    plain = RegularizedNetClassifier(**kw).fit(X, y)
    dropped = RegularizedNetClassifier(**kw, dropout=0.5).fit(X, y)
    assert plain.loss_curve_[-1] < dropped.loss_curve_[-1]
    # Measured: test log-loss 1.27 without dropout, 1.15 with it (seeds 0-2
    # all show the same ordering).
    assert log_loss(yte, dropped.predict_proba(Xte)) < log_loss(
        yte, plain.predict_proba(Xte)
    )


def test_label_smoothing_reaches_the_criterion_and_softens(clf_data):
    X, y = clf_data
    sharp = RegularizedNetClassifier(**FAST).fit(X, y)
    smooth = RegularizedNetClassifier(**FAST, label_smoothing=0.3).fit(X, y)
    assert smooth.net_.criterion_.label_smoothing == 0.3
    assert sharp.net_.criterion_.label_smoothing == 0.0
    assert smooth.predict_proba(X).max(axis=1).mean() < (
        sharp.predict_proba(X).max(axis=1).mean()
    )


class _CountingAugmentation(BaseAugmentation):
    """Records the batch sizes it sees (module level: picklable)."""

    def __init__(self, log=None):
        self.log = log

    def __call__(self, X, y):
        self.log.append(len(X))
        return X + 1.0, y


def test_augment_only_touches_training_batches(clf_data):
    X, y = clf_data
    log = []
    clf = RegularizedNetClassifier(
        **FAST,
        augment=_CountingAugmentation(log),
        early_stopping=True,
        validation_fraction=0.2,
    )
    # Parameter objects are cloned in fit, so look at the fitted net's copy.
    clf.fit(X, y)
    seen = clf.net_.augment.log
    assert log == []
    n_train = 300 - 60
    assert sum(seen) == n_train * clf.n_iter_
    n_before = len(seen)
    clf.predict(X)
    clf.predict_proba(X)
    assert len(seen) == n_before


@pytest.mark.parametrize(
    "augment", ["noise", "mixup", "noise+mixup", GaussianNoise(0.3), Mixup(0.4)]
)
def test_augment_changes_training_not_prediction(est_and_data, augment):
    Est, (X, y) = est_and_data
    plain = Est(**FAST).fit(X, y)
    aug = Est(**FAST, augment=augment).fit(X, y)
    assert not np.allclose(_weights(plain)[0], _weights(aug)[0])
    np.testing.assert_array_equal(aug.predict(X), aug.predict(X))


def test_augment_nested_params_are_tunable():
    clf = RegularizedNetClassifier(
        augment=Compose([("noise", GaussianNoise(0.1)), ("mix", Mixup())])
    )
    clf.set_params(augment__noise__std=0.5, augment__mix__alpha=1.0)
    params = clf.get_params()
    assert params["augment__noise__std"] == 0.5
    assert params["augment__mix__alpha"] == 1.0
    clf2 = RegularizedNetClassifier(augment=GaussianNoise()).set_params(augment__std=2)
    assert clone(clf2).augment.std == 2


def test_mixup_composes_with_label_smoothing(clf_data):
    X, y = clf_data
    clf = RegularizedNetClassifier(**FAST, augment="mixup", label_smoothing=0.1)
    assert clf.fit(X, y).score(X, y) > 0.7


@pytest.mark.parametrize("scoring", [None, "loss", "neg_log_loss"])
def test_early_stopping_stops_and_restores_best(clf_data, scoring):
    X, y = clf_data
    clf = RegularizedNetClassifier(
        (64,),
        learning_rate_init=3e-2,
        max_iter=500,
        early_stopping=True,
        n_iter_no_change=5,
        scoring=scoring,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 500
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_
    best = int(np.argmax(scores))
    assert best < len(scores) - 1, "the last epoch should not be the best one"
    assert clf.best_validation_score_ == max(scores)
    # The validation loss stays in the history whatever is monitored.
    valid_losses = clf.net_.history[:, "valid_loss"]
    if scoring == "loss":
        assert scores == [-v for v in valid_losses]
    # The restored weights reproduce the best epoch's score on the hold-out.
    split = clf.net_.train_split
    ds = _TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    valid = split(ds)[1].indices.numpy()
    Xv, yv = X[valid], y[valid]
    proba = clf.predict_proba(Xv)
    restored_loss = -np.mean(np.log(proba[np.arange(len(yv)), yv]))
    assert restored_loss == pytest.approx(valid_losses[best], rel=1e-6)
    restored = {
        None: clf.score(Xv, yv),
        "loss": -restored_loss,
        "neg_log_loss": -restored_loss,
    }[scoring]
    assert restored == pytest.approx(clf.best_validation_score_, rel=1e-6)


def test_no_early_stopping_stops_on_training_loss_plateau(clf_data):
    X, y = clf_data
    clf = RegularizedNetClassifier(
        **{**FAST, "max_iter": 2000}, tol=1e-2, n_iter_no_change=3
    ).fit(X, y)
    assert clf.n_iter_ < 2000
    assert clf.validation_scores_ is None


def test_convergence_warning_when_max_iter_reached(clf_data):
    from sklearn.exceptions import ConvergenceWarning

    X, y = clf_data
    with pytest.warns(ConvergenceWarning):
        RegularizedNetClassifier(**{**FAST, "max_iter": 2}).fit(X, y)


# --- inputs -------------------------------------------------------------------


def test_string_labels_and_pandas(clf_data):
    pd = pytest.importorskip("pandas")
    X, y = clf_data
    names = np.array(["cat", "dog", "emu"])[y]
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = RegularizedNetClassifier(**FAST).fit(df, pd.Series(names))
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert list(clf.feature_names_in_) == list(df.columns)
    assert set(clf.predict(df)) <= set(names)
    assert clf.score(df, names) > 0.8


def test_compute_dtype_follows_input(clf_data):
    X, y = clf_data
    c32 = RegularizedNetClassifier(**FAST).fit(X.astype(np.float32), y)
    c64 = RegularizedNetClassifier(**FAST).fit(X.astype(np.float64), y)
    forced = RegularizedNetClassifier(**FAST, dtype="float32").fit(X, y)
    assert next(c32.net_.module_.parameters()).dtype == torch.float32
    assert next(c64.net_.module_.parameters()).dtype == torch.float64
    assert next(forced.net_.module_.parameters()).dtype == torch.float32
    assert c32.predict_proba(X).dtype == np.float32
    assert c64.predict_proba(X).dtype == np.float64


def test_non_contiguous_input(clf_data):
    X, y = clf_data
    Xf = np.asfortranarray(X)
    a = RegularizedNetClassifier(**FAST).fit(X, y).predict_proba(X)
    b = RegularizedNetClassifier(**FAST).fit(Xf, y).predict_proba(Xf[:, :])
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_zero_sample_weight_equals_dropping_rows():
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    w = np.ones(60)
    w[:10] = 0
    kw = dict(hidden_layer_sizes=(8,), max_iter=20, batch_size=1000, random_state=0)
    a = RegularizedNetClassifier(**kw).fit(X, y, sample_weight=w)
    b = RegularizedNetClassifier(**kw).fit(X[10:], y[10:])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)


def test_class_weight_balanced_favours_the_minority():
    X, y = make_classification(
        n_samples=400, n_features=5, weights=[0.9, 0.1], class_sep=0.5, random_state=0
    )
    kw = dict(
        hidden_layer_sizes=(8,), max_iter=50, learning_rate_init=1e-2, random_state=0
    )
    plain = RegularizedNetClassifier(**kw).fit(X, y)
    balanced = RegularizedNetClassifier(**kw, class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    weighted = RegularizedNetClassifier(**kw, class_weight={0: 1, 1: 9}).fit(X, y)
    assert (weighted.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_multioutput_regression(reg_data):
    X, y = reg_data
    Y = np.c_[y, -y, 2 * y]
    reg = RegularizedNetRegressor(**FAST).fit(X, Y)
    assert reg.predict(X).shape == (300, 3)
    assert reg.score(X, Y) > 0.8
    assert RegularizedNetRegressor(**FAST).fit(X, y).predict(X).shape == (300,)


# --- sklearn machinery -------------------------------------------------------


def test_clone_and_set_params_roundtrip():
    clf = RegularizedNetClassifier((5, 3), l1=0.1, augment="noise")
    c2 = clone(clf.set_params(dropout=0.2, l2=0.5))
    assert c2.get_params() == clf.get_params()
    assert c2.dropout == 0.2 and c2.hidden_layer_sizes == (5, 3)


def test_grid_search_over_all_six_regularizers(clf_data):
    X, y = clf_data
    pipe = make_pipeline(
        StandardScaler(),
        RegularizedNetClassifier(
            hidden_layer_sizes=(8,),
            max_iter=10,
            learning_rate_init=1e-2,
            random_state=0,
        ),
    )
    grid = GridSearchCV(
        pipe,
        {
            "regularizednetclassifier__l1": [0.0, 1e-3],
            "regularizednetclassifier__l2": [1e-4, 1e-2],
            "regularizednetclassifier__dropout": [0.0, 0.2],
            "regularizednetclassifier__label_smoothing": [0.0, 0.1],
            "regularizednetclassifier__augment": [None, "noise"],
            "regularizednetclassifier__early_stopping": [False, True],
        },
        cv=2,
        n_jobs=2,
        error_score="raise",
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 64
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_score_ > 0.5


_RELOAD = """
import pickle, sys, joblib, numpy as np
est = (joblib.load if sys.argv[1].endswith(".joblib") else
       lambda p: pickle.load(open(p, "rb")))(sys.argv[1])
np.save(sys.argv[2], est.predict(np.load(sys.argv[3])))
"""


@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_persistence_in_a_fresh_process(tmp_path, clf_data, how):
    X, y = clf_data
    clf = RegularizedNetClassifier(**FAST, augment="mixup", dropout=0.1, l1=1e-3).fit(
        X, y.astype(str)
    )
    path = tmp_path / f"model.{how}"
    if how == "pickle":
        path.write_bytes(pickle.dumps(clf))
    else:
        joblib.dump(clf, path)
    np.save(tmp_path / "X.npy", X)
    subprocess.run(
        [
            sys.executable,
            "-c",
            _RELOAD,
            str(path),
            str(tmp_path / "pred.npy"),
            str(tmp_path / "X.npy"),
        ],
        check=True,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), clf.predict(X))


# --- hyperparameter validation ----------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"l1": -1.0},
        {"l2": -0.1},
        {"dropout": 1.0},
        {"dropout": -0.1},
        {"label_smoothing": 1.0},
        {"augment": "unknown"},
        {"augment": "noise+noise"},
        {"augment": 3},
        {"max_iter": 0},
        {"batch_size": 0},
        {"optimizer": "newton"},
        {"hidden_layer_sizes": (10, 0)},
        {"activation": "swish"},
        {"learning_rate_init": 0.0},
        {"validation_fraction": 1.0},
        {"device": "not-a-device"},
        {"augment": GaussianNoise(std=-1)},
        {"augment": Mixup(alpha=0)},
        {"dtype": "float16"},
    ],
)
def test_invalid_hyperparameters(clf_data, params):
    X, y = clf_data
    with pytest.raises(InvalidParameterError):
        RegularizedNetClassifier(**{**FAST, **params}).fit(X, y)


def test_cuda_without_cuda_is_a_clear_error(clf_data):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    X, y = clf_data
    with pytest.raises(ValueError, match="CUDA is not available"):
        RegularizedNetClassifier(**FAST, device="cuda").fit(X, y)
    auto = RegularizedNetClassifier(**FAST, device="auto").fit(X, y)
    assert auto.net_.device == "cpu"


# --- determinism, verbosity, incremental -------------------------------------


def test_same_random_state_same_weights_and_rng_untouched(clf_data):
    X, y = clf_data
    kw = {**FAST, "dropout": 0.2, "augment": "noise+mixup", "early_stopping": True}
    np_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    a = RegularizedNetClassifier(**kw).fit(X, y)
    b = RegularizedNetClassifier(**kw).fit(X, y)
    for wa, wb in zip(_weights(a), _weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])
    assert torch.equal(torch_state, torch.get_rng_state())
    c = RegularizedNetClassifier(**{**kw, "random_state": 1}).fit(X, y)
    assert not np.allclose(_weights(a)[0], _weights(c)[0])


def test_verbose_levels(clf_data, capsys):
    X, y = clf_data
    RegularizedNetClassifier(**{**FAST, "max_iter": 3}).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    RegularizedNetClassifier(
        **{**FAST, "max_iter": 3}, verbose=1, early_stopping=True
    ).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert all("train_loss" in ln and "valid_score" in ln for ln in lines)
    assert "\x1b" not in "".join(lines)
    RegularizedNetClassifier(**{**FAST, "max_iter": 2}, verbose=2).fit(X, y)
    out = capsys.readouterr()
    assert len(out.out.strip().splitlines()) == 2
    assert "it/s" in out.err or "%" in out.err


def test_partial_fit_runs_one_epoch_and_keeps_state(clf_data):
    X, y = clf_data
    clf = RegularizedNetClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:150], y[:150], classes=np.unique(y))
    assert clf.n_iter_ == 1
    state = clf.net_.optimizer_.state_dict()["state"]
    step_after_one = int(next(iter(state.values()))["step"])
    for _ in range(4):
        clf.partial_fit(X[150:], y[150:])
    assert clf.n_iter_ == 5
    state = clf.net_.optimizer_.state_dict()["state"]
    assert int(next(iter(state.values()))["step"]) > step_after_one
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 0]))


def test_partial_fit_refuses_early_stopping_like_mlp(clf_data):
    X, y = clf_data
    clf = RegularizedNetClassifier(**FAST, early_stopping=True).fit(X, y)
    before = [p.detach().clone() for p in clf.net_.module_.parameters()]
    # A ValueError as MLPClassifier raises; also an AttributeError, so that
    # hasattr() and scikit-learn's estimator checks see no partial_fit.
    assert not hasattr(clf, "partial_fit")
    for error in (ValueError, AttributeError):
        with pytest.raises(error, match="partial_fit does not support early_stopping"):
            clf.partial_fit(X, y)
    after = list(clf.net_.module_.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_warm_start_continues_from_current_weights(clf_data):
    X, y = clf_data
    clf = RegularizedNetClassifier(**{**FAST, "max_iter": 10}, warm_start=True)
    clf.fit(X, y)
    first_curve = list(clf.loss_curve_)
    clf.fit(X, y)
    assert clf.n_iter_ == 20
    assert clf.loss_curve_[10] < first_curve[0]
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 2], y[y < 2])
    cold = RegularizedNetClassifier(**{**FAST, "max_iter": 10}).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 10


# --- custom modules ------------------------------------------------------------


class _TwoLayer(torch.nn.Module):
    def __init__(self, n_features, n_outputs, dropout=0.0):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features, 12),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(12, n_outputs),
        )

    def forward(self, X):
        return self.body(X)


class _WrongOutput(torch.nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.lin = torch.nn.Linear(n_features, n_outputs + 1)

    def forward(self, X):
        return self.lin(X)


def test_custom_module_class_gets_dropout(clf_data):
    X, y = clf_data
    clf = RegularizedNetClassifier(**FAST, module=_TwoLayer, dropout=0.3, l1=1e-3).fit(
        X, y
    )
    assert clf.net_.module_.body[2].p == 0.3
    assert clf.score(X, y) > 0.7


def test_custom_module_with_wrong_output_is_a_clear_error(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        RegularizedNetClassifier(**FAST, module=_WrongOutput).fit(X, y)
    with pytest.raises(InvalidParameterError, match="not an instance"):
        RegularizedNetClassifier(**FAST, module=_WrongOutput(8, 2)).fit(X, y)


def test_fit_does_not_warn_on_good_input(clf_data):
    X, y = clf_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RegularizedNetClassifier(
            (8,), max_iter=500, learning_rate_init=1e-2, random_state=0
        ).fit(X, y)


def _epoch_lrs(est):
    return est.net_.history[:, "lr"]


def test_cosine_learning_rate_follows_its_formula(clf_data):
    X, y = clf_data
    est = _fit_quiet(
        RegularizedNetClassifier(
            **{**FAST, "max_iter": 8}, learning_rate="cosine", n_iter_no_change=np.inf
        ),
        X,
        y,
    )
    expected = [1e-2 * (1 + np.cos(np.pi * k / 8)) / 2 for k in range(8)]
    np.testing.assert_allclose(_epoch_lrs(est), expected)
    constant = _fit_quiet(RegularizedNetClassifier(**{**FAST, "max_iter": 5}), X, y)
    assert _epoch_lrs(constant) == [1e-2] * 5


class _WeightTrail(Callback):
    """Records a copy of the first weight matrix after every epoch."""

    def on_train_begin(self, net, **kwargs):
        self.trail = []

    def on_epoch_end(self, net, **kwargs):
        self.trail.append(next(net.module_.parameters()).detach().clone())


def test_cosine_decay_takes_small_steps_at_the_end(clf_data):
    X, y = clf_data
    last_step = {}
    for schedule in ("constant", "cosine"):
        trail = _WeightTrail()
        _fit_quiet(
            RegularizedNetClassifier(**FAST, learning_rate=schedule, callbacks=[trail]),
            X,
            y,
        )
        last_step[schedule] = float((trail.trail[-1] - trail.trail[-2]).norm())
    # the last of 30 epochs runs at 0.3% of the initial rate
    assert last_step["cosine"] < 0.05 * last_step["constant"]


def test_auto_learning_rate_is_cosine_for_convnets_only(clf_data):
    from skorch.callbacks import LRScheduler

    from sk_reg.modules import ConvNet

    X, y = clf_data
    cnn = dict(module=ConvNet(channels=(2,), hidden=0), input_shape=(1, 1, -1))
    fast = {**FAST, "max_iter": 4}
    assert _epoch_lrs(_fit_quiet(RegularizedNetClassifier(**fast), X, y)) == [1e-2] * 4
    lrs = _epoch_lrs(_fit_quiet(RegularizedNetClassifier(**fast, **cnn), X, y))
    assert lrs[0] == 1e-2 and lrs[-1] < lrs[0] / 2
    # a user's scheduler callback sets the rate: "auto" leaves it alone
    step = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    own = _fit_quiet(RegularizedNetClassifier(**fast, **cnn, callbacks=[step]), X, y)
    np.testing.assert_allclose(_epoch_lrs(own), [1e-2, 5e-3, 2.5e-3, 1.25e-3])
    with pytest.raises(InvalidParameterError, match="'learning_rate'.*LRScheduler"):
        RegularizedNetClassifier(
            **fast, learning_rate="cosine", callbacks=[("lr", step)]
        ).fit(X, y)


def test_warm_start_restarts_the_decay_and_partial_fit_keeps_the_rate(clf_data):
    X, y = clf_data
    est = RegularizedNetClassifier(
        **{**FAST, "max_iter": 4}, learning_rate="cosine", n_iter_no_change=np.inf
    )
    _fit_quiet(est, X, y)
    _fit_quiet(est.set_params(warm_start=True, learning_rate_init=5e-3), X, y)
    lrs = _epoch_lrs(est)
    assert lrs[:4] == pytest.approx(
        [1e-2 * (1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)]
    )
    # the new call reads the new initial rate (not the optimizer state's)
    assert lrs[4:] == pytest.approx(
        [5e-3 * (1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)]
    )
    inc = RegularizedNetClassifier(**FAST, learning_rate="cosine")
    for _ in range(3):
        inc.partial_fit(X, y, classes=np.unique(y))
    assert _epoch_lrs(inc) == [1e-2] * 3


def test_invscaling_decays_with_the_rows_seen_in_fit_and_partial_fit(clf_data):
    X, y = clf_data
    params = dict(**{**FAST, "max_iter": 3}, learning_rate="invscaling", power_t=0.4)
    est = _fit_quiet(RegularizedNetClassifier(**params, n_iter_no_change=np.inf), X, y)
    n = len(X)
    expected = [1e-2 / (k * n + 1) ** 0.4 for k in range(3)]
    assert _epoch_lrs(est) == pytest.approx(expected)
    inc = RegularizedNetClassifier(**params)
    for _ in range(3):
        inc.partial_fit(X, y, classes=np.unique(y))
    assert _epoch_lrs(inc) == pytest.approx(expected)
    # a larger power_t decays faster
    steep = _fit_quiet(
        RegularizedNetClassifier(**{**params, "power_t": 0.8}, n_iter_no_change=np.inf),
        X,
        y,
    )
    assert _epoch_lrs(steep)[-1] < _epoch_lrs(est)[-1]


def test_adaptive_divides_the_rate_where_the_constant_rate_stops(clf_data):
    X, y = clf_data
    params = dict(**{**FAST, "max_iter": 60}, tol=10.0, n_iter_no_change=2)
    constant = _fit_quiet(RegularizedNetClassifier(**params), X, y)
    adaptive = _fit_quiet(
        RegularizedNetClassifier(**params, learning_rate="adaptive"), X, y
    )
    # only the first epoch improves by tol: the constant rate stops 3 epochs
    # later, the adaptive one is divided by 5 there and every 3 epochs after,
    # until it is <= 1e-6
    assert constant.n_iter_ == 4
    lrs = _epoch_lrs(adaptive)
    expected = [1e-2 / 5 ** max(0, (k - 1) // 3) for k in range(len(lrs))]
    assert lrs == pytest.approx(expected)
    assert lrs[-1] <= 1e-6 < lrs[-4] and adaptive.n_iter_ == len(lrs) == 22
    # early stopping's validation plateau divides the rate too
    held = _fit_quiet(
        RegularizedNetClassifier(
            **params, learning_rate="adaptive", early_stopping=True
        ),
        X,
        y,
    )
    assert len(set(_epoch_lrs(held))) > 1


def _fit_quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)
