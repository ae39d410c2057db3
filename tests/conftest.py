import numpy as np
import pytest
import torch

# Two OpenMP threads on a busy 2-core machine run 5-20x slower (busy-waiting).
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` need CUDA: skipped, with the reason, without it.
    Tests marked ``fast_path`` test a private fast path itself: skipped when
    sk_reg uses public APIs only (``SK_REG_PUBLIC_ONLY=1``)."""
    from sk_reg._compat import PUBLIC_ONLY

    skips = {}
    if not torch.cuda.is_available():
        skips["gpu"] = pytest.mark.skip(reason="needs CUDA (no GPU on this machine)")
    if PUBLIC_ONLY:
        skips["fast_path"] = pytest.mark.skip(reason="SK_REG_PUBLIC_ONLY=1")
    for item in items:
        for marker, skip in skips.items():
            if marker in item.keywords:
                item.add_marker(skip)


def _same_tree(a, b):
    """Nested dicts/lists/tuples of tensors and plain values are equal exactly."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _same_tree(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, z in zip(a, b, strict=True):
            _same_tree(x, z)
    else:
        assert a == b


@pytest.fixture(scope="session")
def assert_same_tree():
    """``assert_same_tree(a, b)``: weights, optimizer states, ... are identical."""
    return _same_tree


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(scope="session")
def sparse_signal():
    """600 x 30 data whose labels depend on the first 4 columns only."""
    rng = np.random.RandomState(0)
    X = rng.randn(600, 30)
    y = (X[:, 0] + X[:, 1] - X[:, 2] + 0.5 * X[:, 3] > 0).astype(int)
    return X, y
