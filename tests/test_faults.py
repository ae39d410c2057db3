"""Faults during training (divergence, KeyboardInterrupt), CUDA models on CPU,
determinism across processes and concurrent predict."""

import copy
import os
import pickle
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

import sk_reg
from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(sk_reg.__file__)))


@pytest.fixture(scope="module")
def digits_full():
    return load_digits(return_X_y=True)


@pytest.fixture(scope="module")
def digits_raw():
    """Digits without scaling (pixel values 0..16)."""
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def _weights(est):
    return [p.detach().clone() for p in est.net_.module_.parameters()]


def _same_weights(a, b):
    return all(torch.equal(x, z) for x, z in zip(_weights(a), _weights(b), strict=True))


class _SetLearningRate(Callback):
    """Set the learning rate at the start of the epochs in ``schedule``."""

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) in self.schedule:
            for group in net.optimizer_.param_groups:
                group["lr"] = self.schedule[len(net.history)]


class _InterruptOnce(Callback):
    """Raise KeyboardInterrupt once, after ``batch`` training batches of
    epoch ``epoch`` (as Ctrl-C in the middle of an epoch would)."""

    def __init__(self, epoch, batch):
        self.epoch = epoch
        self.batch = batch
        self.fired = False

    def on_batch_end(self, net, training=False, **kwargs):
        if (
            training
            and not self.fired
            and len(net.history) == self.epoch
            and len(net.history[-1]["batches"]) == self.batch
        ):
            self.fired = True
            raise KeyboardInterrupt


# --- divergence ---------------------------------------------------------------


def test_divergence_stops_with_a_warning_and_keeps_the_last_finite_epoch(digits_full):
    """The issue's example: lr 1e6 with SGD on unscaled data (nan at epoch 9)."""
    X, y = digits_full
    kw = dict(learning_rate_init=1e6, optimizer="sgd", random_state=0, max_iter=50)
    with pytest.warns(ConvergenceWarning, match=r"diverged at epoch \d+ \(train_loss"):
        clf = RegularizedNetClassifier(**kw).fit(X, y)
    assert 1 <= clf.n_iter_ < 50
    assert np.isfinite(clf.loss_curve_).all()
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # "The last finite epoch" exactly: a run stopped there by max_iter.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = RegularizedNetClassifier(**{**kw, "max_iter": clf.n_iter_}).fit(X, y)
    assert _same_weights(clf, ref)
    assert clf.loss_curve_ == ref.loss_curve_


def test_divergence_with_early_stopping_restores_the_best_epoch(digits_raw):
    X, y = digits_raw
    X = X / 16.0
    kw = dict(
        hidden_layer_sizes=(32,),
        learning_rate_init=1e-2,
        random_state=0,
        max_iter=40,
        early_stopping=True,
        n_iter_no_change=20,
    )
    # Epoch 4 gets worse (finite), epoch 5 diverges.
    blow_up = _SetLearningRate({4: 30.0, 5: 1e250})
    with pytest.warns(ConvergenceWarning, match="diverged.*best epoch"):
        clf = RegularizedNetClassifier(**kw, callbacks=[blow_up]).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()
    assert len(clf.validation_scores_) == clf.n_iter_ == 4  # epoch 5 rolled back
    assert np.isfinite(clf.validation_scores_).all()
    stopping = dict(clf.net_.callbacks_)["stopping"]
    assert stopping.best_epoch_ == 3
    # The weights are those of the best epoch of an undisturbed run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = RegularizedNetClassifier(
            **{**kw, "max_iter": stopping.best_epoch_, "early_stopping": True}
        ).fit(X, y)
    assert _same_weights(clf, ref)
    assert clf.best_validation_score_ == ref.validation_scores_[-1]


