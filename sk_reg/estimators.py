"""scikit-learn estimators that train regularized torch networks with skorch."""

from __future__ import annotations

import functools
import types
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ._base import _BaseRegularizedNet
from ._compat import (
    Interval,
    InvalidParameterError,
    StrOptions,
    fit_context,
)
from ._docstrings import _fill_doc
from ._losses import (
    HalfPoissonDeviance,
    HalfSquaredError,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from ._state import (
    CLASS_DTYPE_KINDS,
    INVALID,
    field,
    storable,
)

__all__ = ["RegularizedNetClassifier", "RegularizedNetRegressor"]


def _same_labels(a, b):
    """Whether two label arrays are equal (labels of any types: no elementwise
    comparison of strings with numbers, which numpy < 1.25 warns about)."""
    return len(a) == len(b) and np.asarray(a).tolist() == np.asarray(b).tolist()


def _class_index(classes):
    """Label -> output position, for encoding targets (derived from classes_)."""
    return {c: i for i, c in enumerate(classes.tolist())}


class _PartialFitUnsupported(AttributeError, ValueError):
    """``partial_fit`` does not exist with ``early_stopping=True`` or
    ``optimizer="lbfgs"``.

    An ``AttributeError`` (so ``hasattr(est, "partial_fit")`` is False, as for
    MLPClassifier's lbfgs solver, and scikit-learn's checks skip it) that is
    also the ``ValueError`` MLPClassifier raises with early stopping.
    """


class _StochasticOnly:
    """Method decorator: the method exists only for minibatch training, while
    ``early_stopping`` is False and the optimizer is not ``"lbfgs"``.

    Like scikit-learn's ``available_if``, but the error raised on access is
    :class:`_PartialFitUnsupported`, which names the reason.
    """

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.method
        # Only a valid True: an invalid value is reported by the parameter
        # validation of the call itself.
        if isinstance(obj.early_stopping, (bool, np.bool_)) and obj.early_stopping:
            raise _PartialFitUnsupported(
                "partial_fit does not support early_stopping=True: each call trains "
                "one epoch on the whole chunk and holds nothing out. Set "
                "early_stopping=False."
            )
        if isinstance(obj.optimizer, str) and obj.optimizer == "lbfgs":
            raise _PartialFitUnsupported(
                "partial_fit is not available with optimizer='lbfgs': L-BFGS "
                "trains on all the rows at once (as MLP's lbfgs solver, which has "
                "no partial_fit either). Use optimizer='adam' or 'sgd'."
            )
        return types.MethodType(self.method, obj)


@_fill_doc(
    stratified=" (stratified by class unless impossible or multilabel)",
    score_name="accuracy; subset accuracy for multilabel targets",
    kind="Classifier",
    and_classes=" and classes",
    loss="cross-entropy (with ``label_smoothing``; for multilabel targets the "
    "binary cross-entropy summed over the labels)",
    n_outputs="the number of classes, also 2 for binary problems, or of labels",
    out_activations='``"softmax"``, or ``"logistic"`` for multilabel targets',
)
@storable("estimator")
class RegularizedNetClassifier(ClassifierMixin, _BaseRegularizedNet):
    """Neural network classifier with L1, L2, dropout, label smoothing, augmentation
    and early stopping, trained with PyTorch through skorch.

    A drop-in replacement for :class:`~sklearn.neural_network.MLPClassifier`
    (same parameter names where the meaning matches) that passes scikit-learn's
    estimator checks, accepts pandas input and string labels, and regularizes
    like a modern deep-learning stack.

    Parameters
    ----------
    %(hidden_layer_sizes)s

    %(activation)s

    %(l1)s

    %(l2)s

    %(feature_l1)s

    %(dropout)s

    label_smoothing : float, default=0.0
        Mixes each one-hot target with the uniform distribution:
        ``(1 - label_smoothing) * onehot + label_smoothing / n_classes``
        (:class:`torch.nn.CrossEntropyLoss` semantics). Composes with the
        soft targets of ``augment="mixup"``. Must be in ``[0, 1)``.

    %(augment)s

    %(early_stopping)s

    %(scoring)s

    %(validation_fraction)s

    %(n_iter_no_change)s

    %(tol)s

    %(max_iter)s
    %(max_fun)s

    %(batch_size)s

    %(shuffle)s

    %(learning_rate_init)s

    %(learning_rate)s

    %(power_t)s

    %(optimizer)s

    %(optimizer_kwargs)s

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``:
        ``{label: weight}``, or ``"balanced"`` for
        ``n_samples / (n_classes * np.bincount(y))``.

    %(warm_start)s

    %(device)s

    %(dtype)s

    %(module)s

    %(input_shape)s

    %(callbacks)s

    %(random_state)s

    %(verbose)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    %(attrs)s

    See Also
    --------
    RegularizedNetRegressor : The regressor counterpart.
    sklearn.neural_network.MLPClassifier : scikit-learn's numpy MLP.

    Notes
    -----
    %(objective)s

    %(faults)s

    Training data are converted once per fit to a tensor of the compute dtype on
    the training device and iterated in slices; nothing is processed row by row.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from sk_reg import RegularizedNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = RegularizedNetClassifier((32,), l2=1e-3, dropout=0.1, max_iter=300,
    ...                                learning_rate_init=1e-2, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    >>> clf.predict_proba(X_test[:1]).shape
    (1, 3)
    """

    _parameter_constraints = {
        **_BaseRegularizedNet._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        l1=0.0,
        l2=1e-4,
        feature_l1=0.0,
        dropout=0.0,
        label_smoothing=0.0,
        augment=None,
        early_stopping=False,
        scoring=None,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        max_iter=200,
        max_fun=15000,
        batch_size="auto",
        shuffle=True,
        learning_rate_init=1e-3,
        learning_rate="auto",
        power_t=0.5,
        optimizer="adam",
        optimizer_kwargs=None,
        class_weight=None,
        warm_start=False,
        device="cpu",
        dtype=None,
        module=None,
        input_shape=None,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.l1 = l1
        self.l2 = l2
        self.feature_l1 = feature_l1
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.augment = augment
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.device = device
        self.dtype = dtype
        self.module = module
        self.input_shape = input_shape
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    def _set_and_encode_targets(self, y, first_call, classes=None):
        """Set ``classes_`` on the first call; return encoded targets and width."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target_type = type_of_target(y)
        if target_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                "RegularizedNetClassifier supports binary, multiclass and multilabel "
                f"(0/1 indicator matrix) targets; got {target_type!r}."
            )
        multilabel = target_type == "multilabel-indicator"
        if not first_call and multilabel != self._multilabel:
            raise ValueError(
                "y is {} but the model was fitted on {} targets; partial_fit cannot "
                "switch between multilabel and single-label classification.".format(
                    *(
                        ("multilabel", "single-label")
                        if multilabel
                        else ("single-label", "multilabel")
                    )
                )
            )
        if multilabel:
            return self._encode_multilabel(y, first_call, classes)
        if first_call:
            self._set_classes(np.unique(y) if classes is None else np.unique(classes))
            self._multilabel = False
        elif classes is not None and not _same_labels(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(classes).tolist()!r} is not the same as in the "
                f"first call to partial_fit ({self.classes_.tolist()!r})."
            )
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if len(unseen):
            raise ValueError(
                f"y contains labels not seen in the first call (classes_): "
                f"{unseen.tolist()!r}."
            )
        return np.searchsorted(self.classes_, y), len(self.classes_)

    def _set_classes(self, labels):
        # One class: as MLPClassifier, fit and predict it. The net has one
        # output, whose softmax is 1 (nothing to learn, a zero loss).
        if (
            self.warm_start
            and hasattr(self, "net_")
            and not _same_labels(labels, self.classes_)
        ):
            raise ValueError(
                "warm_start can only be used where y has the same classes as "
                f"in the previous call to fit: {self.classes_.tolist()!r} then, "
                f"{labels.tolist()!r} now."
            )
        self.classes_ = labels
        self._class_index = _class_index(labels)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self._class_index)
            if unknown:
                raise ValueError(
                    "class_weight has labels that are not classes: "
                    f"{sorted(unknown)!r}."
                )

    def _check_restored_targets(self, attrs, n_outputs):
        """``classes_`` of an untrusted state against the net's outputs
        (``sk_reg._state.set_fitted_state(..., strict=True)``)."""
        classes = attrs.get("classes_")
        if (
            not isinstance(classes, np.ndarray)
            or classes.ndim != 1
            or (classes.dtype.kind not in CLASS_DTYPE_KINDS)
        ):
            raise ValueError(f"{INVALID}: classes_ values.")
        if (
            len(classes) < 1
            or len(classes) != n_outputs
            or len(np.unique(classes)) != len(classes)
        ):
            raise ValueError(
                f"{INVALID}: classes_ must hold n_outputs distinct labels."
            )
        attrs["_class_index"] = _class_index(classes)  # derived, never read

    def _encode_multilabel(self, y, first_call, classes):
        """A 0/1 indicator matrix: one sigmoid output per label."""
        y = y.toarray() if hasattr(y, "toarray") else np.asarray(y)
        if not np.isin(y, (0, 1)).all():
            raise ValueError(
                "A 2-D y is read as a multilabel indicator matrix and must hold only "
                f"0 and 1; got the values {np.unique(y)[:10].tolist()!r}."
            )
        if self.class_weight is not None:
            raise ValueError(
                "class_weight is not supported for multilabel targets; use "
                "sample_weight to weight rows."
            )
        labels = np.arange(y.shape[1])
        if first_call:
            self.classes_ = labels
            self._multilabel = True
        elif y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} labels but the model was fitted with "
                f"{len(self.classes_)}."
            )
        if classes is not None and not _same_labels(np.unique(classes), labels):
            raise ValueError(
                "For multilabel y, classes must be np.arange(n_labels) = "
                f"{labels.tolist()!r}; got {np.unique(classes).tolist()!r}."
            )
        return y, y.shape[1]

    def _check_task_params(self):
        if isinstance(self.class_weight, dict) and not all(
            isinstance(weight, Real) and np.isfinite(weight) and weight >= 0
            for weight in self.class_weight.values()
        ):
            raise InvalidParameterError(
                "The 'class_weight' parameter must map labels to finite "
                f"non-negative numbers; got {self.class_weight!r}."
            )

    def _class_sample_weight(self, y_enc):
        if self.class_weight is None:
            return None
        return compute_sample_weight(
            {self._class_index[k]: v for k, v in self.class_weight.items()}
            if isinstance(self.class_weight, dict)
            else self.class_weight,
            y_enc,
        )

    def _loss_class(self):
        return SigmoidBinaryCrossEntropy if self._multilabel else SoftmaxCrossEntropy

    def _loss_kwargs(self):
        return {"label_smoothing": float(self.label_smoothing)}

    def _decode_y(self, y_enc):
        return self._loss_class().decode(y_enc, self.classes_)

    @fit_context
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the network to ``X``, ``y``.

        Parameters
        ----------
        %(fit_X)s

        y : array-like of shape (n_samples,)
            Class labels (numbers or strings).

        %(fit_sample_weight)s

        %(fit_X_val)s

        y_val : array-like of shape (n_val,), default=None
            Targets of ``X_val``; only classes seen in ``y``.

        %(fit_sample_weight_val)s

        Returns
        -------
        self : RegularizedNetClassifier
            The fitted estimator.

        Examples
        --------
        >>> from sk_reg import RegularizedNetClassifier
        >>> clf = RegularizedNetClassifier((4,), max_iter=5, random_state=0)
        >>> clf.fit([[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "b"]).classes_
        array(['a', 'b'], dtype='<U1')
        """
        validation = self._validation_arguments(
            X_val, y_val, sample_weight_val, self.early_stopping
        )
        return self._fit(X, y, sample_weight, validation=validation)

    @_StochasticOnly
    @fit_context
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train exactly one epoch over ``X``, ``y``, continuing from the current state.

        The first call builds the network (``classes`` is then required); later
        calls keep the weights, the optimizer state and the hyperparameters of
        the first call. ``early_stopping=True`` is not supported.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data.

        y : array-like of shape (n_samples,)
            Its labels.

        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the loss.

        Returns
        -------
        self : RegularizedNetClassifier
            The updated estimator.

        Examples
        --------
        >>> from sk_reg import RegularizedNetClassifier
        >>> clf = RegularizedNetClassifier((4,), random_state=0)
        >>> clf = clf.partial_fit([[0.0], [1.0]], [0, 1], classes=[0, 1, 2])
        >>> clf.n_iter_, clf.classes_.tolist()
        (1, [0, 1, 2])
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: class "
                "frequencies of one chunk are not those of the stream. Pass a dict."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` order.

        Examples
        --------
        >>> from sk_reg import RegularizedNetClassifier
        >>> clf = RegularizedNetClassifier((4,), max_iter=5, random_state=0)
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
        >>> proba = clf.fit(X, y).predict_proba([[1.5]])
        >>> proba.shape, round(float(proba.sum()), 6)
        ((1, 2), 1.0)
        """
        raw = self._forward(X)  # checks that the model is fitted
        return self._loss_class().proba(raw).cpu().numpy()

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class in ``classes_`` order.

        Examples
        --------
        >>> from sk_reg import RegularizedNetClassifier
        >>> clf = RegularizedNetClassifier((4,), max_iter=5, random_state=0)
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
        >>> clf.fit(X, y).predict_log_proba([[1.5]]).shape
        (1, 2)
        """
        raw = self._forward(X)
        return self._loss_class().log_proba(raw).cpu().numpy()

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.

        Examples
        --------
        >>> from sk_reg import RegularizedNetClassifier
        >>> clf = RegularizedNetClassifier((8,), max_iter=50, learning_rate_init=0.05,
        ...                                random_state=0)
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], ["lo", "lo", "hi", "hi"]
        >>> clf.fit(X, y).predict([[3.0]])
        array(['hi'], dtype='<U2')
        """
        raw = self._forward(X)
        return self._decode_y(self._loss_class().predict(raw).cpu().numpy())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


@_fill_doc(
    stratified="",
    score_name="R^2",
    kind="Regressor",
    and_classes=" and outputs",
    loss="half squared error (or half Poisson deviance) averaged over the outputs",
    n_outputs="the number of targets",
    out_activations='``"identity"``, or ``"exp"`` with ``loss="poisson"``',
)
@storable("estimator")
class RegularizedNetRegressor(RegressorMixin, _BaseRegularizedNet):
    """Neural network regressor with L1, L2, dropout, augmentation and early
    stopping, trained with PyTorch through skorch.

    A drop-in replacement for :class:`~sklearn.neural_network.MLPRegressor`
    (same parameter names where the meaning matches) supporting single and
    multiple outputs.

    Parameters
    ----------
    %(hidden_layer_sizes)s

    %(activation)s

    loss : {"squared_error", "poisson"}, default="squared_error"
        The loss: half the squared error, or half the Poisson deviance with a
        log link (the network's output is the log of the prediction, so
        predictions are always positive; targets must be non-negative), as in
        :class:`~sklearn.neural_network.MLPRegressor`.

    normalize_y : bool, default=False
        Whether to standardise the targets inside ``fit`` (subtract the mean
        of each output, divide by its standard deviation; a constant output is
        only centred) and undo it in :meth:`predict`, as
        :class:`~sklearn.gaussian_process.GaussianProcessRegressor` does.
        Training, ``loss_curve_``, ``l2`` and the validation loss then work on
        the standardised scale, so the same hyperparameters suit targets of any
        scale. ``partial_fit`` keeps the statistics of its first call. Not
        applicable with ``loss="poisson"`` (an ``InvalidParameterError``):
        Poisson targets are counts and the log link needs them unshifted.

    %(l1)s

    %(l2)s

    %(feature_l1)s

    %(dropout)s

    %(augment)s

    %(early_stopping)s

    %(scoring)s

    %(validation_fraction)s

    %(n_iter_no_change)s

    %(tol)s

    %(max_iter)s
    %(max_fun)s

    %(batch_size)s

    %(shuffle)s

    %(learning_rate_init)s

    %(learning_rate)s

    %(power_t)s

    %(optimizer)s

    %(optimizer_kwargs)s

    %(warm_start)s

    %(device)s

    %(dtype)s

    %(module)s

    %(input_shape)s

    %(callbacks)s

    %(random_state)s

    %(verbose)s

    Attributes
    ----------
    %(attrs)s

    See Also
    --------
    RegularizedNetClassifier : The classifier counterpart.
    sklearn.neural_network.MLPRegressor : scikit-learn's numpy MLP.

    Notes
    -----
    %(objective)s

    %(faults)s

    Targets are not rescaled by default (as in MLPRegressor): set
    ``normalize_y=True``, or standardise them with
    :class:`~sklearn.compose.TransformedTargetRegressor`, when their scale is
    far from one.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_reg import RegularizedNetRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    >>> reg = RegularizedNetRegressor((32,), l2=1e-3, max_iter=300,
    ...                               learning_rate_init=1e-2, random_state=0)
    >>> reg.fit(X, y / 100).score(X, y / 100) > 0.9
    True
    """

    _parameter_constraints = {
        **_BaseRegularizedNet._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
        "normalize_y": ["boolean"],
    }
    _y_numeric = True

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        loss="squared_error",
        normalize_y=False,
        l1=0.0,
        l2=1e-4,
        feature_l1=0.0,
        dropout=0.0,
        augment=None,
        early_stopping=False,
        scoring=None,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        max_iter=200,
        max_fun=15000,
        batch_size="auto",
        shuffle=True,
        learning_rate_init=1e-3,
        learning_rate="auto",
        power_t=0.5,
        optimizer="adam",
        optimizer_kwargs=None,
        warm_start=False,
        device="cpu",
        dtype=None,
        module=None,
        input_shape=None,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.normalize_y = normalize_y
        self.l1 = l1
        self.l2 = l2
        self.feature_l1 = feature_l1
        self.dropout = dropout
        self.augment = augment
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.warm_start = warm_start
        self.device = device
        self.dtype = dtype
        self.module = module
        self.input_shape = input_shape
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    def _set_and_encode_targets(self, y, first_call, classes=None):
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"RegularizedNetRegressor needs numeric targets; y has dtype {y.dtype}."
            )
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(
                "loss='poisson' needs non-negative targets (counts or rates); y has "
                f"a minimum of {y.min()!r}."
            )
        y2d = y.reshape(len(y), -1)
        if first_call:
            self._y_ndim = y.ndim
            self._y_shift, self._y_scale = self._target_scaling(y2d)
        elif y2d.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2d.shape[1]} outputs but the model was fitted with "
                f"{self.n_outputs_}."
            )
        if getattr(self, "_y_shift", None) is not None:
            y2d = (y2d - self._y_shift) / self._y_scale
        return y2d, y2d.shape[1]

    def _check_restored_targets(self, attrs, n_outputs):
        """``_y_ndim`` of an untrusted state against the net's outputs."""
        y_ndim = field(attrs, "_y_ndim", int, "fitted.")
        if y_ndim not in (1, 2) or (y_ndim == 1 and n_outputs != 1):
            raise ValueError(f"{INVALID}: y_ndim.")

    def _target_scaling(self, y2d):
        """``(mean, std)`` per output with ``normalize_y``, else ``(None, None)``."""
        if not self.normalize_y:
            return None, None
        if self.loss == "poisson":
            raise InvalidParameterError(
                "normalize_y=True is not applicable with loss='poisson': Poisson "
                "targets must stay non-negative counts. Set normalize_y=False."
            )
        scale = y2d.std(axis=0, dtype=np.float64)
        return y2d.mean(axis=0, dtype=np.float64), np.where(scale > 0, scale, 1.0)

    def _unscale(self, y2d):
        """Undo ``normalize_y`` on standardised 2-D predictions or targets."""
        shift = getattr(self, "_y_shift", None)
        if shift is None:
            return y2d
        return (y2d * self._y_scale + shift).astype(y2d.dtype, copy=False)

    def _loss_class(self):
        return HalfPoissonDeviance if self.loss == "poisson" else HalfSquaredError

    def _decode_y(self, y):
        y = self._unscale(y.reshape(len(y), -1))
        return y.ravel() if self._y_ndim == 1 else y

    @fit_context
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the network to ``X``, ``y``.

        Parameters
        ----------
        %(fit_X)s

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        %(fit_sample_weight)s

        %(fit_X_val)s

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``.

        %(fit_sample_weight_val)s

        Returns
        -------
        self : RegularizedNetRegressor
            The fitted estimator.

        Examples
        --------
        >>> from sk_reg import RegularizedNetRegressor
        >>> reg = RegularizedNetRegressor((4,), max_iter=5, random_state=0)
        >>> reg.fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]).n_features_in_
        1
        """
        validation = self._validation_arguments(
            X_val, y_val, sample_weight_val, self.early_stopping
        )
        return self._fit(X, y, sample_weight, validation=validation)

    @_StochasticOnly
    @fit_context
    def partial_fit(self, X, y, sample_weight=None):
        """Train exactly one epoch over ``X``, ``y``, continuing from the current state.

        The first call builds the network; later calls keep the weights, the
        optimizer state and the hyperparameters of the first call.
        ``early_stopping=True`` is not supported.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the loss.

        Returns
        -------
        self : RegularizedNetRegressor
            The updated estimator.

        Examples
        --------
        >>> from sk_reg import RegularizedNetRegressor
        >>> reg = RegularizedNetRegressor((4,), random_state=0)
        >>> reg.partial_fit([[0.0], [1.0]], [0.0, 1.0]).n_iter_
        1
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, 1-D when the model was fitted on a 1-D ``y``.

        Examples
        --------
        >>> from sk_reg import RegularizedNetRegressor
        >>> reg = RegularizedNetRegressor((4,), max_iter=5, random_state=0)
        >>> reg.fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]).predict([[1.0]]).shape
        (1,)
        """
        raw = self._forward(X)
        out = self._unscale(self.net_.criterion_.predict(raw).cpu().numpy())
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
