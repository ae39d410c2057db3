"""The fitted state of an estimator, as plain Python and numpy data.

The one door to a fitted model, used by every persistence path:
``__getstate__`` / ``__setstate__`` (pickle, joblib, ``copy``, skops),
:func:`sk_reg.save` / :func:`sk_reg.load` (which only encode and decode it)
and the ONNX converter (:func:`exported_network`). The state is the
estimator's ``__dict__`` (hyperparameters and every fitted attribute, whoever
added it) without the skorch net ``net_``; the net is replaced by
:func:`net_state`: its training state as arrays (the one list of it is
``_SkorchNet.training_state``) and its settings (``NET_SETTINGS``).
Restoring rebuilds the net with the estimator's ``_new_net``, the method
``fit`` builds it with, and copies the arrays in, so a state holds no torch or
skorch object and a model trained on a GPU restores on a CPU-only machine.

``set_fitted_state(..., strict=True)`` validates a state read from an
untrusted file: the schema of the fitted attributes here, the targets by the
estimator's own ``_check_restored_targets`` hook, the tensors against the
rebuilt net. The classes a file may name are published here by their owners
(:func:`storable`), so the file format never imports them itself.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

STATE_KEY = "_sk_reg_state"
STATE_VERSION = 1
#: The net's settings beyond the estimator's hyperparameters: what fit passed
#: to ``_new_net`` (``n_train`` is None unless validation rows were given).
NET_SETTINGS = ("n_outputs", "batch_size", "incremental", "early_stopping", "n_train")
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}
INVALID = "Invalid sk_reg model file"
#: numpy dtype kinds a stored ``classes_`` may have.
CLASS_DTYPE_KINDS = "biufUO"

#: Attributes of a CV search that come from its members, never from a file.
SEARCH_FROM_MEMBERS = ("estimators_", "best_estimator_", "classes_", "_multilabel")

_STORABLE = {"estimator": {}, "search": {}, "builder": {}, "augmentation": {}}


# -- classes a state may name --------------------------------------------------
def storable(kind):
    """Class decorator: publish the class as one a saved state may name.

    Parameters
    ----------
    kind : {"estimator", "search", "builder", "augmentation"}
        The table it joins; :func:`storable_classes` reads the tables.

    Returns
    -------
    decorator : callable
        Registers the class under its ``__name__`` and returns it unchanged.

    Examples
    --------
    >>> from sk_reg._state import storable_classes
    >>> sorted(storable_classes("builder"))
    ['ConvNet', 'MLP']
    """

    def register(cls):
        _STORABLE[kind][cls.__name__] = cls
        return cls

    return register


def storable_classes(kind):
    """The classes of ``kind`` a saved state may name, by name.

    ``"optimizer"`` lists the public optimizer classes of :mod:`torch.optim`;
    the other kinds are those published with :func:`storable`.

    Examples
    --------
    >>> from sk_reg._state import storable_classes
    >>> storable_classes("optimizer")["Adam"]
    <class 'torch.optim.adam.Adam'>
    """
    if kind == "optimizer":
        return _optimizer_classes()
    from . import cv, estimators  # noqa: F401  (their classes register)

    return dict(_STORABLE[kind])


def _optimizer_classes(optim=torch.optim):
    """The public optimizer classes of ``optim`` (:mod:`torch.optim`)."""
    # torch.optim has no __all__ before torch 2.5: its public names then.
    names = getattr(optim, "__all__", None)
    if names is None:
        names = [name for name in vars(optim) if not name.startswith("_")]
    return {
        name: obj
        for name in names
        if isinstance(obj := getattr(optim, name), type)
        and issubclass(obj, torch.optim.Optimizer)
        and obj is not torch.optim.Optimizer
    }


# -- plain data ------------------------------------------------------------------
def _to_numpy(tensor):
    """An own, C-ordered numpy copy of ``tensor`` (detached, on the CPU).

    C order whatever the tensor's layout: ConvNet weights are channels-last,
    and files store plain row-major arrays."""
    return (
        tensor.detach()
        .to("cpu", copy=True, memory_format=torch.contiguous_format)
        .numpy()
    )


def _plain(value):
    """Tensors nested in dicts/lists/tuples become numpy arrays."""
    if isinstance(value, torch.Tensor):
        return _to_numpy(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def net_state(net):
    """A fitted skorch net as plain data: training state and settings.

    Parameters
    ----------
    net : _SkorchNet
        An initialized net.

    Returns
    -------
    state : dict
        ``_SkorchNet.training_state`` with arrays for tensors
        (``module``, ``optimizer``, ``history``, ``rng``), plus the
        ``NET_SETTINGS`` and ``device``.
    """
    return {**_plain(net.training_state(copy_tensors=False)), **net.settings()}


def with_added_params(cls, params):
    """``params`` (or a pickled ``__dict__``) of a ``cls`` object saved before
    some of its parameters existed, each absent one filled in.

    A class that gains a parameter lists it in ``_added_params`` with the value
    that reproduces what objects saved without it did (``ConvNet`` gained
    ``batch_norm``, saved ones had none: ``False``); ``__setstate__`` and
    :func:`sk_reg.load` read files of earlier sk_reg versions through this.

    Parameters
    ----------
    cls : type
        The class being restored.

    params : dict
        The saved parameters (or instance dictionary).

    Returns
    -------
    params : dict
        ``params`` with every absent added parameter set.

    Examples
    --------
    >>> from sk_reg._state import with_added_params
    >>> from sk_reg.modules import ConvNet
    >>> with_added_params(ConvNet, {"channels": (8,)})
    {'batch_norm': False, 'channels': (8,)}
    """
    return {**getattr(cls, "_added_params", {}), **params}


def new_estimator(cls, params):
    """``cls(**params)``, its hyperparameters checked as ``fit`` checks them.

    Examples
    --------
    >>> from sk_reg import RegularizedNetRegressor
    >>> from sk_reg._state import new_estimator
    >>> try:
    ...     new_estimator(RegularizedNetRegressor, {"l2": -1.0})
    ... except ValueError as exc:
    ...     print(exc)
    The 'l2' parameter of RegularizedNetRegressor must be a float in the range
    [0.0, inf). Got -1.0 instead.
    """
    from ._compat import check_params

    estimator = cls(**params)
    check_params(estimator)
    return estimator


def library_versions():
    """The versions of sk_reg, its libraries and Python, as files and pickles
    record them.

    Examples
    --------
    >>> from sk_reg._state import library_versions
    >>> sorted(library_versions())[:3]
    ['numpy', 'python', 'safetensors']
    """
    import sys

    import safetensors
    import sklearn
    import skorch

    from . import __version__

    return {
        "sk_reg": __version__,
        "torch": str(torch.__version__),  # a TorchVersion, a torch class
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "python": sys.version.split()[0],
    }


def fitted_state(estimator):
    """The estimator's state as plain data: the ``__getstate__`` payload.

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        Fitted or not.

    Returns
    -------
    state : dict
        The instance ``__dict__`` without ``net_``, torch dtypes as their names
        and tensors as arrays, plus ``STATE_KEY``: the format version, the
        sk_reg and scikit-learn versions, the names of the converted attributes
        and :func:`net_state` (None if unfitted).
    """
    state = dict(estimator.__dict__)
    net = state.pop("net_", None)
    converted = {}
    for name, value in state.items():
        if isinstance(value, torch.dtype):
            state[name] = str(value).removeprefix("torch.")
            converted[name] = "dtype"
        elif isinstance(value, torch.Tensor):
            state[name] = _to_numpy(value)
            converted[name] = "tensor"
    state[STATE_KEY] = {
        "version": STATE_VERSION,
        "versions": library_versions(),
        "converted": converted,
        "net": None if net is None else net_state(net),
    }
    return state


def set_fitted_state(estimator, state, device=None, strict=False):
    """Restore :func:`fitted_state` into ``estimator`` (the ``__setstate__`` body).

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        A bare instance (as made by unpickling), or one constructed with the
        saved hyperparameters.

    state : dict
        The output of :func:`fitted_state`.

    device : str or None, default=None
        Device of the rebuilt net; None means the device it was trained on, or
        the CPU with a warning when that is a CUDA device this machine lacks.

    strict : bool, default=False
        Validate the state as untrusted data (:func:`sk_reg.load`): the fitted
        attributes, the targets, the net's settings and every tensor against
        the rebuilt net; a ``ValueError`` names what is wrong.
    """
    if not strict:  # a strict state comes without the hyperparameters
        state = with_added_params(type(estimator), state)
    state = dict(state)
    meta = state.pop(STATE_KEY, None)
    if meta is None:  # not written by fitted_state: a plain __dict__
        estimator.__dict__.update(state)
        return
    if meta.get("version") != STATE_VERSION:
        raise ValueError(
            f"Unsupported sk_reg state version {meta.get('version')!r}; this "
            f"sk_reg reads version {STATE_VERSION}."
        )
    if not strict:
        _warn_other_versions(estimator, meta.get("versions"))
    for name, kind in meta["converted"].items():
        if kind == "dtype":
            state[name] = _torch_dtype(state, name, strict)
        else:
            state[name] = torch.tensor(state[name])
    if strict:
        _check_attributes(estimator, state, meta["net"])
    estimator.__dict__.update(state)
    if meta["net"] is not None:
        estimator.net_ = restore_net(estimator, meta["net"], device, strict)


def _torch_dtype(state, name, strict):
    if not strict:
        return TORCH_DTYPES[state[name]]
    text = field(state, name, str, "fitted.")
    if text not in TORCH_DTYPES:
        raise ValueError(f"{INVALID}: compute dtype {text!r}.")
    return TORCH_DTYPES[text]


def _warn_other_versions(estimator, versions):
    """Warn as scikit-learn does when a pickle comes from another version."""
    if versions is None:  # states written before the versions were recorded
        return
    from sklearn.exceptions import InconsistentVersionWarning

    now = library_versions()
    if versions.get("scikit-learn") != now["scikit-learn"]:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=type(estimator).__name__,
                current_sklearn_version=now["scikit-learn"],
                original_sklearn_version=versions.get("scikit-learn"),
            ),
            stacklevel=3,
        )
    if versions.get("sk_reg") != now["sk_reg"]:
        warnings.warn(
            f"Trying to unpickle {type(estimator).__name__} from sk_reg "
            f"{versions.get('sk_reg')} with sk_reg {now['sk_reg']}: this may "
            "break or give wrong results; sk_reg.save files are checked on load.",
            UserWarning,
            stacklevel=3,
        )


def _available_device(saved):
    """``saved`` if this machine has it, else the CPU (with a warning)."""
    parsed = torch.device(saved)
    if parsed.type != "cuda":
        return saved
    index = parsed.index or 0
    if torch.cuda.is_available() and index < torch.cuda.device_count():
        return saved
    warnings.warn(
        f"The model was trained on {saved!r}, which this machine does not have; "
        "its network is restored on the CPU. Set device='cpu' before training "
        "it further here.",
        UserWarning,
        stacklevel=4,
    )
    return "cpu"


def restore_net(estimator, state, device=None, strict=False):
    """Rebuild the net of a fitted estimator from :func:`net_state` output.

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        An estimator whose hyperparameters and fitted attributes are set.

    state : dict
        The output of :func:`net_state`.

    device : str or None, default=None
        See :func:`set_fitted_state`.

    strict : bool, default=False
        Check the tensors against the rebuilt net first (see
        :func:`set_fitted_state`).

    Returns
    -------
    net : _SkorchNet
        Built by ``_new_net`` exactly as ``fit`` builds it, then given the
        saved weights, optimizer state, history and generator state.
    """
    if device is None:
        device = _available_device(state.get("device", "cpu"))
    settings = {"n_train": None, **{k: state[k] for k in NET_SETTINGS if k in state}}
    if not strict:
        net = estimator._new_net(settings, device)
        net.load_training_state(state)
        return net
    try:
        net = estimator._new_net(settings, device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"The module cannot be rebuilt from the saved parameters: {exc}"
        ) from exc
    _check_module_tensors(net.module_.state_dict(), state["module"])
    _check_optimizer_tensors(net, state["optimizer"]["state"])
    try:
        net.load_training_state(state)
    except (RuntimeError, TypeError, ValueError, KeyError) as exc:
        raise ValueError(
            f"{INVALID}: the optimizer or generator state does not fit the "
            f"rebuilt model ({exc})."
        ) from None
    return net


# -- validation of untrusted states (strict=True) -----------------------------------
def field(mapping, key, types, where=""):
    """``mapping[key]``, which must exist and have one of ``types``.

    Examples
    --------
    >>> from sk_reg._state import field
    >>> field({"n": 3}, "n", int)
    3
    """
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(f"{INVALID}: {where}{key} is missing.")
    value = mapping[key]
    types = types if isinstance(types, tuple) else (types,)
    # bool is an int subclass; it is only accepted where asked for.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ValueError(
            f"{INVALID}: {where}{key} has the wrong type ({type(value).__name__})."
        )
    return value


def float_list(values, where):
    """``values`` as a list of floats, all finite, or a ``ValueError``."""
    if not isinstance(values, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
        for v in values
    ):
        raise ValueError(f"{INVALID}: {where} must hold finite numbers.")
    return [float(v) for v in values]


_REQUIRED = (
    ("n_features_in_", int),
    ("_seed", int),
    ("n_iter_", int),
    ("_dtype", torch.dtype),
    ("loss_curve_", list),
)


def _check_attributes(estimator, attrs, net):
    """The fitted attributes of an untrusted state, checked (and normalised in
    place); the targets by the estimator's ``_check_restored_targets``."""
    for name, types in _REQUIRED:
        field(attrs, name, types, "fitted.")
    n_features = attrs["n_features_in_"]
    if n_features < 1 or not 0 <= attrs["_seed"] < 2**63:
        raise ValueError(f"{INVALID}: sizes out of range.")
    attrs["_input_shape"] = _checked_input_shape(attrs.get("_input_shape"), n_features)
    _check_feature_names(attrs, n_features)
    for name in ("loss_curve_", "validation_scores_"):
        if attrs.get(name) is not None:
            attrs[name] = float_list(attrs[name], name)
    if attrs.get("best_validation_score_") is not None:
        attrs["best_validation_score_"] = float_list(
            [attrs["best_validation_score_"]], "best_validation_score_"
        )[0]
    if net is not None:
        _check_net_settings(net, attrs["n_iter_"], len(attrs["loss_curve_"]))
        estimator._check_restored_targets(attrs, net["n_outputs"])


