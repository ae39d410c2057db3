"""How an estimator trains: one fit or partial_fit call, rolled back
whole if it fails, and the fitted attributes it leaves."""

from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    check_is_fitted,
)

from ._lbfgs import fit_lbfgs
from ._net import (
    _FitInterrupted,
    _TensorDataset,
)
from ._rng import training_generators
from ._sparse import csr_tensor_to_scipy, is_csr
from .augment import _prepare_augment
from .modules import (
    MLP,
    plain_mlp_layers,
)

_quiet_stops = threading.local()


@contextlib.contextmanager
def _quiet_stop_warnings(*reasons):
    """Fits in this thread skip their stop warnings of ``reasons`` in the block.

    ``reasons``: ``"max_iter"`` (the epochs ran out), ``"diverged"``. For
    callers that stop training early by design (a search's rungs, a path's
    steps). Not ``warnings.catch_warnings``: its filters are process-wide, so
    fits in other threads would lose them, or leave them installed for good.
    """
    previous = getattr(_quiet_stops, "reasons", frozenset())
    _quiet_stops.reasons = previous | frozenset(reasons)
    try:
        yield
    finally:
        _quiet_stops.reasons = previous


def _draw_seed(random_state):
    """An int seed from ``random_state`` that never touches global RNG state."""
    if random_state is None:
        # Fresh OS entropy; check_random_state(None) would advance numpy's
        # global generator.
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class _Training:
    """Mixin of the estimators: the training call and its bookkeeping."""

    # -- training ------------------------------------------------------------
    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        incremental=False,
        classes=None,
        validation=None,
    ):
        """Train, or leave the estimator exactly as it was if anything fails.

        Bad input, divergence before any epoch completed, an interrupt before
        any epoch completed, or any other exception: the previous fitted
        state (weights, optimizer state, history, attributes) stays usable, and
        an unfitted estimator stays unfitted.
        """
        saved = dict(self.__dict__)
        net = saved.get("net_")
        rollback = (
            (dict(net.__dict__), net.training_state())
            if net is not None and (incremental or self.warm_start)
            else None
        )
        try:
            return self._fit_without_rollback(
                X,
                y,
                sample_weight,
                incremental=incremental,
                classes=classes,
                validation=validation,
            )
        except BaseException as exc:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if rollback is not None:
                attrs, training = rollback
                net.__dict__.clear()
                net.__dict__.update(attrs)
                net.load_training_state(training)
            if isinstance(exc, _FitInterrupted):
                raise KeyboardInterrupt(
                    f"{exc}; no epoch completed, so the estimator was left as it "
                    "was before this call."
                ) from None
            raise

    def _fit_without_rollback(
        self,
        X,
        y,
        sample_weight=None,
        *,
        incremental=False,
        classes=None,
        validation=None,
    ):
        """One training call, without the rollback of :meth:`_fit`."""
        augment, device = self._validated_settings()
        continuing = incremental and hasattr(self, "net_")
        if continuing:
            device = self._device
        dataset, n_outputs, dtype, n_train = self._training_data(
            X, y, sample_weight, continuing, classes, device, validation
        )
        # Checked against the data here; _new_net builds its own copy.
        _prepare_augment(augment, self.n_features_in_, self._input_shape)
        early_stopping = self.early_stopping and not incremental
        if early_stopping and validation is None:
            self._check_validation_size(n_train)
        batch_size = min(self._batch_size(), n_train)
        # A previous net to continue from: partial_fit after any fit, or a
        # warm-started fit. Its weights, optimizer state and history move to a
        # net built from the current hyperparameters.
        previous = (
            getattr(self, "net_", None) if (continuing or self.warm_start) else None
        )
        if previous is not None and continuing and previous.incremental:
            # partial_fit keeps the net (and hyperparameters) of its first call.
            net = previous
            net.batch_size = batch_size
        else:
            # fit, also warm-started: a net from the current hyperparameters.
            if previous is None or not continuing:
                self._seed = _draw_seed(self.random_state)
            self._dtype, self.n_outputs_ = dtype, n_outputs
            settings = {
                "n_outputs": n_outputs,
                "batch_size": batch_size,
                "incremental": incremental,
                "early_stopping": early_stopping,
                "n_train": None if validation is None else n_train,
            }
            net = self._new_net(settings, device)
            if previous is not None:
                self._continue_from(previous, net)
        epochs_before = len(net.history)
        # Dropout and augmentation draw from this call's own generators,
        # seeded per call (sk_reg/_rng.py: threads do not share them).
        if self.optimizer == "lbfgs":
            self._run_lbfgs(net, dataset)
            return self
        with training_generators(self._seed + epochs_before, device):
            self._run_epochs(net, dataset, 1 if incremental else self.max_iter)
        self._set_fitted_attributes()
        self._warn_about_stop(net, len(net.history) - epochs_before, incremental)
        return self

    def _run_lbfgs(self, net, dataset):
        """Full-batch L-BFGS-B (sk_reg/_lbfgs.py); MLP's warning at a limit."""
        self.net_ = net
        result = fit_lbfgs(
            net,
            dataset,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            l2=float(self.l2),
            verbose=self.verbose,
        )
        self._set_fitted_attributes()
        self.loss_ = float(result.fun)  # also when no iteration was needed
        if result.status != 0 and "max_iter" not in getattr(
            _quiet_stops, "reasons", ()
        ):
            message = result.message
            message = message.decode() if isinstance(message, bytes) else message
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) "
                f"({result.nfev} loss evaluations; status={result.status}): "
                f"{message}. Increase max_iter or max_fun, or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _training_data(
        self, X, y, sample_weight, continuing, classes, device, validation=None
    ):
        """Validate and encode one call's data into a :class:`_TensorDataset`.

        Returns the dataset (the ``validation`` rows, if any, after the
        training rows), the output width, the compute dtype and the number of
        training rows.
        """
        X, y_enc, sample_weight, n_outputs = self._encoded_rows(
            X, y, sample_weight, first_call=not continuing, classes=classes
        )
        dtype = self._dtype if continuing else self._compute_dtype(X)
        dataset = self._dataset(X, y_enc, sample_weight, dtype, device)
        n_train = len(dataset)
        if validation is not None:
            self.n_outputs_ = n_outputs  # what the targets of X_val are checked against
            dataset = self._with_validation_rows(dataset, validation)
        return dataset, n_outputs, dtype, n_train

    def _encoded_rows(self, X, y, sample_weight, first_call, classes=None):
        """Checked ``X``, encoded targets, combined weights and the output width."""
        X, y = self._validate_X_y(X, y, reset=first_call)
        y_enc, n_outputs = self._set_and_encode_targets(
            y, first_call=first_call, classes=classes
        )
        return X, y_enc, self._sample_weight(sample_weight, X, y_enc), n_outputs

    def _dataset(self, X, y_enc, sample_weight, dtype, device):
        return _TensorDataset(
            self._to_tensor(X, dtype, device),
            # np.array copies: targets are small, and a read-only y (memmap)
            # cannot be wrapped by torch without a warning.
            torch.from_numpy(np.array(y_enc)).to(
                device=device, dtype=self._loss_class().target_dtype(dtype)
            ),
            None
            if sample_weight is None
            else self._to_tensor(sample_weight, dtype, device),
        )

    @staticmethod
    def _validation_arguments(X_val, y_val, sample_weight_val, early_stopping):
        """``(X_val, y_val, sample_weight_val)``, or None when none was passed."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val was passed without X_val, y_val.")
            return None
        if X_val is None or y_val is None:
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} was passed to fit without {missing}.")
        if not early_stopping:
            raise ValueError(
                "X_val and y_val are the rows early stopping watches, but "
                "early_stopping=False. Set early_stopping=True, or do not pass them."
            )
        return X_val, y_val, sample_weight_val

    def _with_validation_rows(self, dataset, validation):
        """``dataset`` followed by the ``(X_val, y_val, sample_weight_val)`` rows.

        The validation rows are checked and encoded as the training rows were
        (same features, classes and target scaling).
        """
        try:
            X_val, y_enc, sw_val, _ = self._encoded_rows(*validation, first_call=False)
        except ValueError as exc:
            raise ValueError(f"Invalid validation data (X_val, y_val): {exc}") from exc
        if is_csr(dataset.X) != sp.issparse(X_val):  # one layout for all rows
            X_val = sp.csr_matrix(X_val) if is_csr(dataset.X) else X_val.toarray()
        valid = self._dataset(X_val, y_enc, sw_val, dataset.X.dtype, dataset.X.device)
        return dataset.join(valid)

    def _check_validation_size(self, n_samples):
        n_valid = int(np.ceil(self.validation_fraction * n_samples))
        if n_valid < 2 or n_samples - n_valid < 1:
            raise ValueError(
                f"The validation set is too small ({n_valid} of {n_samples} "
                "samples). Increase 'validation_fraction' or the size of your "
                "dataset, or set early_stopping=False."
            )

    def _continue_from(self, previous, net):
        """Move weights, optimizer state and history of ``previous`` to ``net``."""
        if not self._same_architecture(previous.module_, net.module_):
            return
        net.module_.load_state_dict(previous.module_.state_dict())
        if type(previous.optimizer_) is type(net.optimizer_):
            net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
        net.history_ = previous.history_

    def _run_epochs(self, net, dataset, epochs):
        """Train ``net``; a scorer for early stopping sees it as ``self.net_``."""
        self.net_ = net
        stopping = dict(net.callbacks_).get("stopping")
        if stopping is not None and stopping.early_stopping:
            stopping.scorer = self._validation_scorer()
        try:
            net.partial_fit(dataset, epochs=epochs)
        finally:
            if stopping is not None:
                stopping.scorer = None

    def _validation_scorer(self):
        """``scoring`` as a function of the validation dataset, or None."""
        if self.scoring is None or self.scoring == "loss":
            return None
        from sklearn.metrics import check_scoring

        scorer = check_scoring(self, self.scoring)

        def score(dataset):
            X, y_enc, sample_weight = dataset.rows(dataset.indices)
            X = csr_tensor_to_scipy(X) if is_csr(X) else X.cpu().numpy()
            y_enc, sample_weight = (
                None if t is None else t.cpu().numpy() for t in (y_enc, sample_weight)
            )
            kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
            # Rows are numpy here even when fit saw a DataFrame: hide the
            # names from predict's check (this estimator, mid-fit, is this
            # thread's alone; a warnings filter would be process-wide).
            names = self.__dict__.pop("feature_names_in_", None)
            try:
                return scorer(self, X, self._decode_y(y_enc), **kwargs)
            finally:
                if names is not None:
                    self.feature_names_in_ = names

        return score

    def _warn_about_stop(self, net, epochs_run, incremental):
        quiet = getattr(_quiet_stops, "reasons", ())
        if net.stop_reason_ == "diverged":
            if "diverged" in quiet:
                return
            warnings.warn(
                f"{net.stop_message_}: training stopped and the weights of epoch "
                f"{len(net.history)} (the last finite one) were kept"
                f"{', then those of the best epoch' if self.early_stopping else ''}. "
                "Lower learning_rate_init or standardise the data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        elif net.stop_reason_ == "interrupted":
            warnings.warn(
                f"{net.stop_message_}; kept the model of epoch "
                f"{len(net.history)}, the last completed one.",
                UserWarning,
                stacklevel=2,
            )
        elif (
            "max_iter" not in quiet
            and not incremental
            and epochs_run >= self.max_iter
            and net.lr_schedule != "cosine"  # the decay ends at max_iter by design
        ):
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=2,
            )

    @staticmethod
    def _same_architecture(a, b):
        sa, sb = a.state_dict(), b.state_dict()
        return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape for k in sa)

    def _set_fitted_attributes(self):
        history = self.net_.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(row["train_loss"]) for row in history]
        self.t_ = int(sum(row.get("train_rows", 0) for row in history))
        objective = float(history[-1, "train_objective"]) if len(history) else None
        self.loss_ = objective
        self.n_layers_ = self._count_layers()
        self.out_activation_ = self._loss_class().out_activation
        stopping = dict(self.net_.callbacks_).get("stopping")
        if stopping is not None:
            self._no_improvement_count = stopping.no_improvement_count_
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.best_loss_ = None
        if self.net_.train_split is not None:
            self.validation_scores_ = [
                float(row["valid_score"]) for row in history if "valid_score" in row
            ]
            self.best_validation_score_ = stopping.best_score_
        else:
            self.best_loss_ = min(
                (float(row["train_objective"]) for row in history), default=None
            )

    def _count_layers(self):
        """Input, hidden and output layers of the built-in MLP (as MLP counts)."""
        linears = self._mlp_linears(raise_error=False)
        return None if linears is None else len(linears) + 1

    def _mlp_linears(self, raise_error=True):
        """The ``Linear`` layers of the built-in MLP module, in order."""
        layers = plain_mlp_layers(self.net_.module_)
        built_in = self.module is None or isinstance(self.module, MLP)
        if built_in and layers is not None:
            return [layer for kind, layer in layers if kind == "linear"]
        if raise_error:
            raise AttributeError(
                "coefs_ and intercepts_ exist for the built-in MLP module only "
                "(module=None or sk_reg.modules.MLP); read the weights of a custom "
                "module from net_.module_."
            )
        return None

    @property
    def coefs_(self):
        """Weight matrices of the built-in MLP, ``(n_in, n_out)`` as in MLP."""
        check_is_fitted(self)
        return [
            layer.weight.detach().T.cpu().numpy().copy()
            for layer in self._mlp_linears()
        ]

    @property
    def intercepts_(self):
        """Bias vectors of the built-in MLP, one per layer after the input."""
        check_is_fitted(self)
        return [
            layer.bias.detach().cpu().numpy().copy() for layer in self._mlp_linears()
        ]
