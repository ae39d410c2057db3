"""Per-sample training losses: the task object, one class per kind of target.

Each loss maps the network's raw outputs and the encoded targets to one loss
value per row (the net weights and averages them), and is the one place that
knows what the raw outputs mean (as ``HistGradientBoosting*`` has its
``_loss``): :meth:`predict` turns them into encoded predictions (what the
default validation score compares with the targets, and what ``predict``
decodes), :meth:`proba` / :meth:`log_proba` into probabilities,
:meth:`decide` turns (ensemble-averaged) probabilities into encoded
predictions, ``out_activation`` and ``task`` say what an exporter writes,
``stratify`` whether hold-outs are stratified, and :meth:`soft_targets` turns
encoded targets into the float targets that mixing augmentations (mixup,
CutMix) interpolate. The estimators pick the class (``_loss_class``); nothing
else branches on the kind of target.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _Loss(nn.Module):
    """Interface shared by the losses below (``reduction`` is always per row)."""

    #: What the default validation score is: "accuracy" or "r2".
    score_kind = "r2"
    #: The kind of target ("multiclass", "multilabel" or "regression").
    task = "regression"
    #: MLP's ``out_activation_``: what turns raw outputs into predictions.
    out_activation = "identity"
    #: Whether hold-out splits are stratified by the (encoded) targets.
    stratify = False

    def __init__(self, reduction: str = "none") -> None:
        super().__init__()
        self.reduction = reduction

    def soft_targets(self, y: torch.Tensor, n_outputs: int, dtype) -> torch.Tensor:
        return y

    @staticmethod
    def target_dtype(dtype):
        """The dtype of the encoded targets, for inputs of ``dtype``."""
        return dtype

    @staticmethod
    def predict(raw: torch.Tensor) -> torch.Tensor:
        """Encoded predictions from raw outputs."""
        return raw

    @staticmethod
    def proba(raw: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("regression has no probabilities")

    @staticmethod
    def log_proba(raw: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("regression has no probabilities")

    @staticmethod
    def decide(proba):
        """Encoded predictions from (averaged) probabilities (numpy)."""
        raise NotImplementedError("regression has no probabilities")

    def batch_loss(self, raw, y, sw=None):
        """``(loss, weight sum)``: the (sample-weighted) mean of the rows' losses."""
        per_row = self(raw, y)
        if sw is None:
            return per_row.mean(), float(len(per_row))
        sw_sum = sw.sum()
        return (per_row * sw).sum() / sw_sum, sw_sum

    def batch_loss_and_grad(self, raw, y, sw=None):
        """``(loss, weight sum, d loss / d raw)`` of :meth:`batch_loss`, detached.

        Losses with a closed-form gradient (:meth:`_rows_and_grad`) skip
        autograd; the others differentiate :meth:`batch_loss`.
        """
        rows = self._rows_and_grad(raw, y)
        if rows is None:
            raw = raw.detach().requires_grad_()
            with torch.enable_grad():
                loss, sw_sum = self.batch_loss(raw, y, sw)
            (grad,) = torch.autograd.grad(loss, raw)
            return loss.detach(), sw_sum, grad
        per_row, grad = rows
        if sw is None:
            n = float(len(per_row))
            return per_row.mean(), n, grad.div_(n)
        sw_sum = sw.sum()
        scale = sw / sw_sum
        return per_row.mul(scale).sum(), sw_sum, grad.mul_(scale[:, None])

    def _rows_and_grad(self, raw, y):
        """Per-row losses and their gradients, or None (autograd)."""
        return None


