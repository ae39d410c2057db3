"""ONNX export of sk_reg estimators, alone or inside scikit-learn pipelines.

Importing this module registers converters with `skl2onnx
<https://onnx.ai/sklearn-onnx/>`_, after which ``skl2onnx.to_onnx`` converts
pipelines that hold a :class:`~sk_reg.RegularizedNetClassifier` or
:class:`~sk_reg.RegularizedNetRegressor` like any scikit-learn model. The
``*CV`` estimators (:class:`~sk_reg.RegularizedNetClassifierCV`,
:class:`~sk_reg.RegularizedNetRegressorCV`) export as what they predict
with: the mean of their refitted ``estimators_`` (probabilities for
classifiers), every network in one graph::

    import skl2onnx
    import sk_reg.onnx  # noqa: F401  (registers the converters)

    onx = skl2onnx.to_onnx(pipe, X[:1].astype("float32"))

The network is read from the fitted state in eval mode, so dropout and
augmentation (training-only) are absent from the graph. A network made of
``Linear`` layers and the built-in activations (the default MLP, the
:class:`~sk_reg.modules.MLP` builder, a user's ``nn.Sequential`` of these) is
written as ``Gemm`` and activation nodes from its weights; any other module
(:class:`~sk_reg.modules.ConvNet`, a custom ``nn.Module``) is exported with
``torch.onnx.export`` (the TorchScript exporter, which needs nothing beyond
torch and onnx) and its graph is embedded. The graph computes in the model's
compute dtype (the input is cast to it, as ``predict`` does) and returns
probabilities or predictions in the input's dtype.

Classifiers have two outputs, the label and the probabilities, and accept
skl2onnx's ``zipmap`` option (``options={id(clf): {"zipmap": False}}`` gives
a plain probability matrix) and ``nocl``. Requires the optional dependencies
``skl2onnx`` and ``onnxruntime`` (``pip install ".[onnx]"``).

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> import skl2onnx
>>> import sk_reg.onnx
>>> from sk_reg import RegularizedNetRegressor
>>> X = np.random.RandomState(0).rand(20, 3).astype(np.float32)
>>> reg = RegularizedNetRegressor((4,), max_iter=5, random_state=0).fit(X, X.sum(1))
>>> onx = skl2onnx.to_onnx(reg, X[:1])
>>> sess = ort.InferenceSession(onx.SerializeToString())
>>> out = sess.run(None, {"X": X})[0]
>>> bool(np.allclose(out.ravel(), reg.predict(X), atol=1e-5))
True
"""

from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
)
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from torch import nn

from ._activations import BY_LAYER
from ._state import exported_network
from .cv import RegularizedNetClassifierCV, RegularizedNetRegressorCV
from .estimators import RegularizedNetClassifier, RegularizedNetRegressor
from .modules import plain_mlp_layers

__all__ = []

_ONNX_TYPES = {torch.float32: TensorProto.FLOAT, torch.float64: TensorProto.DOUBLE}
_NUMPY_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64}
# The newest opset the TorchScript exporter writes.
_TORCH_MAX_OPSET = 20


# -- shape calculators -------------------------------------------------------
def _check_classifier(net):
    classes = net.classes
    if net.task == "multilabel":
        return
    if classes.dtype.kind not in "biuUO" or (
        classes.dtype.kind == "O" and not all(isinstance(c, str) for c in classes)
    ):
        raise NotImplementedError(
            f"sk_reg.onnx converts integer or string class labels; classes_ has "
            f"dtype {classes.dtype}."
        )


def _fitted_nets(operator):
    """The fitted networks behind ``operator`` (:class:`NetworkExport`): the
    estimator's, or a search's refits.

    A search predicts with the mean of its ``estimators_`` (best first).
    """
    est = operator.raw_operator
    return [exported_network(e) for e in getattr(est, "estimators_", [est])]


def _fitted_net(operator):
    """The first (for a search: the best) network behind ``operator``."""
    return _fitted_nets(operator)[0]


