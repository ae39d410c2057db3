"""Torch module builders.

A *module builder* is a small scikit-learn style parameter object (it has
``get_params``/``set_params``, clones and pickles) whose :meth:`build` method
returns a fresh :class:`torch.nn.Module` once the data's shape is known. The
estimators call ``builder.build(n_features=..., n_outputs=..., dropout=...)``
inside ``fit``; nested parameters such as ``module__hidden_layer_sizes`` are
therefore reachable from :class:`~sklearn.model_selection.GridSearchCV`.
Image data add ``input_shape=(C, H, W)``; modules still receive flat
``(batch, n_features)`` rows and reshape them themselves (as :class:`ConvNet`
does), so the estimators' data path stays 2-D.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from numbers import Integral

import torch
from sklearn.base import BaseEstimator
from torch import nn
from torch.nn import functional as F

from ._activations import ACTIVATIONS, BY_LAYER
from ._compat import (
    CONV_TYPES,
    Interval,
    InvalidParameterError,
    StrOptions,
    check_params,
)
from ._images import resolve_input_shape
from ._rng import generator
from ._sparse import CSRLinear
from ._state import storable, with_added_params

__all__ = ["MLP", "ConvNet", "CSRLinear", "Dropout"]


# Dropout rates are quantised to multiples of 2**-16 on the CPU fast path.
_DROP_LEVELS = 1 << 16


class Dropout(nn.Dropout):
    """Inverted dropout with a cheaper random mask on the CPU.

    A drop-in :class:`torch.nn.Dropout`: in training mode every element is
    zeroed independently with probability ``p`` and the survivors are scaled by
    ``1 / (1 - p)``; in eval mode it is the identity. On the CPU, torch draws
    one Mersenne-twister number per element for the mask; here one 64-bit draw
    gives four 16-bit numbers, each compared with a threshold (cheaper; see
    ``benchmarks/README.md``). The drop rate is therefore
    ``round(p * 2**16) / 2**16`` (within ``2**-17`` of ``p``) and the scale
    uses that exact rate, so the output stays unbiased. Other devices, and
    dtypes other than float32/float64, draw a Bernoulli mask. Inside an
    estimator's training call the draws come from that call's own generator
    (fits in other threads do not share it); called directly, from torch's
    global generator, through :func:`torch.nn.functional.dropout` where the
    cheap mask does not apply.

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing an element.

    inplace : bool, default=False
        Zero the input in place.

    See Also
    --------
    torch.nn.Dropout : The layer this one replaces; same parameters and repr.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.modules import Dropout
    >>> _ = torch.manual_seed(0)
    >>> drop = Dropout(0.25)
    >>> out = drop(torch.ones(100_000))
    >>> round((out == 0).float().mean().item(), 2), out.max().item()
    (0.25, 1.3333333730697632)
    >>> bool(drop.eval()(torch.ones(3)).eq(1).all())
    True
    """

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Drop and rescale in training mode; identity in eval mode.

        Parameters
        ----------
        X : torch.Tensor
            Input of any shape.

        Returns
        -------
        out : torch.Tensor
            ``X`` with dropped elements zeroed and the rest scaled.

        Examples
        --------
        >>> import torch
        >>> from sk_reg.modules import Dropout
        >>> Dropout(0.5).eval().forward(torch.ones(2)).tolist()
        [1.0, 1.0]
        """
        mask = self.training_mask(X) if self.training else None
        if mask is None:
            return F.dropout(X, self.p, self.training, self.inplace)
        return X.mul_(mask) if self.inplace else X * mask

    def training_mask(self, X: torch.Tensor) -> torch.Tensor | None:
        """The scaled mask of one training-mode call, or None.

        Inside an estimator's training call the random bits come from that
        call's own generator (``sk_reg._rng``), else from torch's global
        one. Where the cheap mask does not apply (not the CPU, a dtype other
        than float32/float64, ``p`` rounding to 0 or 1) it is a Bernoulli mask
        from the call's generator, or None outside a training call:
        :func:`torch.nn.functional.dropout` is used instead. Training-mode
        ``forward`` returns ``X * training_mask(X)``, so a hand-written
        backward pass multiplies its gradient by the same mask.

        Parameters
        ----------
        X : torch.Tensor
            Input of any shape.

        Returns
        -------
        mask : torch.Tensor or None
            Zeros and ``1 / (1 - rate)``, shaped and typed as ``X``.

        Examples
        --------
        >>> import torch
        >>> from sk_reg.modules import Dropout
        >>> _ = torch.manual_seed(0)
        >>> sorted(set(Dropout(0.5).training_mask(torch.ones(50)).tolist()))
        [0.0, 2.0]
        """
        n_drop = round(self.p * _DROP_LEVELS)
        rng = generator(X.device)
        if (
            X.device.type != "cpu"
            or X.dtype not in (torch.float32, torch.float64)
            or not 0 < n_drop < _DROP_LEVELS
        ):
            if rng is None or self.p == 0:
                return None
            return _bernoulli_mask(X, self.p, rng)
        n = X.numel()
        bits = torch.empty((n + 3) // 4, dtype=torch.int64)
        # from=int64 min, to=None: torch's full 64-bit range, uniform in every bit.
        bits.random_(-(2**63), None, generator=rng)
        # Signed 16-bit lanes, uniform on [-2**15, 2**15): keep with probability
        # (2**16 - n_drop) / 2**16. Compared in X's dtype (exact for int16).
        mask = bits.view(torch.int16)[:n].view(X.shape).to(X.dtype)
        mask.ge_(n_drop - _DROP_LEVELS // 2)
        return mask.mul_(_DROP_LEVELS / (_DROP_LEVELS - n_drop))


def _bernoulli_mask(X, p, rng):
    """``F.dropout``'s mask (zeros and ``1 / (1 - p)``) drawn from ``rng``."""
    if p >= 1:
        return torch.zeros_like(X)
    return torch.empty_like(X).bernoulli_(1 - p, generator=rng).div_(1 - p)


@torch.no_grad()
def _glorot_uniform_(network: nn.Sequential, activation: str) -> None:
    """MLPClassifier's initialisation: weights and biases uniform in
    ``+-sqrt(6 / (fan_in + fan_out))`` (``sqrt(2 / ...)`` for logistic units)."""
    factor = 2.0 if activation == "logistic" else 6.0
    for layer in network:
        if isinstance(layer, nn.Linear):
            bound = (factor / (layer.in_features + layer.out_features)) ** 0.5
            layer.weight.uniform_(-bound, bound)
            layer.bias.uniform_(-bound, bound)


def plain_mlp_layers(module):
    """``module``'s layers as ``(kind, layer)`` pairs if it is a plain MLP.

    The one test of "is this a plain multilayer perceptron", used by the
    hand-written training step, the ONNX export and ``coefs_``: exactly an
    :class:`torch.nn.Sequential` (not a subclass) of ``nn.Linear`` or
    :class:`~sk_reg._sparse.CSRLinear` layers, activations of the catalogue
    (:mod:`sk_reg._activations`) and dropout layers (sk_reg's or torch's),
    starting with a linear layer; exact types, since a subclass may change the
    maths. ``kind`` is ``"linear"``, ``"activation"`` or ``"dropout"``.

    Parameters
    ----------
    module : torch.nn.Module
        Any module.

    Returns
    -------
    layers : list of (str, torch.nn.Module) or None
        None when ``module`` is not a plain MLP.

    Examples
    --------
    >>> from torch import nn
    >>> from sk_reg.modules import plain_mlp_layers
    >>> [k for k, _ in plain_mlp_layers(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))]
    ['linear', 'activation']
    >>> plain_mlp_layers(nn.Sequential(nn.Conv1d(1, 1, 1))) is None
    True
    """
    if type(module) is not nn.Sequential or not len(module):
        return None
    kinds = {nn.Linear: "linear", CSRLinear: "linear", Dropout: "dropout"}
    kinds |= {nn.Dropout: "dropout", **dict.fromkeys(BY_LAYER, "activation")}
    layers = [(kinds.get(type(layer)), layer) for layer in module]
    if any(kind is None for kind, _ in layers) or layers[0][0] != "linear":
        return None
    return layers


def _make_mlp(
    n_features: int,
    n_outputs: int,
    hidden_layer_sizes: Sequence[int],
    activation: str,
    dropout: float,
) -> nn.Sequential:
    layers: list[nn.Module] = []
    n_in = n_features
    for width in hidden_layer_sizes:
        # The first layer also multiplies sparse (CSR) batches directly.
        layers.append((nn.Linear if layers else CSRLinear)(n_in, int(width)))
        layers.append(ACTIVATIONS[activation].layer())
        if dropout > 0:
            layers.append(Dropout(dropout))
        n_in = int(width)
    layers.append((nn.Linear if layers else CSRLinear)(n_in, n_outputs))
    return nn.Sequential(*layers)


@storable("builder")
class MLP(BaseEstimator):
    """Builder of a fully connected network (multi-layer perceptron).

    Each hidden layer is ``Linear -> activation -> Dropout(dropout)``; the
    output layer is linear (logits for classifiers, values for regressors).
    The first layer is a :class:`CSRLinear`, so sparse ``X`` reaches it as
    sparse batches.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model.

    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, default="relu"
        Activation after each hidden layer.

    init : {"torch", "glorot"}, default="torch"
        Initial weights: ``"glorot"`` draws weights and biases uniformly in
        ``+-sqrt(6 / (fan_in + fan_out))`` (``sqrt(2 / ...)`` for logistic
        units), as :class:`~sklearn.neural_network.MLPClassifier` does;
        ``"torch"`` keeps :class:`torch.nn.Linear`'s own initialisation
        (Kaiming-uniform with ``a=sqrt(5)``).

    See Also
    --------
    ConvNet : Convolutional network for images.

    Examples
    --------
    >>> from sk_reg.modules import MLP
    >>> net = MLP(hidden_layer_sizes=(8,)).build(n_features=4, n_outputs=3)
    >>> net
    Sequential(
      (0): CSRLinear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=3, bias=True)
    )
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "init": [StrOptions({"torch", "glorot"})],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", init="torch"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init

    def build(self, n_features, n_outputs, *, dropout=0.0, **kwargs):
        """Return a freshly initialised :class:`torch.nn.Sequential`.

        Parameters
        ----------
        n_features : int
            Number of input columns.

        n_outputs : int
            Number of outputs (classes or regression targets).

        dropout : float, default=0.0
            Dropout rate after every hidden activation.

        **kwargs : dict
            Ignored; lets every builder share one call signature.

        Returns
        -------
        module : torch.nn.Sequential
            The untrained network.

        Examples
        --------
        >>> from sk_reg.modules import MLP
        >>> MLP((5,)).build(3, 1, dropout=0.5)[2]
        Dropout(p=0.5, inplace=False)
        """
        check_params(self)
        sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        network = _make_mlp(n_features, n_outputs, sizes, self.activation, dropout)
        if self.init == "glorot":
            _glorot_uniform_(network, self.activation)
        return network


class _ConvNetModule(nn.Module):
    """Flat rows -> images -> conv blocks -> dense head (see :class:`ConvNet`).

    Images and convolution weights are kept channels-last (NHWC), the layout
    torch's CPU convolutions run fastest in: an epoch of the default ConvNet
    on 28x28 images took 0.6 instead of 0.9 ms per image (one thread).
    """

    def __init__(self, input_shape, features: nn.Sequential, head: nn.Sequential):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.features = features
        self.head = head

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # reshape, not view: a gathered or sliced batch need not be contiguous.
        images = X.reshape(X.shape[0], *self.input_shape)
        images = images.contiguous(memory_format=torch.channels_last)
        return self.head(self.features(images))


class _BatchNorm2d(nn.BatchNorm2d):
    """:class:`torch.nn.BatchNorm2d` that also trains on a one-value batch.

    A training batch with a single value per channel (one row, 1x1 feature
    maps) has no variance to normalise by; torch raises there. Such a batch
    (the last of an epoch can be one row) is normalised with the running
    statistics instead, which it leaves unchanged.
    """

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.training and X.shape[0] * X.shape[2] * X.shape[3] == 1:
            return F.batch_norm(
                X,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                training=False,
                eps=self.eps,
            )
        return super().forward(X)


@storable("builder")
class ConvNet(BaseEstimator):
    """Builder of a convolutional network for images.

    Each entry of ``channels`` adds a block ``Conv2d(kernel_size,
    padding="same") -> BatchNorm2d -> activation -> MaxPool2d(2)`` (an axis
    shorter than 2 pixels is not pooled); the feature maps are then
    flattened and passed to ``Dropout(dropout) -> Linear(hidden) ->
    activation -> Dropout(dropout) -> Linear(n_outputs)``. The module takes
    flat rows ``(batch, C*H*W)`` and views them as images of the estimator's
    ``input_shape``, so it fits the estimators' 2-D data path and
    scikit-learn pipelines unchanged.

    The defaults were chosen on Fashion-MNIST training sets of 1,000 images
    (design draws, scored on other training images; numbers in
    ``benchmarks/bench_images.py``): batch normalisation added 1 to 3 points
    of accuracy, a third block (128 channels) about half a point, while two
    convolutions per block, 5x5 kernels, twice the channels or global average
    pooling instead of the dense layer did not help.

    Parameters
    ----------
    channels : tuple of int, default=(32, 64, 128)
        Output channels of each convolutional block.

    kernel_size : int, default=3
        Side of the square convolution kernels.

    hidden : int, default=128
        Width of the dense hidden layer; ``0`` connects the flattened
        features straight to the output layer.

    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, default="relu"
        Activation after each convolution and the hidden layer.

    batch_norm : bool, default=True
        Batch normalisation after each convolution (whose bias it replaces).
        It normalises with per-batch statistics in training and running ones
        in prediction. Those statistics count rows, not ``sample_weight``: a
        weighted row is not the same as repeated rows.

    See Also
    --------
    MLP : Fully connected network for tabular data.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.modules import ConvNet
    >>> net = ConvNet(channels=(4, 8), hidden=16).build(
    ...     n_features=64, n_outputs=10, dropout=0.25, input_shape=(1, 8, 8))
    >>> net(torch.zeros(5, 64)).shape
    torch.Size([5, 10])

    With an estimator, ``input_shape`` says how rows become images and the
    architecture is tunable as ``module__channels``:

    >>> from sk_reg import RegularizedNetClassifier
    >>> clf = RegularizedNetClassifier(module=ConvNet(), input_shape=(1, 8, 8))
    >>> clf.set_params(module__channels=(8,)).module
    ConvNet(channels=(8,))
    """

    #: Parameters added after ConvNets were first saved, with the value that
    #: rebuilds those (sk_reg._state.with_added_params).
    _added_params = {"batch_norm": False}

    _parameter_constraints = {
        "channels": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "hidden": [Interval(Integral, 0, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "batch_norm": ["boolean"],
    }

    def __init__(
        self,
        channels=(32, 64, 128),
        kernel_size=3,
        hidden=128,
        activation="relu",
        batch_norm=True,
    ):
        self.channels = channels
        self.kernel_size = kernel_size
        self.hidden = hidden
        self.activation = activation
        self.batch_norm = batch_norm

    def __setstate__(self, state):
        super().__setstate__(with_added_params(type(self), state))

    def build(self, n_features, n_outputs, *, dropout=0.0, input_shape=None, **kwargs):
        """Return a freshly initialised convolutional network.

        Parameters
        ----------
        n_features : int
            Number of input columns, ``C * H * W``.

        n_outputs : int
            Number of outputs (classes or regression targets).

        dropout : float, default=0.0
            Dropout rate before and after the dense hidden layer.

        input_shape : tuple of int
            Image shape ``(C, H, W)`` of each row (one entry may be ``-1``).
            Required.

        **kwargs : dict
            Ignored; lets every builder share one call signature.

        Returns
        -------
        module : torch.nn.Module
            The untrained network, mapping ``(batch, n_features)`` to
            ``(batch, n_outputs)``.

        Examples
        --------
        >>> from sk_reg.modules import ConvNet
        >>> net = ConvNet(channels=(2,), hidden=0).build(16, 3, input_shape=(1, 4, 4))
        >>> net.head
        Sequential(
          (0): Flatten(start_dim=1, end_dim=-1)
          (1): Linear(in_features=8, out_features=3, bias=True)
        )
        """
        if input_shape is None:
            raise ValueError(
                "ConvNet needs the image shape: set input_shape=(channels, height, "
                "width) on the estimator, or pass X of shape (n, C, H, W)."
            )
        check_params(self)
        if not all(isinstance(c, Integral) and c > 0 for c in self.channels):
            raise InvalidParameterError(
                "The 'channels' parameter of ConvNet must contain positive ints; "
                f"got {self.channels!r}."
            )
        shape = resolve_input_shape(input_shape, n_features)
        features, n_flat = self._features(shape)
        module = _ConvNetModule(shape, features, self._head(n_flat, n_outputs, dropout))
        return module.to(memory_format=torch.channels_last)

    def _features(self, shape):
        """The convolutional blocks, and the size of their flattened output."""
        n_channels, height, width = shape
        act = ACTIVATIONS[self.activation].layer
        blocks: list[nn.Module] = []
        for n_out in self.channels:
            n_out = int(n_out)
            blocks.append(
                nn.Conv2d(
                    n_channels,
                    n_out,
                    self.kernel_size,
                    padding="same",
                    bias=not self.batch_norm,
                )
            )
            blocks += [_BatchNorm2d(n_out)] if self.batch_norm else []
            blocks.append(act())
            pool = (2 if height >= 2 else 1, 2 if width >= 2 else 1)
            if pool != (1, 1):
                blocks.append(nn.MaxPool2d(pool))
            n_channels, height, width = n_out, height // pool[0], width // pool[1]
        return nn.Sequential(*blocks), n_channels * height * width

    def _head(self, n_in, n_outputs, dropout):
        """Flatten, then the dense layers."""
        act = ACTIVATIONS[self.activation].layer
        head: list[nn.Module] = [nn.Flatten()]
        if self.hidden > 0:
            head += [Dropout(dropout)] if dropout > 0 else []
            head += [nn.Linear(n_in, int(self.hidden)), act()]
            n_in = int(self.hidden)
        if dropout > 0:
            head.append(Dropout(dropout))
        head.append(nn.Linear(n_in, n_outputs))
        return nn.Sequential(*head)


def is_convnet(module) -> bool:
    """Whether an estimator's ``module`` parameter is a :class:`ConvNet`
    (``"cnn"`` or a builder), whose ``"auto"`` training settings differ."""
    return (isinstance(module, str) and module == "cnn") or isinstance(module, ConvNet)


def _check_module_param(module):
    """The one check of the estimators' ``module`` parameter (not None/"cnn")."""
    if isinstance(module, nn.Module):
        raise InvalidParameterError(
            "The 'module' parameter must be a torch.nn.Module subclass or a "
            "builder, not an instance (an instance would be shared by every "
            f"clone and refit); got an instance of {type(module).__name__}. "
            "Pass the class instead."
        )
    if isinstance(module, type) and not (
        issubclass(module, nn.Module) or hasattr(module, "build")
    ):
        raise InvalidParameterError(
            "The 'module' parameter must be a torch.nn.Module subclass or a "
            f"builder; got the class {module.__name__}."
        )
    if not callable(module) and not hasattr(module, "build"):
        raise InvalidParameterError(
            "The 'module' parameter must be None, 'cnn', a builder with a "
            f"build() method, or a torch.nn.Module subclass; got {module!r}."
        )


def _check_hidden_layer_sizes(sizes):
    """``sizes`` as a tuple of positive ints (an int is one layer)."""
    as_tuple = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if not all(isinstance(size, Integral) and size > 0 for size in as_tuple):
        raise InvalidParameterError(
            "The 'hidden_layer_sizes' parameter must contain positive integers "
            f"only; got {sizes!r}."
        )
    return tuple(int(size) for size in as_tuple)


def _instantiate_module(module, n_features, n_outputs, *, dropout=0.0, **context):
    """Instantiate ``module`` for data with the given shape.

    Parameters
    ----------
    module : builder, torch.nn.Module subclass or callable
        - an object with a ``build(n_features, n_outputs, dropout=..., **context)``
          method (such as :class:`MLP`);
        - a :class:`torch.nn.Module` subclass, or any callable returning a
          module: it is called with the keywords ``n_features`` and ``n_outputs``
          plus ``dropout`` and each entry of ``context`` *that its signature
          accepts*. A module that takes no ``dropout`` argument is trained without
          dropout (the estimator's ``dropout`` does not reach inside it).

    n_features : int
        Number of input columns.

    n_outputs : int
        Number of outputs the module must produce.

    dropout : float, default=0.0
        Dropout rate forwarded to builders and to modules that accept it.

    **context : dict
        Further keywords offered to the module (for example ``input_shape``).

    Returns
    -------
    module : torch.nn.Module
        A new module; a fresh copy each call.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.modules import _instantiate_module
    >>> class Tiny(torch.nn.Module):
    ...     def __init__(self, n_features, n_outputs):
    ...         super().__init__()
    ...         self.lin = torch.nn.Linear(n_features, n_outputs)
    ...     def forward(self, X):
    ...         return self.lin(X)
    >>> _instantiate_module(Tiny, n_features=4, n_outputs=2, dropout=0.3)
    Tiny(
      (lin): Linear(in_features=4, out_features=2, bias=True)
    )
    """
    if hasattr(module, "build"):
        return module.build(n_features, n_outputs, dropout=dropout, **context)
    _check_module_param(module)
    offered = {
        "n_features": n_features,
        "n_outputs": n_outputs,
        "dropout": dropout,
        **context,
    }
    try:
        params = inspect.signature(module).parameters
    except (TypeError, ValueError):  # builtins without a signature
        params = {}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        kwargs = offered
    else:
        kwargs = {k: v for k, v in offered.items() if k in params}
    built = module(**kwargs)
    if not isinstance(built, nn.Module):
        raise TypeError(
            f"module {module!r} returned {type(built).__name__}, expected a "
            "torch.nn.Module."
        )
    return built


def first_linear_weight(module: nn.Module, n_features: int) -> torch.Tensor | None:
    """Weight of the first ``nn.Linear`` that reads all ``n_features`` inputs.

    None when a convolution comes first: a later ``Linear`` then reads feature
    maps, not input columns, even if their count happens to equal ``n_features``.
    """
    for layer in module.modules():
        if isinstance(layer, CONV_TYPES):
            return None
        if isinstance(layer, nn.Linear) and layer.in_features == n_features:
            return layer.weight
    return None
