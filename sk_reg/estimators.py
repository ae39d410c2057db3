"""scikit-learn estimators that train regularized torch networks with skorch."""

from __future__ import annotations

import contextlib
import functools
import threading
import types
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from torch import nn

from ._compat import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    check_sample_weight,
    fit_context,
)
from ._docstrings import _fill_doc
from ._images import check_input_shape_param, images_as_rows, resolve_input_shape
from ._losses import (
    HalfPoissonDeviance,
    HalfSquaredError,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from ._net import (
    _FitInterrupted,
    _HoldoutSplit,
    _RegularizedNet,
    _StoppingRule,
    _TensorDataset,
)
from ._rng import seeded_global, training_generators
from ._sparse import csr_tensor_to_scipy, is_csr, scipy_to_csr_tensor
from ._state import (
    CLASS_DTYPE_KINDS,
    INVALID,
    field,
    fitted_state,
    set_fitted_state,
    storable,
)
from .augment import BaseAugmentation, _prepare_augment, _resolve_augment
from .callbacks import EpochLogger
from .modules import (
    _ACTIVATIONS,
    MLP,
    ConvNet,
    _check_hidden_layer_sizes,
    _check_module_param,
    _instantiate_module,
    first_linear_weight,
    is_convnet,
)
from .penalties import prox_step_rule

__all__ = ["RegularizedNetClassifier", "RegularizedNetRegressor"]

# Every optimizer here has a proximal step-size rule in
# sk_reg.penalties.PROX_STEP_RULES (l1 and feature_l1 need one).
_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
}


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}

# Formats kept as they are by validation (others become CSR); training uses CSR.
_SPARSE_FORMATS = ["csr", "csc", "coo"]


def _with_fused_step(opt_cls, opt_kwargs, device):
    """Ask Adam/AdamW for their fused kernel when the user chose no implementation.

    One fused kernel per step instead of a dozen tensor ops per parameter: the
    same update, cheaper (measured in benchmarks/README.md). CPU support
    arrived in torch 2.4.
    """
    device_type = torch.device(device).type
    if (
        opt_cls not in (torch.optim.Adam, torch.optim.AdamW)
        or {"fused", "foreach", "differentiable", "capturable"} & opt_kwargs.keys()
        or device_type not in ("cpu", "cuda")
        or (
            device_type == "cpu"
            and torch.torch_version.TorchVersion(torch.__version__) < "2.4"
        )
    ):
        return opt_kwargs
    return {**opt_kwargs, "fused": True}


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


_quiet_stops = threading.local()


@contextlib.contextmanager
def _quiet_stop_warnings(*reasons):
    """Fits in this thread skip their stop warnings of ``reasons`` in the block.

    ``reasons``: ``"max_iter"`` (the epochs ran out), ``"diverged"``. For
    callers that stop training early by design (a search's rungs, a path's
    steps). Not ``warnings.catch_warnings``: its filters are process-wide, so
    fits in other threads would lose them, or leave them installed for good.
    """
    previous = getattr(_quiet_stops, "reasons", frozenset())
    _quiet_stops.reasons = previous | frozenset(reasons)
    try:
        yield
    finally:
        _quiet_stops.reasons = previous


def _class_index(classes):
    """Label -> output position, for encoding targets (derived from classes_)."""
    return {c: i for i, c in enumerate(classes.tolist())}


def _draw_seed(random_state):
    """An int seed from ``random_state`` that never touches global RNG state."""
    if random_state is None:
        # Fresh OS entropy; check_random_state(None) would advance numpy's
        # global generator.
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class _PartialFitUnsupported(AttributeError, ValueError):
    """``partial_fit`` does not exist with ``early_stopping=True``.

    An ``AttributeError`` (so ``hasattr(est, "partial_fit")`` is False, as for
    MLPClassifier's lbfgs solver, and scikit-learn's checks skip it) that is
    also the ``ValueError`` MLPClassifier raises in this case.
    """


