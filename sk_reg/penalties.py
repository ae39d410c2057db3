"""Weight penalties: the L2 loss term and the proximal L1 and group-L1 steps.

Only *weights* are penalised (parameters with two or more dimensions:
linear and convolution kernels); biases and normalisation parameters are not.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = [
    "group_l1_penalty",
    "l2_penalty",
    "penalized_parameters",
    "prox_group_l1_",
    "prox_l1_",
]


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
            root_v_hat = _adam_root_v_hat(optimizer, group, p)
            if root_v_hat is not None:
                threshold = root_v_hat.add_(group["eps"]).reciprocal_().mul_(scaled_l1)
                # p - clamp(p, -t, t) = sign(p) * max(|p| - t, 0); where
                # |p| <= t the clamp returns p itself, so the zero is exact.
                p.sub_(torch.clamp(p, min=threshold.neg(), max=threshold))
            else:
                p.sub_(p.clamp(-scaled_l1, scaled_l1))


def _adam_root_v_hat(optimizer, group, p):
    """``sqrt(v_hat)`` of ``p`` as Adam/AdamW compute it, or None.

    None when the optimizer keeps no second moments for ``p`` (SGD, or Adam
    before its first step). With ``amsgrad`` the running maximum is what Adam
    divides by. A tensor ``step`` (fused Adam) stays a tensor: no host sync
    on a GPU. Returns a new tensor (callers may modify it in place).
    """
    state = optimizer.state.get(p, {})
    if "exp_avg_sq" not in state:
        return None
    _, beta2 = group["betas"]
    second = state["max_exp_avg_sq"] if group.get("amsgrad") else state["exp_avg_sq"]
    bias_correction2_sqrt = (1 - beta2 ** state["step"]) ** 0.5
    return second.sqrt().div_(bias_correction2_sqrt)


def group_l1_penalty(weight: torch.Tensor) -> torch.Tensor:
    """Sum of the Euclidean norms of the columns, ``sum_j ||W[:, j]||_2``.

    The group-lasso term of ``feature_l1``: column ``j`` of a first
    ``nn.Linear`` weight (shape ``(n_hidden, n_features)``) holds every weight
    reading input column ``j``.

    Parameters
    ----------
    weight : torch.Tensor of shape (n_out, n_features)
        The first-layer weight.

    Returns
    -------
    penalty : torch.Tensor
        A scalar tensor.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.penalties import group_l1_penalty
    >>> group_l1_penalty(torch.tensor([[3.0, 0.0, 1.0], [4.0, 0.0, 0.0]]))
    tensor(6.)
    """
    return torch.linalg.vector_norm(weight, dim=0).sum()


@torch.no_grad()
def prox_group_l1_(
    weight: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    strength: float,
) -> None:
    """Group soft-threshold the columns of ``weight`` in place after a step.

    Each column (all weights reading one input column) is shrunk towards zero
    as a whole: ``W[:, j] <- W[:, j] * max(1 - t_j * strength / ||W[:, j]||,
    0)``, the proximal operator of ``strength * sum_j ||W[:, j]||_2`` for a
    step ``t_j``. A column whose norm is at most ``t_j * strength`` becomes
    exactly zero: the network then ignores that input.

    The step ``t_j`` is the one the optimizer just took for that column:

    - SGD: ``t_j = lr``;
    - Adam / AdamW: ``t_j = lr / (sqrt(mean_i v_hat[i, j]) + eps)``, Adam's
      step for the root-mean-square second moment of the column. Adam's own
      per-entry steps differ within a column, and the proximal operator of a
      group norm under such a metric has no closed form; one step per column
      keeps it exact (closed form above) while following Adam's scale, so
      columns that receive small gradients (noise inputs) get large
      thresholds, as they do under ``prox_l1_``. After a gradient step of
      size ``t_j`` (SGD without momentum, or Adam where the column's second
      moments are equal) a zero column stays zero exactly when the norm of
      its loss gradient is at most ``strength``, the group-lasso optimality
      condition, whatever ``t_j`` is: the step changes how the path is
      travelled, not where it settles.

    Parameters
    ----------
    weight : torch.Tensor of shape (n_out, n_features)
        The first-layer weight (owned by ``optimizer``).

    optimizer : torch.optim.Optimizer
        The optimizer that just stepped.

    strength : float
        The group-L1 strength (``feature_l1``).

    Examples
    --------
    >>> import torch
    >>> from sk_reg.penalties import prox_group_l1_
    >>> w = torch.nn.Parameter(torch.tensor([[3.0, 0.1], [4.0, 0.0]]))
    >>> opt = torch.optim.SGD([w], lr=0.5)
    >>> prox_group_l1_(w, opt, strength=1.0)  # threshold 0.5
    >>> w.data
    tensor([[2.7000, 0.0000],
            [3.6000, 0.0000]])
    """
    if strength <= 0:
        return
    for group in optimizer.param_groups:
        if not any(p is weight for p in group["params"]):
            continue
        root_v_hat = _adam_root_v_hat(optimizer, group, weight)
        scaled = group["lr"] * strength
        if root_v_hat is None:
            threshold = scaled
        else:
            rms = root_v_hat.pow_(2).mean(dim=0).sqrt_()
            threshold = rms.add_(group["eps"]).reciprocal_().mul_(scaled)
        norms = torch.linalg.vector_norm(weight, dim=0)
        # 1 - t / ||w||: -inf for a zero column, clamped to 0 (exact zeros).
        weight.mul_(torch.clamp(1 - threshold / norms, min=0))
        return
