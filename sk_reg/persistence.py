"""Save and load fitted estimators without pickle.

A saved model is one `safetensors <https://huggingface.co/docs/safetensors>`_
file holding the estimator's fitted state (:mod:`sk_reg._state`, the one
pickle and skops store too): the torch module's weights and the optimizer
state as tensors, and in the file's metadata header a JSON document with the
estimator's class name, its hyperparameters, the fitted attributes, the
training history and the library versions, plus a SHA-256 checksum of both.

Loading parses JSON and raw tensor bytes only; nothing is unpickled and no
name read from the file is imported. Classes are looked up in fixed tables
that their owners publish (:func:`sk_reg._state.storable_classes`): the four
estimators, the module builders of :mod:`sk_reg.modules`, the augmentations
of :mod:`sk_reg.augment` and the optimizers of :mod:`torch.optim`. This module
only encodes and decodes: the decoded state is restored by
``sk_reg._state.set_fitted_state(..., strict=True)``, which validates it,
rebuilds the torch module through the method ``fit`` uses (``_new_net``),
checks the tensors against it (names, shapes, dtypes, finiteness) and copies
them in. A CV search is stored as its own
parameters and fitted attributes plus one such network document per member of
its ``estimators_`` (their tensors named ``estimators.<k>.<name>``); each
member is loaded through the same checks.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import tempfile
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._state import (
    CLASS_DTYPE_KINDS,
    INVALID,
    NET_SETTINGS,
    SEARCH_FROM_MEMBERS,
    STATE_KEY,
    STATE_VERSION,
    check_search_attributes,
    field,
    fitted_state,
    library_versions,
    new_estimator,
    set_fitted_state,
    storable_classes,
    with_added_params,
)

__all__ = ["load", "save"]

_FORMAT_KEY = "sk_reg_format"
_FORMAT_VERSION = "2"
_TENSOR_PREFIX = "module."
_OPTIMIZER_PREFIX = "optimizer."
_MEMBER_PREFIX = "estimators."


class _NotStorable(Exception):
    """A value that the JSON format cannot represent safely."""


# -- encoding of parameter values ------------------------------------------------
def _encode(value):
    """A JSON value for ``value``; tuples, dicts and objects are tagged."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        value = float(value)
        return value if np.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray) and (
        value.dtype.kind in "biufU"
        or (value.dtype.kind == "O" and all(_is_scalar(v) for v in value.flat))
    ):
        return {"__ndarray__": _encode(value.tolist()), "dtype": value.dtype.str}
    if type(value) in storable_classes("builder").values():
        return {
            "__builder__": type(value).__name__,
            "params": _encode_params(value.get_params(deep=False)),
        }
    if type(value) in storable_classes("augmentation").values():
        return {
            "__augment__": type(value).__name__,
            "params": _encode_params(value.get_params(deep=False)),
        }
    optimizers = storable_classes("optimizer")
    if isinstance(value, type) and optimizers.get(value.__name__) is value:
        return {"__optimizer__": value.__name__}
    raise _NotStorable(type(value).__name__)


def _is_scalar(value):
    return isinstance(value, (str, Integral, Real, np.bool_, bool))


def _encode_params(params):
    return {name: _encode(v) for name, v in params.items()}


