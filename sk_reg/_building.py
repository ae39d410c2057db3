"""How an estimator builds its skorch net: the one builder ``_new_net``
(used by ``fit`` and every restore), the module, optimizer, schedule and
callbacks."""

from __future__ import annotations

import numpy as np
import torch

from ._compat import (
    InvalidParameterError,
)
from ._net import (
    _HoldoutSplit,
    _SkorchNet,
    _StoppingRule,
)
from ._rng import seeded_global
from .augment import _prepare_augment, _resolve_augment
from .callbacks import EpochLogger
from .modules import (
    MLP,
    ConvNet,
    _instantiate_module,
    first_linear_weight,
    is_convnet,
)

# Every optimizer here has a proximal step-size rule in
# sk_reg.penalties.PROX_STEP_RULES (l1 and feature_l1 need one).
_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    # Trained by scipy's L-BFGS-B (sk_reg/_lbfgs.py, full batch, no l1): the
    # net's optimizer_ is an unused LBFGS that records the choice.
    "lbfgs": (torch.optim.LBFGS, {}),
}


def _with_fused_step(opt_cls, opt_kwargs, device):
    """Ask Adam/AdamW for their fused kernel when the user chose no implementation.

    One fused kernel per step instead of a dozen tensor ops per parameter: the
    same update, cheaper (measured in benchmarks/README.md). CPU support
    arrived in torch 2.4.
    """
    device_type = torch.device(device).type
    if (
        opt_cls not in (torch.optim.Adam, torch.optim.AdamW)
        or {"fused", "foreach", "differentiable", "capturable"} & opt_kwargs.keys()
        or device_type not in ("cpu", "cuda")
        or (
            device_type == "cpu"
            and torch.torch_version.TorchVersion(torch.__version__) < "2.4"
        )
    ):
        return opt_kwargs
    return {**opt_kwargs, "fused": True}


