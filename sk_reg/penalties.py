"""Weight penalties: the L2 loss term and the proximal L1 step.

Only *weights* are penalised (parameters with two or more dimensions:
linear and convolution kernels); biases and normalisation parameters are not.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["l2_penalty", "penalized_parameters", "prox_l1_"]


def penalized_parameters(module: nn.Module) -> list[torch.nn.Parameter]:
    """Return the parameters that ``l1``/``l2`` act on: the weights, not biases.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    params : list of torch.nn.Parameter
        Trainable parameters with at least two dimensions.

    Examples
    --------
    >>> from torch import nn
    >>> from sk_reg.penalties import penalized_parameters
    >>> [tuple(p.shape) for p in penalized_parameters(nn.Linear(3, 2))]
    [(2, 3)]
    """
    return [p for p in module.parameters() if p.requires_grad and p.dim() >= 2]


def l2_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Sum of squared entries, ``sum_W ||W||_F^2``.

    The training loss adds ``0.5 * l2 * l2_penalty(weights) / sum(batch
    weights)``, which is how :class:`~sklearn.neural_network.MLPClassifier`
    scales ``alpha``.

    Parameters
    ----------
    params : iterable of torch.Tensor
        The weights.

    Returns
    -------
    penalty : torch.Tensor
        A scalar tensor (differentiable).

    Examples
    --------
    >>> import torch
    >>> from sk_reg.penalties import l2_penalty
    >>> l2_penalty([torch.ones(2, 2), torch.full((1, 1), 2.0)])
    tensor(8.)
    """
    params = list(params)
    return torch.stack([p.pow(2).sum() for p in params]).sum()


@torch.no_grad()
def prox_l1_(
    params: Iterable[torch.Tensor],
    optimizer: torch.optim.Optimizer,
    l1: float,
) -> None:
    """Soft-threshold ``params`` in place after an optimizer step.

    ``w <- sign(w) * max(|w| - t, 0)`` with the threshold ``t`` equal to the
    step size the optimizer just used for that entry times ``l1``:

    - SGD: ``t = lr * l1``;
    - Adam / AdamW: ``t = lr * l1 / (sqrt(v_hat) + eps)``, with ``v_hat`` the
      bias-corrected second-moment estimate of that entry (proximal Adam).
      A plain ``lr * l1`` would be tiny next to Adam's normalised steps of
      about ``lr`` and would almost never produce zeros.

    This is a proximal-gradient step for the objective ``loss + l1 * sum |W|``
    and, unlike adding ``l1 * |W|`` to the loss, produces exact zeros.

    Parameters
    ----------
    params : iterable of torch.Tensor
        Weights to threshold (owned by ``optimizer``).

    optimizer : torch.optim.Optimizer
        The optimizer that just stepped; its learning rate and (for Adam)
        second moments set the per-entry threshold.

    l1 : float
        The L1 strength.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.penalties import prox_l1_
    >>> w = torch.nn.Parameter(torch.tensor([[0.05, -0.5, 2.0]]))
    >>> opt = torch.optim.SGD([w], lr=0.1)
    >>> prox_l1_([w], opt, l1=1.0)
    >>> w.data
    tensor([[ 0.0000, -0.4000,  1.9000]])
    """
    if l1 <= 0:
        return
    wanted = {id(p) for p in params}
    for group in optimizer.param_groups:
        scaled_l1 = group["lr"] * l1
        for p in group["params"]:
            if id(p) not in wanted:
                continue
            state = optimizer.state.get(p, {})
            if "exp_avg_sq" in state:
                _, beta2 = group["betas"]
                # sqrt(v_hat) + eps as Adam computes it. A tensor ``step``
                # (fused Adam) stays a tensor: no host sync on a GPU.
                bias_correction2_sqrt = (1 - beta2 ** state["step"]) ** 0.5
                threshold = state["exp_avg_sq"].sqrt().div_(bias_correction2_sqrt)
                threshold.add_(group["eps"]).reciprocal_().mul_(scaled_l1)
                # p - clamp(p, -t, t) = sign(p) * max(|p| - t, 0); where
                # |p| <= t the clamp returns p itself, so the zero is exact.
                p.sub_(torch.clamp(p, min=threshold.neg(), max=threshold))
            else:
                p.sub_(p.clamp(-scaled_l1, scaled_l1))