def _decode(value, where):
    """Inverse of :func:`_encode`; refuses anything it did not produce."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [_decode(v, where) for v in value]
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise ValueError(f"{where}: unexpected value {value!r}.")
    tag = next(iter(value))
    if tag == "__float__" and len(value) == 1:
        if value[tag] not in ("inf", "-inf", "nan"):
            raise ValueError(f"{where}: bad float {value[tag]!r}.")
        return float(value[tag])
    if tag == "__tuple__" and len(value) == 1 and isinstance(value[tag], list):
        return tuple(_decode(v, where) for v in value[tag])
    if tag == "__dict__" and len(value) == 1 and isinstance(value[tag], list):
        pairs = value[tag]
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ValueError(f"{where}: bad dict encoding.")
        return {
            _hashable(_decode(k, where), where): _decode(v, where) for k, v in pairs
        }
    if tag == "__ndarray__" and set(value) == {"__ndarray__", "dtype"}:
        dtype = _checked_dtype(value["dtype"], "biufUO", where)
        values = _decode(value[tag], where)
        if not isinstance(values, list) or not all(
            _is_scalar(v) for v in np.asarray(values, dtype=object).flat
        ):
            raise ValueError(f"{where}: bad array values.")
        return np.asarray(values, dtype=dtype)
    if tag == "__optimizer__" and len(value) == 1:
        return _lookup(storable_classes("optimizer"), value[tag], "optimizer", where)
    for key, table, kind in (
        ("__builder__", "builder", "module builder"),
        ("__augment__", "augmentation", "augmentation"),
    ):
        if tag == key and set(value) == {key, "params"}:
            cls = _lookup(storable_classes(table), value[key], kind, where)
            params = _decode_params(value["params"], f"{where}.{value[key]}")
            return _construct(cls, params, where)
    raise ValueError(f"{where}: unexpected value {value!r}.")


def _decode_params(params, where):
    if not isinstance(params, dict):
        raise ValueError(f"{where}: parameters must be a JSON object.")
    return {name: _decode(v, f"{where}.{name}") for name, v in params.items()}


def _hashable(key, where):
    try:
        hash(key)
    except TypeError:
        raise ValueError(f"{where}: unhashable dict key {key!r}.") from None
    return key


def _lookup(table, name, kind, where):
    if not isinstance(name, str) or name not in table:
        raise ValueError(
            f"{where}: unknown {kind} {name!r}; a saved model can only name "
            f"{sorted(table)}."
        )
    return table[name]


def _construct(cls, params, where):
    accepted = set(inspect.signature(cls).parameters)
    unknown = set(params) - accepted
    if unknown:
        raise ValueError(
            f"{where}: {cls.__name__} has no parameters {sorted(unknown)}."
        )
    return cls(**with_added_params(cls, params))


def _checked_dtype(text, kinds, where):
    if not isinstance(text, str) or len(text) > 16:
        raise ValueError(f"{where}: bad dtype {text!r}.")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ValueError(f"{where}: bad dtype {text!r}.") from None
    if dtype.kind not in kinds or dtype.fields is not None:
        raise ValueError(f"{where}: dtype {text!r} is not allowed here.")
    return dtype


# -- the file ----------------------------------------------------------------
def _checksum(document, tensors):
    digest = hashlib.sha256(document.encode())
    for name in sorted(tensors):
        t = tensors[name]
        digest.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        digest.update(
            t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        )
    return digest.hexdigest()


def _history_rows(history):
    """History rows as plain JSON: the per-batch entries and any value that is
    not a finite number, string, bool or None are left out."""
    rows = []
    for row in history:
        kept = {}
        for key, value in row.items():
            if key == "batches":
                continue
            if isinstance(value, (bool, str)) or value is None:
                kept[key] = value
            elif isinstance(value, (Integral, Real)) and np.isfinite(value):
                kept[key] = value.item() if hasattr(value, "item") else value
        rows.append(kept)
    return rows


def _encode_hyperparameters(estimator):
    """Encoded ``get_params(deep=False)``, the unstorable ones, the module kind."""
    params, unstored = {}, {}
    module_info = {"kind": "builtin"}
    for name, value in estimator.get_params(deep=False).items():
        try:
            params[name] = _encode(value)
        except _NotStorable as exc:
            params[name] = None
            if name == "module":
                # A class, a builder object or a factory function.
                named = value if hasattr(value, "__qualname__") else type(value)
                module_info = {
                    "kind": "custom",
                    "class": named.__qualname__,
                    "python_module": named.__module__,
                }
            else:
                unstored[name] = str(exc)
    if unstored:
        _warn(
            f"sk_reg.save cannot store these parameters of {type(estimator).__name__} "
            f"as data, and load will reset them to their defaults: {unstored}. "
            "They do not affect predictions."
        )
    return params, unstored, module_info


def _warn(message):
    """A UserWarning attributed to the first caller outside this module."""
    level, frame = 1, inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        level, frame = level + 1, frame.f_back
    warnings.warn(message, UserWarning, stacklevel=level)


def _encode_fitted(estimator, state):
    """The fitted attributes of the state (every non-parameter entry)."""
    param_names = set(estimator.get_params(deep=False))
    fitted = {}
    for name, value in state.items():
        if name in param_names or name == STATE_KEY:
            continue
        try:
            fitted[name] = _encode(value)
        except _NotStorable as exc:
            raise ValueError(
                f"sk_reg.save cannot store the fitted attribute {name!r} "
                f"(a {exc}) as data."
            ) from None
    return fitted


def _encode_net(net):
    """The net part of the state: JSON document and named tensors."""
    tensors = {
        _TENSOR_PREFIX + k: torch.from_numpy(v) for k, v in net["module"].items()
    }
    state_keys = []
    for index, entry in net["optimizer"]["state"]:
        names = sorted(entry)
        for key in names:
            # np.array, not ascontiguousarray: that one makes 0-d arrays 1-d.
            tensors[f"{_OPTIMIZER_PREFIX}{index}.{key}"] = torch.from_numpy(
                np.array(entry[key], order="C")
            )
        state_keys.append([index, names])
    document = {
        "optimizer_groups": _encode(net["optimizer"]["param_groups"]),
        "optimizer_state": state_keys,
        "history": _history_rows(net["history"]),
        "rng": _encode(net["rng"]),
        **{k: net[k] for k in NET_SETTINGS},
    }
    return document, tensors


def _write_atomic(path, blob):
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(
        dir=os.path.dirname(os.path.abspath(path)), prefix=".sk_reg-", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _save_instead(estimator):
    """What to save instead of ``estimator``, which ``save`` does not store."""
    if hasattr(estimator, "best_estimator_"):
        return "Save its best_estimator_, or the whole search with skops.io"
    return "For a Pipeline, use skops.io"


def _network_document(estimator):
    """The JSON-able document and the tensors of one fitted network."""
    classes = getattr(estimator, "classes_", None)
    if classes is not None and classes.dtype.kind not in CLASS_DTYPE_KINDS:
        raise ValueError(f"classes_ of dtype {classes.dtype} cannot be saved.")
    params, unstored, module_info = _encode_hyperparameters(estimator)
    state = fitted_state(estimator)
    net_doc, tensors = _encode_net(state[STATE_KEY]["net"])
    document = {
        "estimator": type(estimator).__name__,
        "params": params,
        "unstored_params": unstored,
        "module": module_info,
        "fitted": _encode_fitted(estimator, state),
        "net": net_doc,
    }
    return document, tensors


def _search_document(search):
    """A search's own parameters and attributes, and one network document per
    member of ``estimators_`` (tensors renamed ``estimators.<k>.<name>``)."""
    params, unstored, module_info = _encode_hyperparameters(search)
    own = {
        name: value
        for name, value in vars(search).items()
        if name not in params and name not in SEARCH_FROM_MEMBERS
    }
    members, tensors = [], {}
    for k, net in enumerate(search.estimators_):
        document, net_tensors = _network_document(net)
        members.append(document)
        prefix = f"{_MEMBER_PREFIX}{k}."
        tensors.update({prefix + name: t for name, t in net_tensors.items()})
    document = {
        "estimator": type(search).__name__,
        "params": params,
        "unstored_params": unstored,
        "module": module_info,
        "fitted": _encode_fitted(search, own),
        "members": members,
    }
    return document, tensors


def save(estimator, path):
    """Save a fitted sk_reg estimator to a file that loads without pickle.

    Parameters
    ----------
    estimator : RegularizedNetClassifier, RegularizedNetRegressor, \
            RegularizedNetClassifierCV or RegularizedNetRegressorCV
        A fitted estimator. A CV search is stored whole: its own fitted
        attributes (``best_params_``, ``cv_results_``, ...) and every network
        of ``estimators_``, each as a network alone would be.

    path : str or path-like
        Destination file, overwritten atomically (a crash while saving leaves
        any previous file intact). The file is in the safetensors format; the
        suffix ``.safetensors`` is a good choice.

    See Also
    --------
    load : Rebuild the estimator from the file.

    Notes
    -----
    What is stored is the estimator's fitted state, the same one pickle and
    skops store: the hyperparameters (``get_params(deep=False)``), every
    fitted attribute (``classes_`` with its dtype, ``n_features_in_``,
    ``feature_names_in_``, the compute dtype and seed, ``n_iter_``,
    ``loss_curve_``, ``validation_scores_``, ...), the weights and buffers of
    the torch module and the optimizer state (exactly, as tensors), the
    per-epoch history, the state of the shuffling generator, the library
    versions, and a SHA-256 checksum of all of it. A loaded model predicts
    identically and continues training (``partial_fit``, ``warm_start``) as
    the saved one would have.

    What is not stored: the per-batch history entries, and hyperparameters that
    cannot be written as data: ``callbacks``, a ``random_state`` that is a
    ``RandomState`` instance, a custom optimizer class or augmentation. These do
    not affect predictions; a warning names them, and :func:`load` resets them
    to their defaults. A custom torch module class is recorded by name only and
    must be passed to :func:`load` (``module=MyModule``); built-in modules
    (:mod:`sk_reg.modules`) and augmentations (:mod:`sk_reg.augment`) are
    restored from their parameters.

    The checksum detects corruption and edits made without recomputing it; it
    is not a signature. A file from an untrusted source cannot run code when
    loaded, but it can still hold a model that predicts anything.

    A search's ``candidates`` are stored as data like any hyperparameter (a
    custom augmentation in them cannot be, and is reset as above); the
    networks it predicts with are stored in full.

    For whole pipelines, ``skops.io`` stores sk_reg estimators too (their
    state is plain data); see the "Deploying a model" page of the user guide.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_reg import RegularizedNetClassifier, load, save
    >>> clf = RegularizedNetClassifier((8,), max_iter=5, random_state=0)
    >>> clf = clf.fit([[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "b"])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save(clf, path)
    >>> restored = load(path)
    >>> bool((restored.predict_proba([[1.5]]) == clf.predict_proba([[1.5]])).all())
    True

    A CV search is saved whole, with every network it averages:

    >>> from sklearn.datasets import load_iris
    >>> from sk_reg import RegularizedNetClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RegularizedNetClassifierCV(
    ...     [{"l2": 1e-4}, {"l2": 1.0}], min_iter=2, max_iter=4, n_ensemble=2,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> save(search, path)
    >>> restored = load(path)
    >>> len(restored.estimators_), restored.best_params_ == search.best_params_
    (2, True)
    >>> bool((restored.predict_proba(X) == search.predict_proba(X)).all())
    True
    """
    from safetensors.torch import save as st_save

    kind = type(estimator)
    networks = storable_classes("estimator").values()
    if kind not in networks and kind not in storable_classes("search").values():
        raise TypeError(
            "sk_reg.save stores sk_reg's estimators (RegularizedNetClassifier, "
            "RegularizedNetRegressor and their CV searches); got "
            f"{kind.__name__}. {_save_instead(estimator)} (see the 'Deploying a "
            "model' page of the user guide)."
        )
    check_is_fitted(estimator)
    encode = _network_document if kind in networks else _search_document
    document, tensors = encode(estimator)
    document = json.dumps(
        {
            "format_version": int(_FORMAT_VERSION),
            **document,
            "versions": library_versions(),
        },
        allow_nan=False,
        sort_keys=True,
    )
    blob = st_save(
        tensors,
        metadata={
            _FORMAT_KEY: _FORMAT_VERSION,
            "sk_reg": document,
            "sha256": _checksum(document, tensors),
        },
    )
    _write_atomic(path, blob)


def _read(path):
    """Metadata and tensors of a safetensors file, or a ValueError."""
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    not_ours = f"{path!r} is not an sk_reg model file"
    try:
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # SafetensorError, or the header is not JSON
        raise ValueError(
            f"{not_ours} (it is not a valid safetensors file: {exc}). sk_reg.load "
            "reads files written by sk_reg.save only, and never unpickles."
        ) from None
    if metadata.get(_FORMAT_KEY) != _FORMAT_VERSION or "sk_reg" not in metadata:
        raise ValueError(
            f"{not_ours}: its metadata has no sk_reg format version "
            f"{_FORMAT_VERSION} (found {metadata.get(_FORMAT_KEY)!r})."
        )
    document = metadata["sk_reg"]
    if metadata.get("sha256") != _checksum(document, tensors):
        raise ValueError(
            f"{path!r} fails its checksum: the file was modified or corrupted "
            "after sk_reg.save wrote it."
        )
    return _parse_json(document, not_ours), tensors


def _parse_json(document, not_ours):
    def no_constants(name):
        raise ValueError(f"non-standard JSON constant {name}")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate keys")
        return dict(pairs)

    try:
        return json.loads(
            document, parse_constant=no_constants, object_pairs_hook=no_duplicates
        )
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"{not_ours}: its metadata is not valid JSON ({exc})."
        ) from None


def _check_version(doc):
    """The file format must be the one this sk_reg reads.

    A file of another format version cannot be read safely and is refused. The
    library versions that wrote it are recorded (``versions``) but a different
    sk_reg, torch or scikit-learn version is not a reason to warn: the format
    version is what defines the file's meaning.
    """
    if field(doc, "format_version", int, "") != int(_FORMAT_VERSION):
        raise ValueError(f"{INVALID}: unsupported format_version.")
    field(doc, "versions", dict, "")


def _decode_hyperparameters(doc, Est, module):
    """The constructor arguments: only the estimator's own names."""
    name = Est.__name__
    params = _decode_params(field(doc, "params", dict, ""), "params")
    params = with_added_params(Est, params)
    defaults = {k: p.default for k, p in inspect.signature(Est).parameters.items()}
    if set(params) != set(defaults):
        raise ValueError(
            f"{INVALID}: the parameters {sorted(params)} are not those of {name}."
        )
    unstored = field(doc, "unstored_params", dict, "")
    if not set(unstored) <= set(defaults) - {"module"}:
        raise ValueError(f"{INVALID}: bad unstored_params.")
    for key in unstored:
        params[key] = defaults[key]
    if unstored:
        _warn(
            f"These parameters of {name} were not stored and are reset to their "
            f"defaults: {sorted(unstored)}. Predictions are not affected."
        )
    # Searches saved before they had a module parameter have no module entry.
    if Est in storable_classes("estimator").values() or "module" in doc:
        _check_module_kind(field(doc, "module", dict, ""), module)
    if module is not None:
        params["module"] = module
    return params


def _check_module_kind(module_info, module):
    kind = field(module_info, "kind", str, "module.")
    if kind not in ("builtin", "custom"):
        raise ValueError(f"{INVALID}: module kind {kind!r}.")
    if kind == "custom" and module is None:
        saved_cls = module_info.get("class")
        plain = isinstance(saved_cls, str) and re.fullmatch(
            r"[\w.<>]{1,200}", saved_cls
        )
        if not plain:
            saved_cls = "YourModule"  # never echo arbitrary file content
        raise ValueError(
            f"The model was saved with a custom module ({saved_cls}). sk_reg.load "
            f"never imports code named in a file: pass the class explicitly, "
            f"sk_reg.load(path, module={saved_cls})."
        )


def _decoded_attributes(doc, Est, param_names, reserved):
    """The document's fitted attributes, decoded; names that could shadow code
    (or ``reserved`` ones) refused."""
    attrs = {}
    for name, value in field(doc, "fitted", dict, "").items():
        if (
            not re.fullmatch(r"_?[a-z][a-z0-9_]{0,60}", name)
            or name in param_names
            or hasattr(Est, name)
            or name in reserved
        ):
            raise ValueError(f"{INVALID}: fitted attribute {name!r}.")
        attrs[name] = _decode(value, f"fitted.{name}")
    return attrs


def _decode_net(doc, tensors):
    """The net part of the state, arrays from the tensors (checked by the state)."""
    net = field(doc, "net", dict, "")
    module, optimizer = {}, {}
    for key, value in tensors.items():
        if key.startswith(_TENSOR_PREFIX):
            module[key[len(_TENSOR_PREFIX) :]] = value
        elif key.startswith(_OPTIMIZER_PREFIX):
            optimizer[key[len(_OPTIMIZER_PREFIX) :]] = value
        else:
            raise ValueError(f"{INVALID}: unexpected tensor {key!r}.")
    history = field(net, "history", list, "net.")
    return {
        # n_train: None in files written before it was stored.
        **{k: net.get(k) for k in NET_SETTINGS},
        "history": [
            dict(row, batches=[]) if isinstance(row, dict) else row for row in history
        ],
        # None when the model does not shuffle (shuffle=False).
        "rng": _decode(field(net, "rng", (dict, type(None)), "net."), "net.rng"),
        "module": module,
        "optimizer": {
            "state": _optimizer_entries(net, optimizer),
            "param_groups": _decode(
                field(net, "optimizer_groups", (list, dict), "net."),
                "net.optimizer_groups",
            ),
        },
    }


def _optimizer_entries(net, tensors):
    entries, used = [], set()
    for item in field(net, "optimizer_state", list, "net."):
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], int)
            and isinstance(item[1], list)
        ):
            raise ValueError(f"{INVALID}: net.optimizer_state.")
        index, names = item
        keys = [f"{index}.{name}" for name in names]
        if not all(isinstance(n, str) for n in names) or not set(keys) <= set(tensors):
            raise ValueError(f"{INVALID}: net.optimizer_state.")
        used.update(keys)
        entries.append(
            [index, {n: tensors[k] for n, k in zip(names, keys, strict=True)}]
        )
    if used != set(tensors):
        raise ValueError(f"{INVALID}: unexpected optimizer tensors.")
    return entries


