"""The skorch net that owns the training step, and its tensor data path.

skorch's default data path builds every batch row by row (``Dataset.__getitem__``
then ``default_collate``). Here the whole data set is one tensor on the
training device and batches are index slices of it (what that saves is
measured in ``benchmarks/README.md``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer
from skorch.history import History

from . import _fast_mlp, _fused_adam
from ._holdout import holdout_rows
from ._sparse import csr_rows, csr_vstack, is_csr, takes_csr
from .augment import mix_with_weights
from .modules import first_linear_weight
from .penalties import (
    add_l2_gradient_,
    penalized_parameters,
    penalty_objective,
    prox_group_l1_,
    prox_l1_,
)


def _snapshot(module: torch.nn.Module, into: dict | None = None) -> dict:
    """A copy of ``module``'s state dict, written into the buffers of an
    earlier snapshot ``into`` when it has the same entries (no allocation)."""
    state = module.state_dict()
    if into is None or into.keys() != state.keys():
        return {key: value.detach().clone() for key, value in state.items()}
    for key, value in state.items():
        into[key].copy_(value)
    return into


def _as_tensors(value):
    """Arrays (or tensors) nested in dicts become tensors: optimizer states."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return torch.as_tensor(value)
    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    return value


class _TensorDataset(torch.utils.data.Dataset):
    """``X``, targets and sample weights as tensors, optionally a row subset."""

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor | None = None,
        sw: torch.Tensor | None = None,
        indices: torch.Tensor | None = None,
    ) -> None:
        self.X = X
        self.y = y
        self.sw = sw
        self.indices = indices

    def __len__(self) -> int:
        return len(self.X) if self.indices is None else len(self.indices)

    def __getitem__(self, i):  # pragma: no cover - batches are sliced instead
        rows = i if self.indices is None else self.indices[i]
        return self.X[rows], self.y[rows]

    def rows(self, indices: torch.Tensor | None = None) -> tuple:
        """``(X, y, sw)`` of the given rows (all rows for None).

        Rows are gathered with ``index_select`` (cheaper than advanced
        indexing on the CPU); a CSR ``X`` gives a CSR batch."""
        if indices is None:
            return self.X, self.y, self.sw
        X = (
            csr_rows(self.X, indices)
            if is_csr(self.X)
            else self.X.index_select(0, indices)
        )
        return (
            X,
            *(
                None if t is None else t.index_select(0, indices)
                for t in (self.y, self.sw)
            ),
        )

    def join(self, other: _TensorDataset) -> _TensorDataset:
        """All rows of ``self`` followed by those of ``other`` (both unsubsetted)."""
        X = (
            csr_vstack(self.X, other.X)
            if is_csr(self.X)
            else torch.cat([self.X, other.X])
        )
        sw = None
        if self.sw is not None or other.sw is not None:
            sw = torch.cat(
                [
                    torch.ones(len(d), dtype=X.dtype, device=X.device)
                    if d.sw is None
                    else d.sw
                    for d in (self, other)
                ]
            )
        return _TensorDataset(X, torch.cat([self.y, other.y]), sw)

    def subset(self, indices) -> _TensorDataset:
        indices = torch.as_tensor(indices, dtype=torch.long)
        if self.indices is not None:
            indices = self.indices[indices]
        return _TensorDataset(self.X, self.y, self.sw, indices.to(self.X.device))


class _SliceIterator:
    """Yield ``(X, y, sw)`` batches as slices (or gathers) of the tensors.

    A CSR ``X`` gives CSR batches, densified when ``densify`` is set (modules
    other than the built-in MLP).
    """

    def __init__(
        self,
        dataset: _TensorDataset,
        batch_size: int,
        rng: np.random.Generator | None = None,
        densify: bool = False,
    ) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.rng = rng  # shuffles when given
        self.densify = densify

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        ds, bs = self.dataset, self.batch_size
        n = len(ds)
        order = ds.indices
        if self.rng is not None:
            perm = torch.from_numpy(self.rng.permutation(n)).to(ds.X.device)
            order = perm if order is None else order[perm]
        if is_csr(ds.X):
            yield from self._csr_batches(order)
            return
        for start in range(0, n, bs):
            if order is None:
                rows = slice(start, start + bs)
                yield (
                    ds.X[rows],
                    None if ds.y is None else ds.y[rows],
                    None if ds.sw is None else ds.sw[rows],
                )
            else:
                yield ds.rows(order[start : start + bs])

    def _csr_batches(self, order):
        ds = self.dataset
        if order is None:
            order = torch.arange(len(ds), device=ds.X.device)
        for start in range(0, len(order), self.batch_size):
            Xb, yb, swb = ds.rows(order[start : start + self.batch_size])
            yield (Xb.to_dense() if self.densify else Xb, yb, swb)


