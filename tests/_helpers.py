"""Helpers shared by several test modules."""

import torch


def assert_same_tree(a, b):
    """Nested dicts/lists/tuples of tensors and plain values are equal exactly."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_tree(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, z in zip(a, b, strict=True):
            assert_same_tree(x, z)
    else:
        assert a == b
