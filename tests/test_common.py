"""scikit-learn's estimator checks, with no expected failures for the defaults."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_reg import (
    RegularizedNetClassifier,
    RegularizedNetClassifierCV,
    RegularizedNetRegressor,
    RegularizedNetRegressorCV,
)
from sk_reg.modules import ConvNet

_FAST = dict(hidden_layer_sizes=(16,), max_iter=40, learning_rate_init=1e-2)
_ALL_ON = dict(
    l1=1e-4,
    l2=1e-3,
    dropout=0.1,
    augment="noise",
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=5,
)
# A ConvNet on flat input: the checks use 1 to 20 features, so each row is a
# one-pixel-high image whose width is inferred (-1).
# Its learning rate decays (learning_rate="auto" is a cosine for a ConvNet):
# 60 epochs reach the R^2 > 0.5 check_regressors_train asks, 40 do not.
_CNN = dict(
    module=ConvNet(channels=(4,), hidden=8),
    input_shape=(1, 1, -1),
    max_iter=60,
    learning_rate_init=1e-2,
)
_BATCH_NORM_REASON = (
    "batch normalisation (on in ConvNet) normalises with statistics over the rows "
    "of a batch, which count a repeated row twice and a weighted row once"
)
_WEIGHT_REASON = (
    "dropout masks, noise draws and the validation split depend on the number of "
    "rows, so weighted rows and repeated rows cannot give identical fits"
)


# Two small candidates, one rung: the search path at a tiny cost. The
# regressor needs 40 epochs to reach the R^2 > 0.5 check_regressors_train asks.
_TINY_SPACE = [
    {"hidden_layer_sizes": (16,), "learning_rate_init": 1e-2},
    {"hidden_layer_sizes": (16,), "learning_rate_init": 1e-2, "l2": 1e-1},
]
_SEARCH_REASON = (
    "the search holds out a random share of the rows, so repeated rows and "
    "weighted rows give different hold-out splits and different choices"
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, (RegularizedNetClassifierCV, RegularizedNetRegressorCV)):
        return {
            "check_sample_weight_equivalence_on_dense_data": _SEARCH_REASON,
            "check_sample_weight_equivalence_on_sparse_data": _SEARCH_REASON,
        }
    if isinstance(estimator.module, ConvNet) and estimator.module.batch_norm:
        return {
            "check_sample_weight_equivalence_on_dense_data": _BATCH_NORM_REASON,
            "check_sample_weight_equivalence_on_sparse_data": _BATCH_NORM_REASON,
        }
    if estimator.dropout > 0 or estimator.augment or estimator.early_stopping:
        return {
            "check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON,
            "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_REASON,
        }
    return {}


@parametrize_with_checks(
    [
        RegularizedNetClassifier(),
        RegularizedNetRegressor(),
        RegularizedNetClassifier(**_FAST, **_ALL_ON, label_smoothing=0.1),
        RegularizedNetRegressor(**_FAST, **_ALL_ON),
        # Full-batch L-BFGS (with the penalties it takes): weighted and repeated
        # rows give the same objective up to the order of float sums, and the
        # same fit where the problem is well conditioned (the regressor's 16
        # units on 15 rows need the L2 term: without it hundreds of iterations
        # in flat directions grow rounding to 0.03-0.07 in the predictions).
        RegularizedNetClassifier(
            (16,), optimizer="lbfgs", max_iter=50, label_smoothing=0.1
        ),
        RegularizedNetRegressor((16,), optimizer="lbfgs", max_iter=50, l2=1.0),
        RegularizedNetClassifier(**_CNN),
        RegularizedNetRegressor(**_CNN),
        RegularizedNetClassifierCV(_TINY_SPACE, min_iter=10, max_iter=20),
        # The classifier's ensemble path (the regressor's default is 2).
        RegularizedNetClassifierCV(_TINY_SPACE, min_iter=10, max_iter=20, n_ensemble=2),
        RegularizedNetRegressorCV(_TINY_SPACE, min_iter=40, max_iter=80),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