def _checked_input_shape(input_shape, n_features):
    """The fitted image shape by the parameter's own rules
    (``check_input_shape_param``), already resolved: no ``-1``, no bools."""
    from ._images import check_input_shape_param, resolve_input_shape

    if input_shape is None:
        return None
    try:
        if not isinstance(input_shape, (list, tuple)) or any(
            isinstance(d, bool) or d == -1 for d in input_shape
        ):
            raise ValueError
        check_input_shape_param(input_shape)
        return resolve_input_shape(input_shape, n_features)
    except (TypeError, ValueError):
        raise ValueError(
            f"{INVALID}: input_shape must be three positive ints whose product "
            "is n_features_in_."
        ) from None


def _check_feature_names(attrs, n_features):
    names = attrs.get("feature_names_in_")
    if names is None:
        return
    names = list(names) if isinstance(names, (list, np.ndarray)) else None
    if (
        names is None
        or len(names) != n_features
        or not all(isinstance(n, str) for n in names)
    ):
        raise ValueError(
            f"{INVALID}: feature_names_in_ must hold n_features_in_ strings."
        )
    attrs["feature_names_in_"] = np.asarray(names, dtype=object)


def _check_net_settings(net, n_iter, n_loss):
    for key in ("n_outputs", "batch_size"):
        if field(net, key, int, "net.") < 1:
            raise ValueError(f"{INVALID}: sizes out of range.")
    for key in ("incremental", "early_stopping"):
        field(net, key, bool, "net.")
    n_train = field(net, "n_train", (int, type(None)), "net.")
    if n_train is not None and n_train < 1:
        raise ValueError(f"{INVALID}: sizes out of range.")
    history = field(net, "history", list, "net.")
    if not all(isinstance(row, dict) for row in history) or not (
        n_iter == len(history) == n_loss
    ):
        raise ValueError(f"{INVALID}: n_iter_, loss_curve_ and history disagree.")


