"""sk_reg: regularized neural networks for scikit-learn, built on skorch and PyTorch.

>>> import sk_reg
>>> sorted(sk_reg.__all__)
['RegularizedNetClassifier', 'RegularizedNetRegressor', '__version__', 'load',
 'regularization_path', 'save']
"""

from .estimators import RegularizedNetClassifier, RegularizedNetRegressor
from .path import regularization_path
from .persistence import load, save

__version__ = "0.1.0"

__all__ = [
    "RegularizedNetClassifier",
    "RegularizedNetRegressor",
    "__version__",
    "load",
    "regularization_path",
    "save",
]
