"""Sparse ``X``: same models as on the dense array, never densified as a whole."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback
from test_validation import assert_clean_error, assert_unfitted

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg._sparse import CSRLinear
from sk_reg.augment import GaussianNoise, Mixup
from sk_reg.modules import ConvNet

ESTIMATORS = {
    "classifier": RegularizedNetClassifier,
    "regressor": RegularizedNetRegressor,
}
SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
FORMATS = [
    sp.csr_matrix,
    sp.csc_matrix,
    sp.coo_matrix,
    sp.lil_matrix,
    sp.csr_array,
    sp.csc_array,
    sp.coo_array,
]


def _data(task, n=120, d=30, density=0.15, dtype=np.float64):
    X = sp.random(n, d, density=density, format="csr", random_state=0, dtype=dtype)
    score = X @ np.random.RandomState(1).randn(d)
    y = (score > np.median(score)).astype(int) if task == "classifier" else score
    return X, y


def _outputs(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.predict(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", FORMATS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("task", sorted(ESTIMATORS))
def test_sparse_fit_and_predict_match_dense(task, make):
    X, y = _data(task)
    dense = ESTIMATORS[task](**SMALL).fit(X.toarray(), y)
    sparse = ESTIMATORS[task](**SMALL).fit(make(X), y)
    expected = _outputs(dense, X.toarray())
    np.testing.assert_allclose(_outputs(sparse, make(X)), expected, atol=1e-10)
    # Either kind of input predicts with a model fitted on the other.
    np.testing.assert_allclose(_outputs(sparse, X.toarray()), expected, atol=1e-10)
    np.testing.assert_allclose(_outputs(dense, make(X)), expected, atol=1e-10)
    if task == "classifier":
        np.testing.assert_array_equal(
            sparse.predict(make(X)), dense.predict(X.toarray())
        )
    assert sparse.n_features_in_ == X.shape[1]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("task", sorted(ESTIMATORS))
def test_sparse_partial_fit_weights_and_early_stopping_match_dense(task):
    X, y = _data(task, n=160)
    w = np.random.RandomState(2).uniform(0.5, 2, size=len(y))
    extra = {"classes": [0, 1]} if task == "classifier" else {}
    models = []
    for X_in in (X, X.toarray()):
        est = ESTIMATORS[task](**SMALL)
        est.partial_fit(X_in[:80], y[:80], sample_weight=w[:80], **extra)
        est.partial_fit(X_in[80:], y[80:], sample_weight=w[80:])
        stopped = ESTIMATORS[task](**SMALL, early_stopping=True).fit(
            X_in, y, sample_weight=w
        )
        models.append((est, stopped))
    for sparse_est, dense_est in zip(*models, strict=True):
        np.testing.assert_allclose(
            _outputs(sparse_est, X), _outputs(dense_est, X.toarray()), atol=1e-10
        )
    assert models[0][1].validation_scores_ == pytest.approx(
        models[1][1].validation_scores_, abs=1e-12
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_float32_sparse_trains_in_float32():
    X, y = _data("classifier", dtype=np.float32)
    sparse = RegularizedNetClassifier(**SMALL).fit(X, y)
    dense = RegularizedNetClassifier(**SMALL).fit(X.toarray(), y)
    assert sparse.net_.module_[0].weight.dtype == torch.float32
    np.testing.assert_allclose(
        sparse.predict_proba(X), dense.predict_proba(X.toarray()), atol=1e-5
    )


class _RecordBatches(Callback):
    def __init__(self):
        self.layouts = set()

    def on_batch_begin(self, net, batch=None, **kwargs):
        self.layouts.add(batch[0].layout)


class _DenseOnly(torch.nn.Module):
    """A user module that only works on dense tensors (as most do)."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.lin = torch.nn.Linear(n_features, n_outputs)

    def forward(self, X):
        assert X.layout == torch.strided, "got a sparse batch"
        return self.lin(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_builtin_mlp_gets_csr_batches_other_modules_dense_ones():
    X, y = _data("classifier")
    seen = _RecordBatches()
    RegularizedNetClassifier(**SMALL, callbacks=[seen]).fit(X, y)
    assert seen.layouts == {torch.sparse_csr}

    seen = _RecordBatches()
    sparse = RegularizedNetClassifier(**SMALL, module=_DenseOnly, callbacks=[seen])
    sparse.fit(X, y)
    assert seen.layouts == {torch.strided}
    dense = RegularizedNetClassifier(**SMALL, module=_DenseOnly).fit(X.toarray(), y)
    np.testing.assert_allclose(
        sparse.predict_proba(X), dense.predict_proba(X.toarray()), atol=1e-10
    )


def test_csr_linear_matches_linear_in_value_and_gradient():
    X = torch.tensor(
        [[0.0, 1.5, 0, 0, -2.0], [0, 0, 0, 0, 0], [3.0, 0, 0, 0, 1.0]],
        dtype=torch.float64,
    )
    layer = CSRLinear(5, 3).double()
    torch.autograd.gradcheck(
        lambda w, b: torch.nn.functional.linear(X, w, b), (layer.weight, layer.bias)
    )
    out_sparse = layer(X.to_sparse_csr())
    grads_sparse = torch.autograd.grad(out_sparse.pow(2).sum(), layer.parameters())
    out_dense = layer(X)
    grads_dense = torch.autograd.grad(out_dense.pow(2).sum(), layer.parameters())
    torch.testing.assert_close(out_sparse, out_dense)
    for a, b in zip(grads_sparse, grads_dense, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("task", sorted(ESTIMATORS))
def test_sparse_mixup_equals_dense_mixup(task):
    """Mixup mixes CSR batches sparsely; the mixed rows are those of the dense batch."""
    X, y = _data(task)
    sparse = ESTIMATORS[task](**SMALL, augment="mixup").fit(X, y)
    dense = ESTIMATORS[task](**SMALL, augment="mixup").fit(X.toarray(), y)
    np.testing.assert_allclose(
        _outputs(sparse, X), _outputs(dense, X.toarray()), atol=1e-10
    )


def test_noise_on_a_sparse_batch_changes_only_stored_entries():
    X = sp.random(50, 40, density=0.1, format="csr", random_state=0)
    batch = torch.from_numpy(X.toarray()).to_sparse_csr()
    noisy, _ = GaussianNoise(std=0.5)(batch, None)
    assert noisy.layout == torch.sparse_csr
    dense, noisy_dense = batch.to_dense(), noisy.to_dense()
    assert torch.equal(noisy_dense[dense == 0], dense[dense == 0])
    change = (noisy_dense - dense)[dense != 0]
    assert 0.4 < change.std().item() < 0.6
    mixed, _ = Mixup(alpha=1.0)(noisy, torch.zeros(50, 2))
    assert mixed.layout == torch.sparse_csr


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_noise_and_l1_fit_on_sparse_input():
    X, y = _data("classifier")
    base = RegularizedNetClassifier(**SMALL).fit(X, y).predict_proba(X)
    noisy = RegularizedNetClassifier(**SMALL, augment="noise+mixup").fit(X, y)
    assert not np.allclose(noisy.predict_proba(X), base)
    l1 = RegularizedNetClassifier((8,), l1=0.05, max_iter=30, random_state=0).fit(X, y)
    assert (l1.net_.module_[0].weight == 0).any()
    assert l1.feature_importances_.shape == (X.shape[1],)


def test_duplicate_entries_are_summed_and_input_is_left_alone():
    X, y = _data("classifier")
    # Every stored entry split into two halves at the same position.
    doubled = sp.csr_matrix(
        (np.repeat(X.data / 2, 2), np.repeat(X.indices, 2), X.indptr * 2), shape=X.shape
    )
    assert not doubled.has_canonical_format and doubled.nnz == 2 * X.nnz
    data_before = doubled.data.copy()
    est = RegularizedNetClassifier(**SMALL).fit(X, y)
    np.testing.assert_allclose(
        est.predict_proba(doubled), est.predict_proba(X), atol=1e-12
    )
    np.testing.assert_array_equal(doubled.data, data_before)


def _corpus(n_docs=300, seed=0):
    rng = np.random.default_rng(seed)
    topics = [[f"{name}{i}" for i in range(25)] for name in ("sport", "money", "cook")]
    common = [f"word{i}" for i in range(200)]
    docs, labels = [], []
    for i in range(n_docs):
        label = i % 3
        words = list(rng.choice(topics[label], 4)) + list(rng.choice(common, 20))
        docs.append(" ".join(rng.permutation(words)))
        labels.append(["sport", "money", "cooking"][label])
    return docs, np.array(labels)


def test_tfidf_pipeline_learns_text():
    docs, labels = _corpus()
    train, test, y_train, y_test = train_test_split(
        docs, labels, test_size=0.3, random_state=0, stratify=labels
    )
    pipe = make_pipeline(
        TfidfVectorizer(),
        RegularizedNetClassifier(
            (16,), max_iter=30, learning_rate_init=1e-2, random_state=0
        ),
    )
    pipe.fit(train, y_train)
    assert sp.issparse(pipe[0].transform(test))
    assert pipe.score(test, y_test) > 0.9


@pytest.mark.parametrize(
    "make", [sp.csr_matrix, sp.csr_array], ids=lambda f: f.__name__
)
@pytest.mark.parametrize(
    "params",
    [
        dict(input_shape=(1, 2, 3)),
        dict(module="cnn"),
        dict(module=ConvNet()),
    ],
    ids=["input_shape", "cnn", "ConvNet"],
)
def test_sparse_images_are_refused_clearly(params, make):
    X = make(sp.random(20, 6, density=0.5, random_state=0))
    y = np.arange(20) % 2
    est = RegularizedNetClassifier(**SMALL, **params)
    assert est.__sklearn_tags__().input_tags.sparse is False
    with pytest.raises(ValueError) as excinfo:
        est.fit(X, y)
    assert_clean_error(excinfo, r"Sparse X cannot be used as images.*X\.toarray")
    assert_unfitted(est)
    if "input_shape" in params:
        est.fit(X.toarray(), y)
        with pytest.raises(ValueError) as excinfo:
            est.predict(X)
        assert_clean_error(excinfo, "Sparse X cannot be used as images")


def test_sparse_values_beyond_float32_are_refused():
    X = sp.csr_matrix(np.array([[0.0, 1e300], [1.0, 0.0]]))
    est = RegularizedNetClassifier(**SMALL, dtype="float32")
    with pytest.raises(ValueError) as excinfo:
        est.fit(X, [0, 1])
    assert_clean_error(excinfo, "too large for float32")
    assert est.__sklearn_tags__().input_tags.sparse is True


_LARGE = textwrap.dedent("""
    import resource, sys, warnings
    import numpy as np, scipy.sparse as sp, torch
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from sk_reg import RegularizedNetClassifier
    n, d, k = 100_000, 50_000, 10
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random(n * k, dtype=np.float32),
                       rng.integers(0, d, n * k), np.arange(0, n * k + 1, k)),
                      shape=(n, d))
    y = rng.integers(0, 2, n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    clf = RegularizedNetClassifier((4,), max_iter=1, batch_size=1000,
                                   random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(proba.shape[0], growth * 1024)  # ru_maxrss is in KiB on Linux
""")


def test_large_sparse_fit_never_densifies():
    """100k x 50k CSR with 10 stored values per row: 20 GB as a dense float32
    array, 12 MB of stored values. Fit and predict in a fresh process and
    check the growth of its peak memory."""
    out = subprocess.run(
        [sys.executable, "-c", _LARGE],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    n_rows, growth = int(out[0]), int(out[1])
    assert n_rows == 100_000
    dense_bytes = 100_000 * 50_000 * 4
    assert growth < 1e9, f"peak memory grew {growth / 1e6:.0f} MB"
    assert growth < dense_bytes / 20
