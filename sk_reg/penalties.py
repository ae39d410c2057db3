"""Weight penalties: each one's training step and its objective term.

Only *weights* are penalised (parameters with two or more dimensions:
linear and convolution kernels); biases and normalisation parameters are not.

- L2: the batch objective adds ``0.5 * l2 * sum ||W||^2 / sw_sum`` (``sw_sum``:
  the batch's sample-weight sum, its row count without sample weights), as
  :class:`~sklearn.neural_network.MLPClassifier` scales ``alpha``. Training
  adds its gradient (:func:`add_l2_gradient_`); the logged objective adds
  the same term (:func:`penalty_objective`).
- L1 and group L1 (``feature_l1``): proximal steps after each optimizer step
  (:func:`prox_l1_`, :func:`prox_group_l1_`); their objective terms are
  ``l1 * sum |W|`` and ``feature_l1 * sum_j ||W[:, j]||``. The step size of
  the proximal step is the optimizer's own, from :data:`PROX_STEP_RULES`;
  other optimizers cannot be combined with L1 penalties.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ._compat import foreach

__all__ = [
    "PROX_STEP_RULES",
    "add_l2_gradient_",
    "group_l1_penalty",
    "l2_penalty",
    "penalized_parameters",
    "penalty_objective",
    "prox_group_l1_",
    "prox_l1_",
    "prox_step_rule",
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

    The L2 objective term is ``0.5 * l2 * l2_penalty(weights) / sw_sum`` (see
    the module docstring); training adds its gradient with
    :func:`add_l2_gradient_`.

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
def add_l2_gradient_(
    params: list[torch.Tensor], l2: float, sw_sum: float | torch.Tensor
) -> None:
    """Add the gradient of ``0.5 * l2 * sum ||W||^2 / sw_sum`` to ``.grad``.

    The training half of the L2 penalty (the objective half is
    :func:`penalty_objective`): ``W.grad += l2 * W / sw_sum``, without an
    autograd graph for the term.

    Parameters
    ----------
    params : list of torch.Tensor
        The weights (:func:`penalized_parameters`).

    l2 : float
        The L2 strength.

    sw_sum : float or scalar torch.Tensor
        The batch's sample-weight sum (its row count without sample weights).
        A tensor stays on its device: no host sync.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.penalties import add_l2_gradient_
    >>> weight = torch.nn.Parameter(torch.tensor([[1.0, -2.0]]))
    >>> weight.grad = torch.zeros_like(weight)
    >>> add_l2_gradient_([weight], l2=0.5, sw_sum=2.0)
    >>> weight.grad
    tensor([[ 0.2500, -0.5000]])
    """
    if l2 <= 0 or not params:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    grads = [p.grad for p in params]
    if isinstance(sw_sum, torch.Tensor):
        foreach("add_", grads, foreach("mul", params, l2 / sw_sum))
    else:
        foreach("add_", grads, params, alpha=l2 / sw_sum)


@torch.no_grad()
def penalty_objective(
    params: list[torch.Tensor],
    first_weight: torch.Tensor | None = None,
    *,
    l1: float = 0.0,
    l2: float = 0.0,
    feature_l1: float = 0.0,
    inv_sw_sum: float = 1.0,
) -> float:
    """The penalties' part of the objective that training minimises.

    ``0.5 * l2 * sum ||W||^2 * inv_sw_sum + l1 * sum |W| + feature_l1 *
    sum_j ||first_weight[:, j]||``. ``inv_sw_sum`` is ``1 / sw_sum`` of the L2
    term averaged over an epoch's batches as the data loss is (each batch
    weighted by its row count), so the logged objective and the trained one
    are the same function.

    Parameters
    ----------
    params : list of torch.Tensor
        The weights (:func:`penalized_parameters`).

    first_weight : torch.Tensor or None, default=None
        The first-layer weight that ``feature_l1`` acts on.

    l1, l2, feature_l1 : float, default=0.0
        The strengths.

    inv_sw_sum : float, default=1.0
        The (averaged) reciprocal batch weight sum of the L2 term.

    Returns
    -------
    value : float

    Examples
    --------
    >>> import torch
    >>> from sk_reg.penalties import penalty_objective
    >>> weight = torch.tensor([[3.0, -4.0]])
    >>> penalty_objective([weight], l2=1.0, inv_sw_sum=0.5)  # 0.5 * 25 * 0.5
    6.25
    >>> penalty_objective([weight], weight, l1=0.1, feature_l1=1.0)  # 0.7 + 7
    7.7
    """
    if not params:
        return 0.0
    value = 0.0
    if l2 > 0:
        value += 0.5 * l2 * float(l2_penalty(params)) * inv_sw_sum
    if l1 > 0:
        value += l1 * float(sum(p.abs().sum() for p in params))
    if feature_l1 > 0 and first_weight is not None:
        value += feature_l1 * float(group_l1_penalty(first_weight))
    return value


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
    rule = prox_step_rule(type(optimizer))
    wanted = {id(p) for p in params}
    for group in optimizer.param_groups:
        scaled_l1 = group["lr"] * l1
        adam_params, roots = [], []
        for p in group["params"]:
            if id(p) not in wanted:
                continue
            moment = rule(optimizer, group, p)
            if moment is None:
                p.sub_(p.clamp(-scaled_l1, scaled_l1))
            else:
                adam_params.append(p)
                roots.append(_root_v_hat(*moment))
        if adam_params:
            _soft_threshold_(adam_params, roots, group["eps"], scaled_l1)


def _root_v_hat(second_moment, bias_correction2):
    """``sqrt(v_hat)`` as a new tensor."""
    return second_moment.sqrt().div_(bias_correction2**0.5)


def _soft_threshold_(params, roots, eps, scaled_l1):
    """``p -= clamp(p, -t, t)``, ``t = scaled_l1 / (root + eps)``, over lists.

    ``p - clamp(p, -t, t) = sign(p) * max(|p| - t, 0)``; where ``|p| <= t``
    the clamp returns ``p`` itself, so the zero is exact. One list operation
    (``_compat.foreach``) per step for all the weights: at small layer sizes
    the cost is per operation, not per element. ``roots`` is overwritten.
    """
    foreach("add_", roots, eps)
    foreach("reciprocal_", roots)
    foreach("mul_", roots, scaled_l1)
    shrink = foreach("minimum", params, roots)
    foreach("maximum_", shrink, foreach("neg", roots))
    foreach("sub_", params, shrink)


def _sgd_second_moment(optimizer, group, p):
    """SGD: no per-entry scaling; the step size is ``lr``."""
    return None


def _adam_second_moment(optimizer, group, p):
    """Adam/AdamW: ``(v, 1 - beta2**step)``, so that ``v_hat = v / (1 - beta2**step)``.

    ``v`` is the second-moment estimate, or with ``amsgrad`` its running
    maximum, which is what Adam divides by. A CPU tensor ``step`` (fused
    Adam) is read as a float; elsewhere it stays a tensor (no host sync on a
    GPU). None before Adam's first step (no state yet).
    """
    state = optimizer.state.get(p, {})
    if "exp_avg_sq" not in state:
        return None
    _, beta2 = group["betas"]
    second = state["max_exp_avg_sq"] if group.get("amsgrad") else state["exp_avg_sq"]
    step = state["step"]
    if isinstance(step, torch.Tensor) and step.device.type == "cpu":
        step = step.item()
    return second, 1 - beta2**step


#: Optimizer class -> ``rule(optimizer, param_group, param)``: ``(v,
#: bias_correction2)``, the second moment the optimizer divides its step by
#: as ``sqrt(v / bias_correction2) + eps``, or None (no scaling). The proximal
#: steps' per-entry step size is ``lr / (sqrt(v_hat) + eps)``, or ``lr``.
#: Exact classes only: a subclass may step differently, and optimizers not
#: listed here are refused with ``l1``/``feature_l1``.
PROX_STEP_RULES = {
    torch.optim.SGD: _sgd_second_moment,
    torch.optim.Adam: _adam_second_moment,
    torch.optim.AdamW: _adam_second_moment,
}


def prox_step_rule(optimizer_class: type):
    """The entry of :data:`PROX_STEP_RULES` for ``optimizer_class``.

    Parameters
    ----------
    optimizer_class : type
        A :class:`torch.optim.Optimizer` subclass.

    Returns
    -------
    rule : callable
        ``rule(optimizer, param_group, param)``: the root second moment the
        optimizer divides by, or None.

    Raises
    ------
    ValueError
        For an optimizer without a rule: its proximal threshold is unknown.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.penalties import prox_step_rule
    >>> prox_step_rule(torch.optim.Adam).__name__
    '_adam_second_moment'
    >>> prox_step_rule(torch.optim.RMSprop)
    Traceback (most recent call last):
    ...
    ValueError: l1 and feature_l1 need the proximal step size of the optimizer, ...
    """
    rule = PROX_STEP_RULES.get(optimizer_class)
    if rule is None:
        raise ValueError(
            "l1 and feature_l1 need the proximal step size of the optimizer, "
            f"which is known for {', '.join(c.__name__ for c in PROX_STEP_RULES)} "
            f"only; got {optimizer_class.__name__}. Use optimizer='adam', 'adamw' "
            "or 'sgd', or l1=0 and feature_l1=0."
        )
    return rule


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
    rule = prox_step_rule(type(optimizer))
    for group in optimizer.param_groups:
        if not any(p is weight for p in group["params"]):
            continue
        moment = rule(optimizer, group, weight)
        scaled = group["lr"] * strength
        if moment is None:
            threshold = scaled
        else:
            # sqrt(mean_i v_hat[i, j]): the column's root-mean-square.
            second, bias_correction2 = moment
            rms = second.mean(dim=0).div_(bias_correction2).sqrt_()
            threshold = rms.add_(group["eps"]).reciprocal_().mul_(scaled)
        norms = torch.linalg.vector_norm(weight, dim=0)
        # 1 - t / ||w||: -inf for a zero column, clamped to 0 (exact zeros).
        weight.mul_(torch.clamp(1 - threshold / norms, min=0))
        return
