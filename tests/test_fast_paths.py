"""The speed-ups keep the maths: dropout, fused Adam, the l2 gradient, prox-L1."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sk_reg import RegularizedNetClassifier
from sk_reg.modules import MLP, Dropout
from sk_reg.penalties import prox_l1_

FAST = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)


# -- dropout -----------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dropout_rate_scale_and_mean(p, dtype):
    n = 1_000_000
    out = Dropout(p)(torch.ones(n, dtype=dtype))
    dropped = (out == 0).double().mean().item()
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n)
    survivors = out[out != 0]
    p_eff = round(p * 2**16) / 2**16
    assert torch.all(survivors == torch.tensor(1 / (1 - p_eff), dtype=dtype))
    assert abs(out.double().mean().item() - 1) < 5 * np.sqrt(p / (1 - p) / n)


def test_dropout_elements_are_independent():
    # Four neighbours share one 64-bit draw: their masks must not be correlated.
    p, n = 0.5, 400_000
    kept = (Dropout(p)(torch.ones(n)) != 0).view(-1, 4).double()
    for a, b in [(0, 1), (1, 2), (2, 3), (0, 3)]:
        both = (kept[:, a] * kept[:, b]).mean().item()
        assert abs(both - 0.25) < 5 * np.sqrt(0.25 * 0.75 / (n // 4))
    assert abs((kept.sum(1) == 4).double().mean().item() - 1 / 16) < 0.005


def test_dropout_gradient_eval_mode_and_seeding():
    x = torch.randn(64, 32, requires_grad=True)
    drop = Dropout(0.3)
    torch.manual_seed(1)
    out = drop(x)
    out.sum().backward()
    mask = out.detach() / x.detach()
    assert torch.allclose(x.grad, mask)
    torch.manual_seed(1)
    assert torch.equal(drop(x), out)  # same seed, same mask
    assert not torch.equal(drop(x), out)  # the generator moved on
    assert torch.equal(drop.eval()(x), x)


def test_dropout_inplace_noncontiguous_and_fallbacks():
    x = torch.randn(40, 50).t()  # non-contiguous
    out = Dropout(0.5)(x)
    assert out.shape == x.shape and torch.all((out == 0) | (out == 2 * x))
    y = torch.ones(1000)
    assert Dropout(0.5, inplace=True)(y) is y and (y == 0).any()
    assert torch.equal(Dropout(0.0)(torch.ones(5)), torch.ones(5))
    assert torch.equal(Dropout(1.0)(torch.ones(5)), torch.zeros(5))
    half = Dropout(0.5)(torch.ones(1000, dtype=torch.bfloat16))  # torch's own path
    assert half.dtype == torch.bfloat16 and (half == 0).any()


def test_mlp_builder_uses_fast_dropout():
    module = MLP((8, 8)).build(4, 2, dropout=0.2)
    drops = [m for m in module if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 2 and all(type(m) is Dropout for m in drops)
    assert repr(drops[0]) == "Dropout(p=0.2, inplace=False)"


# -- optimizer ------------------------------------------------------------------
@pytest.mark.parametrize(
    "optimizer, kwargs, fused",
    [
        ("adam", None, True),
        ("adamw", None, True),
        ("adam", {"foreach": True}, None),  # the user's choice wins
        ("adam", {"fused": False}, False),
    ],
)
def test_adam_fused_unless_the_user_chose(optimizer, kwargs, fused):
    X, y = make_classification(40, 4, random_state=0)
    clf = RegularizedNetClassifier(**FAST, optimizer=optimizer, optimizer_kwargs=kwargs)
    clf.fit(X, y)
    assert clf.net_.optimizer_.param_groups[0]["fused"] is fused


# -- l2 gradient and prox-L1 ---------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
def test_l2_gradient_is_that_of_the_penalty_term(weighted):
    X, y = make_classification(50, 4, random_state=0)
    clf = RegularizedNetClassifier(**FAST, l2=0.3).fit(X.astype(np.float32), y)
    net = clf.net_
    Xt = torch.from_numpy(X.astype(np.float32))
    yt = torch.from_numpy(y)
    w = torch.linspace(0.5, 2.0, len(X)) if weighted else None
    grads = {}
    for l2 in (0.3, 0.0):
        net.l2 = l2
        net.optimizer_.zero_grad()
        net.train_step_single((Xt, yt, w))
        grads[l2] = [p.grad.clone() for p in net.module_.parameters()]
    w_sum = w.sum() if weighted else len(X)
    params = list(net.module_.parameters())
    for p, g_l2, g_0 in zip(params, grads[0.3], grads[0.0], strict=True):
        expected = g_0 + 0.3 * p.detach() / w_sum if p.dim() >= 2 else g_0
        assert torch.allclose(g_l2, expected, atol=1e-6)


def test_prox_l1_with_fused_adam_matches_the_formula():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(20, 30) * 1e-3)
    opt = torch.optim.Adam([w], lr=1e-2, fused=True)
    for _ in range(3):
        w.grad = torch.randn_like(w)
        opt.step()
    state = opt.state[w]
    assert isinstance(state["step"], torch.Tensor)  # no float() sync needed
    before = w.detach().clone()
    v_hat = state["exp_avg_sq"] / (1 - 0.999 ** state["step"].item())
    t = 1e-2 * 0.5 / (v_hat.sqrt() + 1e-8)
    expected = before.sign() * (before.abs() - t).clamp(min=0)
    prox_l1_([w], opt, l1=0.5)
    assert torch.allclose(w.detach(), expected, atol=1e-7)
    assert torch.equal(w.detach() == 0, expected == 0) and (w == 0).any()
