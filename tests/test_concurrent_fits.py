"""Fits running at once in threads of one process share no state.

Each training call owns its random generators (sk_reg/_rng.py), and no fit
changes the process-wide warnings filters. Whole searches in threads (joblib's
threading backend, Dask) are in tests/test_scale.py.
"""

import threading
import warnings

import numpy as np
import pytest
import torch
from joblib import parallel_backend
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sk_reg import RegularizedNetClassifier, RegularizedNetClassifierCV
from sk_reg._rng import generator, seeded_global, training_generators
from sk_reg._training import _quiet_stop_warnings
from sk_reg.augment import GaussianNoise, Mixup
from sk_reg.modules import Dropout


def test_generator_exists_only_inside_a_training_call():
    assert generator("cpu") is None
    with training_generators(3):
        own = generator("cpu")
        assert own is not None and own is not torch.default_generator
        with training_generators(4):  # nested: the inner call's own
            assert generator("cpu") is not own
        assert generator("cpu") is own
    assert generator("cpu") is None


def test_training_generators_are_seeded_as_the_global_one_was():
    """The same draws a fit made from the seeded global generator: seeded
    fits keep their weights."""
    with training_generators(7):
        own = torch.rand(5, generator=generator("cpu"))
        global_draw = torch.rand(5)  # a custom module's torch.nn.Dropout
    torch.manual_seed(7)
    expected = torch.rand(5)
    assert torch.equal(own, expected) and torch.equal(global_draw, expected)


def test_caller_global_state_is_restored():
    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    with training_generators(1):
        torch.rand(10)
        inside = torch.get_rng_state().clone()
        with training_generators(2):  # nested: back to the outer call's state
            torch.rand(10)
        assert torch.equal(torch.get_rng_state(), inside)
    with seeded_global(2):
        torch.rand(10)
    assert torch.equal(torch.get_rng_state(), before)


def test_other_threads_do_not_see_a_training_call_generator():
    inside, seen = threading.Event(), []
    done = threading.Event()

    def other():
        inside.wait()
        seen.append(generator("cpu"))
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with training_generators(0):
        inside.set()
        done.wait()
        assert generator("cpu") is not None
    thread.join()
    assert seen == [None]


def test_draws_in_a_thread_ignore_the_global_generator_being_reseeded():
    """What made threaded searches irreproducible: another fit reseeding and
    drawing from the global generator in the middle of this one's draws."""

    def draws(disturb):
        with training_generators(5):
            x = torch.ones(64, 32)
            first = Dropout(0.3).train()(x)
            if disturb:
                torch.manual_seed(99)
                torch.rand(1000)
            second = GaussianNoise(0.5)(x, None)[0]
            third = Mixup(0.4)(x, torch.arange(64.0))[0]
            return first, second, third

    for a, b in zip(draws(False), draws(True), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_dropout_outside_the_cheap_mask_uses_the_call_generator(dtype):
    """Dtypes without the cheap CPU mask get a Bernoulli mask from the call's
    generator (torch's F.dropout cannot take one)."""
    x = torch.ones(200, 100, dtype=dtype)
    drop = Dropout(0.25).train()
    with training_generators(0):
        a = drop(x)
    with training_generators(0):
        torch.manual_seed(1)  # the global generator does not matter
        b = drop(x)
    assert torch.equal(a, b)
    values = set(a.float().unique().tolist())
    assert values == {0.0, float(torch.tensor(1 / 0.75, dtype=dtype))}
    assert abs((a == 0).float().mean().item() - 0.25) < 0.02
    with training_generators(0):
        assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))
        assert torch.equal(Dropout(0.0).train()(x), x)


def test_fits_in_threads_match_fits_in_turn():
    """Four fits with dropout and mixup at once in threads: the weights of
    four fits one after the other, and torch's global generator as it was."""
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    kwargs = dict(hidden_layer_sizes=(32,), dropout=0.3, augment="mixup", max_iter=10)
    seeds = range(4)

    def fit(seed):
        return RegularizedNetClassifier(**kwargs, random_state=seed).fit(X, y)

    expected = [fit(seed).coefs_[0] for seed in seeds]
    torch.manual_seed(2024)
    before = torch.get_rng_state().clone()
    fitted = [None] * 4
    start = threading.Barrier(4)

    def run(i):
        start.wait()
        fitted[i] = fit(seeds[i]).coefs_[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for a, b in zip(expected, fitted, strict=True):
        np.testing.assert_array_equal(a, b)
    # Whichever fit ends last restores the state from before the first began.
    assert torch.equal(torch.get_rng_state(), before)


def test_searches_in_threads_leave_the_warnings_filters_alone():
    """The CV estimators silence their rungs' "maximum iterations" warnings
    without warnings.catch_warnings, whose process-wide filters threads
    interleave: a threaded search used to leave an "ignore
    ConvergenceWarning" filter installed for good, and to leak the warnings
    it meant to silence."""
    X, y = make_classification(n_samples=150, n_features=6, random_state=0)
    kwargs = dict(budget=120, min_iter=5, max_iter=20)
    RegularizedNetClassifierCV(**kwargs, random_state=0).fit(X, y)  # imports
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed in range(3):
            with parallel_backend("threading", n_jobs=4):
                RegularizedNetClassifierCV(**kwargs, random_state=seed).fit(X, y)
        filters_inside = list(warnings.filters)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert filters_inside == [("always", None, Warning, None, 0), *before]
    assert warnings.filters == before


def test_silencing_stop_warnings_is_per_thread():
    """While a search runs in one thread, a plain fit in another still warns
    that it ran out of epochs."""
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    inside, done = threading.Event(), threading.Event()

    def search():
        with _quiet_stop_warnings("max_iter"):
            inside.set()
            done.wait()

    thread = threading.Thread(target=search)
    thread.start()
    inside.wait()
    try:
        with pytest.warns(ConvergenceWarning, match="maximum iterations"):
            RegularizedNetClassifier(max_iter=1, random_state=0).fit(X, y)
    finally:
        done.set()
        thread.join()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with _quiet_stop_warnings("max_iter"):
            RegularizedNetClassifier(max_iter=1, random_state=0).fit(X, y)


def test_validation_scoring_keeps_feature_names_without_warning():
    """Early stopping on a score predicts on numpy rows mid-fit; the fitted
    feature names are hidden from that check, not filtered (process-wide)."""
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    df = pd.DataFrame(X, columns=list("abcd"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs, by design
        clf = RegularizedNetClassifier(
            early_stopping=True, max_iter=30, n_iter_no_change=50, random_state=0
        ).fit(df, y)
    assert list(clf.feature_names_in_) == list("abcd")
    assert len(clf.validation_scores_) == 30
