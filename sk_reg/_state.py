"""The fitted state of an estimator, as plain Python and numpy data.

One definition used by every persistence path: ``__getstate__`` /
``__setstate__`` (pickle, joblib, ``copy``, skops), :func:`sk_reg.save` /
:func:`sk_reg.load` and the ONNX converter. The state is the estimator's
``__dict__`` (hyperparameters and every fitted attribute, whoever added it)
without the skorch net ``net_``; the net is replaced by :func:`net_state`:
module weights and optimizer state as numpy arrays, the training history, the
shuffling generator's state and the few settings ``fit`` passed to
``_build_net``. Restoring rebuilds the net with ``_build_net``, the path
``fit`` takes, and copies the arrays in, so a state holds no torch or skorch
object and a model trained on a GPU restores on a CPU-only machine.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .augment import _prepare_augment, _resolve_augment

STATE_KEY = "_sk_reg_state"
STATE_VERSION = 1
_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


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


def _as_tensors(value):
    """Inverse of :func:`_plain` for optimizer states: arrays become tensors."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return torch.as_tensor(value)
    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    return value


def net_state(net):
    """What a fitted skorch net holds beyond the estimator's hyperparameters.

    Parameters
    ----------
    net : _RegularizedNet
        An initialized net.

    Returns
    -------
    state : dict
        ``module`` (name -> array), ``optimizer`` (``state`` as a list of
        ``[index, {name: array}]`` pairs and ``param_groups``), ``history``
        (list of per-epoch dicts), ``rng`` (the shuffling generator's state)
        and ``n_outputs``, ``batch_size``, ``incremental``,
        ``early_stopping``, ``device``.
    """
    optimizer = net.optimizer_.state_dict()
    return {
        "module": {k: _to_numpy(v) for k, v in net.module_.state_dict().items()},
        "optimizer": {
            "state": [[int(i), _plain(s)] for i, s in optimizer["state"].items()],
            "param_groups": _plain(optimizer["param_groups"]),
        },
        "history": [_plain(dict(row)) for row in net.history],
        "rng": None
        if net.shuffle_rng_ is None
        else net.shuffle_rng_.bit_generator.state,
        "n_outputs": int(net.n_outputs),
        "batch_size": int(net.batch_size),
        "incremental": bool(net.incremental),
        "early_stopping": net.train_split is not None,
        "device": str(net.device),
    }


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
        and tensors as arrays, plus ``STATE_KEY``: the format version, the names
        of the converted attributes and :func:`net_state` (None if unfitted).
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
        "converted": converted,
        "net": None if net is None else net_state(net),
    }
    return state


def set_fitted_state(estimator, state, device=None):
    """Restore :func:`fitted_state` into ``estimator`` (the ``__setstate__`` body).

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        A bare instance (as made by unpickling).

    state : dict
        The output of :func:`fitted_state`.

    device : str or None, default=None
        Device of the rebuilt net; None means the device it was trained on, or
        the CPU with a warning when that is a CUDA device this machine lacks.
    """
    state = with_added_params(type(estimator), state)
    meta = state.pop(STATE_KEY, None)
    if meta is None:  # not written by fitted_state: a plain __dict__
        estimator.__dict__.update(state)
        return
    if meta.get("version") != STATE_VERSION:
        raise ValueError(
            f"Unsupported sk_reg state version {meta.get('version')!r}; this "
            f"sk_reg reads version {STATE_VERSION}."
        )
    for name, kind in meta["converted"].items():
        if kind == "dtype":
            state[name] = _TORCH_DTYPES[state[name]]
        else:
            state[name] = torch.tensor(state[name])
    estimator.__dict__.update(state)
    if meta["net"] is not None:
        estimator.net_ = restore_net(estimator, meta["net"], device)


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


def restore_net(estimator, state, device=None):
    """Rebuild the net of a fitted estimator from :func:`net_state` output.

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        An estimator whose hyperparameters and fitted attributes are set.

    state : dict
        The output of :func:`net_state`.

    device : str or None, default=None
        See :func:`set_fitted_state`.

    Returns
    -------
    net : _RegularizedNet
        Built by ``_build_net`` exactly as ``fit`` builds it, then given the
        saved weights, optimizer state, history and generator state.
    """
    device = _available_device(state["device"]) if device is None else device
    return fill_net(build_net(estimator, state, device), state)


def build_net(estimator, state, device):
    """A fresh net with the settings ``fit`` used (no saved values yet)."""
    n_features = int(estimator.n_features_in_)
    estimator._device = str(device)  # where this copy's net lives
    augment = _prepare_augment(
        _resolve_augment(estimator.augment), n_features, estimator._input_shape
    )
    return estimator._build_net(
        n_features,
        state["n_outputs"],
        augment=augment,
        device=device,
        dtype=estimator._dtype,
        seed=estimator._seed,
        batch_size=state["batch_size"],
        early_stopping=state["early_stopping"],
        incremental=state["incremental"],
    )


def fill_net(net, state):
    """Copy the weights, optimizer state, history and generator state in."""
    from skorch.history import History

    net.module_.load_state_dict(
        {k: torch.as_tensor(v) for k, v in state["module"].items()}
    )
    optimizer = state["optimizer"]
    net.optimizer_.load_state_dict(
        {
            "state": {int(i): _as_tensors(s) for i, s in optimizer["state"]},
            "param_groups": [dict(g) for g in optimizer["param_groups"]],
        }
    )
    net.history_ = History(dict(row) for row in state["history"])
    if state["rng"] is not None:  # None: shuffle=False
        net.shuffle_rng_.bit_generator.state = state["rng"]
    return net
