"""Fused Adam/AdamW steps without ``Optimizer.step``'s Python layers.

At MLPClassifier's default sizes the fused Adam kernel itself takes about a
third of ``optimizer.step()``; the rest is the step's wrappers (profiler
record, hooks, grad mode, ``_init_group``, grouping by device). For the
plain case, :func:`step` calls the same kernel on the same tensors as
``torch.optim.Adam(fused=True).step()`` does, so the update is identical;
anything unusual goes through ``optimizer.step()``.
"""

from __future__ import annotations

import torch

from ._compat import foreach, fused_adam_kernel, optimizer_hooked

_FUSED = {torch.optim.Adam, torch.optim.AdamW}


def _plain_group(group):
    return (
        group.get("fused")
        and not group.get("differentiable")
        and not group.get("capturable")
        and not isinstance(group["lr"], torch.Tensor)
    )


def can_step(optimizer):
    """Whether :func:`step` applies: fused Adam/AdamW on the CPU, past its
    first step (state exists for every parameter), no hooks, and this torch
    has the kernel."""
    if type(optimizer) not in _FUSED or optimizer_hooked(optimizer):
        return False
    for group in optimizer.param_groups:
        if not _plain_group(group) or not _kernel(optimizer, group):
            return False
        for p in group["params"]:
            state = optimizer.state.get(p)
            if not state or p.device.type != "cpu" or p.is_complex():
                return False
    return True


def _kernel(optimizer, group):
    """The group's fused kernel: AdamW's when its weight decay is decoupled
    (before torch 2.7 AdamW's groups have no ``decoupled_weight_decay`` key:
    the class says it), or None where this torch has none."""
    default = type(optimizer) is torch.optim.AdamW
    return fused_adam_kernel(group.get("decoupled_weight_decay", default))


@torch.no_grad()
def step(optimizer):
    """One Adam/AdamW update of the parameters that have a gradient.

    Call only when :func:`can_step` is true and after the gradients are set.
    """
    for group in optimizer.param_groups:
        params, grads, avgs, sqs, maxs, steps = [], [], [], [], [], []
        for p in group["params"]:
            if p.grad is None:
                continue
            state = optimizer.state[p]
            params.append(p)
            grads.append(p.grad)
            avgs.append(state["exp_avg"])
            sqs.append(state["exp_avg_sq"])
            if group["amsgrad"]:
                maxs.append(state["max_exp_avg_sq"])
            steps.append(state["step"])
        if not params:
            continue
        beta1, beta2 = group["betas"]
        foreach("add_", steps, 1)
        _kernel(optimizer, group)(
            params,
            grads,
            avgs,
            sqs,
            maxs,
            steps,
            amsgrad=group["amsgrad"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )
