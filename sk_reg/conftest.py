import importlib.util

import torch

# Doctests run under one torch thread too (see tests/conftest.py).
torch.set_num_threads(1)

# sk_reg.onnx needs the optional ONNX extra; without it, skip its doctests.
collect_ignore = (
    []
    if all(importlib.util.find_spec(name) for name in ("skl2onnx", "onnxruntime"))
    else ["onnx.py"]
)
