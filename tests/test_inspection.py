"""sk_reg.inspection: the displays draw what the fitted estimators hold."""

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from sk_reg import RegularizedNetClassifier, RegularizedNetClassifierCV
from sk_reg.inspection import (
    RegularizationPathDisplay,
    SearchDisplay,
    TrainingHistoryDisplay,
)

matplotlib.use("Agg")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def search(iris):
    return RegularizedNetClassifierCV(
        budget=150, min_iter=10, max_iter=30, random_state=0
    ).fit(*iris)


def _net(**params):
    defaults = dict(max_iter=40, learning_rate_init=1e-2, random_state=0)
    return RegularizedNetClassifier((16,), **{**defaults, **params})


def test_history_marks_the_restored_epoch(iris):
    clf = _net(
        early_stopping=True, scoring="loss", l2=0.0, n_iter_no_change=5, max_iter=400
    )
    clf.fit(*iris)
    display = TrainingHistoryDisplay.from_estimator(clf)
    name = "RegularizedNetClassifier"
    assert sorted(display.lines_) == [
        f"{name}: training loss",
        f"{name}: validation loss",
    ]
    # the marked epoch is the one whose validation score is the best (ties to
    # the later epoch), i.e. the weights early stopping restored
    scores = np.asarray(clf.validation_scores_)
    restored = int(np.flatnonzero(scores == scores.max())[-1]) + 1
    assert display.best_lines_[name].get_xdata()[0] == restored < clf.n_iter_
    train = display.lines_[f"{name}: training loss"]
    np.testing.assert_allclose(train.get_ydata(), clf.loss_curve_)
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, clf.n_iter_ + 1))
    assert display.ax_.get_xlabel() == "epoch" and display.ax_.get_ylabel() == "loss"
    assert display.ax_score_ is None  # the score is the negative loss


def test_history_draws_scores_and_objective_when_they_differ(iris):
    clf = _net(early_stopping=True, l2=1.0).fit(*iris)  # scoring=None: accuracy
    display = TrainingHistoryDisplay.from_estimator(clf)
    assert len(display.lines_) == 4
    score = display.lines_["RegularizedNetClassifier: validation score"]
    assert score.axes is display.ax_score_
    np.testing.assert_allclose(score.get_ydata(), clf.validation_scores_)
    assert display.ax_score_.get_ylabel() == "validation score"
    plain = TrainingHistoryDisplay.from_estimator(_net(l2=0.0).fit(*iris))
    assert list(plain.lines_) == ["RegularizedNetClassifier: training loss"]
    assert plain.best_lines_ == {}


def test_history_of_a_pipeline_and_of_a_search(iris, search):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), _net(l2=0.0)).fit(X, y)
    display = TrainingHistoryDisplay.from_estimator(pipe)
    np.testing.assert_allclose(
        display.lines_["RegularizedNetClassifier: training loss"].get_ydata(),
        pipe[-1].loss_curve_,
    )
    display = TrainingHistoryDisplay.from_estimator(search)
    trained = [k for k in display.lines_ if k.endswith("training loss")]
    assert trained == [f"estimators_[{k}]: training loss" for k in range(4)]


def test_history_errors(iris):
    with pytest.raises(NotFittedError):
        TrainingHistoryDisplay.from_estimator(_net())
    with pytest.raises(TypeError, match="sk_reg estimator.*MLPClassifier"):
        TrainingHistoryDisplay.from_estimator(MLPClassifier(max_iter=5).fit(*iris))
    clf = _net(max_iter=2).fit(*iris)
    clf.net_.history.clear()
    with pytest.raises(ValueError, match="no training history"):
        TrainingHistoryDisplay.from_estimator(clf)


def _path():
    return Bunch(
        feature_l1=np.array([0.01, 0.1, 1.0, 10.0]),
        n_features_selected=np.array([6, 3, 3, 0]),
        validation_score=np.array([0.8, 0.9, 0.9, 0.5]),
        feature_norms=np.abs(np.random.RandomState(0).randn(4, 6)),
    )


def test_path_marks_the_best_and_sparser_point():
    display = RegularizationPathDisplay.from_path(_path())
    assert display.chosen_ == 2  # a tie at 0.9: the later, sparser point
    assert display.chosen_line_.get_xdata()[0] == 1.0
    assert display.ax_.get_xscale() == "log"
    assert display.ax_.get_xlabel() == "feature_l1"
    assert display.ax_.get_ylabel() == "features selected"
    assert display.ax_score_.get_ylabel() == "validation score"
    np.testing.assert_array_equal(
        display.lines_["validation score"].get_ydata(), [0.8, 0.9, 0.9, 0.5]
    )
    assert RegularizationPathDisplay.from_path(_path(), chosen=0).chosen_ == 0
    norms = RegularizationPathDisplay.from_path(_path(), show_norms=True)
    assert sum(k.startswith("column") for k in norms.lines_) == 6


def test_path_errors():
    path = _path()
    del path["validation_score"]
    with pytest.raises(ValueError, match="validation_score"):
        RegularizationPathDisplay.from_path(path)
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="leave ax=None"):
        RegularizationPathDisplay.from_path(_path(), show_norms=True, ax=ax)


def test_path_from_an_estimator():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    display = RegularizationPathDisplay.from_estimator(
        _net(max_iter=30), X, y, values=[1e-3, 0.3, 30.0], random_state=0
    )
    np.testing.assert_array_equal(
        display.lines_["features selected"].get_ydata(),
        display.path.n_features_selected,
    )
    assert display.path.n_features_selected[-1] == 0


def test_search_draws_every_candidate_and_the_refitted_ones(search):
    display = SearchDisplay.from_estimator(search)
    results = search.cv_results_
    assert sorted(display.lines_) == list(range(9))
    assert len(display.refitted) == len(search.estimators_) == 4
    assert results["params"][search.best_index_] == search.best_params_
    best = display.lines_[display.refitted[0]]
    assert best.get_label().endswith(str(search.best_params_))
    # a candidate's line runs through its rungs: epochs and scores
    rows = np.flatnonzero(results["candidate"] == display.refitted[0])
    np.testing.assert_array_equal(best.get_xdata(), results["n_iter"][rows])
    np.testing.assert_array_equal(best.get_ydata(), results["test_score"][rows])
    thick = [c for c, line in display.lines_.items() if line.get_linewidth() > 2]
    assert sorted(thick) == sorted(display.refitted)
    assert display.ax_.get_xlabel() == "epochs trained"
    assert display.ax_.get_ylabel() == "hold-out neg_log_loss"


def test_search_errors_and_pipeline(iris, search):
    with pytest.raises(NotFittedError):
        SearchDisplay.from_estimator(RegularizedNetClassifierCV())
    with pytest.raises(TypeError, match="RegularizedNetClassifierCV"):
        SearchDisplay.from_estimator(_net().fit(*iris))
    pipe = make_pipeline(
        StandardScaler(),
        RegularizedNetClassifierCV([{}, {"l2": 1.0}], min_iter=3, max_iter=5),
    ).fit(*iris)
    assert sorted(SearchDisplay.from_estimator(pipe).lines_) == [0, 1]


def test_missing_matplotlib_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        RegularizationPathDisplay(_path()).plot()