# Below this many floating point operations per training step (or prediction
# chunk) the net runs on one intra-op thread and restores the process's count
# afterwards: such steps are too small to split, and spare threads spin on a
# busy machine (benchmarks/README.md, "Threads").
SMALL_STEP_FLOPS = 1e8
# Predictions on fewer rows keep the thread count: a switch and back costs
# ~0.5 ms, more than a small prediction.
_SWITCH_MIN_ROWS = 1024


def _step_flops(module: torch.nn.Module, rows: int, training: bool) -> int:
    """Multiply-adds x 2 (x 3 with the backward pass) of a dense network."""
    weights = sum(p.numel() for p in module.parameters() if p.dim() == 2)
    return 2 * rows * weights * (3 if training else 1)


@contextmanager
def _threads_for(
    module: torch.nn.Module, rows: int, device, training: bool
) -> Iterator[None]:
    """One torch thread for small steps of matrix-only networks on the CPU.

    Networks with other weights (convolutions, whose work per weight grows
    with the image) keep the process's thread count.
    """
    n_threads = torch.get_num_threads()
    if (
        n_threads == 1
        or torch.device(device).type != "cpu"
        or any(p.dim() > 2 for p in module.parameters())
        or _step_flops(module, rows, training) >= SMALL_STEP_FLOPS
    ):
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)


_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def _has_batch_hooks(callbacks) -> bool:
    """Whether any callback acts per batch (overrides a per-batch hook).

    Without such callbacks training skips skorch's per-batch notifications
    and history rows; with them, every batch is notified and its loss and
    size recorded in ``history[-1]["batches"]``, as skorch does.
    """
    return any(
        getattr(type(cb), hook) is not getattr(Callback, hook)
        for _, cb in callbacks
        for hook in _BATCH_HOOKS
    )


class _HoldoutSplit:
    """skorch ``train_split``: the hold-out of :mod:`sk_reg._holdout` (a
    random, stratified where possible, split of the rows; with a warning and
    without stratification where not). With ``n_train`` (``fit(..., X_val=...,
    y_val=...)``, the validation rows appended to the training rows) the first
    ``n_train`` rows train and the rest validate.
    """

    def __init__(self, fraction, stratify, seed, n_train=None):
        self.fraction = fraction
        self.stratify = stratify
        self.seed = seed
        self.n_train = n_train

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        if self.n_train is not None:
            rows = np.arange(n)
            return (
                dataset.subset(rows[: self.n_train]),
                dataset.subset(rows[self.n_train :]),
            )
        labels = None
        if self.stratify:
            labels = dataset.y.cpu().numpy()
            if dataset.indices is not None:
                labels = labels[dataset.indices.cpu().numpy()]
        idx_train, idx_valid = holdout_rows(n, self.fraction, self.seed, labels)
        parts = dataset.subset(idx_train), dataset.subset(idx_valid)
        for part, name in zip(parts, ("training", "validation"), strict=True):
            self._check_weighted(part, name, n)
        return parts

    def _check_weighted(self, part, name, n):
        """A side of the split whose rows all weigh 0 leaves nothing to train
        on, or to score (its loss would be 0 / 0)."""
        if part.sw is None or bool((part.rows(part.indices)[2] > 0).any()):
            return
        raise ValueError(
            f"The {name} rows of the early-stopping split (validation_fraction="
            f"{self.fraction}: {len(part)} of {n} rows) all have sample_weight 0, "
            f"so there is nothing to {'train on' if name == 'training' else 'score'}. "
            "Give some of them a positive weight, change validation_fraction or "
            "random_state, pass X_val, y_val (with sample_weight_val), or set "
            "early_stopping=False."
        )


class _StopTraining(KeyboardInterrupt):
    """Stops the epoch loop; skorch's ``partial_fit`` swallows it (as it does
    for its own ``EarlyStopping``) and still runs the ``on_train_end`` hooks."""


