import torch

# Doctests run under one torch thread too (see tests/conftest.py).
torch.set_num_threads(1)