def _check_module_tensors(expected, state):
    if state.keys() != expected.keys():
        raise ValueError(
            "The saved weights do not match the module rebuilt from the saved "
            f"parameters: missing {sorted(expected.keys() - state.keys())}, "
            f"unexpected {sorted(state.keys() - expected.keys())}."
        )
    for key, value in state.items():
        value, want = torch.as_tensor(value), expected[key]
        if value.shape != want.shape or value.dtype != want.dtype:
            raise ValueError(
                f"The saved tensor {key!r} has shape {tuple(value.shape)} and dtype "
                f"{value.dtype}; the module rebuilt from the saved parameters needs "
                f"{tuple(want.shape)} and {want.dtype}."
            )
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError(f"The saved tensor {key!r} holds non-finite values.")


def _check_optimizer_tensors(net, entries):
    params = list(net.module_.parameters())
    for index, entry in entries:
        if not 0 <= index < len(params):
            raise ValueError(f"{INVALID}: optimizer state index.")
        for name, value in entry.items():
            value = torch.as_tensor(value)
            if (
                value.ndim
                and value.shape != params[index].shape
                or (value.is_floating_point() and not torch.isfinite(value).all())
            ):
                raise ValueError(f"{INVALID}: optimizer state {index}.{name}.")


_SEARCH_REQUIRED = (
    ("n_features_in_", int),
    ("n_iter_", int),
    ("best_index_", int),
    ("best_params_", dict),
    ("best_score_", (int, float)),
    ("cv_results_", dict),
)


