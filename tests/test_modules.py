"""Module builders: ConvNet sizes, dropout, parameters; _instantiate_module context."""

import pickle

import pytest
import torch
from sklearn.base import clone
from torch import nn

from sk_reg._compat import InvalidParameterError
from sk_reg.modules import MLP, ConvNet, _instantiate_module, first_linear_weight


@pytest.mark.parametrize(
    "input_shape, n_features",
    [
        ((1, 8, 8), 64),
        ((3, 5, 7), 105),
        ((2, 1, 9), 18),
        ((1, 1, 1), 1),
        ((1, -1, 4), 24),
        ((-1, 2, 2), 12),
    ],
)
def test_convnet_maps_flat_rows_to_outputs(input_shape, n_features):
    net = ConvNet(channels=(4, 6), hidden=8).build(
        n_features, 3, input_shape=input_shape
    )
    assert net(torch.rand(5, n_features)).shape == (5, 3)
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 2
    assert -1 not in net.input_shape and len(net.input_shape) == 3


def test_convnet_pools_and_sizes_the_dense_layer():
    net = ConvNet(channels=(16, 32), hidden=64).build(64, 10, input_shape=(1, 8, 8))
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (32 * 2 * 2, 64),
        (64, 10),
    ]
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 16, (3, 3)),
        (16, 32, (3, 3)),
    ]
    # even kernels keep the size too ("same" padding)
    even = ConvNet(channels=(2,), kernel_size=4, hidden=0).build(
        36, 2, input_shape=(1, 6, 6)
    )
    assert even.head[-1].in_features == 2 * 3 * 3


def test_convnet_reads_rows_as_channel_height_width():
    # one 3x3 "identity" kernel: the output is the input image, so the rows must
    # be viewed in (C, H, W) order
    net = ConvNet(channels=(1,), hidden=0, batch_norm=False).build(
        8, 1, input_shape=(2, 2, 2)
    )
    conv = net.features[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 1, 1, 1] = 1.0  # pick channel 1
    X = torch.arange(16.0).view(2, 8)
    pooled = net.features(X.reshape(2, 2, 2, 2))
    assert torch.equal(pooled.flatten(1), X.view(2, 2, 4)[:, 1].amax(1, keepdim=True))


def test_convnet_batch_norm_follows_each_convolution():
    net = ConvNet(channels=(4, 6)).build(64, 3, input_shape=(1, 8, 8))
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv2d", "_BatchNorm2d", "ReLU", "MaxPool2d"] * 2
    # the normalisation's shift replaces the convolution's bias
    assert all(m.bias is None for m in net.features if isinstance(m, nn.Conv2d))
    plain = ConvNet(channels=(4, 6), batch_norm=False).build(
        64, 3, input_shape=(1, 8, 8)
    )
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert all(m.bias is not None for m in plain.modules() if isinstance(m, nn.Conv2d))


def test_batch_norm_trains_on_a_batch_of_one_value_per_channel():
    # 2x2 images pool to 1x1: a one-row batch has one value per channel, where
    # torch's BatchNorm2d raises; it is normalised with the running statistics.
    net = ConvNet(channels=(3, 3), hidden=0).build(4, 2, input_shape=(1, 2, 2))
    norm = net.features[5]
    assert isinstance(norm, nn.BatchNorm2d)
    net.train()
    before = norm.running_mean.clone()
    out = net(torch.rand(1, 4))
    out.sum().backward()
    assert torch.isfinite(out).all()
    torch.testing.assert_close(norm.running_mean, before)
    # two rows: batch statistics, which move the running mean
    net(torch.rand(2, 4))
    assert not torch.equal(norm.running_mean, before)
    # and in eval mode a one-row batch uses the running statistics as usual
    net.eval()
    torch.testing.assert_close(net(torch.ones(1, 4)), net(torch.ones(2, 4))[:1])


def test_convnet_dropout_layers_follow_the_dropout_argument():
    drops = [
        m.p
        for m in ConvNet().build(64, 10, dropout=0.3, input_shape=(1, 8, 8)).modules()
        if isinstance(m, nn.Dropout)
    ]
    assert drops == [0.3, 0.3]
    none = ConvNet().build(64, 10, dropout=0.0, input_shape=(1, 8, 8))
    assert not any(isinstance(m, nn.Dropout) for m in none.modules())
    head_only = ConvNet(hidden=0).build(64, 10, dropout=0.5, input_shape=(1, 8, 8))
    assert [m.p for m in head_only.modules() if isinstance(m, nn.Dropout)] == [0.5]


def test_convnet_needs_a_fitting_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        ConvNet().build(64, 10)
    with pytest.raises(ValueError, match=r"input_shape=\(1, 8, 7\).*64 features"):
        ConvNet().build(64, 10, input_shape=(1, 8, 7))
    with pytest.raises(ValueError, match="64 features"):
        ConvNet().build(64, 10, input_shape=(3, -1, 5))


@pytest.mark.parametrize(
    "params",
    [
        {"channels": (0, 4)},
        {"channels": (2.5,)},
        {"channels": 8},
        {"kernel_size": 0},
        {"hidden": -1},
        {"activation": "swish"},
        {"batch_norm": "yes"},
    ],
)
def test_convnet_invalid_parameters(params):
    with pytest.raises(InvalidParameterError):
        ConvNet(**params).build(64, 10, input_shape=(1, 8, 8))


def test_convnet_is_a_parameter_object():
    builder = ConvNet(channels=(4,), kernel_size=5)
    assert builder.get_params() == {
        "channels": (4,),
        "kernel_size": 5,
        "hidden": 128,
        "activation": "relu",
        "batch_norm": True,
    }
    copy = clone(builder.set_params(hidden=16))
    assert copy.hidden == 16 and copy is not builder
    restored = pickle.loads(pickle.dumps(builder))
    assert restored.get_params() == builder.get_params()
    module = builder.build(64, 2, input_shape=(1, 8, 8))
    module_copy = pickle.loads(pickle.dumps(module))
    X = torch.rand(3, 64)
    torch.testing.assert_close(module.eval()(X), module_copy.eval()(X))


def test_first_linear_weight_is_none_after_a_convolution():
    # channels=(4,) on 8x8: the dense layer reads 4 * 4 * 4 = 64 feature-map
    # values, as many as there are input columns, but they are not the inputs
    net = ConvNet(channels=(4,), hidden=0).build(64, 3, input_shape=(1, 8, 8))
    assert net.head[-1].in_features == 64
    assert first_linear_weight(net, 64) is None
    assert first_linear_weight(MLP((5,)).build(64, 3), 64) is not None


class _Sized(nn.Module):
    def __init__(self, n_features, n_outputs, input_shape, dropout):
        super().__init__()
        self.input_shape = input_shape
        self.drop = nn.Dropout(dropout)
        self.lin = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.lin(self.drop(X))


def test_build_module_offers_input_shape_to_classes_that_take_it():
    net = _instantiate_module(_Sized, 12, 2, dropout=0.2, input_shape=(3, 2, 2))
    assert net.input_shape == (3, 2, 2) and net.drop.p == 0.2
    # the MLP builder ignores it
    assert isinstance(
        _instantiate_module(MLP((3,)), 12, 2, input_shape=(3, 2, 2)), nn.Sequential
    )
