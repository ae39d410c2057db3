"""Save and load fitted estimators without pickle.

A saved model is one `safetensors <https://huggingface.co/docs/safetensors>`_
file: the torch module's ``state_dict`` as tensors, and in the file's
metadata header a JSON document with the estimator's class name, its
hyperparameters, the fitted attributes (classes, feature names, training
history) and the library versions, plus a SHA-256 checksum of both.

Loading parses JSON and raw tensor bytes only; nothing is unpickled and no
name read from the file is imported. Classes are looked up in fixed tables:
the two estimators, the module builders of :mod:`sk_reg.modules`, the
augmentations of :mod:`sk_reg.augment` and the optimizers of
:mod:`torch.optim`. The estimator and its torch module are rebuilt through
the same code path as ``fit`` (``_build_net``), then the tensors are checked
against the rebuilt module (names, shapes, dtypes, finiteness) and copied in.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import sys
import tempfile
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import augment as _augment_mod
from . import modules as _modules_mod
from .augment import prepare_augment
from .estimators import RegularizedNetClassifier, RegularizedNetRegressor

__all__ = ["load", "save"]

_FORMAT_KEY = "sk_reg_format"
_FORMAT_VERSION = "1"
_TENSOR_PREFIX = "module."

_ESTIMATORS = {
    cls.__name__: cls for cls in (RegularizedNetClassifier, RegularizedNetRegressor)
}


def _public_classes(module, accept):
    return {
        name: obj for name in module.__all__
        if isinstance(obj := getattr(module, name), type) and accept(obj)
    }


# Whitelists, built from our own modules' __all__ (never from file content).
_BUILDERS = _public_classes(
    _modules_mod, lambda c: issubclass(c, BaseEstimator) and hasattr(c, "build")
)
_AUGMENTATIONS = _public_classes(
    _augment_mod,
    lambda c: issubclass(c, _augment_mod.BaseAugmentation)
    and c is not _augment_mod.BaseAugmentation,
)
_OPTIMIZERS = _public_classes(
    torch.optim,
    lambda c: issubclass(c, torch.optim.Optimizer) and c is not torch.optim.Optimizer,
)
_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_CLASS_DTYPE_KINDS = "biufUO"


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
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__ndarray__": _encode(value.tolist()), "dtype": value.dtype.str}
    if type(value) in _BUILDERS.values():
        return {"__builder__": type(value).__name__,
                "params": _encode_params(value.get_params(deep=False))}
    if type(value) in _AUGMENTATIONS.values():
        return {"__augment__": type(value).__name__,
                "params": _encode_params(value.get_params(deep=False))}
    if isinstance(value, type) and _OPTIMIZERS.get(value.__name__) is value:
        return {"__optimizer__": value.__name__}
    raise _NotStorable(type(value).__name__)


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
        return {_hashable(_decode(k, where), where): _decode(v, where)
                for k, v in pairs}
    if tag == "__ndarray__" and set(value) == {"__ndarray__", "dtype"}:
        dtype = _checked_dtype(value["dtype"], "biuf", where)
        return np.asarray(_decode(value[tag], where), dtype=dtype)
    if tag == "__optimizer__" and len(value) == 1:
        return _lookup(_OPTIMIZERS, value[tag], "optimizer", where)
    for key, table, kind in (("__builder__", _BUILDERS, "module builder"),
                             ("__augment__", _AUGMENTATIONS, "augmentation")):
        if tag == key and set(value) == {key, "params"}:
            cls = _lookup(table, value[key], kind, where)
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
    return cls(**params)


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
        digest.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _versions():
    import safetensors
    import sklearn
    import skorch

    from . import __version__

    return {"sk_reg": __version__, "torch": torch.__version__,
            "skorch": skorch.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "safetensors": safetensors.__version__,
            "python": sys.version.split()[0]}


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


def save(estimator, path):
    """Save a fitted sk_reg estimator to a file that loads without pickle.

    Parameters
    ----------
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
        A fitted estimator.

    path : str or path-like
        Destination file, overwritten atomically (a crash while saving leaves
        any previous file intact). The file is in the safetensors format; the
        suffix ``.safetensors`` is a good choice.

    See Also
    --------
    load : Rebuild the estimator from the file.

    Notes
    -----
    What is stored: the weights and buffers of the torch module (exactly, in
    the compute dtype), the hyperparameters (``get_params(deep=False)``),
    ``classes_`` with its dtype, ``n_features_in_``, ``feature_names_in_``,
    the compute dtype and seed, ``n_iter_``, ``loss_curve_``,
    ``validation_scores_``, ``best_validation_score_``, the per-epoch
    history, the library versions, and a SHA-256 checksum of all of it.

    What is not stored: the optimizer state (further ``partial_fit`` or
    warm-started ``fit`` calls on a loaded model start a fresh optimizer), the
    per-batch history entries, and hyperparameters that cannot be written as
    data: ``callbacks``, a ``random_state`` that is a ``RandomState`` instance,
    a custom optimizer class or augmentation. These do not affect predictions;
    a warning names them, and :func:`load` resets them to their defaults. A
    custom torch module class is recorded by name only and must be passed to
    :func:`load` (``module=MyModule``); built-in modules
    (:mod:`sk_reg.modules`) and augmentations (:mod:`sk_reg.augment`) are
    restored from their parameters.

    The checksum detects corruption and edits made without recomputing it; it
    is not a signature. A file from an untrusted source cannot run code when
    loaded, but it can still hold a model that predicts anything.

    **Persisting a Pipeline.** ``pickle``/``joblib`` work for pipelines that
    contain sk_reg estimators, but loading a pickle runs whatever code the file
    names, so use them only for files you wrote yourself. Otherwise, save the
    sk_reg step with this function and the scikit-learn steps with a format
    that loads with a type allow-list, such as ``skops.io``, then reassemble::

        import skops.io as sio
        from sklearn.pipeline import Pipeline
        import sk_reg

        sk_reg.save(pipe[-1], "net.safetensors")
        sio.dump(pipe[:-1], "preprocessing.skops")
        # ... later, elsewhere:
        pre = sio.load("preprocessing.skops")
        pipe = Pipeline(pre.steps + [("net", sk_reg.load("net.safetensors"))])

    scikit-learn's own transformers (scalers, PCA, encoders) load without a
    ``trusted=`` list; if ``sio.get_untrusted_types(file=...)`` names other
    types, review them before passing them as ``trusted``. ``skops.io`` cannot
    store the sk_reg step itself: its state holds torch tensors.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_reg import RegularizedNetClassifier, load, save
    >>> clf = RegularizedNetClassifier((8,), max_iter=5, random_state=0)
    >>> clf = clf.fit([[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "b"])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save(clf, path)
    >>> restored = load(path)
    >>> (restored.predict_proba([[1.5]]) == clf.predict_proba([[1.5]])).all()
    np.True_
    """
    from safetensors.torch import save as st_save

    if type(estimator) not in _ESTIMATORS.values():
        raise TypeError(
            "sk_reg.save stores RegularizedNetClassifier or RegularizedNetRegressor "
            f"objects; got {type(estimator).__name__}. For a Pipeline, see the "
            "Notes of sk_reg.save."
        )
    check_is_fitted(estimator)

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
                module_info = {"kind": "custom", "class": named.__qualname__,
                               "python_module": named.__module__}
            else:
                unstored[name] = str(exc)
    if unstored:
        warnings.warn(
            f"sk_reg.save cannot store these parameters as data, and load will "
            f"reset them to their defaults: {unstored}. They do not affect "
            "predictions.",
            UserWarning,
            stacklevel=2,
        )

    net = estimator.net_
    classes = getattr(estimator, "classes_", None)
    if classes is not None and classes.dtype.kind not in _CLASS_DTYPE_KINDS:
        raise ValueError(f"classes_ of dtype {classes.dtype} cannot be saved.")
    names = getattr(estimator, "feature_names_in_", None)
    input_shape = getattr(estimator, "_input_shape", None)
    fitted = {
        "n_features_in_": int(estimator.n_features_in_),
        "input_shape": None if input_shape is None else [int(d) for d in input_shape],
        "feature_names_in_": None if names is None else [str(n) for n in names],
        "classes_": None if classes is None else {
            "values": _encode(classes.tolist()), "dtype": classes.dtype.str},
        "y_ndim": getattr(estimator, "_y_ndim", None),
        "n_outputs": int(net.n_outputs),
        "compute_dtype": str(estimator._dtype).removeprefix("torch."),
        "seed": int(estimator._seed),
        "batch_size": int(net.batch_size),
        "n_iter_": int(estimator.n_iter_),
        "loss_curve_": [float(v) for v in estimator.loss_curve_],
        "validation_scores_": None if estimator.validation_scores_ is None
        else [float(v) for v in estimator.validation_scores_],
        "best_validation_score_": None if estimator.best_validation_score_ is None
        else float(estimator.best_validation_score_),
        "history": _history_rows(net.history),
    }
    document = json.dumps({
        "format_version": int(_FORMAT_VERSION),
        "estimator": type(estimator).__name__,
        "params": params,
        "unstored_params": unstored,
        "module": module_info,
        "fitted": fitted,
        "versions": _versions(),
    }, allow_nan=False, sort_keys=True)
    # Own copies: contiguous, on the CPU, no shared storage (tied weights).
    tensors = {
        _TENSOR_PREFIX + k: v.detach().to("cpu", copy=True).contiguous()
        for k, v in net.module_.state_dict().items()
    }
    blob = st_save(tensors, metadata={
        _FORMAT_KEY: _FORMAT_VERSION, "sk_reg": document,
        "sha256": _checksum(document, tensors),
    })
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                               prefix=".sk_reg-", suffix=".tmp")
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

    def no_constants(name):
        raise ValueError(f"non-standard JSON constant {name}")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate keys")
        return dict(pairs)

    try:
        doc = json.loads(document, parse_constant=no_constants,
                         object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"{not_ours}: its metadata is not valid JSON ({exc})."
        ) from None
    return doc, tensors


def _field(mapping, key, types, where):
    """``mapping[key]``, which must exist and have one of ``types``."""
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(f"Invalid sk_reg model file: {where}{key} is missing.")
    value = mapping[key]
    types = types if isinstance(types, tuple) else (types,)
    # bool is an int subclass; it is only accepted where asked for.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ValueError(
            f"Invalid sk_reg model file: {where}{key} has the wrong type "
            f"({type(value).__name__})."
        )
    return value


def _float_list(values, where):
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
               and np.isfinite(v) for v in values):
        raise ValueError(
            f"Invalid sk_reg model file: {where} must hold finite numbers."
        )
    return [float(v) for v in values]


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
    estimator : RegularizedNetClassifier or RegularizedNetRegressor
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
    from skorch.history import History

    from . import __version__

    doc, tensors = _read(path)
    name = _field(doc, "estimator", str, "")
    Est = _lookup(_ESTIMATORS, name, "estimator class", "estimator")
    if _field(doc, "format_version", int, "") != int(_FORMAT_VERSION):
        raise ValueError("Invalid sk_reg model file: unsupported format_version.")
    saved_version = _field(doc, "versions", dict, "").get("sk_reg")
    if saved_version != __version__:
        warnings.warn(
            f"The model was saved by sk_reg {saved_version} and is loaded by "
            f"sk_reg {__version__}.",
            UserWarning,
            stacklevel=2,
        )

    # Hyperparameters: only the estimator's own names; tagged values only.
    params = _decode_params(_field(doc, "params", dict, ""), "params")
    defaults = {k: p.default for k, p in inspect.signature(Est).parameters.items()}
    if set(params) != set(defaults):
        raise ValueError(
            f"Invalid sk_reg model file: the parameters {sorted(params)} are not "
            f"those of {name}."
        )
    unstored = _field(doc, "unstored_params", dict, "")
    if not set(unstored) <= set(defaults) - {"module"}:
        raise ValueError("Invalid sk_reg model file: bad unstored_params.")
    for key in unstored:
        params[key] = defaults[key]
    if unstored:
        warnings.warn(
            f"These parameters were not stored and are reset to their defaults: "
            f"{sorted(unstored)}. Predictions are not affected.",
            UserWarning,
            stacklevel=2,
        )
    module_info = _field(doc, "module", dict, "")
    kind = _field(module_info, "kind", str, "module.")
    if kind not in ("builtin", "custom"):
        raise ValueError(f"Invalid sk_reg model file: module kind {kind!r}.")
    if kind == "custom" and module is None:
        saved_cls = module_info.get("class")
        plain = isinstance(saved_cls, str) and re.fullmatch(r"[\w.<>]{1,200}",
                                                            saved_cls)
        if not plain:
            saved_cls = "YourModule"  # never echo arbitrary file content
        raise ValueError(
            f"The model was saved with a custom module ({saved_cls}). sk_reg.load "
            f"never imports code named in a file: pass the class explicitly, "
            f"sk_reg.load(path, module={saved_cls})."
        )
    if module is not None:
        params["module"] = module
    if device is not None:
        params["device"] = device
    estimator = Est(**params)
    estimator._validate_params()
    augment, device = estimator._check_params()

    fitted = _field(doc, "fitted", dict, "")
    n_features = _field(fitted, "n_features_in_", int, "fitted.")
    n_outputs = _field(fitted, "n_outputs", int, "fitted.")
    dtype_name = _field(fitted, "compute_dtype", str, "fitted.")
    seed = _field(fitted, "seed", int, "fitted.")
    batch_size = _field(fitted, "batch_size", int, "fitted.")
    if n_features < 1 or n_outputs < 1 or batch_size < 1 or not 0 <= seed < 2**63:
        raise ValueError("Invalid sk_reg model file: sizes out of range.")
    if dtype_name not in _TORCH_DTYPES:
        raise ValueError(f"Invalid sk_reg model file: compute dtype {dtype_name!r}.")
    dtype = _TORCH_DTYPES[dtype_name]

    classes = None
    if Est is RegularizedNetClassifier:
        spec = _field(fitted, "classes_", dict, "fitted.")
        values = _decode(_field(spec, "values", list, "fitted.classes_."), "classes_")
        cdtype = _checked_dtype(_field(spec, "dtype", str, "fitted.classes_."),
                                _CLASS_DTYPE_KINDS, "classes_")
        if not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise ValueError("Invalid sk_reg model file: classes_ values.")
        classes = np.empty(len(values), dtype=cdtype)
        classes[:] = values
        if len(classes) < 2 or len(classes) != n_outputs or len(
                np.unique(classes)) != len(classes):
            raise ValueError(
                "Invalid sk_reg model file: classes_ must hold n_outputs (at least "
                "2) distinct labels."
            )
    else:
        y_ndim = _field(fitted, "y_ndim", int, "fitted.")
        if y_ndim not in (1, 2) or (y_ndim == 1 and n_outputs != 1):
            raise ValueError("Invalid sk_reg model file: y_ndim.")
    names = fitted.get("feature_names_in_")
    if names is not None and (
        not isinstance(names, list) or len(names) != n_features
        or not all(isinstance(n, str) for n in names)
    ):
        raise ValueError(
            "Invalid sk_reg model file: feature_names_in_ must hold n_features_in_ "
            "strings."
        )

    input_shape = fitted.get("input_shape")
    if input_shape is not None:
        if not (isinstance(input_shape, list) and len(input_shape) == 3 and all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0
            for d in input_shape
        ) and int(np.prod(input_shape)) == n_features):
            raise ValueError(
                "Invalid sk_reg model file: input_shape must be three positive "
                "ints whose product is n_features_in_."
            )
        input_shape = tuple(input_shape)

    n_iter = _field(fitted, "n_iter_", int, "fitted.")
    loss_curve = _float_list(_field(fitted, "loss_curve_", list, "fitted."),
                             "loss_curve_")
    scores = fitted.get("validation_scores_")
    if scores is not None:
        scores = _float_list(_field(fitted, "validation_scores_", list, "fitted."),
                             "validation_scores_")
    best = fitted.get("best_validation_score_")
    if best is not None:
        best = _float_list([best], "best_validation_score_")[0]
    history = _field(fitted, "history", list, "fitted.")
    if not all(isinstance(row, dict) for row in history) or not (
        n_iter == len(history) == len(loss_curve)
    ):
        raise ValueError(
            "Invalid sk_reg model file: n_iter_, loss_curve_ and history disagree."
        )

    # The module, rebuilt exactly as fit builds it, then the saved weights.
    estimator._input_shape = input_shape
    try:
        augment = prepare_augment(augment, n_features, input_shape)
        net = estimator._build_net(
            n_features, n_outputs, augment=augment, device=device, dtype=dtype,
            seed=seed, batch_size=batch_size,
            early_stopping=estimator.early_stopping, incremental=False,
        )
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"The module cannot be rebuilt from the saved parameters: {exc}"
        ) from exc
    expected = net.module_.state_dict()
    state = {}
    for key in tensors:
        if not key.startswith(_TENSOR_PREFIX):
            raise ValueError(f"Invalid sk_reg model file: unexpected tensor {key!r}.")
        state[key[len(_TENSOR_PREFIX):]] = tensors[key]
    if state.keys() != expected.keys():
        raise ValueError(
            "The saved weights do not match the module rebuilt from the saved "
            f"parameters: missing {sorted(expected.keys() - state.keys())}, "
            f"unexpected {sorted(state.keys() - expected.keys())}."
        )
    for key, value in state.items():
        want = expected[key]
        if value.shape != want.shape or value.dtype != want.dtype:
            raise ValueError(
                f"The saved tensor {key!r} has shape {tuple(value.shape)} and dtype "
                f"{value.dtype}; the module rebuilt from the saved parameters needs "
                f"{tuple(want.shape)} and {want.dtype}."
            )
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError(f"The saved tensor {key!r} holds non-finite values.")
    net.module_.load_state_dict(state)
    net.history_ = History(dict(row, batches=[]) for row in history)

    estimator.net_ = net
    estimator.n_features_in_ = n_features
    if names is not None:
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    if classes is not None:
        estimator.classes_ = classes
        estimator._class_index = {c: i for i, c in enumerate(classes.tolist())}
    else:
        estimator._y_ndim = y_ndim
    estimator._dtype = dtype
    estimator._seed = seed
    estimator.n_iter_ = n_iter
    estimator.loss_curve_ = loss_curve
    estimator.validation_scores_ = scores
    estimator.best_validation_score_ = best
    return estimator