def check_search_attributes(attrs, nets):
    """A CV search's own fitted attributes from an untrusted file, checked
    against its restored members ``nets``; the attributes taken from them
    (``SEARCH_FROM_MEMBERS``) added as ``fit`` derives them.

    Examples
    --------
    >>> from sk_reg._state import check_search_attributes
    >>> check_search_attributes({}, [])
    Traceback (most recent call last):
    ...
    ValueError: Invalid sk_reg model file: fitted.n_features_in_ is missing.
    """
    for name, types in _SEARCH_REQUIRED:
        field(attrs, name, types, "fitted.")
    _check_feature_names(attrs, attrs["n_features_in_"])
    first = nets[0]
    for key in ("n_features_in_", "n_outputs_", "_multilabel", "classes_"):
        values = [getattr(net, key, None) for net in nets]
        if key == "n_features_in_":
            values.append(attrs[key])
        if any(not np.array_equal(v, values[0]) for v in values):
            raise ValueError(f"{INVALID}: the members disagree on {key}.")
    if attrs["n_iter_"] != first.n_iter_:
        raise ValueError(f"{INVALID}: n_iter_ is not the best's.")
    if hasattr(first, "classes_"):  # derived, as fit derives them
        attrs["classes_"], attrs["_multilabel"] = first.classes_, first._multilabel
    return attrs


