"""Writes the files of tests/data, with sk_reg as it was at commit 157b469.

That version predates ConvNet's batch_norm, the estimators' learning_rate and
the searches' module/input_shape parameters; test_persistence.py checks that
its files and pickles still load and predict exactly as they did. Run from a
checkout of 157b469: ``python make_old_files.py <folder>``.
"""

import pickle
import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits

import sk_reg
from sk_reg import RegularizedNetClassifier, RegularizedNetClassifierCV, save
from sk_reg.modules import ConvNet


def main(out):
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    X = (X[:120] / 16).astype(np.float32)
    y = y[:120]
    cnn = RegularizedNetClassifier(
        module=ConvNet(channels=(2,), hidden=0),
        input_shape=(1, 8, 8),
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    save(cnn, f"{out}/convnet_format2.safetensors")
    with open(f"{out}/convnet_state1.pkl", "wb") as f:
        pickle.dump(cnn, f)
    cv = RegularizedNetClassifierCV(
        [{"hidden_layer_sizes": (4,)}, {"hidden_layer_sizes": (4,), "l2": 1e-1}],
        min_iter=2,
        max_iter=3,
        n_ensemble=1,
        random_state=0,
    ).fit(X, y)
    save(cv, f"{out}/search_format2.safetensors")
    with open(f"{out}/search_state1.pkl", "wb") as f:
        pickle.dump(cv, f)
    np.save(
        f"{out}/old_predictions.npy",
        np.stack([cnn.predict_proba(X), cv.predict_proba(X)]),
    )
    print(sk_reg.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
