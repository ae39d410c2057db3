"""The estimators' shared machinery: parameters, data, prediction and
persistence hooks; with :mod:`sk_reg._building` (the net) and
:mod:`sk_reg._training` (the fit loop) the base of both estimators."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from ._activations import ACTIVATIONS
from ._building import _OPTIMIZERS, _NetBuilding
from ._compat import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    check_sample_weight,
)
from ._images import check_input_shape_param, images_as_rows, resolve_input_shape
from ._sparse import scipy_to_csr_tensor
from ._state import (
    fitted_state,
    set_fitted_state,
)
from ._training import _Training
from .augment import BaseAugmentation, _resolve_augment
from .modules import (
    _check_hidden_layer_sizes,
    _check_module_param,
    first_linear_weight,
    is_convnet,
)
from .penalties import prox_step_rule

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}

# Formats kept as they are by validation (others become CSR); training uses CSR.
_SPARSE_FORMATS = ["csr", "csc", "coo"]


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        kind = None
    if kind not in ("cpu", "cuda"):
        raise InvalidParameterError(
            f"The 'device' parameter must be 'cpu', 'cuda', 'cuda:N' or 'auto'; "
            f"got {device!r}."
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine. Use device='cpu', or device='auto' to fall back to the CPU."
        )
    return device


_RESERVED_CALLBACK_NAMES = {"stopping", "epoch_timer", "progress_bar", "epoch_logger"}


def _check_callbacks(callbacks):
    """skorch callbacks (instances or classes), optionally as (name, cb) pairs."""
    from skorch.callbacks import Callback

    names = []
    for item in callbacks or []:
        cb = item
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            names.append(item[0])
            cb = item[1]
        is_callback = isinstance(cb, Callback) or (
            isinstance(cb, type) and issubclass(cb, Callback)
        )
        if not is_callback:
            raise InvalidParameterError(
                "The 'callbacks' parameter must be a list of skorch callbacks or "
                f"(name, callback) tuples; got {item!r}."
            )
    clashes = _RESERVED_CALLBACK_NAMES & set(names)
    if clashes or len(set(names)) != len(names):
        raise InvalidParameterError(
            f"The 'callbacks' parameter has duplicate or reserved names {names!r}; "
            f"{sorted(_RESERVED_CALLBACK_NAMES)} are used by the estimator."
        )


class _BaseRegularizedNet(_NetBuilding, _Training, BaseEstimator):
    """Shared fit/predict machinery; not for direct use."""

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "l1": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "feature_l1": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "augment": [None, str, list, BaseAugmentation],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "scoring": [None, StrOptions({"loss"}), str, callable],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "shuffle": ["boolean"],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [
            StrOptions({"auto", "constant", "cosine", "invscaling", "adaptive"})
        ],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "optimizer_kwargs": [dict, None],
        "warm_start": ["boolean"],
        "device": [str],
        "dtype": [StrOptions({"float32", "float64"}), None],
        "module": [None, StrOptions({"cnn"}), HasMethods(["build"]), type, callable],
        "input_shape": [None, tuple, list],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    #: Whether targets must be numeric (regression).
    _y_numeric = False
    #: Parameters added after models were first saved, with the value that
    #: reproduces those (sk_reg._state.with_added_params): the constant rate
    #: they trained with.
    _added_params = {"learning_rate": "constant", "power_t": 0.5, "max_fun": 15000}

    # -- parameter handling ----------------------------------------------
    def _validated_settings(self):
        """Check what ``_parameter_constraints`` cannot; return the resolved
        augmentation and device. Runs before any data is touched."""
        _check_hidden_layer_sizes(self.hidden_layer_sizes)
        if isinstance(self.optimizer, type) and not issubclass(
            self.optimizer, torch.optim.Optimizer
        ):
            raise InvalidParameterError(
                "The 'optimizer' parameter must be 'adam', 'sgd', 'adamw' or a "
                f"torch.optim.Optimizer subclass; got {self.optimizer!r}."
            )
        if self.module not in (None, "cnn"):
            _check_module_param(self.module)
        self._check_lbfgs()
        self._check_optimizer_kwargs()
        self._check_prox_optimizer()
        _check_callbacks(self.callbacks)
        if self.learning_rate not in ("auto", "constant") and (
            self._schedules_in_callbacks()
        ):
            raise InvalidParameterError(
                f"The 'learning_rate' parameter is {self.learning_rate!r} but the "
                "callbacks hold a skorch LRScheduler too; both would set the "
                "learning rate. Use learning_rate='constant' (or 'auto') with your "
                "own scheduler."
            )
        self._check_task_params()
        check_input_shape_param(self.input_shape)
        self._check_scoring()
        return self._checked_augment(), _resolve_device(self.device)

    def _check_task_params(self):
        """Checks of the parameters only a classifier or a regressor has."""

    def _checked_augment(self):
        try:
            return _resolve_augment(self.augment)
        except (TypeError, ValueError) as exc:
            if "'augment'" in str(exc):
                raise
            # Errors of nested augmentation objects name their own parameter.
            raise InvalidParameterError(
                f"The 'augment' parameter is invalid: {exc}"
            ) from exc

    def _check_scoring(self):
        if self.scoring in (None, "loss"):
            return
        from sklearn.metrics import check_scoring

        try:
            check_scoring(self, self.scoring)
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'scoring' parameter is invalid: {exc}"
            ) from exc

    def _optimizer_spec(self):
        """The optimizer class and its keyword arguments (defaults, then the user's)."""
        if isinstance(self.optimizer, str):
            opt_cls, defaults = _OPTIMIZERS[self.optimizer]
        else:
            opt_cls, defaults = self.optimizer, {}
        kwargs = {**defaults, **(self.optimizer_kwargs or {})}
        if (
            self.optimizer == "sgd"
            and kwargs.get("momentum") == 0
            and "nesterov" not in (self.optimizer_kwargs or {})
        ):
            # Plain SGD: Nesterov needs momentum, so our default drops out.
            kwargs["nesterov"] = False
        return opt_cls, kwargs

    def _check_lbfgs(self):
        """What full-batch L-BFGS cannot train with, named."""
        if self.optimizer != "lbfgs":
            return
        conflicts = {
            "l1": self.l1 > 0,
            "feature_l1": self.feature_l1 > 0,
            "dropout": self.dropout > 0,
            "augment": self.augment is not None,
            "early_stopping": bool(self.early_stopping),
            "optimizer_kwargs": bool(self.optimizer_kwargs),
        }
        named = [name for name, conflict in conflicts.items() if conflict]
        if named:
            raise InvalidParameterError(
                f"optimizer='lbfgs' cannot be combined with {', '.join(named)}: "
                "L-BFGS takes deterministic full-batch steps with a line search "
                "(no random masks or transforms, no proximal L1 steps, no "
                "hold-out; its settings are max_iter, max_fun and tol). Use "
                "optimizer='adam' or 'sgd' for these, or drop them."
            )

    def _check_prox_optimizer(self):
        """l1/feature_l1 need the optimizer's proximal step-size rule."""
        if self.l1 <= 0 and self.feature_l1 <= 0:
            return
        try:
            prox_step_rule(self._optimizer_spec()[0])
        except ValueError as exc:
            raise InvalidParameterError(
                f"The 'optimizer' parameter cannot be combined with l1={self.l1!r}, "
                f"feature_l1={self.feature_l1!r}: {exc}"
            ) from None

    def _check_optimizer_kwargs(self):
        """Build the optimizer once on a dummy tensor: bad keys or values of
        ``optimizer_kwargs`` fail here, before any data is touched."""
        kwargs = self.optimizer_kwargs or {}
        reserved = {"params", "lr"} & set(kwargs)
        if reserved:
            raise InvalidParameterError(
                f"The 'optimizer_kwargs' parameter must not set {sorted(reserved)}; "
                "the learning rate is 'learning_rate_init'."
            )
        opt_cls, opt_kwargs = self._optimizer_spec()
        try:
            opt_cls(
                [torch.zeros(1, requires_grad=True)],
                lr=self.learning_rate_init,
                **opt_kwargs,
            )
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InvalidParameterError(
                f"The 'optimizer_kwargs' parameter {kwargs!r} is invalid for "
                f"{opt_cls.__name__}: {exc}"
            ) from exc

    # -- data handling ------------------------------------------------------
    def _validate_X_y(self, X, y, reset):
        # Images (n, C, H, W) become rows of C*H*W features before scikit-learn
        # sees them; the module and the augmentations view rows as images.
        X, shape = images_as_rows(
            X, self.input_shape if reset else self._input_shape, infer=reset
        )
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=(np.float64, np.float32),
            accept_sparse=_SPARSE_FORMATS,
            multi_output=True,
            y_numeric=self._y_numeric,
        )
        if sp.issparse(X):
            self._check_sparse_supported(shape if reset else self._input_shape)
        if reset:
            self._input_shape = resolve_input_shape(shape, X.shape[1])
        return X, y

    def _images_expected(self, input_shape):
        """Whether the model reads rows as images (so sparse X cannot work)."""
        return input_shape is not None or is_convnet(self.module)

    def _check_sparse_supported(self, input_shape):
        if not self._images_expected(input_shape):
            return
        what = (
            f"input_shape={tuple(input_shape)!r}"
            if input_shape is not None
            else f"module={self.module!r}"
        )
        raise ValueError(
            f"Sparse X cannot be used as images ({what}): image modules and "
            "augmentations need dense pixels. Pass a dense array (X.toarray()) "
            "or fit a tabular model (no input_shape)."
        )

    def _compute_dtype(self, X):
        if self.dtype is not None:
            return getattr(torch, self.dtype)
        return torch.float32 if X.dtype == np.float32 else torch.float64

    @staticmethod
    def _to_tensor(X, dtype, device):
        # Sparse X: only its stored values are checked and converted.
        values = X.data if sp.issparse(X) else X
        if dtype == torch.float32 and values.dtype == np.float64 and values.size:
            # Beyond float32's range the cast gives inf, and inf gives nan.
            # max/min rather than np.abs(X).max(): no temporary the size of X.
            largest = max(values.max(), -values.min())
            if largest > np.finfo(np.float32).max:
                raise ValueError(
                    f"Input contains values too large for float32 (largest "
                    f"magnitude {largest:.3g}), the compute dtype of this model. "
                    "Rescale the data or use dtype='float64'."
                )
        if sp.issparse(X):
            return scipy_to_csr_tensor(X, _NUMPY_DTYPES[dtype], device)
        X = np.ascontiguousarray(X, dtype=_NUMPY_DTYPES[dtype])
        if not X.flags.writeable:
            # torch refuses to wrap read-only memory (memmaps, shared arrays)
            # without a warning; nothing writes to it, so a copy is avoided
            # only when allowed.
            X = X.copy()
        return torch.from_numpy(X).to(device)

    def _sample_weight(self, sample_weight, X, y_enc):
        """Combined sample and class weights, or None when all are one."""
        if sample_weight is not None:
            sample_weight = check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
            if not np.any(sample_weight > 0):
                raise ValueError(
                    "sample_weight must contain at least one positive value."
                )
        cw = self._class_sample_weight(y_enc)
        if cw is not None:
            sample_weight = cw if sample_weight is None else sample_weight * cw
        return sample_weight

    def _class_sample_weight(self, y_enc):
        """Per-row weights from the classes (classifier only)."""
        return None

    # -- prediction --------------------------------------------------------
    def _forward(self, X):
        check_is_fitted(self)
        X, _ = images_as_rows(X, self._input_shape, infer=False)
        X = validate_data(
            self,
            X,
            reset=False,
            dtype=(np.float64, np.float32),
            accept_sparse=_SPARSE_FORMATS,
        )
        if sp.issparse(X):
            self._check_sparse_supported(self._input_shape)
        return self.net_.predict_raw(self._to_tensor(X, self._dtype, self._device))

    @property
    def feature_importances_(self):
        """Mean absolute first-layer weight per input column, summing to one."""
        check_is_fitted(self)
        weight = first_linear_weight(self.net_.module_, self.n_features_in_)
        if weight is None:
            raise AttributeError(
                "feature_importances_ needs a torch.nn.Linear layer reading all "
                f"{self.n_features_in_} input columns; the module has none."
            )
        importance = weight.detach().abs().mean(dim=0).double().cpu().numpy()
        total = importance.sum()
        return importance / total if total > 0 else importance

    # -- persistence (one torch-free state; see _state.py) --------------------
    def __getstate__(self):
        return fitted_state(self)

    def __setstate__(self, state):
        set_fitted_state(self, state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = not self._images_expected(self.input_shape)
        tags.input_tags.allow_nan = False
        return tags
