"""scikit-learn's estimator checks, with no expected failures for the defaults."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_reg import RegularizedNetClassifier, RegularizedNetRegressor
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
_CNN = dict(
    module=ConvNet(channels=(4,), hidden=8),
    input_shape=(1, 1, -1),
    max_iter=40,
    learning_rate_init=1e-2,
)
_WEIGHT_REASON = (
    "dropout masks, noise draws and the validation split depend on the number of "
    "rows, so weighted rows and repeated rows cannot give identical fits"
)


def _expected_failed_checks(estimator):
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
        RegularizedNetClassifier(**_CNN),
        RegularizedNetRegressor(**_CNN),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