def load(path, module=None, *, device=None):
    """Load an estimator written by :func:`save`, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        The file.

    module : torch.nn.Module subclass, module builder or None, default=None
        Required when the model was saved with a custom ``module`` (the class
        is recorded by name only and never imported from the file): pass the
        same class or builder. When given, it replaces the saved ``module``.

    device : str or None, default=None
        Device to load onto, overriding the saved ``device`` parameter (for
        example ``"cpu"`` for a model trained with ``device="cuda"``). None
        keeps the saved parameter.

    Returns
    -------
    estimator : RegularizedNetClassifier, RegularizedNetRegressor, \
            RegularizedNetClassifierCV or RegularizedNetRegressorCV
        The fitted estimator; its predictions equal those of the saved one.

    Raises
    ------
    ValueError
        When the file is not an sk_reg model, fails its checksum, names a
        class outside sk_reg's fixed tables, or holds parameters, attributes
        or tensors inconsistent with the model they describe.

    See Also
    --------
    save : Write the file; its Notes say what is stored.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_reg import RegularizedNetRegressor, load, save
    >>> reg = RegularizedNetRegressor((8,), max_iter=5, random_state=0)
    >>> reg = reg.fit([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0]], [0.0, 1.0, 2.0])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save(reg, path)
    >>> load(path, device="cpu").predict([[1.0, 1.0]]) == reg.predict([[1.0, 1.0]])
    array([ True])
    """
    doc, tensors = _read(path)
    searches = storable_classes("search")
    Est = _lookup(
        {**storable_classes("estimator"), **searches},
        field(doc, "estimator", str, ""),
        "estimator class",
        "estimator",
    )
    _check_version(doc)
    if Est in searches.values():
        return _load_search(doc, tensors, Est, module, device)
    return _load_network(doc, tensors, Est, module, device)


