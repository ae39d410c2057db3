"""The penalty functions of sk_reg.penalties, against hand computations."""

import numpy as np
import pytest
import torch

from sk_reg.penalties import (
    PROX_STEP_RULES,
    add_l2_gradient_,
    group_l1_penalty,
    l2_penalty,
    penalized_parameters,
    prox_group_l1_,
    prox_l1_,
)


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


# -- one home per penalty: the trained objective is the logged one ------------
@pytest.mark.parametrize("weighted", [False, True])
def test_logged_objective_is_the_trained_one(weighted):
    """train_objective = rows-weighted mean over batches of the batch objective
    ``sum w loss / sum w + 0.5 * l2 * ||W||^2 / sum w`` (+ the L1 terms)."""
    from sk_reg import RegularizedNetClassifier

    rng = np.random.RandomState(0)
    X, y = rng.randn(47, 4), np.arange(47) % 3
    w = rng.uniform(0.1, 3.0, len(X)) if weighted else None
    clf = RegularizedNetClassifier(
        (5,), l2=2.0, l1=1e-3, feature_l1=1e-3, batch_size=10, max_iter=1,
        shuffle=False, learning_rate_init=1e-12, random_state=0,
    )  # fmt: skip
    clf.fit(X, y, sample_weight=w)
    net = clf.net_
    weights = penalized_parameters(net.module_)
    with torch.no_grad():
        per_row = net.criterion_(
            net.module_.eval()(torch.from_numpy(X)), torch.from_numpy(y)
        )
    per_row = per_row.numpy()
    sw = np.ones(len(X)) if w is None else w
    sq = float(l2_penalty(weights).detach())
    total = 0.0
    for start in range(0, len(X), 10):
        rows = slice(start, start + 10)
        w_sum = sw[rows].sum()
        batch = (sw[rows] * per_row[rows]).sum() / w_sum + 0.5 * 2.0 * sq / w_sum
        total += len(per_row[rows]) * batch
    with torch.no_grad():
        expected = total / len(X) + 1e-3 * float(sum(p.abs().sum() for p in weights))
        expected += 1e-3 * float(group_l1_penalty(weights[0]))
    assert net.history[-1, "train_objective"] == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("w_sum", [4.0, torch.tensor(4.0, dtype=torch.float64)])
def test_l2_gradient_is_the_gradient_of_the_l2_term(w_sum):
    w = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))
    term = 0.5 * 0.7 * l2_penalty([w]) / w_sum
    (expected,) = torch.autograd.grad(term, w)
    w.grad = None
    add_l2_gradient_([w], 0.7, w_sum)
    torch.testing.assert_close(w.grad, expected)


@pytest.mark.parametrize("optimizer", [torch.optim.RMSprop, torch.optim.Adagrad])
@pytest.mark.parametrize("penalty", ["l1", "feature_l1"])
def test_l1_refuses_optimizers_without_a_step_rule(optimizer, penalty):
    from sk_reg import RegularizedNetClassifier
    from sk_reg._compat import InvalidParameterError

    X, y = np.random.RandomState(0).randn(20, 3), np.arange(20) % 2
    clf = RegularizedNetClassifier((4,), optimizer=optimizer, **{penalty: 0.01})
    with pytest.raises(InvalidParameterError, match=f"got {optimizer.__name__}"):
        clf.fit(X, y)
    assert set(PROX_STEP_RULES) == {
        torch.optim.SGD,
        torch.optim.Adam,
        torch.optim.AdamW,
    }
    clf.set_params(**{penalty: 0.0}, max_iter=2).fit(X, y)  # fine without