# -- what an exporter reads ------------------------------------------------------
@dataclass(frozen=True)
class NetworkExport:
    """What a converter needs of one fitted network (see :func:`exported_network`).

    Attributes
    ----------
    module : torch.nn.Module
        The trained module (on its training device; copy it before changing it).
    n_features : int
        Input width: flattened pixels for images.
    dtype : torch.dtype
        Compute dtype of the module.
    n_outputs : int
        Width of the module's output.
    task : {"multiclass", "multilabel", "regression"}
        How outputs become predictions: softmax and argmax over ``classes``,
        a sigmoid per label, or values.
    classes : ndarray or None
        The class labels (classifiers), in output order.
    out_activation : str
        ``"softmax"``, ``"logistic"``, ``"identity"`` or ``"exp"`` (Poisson).
    y_shift, y_scale : ndarray or None
        ``normalize_y``: predictions are ``output * y_scale + y_shift``.
    """

    module: torch.nn.Module
    n_features: int
    dtype: torch.dtype
    n_outputs: int
    task: str
    classes: np.ndarray | None
    out_activation: str
    y_shift: np.ndarray | None
    y_scale: np.ndarray | None


def exported_network(estimator):
    """The fitted network of ``estimator`` as an exporter reads it.

    The one accessor of :mod:`sk_reg.onnx` (and any other converter): it reads
    no attribute of the estimator or of its skorch net itself.

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        A fitted estimator.

    Returns
    -------
    network : NetworkExport

    Examples
    --------
    >>> from sk_reg import RegularizedNetClassifier
    >>> from sk_reg._state import exported_network
    >>> clf = RegularizedNetClassifier((4,), max_iter=2, random_state=0)
    >>> clf = clf.fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> network = exported_network(clf)
    >>> network.task, network.n_outputs, network.classes
    ('multiclass', 2, array([0, 1]))
    """
    task = estimator._loss_class()
    return NetworkExport(
        module=estimator.net_.module_,
        n_features=int(estimator.n_features_in_),
        dtype=estimator._dtype,
        n_outputs=int(estimator.n_outputs_),
        task=task.task,
        classes=getattr(estimator, "classes_", None),
        out_activation=task.out_activation,
        y_shift=getattr(estimator, "_y_shift", None),
        y_scale=getattr(estimator, "_y_scale", None),
    )
