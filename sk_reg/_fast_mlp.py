"""A hand-written backward pass for plain multilayer perceptrons.

At MLPClassifier's default sizes (100 hidden units, 200-row batches) a CPU
training step is dominated by per-operation overhead, not arithmetic: the
autograd graph, the engine, module calls. For an :class:`torch.nn.Sequential`
made only of linear layers, element-wise activations and sk_reg's
:class:`~sk_reg.modules.Dropout`, the forward pass runs without a graph and
the gradients are written straight into ``param.grad``, as MLPClassifier does
in numpy. Only the loss (any of :mod:`sk_reg._losses`, with sample weights,
label smoothing or soft targets) goes through autograd, on the outputs alone.

The activations' backward uses the same ATen kernels autograd uses, so the
gradients equal autograd's up to the order of floating point sums.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ._activations import BY_LAYER
from ._compat import module_hooked
from ._sparse import is_csr
from .modules import Dropout, plain_mlp_layers

_LINEAR, _ACTIVATION, _DROPOUT = range(3)


def mlp_plan(module):
    """The layers of ``module`` as ``(kind, layer)`` steps, or None.

    None unless ``module`` is a plain MLP (:func:`sk_reg.modules.plain_mlp_layers`)
    whose activations all have a hand-written backward, whose dropout layers
    are sk_reg's and whose linear layers have biases, without hooks, every
    parameter trainable. Activation steps hold their catalogue entry.
    """
    layers = plain_mlp_layers(module)
    if layers is None or module_hooked(module):
        return None
    if not all(p.requires_grad for p in module.parameters()):
        return None
    steps = []
    for kind, layer in layers:
        if module_hooked(layer):
            return None
        if kind == "linear" and layer.bias is not None:
            steps.append((_LINEAR, layer))
        elif kind == "activation" and BY_LAYER[type(layer)].hand_written:
            activation = BY_LAYER[type(layer)]
            if activation.forward is not None:  # not the identity
                steps.append((_ACTIVATION, activation))
        elif type(layer) is Dropout:
            steps.append((_DROPOUT, layer))
        else:
            return None
    return steps


def applies(plan, X):
    """Whether the hand-written step can train on the batch ``X``."""
    return plan is not None and X.device.type == "cpu" and not is_csr(X)


def predict(plan, X):
    """Eval-mode forward of the planned layers (dropout is the identity)."""
    h = X
    for kind, step in plan:
        if kind == _LINEAR:
            h = F.linear(h, step.weight, step.bias)
        elif kind == _ACTIVATION:
            h = step.forward(h)
    return h


def forward_backward(plan, X, y, sw, loss):
    """Forward ``X``, then write the gradients of the batch loss into ``.grad``.

    ``loss`` is one of :mod:`sk_reg._losses`; returns ``(outputs, loss,
    weight sum)`` as its ``batch_loss_and_grad``. Dropout masks are drawn as
    training-mode ``Dropout.forward`` draws them.
    """
    saved = []
    h = X
    with torch.no_grad():  # the loss's autograd fallback re-enables grad
        for kind, step in plan:
            if kind == _LINEAR:
                saved.append(h)
                h = F.linear(h, step.weight, step.bias)
            elif kind == _ACTIVATION:
                h = step.forward(h)
                saved.append(h)
            else:
                mask = step.training_mask(h)
                if mask is None:  # torch's own dropout: keep its mask
                    mask = F.dropout(torch.ones_like(h), step.p, True)
                h = h * mask
                saved.append(mask)
        value, sw_sum, grad = loss.batch_loss_and_grad(h, y, sw)
        for i in range(len(plan) - 1, -1, -1):
            kind, step = plan[i]
            if kind == _LINEAR:
                step.weight.grad = grad.t().mm(saved[i])
                step.bias.grad = grad.sum(0)
                if i:
                    grad = grad.mm(step.weight)
            elif kind == _ACTIVATION:
                grad = step.backward(grad, saved[i])
            else:
                grad = grad * saved[i]
    return h, value, sw_sum
