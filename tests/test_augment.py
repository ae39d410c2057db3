"""Image augmentations as tensor transforms: exact geometry, shapes, randomness."""

import pickle

import pytest
import torch
from sklearn.base import clone

from sk_reg import augment as A
from sk_reg._compat import InvalidParameterError
from sk_reg.augment import (
    AUGMENTATIONS,
    CutMix,
    Cutout,
    Mixup,
    RandomAffine,
    RandomFlip,
    RandomRotation,
    RandomScale,
    RandomShift,
    _prepare_augment,
    _resolve_augment,
)

IMAGE_NAMES = ["flip", "rotate", "scale", "shift", "affine", "cutout", "cutmix"]


def _batch(n=32, shape=(2, 6, 7), dtype=torch.float32, device="cpu"):
    gen = torch.Generator().manual_seed(1)
    return torch.rand(n, *shape, generator=gen, dtype=dtype).to(device)


def _targets(n, device="cpu", dtype=torch.float32):
    return torch.eye(n, dtype=dtype, device=device)


def _apply(aug, X, seed=0):
    torch.manual_seed(seed)
    return aug(X, _targets(len(X), X.device, X.dtype))


# -- exact geometry -------------------------------------------------------------


def test_flips_are_exact_and_drawn_per_sample():
    X = torch.arange(12.0).view(1, 1, 3, 4).repeat(64, 1, 1, 1)
    torch.manual_seed(0)
    out, _ = RandomFlip(horizontal=True, vertical=True)(X, None)
    variants = {
        "same": X[0],
        "h": X[0].flip(-1),
        "v": X[0].flip(-2),
        "hv": X[0].flip(-1, -2),
    }
    seen = set()
    for img in out:
        match = [k for k, v in variants.items() if torch.equal(img, v)]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == set(variants)

    torch.manual_seed(0)
    only_h, _ = RandomFlip()(X, None)
    assert all(torch.equal(i, X[0]) or torch.equal(i, X[0].flip(-1)) for i in only_h)
    assert not all(torch.equal(i, X[0]) for i in only_h)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("degrees, k", [(90, 1), (-90, -1), (180, 2)])
def test_rotation_by_right_angles_gives_the_expected_pixels(degrees, k, dtype):
    X = torch.arange(32.0, dtype=dtype).view(2, 1, 4, 4)
    out, _ = RandomRotation(degrees=(degrees, degrees))(X, None)
    expected = torch.rot90(X, k, dims=(-2, -1))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    # counterclockwise as displayed: the top-right pixel comes to the top-left
    if degrees == 90:
        assert out[0, 0, 0, 0] == pytest.approx(X[0, 0, 0, 3].item(), abs=1e-5)


def test_rotation_of_a_non_square_image_is_not_sheared():
    # 180 degrees maps pixel centres onto pixel centres for any aspect ratio;
    # a rotation done in normalised coordinates would still pass this, so also
    # check that 90 + 90 degrees (one resample each) equals 180.
    X = torch.arange(30.0).view(1, 1, 5, 6)
    out, _ = RandomRotation(degrees=(180, 180))(X, None)
    torch.testing.assert_close(out, X.flip(-1, -2), atol=1e-4, rtol=0)
    square = torch.zeros(1, 1, 6, 10)
    square[..., 1:5, 3:7] = 1.0  # a 4x4 square, centred
    rotated, _ = RandomRotation(degrees=(90, 90))(square, None)
    # in pixel units a centred square rotates onto itself
    torch.testing.assert_close(rotated, square, atol=1e-4, rtol=0)


def test_scale_zooms_about_the_centre():
    X = torch.ones(3, 1, 8, 8)
    out, _ = RandomScale(scale=(0.5, 0.5))(X, None)
    expected = torch.zeros(8, 8)
    expected[2:6, 2:6] = 1.0
    for img in out:
        torch.testing.assert_close(img[0], expected, atol=1e-6, rtol=0)
    same, _ = RandomScale(scale=(1.0, 1.0))(X, None)
    torch.testing.assert_close(same, X)


def test_affine_shift_by_whole_pixels_moves_pixels():
    X = torch.arange(16.0).view(1, 1, 4, 4)
    zero = torch.zeros(1)
    # +1/4 of the width to the right, -1/4 of the height (up)
    out = A._affine(X, zero, torch.ones(1), torch.tensor([[0.25, -0.25]]))
    expected = torch.zeros(4, 4)
    expected[:3, 1:] = X[0, 0, 1:, :3]
    torch.testing.assert_close(out[0, 0], expected, atol=1e-5, rtol=0)


def test_shift_stays_within_its_range():
    X = torch.zeros(200, 1, 8, 8)
    X[:, :, 3, 3] = 1.0  # one bright pixel; its mass centre moves by the shift
    torch.manual_seed(0)
    out, _ = RandomShift(shift=0.25)(X, None)
    rows = torch.arange(8.0).view(1, 8, 1)
    cols = torch.arange(8.0).view(1, 1, 8)
    mass = out[:, 0].sum(dim=(1, 2))
    dy = (out[:, 0] * rows).sum(dim=(1, 2)) / mass - 3
    dx = (out[:, 0] * cols).sum(dim=(1, 2)) / mass - 3
    assert torch.allclose(mass, torch.ones(200), atol=1e-5)  # nothing left the image
    assert dx.abs().max() <= 2 + 1e-5 and dy.abs().max() <= 2 + 1e-5
    assert dx.abs().max() > 1 and dy.abs().max() > 1  # and the range is used
    assert dx.std() > 0.5 and not torch.allclose(dx, dy)  # independent per axis


@pytest.mark.parametrize("size, shift, most", [(28, 0.1, 3), (8, 0.1, 1), (28, 0.0, 0)])
def test_shift_moves_whole_pixels_exactly(size, shift, most):
    # a unique value per pixel: every output pixel is a copied input pixel or 0
    X = (
        torch.arange(1.0, 1 + 2 * size * size)
        .view(1, 2, size, size)
        .repeat(300, 1, 1, 1)
    )
    torch.manual_seed(0)
    out, _ = RandomShift(shift=shift)(X, None)
    assert set(out.unique().tolist()) <= set(X.unique().tolist()) | {0.0}
    # the offset of each image, read from where its first pixel went
    moves = []
    for img in out:
        hit = (img[0] == 1.0).nonzero()
        if len(hit):  # the pixel is still inside the image
            moves.append(tuple(hit[0].tolist()))
            r, c = moves[-1]
            torch.testing.assert_close(img[:, r:, c:], X[0, :, : size - r, : size - c])
    assert max(max(m) for m in moves) == most
    if most:
        assert len({m[0] for m in moves}) == most + 1  # 0..most all drawn


def test_cutout_erases_one_box_in_every_channel():
    X = torch.ones(100, 3, 8, 8)
    torch.manual_seed(0)
    out, _ = Cutout(size=0.5)(X, None)
    erased = out == 0
    assert torch.equal(erased[:, 0], erased[:, 1])  # the same box in each channel
    assert torch.all((out == 0) | (out == 1))
    counts = erased[:, 0].sum(dim=(1, 2))
    assert counts.max() == 16 and counts.min() >= 4  # 4x4, clipped at borders
    for box in erased[:, 0]:
        r, c = box.any(dim=1).nonzero().ravel(), box.any(dim=0).nonzero().ravel()
        assert box.sum() == len(r) * len(c)  # a rectangle
        assert (r.diff() == 1).all() and (c.diff() == 1).all()
    torch.manual_seed(0)
    filled, _ = Cutout(size=0.5, value=-1.0)(X, None)
    assert torch.equal(filled == -1, erased)


def test_cutmix_pastes_a_box_and_mixes_targets_by_area():
    n = 64
    X = torch.arange(float(n)).view(n, 1, 1, 1).expand(n, 2, 5, 5).clone()
    y = _targets(n)
    torch.manual_seed(0)
    out, y_mix = CutMix(alpha=1.0)(X, y)
    assert torch.equal(out[:, 0], out[:, 1])
    for i in range(n):
        values = out[i].unique()
        assert len(values) <= 2 and float(i) in values.tolist() or len(values) == 1
    # the soft target of sample i puts (fraction of pixels from j) on class j
    pixel_share = torch.stack(
        [(out[:, 0] == j).float().mean(dim=(1, 2)) for j in range(n)], dim=1
    )
    torch.testing.assert_close(y_mix, pixel_share)
    torch.testing.assert_close(y_mix.sum(dim=1), torch.ones(n))
    assert (pixel_share.diagonal() < 1).sum() > n // 2  # most got a patch


