"""The hand-written MLP training step against autograd, and per-batch callbacks."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sk_reg import RegularizedNetClassifier
from sk_reg._fast_mlp import applies, forward_backward, mlp_plan
from sk_reg._losses import (
    HalfPoissonDeviance,
    HalfSquaredError,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from sk_reg.modules import MLP


def _targets(kind, n, n_out, dtype):
    g = torch.Generator().manual_seed(3)
    if kind == "classes":
        return torch.randint(0, n_out, (n,), generator=g)
    if kind == "soft":
        return torch.softmax(torch.randn(n, n_out, generator=g, dtype=dtype), 1)
    if kind == "labels":
        return torch.randint(0, 2, (n, n_out), generator=g).to(dtype)
    if kind == "counts":
        return torch.poisson(torch.full((n, n_out), 2.0, dtype=dtype), generator=g)
    return torch.randn(n, n_out, generator=g, dtype=dtype)


CASES = [
    (SoftmaxCrossEntropy(), "classes"),
    (SoftmaxCrossEntropy(label_smoothing=0.2), "classes"),
    (SoftmaxCrossEntropy(label_smoothing=0.1), "soft"),
    (SigmoidBinaryCrossEntropy(label_smoothing=0.1), "labels"),  # autograd on out
    (HalfSquaredError(), "values"),
    (HalfPoissonDeviance(), "counts"),
]


@pytest.mark.fast_path
@pytest.mark.parametrize("loss, target", CASES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_equal_autograd(loss, target, activation, weighted, dtype):
    torch.manual_seed(0)
    module = MLP((7, 5), activation).build(6, 3, dropout=0.3).to(dtype).train()
    X = torch.randn(20, 6, dtype=dtype)
    y = _targets(target, 20, 3, dtype)
    w = torch.rand(20, dtype=dtype) if weighted else None
    plan = mlp_plan(module)
    assert applies(plan, X)

    torch.manual_seed(1)  # the same dropout masks for both
    out, value, w_sum = forward_backward(plan, X, y, w, loss)
    fast = [p.grad.clone() for p in module.parameters()]
    module.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    ref_out = module(X)
    ref_value, ref_w_sum = loss.batch_loss(ref_out, y, w)
    ref_value.backward()
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == torch.float32 else {}
    torch.testing.assert_close(out, ref_out.detach(), **tol)
    torch.testing.assert_close(value, ref_value.detach(), **tol)
    assert float(w_sum) == pytest.approx(float(ref_w_sum))
    for got, p in zip(fast, module.parameters(), strict=True):
        torch.testing.assert_close(got, p.grad, **tol)


class _Doubled(torch.nn.ReLU):
    """A subclass may change the maths: not planned."""


@pytest.mark.fast_path
def test_only_plain_sequentials_are_planned():
    module = MLP((4,)).build(3, 2)
    assert mlp_plan(module) is not None
    assert mlp_plan(torch.nn.Sequential(torch.nn.Linear(3, 4), _Doubled())) is None
    assert mlp_plan(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GELU())) is None
    module[0].weight.requires_grad_(False)
    assert mlp_plan(module) is None
    hooked = MLP((4,)).build(3, 2)
    hooked[1].register_forward_hook(lambda *args: None)
    assert mlp_plan(hooked) is None
    plan = mlp_plan(MLP((4,)).build(3, 2))
    assert not applies(plan, torch.zeros(2, 3).to_sparse_csr())


class _BatchRecorder(Callback):
    def __init__(self):
        self.sizes = []

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.sizes.append(net.history[-1, "batches", -1, "train_batch_size"])


def test_per_batch_callbacks_see_batch_history_rows():
    rng = np.random.RandomState(0)
    X, y = rng.randn(50, 3), np.arange(50) % 2
    recorder = _BatchRecorder()
    kw = dict(hidden_layer_sizes=(4,), batch_size=20, max_iter=2, random_state=0)
    clf = RegularizedNetClassifier(**kw, callbacks=[("rec", recorder)]).fit(X, y)
    assert recorder.sizes == [20, 20, 10] * 2
    losses = [b["train_loss"] for b in clf.net_.history[-1, "batches"]]
    assert len(losses) == 3 and all(np.isfinite(losses))
    # Without per-batch callbacks, no per-batch rows (and no host syncs).
    plain = RegularizedNetClassifier(**kw).fit(X, y)
    assert plain.net_.history[-1, "batches"] == []
    # Same training either way.
    for a, b in zip(clf.coefs_, plain.coefs_, strict=True):
        np.testing.assert_allclose(a, b)