class _NetBuilding:
    """Mixin of the estimators: building the net from the hyperparameters."""

    # -- building the net ----------------------------------------------------
    def _new_net(self, settings, device):
        """The net of this estimator: the one builder, used by ``fit`` and by
        every restore (pickle, :func:`sk_reg.load`, skops).

        Built from the hyperparameters, the fitted ``n_features_in_``,
        ``_input_shape``, ``_dtype`` and ``_seed``, and ``settings`` (the
        ``sk_reg._state.NET_SETTINGS``: ``n_outputs``, ``batch_size``,
        ``incremental``, ``early_stopping``, ``n_train``). The only place
        that knows skorch's argument names.
        """
        n_features, seed = self.n_features_in_, self._seed
        n_outputs, incremental = settings["n_outputs"], settings["incremental"]
        early_stopping = settings["early_stopping"]
        self._device = str(device)  # where this estimator's net lives
        augment = _prepare_augment(
            _resolve_augment(self.augment), n_features, self._input_shape
        )
        module = self._build_module(n_features, n_outputs, self._dtype, seed)
        schedule = self._lr_schedule(incremental)
        opt_cls, opt_kwargs = self._optimizer_spec()
        opt_kwargs = _with_fused_step(opt_cls, opt_kwargs, device)
        train_split = None
        if early_stopping:
            train_split = _HoldoutSplit(
                self.validation_fraction,
                stratify=self._loss_class().stratify,
                seed=seed % (2**31 - 1),
                n_train=settings["n_train"],
            )
        net = _SkorchNet(
            module,
            criterion=self._loss_class(),
            **{f"criterion__{k}": v for k, v in self._loss_kwargs().items()},
            optimizer=opt_cls,
            lr=self.learning_rate_init,
            **{f"optimizer__{k}": v for k, v in opt_kwargs.items()},
            max_epochs=self.max_iter,
            batch_size=settings["batch_size"],
            train_split=train_split,
            callbacks=self._build_callbacks(early_stopping, incremental, schedule),
            device=device,
            verbose=int(self.verbose),
            l1=float(self.l1),
            l2=float(self.l2),
            feature_l1=float(self.feature_l1),
            n_features=n_features,
            augment=augment,
            score_validation=self.scoring is None,
            n_outputs=n_outputs,
            shuffle_seed=seed if self.shuffle else None,
            incremental=incremental,
            lr_schedule=schedule,
            power_t=self.power_t,
        )
        return net.initialize()

    def _lr_schedule(self, incremental):
        """The schedule ``learning_rate`` names for this call (see its doc)."""
        if incremental:  # partial_fit: invscaling goes on, the others are flat
            return "invscaling" if self.learning_rate == "invscaling" else "constant"
        if self.learning_rate != "auto":
            return self.learning_rate
        cosine = is_convnet(self.module) and not self._schedules_in_callbacks()
        return "cosine" if cosine else "constant"

    def _batch_size(self):
        if self.batch_size != "auto":
            return self.batch_size
        return 64 if is_convnet(self.module) else 200

    def _schedules_in_callbacks(self):
        """Whether a skorch ``LRScheduler`` is among the user's callbacks."""
        from skorch.callbacks import LRScheduler

        for cb in self.callbacks or []:
            cb = cb[1] if isinstance(cb, tuple) else cb
            cls = cb if isinstance(cb, type) else type(cb)
            if issubclass(cls, LRScheduler):
                return True
        return False

    def _build_module(self, n_features, n_outputs, dtype, seed):
        if self.module is None:
            builder = MLP(self.hidden_layer_sizes, self.activation)
        elif isinstance(self.module, str):  # "cnn"
            builder = ConvNet()
        else:
            builder = self.module
        image = {} if self._input_shape is None else {"input_shape": self._input_shape}
        with seeded_global(seed):
            module = _instantiate_module(
                builder, n_features, n_outputs, dropout=float(self.dropout), **image
            ).to(dtype=dtype)
        self._check_module_output(module, n_features, n_outputs, dtype)
        if self.feature_l1 > 0 and first_linear_weight(module, n_features) is None:
            raise InvalidParameterError(
                "The 'feature_l1' parameter needs a torch.nn.Linear layer reading "
                f"all {n_features} input columns before any convolution; the "
                f"module {type(module).__name__} has none. Use feature_l1=0."
            )
        return module

    def _build_callbacks(self, early_stopping, incremental, schedule):
        from skorch.callbacks import ProgressBar

        callbacks = []
        if not incremental and self.optimizer != "lbfgs":
            # The cosine decay sets the length of training: no plateau rule.
            patience = (
                np.inf
                if schedule == "cosine" and not early_stopping
                else self.n_iter_no_change
            )
            callbacks.append(
                (
                    "stopping",
                    _StoppingRule(patience, self.tol, early_stopping, self.scoring),
                )
            )
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar(postfix_keys=[])))
        if self.verbose >= 1:
            callbacks.append(("epoch_logger", EpochLogger()))
        return callbacks + list(self.callbacks or [])

    def _loss_class(self):
        """The task object: the :mod:`sk_reg._losses` class for these targets
        (chosen by the subclasses; it knows what the outputs mean)."""
        raise NotImplementedError

    def _loss_kwargs(self):
        return {}

    @staticmethod
    def _check_module_output(module, n_features, n_outputs, dtype):
        probe = torch.zeros(2, n_features, dtype=dtype)
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                out = module(probe)
        except Exception as exc:
            raise ValueError(
                f"The module failed on a batch of shape (2, {n_features}): {exc}"
            ) from exc
        finally:
            module.train(was_training)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, n_outputs):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"The module must return a tensor of shape (batch, {n_outputs}) "
                f"({n_outputs} = number of "
                f"{'classes' if n_outputs > 1 else 'outputs'}); for a batch of "
                f"shape (2, {n_features}) it returned {shape}."
            )
