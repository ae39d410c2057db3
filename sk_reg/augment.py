"""Batch augmentations: picklable parameter objects applied to training batches.

Every augmentation is a scikit-learn style parameter object (``get_params`` /
``set_params``, so ``augment__std`` works in a grid) whose ``__call__`` takes a
whole batch ``(X, y)`` of tensors *on the training device* and returns a new
``(X, y)``. They run inside the training step only, never at predict time and
never on validation batches. Inside an estimator's training call they draw
their randomness from that call's own generators, seeded from
``random_state`` (so fits running at once in threads do not share them;
``sk_reg._rng``); called directly, from torch's global generator.

Classification targets reach an augmentation as class indices, unless the
augmentation sets ``mixes_targets = True`` (as :class:`Mixup` and
:class:`CutMix` do): then the estimator hands it one-hot float targets, and the
mixed, soft targets go to the cross-entropy loss (which composes with
``label_smoothing``).

*Images.* When the estimator has ``input_shape=(C, H, W)`` (or is fitted on
4-D ``X``), every augmentation receives batches of shape ``(batch, C, H, W)``
(the estimator wraps it with :func:`_prepare_augment`) and the module gets flat
rows back. :class:`RandomFlip`, :class:`RandomRotation`, :class:`RandomScale`,
:class:`RandomShift`, :class:`RandomAffine`, :class:`Cutout` and
:class:`CutMix` need images: on tabular data (no ``input_shape``) ``fit``
raises a ``ValueError`` from :meth:`BaseAugmentation.check_input`. Each draws
its parameters per sample from the generator of the batch's device
and transforms the whole batch at once: flips are exact index reversals, the
geometric transforms build one ``(batch, 2, 3)`` affine matrix and resample
with a single :func:`torch.nn.functional.affine_grid` /
:func:`~torch.nn.functional.grid_sample` call, and the box transforms build
their masks by broadcasting. Dtype and device are those of the batch.

*Sparse X.* Batches of sparse ``X`` stay sparse (``torch.sparse_csr``)
through the augmentations that set ``takes_csr = True``: :class:`GaussianNoise`
perturbs the stored entries only (an absent word stays absent), and
:class:`Mixup` mixes two rows into the weighted union of their entries, which
equals mixing the densified rows. Any other augmentation receives the batch
densified.

*Why not kornia.* The geometric transforms use plain
:func:`~torch.nn.functional.affine_grid` / :func:`~torch.nn.functional.grid_sample`
rather than kornia: kornia's minimum versions are above sk_reg's, its
transforms are not scikit-learn parameter objects (no ``clone`` or grid keys),
and on small images its per-call overhead dominates (measurements in
``benchmarks/README.md``, "Design measurements").
kornia remains easy to use for what is not built in (colour jitter,
perspective, elastic transforms): wrap a kornia transform in a small
:class:`BaseAugmentation` subclass whose ``__call__`` returns
``(transform(X), y)``; it will receive ``(batch, C, H, W)`` batches.
"""

from __future__ import annotations

import math
from numbers import Real

import torch
from sklearn.base import BaseEstimator
from torch.nn import functional as F

from ._compat import Interval, InvalidParameterError, check_params, sample_beta
from ._rng import generator
from ._sparse import csr_rows, csr_with_values, is_csr, scale_rows
from ._state import storable

__all__ = [
    "BaseAugmentation",
    "Compose",
    "CutMix",
    "Cutout",
    "GaussianNoise",
    "Mixup",
    "RandomAffine",
    "RandomFlip",
    "RandomRotation",
    "RandomScale",
    "RandomShift",
]