def test_regressor_divergence(digits_raw):
    X, y = make_regression(n_samples=300, n_features=10, noise=1.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg = RegularizedNetRegressor(
            learning_rate_init=1.0, optimizer="sgd", max_iter=100, random_state=0
        ).fit(X * 100, y)
    assert np.isfinite(reg.predict(X * 100)).all()


@pytest.mark.parametrize("prefit", [False, True])
def test_divergence_in_the_first_epoch_raises_and_changes_nothing(
    prefit, assert_same_tree
):
    X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    reg = RegularizedNetRegressor(max_iter=3, random_state=0)
    if prefit:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.fit(X, y / y.std())
        before, weights = reg.predict(X), _weights(reg)
    with pytest.raises(ValueError, match="diverged at epoch 1.*no usable model"):
        reg.set_params(learning_rate_init=1e300, optimizer="sgd", batch_size=10).fit(
            X, y / y.std()
        )
    if prefit:
        np.testing.assert_array_equal(reg.predict(X), before)
        assert_same_tree(weights, _weights(reg))
        assert reg.n_iter_ == 3
    else:
        with pytest.raises(NotFittedError):
            check_is_fitted(reg)


def test_partial_fit_on_a_diverging_chunk_keeps_the_model(assert_same_tree):
    X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    y = y / y.std()
    reg = RegularizedNetRegressor(random_state=0, optimizer="sgd")
    for _ in range(3):
        reg.partial_fit(X, y)
    before, weights = reg.predict(X), _weights(reg)
    optimizer = copy.deepcopy(reg.net_.optimizer_.state_dict())
    with pytest.raises(ValueError, match="diverged"):
        reg.partial_fit(X, y * 1e200)
    np.testing.assert_array_equal(reg.predict(X), before)
    assert_same_tree(weights, _weights(reg))
    assert_same_tree(reg.net_.optimizer_.state_dict(), optimizer)
    assert reg.n_iter_ == 3 == len(reg.net_.history)
    reg.partial_fit(X, y)  # and training goes on
    assert reg.n_iter_ == 4


# --- KeyboardInterrupt ---------------------------------------------------------------


def test_interrupt_mid_epoch_keeps_the_last_completed_epoch(digits_raw):
    X, y = digits_raw
    X = X / 16.0
    kw = dict(hidden_layer_sizes=(16,), random_state=0, dropout=0.1, augment="noise")
    interrupt = _InterruptOnce(epoch=3, batch=2)
    clf = RegularizedNetClassifier(**kw, max_iter=10, callbacks=[interrupt])
    with pytest.warns(UserWarning, match="interrupted.*epoch 3.*model of epoch 2"):
        clf.fit(X, y)
    assert interrupt.fired
    assert clf.n_iter_ == 2 == len(clf.loss_curve_) == len(clf.net_.history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = RegularizedNetClassifier(**kw, max_iter=2).fit(X, y)
    assert _same_weights(clf, ref)
    np.testing.assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    # fit can be called again and runs to the end this time.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ == 10


def test_interrupt_in_the_first_epoch_propagates_and_changes_nothing(digits_raw):
    X, y = digits_raw
    clf = RegularizedNetClassifier(
        hidden_layer_sizes=(8,),
        random_state=0,
        callbacks=[_InterruptOnce(epoch=1, batch=1)],
    )
    with pytest.raises(KeyboardInterrupt, match="no epoch completed"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    # A fitted model interrupted in the first epoch of a new partial_fit.
    # (partial_fit keeps the first call's hyperparameters, callbacks included.)
    clf = RegularizedNetClassifier(
        hidden_layer_sizes=(8,),
        random_state=0,
        callbacks=[_InterruptOnce(epoch=2, batch=1)],
    )
    clf.partial_fit(X, y, classes=np.arange(10))
    before = clf.predict_proba(X)
    with pytest.raises(KeyboardInterrupt, match="no epoch completed"):
        clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == 1 == len(clf.net_.history)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2


def test_early_stopping_is_not_mistaken_for_an_interrupt(digits_raw):
    # The stopping rule stops by raising a KeyboardInterrupt subclass after an
    # epoch, which skorch swallows; it must not read as a user interrupt.
    X, y = digits_raw
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = RegularizedNetClassifier(
            hidden_layer_sizes=(16,),
            random_state=0,
            n_iter_no_change=2,
            tol=10.0,
            max_iter=50,
        ).fit(X / 16.0, y)
    # MLP's rule: epoch 1 improves, epochs 2-4 do not (tol=10); the count (3)
    # then exceeds n_iter_no_change=2.
    assert clf.n_iter_ == 4 == len(clf.net_.history)


# --- CUDA -> CPU ------------------------------------------------------------

_LOAD_ON_CPU = """
import pickle, sys, warnings
import numpy as np, torch
assert not torch.cuda.is_available()
with open(sys.argv[1], "rb") as f:
    clf, X = pickle.load(f)
np.save(sys.argv[2], clf.predict_proba(X))
print(clf.net_.device)
"""


def _predict_in_cpu_process(tmp_path, clf, X):
    path = tmp_path / "clf.pkl"
    path.write_bytes(pickle.dumps((clf, X)))
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_ON_CPU, str(path), str(tmp_path / "p.npy")],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return np.load(tmp_path / "p.npy"), out


def test_pickle_that_asks_for_cuda_loads_on_a_cpu_only_machine(digits_raw):
    """The CPU side of a CUDA-trained pickle: the net is rebuilt on the CPU."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the gpu-marked test covers it")
    X, y = digits_raw
    clf = RegularizedNetClassifier(
        hidden_layer_sizes=(8,), max_iter=3, random_state=0
    ).fit(X / 16.0, y)
    expected = clf.predict_proba(X / 16.0)
    clf.net_.device = "cuda"  # as if it had been trained there
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = pickle.loads(pickle.dumps(clf))
    assert any("restored on the CPU" in str(w.message) for w in caught)
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X / 16.0), expected)
    # Its device parameter still says "cpu" as fitted here; a model whose
    # parameter says "cuda" cannot be refitted without CUDA: a clear error.
    with pytest.raises(ValueError, match="CUDA is not available"):
        loaded.set_params(device="cuda").fit(X / 16.0, y)


@pytest.mark.gpu
def test_cuda_fitted_model_pickles_to_a_cpu_only_process(tmp_path, digits_raw):
    X, y = digits_raw
    X = (X / 16.0).astype(np.float32)
    clf = RegularizedNetClassifier(
        hidden_layer_sizes=(32,),
        max_iter=5,
        early_stopping=True,
        augment="noise",
        dropout=0.1,
        device="cuda",
        random_state=0,
    ).fit(X, y)
    assert clf.net_.device == "cuda"
    proba, out = _predict_in_cpu_process(tmp_path, clf, X)
    assert out.stdout.strip() == "cpu"
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(proba.argmax(1), clf.predict_proba(X).argmax(1))


# --- determinism and threads ----------------------------------------------------------

_FIT_AND_HASH = """
import hashlib, warnings
import numpy as np, torch
from sklearn.datasets import make_classification
from sk_reg import RegularizedNetClassifier


def fit_and_hash(seed):
    torch.set_num_threads(1)
    X, y = make_classification(n_samples=300, n_features=10, n_classes=3,
                               n_informative=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = RegularizedNetClassifier(
            (16, 8), l1=1e-3, dropout=0.2, augment="noise+mixup",
            early_stopping=True, max_iter=15, random_state=seed,
        ).fit(X, y)
    return hashlib.sha256(clf.predict_proba(X).tobytes()).hexdigest()
"""


def _hash_in_new_process(seed, hashseed):
    out = subprocess.run(
        [sys.executable, "-c", _FIT_AND_HASH + f"print(fit_and_hash({seed}))"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": str(hashseed)},
    )
    return out.stdout.strip()


@pytest.mark.slow
def test_same_random_state_bit_identical_across_processes():
    """Two fresh processes (different hash seeds) and this one agree to the bit
    (on CPU, with one torch thread each)."""
    first = _hash_in_new_process(seed=0, hashseed=1)
    second = _hash_in_new_process(seed=0, hashseed=2)
    assert len(first) == 64
    assert first == second
    namespace = {}
    exec(_FIT_AND_HASH, namespace)
    assert namespace["fit_and_hash"](0) == first
    assert namespace["fit_and_hash"](1) != first


def test_concurrent_predict_from_threads(digits_raw):
    X, y = digits_raw
    X = X / 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = RegularizedNetClassifier(
            (32,), dropout=0.5, max_iter=5, random_state=0
        ).fit(X, y)
    chunks = np.array_split(np.arange(len(X)), 8)
    expected = [clf.predict_proba(X[idx]) for idx in chunks]
    labels = [clf.predict(X[idx]) for idx in chunks]
    n_threads, rounds = 8, 25
    barrier = threading.Barrier(n_threads)
    errors, results = [], {}

    def work(t):
        try:
            barrier.wait()
            for r in range(rounds):
                i = (t + r) % len(chunks)
                proba = clf.predict_proba(X[chunks[i]])
                pred = clf.predict(X[chunks[i]])
                results[t, r] = np.array_equal(proba, expected[i]) and np.array_equal(
                    pred, labels[i]
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == n_threads * rounds and all(results.values())