def _classifier_shapes(operator):
    net = _fitted_net(operator)
    _check_classifier(net)
    if net.task != "multilabel":
        calculate_linear_classifier_output_shapes(operator)
        return
    # Multilabel: the 0/1 indicator matrix and the per-label probabilities.
    n, n_labels = operator.inputs[0].get_first_dimension(), len(net.classes)
    in_type = operator.inputs[0].type
    proba_cls = (
        DoubleTensorType if isinstance(in_type, DoubleTensorType) else (FloatTensorType)
    )
    operator.outputs[0].type = Int64TensorType([n, n_labels])
    operator.outputs[1].type = proba_cls([n, n_labels])


def _regressor_shapes(operator):
    in_type = operator.inputs[0].type
    out_cls = (
        type(in_type)
        if isinstance(in_type, (FloatTensorType, DoubleTensorType))
        else FloatTensorType
    )
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = out_cls([n, _fitted_net(operator).n_outputs])


# -- the network ---------------------------------------------------------------
def _sequential_layers(module):
    """The layers of a plain MLP that need nodes (no dropout or identity: the
    identity in eval mode), else None (``torch.onnx.export`` then)."""
    layers = plain_mlp_layers(module)
    if layers is None or any(
        isinstance(layer, nn.GELU) and layer.approximate != "none"
        for _, layer in layers
    ):
        return None
    return [
        layer
        for kind, layer in layers
        if kind == "linear" or (kind == "activation" and BY_LAYER[type(layer)].onnx)
    ]


def _add_array(scope, container, stem, array):
    name = scope.get_unique_variable_name(stem)
    if array.dtype == object:  # strings: string_data, never raw bytes
        container.add_initializer(
            name,
            TensorProto.STRING,
            list(array.shape),
            [str(v).encode() for v in array.ravel()],
        )
    else:
        container.add_initializer(
            name,
            None,
            list(array.shape),
            numpy_helper.from_array(np.ascontiguousarray(array)),
        )
    return name


def _emit_layers(scope, container, layers, x, onnx_type):
    """Gemm and activation nodes computing ``layers`` on ``x``."""
    for layer in layers:
        out = scope.get_unique_variable_name("h")
        if isinstance(layer, nn.Linear):
            weight = _add_array(
                scope, container, "W", layer.weight.detach().cpu().numpy()
            )
            inputs = [x, weight]
            if layer.bias is not None:
                inputs.append(
                    _add_array(scope, container, "b", layer.bias.detach().cpu().numpy())
                )
            container.add_node(
                "Gemm",
                inputs,
                out,
                transB=1,
                name=scope.get_unique_operator_name("Gemm"),
            )
        elif BY_LAYER[type(layer)].onnx == "Gelu":  # the erf form, any opset
            out = _emit_gelu(scope, container, x, out, onnx_type)
        else:
            op = BY_LAYER[type(layer)].onnx
            container.add_node(op, [x], out, name=scope.get_unique_operator_name(op))
        x = out
    return x


def _emit_gelu(scope, container, x, out, onnx_type):
    """Exact GELU: the ``Gelu`` op from opset 20, else ``0.5 x (1 + erf(x/√2))``.

    onnxruntime implements ``Erf`` and ``Gelu`` for float32 only: a float64
    network computes this activation in float32 (relative error ~1e-7).
    """
    if onnx_type == TensorProto.DOUBLE:
        x32 = _cast(scope, container, x, TensorProto.FLOAT, "gelu_in")
        y32 = _emit_gelu(
            scope,
            container,
            x32,
            scope.get_unique_variable_name("g"),
            TensorProto.FLOAT,
        )
        container.add_node(
            "Cast",
            [y32],
            out,
            to=TensorProto.DOUBLE,
            name=scope.get_unique_operator_name("Cast"),
        )
        return out
    if container.target_opset >= 20:
        container.add_node(
            "Gelu", [x], out, op_version=20, name=scope.get_unique_operator_name("Gelu")
        )
        return out
    consts = [
        _add_array(scope, container, stem, np.array(v, dtype=np.float32))
        for stem, v in (("half", 0.5), ("one", 1.0), ("sqrt2", np.sqrt(2.0)))
    ]
    half, one, root2 = consts
    names = [scope.get_unique_variable_name(s) for s in ("d", "e", "p", "m")]
    for op, inputs, output in (
        ("Div", [x, root2], names[0]),
        ("Erf", [names[0]], names[1]),
        ("Add", [names[1], one], names[2]),
        ("Mul", [x, names[2]], names[3]),
        ("Mul", [names[3], half], out),
    ):
        container.add_node(op, inputs, output, name=scope.get_unique_operator_name(op))
    return out


