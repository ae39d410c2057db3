"""optimizer="lbfgs": full-batch L-BFGS-B with MLP's meanings, and what it
cannot be combined with (MLP's own lbfgs tests are in test_mlp_parity.py)."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_multilabel_classification

import sk_reg
from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
from sk_reg._compat import InvalidParameterError

X, Y = make_classification(
    n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
)
FAST = dict(hidden_layer_sizes=(8,), optimizer="lbfgs", max_iter=60, random_state=0)


@pytest.mark.parametrize(
    "name, value",
    [
        ("l1", 1e-3),
        ("feature_l1", 1e-3),
        ("dropout", 0.2),
        ("augment", "noise"),
        ("early_stopping", True),
        ("optimizer_kwargs", {"history_size": 5}),
    ],
)
def test_conflicts_are_named(name, value):
    clf = RegularizedNetClassifier(**FAST, **{name: value})
    with pytest.raises(InvalidParameterError, match=f"lbfgs.*{name}"):
        clf.fit(X, Y)
    assert not hasattr(clf, "net_")


def _weight_norm(est):
    return sum(float((w**2).sum()) for w in est.coefs_)


def test_l2_shrinks_the_weights():
    norms = [
        _weight_norm(RegularizedNetClassifier(**FAST, l2=l2).fit(X, Y))
        for l2 in (0.0, 1.0, 10.0)
    ]
    assert norms[0] > norms[1] > norms[2]


def test_label_smoothing_softens_the_probabilities():
    sharp = RegularizedNetClassifier(**FAST, l2=0).fit(X, Y).predict_proba(X)
    soft = RegularizedNetClassifier(**FAST, l2=0, label_smoothing=0.3).fit(X, Y)
    assert soft.predict_proba(X).max(axis=1).mean() < sharp.max(axis=1).mean()


def test_weighted_rows_equal_repeated_rows():
    rng = np.random.RandomState(0)
    weights = rng.randint(0, 3, len(X))
    weighted = RegularizedNetClassifier(**FAST).fit(X, Y, sample_weight=weights)
    repeated = RegularizedNetClassifier(**FAST).fit(
        np.repeat(X, weights, axis=0), np.repeat(Y, weights)
    )
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-6
    )


def test_class_weight_moves_predictions_to_the_heavy_class():
    plain = RegularizedNetClassifier(**FAST).fit(X, Y)
    heavy = RegularizedNetClassifier(**FAST, class_weight={0: 20.0}).fit(X, Y)
    assert (heavy.predict(X) == 0).sum() > (plain.predict(X) == 0).sum()


def test_multilabel_poisson_and_sparse_inputs():
    Xm, Ym = make_multilabel_classification(n_samples=80, n_classes=3, random_state=0)
    clf = RegularizedNetClassifier(**FAST).fit(Xm, Ym)
    assert clf.predict(Xm).shape == Ym.shape and clf.score(Xm, Ym) > 0.5
    counts = np.random.RandomState(0).poisson(np.exp(X[:, 0] / 2))
    reg = RegularizedNetRegressor(**FAST, loss="poisson").fit(X, counts)
    assert (reg.predict(X) > 0).all() and reg.out_activation_ == "exp"
    dense = RegularizedNetClassifier(**FAST).fit(X, Y)
    sparse = RegularizedNetClassifier(**FAST).fit(sp.csr_matrix(X), Y)
    np.testing.assert_allclose(
        sparse.predict_proba(X), dense.predict_proba(X), atol=1e-5
    )


def test_float32_and_a_convnet_train():
    clf = RegularizedNetClassifier(**FAST, dtype="float32").fit(X, Y)
    assert clf.score(X, Y) > 0.8
    images = np.random.RandomState(0).rand(40, 16)
    labels = (images[:, :8].sum(1) > images[:, 8:].sum(1)).astype(int)
    cnn = RegularizedNetClassifier(
        module="cnn", input_shape=(1, 4, 4), optimizer="lbfgs", max_iter=30
    ).fit(images, labels)
    assert cnn.score(images, labels) > 0.8


def test_restored_model_predicts_and_continues(tmp_path):
    clf = RegularizedNetClassifier(**FAST).fit(X, Y)
    sk_reg.save(clf, tmp_path / "m.safetensors")
    for restored in (
        sk_reg.load(tmp_path / "m.safetensors"),
        pickle.loads(pickle.dumps(clf)),
    ):
        np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    # A warm start continues from the fitted weights: the objective goes on
    # falling from where it was.
    clf.set_params(warm_start=True, max_iter=5)
    before = clf.loss_
    clf.fit(X, Y)
    assert clf.loss_ <= before
    assert len(clf.loss_curve_) == clf.n_iter_


def test_verbose_prints_each_iteration(capsys):
    RegularizedNetClassifier(**{**FAST, "max_iter": 3}, verbose=1).fit(X, Y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 3, loss = " in out