class _FitInterrupted(BaseException):
    """KeyboardInterrupt before any epoch of the call completed.

    Not a KeyboardInterrupt, so that skorch does not swallow it; the estimator
    restores its previous state and re-raises a KeyboardInterrupt.
    """


class _SkorchNet(NeuralNet):
    """skorch net with sample weights, l1/l2, augmentation and a fast data path.

    The learning rate of epoch ``k`` of a training call of ``E`` epochs is
    ``lr`` for ``lr_schedule="constant"``,
    ``lr * (1 + cos(pi * k / E)) / 2`` for ``"cosine"`` and
    ``lr / (t + 1) ** power_t`` for ``"invscaling"`` (``t``: training rows seen
    before the epoch, over every call); it is written into the optimizer's
    parameter groups when the call begins (so a warm-started optimizer state
    does not bring back an old rate) and, for those two, at the start of every
    epoch. ``"adaptive"`` starts at ``lr`` and is divided by the stopping rule
    (:class:`_StoppingRule`).

    The per-batch objective is
    ``sum_i w_i * loss_i / sum_i w_i + 0.5 * l2 * sum ||W||^2 / sum_i w_i``,
    followed by the optimizer step, the proximal L1 step and the proximal
    group-L1 step on the columns of the first layer (``feature_l1``; the
    weight of the first ``nn.Linear`` reading all ``n_features`` inputs,
    resolved once in ``initialize``).

    Faults during training: the weights are copied at the start of every
    epoch. An epoch that ends with a non-finite loss or weights (divergence)
    or that is cut short by a ``KeyboardInterrupt`` is rolled back (weights
    restored, its history row removed) and training stops with
    ``stop_reason_`` set to ``"diverged"`` or ``"interrupted"``. When no epoch
    of the call completed, ``fit_loop`` raises instead: ``ValueError`` for
    divergence, :class:`_FitInterrupted` for an interrupt.
    """

    def __init__(
        self,
        module,
        *args,
        l1=0.0,
        l2=0.0,
        feature_l1=0.0,
        n_features=None,
        augment=None,
        score_validation=True,
        n_outputs=None,
        shuffle_seed=0,
        predict_batch_size=8192,
        incremental=False,
        lr_schedule="constant",
        power_t=0.5,
        **kwargs,
    ):
        self.l1 = l1
        self.l2 = l2
        self.feature_l1 = feature_l1
        self.n_features = n_features
        self.augment = augment
        self.score_validation = score_validation
        self.n_outputs = n_outputs
        self.shuffle_seed = shuffle_seed
        self.predict_batch_size = predict_batch_size
        self.incremental = incremental
        self.lr_schedule = lr_schedule
        self.power_t = power_t
        super().__init__(module, *args, **kwargs)

    def get_default_callbacks(self):
        # skorch's PrintLog (ANSI colours) and per-batch loss scoring are
        # replaced by the epoch-level bookkeeping in run_single_epoch.
        return [("epoch_timer", EpochTimer())]

    def _train_mode(self, training):
        """Training or evaluation mode for the module and the criterion."""
        self.module_.train(training)
        self.criterion_.train(training)

    def initialize(self):
        super().initialize()
        self.shuffle_rng_ = (
            None
            if self.shuffle_seed is None
            else np.random.default_rng(self.shuffle_seed)
        )
        self.feature_weight_ = (
            None
            if self.n_features is None
            else first_linear_weight(self.module_, self.n_features)
        )
        self.penalized_ = penalized_parameters(self.module_)
        self.fast_plan_ = _fast_mlp.mlp_plan(self.module_)
        self._batch_hooks = _has_batch_hooks(self.callbacks_)
        self._direct_step = False
        return self

    # fault handling ----------------------------------------------------
    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self.stop_reason_ = None
        self.stop_message_ = None
        self._epochs_done = 0
        self._call_epochs = self.max_epochs if epochs is None else epochs
        self._epoch_open = False
        self._batch_hooks = _has_batch_hooks(self.callbacks_)
        try:
            with _threads_for(self.module_, self.batch_size, self.device, True):
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            if self._epoch_open and not isinstance(exc, _StopTraining):
                # A user interrupt (Ctrl-C, a callback) in the middle of an
                # epoch: keep the model of the last completed epoch.
                self._rollback_epoch()
                self.stop_reason_ = "interrupted"
                self.stop_message_ = (
                    f"Training was interrupted (KeyboardInterrupt) during epoch "
                    f"{len(self.history) + 1}"
                )
            if self._epochs_done == 0 and self.stop_reason_ == "diverged":
                raise ValueError(
                    f"{self.stop_message_} before any epoch of this call completed, "
                    "so there is no usable model to return. Lower "
                    "learning_rate_init and standardise the features (and, for "
                    "regression, the targets), for example with StandardScaler."
                ) from None
            if self._epochs_done == 0 and self.stop_reason_ == "interrupted":
                raise _FitInterrupted(self.stop_message_) from exc
            raise
        finally:
            # Never pickled: could hold CUDA tensors.
            self._epoch_start_state = None

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self._set_lr(self.lr)

    def _set_lr(self, lr):
        for group in self.optimizer_.param_groups:
            group["lr"] = lr

    def epoch_lr(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (from 0) of this training call,
        for the schedules that fix it in advance (not ``"adaptive"``)."""
        if self.lr_schedule == "cosine":
            return self.lr * (1 + math.cos(math.pi * epoch / self._call_epochs)) / 2
        if self.lr_schedule == "invscaling":
            # MLP's t: the training rows seen before this epoch, in every call.
            seen = sum(row.get("train_rows", 0) for row in self.history)
            return self.lr / (seen + 1) ** self.power_t
        return self.lr

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        if self.lr_schedule in ("cosine", "invscaling"):
            self._set_lr(self.epoch_lr(self._epochs_done))
        self.history.record("lr", self.optimizer_.param_groups[0]["lr"])
        self._direct_step = False
        self._epoch_start_state = _snapshot(
            self.module_, getattr(self, "_epoch_start_state", None)
        )
        self._epoch_open = True

    def on_epoch_end(self, net, **kwargs):
        # Runs before the callbacks' on_epoch_end, so EarlyStopping never sees
        # a non-finite loss and never stores diverged weights as the best.
        super().on_epoch_end(net, **kwargs)
        row = self.history[-1]
        bad = [
            f"{key} is {row[key]}"
            for key in ("train_loss", "train_objective", "valid_loss")
            if key in row and not math.isfinite(row[key])
        ]
        if not bad and not self._weights_finite():
            bad = ["the weights are not finite"]
        if bad:
            epoch = row["epoch"]
            self._rollback_epoch()
            # Adam's moments may be non-finite too; restart them.
            self.optimizer_.state.clear()
            self.stop_reason_ = "diverged"
            self.stop_message_ = f"Training diverged at epoch {epoch} ({bad[0]})"
            raise _StopTraining
        self._epoch_open = False
        self._epochs_done += 1

    @torch.no_grad()
    def _weights_finite(self):
        checks = [torch.isfinite(p).all() for p in self.module_.parameters()]
        return not checks or bool(torch.stack(checks).all())

    def _rollback_epoch(self):
        self.module_.load_state_dict(self._epoch_start_state)
        del self.history[-1]
        self._epoch_open = False

    def settings(self):
        """The arguments ``_new_net`` rebuilds this net from, beyond the
        estimator's hyperparameters (see ``sk_reg._state.NET_SETTINGS``)."""
        split = self.train_split
        return {
            "n_outputs": int(self.n_outputs),
            "batch_size": int(self.batch_size),
            "incremental": bool(self.incremental),
            "early_stopping": split is not None,
            "n_train": None if split is None else split.n_train,
            "device": str(self.device),
        }

    def training_state(self, copy_tensors=True):
        """What training changes: the one list of a net's state.

        The module's weights and buffers, the optimizer state (``state`` as
        ``[index, {name: tensor}]`` pairs, and ``param_groups``), the history
        rows and the shuffling generator's state. ``fit`` keeps a copy to undo
        a failed call; ``sk_reg._state`` turns it into arrays for pickles and
        files, itself a copy, so it asks for the live tensors
        (``copy_tensors=False``). :meth:`load_training_state` reads either form.
        """
        optimizer = self.optimizer_.state_dict()
        if copy_tensors:
            optimizer, module = copy.deepcopy(optimizer), _snapshot(self.module_)
        else:
            module = self.module_.state_dict()
        rng = self.shuffle_rng_
        return {
            "module": module,
            "optimizer": {
                "state": [[int(i), s] for i, s in optimizer["state"].items()],
                "param_groups": optimizer["param_groups"],
            },
            "history": list(self.history),
            "rng": None if rng is None else copy.deepcopy(rng.bit_generator.state),
        }

    def load_training_state(self, state):
        """Set the weights, optimizer state, history and generator state from
        :meth:`training_state` output (tensors or numpy arrays)."""
        self.module_.load_state_dict(
            {k: torch.as_tensor(v) for k, v in state["module"].items()}
        )
        optimizer = state["optimizer"]
        self.optimizer_.load_state_dict(
            {
                "state": {int(i): _as_tensors(s) for i, s in optimizer["state"]},
                "param_groups": [dict(g) for g in optimizer["param_groups"]],
            }
        )
        self.history_ = History(dict(row) for row in state["history"])
        if state["rng"] is not None:  # None: shuffle=False
            self.shuffle_rng_.bit_generator.state = copy.deepcopy(state["rng"])

    # data path ---------------------------------------------------------
    def get_dataset(self, X, y=None):
        if isinstance(X, _TensorDataset):
            return X
        raise TypeError("sk_reg nets are fed _TensorDataset objects only.")

    def get_iterator(self, dataset, training=False):
        densify = not takes_csr(self.module_)
        if training:
            return _SliceIterator(
                dataset, self.batch_size, rng=self.shuffle_rng_, densify=densify
            )
        return _SliceIterator(dataset, self.predict_batch_size, densify=densify)

    def check_data(self, X, y=None):
        pass

    # training step -----------------------------------------------------
    def _batch_loss(
        self, y_pred: torch.Tensor, y_true: torch.Tensor, sw: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | float]:
        # criterion_ is one of sk_reg._losses.
        return self.criterion_.batch_loss(y_pred, y_true, sw)

    def train_step_single(self, batch, **fit_params):
        if not self.module_.training:  # module.train() recurses in Python
            self._train_mode(True)
        Xb, yb, swb = batch
        if self.augment is not None:
            if is_csr(Xb) and not self.augment.takes_csr:
                Xb = Xb.to_dense()
            if self.augment.mixes_targets:
                yb = self.criterion_.soft_targets(yb, self.n_outputs, Xb.dtype)
            if self.augment.mixes_targets and swb is not None:
                Xb, yb, swb = mix_with_weights(self.augment, Xb, yb, swb)
            else:
                Xb, yb = self.augment(Xb, yb)
        if _fast_mlp.applies(self.fast_plan_, Xb):
            y_pred, data_loss, sw_sum = _fast_mlp.forward_backward(
                self.fast_plan_, Xb, yb, swb, self.criterion_
            )
        else:
            y_pred = self.module_(Xb)
            data_loss, sw_sum = self._batch_loss(y_pred, yb, swb)
            data_loss.backward()
        add_l2_gradient_(self.penalized_, self.l2, sw_sum)
        return {"loss": data_loss.detach(), "y_pred": y_pred, "sw_sum": sw_sum}

    def _lean_train_step(self, batch, **fit_params):
        """skorch's ``train_step`` without its per-batch notification."""
        step = None
        optimizer = self.optimizer_

        def closure():
            nonlocal step
            for group in optimizer.param_groups:
                for p in group["params"]:
                    p.grad = None
            step = self.train_step_single(batch, **fit_params)
            return step["loss"]

        # Checked until true once per epoch (Adam's state appears at its
        # first step; a rolled-back epoch clears it).
        if not self._direct_step:
            self._direct_step = _fused_adam.can_step(optimizer)
        if self._direct_step:
            closure()
            _fused_adam.step(optimizer)
        else:
            optimizer.step(closure)
        return step

    def train_step(self, batch, **fit_params):
        if self._batch_hooks:
            # skorch's step: notifies ``on_grad_computed``.
            step = super().train_step(batch, **fit_params)
        else:
            step = self._lean_train_step(batch, **fit_params)
        if self.l1 > 0:
            prox_l1_(self.penalized_, self.optimizer_, self.l1)
        if self.feature_l1 > 0:
            prox_group_l1_(self.feature_weight_, self.optimizer_, self.feature_l1)
        return step

    def validation_step(self, batch, **fit_params):
        if self.module_.training:
            self._train_mode(False)
        Xb, yb, swb = batch
        with torch.no_grad():
            y_pred = self.module_(Xb)
            loss, _ = self._batch_loss(y_pred, yb, swb)
        return {"loss": loss, "y_pred": y_pred}

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # Losses are summed on the device and read once per epoch: a
        # ``.item()`` per batch (skorch's default) forces a host sync per batch.
        if iterator is None:
            return
        total = None
        n_rows = 0
        inv_sw_sum = 0.0  # sum over batches of rows / weight sum (L2 term)
        scorer = None
        if not training and self.score_validation:
            scorer = _ValidationScorer(self.criterion_)
        hooks = self._batch_hooks
        for batch in iterator:
            if hooks:
                self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            bs = len(batch[0])
            if total is None:
                total = step["loss"].detach() * bs
            else:
                total.add_(step["loss"].detach(), alpha=bs)
            n_rows += bs
            if training:
                inv_sw_sum = inv_sw_sum + bs / step["sw_sum"]
            if scorer is not None:
                scorer.update(step["y_pred"], batch[1], batch[2])
            if hooks:
                self._record_batch(prefix, step, bs)
                self.notify("on_batch_end", batch=batch, training=training, **step)
        self.history.record(prefix + "_loss", total.item() / n_rows)
        self.history.record(prefix + "_batch_count", len(iterator))
        if training:
            self.history.record("train_rows", n_rows)
            # The full objective (what the plateau criterion watches): with a
            # strong l1 the data loss can rise while the objective still falls.
            # Both averaged over rows, as the per-batch objectives are.
            self.history.record(
                "train_objective",
                self.history[-1, "train_loss"]
                + self._penalty(float(inv_sw_sum) / n_rows),
            )
        if scorer is not None:
            self.history.record("valid_score", scorer.result())

    def _record_batch(self, prefix, step, n_rows):
        # Only with per-batch callbacks: a host sync per batch.
        self.history.record_batch(prefix + "_loss", float(step["loss"]))
        self.history.record_batch(prefix + "_batch_size", n_rows)

    def _penalty(self, inv_sw_sum):
        return penalty_objective(
            self.penalized_,
            self.feature_weight_,
            l1=self.l1,
            l2=self.l2,
            feature_l1=self.feature_l1,
            inv_sw_sum=inv_sw_sum,
        )

    # prediction --------------------------------------------------------
    def predict_raw(self, X):
        """Module outputs for the tensor ``X``, in chunks, in eval mode."""
        if len(X) < _SWITCH_MIN_ROWS:  # switching threads costs more
            return self._predict_raw(X)
        rows = min(len(X), self.predict_batch_size)
        with _threads_for(self.module_, rows, X.device, False):
            return self._predict_raw(X)

    def _predict_raw(self, X):
        if self.module_.training:  # train() recurses in Python: skip if set
            self.module_.train(False)
        forward = self.module_
        if _fast_mlp.applies(self.fast_plan_, X):  # no module calls
            forward = partial(_fast_mlp.predict, self.fast_plan_)
        with torch.inference_mode():
            if is_csr(X):
                return self._predict_csr(X)
            if len(X) <= self.predict_batch_size:
                return forward(X)
            return torch.cat(
                [
                    forward(X[s : s + self.predict_batch_size])
                    for s in range(0, len(X), self.predict_batch_size)
                ]
            )

    def _predict_csr(self, X):
        sparse = takes_csr(self.module_)
        chunk = self.predict_batch_size
        if not sparse:  # densified chunks of at most ~2**22 values
            chunk = max(1, min(chunk, (1 << 22) // max(X.shape[1], 1)))
        rows = torch.arange(len(X), device=X.device)
        outputs = []
        for start in range(0, len(X), chunk):
            Xb = csr_rows(X, rows[start : start + chunk])
            outputs.append(self.module_(Xb if sparse else Xb.to_dense()))
        return torch.cat(outputs)


class _ValidationScorer:
    """Accumulate the estimator's default score over validation batches.

    Accuracy (subset accuracy for multilabel targets) when the loss predicts
    classes, else R^2 averaged over the outputs, as ``score`` computes them.
    """

    def __init__(self, loss):
        self.loss = loss
        self.sums = None

    def update(self, y_pred, y, sw):
        if sw is None:
            sw = torch.ones(len(y), dtype=y_pred.dtype, device=y_pred.device)
        y_pred = self.loss.predict(y_pred)
        if self.loss.score_kind == "accuracy":
            correct = y_pred == y
            if correct.dim() > 1:  # multilabel: every label right
                correct = correct.all(dim=1)
            sums = torch.stack([(sw * correct.to(sw.dtype)).sum(), sw.sum()])
        else:
            swc = sw[:, None]
            sums = torch.stack(
                [
                    (swc * (y - y_pred).pow(2)).sum(0),
                    (swc * y).sum(0),
                    (swc * y.pow(2)).sum(0),
                    sw.sum().expand(y.shape[1]),
                ]
            )
        self.sums = sums if self.sums is None else self.sums + sums

    def result(self):
        s = self.sums.double().cpu()
        if self.loss.score_kind == "accuracy":
            return float(s[0] / s[1])
        sse, sy, syy, sw = s
        sst = syy - sy.pow(2) / sw
        # sklearn's r2_score: a constant target gives 1.0 when predicted exactly.
        r2 = torch.where(sst > 0, 1 - sse / sst.clamp(min=1e-300), (sse == 0).double())
        return float(r2.mean())


class _StoppingRule(Callback):
    """MLPClassifier's stopping rules, checked at the end of every epoch.

    Without a hold-out (``early_stopping=False``) the training objective (loss
    plus penalties) is watched: an epoch counts as "no improvement" when
    ``objective > best_objective - tol``. With a hold-out, the validation
    score is watched (higher is better): "no improvement" when
    ``score < best_score + tol``, while *any* improvement (or a tie) makes an
    epoch the best one, whose weights are restored when training ends. Training stops
    once the count of consecutive epochs without improvement exceeds
    ``n_iter_no_change`` (``np.inf``: never); under the ``"adaptive"`` rate
    it first divides the rate by 5, each time, until it is at most 1e-6.

    The validation score of an epoch is ``valid_score`` in the history when
    the net computed it (the estimator's default score); ``scoring="loss"``
    uses the negative validation loss; otherwise :attr:`scorer`, a function of
    the validation dataset set by the estimator for the duration of a fit.
    """

    def __init__(self, n_iter_no_change, tol, early_stopping, scoring=None):
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.scorer = None

    def on_train_begin(self, net, **kwargs):
        self.no_improvement_count_ = 0
        self.best_objective_ = math.inf
        # With warm starts the weights in the module are the best of the
        # previous calls (restored), so their score is the one to beat.
        previous = [
            (row["valid_score"], row["epoch"])
            for row in net.history
            if "valid_score" in row
        ]
        # Among equal scores the later epoch, as in on_epoch_end: its weights
        # are the ones the previous call restored.
        self.best_score_, self.best_epoch_ = max(previous, default=(-math.inf, None))
        self.best_state_ = _snapshot(net.module_) if previous else None

    def _epoch_score(self, net, dataset_valid):
        row = net.history[-1]
        if "valid_score" in row:
            return row["valid_score"]
        if self.scoring == "loss":
            score = -row["valid_loss"]
        else:
            score = float(self.scorer(dataset_valid))
        net.history.record("valid_score", score)
        return score

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if self.early_stopping:
            score = self._epoch_score(net, dataset_valid)
            improved = score >= self.best_score_ + self.tol
            if score >= self.best_score_:
                # Ties go to the later epoch: with an accuracy on a small
                # hold-out, equal scores are common and the later weights
                # have trained longer on the same evidence.
                self.best_score_ = score
                self.best_epoch_ = net.history[-1, "epoch"]
                self.best_state_ = _snapshot(net.module_, self.best_state_)
        else:
            objective = net.history[-1, "train_objective"]
            improved = objective <= self.best_objective_ - self.tol
            self.best_objective_ = min(self.best_objective_, objective)
        self.no_improvement_count_ = 0 if improved else self.no_improvement_count_ + 1
        if self.no_improvement_count_ > self.n_iter_no_change:
            self._no_improvement(net)

    def _no_improvement(self, net):
        """Stop, or (MLP's ``"adaptive"``) divide the rate by 5 and go on
        until it is at most 1e-6."""
        lr = net.optimizer_.param_groups[0]["lr"]
        if net.lr_schedule != "adaptive" or lr <= 1e-6:
            raise _StopTraining
        net._set_lr(lr / 5)
        self.no_improvement_count_ = 0

    def on_train_end(self, net, **kwargs):
        if self.early_stopping and self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # never pickled with the net
