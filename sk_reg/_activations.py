"""The one catalogue of hidden-layer activations.

Per name (the ``activation`` parameter of the estimators, ``MLP`` and
``ConvNet``): the torch layer class, the forward and backward the built-in
MLP's hand-written step uses (:mod:`sk_reg._fast_mlp`; None where it has none,
so a network with that activation trains through autograd) and the ONNX
operator :mod:`sk_reg.onnx` writes (None for the identity, which needs none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ._compat import activation_backward


@dataclass(frozen=True)
class Activation:
    """One activation of the catalogue.

    Attributes
    ----------
    layer : type
        The :class:`torch.nn.Module` class the networks are built with.
    forward : callable or None
        Tensor -> tensor, for the hand-written step; None for the identity.
    backward : callable or None
        ``(grad, output) -> grad`` from the forward's output; None where the
        hand-written step does not support the activation (or this torch lacks
        its backward kernel).
    onnx : str or None
        The ONNX operator (``"Gelu"``: sk_reg.onnx writes the exact, erf form).

    Examples
    --------
    >>> from sk_reg._activations import ACTIVATIONS
    >>> ACTIVATIONS["logistic"].layer, ACTIVATIONS["logistic"].onnx
    (<class 'torch.nn.modules.activation.Sigmoid'>, 'Sigmoid')
    """

    layer: type
    forward: Callable | None
    backward: Callable | None
    onnx: str | None

    @property
    def hand_written(self):
        """Whether the hand-written MLP step can take this activation."""
        return self.layer is nn.Identity or self.backward is not None


def _relu_backward():
    threshold = activation_backward("threshold")
    if threshold is None:
        return None
    return lambda grad, out: threshold(grad, out, 0)


#: The activations by name.
ACTIVATIONS = {
    "relu": Activation(nn.ReLU, torch.relu, _relu_backward(), "Relu"),
    "tanh": Activation(nn.Tanh, torch.tanh, activation_backward("tanh"), "Tanh"),
    "logistic": Activation(
        nn.Sigmoid, torch.sigmoid, activation_backward("sigmoid"), "Sigmoid"
    ),
    "identity": Activation(nn.Identity, None, None, None),
    "gelu": Activation(nn.GELU, torch.nn.functional.gelu, None, "Gelu"),
}

#: The same activations by layer class.
BY_LAYER = {a.layer: a for a in ACTIVATIONS.values()}
