"""Batch augmentations: picklable parameter objects applied to training batches.

Every augmentation is a scikit-learn style parameter object (``get_params`` /
``set_params``, so ``augment__std`` works in a grid) whose ``__call__`` takes a
whole batch ``(X, y)`` of tensors *on the training device* and returns a new
``(X, y)``. They run inside the training step only, never at predict time and
never on validation batches, and they draw their randomness from torch's
global generator, which the estimators seed from ``random_state``.

Classification targets reach an augmentation as class indices, unless the
augmentation sets ``mixes_targets = True`` (as :class:`Mixup` does): then the
estimator hands it one-hot float targets, and the mixed, soft targets go to
the cross-entropy loss (which composes with ``label_smoothing``).
"""

from __future__ import annotations

from numbers import Real

import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.metaestimators import _BaseComposition

__all__ = ["BaseAugmentation", "Compose", "GaussianNoise", "Mixup", "resolve_augment"]


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
    _parameter_constraints: dict = {}

    def check_input(self, n_features, input_shape=None):
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

    def __call__(self, X, y):
        raise NotImplementedError


class GaussianNoise(BaseAugmentation):
    """Add independent Gaussian noise to every input value.

    ``X + std * N(0, 1)``, drawn fresh for every training batch. ``std`` is in
    the units of ``X``, so standardise the features first (for example with a
    :class:`~sklearn.preprocessing.StandardScaler` in the same pipeline).
    Equivalent in expectation to a Tikhonov (L2-type) penalty on the
    input-output Jacobian (Bishop, 1995).

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

    def __call__(self, X, y):
        if self.std == 0:
            return X, y
        return X + self.std * torch.randn_like(X), y


class Mixup(BaseAugmentation):
    """Mixup: train on convex combinations of pairs of samples.

    Each sample ``i`` of a batch is paired with a random other sample ``j`` of
    the same batch, and ``lam ~ Beta(alpha, alpha)`` is drawn per sample::

        X_i <- lam * X_i + (1 - lam) * X_j
        y_i <- lam * y_i + (1 - lam) * y_j

    For classifiers ``y`` is the one-hot target, so the loss sees soft
    targets (Zhang et al., 2018). For regressors the targets are mixed
    directly.

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

    def __call__(self, X, y):
        n = X.shape[0]
        alpha = torch.full((n, 2), float(self.alpha), dtype=X.dtype, device=X.device)
        # Beta(alpha, alpha) is the first coordinate of a Dirichlet; this is
        # what Beta.sample draws, minus its argument checks (half its cost).
        lam = torch.distributions.Dirichlet(alpha, validate_args=False).sample()[:, 0]
        perm = torch.randperm(n, device=X.device)
        lam_x = lam.view((n,) + (1,) * (X.dim() - 1))
        # lerp(a, b, w) = a + w * (b - a): one kernel instead of four.
        X_mixed = torch.lerp(X.index_select(0, perm), X, lam_x)
        lam_y = lam.view((n,) + (1,) * (y.dim() - 1)).to(y.dtype)
        y_mixed = torch.lerp(y.index_select(0, perm), y, lam_y)
        return X_mixed, y_mixed


class Compose(_BaseComposition, BaseAugmentation):
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
        return self._get_params("steps", deep=deep)

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
        self._set_params("steps", **params)
        return self

    def _validate_params(self):
        super()._validate_params()
        self._validate_names([name for name, _ in self.steps])
        for _, aug in self.steps:
            if not isinstance(aug, BaseAugmentation):
                raise TypeError(
                    "Compose steps must be sk_reg.augment objects, got "
                    f"{type(aug).__name__}."
                )
            aug._validate_params()

    def check_input(self, n_features, input_shape=None):
        for _, aug in self.steps:
            aug.check_input(n_features, input_shape)

    def __call__(self, X, y):
        for _, aug in self.steps:
            X, y = aug(X, y)
        return X, y


#: Names usable as ``augment="..."``; join several with "+" ("noise+mixup").
AUGMENTATIONS = {"noise": GaussianNoise, "mixup": Mixup}


def resolve_augment(augment):
    """Turn the estimator's ``augment`` parameter into an augmentation object.

    Parameters
    ----------
    augment : None, str or BaseAugmentation
        ``None`` (no augmentation), a registered name (``"noise"``,
        ``"mixup"``), several names joined by ``"+"`` (``"noise+mixup"``), or
        an augmentation object (returned as a validated fresh clone).

    Returns
    -------
    augmentation : BaseAugmentation or None
        The object the training step calls.

    Examples
    --------
    >>> from sk_reg.augment import resolve_augment
    >>> resolve_augment("noise+mixup")
    Compose(steps=[('noise', GaussianNoise()), ('mixup', Mixup())])
    """
    from sklearn.base import clone
    from sklearn.utils._param_validation import InvalidParameterError

    if augment is None:
        return None
    if isinstance(augment, str):
        names = augment.split("+")
        unknown = [n for n in names if n not in AUGMENTATIONS]
        if unknown or len(set(names)) != len(names):
            raise InvalidParameterError(
                f"The 'augment' parameter got an unknown or repeated name in "
                f"{augment!r}. Use None, an sk_reg.augment object, or names from "
                f"{sorted(AUGMENTATIONS)} joined by '+'."
            )
        steps = [(n, AUGMENTATIONS[n]()) for n in names]
        return steps[0][1] if len(steps) == 1 else Compose(steps)
    augment = clone(augment)
    augment._validate_params()
    return augment
