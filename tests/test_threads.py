"""Thread use: small steps run on one thread; the process's count is restored.

torch's intra-op thread pool belongs to the process, like numpy's BLAS pool.
The estimators leave its setting as they found it; while a fit or a prediction
whose steps are too small to split runs (under ``SMALL_STEP_FLOPS``), they
use one thread, because spare threads only spin on a busy machine (measured
in benchmarks/README.md). Parallel searches need nothing more, because
joblib's loky workers start with ``cpu_count() // n_jobs`` threads (and
Dask's with one), so ``n_jobs`` fits never run more threads than there are
cores.
"""

import os

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor, _net

TINY = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


@pytest.fixture
def torch_threads():
    """Set torch's thread count for one test and restore it afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize(
    "Estimator", [RegularizedNetClassifier, RegularizedNetRegressor]
)
def test_fit_and_predict_leave_thread_count_alone(torch_threads, n_threads, Estimator):
    torch_threads(n_threads)
    X, y = make_classification(60, 4, random_state=0)
    est = Estimator(**TINY, dropout=0.1, early_stopping=True).fit(X, y)
    assert torch.get_num_threads() == n_threads
    est.predict(X)
    RegularizedNetRegressor(**TINY).partial_fit(X, y)
    assert torch.get_num_threads() == n_threads


def _threads_in_worker(estimator, X, y):
    """A 'scorer' that reports the torch threads of the process that fitted."""
    return float(torch.get_num_threads())


def test_grid_search_workers_do_not_oversubscribe():
    # Each loky worker fits with cpu_count() // n_jobs torch threads (or what
    # the parent's OMP_NUM_THREADS says), never the machine's full count.
    n_jobs = 2
    X, y = make_classification(60, 4, random_state=0)
    grid = GridSearchCV(
        RegularizedNetClassifier(**TINY),
        {"l2": [0.0, 1e-3]},
        cv=2,
        n_jobs=n_jobs,
        scoring=_threads_in_worker,
        error_score="raise",
    )
    grid.fit(X, y)
    threads = np.concatenate(
        [grid.cv_results_[f"split{i}_test_score"] for i in range(2)]
    )
    expected = os.environ.get("OMP_NUM_THREADS")
    expected = int(expected) if expected else max(os.cpu_count() // n_jobs, 1)
    assert set(threads) == {expected}


class _ThreadsSeen(Callback):
    def on_epoch_end(self, net, **kwargs):
        self.seen = torch.get_num_threads()


@pytest.mark.parametrize("threshold, expected", [(_net.SMALL_STEP_FLOPS, 1), (0, 2)])
def test_small_steps_train_on_one_thread(
    torch_threads, monkeypatch, threshold, expected
):
    monkeypatch.setattr(_net, "SMALL_STEP_FLOPS", threshold)
    torch_threads(2)
    X, y = make_classification(60, 4, random_state=0)
    seen = _ThreadsSeen()
    RegularizedNetClassifier(**TINY, callbacks=[("seen", seen)]).fit(X, y)
    assert seen.seen == expected
    assert torch.get_num_threads() == 2