def test_cutmix_mixes_regression_targets():
    X = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    y = torch.tensor([[0.0], [10.0]])
    torch.manual_seed(1)
    out, y_mix = CutMix()(X, y)
    torch.testing.assert_close(y_mix[:, 0], 10 * out.mean(dim=(1, 2, 3)))


# -- shapes, dtypes, devices, randomness -------------------------------------------


@pytest.mark.parametrize("name", IMAGE_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_preserved_and_batch_changed(name, dtype):
    aug = _resolve_augment(name)
    X = _batch(dtype=dtype)
    out, y = _apply(aug, X)
    assert out.shape == X.shape and out.dtype == dtype
    assert y.shape == (len(X), len(X)) and y.dtype == dtype
    assert not torch.equal(out, X)
    assert torch.equal(X, _batch(dtype=dtype))  # input not modified in place


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_same_seed_same_batch_other_seed_other_batch(name):
    aug = _resolve_augment(name)
    X = _batch()
    first, second, other = _apply(aug, X, 3), _apply(aug, X, 3), _apply(aug, X, 4)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_draws_differ_between_samples(name):
    X = torch.ones(64, 1, 8, 8)
    X[:, :, 1:4, 1:3] = 0.0  # not symmetric, so every flip/rotation shows
    out, y = _apply(_resolve_augment(name), X)
    if name == "cutmix":  # equal images stay equal; the pasted areas differ
        assert y.diagonal().unique().numel() > 1
    else:
        assert len({tuple(img.flatten().tolist()) for img in out}) > 1


def test_affine_resamples_the_whole_batch_in_one_call(monkeypatch):
    calls = []
    original = A.F.grid_sample

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(A.F, "grid_sample", counting)
    RandomAffine()(_batch(n=50), None)
    assert calls == [torch.Size([50, 2, 6, 7])]


@pytest.mark.parametrize(
    "aug",
    [
        RandomFlip(vertical=True),
        RandomRotation(30),
        RandomScale((0.8, 1.3)),
        RandomShift(0.2),
        RandomAffine(10, (0.9, 1.0), 0.05),
        Cutout(0.3, 0.5),
        CutMix(0.4),
    ],
)
def test_pickle_and_clone_keep_parameters(aug):
    for copy in (pickle.loads(pickle.dumps(aug)), clone(aug)):
        assert type(copy) is type(aug) and copy.get_params() == aug.get_params()
        X = _batch()
        torch.testing.assert_close(_apply(copy, X), _apply(aug, X))


def test_grid_keys_of_composed_image_augmentations():
    aug = _resolve_augment("flip+rotate+cutmix")
    aug.set_params(rotate__degrees=30, cutmix__alpha=0.5, flip__vertical=True)
    params = aug.get_params()
    assert params["rotate__degrees"] == 30 and params["cutmix__alpha"] == 0.5
    assert params["flip__vertical"] is True and aug.mixes_targets


@pytest.mark.parametrize(
    "aug",
    [
        RandomRotation(degrees=181),
        RandomRotation(degrees=(10, -10)),
        RandomRotation(degrees=(1, 2, 3)),
        RandomScale(scale=(1.2, 0.8)),
        RandomScale(scale=(0.0, 1.0)),
        RandomScale(scale=1.1),
        RandomShift(shift=1.5),
        RandomAffine(scale="big"),
        Cutout(size=-0.1),
        Cutout(value="x"),
        CutMix(alpha=0),
        RandomFlip(horizontal="yes"),
    ],
)
def test_invalid_parameters_are_rejected(aug):
    with pytest.raises(InvalidParameterError):
        _resolve_augment(aug)


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_image_augmentation_on_tabular_data_is_a_clear_error(name):
    aug = _resolve_augment(name)
    with pytest.raises(ValueError, match="image augmentation.*input_shape"):
        _prepare_augment(aug, 10, None)
    with pytest.raises(ValueError, match=r"\(batch, channels, height, width\)"):
        aug(torch.zeros(4, 10), torch.zeros(4, 2))
    aug.check_input(12, (3, 2, 2))  # fine with a shape


def test_tabular_augmentations_accept_images_and_flat_rows():
    view = _prepare_augment(_resolve_augment("noise+mixup+flip"), 12, (3, 2, 2))
    torch.manual_seed(0)
    out, y = view(torch.ones(5, 12), _targets(5))
    assert out.shape == (5, 12) and y.shape == (5, 5) and view.mixes_targets
    assert _prepare_augment(_resolve_augment("noise"), 3, None) is not None


def test_registry_names():
    assert set(IMAGE_NAMES) | {"noise", "mixup"} == set(AUGMENTATIONS)


@pytest.mark.gpu
@pytest.mark.parametrize("name", IMAGE_NAMES + ["flip+affine+cutout+cutmix"])
def test_runs_on_cuda_and_stays_there(name):
    X = _batch(device="cuda", dtype=torch.float64)
    out, y = _apply(_resolve_augment(name), X)
    assert out.device.type == "cuda" and y.device.type == "cuda"
    assert out.dtype == torch.float64 and out.shape == X.shape
    again, _ = _apply(_resolve_augment(name), X)
    torch.testing.assert_close(out, again)


def _weighted_mix_gradients(augment, X, y, sw, loss):
    """Gradients w.r.t. fixed predictions of the mixed objective two ways:
    through mix_with_weights, and from the definition with each target weighed
    by its own row's weight (the same draws replayed)."""
    from sk_reg.augment import mix_with_weights

    pred = torch.randn(len(X), y.shape[1], dtype=torch.float64, requires_grad=True)
    torch.manual_seed(5)
    _, y_mix, w_mix = mix_with_weights(augment, X, y, sw)
    (w_mix * loss(pred, y_mix)).sum().backward()
    ours = pred.grad.clone()
    # replay: the same draws on the identity targets give each row's mixing
    # share of every original row
    pred.grad = None
    torch.manual_seed(5)
    _, shares = augment(X, torch.eye(len(X), dtype=torch.float64))
    rows = [
        shares[i, j] * sw[j] * loss(pred[i : i + 1], y[j : j + 1])
        for i in range(len(X))
        for j in range(len(X))
    ]
    torch.stack(rows).sum().backward()
    return ours, pred.grad


def _cross_entropy(pred, y):
    return -(y * torch.log_softmax(pred, dim=1)).sum(dim=1)


def _squared_error(pred, y):
    return 0.5 * ((pred - y) ** 2).sum(dim=1)


@pytest.mark.parametrize(
    "augment, shape", [(Mixup(alpha=1.0), (12, 3)), (CutMix(), (12, 1, 4, 4))]
)
@pytest.mark.parametrize("loss", [_cross_entropy, _squared_error])
def test_mixing_weighs_each_target_by_its_own_row(augment, shape, loss):
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(shape, dtype=torch.float64, generator=gen)
    y = torch.softmax(torch.randn(shape[0], 3, generator=gen, dtype=torch.float64), 1)
    sw = torch.rand(shape[0], dtype=torch.float64, generator=gen) * 3
    sw[[2, 7]] = 0.0  # weightless rows contribute nothing, mixed or not
    ours, expected = _weighted_mix_gradients(augment, X, y, sw, loss)
    torch.testing.assert_close(ours, expected)


def test_class_weights_hold_under_mixup():
    # class_weight={0: 1000, 1: 1e-4} must predict class 0 everywhere; with the
    # weight of the first row of each pair alone, mixup gave 74-76%.
    from sklearn.utils.estimator_checks import check_class_weight_classifiers

    from sk_reg import RegularizedNetClassifier

    for augment in ("mixup", "noise+mixup"):
        check_class_weight_classifiers(
            augment, RegularizedNetClassifier(augment=augment, random_state=0)
        )
    # CutMix mixes targets by area: each part carries its own row's weight.
    cnn = RegularizedNetClassifier(
        module="cnn", input_shape=(1, 1, -1), augment="cutmix", random_state=0
    )
    check_class_weight_classifiers("cutmix", cnn)


@pytest.mark.parametrize(
    "augment, message",
    [
        ("noise+mixupp", r"unknown name 'mixupp' \(did you mean 'mixup'\?\)"),
        ("rotate+Shift", r"unknown name 'Shift' \(did you mean 'shift'\?\)"),
        ("flip+flip", r"repeats 'flip'"),
        ("noise+", r"unknown name ''"),
        ("blur", r"unknown name 'blur'\. Use None"),
    ],
)
def test_a_bad_augment_name_is_named_with_the_closest_valid_one(augment, message):
    with pytest.raises(InvalidParameterError, match=message):
        _resolve_augment(augment)
