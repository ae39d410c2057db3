"""The direct fused Adam/AdamW step equals ``optimizer.step()`` exactly."""

import inspect

import pytest
import torch

from sk_reg import _fused_adam


def _pair(opt_cls, **kwargs):
    """Two identical parameter sets, optimizers, after one regular step each."""
    torch.manual_seed(0)
    made = []
    for _ in range(2):
        torch.manual_seed(0)
        params = [
            torch.nn.Parameter(torch.randn(5, 3, dtype=torch.float64)),
            torch.nn.Parameter(torch.randn(5, dtype=torch.float64)),
        ]
        opt = opt_cls(params, lr=0.01, fused=True, **kwargs)
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
        made.append((params, opt))
    return made


@pytest.mark.fast_path
@pytest.mark.parametrize(
    "opt_cls, kwargs",
    [
        (torch.optim.Adam, {}),
        (torch.optim.Adam, {"amsgrad": True, "weight_decay": 0.1}),
        (torch.optim.Adam, {"maximize": True, "betas": (0.5, 0.9)}),
        pytest.param(
            torch.optim.Adam,
            {"decoupled_weight_decay": True, "weight_decay": 0.1},
            marks=pytest.mark.skipif(
                "decoupled_weight_decay"
                not in inspect.signature(torch.optim.Adam).parameters,
                reason="Adam takes decoupled_weight_decay from torch 2.7",
            ),
        ),
        (torch.optim.AdamW, {}),
        (torch.optim.AdamW, {"amsgrad": True}),
    ],
)
def test_direct_step_equals_optimizer_step(opt_cls, kwargs):
    (ref, ref_opt), (got, got_opt) = _pair(opt_cls, **kwargs)
    assert _fused_adam.can_step(got_opt)
    for i in range(3):
        g = torch.Generator().manual_seed(i)
        grads = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in ref]
        for params in (ref, got):
            for p, grad in zip(params, grads, strict=True):
                p.grad = grad.clone()
        if i == 1:  # a parameter without a gradient is skipped
            ref[1].grad = got[1].grad = None
        ref_opt.step()
        _fused_adam.step(got_opt)
    for a, b in zip(ref, got, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(ref, got, strict=True):
        for key, value in ref_opt.state[a].items():
            assert torch.equal(value, got_opt.state[b][key]), key


@pytest.mark.fast_path
def test_unusual_optimizers_take_the_regular_step():
    (_, opt), _ = _pair(torch.optim.Adam)
    assert _fused_adam.can_step(opt)
    handle = opt.register_step_post_hook(lambda *args: None)
    assert not _fused_adam.can_step(opt)
    handle.remove()
    p = torch.nn.Parameter(torch.zeros(2))
    assert not _fused_adam.can_step(torch.optim.Adam([p], fused=True))  # no state yet
    assert not _fused_adam.can_step(torch.optim.Adam([p], foreach=True))
    assert not _fused_adam.can_step(torch.optim.SGD([p], lr=0.1))


@pytest.mark.fast_path
def test_adamw_without_the_decoupled_key_steps_as_adamw():
    # torch 2.5 and 2.6: AdamW's groups have no "decoupled_weight_decay" key,
    # and the step must still be AdamW's (it used to take Adam's kernel).
    (ref, ref_opt), (got, got_opt) = _pair(torch.optim.AdamW, weight_decay=0.1)
    for group in got_opt.param_groups:
        group.pop("decoupled_weight_decay", None)  # absent before torch 2.7
    for params in (ref, got):
        for p in params:
            p.grad = torch.full_like(p, 0.5)
    ref_opt.step()
    _fused_adam.step(got_opt)
    for a, b in zip(ref, got, strict=True):
        assert torch.equal(a, b)


def test_optimizer_whitelist_without_dunder_all(monkeypatch):
    # torch.optim has no __all__ before torch 2.5; sk_reg must still import
    # and name the same optimizers.
    import types

    from sk_reg import _state

    bare = types.ModuleType("optim")
    for name in torch.optim.__all__:
        setattr(bare, name, getattr(torch.optim, name))
    bare._private = torch.optim.SGD
    assert _state._optimizer_classes(bare) == _state._optimizer_classes(torch.optim)