def _exported_graph(module, n_features, dtype, opset):
    """``module`` through ``torch.onnx.export`` (TorchScript exporter)."""
    module = copy.deepcopy(module).to("cpu").eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated (torch >= 2.9);
        # the dynamo exporter would need onnxscript.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(2, n_features, dtype=dtype),),
            buffer,
            dynamo=False,
            opset_version=min(opset, _TORCH_MAX_OPSET),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
        )
    return onnx.load_from_string(buffer.getvalue()).graph


def _embed_graph(scope, container, graph, x):
    """Copy ``graph``'s nodes and initializers in, its input renamed to ``x``."""
    names = {"": "", graph.input[0].name: x}

    def rename(name):
        if name not in names:
            names[name] = scope.get_unique_variable_name("t")
        return names[name]

    for init in graph.initializer:
        container.add_initializer(
            rename(init.name),
            None,
            list(init.dims),
            numpy_helper.from_array(numpy_helper.to_array(init)),
        )
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if any(isinstance(v, onnx.GraphProto) for v in attrs.values()):
            raise NotImplementedError(
                f"sk_reg.onnx cannot embed the control-flow node {node.op_type} "
                "of the exported module."
            )
        container.add_node(
            node.op_type,
            [rename(i) for i in node.input],
            [rename(o) for o in node.output],
            op_domain=node.domain,
            name=scope.get_unique_operator_name(node.op_type),
            **attrs,
        )
    return rename(graph.output[0].name)


def _emit_network(scope, container, net, x):
    """The network's outputs (logits or predictions) for the input ``x``."""
    onnx_type = _ONNX_TYPES[net.dtype]
    layers = _sequential_layers(net.module)
    if layers is not None:
        return _emit_layers(scope, container, layers, x, onnx_type)
    graph = _exported_graph(
        net.module, net.n_features, net.dtype, container.target_opset
    )
    return _embed_graph(scope, container, graph, x)


def _cast(scope, container, name, to_type, stem):
    out = scope.get_unique_variable_name(stem)
    container.add_node(
        "Cast", [name], out, to=to_type, name=scope.get_unique_operator_name("Cast")
    )
    return out


def _network_output(scope, operator, container, net, inputs):
    """Run the network ``net`` on the input cast to its compute dtype.

    ``inputs`` maps compute dtypes to the input already cast to them, so that
    the networks of an ensemble share one cast.
    """
    compute = _ONNX_TYPES[net.dtype]
    if compute not in inputs:
        x = operator.inputs[0]
        name = x.full_name
        if x.type.to_onnx_type().tensor_type.elem_type != compute:
            name = _cast(scope, container, name, compute, "x_cast")
        inputs[compute] = name
    return _emit_network(scope, container, net, inputs[compute]), compute


def _to_output(scope, container, name, compute, variable):
    """Write ``name`` into the declared output ``variable``, cast if needed."""
    want = variable.type.to_onnx_type().tensor_type.elem_type
    if want == compute:
        container.add_node(
            "Identity",
            [name],
            variable.full_name,
            name=scope.get_unique_operator_name("Identity"),
        )
    else:
        container.add_node(
            "Cast",
            [name],
            variable.full_name,
            to=want,
            name=scope.get_unique_operator_name("Cast"),
        )


# -- converters ------------------------------------------------------------------
def _mean_of(scope, container, names, compute):
    """The element-wise mean of the tensors ``names`` (the tensor when alone).

    A ``Sum`` divided by the count, as numpy's mean computes it: onnxruntime
    has no ``Mean`` kernel for doubles.
    """
    if len(names) == 1:
        return names[0]
    total = scope.get_unique_variable_name("sum")
    container.add_node(
        "Sum", list(names), total, name=scope.get_unique_operator_name("Sum")
    )
    count = np.full(1, len(names), _NUMPY_TYPES[compute])
    out = scope.get_unique_variable_name("mean")
    container.add_node(
        "Div",
        [total, _add_array(scope, container, "count", count)],
        out,
        name=scope.get_unique_operator_name("Div"),
    )
    return out