def _constructed(doc, Est, module, device):
    """``Est`` built from the saved parameters (``device`` overriding), checked."""
    params = _decode_hyperparameters(doc, Est, module)
    if device is not None:
        params["device"] = device
    return new_estimator(Est, params), params


def _load_network(doc, tensors, Est, module, device):
    """One network from its document and tensors (a file, or a search member)."""
    estimator, params = _constructed(doc, Est, module, device)
    _, device = estimator._validated_settings()
    attrs = _decoded_attributes(doc, Est, set(params), ("net_", STATE_KEY))
    attrs[STATE_KEY] = {
        "version": STATE_VERSION,
        "converted": {"_dtype": "dtype"},
        "net": _decode_net(doc, tensors),
    }
    set_fitted_state(estimator, attrs, device, strict=True)
    return estimator


def _load_search(doc, tensors, Search, module, device):
    """A CV search: its own attributes, and each member through ``_load_network``."""
    search, _ = _constructed(doc, Search, module, device)
    members = field(doc, "members", list, "")
    if not 1 <= len(members) <= 1000:
        raise ValueError(f"{INVALID}: members must hold 1 to 1000.")
    parts = _member_tensors(tensors, len(members))
    Net = search._Net
    nets = []
    for k, (member, part) in enumerate(zip(members, parts, strict=True)):
        if field(member, "estimator", str, f"members[{k}].") != Net.__name__:
            raise ValueError(f"{INVALID}: members[{k}] is not a {Net.__name__}.")
        nets.append(_load_network(member, part, Net, module, device))
    search.__dict__.update(_decode_search_fitted(doc, search, nets))
    search.estimators_, search.best_estimator_ = nets, nets[0]
    return search


def _decode_search_fitted(doc, search, nets):
    """The search's own fitted attributes (checked by the state)."""
    params = search.get_params(deep=False)
    attrs = _decoded_attributes(doc, type(search), params, SEARCH_FROM_MEMBERS)
    return check_search_attributes(attrs, nets)


def _member_tensors(tensors, n_members):
    """The tensors of each member, prefix removed; any other tensor refused."""
    parts = [{} for _ in range(n_members)]
    for name, value in tensors.items():
        match = re.fullmatch(
            rf"{re.escape(_MEMBER_PREFIX)}(0|[1-9]\d{{0,3}})\.(.+)", name
        )
        if match is None or int(match[1]) >= n_members:
            raise ValueError(f"{INVALID}: unexpected tensor {name!r}.")
        parts[int(match[1])][match[2]] = value
    return parts