class SoftmaxCrossEntropy(_Loss):
    """Cross-entropy of a softmax over the outputs (binary and multiclass).

    Targets are class indices, or class probabilities after mixing.
    """

    score_kind = "accuracy"
    task = "multiclass"
    out_activation = "softmax"
    stratify = True

    def __init__(self, reduction: str = "none", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.label_smoothing = label_smoothing

    def forward(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(
            raw, y, reduction="none", label_smoothing=self.label_smoothing
        )

    def soft_targets(self, y: torch.Tensor, n_outputs: int, dtype) -> torch.Tensor:
        return F.one_hot(y, n_outputs).to(dtype)

    @staticmethod
    def target_dtype(dtype):
        return torch.long  # class indices

    @staticmethod
    def predict(raw: torch.Tensor) -> torch.Tensor:
        return raw.argmax(dim=1)

    @staticmethod
    def proba(raw: torch.Tensor) -> torch.Tensor:
        return torch.softmax(raw, dim=1)

    @staticmethod
    def log_proba(raw: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(raw, dim=1)

    @staticmethod
    def decide(proba):
        return proba.argmax(axis=1)

    @staticmethod
    def decode(y_enc, classes):
        """Labels from encoded predictions (numpy class indices)."""
        return classes[y_enc]

    def _rows_and_grad(self, raw, y):
        log_p = torch.log_softmax(raw, dim=1)
        if y.dim() == 1 and not self.label_smoothing:  # class indices
            index = y.unsqueeze(1)
            per_row = log_p.gather(1, index).neg_().squeeze(1)
            grad = log_p.exp_().scatter_add_(1, index, raw.new_full(index.shape, -1.0))
            return per_row, grad
        if y.dim() == 1:
            q = torch.zeros_like(raw).scatter_(1, y.unsqueeze(1), 1.0)
        else:
            q = y
        if self.label_smoothing:
            q = q * (1 - self.label_smoothing) + self.label_smoothing / raw.shape[1]
        per_row = torch.mul(q, log_p).sum(dim=1).neg_()
        return per_row, log_p.exp_().sub_(q)


class SigmoidBinaryCrossEntropy(_Loss):
    """Binary cross-entropy of a sigmoid per output, summed over the labels.

    The multilabel loss of :class:`~sklearn.neural_network.MLPClassifier`.
    ``label_smoothing`` moves each 0/1 target towards 1/2:
    ``y * (1 - label_smoothing) + label_smoothing / 2``.
    """

    score_kind = "accuracy"
    task = "multilabel"
    out_activation = "logistic"

    def __init__(self, reduction: str = "none", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.label_smoothing = label_smoothing

    def forward(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + self.label_smoothing / 2
        loss = F.binary_cross_entropy_with_logits(raw, y, reduction="none")
        return loss.sum(dim=1)

    @staticmethod
    def predict(raw: torch.Tensor) -> torch.Tensor:
        return (raw > 0).to(raw.dtype)  # as the 0/1 targets

    @staticmethod
    def proba(raw: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(raw)

    @staticmethod
    def log_proba(raw: torch.Tensor) -> torch.Tensor:
        return F.logsigmoid(raw)

    @staticmethod
    def decide(proba):
        """A label is on where its (mean) probability exceeds one half."""
        return (proba > 0.5).astype(int)

    @staticmethod
    def decode(y_enc, classes):
        """The 0/1 indicator matrix, as ``MLPClassifier`` predicts it."""
        return y_enc.astype(int)


class HalfSquaredError(_Loss):
    """Half the squared error, averaged over the outputs (MLPRegressor's loss)."""

    def forward(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 0.5 * (raw - y).pow(2).mean(dim=1)

    def _rows_and_grad(self, raw, y):
        diff = raw - y
        return 0.5 * diff.pow(2).mean(dim=1), diff.div_(raw.shape[1])


class HalfPoissonDeviance(_Loss):
    """Half the Poisson deviance with a log link, averaged over the outputs.

    The raw output is the log of the predicted mean, so predictions
    ``exp(raw)`` are always positive. Per entry the loss is
    ``y * log(y / mu) - y + mu`` with ``mu = exp(raw)``, the value
    :class:`~sklearn.neural_network.MLPRegressor` reports for
    ``loss="poisson"``.
    """

    out_activation = "exp"

    def forward(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (torch.exp(raw) - y * raw + torch.xlogy(y, y) - y).mean(dim=1)

    @staticmethod
    def predict(raw: torch.Tensor) -> torch.Tensor:
        return torch.exp(raw)