class _WithoutEarlyStopping:
    """Method decorator: the method exists only while ``early_stopping`` is False.

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
        return types.MethodType(self.method, obj)


class _BaseRegularizedNet(BaseEstimator):
    """Shared fit/predict machinery; not for direct use."""

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(_ACTIVATIONS))],
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
    _added_params = {"learning_rate": "constant", "power_t": 0.5}

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

    # -- building the net ----------------------------------------------------
    def _new_net(self, settings, device):
        """The net of this estimator: the one builder, used by ``fit`` and by
        every restore (pickle, :func:`sk_reg.load`, skops).

        Built from the hyperparameters, the fitted ``n_features_in_``,
        ``_input_shape``, ``_dtype`` and ``_seed``, and ``settings`` (the
        ``sk_reg._state.NET_SETTINGS``: ``n_outputs``, ``batch_size``,
        ``incremental``, ``early_stopping``, ``n_train``). The only place
        that knows skorch's argument names.
        """
        n_features, seed = self.n_features_in_, self._seed
        n_outputs, incremental = settings["n_outputs"], settings["incremental"]
        early_stopping = settings["early_stopping"]
        self._device = str(device)  # where this estimator's net lives
        augment = _prepare_augment(
            _resolve_augment(self.augment), n_features, self._input_shape
        )
        module = self._build_module(n_features, n_outputs, self._dtype, seed)
        schedule = self._lr_schedule(incremental)
        opt_cls, opt_kwargs = self._optimizer_spec()
        opt_kwargs = _with_fused_step(opt_cls, opt_kwargs, device)
        train_split = None
        if early_stopping:
            train_split = _HoldoutSplit(
                self.validation_fraction,
                stratify=self._stratify_split(),
                seed=seed % (2**31 - 1),
                n_train=settings["n_train"],
            )
        net = _RegularizedNet(
            module,
            criterion=self._loss_class(),
            **{f"criterion__{k}": v for k, v in self._loss_kwargs().items()},
            optimizer=opt_cls,
            lr=self.learning_rate_init,
            **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
            max_epochs=self.max_iter,
            batch_size=settings["batch_size"],
            train_split=train_split,
            callbacks=self._build_callbacks(early_stopping, incremental, schedule),
            device=device,
            verbose=int(self.verbose),
            l1=float(self.l1),
            l2=float(self.l2),
            feature_l1=float(self.feature_l1),
            n_features=n_features,
            augment=augment,
            score_validation=self.scoring is None,
            n_outputs=n_outputs,
            shuffle_seed=seed if self.shuffle else None,
            incremental=incremental,
            lr_schedule=schedule,
            power_t=self.power_t,
        )
        return net.initialize()

    def _lr_schedule(self, incremental):
        """The schedule ``learning_rate`` names for this call (see its doc)."""
        if incremental:  # partial_fit: invscaling goes on, the others are flat
            return "invscaling" if self.learning_rate == "invscaling" else "constant"
        if self.learning_rate != "auto":
            return self.learning_rate
        cosine = is_convnet(self.module) and not self._schedules_in_callbacks()
        return "cosine" if cosine else "constant"

    def _batch_size(self):
        if self.batch_size != "auto":
            return self.batch_size
        return 64 if is_convnet(self.module) else 200

    def _schedules_in_callbacks(self):
        """Whether a skorch ``LRScheduler`` is among the user's callbacks."""
        from skorch.callbacks import LRScheduler

        for cb in self.callbacks or []:
            cb = cb[1] if isinstance(cb, tuple) else cb
            cls = cb if isinstance(cb, type) else type(cb)
            if issubclass(cls, LRScheduler):
                return True
        return False

    def _build_module(self, n_features, n_outputs, dtype, seed):
        if self.module is None:
            builder = MLP(self.hidden_layer_sizes, self.activation)
        elif isinstance(self.module, str):  # "cnn"
            builder = ConvNet()
        else:
            builder = self.module
        image = {} if self._input_shape is None else {"input_shape": self._input_shape}
        with seeded_global(seed):
            module = _instantiate_module(
                builder, n_features, n_outputs, dropout=float(self.dropout), **image
            ).to(dtype=dtype)
        self._check_module_output(module, n_features, n_outputs, dtype)
        if self.feature_l1 > 0 and first_linear_weight(module, n_features) is None:
            raise InvalidParameterError(
                "The 'feature_l1' parameter needs a torch.nn.Linear layer reading "
                f"all {n_features} input columns before any convolution; the "
                f"module {type(module).__name__} has none. Use feature_l1=0."
            )
        return module

    def _build_callbacks(self, early_stopping, incremental, schedule):
        from skorch.callbacks import ProgressBar

        callbacks = []
        if not incremental:
            # The cosine decay sets the length of training: no plateau rule.
            patience = (
                np.inf
                if schedule == "cosine" and not early_stopping
                else self.n_iter_no_change
            )
            callbacks.append(
                (
                    "stopping",
                    _StoppingRule(patience, self.tol, early_stopping, self.scoring),
                )
            )
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar(postfix_keys=[])))
        if self.verbose >= 1:
            callbacks.append(("epoch_logger", EpochLogger()))
        return callbacks + list(self.callbacks or [])

    def _loss_class(self):
        """The :mod:`sk_reg._losses` class for these targets (subclasses)."""
        raise NotImplementedError

    def _loss_kwargs(self):
        return {}

    def _stratify_split(self):
        return False

    @staticmethod
    def _check_module_output(module, n_features, n_outputs, dtype):
        probe = torch.zeros(2, n_features, dtype=dtype)
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                out = module(probe)
        except Exception as exc:
            raise ValueError(
                f"The module failed on a batch of shape (2, {n_features}): {exc}"
            ) from exc
        finally:
            module.train(was_training)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, n_outputs):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"The module must return a tensor of shape (batch, {n_outputs}) "
                f"({n_outputs} = number of "
                f"{'classes' if n_outputs > 1 else 'outputs'}); for a batch of "
                f"shape (2, {n_features}) it returned {shape}."
            )

    # -- training ------------------------------------------------------------
    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        incremental=False,
        classes=None,
        validation=None,
    ):
        """Train, or leave the estimator exactly as it was if anything fails.

        Bad input, divergence before any epoch completed, an interrupt before
        any epoch completed, or any other exception: the previous fitted
        state (weights, optimizer state, history, attributes) stays usable, and
        an unfitted estimator stays unfitted.
        """
        saved = dict(self.__dict__)
        net = saved.get("net_")
        net_state = (
            (dict(net.__dict__), net.training_state())
            if net is not None and (incremental or self.warm_start)
            else None
        )
        try:
            return self._fit_without_rollback(
                X,
                y,
                sample_weight,
                incremental=incremental,
                classes=classes,
                validation=validation,
            )
        except BaseException as exc:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if net_state is not None:
                attrs, training = net_state
                net.__dict__.clear()
                net.__dict__.update(attrs)
                net.load_training_state(training)
            if isinstance(exc, _FitInterrupted):
                raise KeyboardInterrupt(
                    f"{exc}; no epoch completed, so the estimator was left as it "
                    "was before this call."
                ) from None
            raise

    def _fit_without_rollback(
        self,
        X,
        y,
        sample_weight=None,
        *,
        incremental=False,
        classes=None,
        validation=None,
    ):
        """One training call, without the rollback of :meth:`_fit`."""
        augment, device = self._validated_settings()
        continuing = incremental and hasattr(self, "net_")
        if continuing:
            device = self._device
        dataset, n_outputs, dtype, n_train = self._training_data(
            X, y, sample_weight, continuing, classes, device, validation
        )
        # Checked against the data here; _new_net builds its own copy.
        _prepare_augment(augment, self.n_features_in_, self._input_shape)
        early_stopping = self.early_stopping and not incremental
        if early_stopping and validation is None:
            self._check_validation_size(n_train)
        batch_size = min(self._batch_size(), n_train)
        # A previous net to continue from: partial_fit after any fit, or a
        # warm-started fit. Its weights, optimizer state and history move to a
        # net built from the current hyperparameters.
        previous = (
            getattr(self, "net_", None) if (continuing or self.warm_start) else None
        )
        if previous is not None and continuing and previous.incremental:
            # partial_fit keeps the net (and hyperparameters) of its first call.
            net = previous
            net.batch_size = batch_size
        else:
            # fit, also warm-started: a net from the current hyperparameters.
            if previous is None or not continuing:
                self._seed = _draw_seed(self.random_state)
            self._dtype, self.n_outputs_ = dtype, n_outputs
            settings = {
                "n_outputs": n_outputs,
                "batch_size": batch_size,
                "incremental": incremental,
                "early_stopping": early_stopping,
                "n_train": None if validation is None else n_train,
            }
            net = self._new_net(settings, device)
            if previous is not None:
                self._continue_from(previous, net)
        epochs_before = len(net.history)
        # Dropout and augmentation draw from this call's own generators,
        # seeded per call (sk_reg/_rng.py: threads do not share them).
        with training_generators(self._seed + epochs_before, device):
            self._run_epochs(net, dataset, 1 if incremental else self.max_iter)
        self._set_fitted_attributes()
        self._warn_about_stop(net, len(net.history) - epochs_before, incremental)
        return self

    def _training_data(
        self, X, y, sample_weight, continuing, classes, device, validation=None
    ):
        """Validate and encode one call's data into a :class:`_TensorDataset`.

        Returns the dataset (the ``validation`` rows, if any, after the
        training rows), the output width, the compute dtype and the number of
        training rows.
        """
        X, y_enc, sample_weight, n_outputs = self._encoded_rows(
            X, y, sample_weight, first_call=not continuing, classes=classes
        )
        dtype = self._dtype if continuing else self._compute_dtype(X)
        dataset = self._dataset(X, y_enc, sample_weight, dtype, device)
        n_train = len(dataset)
        if validation is not None:
            self.n_outputs_ = n_outputs  # what the targets of X_val are checked against
            dataset = self._with_validation_rows(dataset, validation)
        return dataset, n_outputs, dtype, n_train

    def _encoded_rows(self, X, y, sample_weight, first_call, classes=None):
        """Checked ``X``, encoded targets, combined weights and the output width."""
        X, y = self._validate_X_y(X, y, reset=first_call)
        y_enc, n_outputs = self._set_and_encode_targets(
            y, first_call=first_call, classes=classes
        )
        return X, y_enc, self._sample_weight(sample_weight, X, y_enc), n_outputs

    def _dataset(self, X, y_enc, sample_weight, dtype, device):
        return _TensorDataset(
            self._to_tensor(X, dtype, device),
            # np.array copies: targets are small, and a read-only y (memmap)
            # cannot be wrapped by torch without a warning.
            torch.from_numpy(np.array(y_enc)).to(
                device=device, dtype=self._target_dtype(dtype)
            ),
            None
            if sample_weight is None
            else self._to_tensor(sample_weight, dtype, device),
        )

    @staticmethod
    def _validation_arguments(X_val, y_val, sample_weight_val, early_stopping):
        """``(X_val, y_val, sample_weight_val)``, or None when none was passed."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val was passed without X_val, y_val.")
            return None
        if X_val is None or y_val is None:
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} was passed to fit without {missing}.")
        if not early_stopping:
            raise ValueError(
                "X_val and y_val are the rows early stopping watches, but "
                "early_stopping=False. Set early_stopping=True, or do not pass them."
            )
        return X_val, y_val, sample_weight_val

    def _with_validation_rows(self, dataset, validation):
        """``dataset`` followed by the ``(X_val, y_val, sample_weight_val)`` rows.

        The validation rows are checked and encoded as the training rows were
        (same features, classes and target scaling).
        """
        try:
            X_val, y_enc, sw_val, _ = self._encoded_rows(*validation, first_call=False)
        except ValueError as exc:
            raise ValueError(f"Invalid validation data (X_val, y_val): {exc}") from exc
        if is_csr(dataset.X) != sp.issparse(X_val):  # one layout for all rows
            X_val = sp.csr_matrix(X_val) if is_csr(dataset.X) else X_val.toarray()
        valid = self._dataset(X_val, y_enc, sw_val, dataset.X.dtype, dataset.X.device)
        return dataset.join(valid)

    def _check_validation_size(self, n_samples):
        n_valid = int(np.ceil(self.validation_fraction * n_samples))
        if n_valid < 2 or n_samples - n_valid < 1:
            raise ValueError(
                f"The validation set is too small ({n_valid} of {n_samples} "
                "samples). Increase 'validation_fraction' or the size of your "
                "dataset, or set early_stopping=False."
            )

    def _continue_from(self, previous, net):
        """Move weights, optimizer state and history of ``previous`` to ``net``."""
        if not self._same_architecture(previous.module_, net.module_):
            return
        net.module_.load_state_dict(previous.module_.state_dict())
        if type(previous.optimizer_) is type(net.optimizer_):
            net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
        net.history_ = previous.history_

    def _run_epochs(self, net, dataset, epochs):
        """Train ``net``; a scorer for early stopping sees it as ``self.net_``."""
        self.net_ = net
        stopping = dict(net.callbacks_).get("stopping")
        if stopping is not None and stopping.early_stopping:
            stopping.scorer = self._validation_scorer()
        try:
            net.partial_fit(dataset, epochs=epochs)
        finally:
            if stopping is not None:
                stopping.scorer = None

    def _validation_scorer(self):
        """``scoring`` as a function of the validation dataset, or None."""
        if self.scoring is None or self.scoring == "loss":
            return None
        from sklearn.metrics import check_scoring

        scorer = check_scoring(self, self.scoring)

        def score(dataset):
            X, y_enc, sample_weight = dataset.rows(dataset.indices)
            X = csr_tensor_to_scipy(X) if is_csr(X) else X.cpu().numpy()
            y_enc, sample_weight = (
                None if t is None else t.cpu().numpy() for t in (y_enc, sample_weight)
            )
            kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
            # Rows are numpy here even when fit saw a DataFrame: hide the
            # names from predict's check (this estimator, mid-fit, is this
            # thread's alone; a warnings filter would be process-wide).
            names = self.__dict__.pop("feature_names_in_", None)
            try:
                return scorer(self, X, self._decode_y(y_enc), **kwargs)
            finally:
                if names is not None:
                    self.feature_names_in_ = names

        return score

    def _warn_about_stop(self, net, epochs_run, incremental):
        quiet = getattr(_quiet_stops, "reasons", ())
        if net.stop_reason_ == "diverged":
            if "diverged" in quiet:
                return
            warnings.warn(
                f"{net.stop_message_}: training stopped and the weights of epoch "
                f"{len(net.history)} (the last finite one) were kept"
                f"{', then those of the best epoch' if self.early_stopping else ''}. "
                "Lower learning_rate_init or standardise the data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        elif net.stop_reason_ == "interrupted":
            warnings.warn(
                f"{net.stop_message_}; kept the model of epoch "
                f"{len(net.history)}, the last completed one.",
                UserWarning,
                stacklevel=2,
            )
        elif (
            "max_iter" not in quiet
            and not incremental
            and epochs_run >= self.max_iter
            and net.lr_schedule != "cosine"  # the decay ends at max_iter by design
        ):
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )

    @staticmethod
    def _same_architecture(a, b):
        sa, sb = a.state_dict(), b.state_dict()
        return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape for k in sa)

    def _set_fitted_attributes(self):
        history = self.net_.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(row["train_loss"]) for row in history]
        self.t_ = int(sum(row.get("train_rows", 0) for row in history))
        objective = float(history[-1, "train_objective"]) if len(history) else None
        self.loss_ = objective
        self.n_layers_ = self._count_layers()
        self.out_activation_ = self._out_activation()
        stopping = dict(self.net_.callbacks_).get("stopping")
        if stopping is not None:
            self._no_improvement_count = stopping.no_improvement_count_
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.best_loss_ = None
        if self.net_.train_split is not None:
            self.validation_scores_ = [
                float(row["valid_score"]) for row in history if "valid_score" in row
            ]
            self.best_validation_score_ = stopping.best_score_
        else:
            self.best_loss_ = min(
                (float(row["train_objective"]) for row in history), default=None
            )

    def _count_layers(self):
        """Input, hidden and output layers of the built-in MLP (as MLP counts)."""
        linears = self._mlp_linears(raise_error=False)
        return None if linears is None else len(linears) + 1

    def _mlp_linears(self, raise_error=True):
        """The ``Linear`` layers of the built-in MLP module, in order."""
        module = self.net_.module_
        built_in = self.module is None or isinstance(self.module, MLP)
        if built_in and isinstance(module, nn.Sequential):
            return [layer for layer in module if isinstance(layer, nn.Linear)]
        if raise_error:
            raise AttributeError(
                "coefs_ and intercepts_ exist for the built-in MLP module only "
                "(module=None or sk_reg.modules.MLP); read the weights of a custom "
                "module from net_.module_."
            )
        return None

    @property
    def coefs_(self):
        """Weight matrices of the built-in MLP, ``(n_in, n_out)`` as in MLP."""
        check_is_fitted(self)
        return [
            layer.weight.detach().T.cpu().numpy().copy()
            for layer in self._mlp_linears()
        ]

    @property
    def intercepts_(self):
        """Bias vectors of the built-in MLP, one per layer after the input."""
        check_is_fitted(self)
        return [
            layer.bias.detach().cpu().numpy().copy() for layer in self._mlp_linears()
        ]

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
        elif classes is not None and not np.array_equal(
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
        if len(labels) < 2:
            raise ValueError(
                "The classifier needs samples of at least 2 classes in the "
                f"data; got only one class: {labels[0]!r}."
            )
        if (
            self.warm_start
            and hasattr(self, "net_")
            and not np.array_equal(labels, self.classes_)
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
            len(classes) < 2
            or len(classes) != n_outputs
            or len(np.unique(classes)) != len(classes)
        ):
            raise ValueError(
                f"{INVALID}: classes_ must hold n_outputs (at least 2) distinct labels."
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
        if classes is not None and not np.array_equal(np.unique(classes), labels):
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

    def _stratify_split(self):
        return not self._multilabel

    def _target_dtype(self, dtype):
        return dtype if self._multilabel else torch.long

    def _out_activation(self):
        return "logistic" if self._multilabel else "softmax"

    def _decode_y(self, y_enc):
        return y_enc.astype(int) if self._multilabel else self.classes_[y_enc]

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

    @_WithoutEarlyStopping
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
        raw = self._forward(X)
        proba = torch.sigmoid(raw) if self._multilabel else torch.softmax(raw, dim=1)
        return proba.cpu().numpy()

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
        if self._multilabel:
            return torch.nn.functional.logsigmoid(raw).cpu().numpy()
        return torch.log_softmax(raw, dim=1).cpu().numpy()

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
        if self._multilabel:  # the 0/1 indicator matrix, as MLPClassifier
            return (raw > 0).cpu().numpy().astype(int)
        return self.classes_[raw.argmax(dim=1).cpu().numpy()]

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

    def _target_dtype(self, dtype):
        return dtype

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

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

    @_WithoutEarlyStopping
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
