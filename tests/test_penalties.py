"""The penalty functions of sk_reg.penalties, against hand computations."""

import pytest
import torch

from sk_reg.penalties import group_l1_penalty, prox_group_l1_, prox_l1_


def _stepped(optimizer_cls, weight, **kwargs):
    """``weight`` as a parameter after one optimizer step on a fixed gradient."""
    w = torch.nn.Parameter(weight.clone())
    opt = optimizer_cls([w], lr=0.1, **kwargs)
    # Column j's gradient has scale 10**(j - 3): the first columns look like
    # noise inputs (tiny gradients), the last like informative ones.
    scales = 10.0 ** (torch.arange(w.shape[1], dtype=w.dtype) - 3)
    signs = torch.tensor([1.0, -1.0, 0.5], dtype=w.dtype)[: w.shape[0], None]
    w.grad = signs * scales
    opt.step()
    return w, opt


def test_group_l1_penalty_sums_column_norms():
    w = torch.tensor([[3.0, 0.0, -1.0], [4.0, 0.0, 0.0]], dtype=torch.float64)
    assert group_l1_penalty(w).item() == pytest.approx(5.0 + 0.0 + 1.0)


def test_prox_group_l1_sgd_shrinks_columns_by_lr_times_strength():
    w = torch.nn.Parameter(
        torch.tensor([[3.0, 0.3, 0.0], [4.0, -0.4, 1.0]], dtype=torch.float64)
    )
    opt = torch.optim.SGD([w], lr=0.2)
    prox_group_l1_(w, opt, strength=2.5)  # threshold 0.5
    expected = torch.tensor(
        [[3.0 * 0.9, 0.0, 0.0], [4.0 * 0.9, 0.0, 0.5]], dtype=torch.float64
    )
    torch.testing.assert_close(w.data, expected)
    # Column 1 (norm 0.5 == threshold) is exactly zero, not just tiny.
    assert (w.data[:, 1] == 0).all()


@pytest.mark.parametrize("kwargs", [{}, {"fused": True}, {"amsgrad": True}])
@pytest.mark.parametrize("optimizer_cls", [torch.optim.Adam, torch.optim.AdamW])
def test_prox_group_l1_adam_threshold_uses_column_rms_second_moment(
    optimizer_cls, kwargs
):
    w, opt = _stepped(
        optimizer_cls, torch.full((3, 4), 0.5, dtype=torch.float64), **kwargs
    )
    before = w.detach().clone()
    state, group = opt.state[w], opt.param_groups[0]
    second = state["max_exp_avg_sq"] if kwargs.get("amsgrad") else state["exp_avg_sq"]
    v_hat = second / (1 - group["betas"][1] ** float(state["step"]))
    threshold = 0.1 * 0.02 / (v_hat.mean(dim=0).sqrt() + group["eps"])
    norms = before.norm(dim=0)
    expected = before * torch.clamp(1 - threshold / norms, min=0)
    prox_group_l1_(w, opt, strength=0.02)
    # rtol: torch keeps ``step`` as a float32 tensor, so 1 - beta2**step
    # carries a ~1e-5 relative error (as in prox_l1_).
    torch.testing.assert_close(w.data, expected, rtol=1e-4, atol=0)
    # Columns with a small gradient get a large threshold: some die, some not.
    dead = (w.data == 0).all(dim=0)
    assert dead.any() and not dead.all()
    assert torch.equal(dead, threshold >= norms)


def test_prox_group_l1_zero_strength_and_zero_column_are_untouched():
    w = torch.nn.Parameter(torch.tensor([[1.0, 0.0], [2.0, 0.0]]))
    opt = torch.optim.SGD([w], lr=0.1)
    prox_group_l1_(w, opt, strength=0.0)
    torch.testing.assert_close(w.data, torch.tensor([[1.0, 0.0], [2.0, 0.0]]))
    prox_group_l1_(w, opt, strength=1.0)  # a zero column stays zero, no nan
    assert torch.isfinite(w.data).all()
    assert (w.data[:, 1] == 0).all()


def test_prox_group_l1_leaves_other_parameters_alone():
    w, other = (
        torch.nn.Parameter(torch.ones(2, 2)),
        torch.nn.Parameter(torch.ones(2, 2)),
    )
    opt = torch.optim.SGD([w, other], lr=0.1)
    prox_group_l1_(w, opt, strength=1.0)
    assert torch.equal(other.data, torch.ones(2, 2))
    assert not torch.equal(w.data, torch.ones(2, 2))


def test_prox_l1_amsgrad_divides_by_the_running_maximum():
    w, opt = _stepped(
        torch.optim.Adam, torch.full((2, 3), 0.5, dtype=torch.float64), amsgrad=True
    )
    state = opt.state[w]
    # A second step with a zero gradient: v decays below its maximum.
    w.grad = torch.zeros_like(w)
    opt.step()
    assert not torch.equal(state["max_exp_avg_sq"], state["exp_avg_sq"])
    before = w.detach().clone()
    v_hat = state["max_exp_avg_sq"] / (1 - 0.999 ** float(state["step"]))
    t = 0.1 * 0.01 / (v_hat.sqrt() + 1e-8)
    prox_l1_([w], opt, l1=0.01)
    expected = before.sign() * (before.abs() - t).clamp(min=0)
    torch.testing.assert_close(w.data, expected, rtol=1e-4, atol=0)
