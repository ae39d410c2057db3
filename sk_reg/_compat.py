"""The private torch APIs sk_reg uses, each behind a public fallback.

Private torch names can change in any release, so none is used outside this
module, and each has a fallback built from public torch (or numpy) that is
chosen when the private name is missing. The private paths are speed-ups,
never requirements: the fallbacks compute the same numbers (the list
operations, the convolution types) or draw from the same distribution (the
Beta draws), or they send the work down the regular path (the fused Adam
kernel and the hand-written MLP backward give way to ``optimizer.step()`` and
autograd). ``tests/test_compat.py`` removes each private name and checks the
fallback.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np
import torch
from torch import nn


def _private(owner, name):
    """``owner.name``, a private torch attribute, or None where it is missing
    (the one place that looks them up, so tests can take them away)."""
    return getattr(owner, name, None)


# -- lists of tensors ---------------------------------------------------------
def foreach(op, *args, **kwargs):
    """``torch._foreach_<op>(*args, **kwargs)``, or ``Tensor.<op>`` per tensor.

    ``args`` are lists of tensors (one per position) or scalars; an in-place
    ``op`` (``"add_"``) returns None, an out-of-place one a list.
    """
    fused = _private(torch, f"_foreach_{op}")
    if fused is not None:
        return fused(*args, **kwargs)
    method = getattr(torch.Tensor, op, None) or _into_first(getattr(torch, op[:-1]))
    columns = [a if isinstance(a, (list, tuple)) else repeat(a) for a in args]
    # scalars repeat without end: the lists set the length
    out = [method(*row, **kwargs) for row in zip(*columns, strict=False)]
    return None if op.endswith("_") else out


def _into_first(function):
    """An in-place form of ``function`` (``maximum`` has no ``maximum_``)."""

    def inplace(first, *rest, **kwargs):
        return function(first, *rest, out=first, **kwargs)

    return inplace


# -- Adam ---------------------------------------------------------------------
def fused_adam_kernel(decoupled):
    """torch's fused CPU Adam (``decoupled``: AdamW) kernel, or None."""
    return _private(torch, "_fused_adamw_" if decoupled else "_fused_adam_")


def optimizer_hooked(optimizer):
    """Whether step hooks are registered on ``optimizer`` or globally (True
    when torch does not expose them where this looks: assume the worst)."""
    from torch.optim import optimizer as module

    try:
        return bool(
            optimizer._optimizer_step_pre_hooks
            or optimizer._optimizer_step_post_hooks
            or module._global_optimizer_pre_hooks
            or module._global_optimizer_post_hooks
        )
    except AttributeError:
        return True


# -- modules ------------------------------------------------------------------
def module_hooked(layer):
    """Whether ``layer`` has forward or backward hooks (True when torch does
    not expose them where this looks)."""
    try:
        return bool(
            layer._forward_hooks
            or layer._forward_pre_hooks
            or layer._backward_hooks
            or getattr(layer, "_backward_pre_hooks", None)
        )
    except AttributeError:
        return True


_PUBLIC_CONV_TYPES = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
#: Every convolution layer type (their private base class, or the public ones).
CONV_TYPES = (
    (nn.modules.conv._ConvNd,)
    if hasattr(nn.modules.conv, "_ConvNd")
    else _PUBLIC_CONV_TYPES
)


def activation_backward(name):
    """aten's ``<name>_backward`` op (``"threshold"``, ``"tanh"``,
    ``"sigmoid"``), or None: then the hand-written MLP step is not used."""
    try:
        return getattr(torch.ops.aten, f"{name}_backward").default
    except (AttributeError, RuntimeError):
        return None


# -- random draws -------------------------------------------------------------
def sample_beta(alpha, n, *, dtype, device, generator):
    """``n`` draws of Beta(alpha, alpha) from ``generator``.

    The first coordinate of a Dirichlet, as ``Beta.sample`` draws it (whose
    public form takes no generator); without that sampler, numpy draws from a
    seed taken from ``generator``.
    """
    sampler = _private(torch, "_sample_dirichlet")
    if sampler is not None:
        concentration = torch.full((n, 2), float(alpha), dtype=dtype, device=device)
        return sampler(concentration, generator=generator)[:, 0]
    seed = int(torch.randint(2**62, (), generator=generator, device=device))
    draws = np.random.default_rng(seed).beta(alpha, alpha, n)
    return torch.as_tensor(draws, dtype=dtype, device=device)
