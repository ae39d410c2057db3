"""Full-batch L-BFGS training (``optimizer="lbfgs"``), with MLP's meanings.

As :class:`~sklearn.neural_network.MLPClassifier` with ``solver="lbfgs"``:
scipy's L-BFGS-B minimises the objective over all the training rows at once
(the sample-weighted mean loss, with label smoothing where set, plus the L2
term of :mod:`sk_reg.penalties`), ``max_iter`` bounds its iterations,
``max_fun`` its loss evaluations and ``tol`` is its gradient tolerance
(``gtol``). The gradients come from autograd in the module's dtype; the
iterate is kept in float64 as scipy needs. Each iteration is one row of the
net's history (``train_loss``: the data loss, ``train_objective``: with the
penalty), so ``n_iter_``, ``loss_curve_`` and ``loss_`` read as for the
stochastic optimizers; ``t_`` stays 0 as MLP's.

Penalties and transforms that need minibatches or proximal steps (``l1``,
``feature_l1``, ``dropout``, ``augment``), ``early_stopping`` and
``partial_fit`` are refused by the estimators before training. Batch
normalisation normalises with the statistics of all the rows, and keeps those
of the final weights for prediction.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.optimize
import torch

from ._sparse import is_csr, takes_csr
from .penalties import l2_penalty, penalized_parameters


class _Objective:
    """The full-batch objective of ``module`` as scipy wants it: a float64
    vector in, ``(value, gradient)`` out; remembers the last evaluation."""

    def __init__(self, module, loss, rows, l2):
        self.module, self.loss, self.l2 = module, loss, l2
        self.X, self.y, self.sw = rows
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.weights = penalized_parameters(module)
        self.last = None  # (x, data loss, objective)
        self.n_calls = 0

    def start(self):
        return torch.cat([p.detach().reshape(-1) for p in self.params]).double()

    @torch.no_grad()
    def _set(self, x):
        flat = torch.from_numpy(x)
        offset = 0
        for p in self.params:
            n = p.numel()
            p.copy_(flat[offset : offset + n].view_as(p))
            offset += n

    def __call__(self, x):
        self._set(x)
        self.n_calls += 1
        for p in self.params:
            p.grad = None
        with torch.enable_grad():
            data, sw_sum = self.loss.batch_loss(self.module(self.X), self.y, self.sw)
            total = data
            if self.l2 > 0 and self.weights:
                total = data + 0.5 * self.l2 * l2_penalty(self.weights) / sw_sum
            total.backward()
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in self.params]
        value = float(total.detach())
        self.last = (x.copy(), float(data.detach()), value)
        return value, torch.cat([g.reshape(-1) for g in grads]).double().cpu().numpy()

    def at(self, x):
        """``(data loss, objective)`` at ``x`` (evaluated again if needed)."""
        if self.last is None or not np.array_equal(self.last[0], x):
            self(x)
        return self.last[1:]


def _full_batch(net, dataset):
    """All the training rows as one batch, dense unless the module takes CSR."""
    X, y, sw = dataset.rows(dataset.indices)
    if is_csr(X) and not takes_csr(net.module_):
        X = X.to_dense()
    return X, y, sw


def fit_lbfgs(net, dataset, *, max_iter, max_fun, tol, l2, verbose=0):
    """Train ``net``'s module on all of ``dataset`` with L-BFGS-B.

    Parameters
    ----------
    net : _SkorchNet
        An initialized net (its module and criterion are used; its optimizer
        is not).
    dataset : _TensorDataset
        The training rows.
    max_iter, max_fun : int
        Bounds on iterations and on loss evaluations.
    tol : float
        The projected-gradient tolerance.
    l2 : float
        The L2 strength (``0.5 * l2 * sum ||W||^2 / sw_sum``).
    verbose : int, default=0
        Print the loss of every iteration when positive.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
        ``nit``, ``nfev``, ``status`` (0: converged, 1: a limit was
        reached, 2: the line search stopped) and ``message``.
    """
    module = net.module_
    module.train()  # full-batch statistics for batch normalisation
    objective = _Objective(module, net.criterion_, _full_batch(net, dataset), l2)
    start = time.perf_counter()
    first = len(net.history)

    def record(xk):
        data, value = objective.at(xk)
        net.history.new_epoch()
        net.history.record("epoch", len(net.history))
        net.history.record("train_loss", data)
        net.history.record("train_objective", value)
        net.history.record("dur", time.perf_counter() - start)
        if verbose:
            print(f"Iteration {len(net.history) - first}, loss = {value:.8f}")

    result = scipy.optimize.minimize(
        objective,
        objective.start().cpu().numpy(),
        method="L-BFGS-B",
        jac=True,
        callback=record,
        options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol},
    )
    objective._set(result.x)  # the returned point, the best one seen
    _settle_batch_norm(module, objective.X)
    module.eval()
    return result


_BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)


@torch.no_grad()
def _settle_batch_norm(module, X):
    """Set batch normalisation's running statistics to those of all the rows
    at the final weights: the statistics the objective was minimised with
    (the running averages of the line search's evaluations lag behind)."""
    norms = [m for m in module.modules() if isinstance(m, _BATCH_NORMS)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: one pass gives the exact ones
    module(X)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
