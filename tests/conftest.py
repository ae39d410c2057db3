import numpy as np
import pytest
import torch

# Two OpenMP threads on a busy 2-core machine run 5-20x slower (busy-waiting).
torch.set_num_threads(1)


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
