"""Sparse ``X``: one torch CSR tensor on the device, batches gathered from it.

scipy's CSR/CSC/COO input becomes a single ``torch.sparse_csr`` tensor (int64
indices) and is never densified as a whole. Batches are row gathers of it. The
built-in MLP's first layer multiplies CSR batches directly (:class:`CSRLinear`);
every other module receives each batch densified.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def csr_tensor(crow, col, values, shape):
    """A ``torch.sparse_csr`` tensor from its parts (no invariant checks)."""
    return torch.sparse_csr_tensor(
        crow, col, values, size=tuple(shape), check_invariants=False
    )


def _spend_beta_warning():
    """Trigger torch's "Sparse CSR tensor support is in beta" warning, ignored.

    torch gives it once per process; spent here, at import, the calls above
    need no warnings filter per batch (filters are process-wide: under
    threads a filter of one fit would be lost or kept for good by another).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
        csr_tensor(
            torch.zeros(2, dtype=torch.int64),
            torch.zeros(0, dtype=torch.int64),
            torch.zeros(0),
            (1, 1),
        )


_spend_beta_warning()


def is_csr(X) -> bool:
    """Whether ``X`` is a torch CSR tensor."""
    return isinstance(X, torch.Tensor) and X.layout == torch.sparse_csr


def scipy_to_csr_tensor(X, dtype, device):
    """A scipy sparse matrix or array as a torch CSR tensor of ``dtype``."""
    X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()  # never change the caller's matrix
        X.sum_duplicates()
    return csr_tensor(
        torch.from_numpy(X.indptr.astype(np.int64)),
        torch.from_numpy(X.indices.astype(np.int64)),
        torch.from_numpy(np.asarray(X.data, dtype=dtype)),
        X.shape,
    ).to(device)


def csr_tensor_to_scipy(X):
    """The CSR tensor ``X`` as a scipy CSR matrix (on the host)."""
    import scipy.sparse as sp

    parts = (X.values(), X.col_indices(), X.crow_indices())
    return sp.csr_matrix(tuple(t.cpu().numpy() for t in parts), shape=tuple(X.shape))


def csr_vstack(top, bottom):
    """The rows of CSR tensor ``top`` followed by those of ``bottom``, as CSR."""
    crow = torch.cat(
        [top.crow_indices(), bottom.crow_indices()[1:] + top.values().numel()]
    )
    return csr_tensor(
        crow,
        torch.cat([top.col_indices(), bottom.col_indices()]),
        torch.cat([top.values(), bottom.values()]),
        (top.shape[0] + bottom.shape[0], top.shape[1]),
    )


def csr_rows(X, rows):
    """Rows ``rows`` (a 1-D long tensor) of the CSR tensor ``X``, as CSR."""
    crow, col, values = X.crow_indices(), X.col_indices(), X.values()
    starts = crow.index_select(0, rows)
    lengths = crow.index_select(0, rows + 1) - starts
    new_crow = torch.zeros(len(rows) + 1, dtype=crow.dtype, device=crow.device)
    torch.cumsum(lengths, 0, out=new_crow[1:])
    # Position k of the batch reads entry starts[r] + (k - new_crow[r]) of X.
    offset = torch.repeat_interleave(starts - new_crow[:-1], lengths)
    entries = offset + torch.arange(len(offset), device=crow.device)
    return csr_tensor(
        new_crow,
        col.index_select(0, entries),
        values.index_select(0, entries),
        (len(rows), X.shape[1]),
    )


def csr_row_index(X):
    """The row of each stored entry of the CSR tensor ``X``."""
    crow = X.crow_indices()
    rows = torch.arange(X.shape[0], device=crow.device)
    return torch.repeat_interleave(rows, crow.diff())


def csr_with_values(X, values):
    """``X`` with its stored values replaced (same sparsity pattern)."""
    return csr_tensor(X.crow_indices(), X.col_indices(), values, X.shape)


def scale_rows(X, scale):
    """``diag(scale) @ X`` for the CSR tensor ``X``."""
    return csr_with_values(X, X.values() * scale.index_select(0, csr_row_index(X)))


class _CSRLinearFunction(torch.autograd.Function):
    """``X @ W.T + b`` for a CSR ``X``, with a gradient for ``W`` and ``b`` only.

    Forward is a weighted ``embedding_bag`` over the columns of ``W``; backward
    scatters each stored entry's contribution into the columns of the weight
    gradient. Both touch only the stored entries, and ``W`` keeps its
    ``(out, in)`` layout (torch's sparse ``addmm`` copies ``W.T`` to a
    contiguous matrix in both passes: slower, see ``benchmarks/README.md``).
    """

    @staticmethod
    def forward(ctx, X, weight, bias):
        crow, col, values = X.crow_indices(), X.col_indices(), X.values()
        ctx.save_for_backward(crow, col, values)
        ctx.n_rows, ctx.n_cols = X.shape
        out = F.embedding_bag(
            col, weight.t(), crow[:-1], mode="sum", per_sample_weights=values
        )
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):
        crow, col, values = ctx.saved_tensors
        rows = torch.repeat_interleave(
            torch.arange(ctx.n_rows, device=grad.device), crow.diff()
        )
        contrib = (grad.index_select(0, rows) * values[:, None]).t()
        grad_weight = grad.new_zeros(grad.shape[1], ctx.n_cols).index_add_(
            1, col, contrib
        )
        grad_bias = grad.sum(0) if ctx.needs_input_grad[2] else None
        return None, grad_weight, grad_bias


class CSRLinear(nn.Linear):
    """:class:`torch.nn.Linear` that also takes CSR batches (sparse ``X``).

    Dense input goes through :class:`torch.nn.Linear` unchanged; a
    ``torch.sparse_csr`` input is multiplied without densifying it. Same
    parameters and state dict as :class:`torch.nn.Linear`. The estimators hand
    sparse ``X`` to a module as CSR batches only when it is a
    :class:`torch.nn.Sequential` whose first layer is a ``CSRLinear`` (as the
    :class:`~sk_reg.modules.MLP` builder makes); any other module gets
    densified batches.

    Parameters
    ----------
    in_features : int
        Number of input columns.

    out_features : int
        Number of outputs.

    bias : bool, default=True
        Whether to learn an additive bias.

    device : torch.device, default=None
        Device of the parameters.

    dtype : torch.dtype, default=None
        Dtype of the parameters.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.modules import CSRLinear
    >>> layer = CSRLinear(3, 2).double()
    >>> X = torch.tensor([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    >>> torch.allclose(layer(X.to_sparse_csr()), layer(X))
    True
    """

    def forward(self, X):
        """``X @ weight.T + bias`` for a dense or CSR ``X``.

        Parameters
        ----------
        X : torch.Tensor of shape (batch, in_features)
            Dense or ``torch.sparse_csr`` input.

        Returns
        -------
        out : torch.Tensor of shape (batch, out_features)
            Dense output.

        Examples
        --------
        >>> import torch
        >>> from sk_reg.modules import CSRLinear
        >>> CSRLinear(4, 3)(torch.zeros(2, 4).to_sparse_csr()).shape
        torch.Size([2, 3])
        """
        if not is_csr(X):
            return super().forward(X)
        return _CSRLinearFunction.apply(X, self.weight, self.bias)


def takes_csr(module) -> bool:
    """Whether ``module`` takes CSR batches: a Sequential led by a CSRLinear."""
    return (
        isinstance(module, nn.Sequential)
        and len(module) > 0
        and isinstance(module[0], CSRLinear)
    )
