"""sk_reg: regularized neural networks for scikit-learn, built on skorch and PyTorch.

>>> import sk_reg
>>> sorted(sk_reg.__all__)
['RegularizedNetClassifier', 'RegularizedNetClassifierCV', 'RegularizedNetRegressor',
 'RegularizedNetRegressorCV', '__version__', 'load', 'regularization_path', 'save']
"""

from .cv import RegularizedNetClassifierCV, RegularizedNetRegressorCV
from .estimators import RegularizedNetClassifier, RegularizedNetRegressor
from .path import regularization_path
from .persistence import load, save

__version__ = "0.1.0"

__all__ = [
    "RegularizedNetClassifier",
    "RegularizedNetClassifierCV",
    "RegularizedNetRegressor",
    "RegularizedNetRegressorCV",
    "__version__",
    "load",
    "regularization_path",
    "save",
]
