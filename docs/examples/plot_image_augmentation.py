"""
=========================================
Augmented samples of the digits images
=========================================

Image augmentations transform each training batch on the training device:
flips mirror images exactly, shifts move them by whole pixels, rotations and
scalings resample every image through its own random affine map; Cutout
blanks a random square; Mixup and CutMix blend pairs of images *and* their
labels, producing soft targets. The estimators apply them when
``input_shape`` says the rows are images, or when ``X`` is 4-D.

Here we call the augmentation objects directly on a batch of eight 8x8 digits
to see what the network sees. Whether they make a network more accurate is
measured in :ref:`sphx_glr_auto_examples_plot_image_learning_curve.py` and on
the study page.
"""

# %%
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits

from sk_reg.augment import (
    CutMix,
    Cutout,
    Mixup,
    RandomFlip,
    RandomRotation,
    RandomScale,
    RandomShift,
)

X, y = load_digits(return_X_y=True)
images = X.reshape(-1, 1, 8, 8) / 16.0  # (n_samples, channels, height, width)

batch = torch.as_tensor(images[:8], dtype=torch.float32)
onehot = torch.nn.functional.one_hot(torch.as_tensor(y[:8]), 10).float()

augmentations = {
    "RandomFlip()": RandomFlip(),
    "RandomRotation(30)": RandomRotation(degrees=30),
    "RandomScale((0.7, 1.3))": RandomScale(scale=(0.7, 1.3)),
    "RandomShift(0.25)": RandomShift(shift=0.25),
    "Cutout(0.4)": Cutout(size=0.4),
    "Mixup(0.4)": Mixup(alpha=0.4),
    "CutMix(1.0)": CutMix(alpha=1.0),
}

# %%
# Each row shows the same eight images after one augmentation. Mixup and
# CutMix also return mixed one-hot targets: the title gives the two largest
# class weights of each soft target.
torch.manual_seed(0)
fig, axes = plt.subplots(len(augmentations) + 1, 8, figsize=(9, 10.5))
rows = [("original", batch, onehot)]
for name, augmentation in augmentations.items():
    # Mixup and CutMix need (and return) one-hot float targets; the other
    # transforms pass the targets through.
    X_aug, y_aug = augmentation(batch, onehot)
    rows.append((name, X_aug, y_aug))
for row, (name, X_aug, y_aug) in zip(axes, rows, strict=True):
    for col, ax in enumerate(row):
        ax.imshow(X_aug[col, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        weights, classes = torch.topk(y_aug[col], 2)
        if weights[1] > 0.01:
            ax.set_title(
                f"{classes[0]}:{weights[0]:.2f} {classes[1]}:{weights[1]:.2f}",
                fontsize=7,
            )
        else:
            ax.set_title(str(int(classes[0])), fontsize=8)
    row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
fig.tight_layout()
plt.show()

# %%
# A horizontal flip turns a 3 or a 6 into a mirrored shape that is no digit
# at all: an augmentation must encode an invariance of the task, and mirror
# symmetry is not one for digits (on 1,000 MNIST digits flips cost 3.1 points
# of accuracy). Small rotations, scalings and shifts are; for clothing
# photographs, flips are too. A shift by whole pixels copies them, where a
# rotation or a zoom interpolates and so blurs a little: ``"affine"``
# (:class:`~sk_reg.augment.RandomAffine`) draws a rotation, a zoom and a
# shift per image and resamples once, where ``"rotate+scale"`` would
# interpolate twice.
#
# To train with one, name it (``augment="affine"``) or pass the object to
# tune it (``augment=RandomRotation(degrees=10)``, and ``augment__degrees`` in
# a grid); prediction always uses the original images.