def _mean_output(scope, operator, container, transform):
    """Mean over the fitted networks of ``transform(output)``; with its dtype."""
    outputs, inputs = [], {}
    for net in _fitted_nets(operator):
        out, compute = _network_output(scope, operator, container, net, inputs)
        outputs.append(transform(net, out, compute))
    return _mean_of(scope, container, outputs, compute), compute


def _convert_classifier(scope, operator, container):
    net = _fitted_net(operator)
    if net.task == "multilabel":
        _convert_multilabel(scope, operator, container)
        return

    proba, compute = _mean_output(
        scope,
        operator,
        container,
        lambda net, logits, compute: _unary(
            scope, container, "Softmax", logits, axis=1
        ),
    )
    _to_output(scope, container, proba, compute, operator.outputs[1])
    index = _unary(scope, container, "ArgMax", proba, axis=1, keepdims=0)
    classes = net.classes
    if classes.dtype.kind in "biu":
        table = classes.astype(np.int64)
    else:
        table = np.array([str(c) for c in classes], dtype=object)
    labels = _add_array(scope, container, "classes", table)
    container.add_node(
        "Gather",
        [labels, index],
        operator.outputs[0].full_name,
        axis=0,
        name=scope.get_unique_operator_name("Gather"),
    )


def _convert_multilabel(scope, operator, container):
    """One sigmoid per label; a label is on where its logit is positive.

    For a search's ensemble: where the mean of its networks' sigmoids
    exceeds one half, as its ``predict`` decides.
    """
    nets = _fitted_nets(operator)
    if len(nets) == 1:
        scores, compute = _network_output(scope, operator, container, nets[0], {})
        proba, threshold = _unary(scope, container, "Sigmoid", scores), 0.0
    else:
        proba, compute = _mean_output(
            scope,
            operator,
            container,
            lambda net, logits, compute: _unary(scope, container, "Sigmoid", logits),
        )
        scores, threshold = proba, 0.5
    _to_output(scope, container, proba, compute, operator.outputs[1])
    cut = _add_array(
        scope, container, "threshold", np.full(1, threshold, _NUMPY_TYPES[compute])
    )
    positive = scope.get_unique_variable_name("positive")
    container.add_node(
        "Greater",
        [scores, cut],
        positive,
        name=scope.get_unique_operator_name("Greater"),
    )
    _to_output(scope, container, positive, TensorProto.BOOL, operator.outputs[0])


def _unary(scope, container, op, x, **attrs):
    """The output of the one-input node ``op`` applied to ``x``."""
    out = scope.get_unique_variable_name(op.lower())
    container.add_node(op, [x], out, name=scope.get_unique_operator_name(op), **attrs)
    return out


def _convert_regressor(scope, operator, container):
    def prediction(net, out, compute):
        if net.out_activation == "exp":  # loss="poisson"
            out = _unary(scope, container, "Exp", out)
        if net.y_shift is not None:  # normalize_y=True
            dtype = _NUMPY_TYPES[compute]
            for op, array in (("Mul", net.y_scale), ("Add", net.y_shift)):
                result = scope.get_unique_variable_name(op.lower())
                operand = _add_array(scope, container, op.lower(), array.astype(dtype))
                container.add_node(
                    op, [out, operand], result, name=scope.get_unique_operator_name(op)
                )
                out = result
        return out

    out, compute = _mean_output(scope, operator, container, prediction)
    _to_output(scope, container, out, compute, operator.outputs[0])


_CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
for _cls in (RegularizedNetClassifier, RegularizedNetClassifierCV):
    update_registered_converter(
        _cls,
        f"SkReg{_cls.__name__}",
        _classifier_shapes,
        _convert_classifier,
        options=_CLASSIFIER_OPTIONS,
    )
for _cls in (RegularizedNetRegressor, RegularizedNetRegressorCV):
    update_registered_converter(
        _cls, f"SkReg{_cls.__name__}", _regressor_shapes, _convert_regressor
    )