class BaseAugmentation(BaseEstimator):
    """Base class for batch augmentations.

    Subclasses implement ``__call__(X, y) -> (X, y)`` on tensors and may set
    ``mixes_targets = True`` when they produce soft targets.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import BaseAugmentation
    >>> class Flip(BaseAugmentation):
    ...     def __call__(self, X, y):
    ...         return -X, y
    >>> Flip()(torch.ones(2, 1), None)[0]
    tensor([[-1.],
            [-1.]])
    """

    #: Whether the transform needs (and returns) one-hot / soft class targets.
    mixes_targets = False
    #: Whether ``__call__`` accepts sparse (``torch.sparse_csr``) batches of
    #: sparse ``X``; other transforms receive the batch densified.
    takes_csr = False
    _parameter_constraints: dict = {}

    def _check_params(self):
        """Raise ``InvalidParameterError`` for an invalid hyperparameter
        (the constraints, then whatever subclasses add)."""
        check_params(self)

    def check_input(
        self, n_features: int, input_shape: tuple[int, int, int] | None = None
    ) -> None:
        """Raise ``ValueError`` if the transform cannot apply to this data.

        Parameters
        ----------
        n_features : int
            Number of input columns.

        input_shape : tuple of int or None, default=None
            Image shape ``(C, H, W)`` of each row, when the data are images.

        Examples
        --------
        >>> from sk_reg.augment import GaussianNoise
        >>> GaussianNoise().check_input(n_features=3)
        """

    def __call__(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


@storable("augmentation")
class GaussianNoise(BaseAugmentation):
    """Add independent Gaussian noise to every input value.

    ``X + std * N(0, 1)``, drawn fresh for every training batch. ``std`` is in
    the units of ``X``, so standardise the features first (for example with a
    :class:`~sklearn.preprocessing.StandardScaler` in the same pipeline).
    Equivalent in expectation to a Tikhonov (L2-type) penalty on the
    input-output Jacobian (Bishop, 1995). On sparse ``X`` only the stored
    (non-zero) entries get noise, so the batch stays sparse.

    Parameters
    ----------
    std : float, default=0.1
        Standard deviation of the noise.

    See Also
    --------
    Mixup : Convex combinations of pairs of samples and their targets.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import GaussianNoise
    >>> _ = torch.manual_seed(0)
    >>> X_noisy, y = GaussianNoise(std=0.5)(torch.zeros(1000, 2), None)
    >>> round(X_noisy.std().item(), 1)
    0.5
    """

    _parameter_constraints = {"std": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, std=0.1):
        self.std = std

    takes_csr = True

    def __call__(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.std == 0:
            return X, y
        if is_csr(X):  # noise on the stored entries only: zeros stay zero
            values = X.values()
            return csr_with_values(X, values + self.std * _standard_normal(values)), y
        return X + self.std * _standard_normal(X), y


def _standard_normal(like):
    """N(0, 1) draws shaped like ``like``, in its dtype.

    float64 draws come from float32 ones on the CPU: torch's float64 normal
    sampler has no vectorised path there (slower; measured in
    ``benchmarks/README.md``), and a float32 draw is as good a Gaussian for
    noise of this kind.
    """
    rng = generator(like.device)
    if like.dtype == torch.float64 and like.device.type == "cpu":
        return torch.randn(like.shape, dtype=torch.float32, generator=rng).to(
            torch.float64
        )
    return torch.randn(like.shape, dtype=like.dtype, device=like.device, generator=rng)


def _draw_pairs(X: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ``lam ~ Beta(alpha, alpha)`` and a random partner for each row."""
    n = X.shape[0]
    rng = generator(X.device)
    lam = sample_beta(alpha, n, dtype=X.dtype, device=X.device, generator=rng)
    return lam, torch.randperm(n, device=X.device, generator=rng)


def _mix(a: torch.Tensor, b: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """``lam * a + (1 - lam) * b`` with one ``lam`` per row."""
    lam = lam.view((a.shape[0],) + (1,) * (a.dim() - 1)).to(a.dtype)
    # lerp(b, a, w) = b + w * (a - b): one kernel instead of four.
    return torch.lerp(b, a, lam)


@storable("augmentation")
class Mixup(BaseAugmentation):
    """Mixup: train on convex combinations of pairs of samples.

    Each sample ``i`` of a batch is paired with a random other sample ``j`` of
    the same batch, and ``lam ~ Beta(alpha, alpha)`` is drawn per sample::

        X_i <- lam * X_i + (1 - lam) * X_j
        y_i <- lam * y_i + (1 - lam) * y_j

    For classifiers ``y`` is the one-hot target, so the loss sees soft
    targets (Zhang et al., 2018). For regressors the targets are mixed
    directly. Sparse batches are mixed sparsely (the result holds the union
    of both rows' entries).

    Parameters
    ----------
    alpha : float, default=0.2
        Concentration of the Beta distribution; small values keep most
        samples close to an original one.

    See Also
    --------
    GaussianNoise : Additive input noise.

    References
    ----------
    Zhang, Cisse, Dauphin, Lopez-Paz. "mixup: Beyond Empirical Risk
    Minimization", ICLR 2018.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import Mixup
    >>> X = torch.tensor([[0.0], [1.0]])
    >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> _ = torch.manual_seed(0)
    >>> X_mix, y_mix = Mixup(alpha=1.0)(X, y)
    >>> bool(torch.allclose(X_mix[:, 0], y_mix[:, 1]))
    True
    """

    mixes_targets = True
    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, alpha=0.2):
        self.alpha = alpha

    takes_csr = True

    def __call__(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lam, perm = _draw_pairs(X, self.alpha)
        if is_csr(X):  # the weighted union of both rows' entries, still sparse
            X_mixed = scale_rows(X, lam.to(X.dtype)) + scale_rows(
                csr_rows(X, perm), (1 - lam).to(X.dtype)
            )
        else:
            X_mixed = _mix(X, X.index_select(0, perm), lam)
        return X_mixed, _mix(y, y.index_select(0, perm), lam)


def _check_step_names(names):
    """Step names must be distinct, free of ``"__"`` and not ``"steps"``."""
    for i, name in enumerate(names):
        if not isinstance(name, str) or "__" in name or name == "steps":
            raise ValueError(
                f"Compose step names must be strings without '__' and other than "
                f"'steps'; got {name!r}."
            )
        if name in names[:i]:
            raise ValueError(f"Compose step names must be unique; {name!r} repeats.")


@storable("augmentation")
class Compose(BaseAugmentation):
    """Apply several augmentations one after the other.

    Parameters
    ----------
    steps : list of (str, augmentation) tuples
        Named augmentations, applied in order. Their parameters are reachable
        as ``<name>__<param>`` (for example ``augment__noise__std``).

    Examples
    --------
    >>> from sk_reg.augment import Compose, GaussianNoise, Mixup
    >>> aug = Compose([("noise", GaussianNoise(0.1)), ("mixup", Mixup(0.4))])
    >>> aug.set_params(noise__std=0.3).get_params()["noise__std"]
    0.3
    >>> aug.mixes_targets
    True
    """

    _parameter_constraints = {"steps": [list]}

    def __init__(self, steps):
        self.steps = steps

    @property
    def mixes_targets(self):
        return any(aug.mixes_targets for _, aug in self.steps)

    def get_params(self, deep=True):
        """Get parameters, including those of the steps (``name__param``).

        Parameters
        ----------
        deep : bool, default=True
            Include the steps' own parameters.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.

        Examples
        --------
        >>> from sk_reg.augment import Compose, GaussianNoise
        >>> Compose([("noise", GaussianNoise(0.2))]).get_params()["noise__std"]
        0.2
        """
        params = {"steps": self.steps}
        if deep:
            for name, step in self.steps:
                params[name] = step
                params.update(
                    (f"{name}__{key}", value)
                    for key, value in step.get_params(deep=True).items()
                )
        return params

    def set_params(self, **params):
        """Set parameters, including those of the steps (``name__param``).

        Parameters
        ----------
        **params : dict
            Parameter names mapped to new values.

        Returns
        -------
        self : Compose
            This object.

        Examples
        --------
        >>> from sk_reg.augment import Compose, GaussianNoise
        >>> aug = Compose([("noise", GaussianNoise(0.2))]).set_params(noise__std=1.0)
        >>> aug.steps[0][1].std
        1.0
        """
        if "steps" in params:
            self.steps = params.pop("steps")
        # A step replaced whole by its name, then the nested parameters.
        steps = dict(self.steps)
        for name in [key for key in params if key in steps]:
            steps[name] = params.pop(name)
        self.steps = [(name, steps[name]) for name, _ in self.steps]
        return super().set_params(**params) if params else self

    def _check_params(self):
        super()._check_params()
        _check_step_names([name for name, _ in self.steps])
        for _, aug in self.steps:
            if not isinstance(aug, BaseAugmentation):
                raise TypeError(
                    "Compose steps must be sk_reg.augment objects, got "
                    f"{type(aug).__name__}."
                )
            aug._check_params()

    def check_input(
        self, n_features: int, input_shape: tuple[int, int, int] | None = None
    ) -> None:
        """Check every step against the data (see ``BaseAugmentation``).

        Parameters
        ----------
        n_features : int
            Number of input columns.

        input_shape : tuple of int or None, default=None
            Image shape ``(C, H, W)`` of each row, when the data are images.

        Examples
        --------
        >>> from sk_reg.augment import Compose, GaussianNoise
        >>> Compose([("noise", GaussianNoise())]).check_input(n_features=3)
        """
        for _, aug in self.steps:
            aug.check_input(n_features, input_shape)

    takes_csr = True

    def __call__(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        for _, aug in self.steps:
            if is_csr(X) and not aug.takes_csr:
                X = X.to_dense()
            X, y = aug(X, y)
        return X, y


# -- image augmentations ------------------------------------------------------


class _ImageAugmentation(BaseAugmentation):
    """Base of the transforms that need image batches ``(batch, C, H, W)``."""

    def check_input(
        self, n_features: int, input_shape: tuple[int, int, int] | None = None
    ) -> None:
        if input_shape is None:
            raise ValueError(
                f"{type(self).__name__} is an image augmentation but the data are "
                f"tabular ({n_features} features and no image shape): set "
                "input_shape=(channels, height, width) on the estimator, or pass X "
                "of shape (n_samples, channels, height, width)."
            )

    def __call__(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if X.dim() != 4:
            raise ValueError(
                f"{type(self).__name__} needs image batches of shape (batch, "
                f"channels, height, width); got a tensor of shape {tuple(X.shape)}."
            )
        return self._transform(X, y)

    def _transform(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


@storable("augmentation")
class RandomFlip(_ImageAugmentation):
    """Mirror each image left-right and/or upside-down with probability 1/2.

    Exact (no interpolation): a flipped image is the original with its columns
    (or rows) reversed. Each sample and each axis gets its own coin flip.

    Parameters
    ----------
    horizontal : bool, default=True
        Flip left-right (reverse the columns).

    vertical : bool, default=False
        Flip upside-down (reverse the rows).

    See Also
    --------
    RandomRotation : Rotations by a random angle.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import RandomFlip
    >>> X = torch.tensor([[[[1.0, 2.0, 3.0]]]]).repeat(200, 1, 1, 1)
    >>> _ = torch.manual_seed(0)
    >>> X_aug, _ = RandomFlip()(X, None)
    >>> sorted({tuple(row) for row in X_aug[:, 0, 0].tolist()})
    [(1.0, 2.0, 3.0), (3.0, 2.0, 1.0)]
    """

    _parameter_constraints = {"horizontal": ["boolean"], "vertical": ["boolean"]}

    def __init__(self, horizontal=True, vertical=False):
        self.horizontal = horizontal
        self.vertical = vertical

    def _transform(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = X.shape[0]
        for enabled, dim in ((self.horizontal, -1), (self.vertical, -2)):
            if enabled:
                flip = torch.rand(n, device=X.device, generator=generator(X.device))
                flip = flip < 0.5
                X = torch.where(flip.view(n, 1, 1, 1), X.flip(dim), X)
        return X, y


def _uniform(n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    """``n`` draws from U(low, high) in the dtype and on the device of ``like``."""
    draws = torch.rand(
        n, dtype=like.dtype, device=like.device, generator=generator(like.device)
    )
    return low + (high - low) * draws


def _affine(
    X: torch.Tensor, angle: torch.Tensor, zoom: torch.Tensor, shift: torch.Tensor
) -> torch.Tensor:
    """Rotate, zoom and shift each image of ``X`` by its own parameters.

    ``angle`` (radians, counterclockwise as displayed, the direction of
    :func:`torch.rot90`), ``zoom`` (>1 enlarges) and ``shift`` (fractions of
    width and height, ``(n, 2)``) are per-sample tensors. One
    ``affine_grid`` / ``grid_sample`` call resamples the whole batch
    (bilinear, zeros outside the image). The rotation is done in pixel units,
    so non-square images are not sheared.
    """
    n, _, height, width = X.shape
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # affine_grid maps each output location to the input location it samples,
    # in coordinates normalised to [-1, 1] per axis; the height / width factors turn a
    # pixel-space rotation into those coordinates.
    linear = torch.stack(
        [
            torch.stack([cos, -sin * (height / width)], dim=1),
            torch.stack([sin * (width / height), cos], dim=1),
        ],
        dim=1,
    )
    # output(p) = input(linear @ (p - t)); a shift by a fraction f is 2f in
    # normalised coordinates.
    offset = -(linear @ (2 * shift).unsqueeze(-1))
    theta = torch.cat([linear, offset], dim=2)
    grid = F.affine_grid(theta, list(X.shape), align_corners=False)
    return F.grid_sample(
        X, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )


def _as_pair(value) -> tuple[float, float]:
    """``(min, max)`` from a range pair, or ``(-value, value)`` from a number."""
    return (-value, value) if isinstance(value, Real) else tuple(value)


def _check_pair(name: str, pair: tuple[float, float], low: float) -> None:
    if (
        len(pair) != 2
        or not all(isinstance(v, Real) and v > low for v in pair)
        or pair[0] > pair[1]
    ):
        raise InvalidParameterError(
            f"The {name!r} parameter must be a number or a (min, max) pair of "
            f"numbers above {low} with min <= max; got {pair!r}."
        )


@storable("augmentation")
class RandomAffine(_ImageAugmentation):
    """Random rotation, zoom and shift of each image, in one resampling.

    Each sample draws an angle in ``[-degrees, degrees]``, a zoom factor in
    ``scale`` and a shift in ``[-shift, shift]`` (fraction of the width and,
    independently, of the height), all uniform. The whole batch is resampled by
    one :func:`torch.nn.functional.affine_grid` / ``grid_sample`` call
    (bilinear interpolation, zeros where a pixel comes from outside the
    image). Combining the three here interpolates once, where
    ``"rotate+scale+shift"`` interpolates three times and blurs small images
    more.

    Parameters
    ----------
    degrees : float or tuple of float, default=15
        Largest rotation angle in degrees (counterclockwise positive): angles
        are drawn in ``[-degrees, degrees]``, or in ``[min, max]`` for a pair.

    scale : tuple of float, default=(0.9, 1.1)
        Range ``(min, max)`` of the zoom factor; above one enlarges.

    shift : float, default=0.1
        Largest shift along each axis, as a fraction of the image size.

    See Also
    --------
    RandomRotation, RandomScale, RandomShift : One transform each.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import RandomAffine
    >>> _ = torch.manual_seed(0)
    >>> X_aug, _ = RandomAffine()(torch.rand(16, 3, 8, 8), None)
    >>> X_aug.shape
    torch.Size([16, 3, 8, 8])
    """

    _parameter_constraints = {
        "degrees": [Interval(Real, 0, 180, closed="both"), tuple, list],
        "scale": [tuple, list],
        "shift": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, degrees=15, scale=(0.9, 1.1), shift=0.1):
        self.degrees = degrees
        self.scale = scale
        self.shift = shift

    def _check_params(self):
        super()._check_params()
        degrees, scale, _ = self._ranges()
        _check_pair("degrees", degrees, low=-180)
        _check_pair("scale", scale, low=0)

    def _ranges(self):
        """``((deg_min, deg_max), (zoom_min, zoom_max), shift)`` of this transform."""
        return _as_pair(self.degrees), tuple(self.scale), self.shift

    def _transform(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        (deg_min, deg_max), (zoom_min, zoom_max), shift = self._ranges()
        n = X.shape[0]
        angle = _uniform(n, math.radians(deg_min), math.radians(deg_max), X)
        zoom = _uniform(n, zoom_min, zoom_max, X)
        offset = _uniform(2 * n, -shift, shift, X).view(n, 2)
        return _affine(X, angle, zoom, offset), y


@storable("augmentation")
class RandomRotation(RandomAffine):
    """Rotate each image by its own random angle in ``[-degrees, degrees]``.

    About the image centre, counterclockwise for positive angles, bilinear
    interpolation, zeros in the corners that come from outside the image.

    Parameters
    ----------
    degrees : float or tuple of float, default=15
        Largest rotation angle in degrees: angles are drawn uniformly in
        ``[-degrees, degrees]``, or in ``[min, max]`` for a pair.

    See Also
    --------
    RandomAffine : Rotation, zoom and shift in one resampling.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import RandomRotation
    >>> X = torch.arange(9.0).view(1, 1, 3, 3)
    >>> X_rot, _ = RandomRotation(degrees=(90, 90))(X, None)
    >>> X_rot[0, 0].round()
    tensor([[2., 5., 8.],
            [1., 4., 7.],
            [0., 3., 6.]])
    """

    _parameter_constraints = {
        "degrees": [Interval(Real, 0, 180, closed="both"), tuple, list]
    }

    def __init__(self, degrees=15):
        self.degrees = degrees

    def _ranges(self):
        return _as_pair(self.degrees), (1.0, 1.0), 0.0


@storable("augmentation")
class RandomScale(RandomAffine):
    """Zoom each image in or out about its centre by a random factor.

    Parameters
    ----------
    scale : tuple of float, default=(0.9, 1.1)
        Range ``(min, max)`` of the zoom factor, drawn uniformly per sample;
        above one enlarges the content (and crops its border), below one
        shrinks it (and pads with zeros).

    See Also
    --------
    RandomAffine : Rotation, zoom and shift in one resampling.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import RandomScale
    >>> X = torch.ones(4, 1, 8, 8)
    >>> X_small, _ = RandomScale(scale=(0.5, 0.5))(X, None)
    >>> X_small[0, 0, 0, 0].item(), X_small[0, 0, 4, 4].item()
    (0.0, 1.0)
    """

    _parameter_constraints = {"scale": [tuple, list]}

    def __init__(self, scale=(0.9, 1.1)):
        self.scale = scale

    def _ranges(self):
        return (0.0, 0.0), tuple(self.scale), 0.0


@storable("augmentation")
class RandomShift(_ImageAugmentation):
    """Translate each image by a random whole number of pixels.

    Each sample draws a vertical and a horizontal offset independently and
    uniformly among the integers ``-k .. k``, where ``k`` is ``shift`` times the
    image's height (or width) rounded to the nearest pixel; pixels shifted in
    from outside the image are zero. Whole-pixel moves copy pixels exactly,
    like the padded random crops of image training recipes: a fractional
    shift would resample, and so blur, every image (on 28x28 Fashion-MNIST
    the blurred shifts lowered test accuracy, ``benchmarks/bench_images.py``).

    Parameters
    ----------
    shift : float, default=0.1
        Largest shift along each axis as a fraction of the image size: 0.1
        moves 28x28 images by up to 3 pixels and 8x8 images by up to 1.

    See Also
    --------
    RandomAffine : Rotation, zoom and a fractional shift in one resampling.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import RandomShift
    >>> X = torch.zeros(500, 1, 5, 5)
    >>> X[:, 0, 2, 2] = 1.0  # one bright pixel in the centre
    >>> _ = torch.manual_seed(0)
    >>> X_aug, _ = RandomShift(shift=0.2)(X, None)  # up to one pixel
    >>> X_aug.sum(dim=(1, 2, 3)).unique()  # moved whole, never blurred
    tensor([1.])
    >>> sorted({tuple(img[0].nonzero()[0].tolist()) for img in X_aug})
    [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3)]
    """

    _parameter_constraints = {"shift": [Interval(Real, 0, 1, closed="both")]}

    def __init__(self, shift=0.1):
        self.shift = shift

    def _transform(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, height, width = X.shape
        rng = generator(X.device)
        offsets = []
        for size in (height, width):
            most = math.floor(self.shift * size + 0.5)
            offsets.append(
                torch.randint(-most, most + 1, (n,), device=X.device, generator=rng)
            )
        return _translate(X, *offsets), y


def _translate(
    X: torch.Tensor, down: torch.Tensor, right: torch.Tensor
) -> torch.Tensor:
    """Move image ``i`` of ``X`` by ``down[i]`` rows and ``right[i]`` columns
    (int tensors; negative moves up or left), filling with zeros.

    One ``gather`` over the flattened pixels: output pixel ``(r, c)`` reads
    input pixel ``(r - down, c - right)`` where that lies inside the image.
    """
    n, channels, height, width = X.shape
    rows = torch.arange(height, device=X.device) - down[:, None]  # (n, height)
    cols = torch.arange(width, device=X.device) - right[:, None]  # (n, width)
    inside = ((rows >= 0) & (rows < height))[:, :, None] & (
        (cols >= 0) & (cols < width)
    )[:, None, :]
    source = (
        rows.clamp(0, height - 1)[:, :, None] * width
        + cols.clamp(0, width - 1)[:, None, :]
    )
    source = source.view(n, 1, height * width).expand(n, channels, height * width)
    moved = X.reshape(n, channels, height * width).gather(2, source)
    return moved.view(X.shape).masked_fill(~inside[:, None], 0)


def _box_masks(
    n: int, height: int, width: int, box_h: int, box_w: int, device: torch.device
) -> torch.Tensor:
    """Boolean masks ``(n, height, width)`` of boxes of ``box_h x box_w`` pixels (int
    tensors ``(n,)``), centred on uniformly drawn pixels and clipped at the
    image border."""
    rng = generator(device)
    cy = (torch.rand(n, device=device, generator=rng) * height).long()
    cx = (torch.rand(n, device=device, generator=rng) * width).long()
    top, left = cy - box_h // 2, cx - box_w // 2
    rows = torch.arange(height, device=device)
    cols = torch.arange(width, device=device)
    in_rows = (rows >= top[:, None]) & (rows < (top + box_h)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + box_w)[:, None])
    return in_rows[:, :, None] & in_cols[:, None, :]


@storable("augmentation")
class Cutout(_ImageAugmentation):
    """Erase a random square patch of each image (Cutout / random erasing).

    Each sample gets a box of ``round(size * H) x round(size * W)`` pixels,
    centred on a uniformly drawn pixel and clipped at the border (so boxes
    near an edge are smaller), set to ``value`` in every channel.

    Parameters
    ----------
    size : float, default=0.5
        Side of the box as a fraction of the image's height and width.

    value : float, default=0.0
        Value written into the box.

    See Also
    --------
    CutMix : Fill the box from another sample and mix the targets.

    References
    ----------
    DeVries, Taylor. "Improved Regularization of Convolutional Neural Networks
    with Cutout", arXiv:1708.04552, 2017.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import Cutout
    >>> _ = torch.manual_seed(0)
    >>> X_aug, _ = Cutout(size=0.5)(torch.ones(3, 1, 4, 4), None)
    >>> [int((img == 0).sum()) <= 4 for img in X_aug]
    [True, True, True]
    """

    _parameter_constraints = {
        "size": [Interval(Real, 0, 1, closed="both")],
        "value": [Real],
    }

    def __init__(self, size=0.5, value=0.0):
        self.size = size
        self.value = value

    def _transform(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, height, width = X.shape
        box_h = torch.full((n,), round(self.size * height), device=X.device)
        box_w = torch.full((n,), round(self.size * width), device=X.device)
        mask = _box_masks(n, height, width, box_h, box_w, X.device)
        return X.masked_fill(mask[:, None], float(self.value)), y


@storable("augmentation")
class CutMix(_ImageAugmentation):
    """CutMix: paste a random box from a paired sample, mix targets by area.

    The image counterpart of :class:`Mixup`. Each sample ``i`` is paired with
    a random sample ``j`` of the batch and draws ``lam ~ Beta(alpha, alpha)``;
    a box covering about ``1 - lam`` of the image (sides ``sqrt(1 - lam)``
    times the height and width, centred on a random pixel, clipped at the
    border) is copied from ``X_j`` into ``X_i``. The targets are mixed by the
    box's actual area ``a`` (fraction of the image)::

        y_i <- (1 - a) * y_i + a * y_j

    Classifiers hand it one-hot targets, so the loss sees soft targets;
    regression targets are mixed directly.

    Parameters
    ----------
    alpha : float, default=1.0
        Concentration of the Beta distribution; 1 draws the box area
        uniformly.

    See Also
    --------
    Mixup : Blend whole images instead of pasting a box.
    Cutout : Erase the box instead.

    References
    ----------
    Yun, Han, Oh, Chun, Choe, Yoo. "CutMix: Regularization Strategy to Train
    Strong Classifiers with Localizable Features", ICCV 2019.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import CutMix
    >>> X = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> _ = torch.manual_seed(3)
    >>> X_mix, y_mix = CutMix()(X, y)
    >>> # the target share of class 1 is the fraction of pixels that are ones
    >>> bool(torch.allclose(X_mix.mean(dim=(1, 2, 3)), y_mix[:, 1]))
    True
    """

    mixes_targets = True
    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def _transform(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, height, width = X.shape
        lam, perm = _draw_pairs(X, self.alpha)
        side = torch.sqrt(1 - lam)
        box_h = (side * height).round().long()
        box_w = (side * width).round().long()
        mask = _box_masks(n, height, width, box_h, box_w, X.device)
        X = torch.where(mask[:, None], X[perm], X)
        area = mask.sum(dim=(1, 2)).to(X.dtype) / (height * width)
        return X, _mix(y, y[perm], 1 - area)


def mix_with_weights(
    augment, X: torch.Tensor, y: torch.Tensor, sw: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Apply a target-mixing augmentation to a weighted batch.

    Mixing row ``i`` with row ``j`` by ``lam`` must weigh each target by its
    own row's weight: the objective of the weighted mixup is
    ``lam * w_i * loss(y_i) + (1 - lam) * w_j * loss(y_j)``. For the losses
    here (cross-entropy, binary cross-entropy, squared error, Poisson
    deviance) that equals, up to terms free of the prediction, one row of
    weight ``w = lam * w_i + (1 - lam) * w_j`` and target
    ``(lam * w_i * y_i + (1 - lam) * w_j * y_j) / w``: the losses are affine
    in the target, or their non-affine part does not involve the prediction.
    So the weight rides through the augmentation as an extra target column,
    ``[w * y, w]``, which any transform mixing target rows by convex
    combinations (:class:`Mixup`, :class:`CutMix`) mixes correctly, and is
    divided out afterwards. A row of weight zero stays zero.

    Parameters
    ----------
    augment : callable
        An augmentation with ``mixes_targets = True``.

    X : torch.Tensor
        The batch's inputs.

    y : torch.Tensor of shape (batch, n_outputs)
        One-hot or soft class targets, or regression targets.

    sw : torch.Tensor of shape (batch,)
        The rows' weights.

    Returns
    -------
    X, y, sw : torch.Tensor
        The augmented inputs, the mixed targets and the mixed weights.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import Mixup, mix_with_weights
    >>> X = torch.tensor([[0.0], [1.0]])
    >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> _ = torch.manual_seed(0)
    >>> X_mix, y_mix, w = mix_with_weights(Mixup(1.0), X, y, torch.tensor([3.0, 0.0]))
    >>> # a weightless row adds no target mass: every weighted row is class 0
    >>> bool(torch.all(y_mix[w > 0, 0] == 1.0)), bool(torch.all(w <= 3.0))
    (True, True)
    """
    packed = torch.cat([y * sw[:, None], sw[:, None]], dim=1)
    X, packed = augment(X, packed)
    weight = packed[:, -1]
    targets = packed[:, :-1] / torch.where(weight > 0, weight, 1.0)[:, None]
    return X, targets, weight


class _ImageBatches:
    """Hand an augmentation ``(batch, C, H, W)`` images instead of flat rows.

    The estimators' training step works on flat ``(batch, n_features)`` rows;
    when ``input_shape`` is known, the estimator wraps its augmentation in this
    view, so image transforms (and any other augmentation) see images, and the
    module gets flat rows back.
    """

    def __init__(self, augment, input_shape):
        self.augment = augment
        self.input_shape = tuple(input_shape)

    @property
    def mixes_targets(self):
        return self.augment.mixes_targets

    def __call__(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = X.shape[0]
        images, y = self.augment(X.reshape(n, *self.input_shape), y)
        return images.reshape(n, -1), y


def _prepare_augment(augment, n_features, input_shape):
    """Check ``augment`` against the data and show it images when there are any.

    Parameters
    ----------
    augment : BaseAugmentation or None
        The resolved augmentation (see :func:`_resolve_augment`).

    n_features : int
        Number of input columns.

    input_shape : tuple of int or None
        Image shape ``(C, H, W)`` of each row, or None for tabular data.

    Returns
    -------
    augmentation : callable or None
        What the training step calls on flat ``(batch, n_features)`` batches.

    Examples
    --------
    >>> import torch
    >>> from sk_reg.augment import RandomFlip, _prepare_augment
    >>> aug = _prepare_augment(RandomFlip(), 4, (1, 2, 2))
    >>> aug(torch.zeros(3, 4), None)[0].shape
    torch.Size([3, 4])
    >>> _prepare_augment(RandomFlip(), 4, None)
    Traceback (most recent call last):
    ...
    ValueError: RandomFlip is an image augmentation but the data are tabular ...
    """
    if augment is None:
        return None
    augment.check_input(n_features, input_shape)
    return augment if input_shape is None else _ImageBatches(augment, input_shape)


#: Names usable as ``augment="..."``; join several with "+" ("noise+mixup").
AUGMENTATIONS = {
    "noise": GaussianNoise,
    "mixup": Mixup,
    "flip": RandomFlip,
    "rotate": RandomRotation,
    "scale": RandomScale,
    "shift": RandomShift,
    "affine": RandomAffine,
    "cutout": Cutout,
    "cutmix": CutMix,
}


def _resolve_augment(augment):
    """Turn the estimator's ``augment`` parameter into an augmentation object.

    Parameters
    ----------
    augment : None, str, BaseAugmentation or list
        ``None`` (no augmentation), a registered name (a key of
        ``AUGMENTATIONS``: ``"noise"``, ``"mixup"``, and for images ``"flip"``,
        ``"rotate"``, ``"scale"``, ``"shift"``, ``"affine"``, ``"cutout"``,
        ``"cutmix"``), several names joined by ``"+"`` (``"flip+rotate"``), an
        augmentation object (returned as a validated fresh clone), or a list
        of names and objects, applied in order as a :class:`Compose`.

    Returns
    -------
    augmentation : BaseAugmentation or None
        The object the training step calls.

    Examples
    --------
    >>> from sk_reg.augment import _resolve_augment
    >>> _resolve_augment("noise+mixup")
    Compose(steps=[('noise', GaussianNoise()), ('mixup', Mixup())])
    >>> _resolve_augment([GaussianNoise(0.05), "mixup"])
    Compose(steps=[('gaussiannoise', GaussianNoise(std=0.05)), ('mixup', Mixup())])
    """
    from sklearn.base import clone

    if augment is None:
        return None
    if isinstance(augment, list):
        return _compose_list(augment)
    if isinstance(augment, str):
        names = augment.split("+")
        _check_names(augment, names)
        steps = [(n, AUGMENTATIONS[n]()) for n in names]
        return steps[0][1] if len(steps) == 1 else Compose(steps)
    augment = clone(augment)
    augment._check_params()
    return augment


def _check_names(augment, names):
    """Name the first unknown or repeated part of ``augment="a+b"``."""
    from difflib import get_close_matches

    for i, name in enumerate(names):
        if name in names[:i]:
            problem = f"repeats {name!r}"
        elif name not in AUGMENTATIONS:
            close = get_close_matches(name, AUGMENTATIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problem = f"has the unknown name {name!r}{hint}"
        else:
            continue
        raise InvalidParameterError(
            f"The 'augment' parameter {augment!r} {problem}. Use None, an "
            f"sk_reg.augment object, or names from {sorted(AUGMENTATIONS)} "
            "joined by '+'."
        )


def _compose_list(items):
    """A list of names and augmentation objects as one :class:`Compose`."""
    if not items or not all(isinstance(i, (str, BaseAugmentation)) for i in items):
        raise InvalidParameterError(
            "The 'augment' parameter, as a list, must hold at least one registered "
            f"name or sk_reg.augment object; got {items!r}."
        )
    steps, seen = [], set()
    for item in items:
        aug = _resolve_augment(item)
        name = item if isinstance(item, str) else type(item).__name__.lower()
        while name in seen:
            name += "_"
        seen.add(name)
        steps.append((name, aug))
    return Compose(steps)
