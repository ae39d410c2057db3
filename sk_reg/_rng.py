"""Random numbers of a training call, owned by the thread that runs it.

torch has one global generator per device for the whole process. Fits that
run at once in threads of one process (joblib's ``"threading"`` backend, a
Dask worker with ``threads_per_worker > 1``) would take each other's dropout
masks and augmentation draws from it, and reseed it under each other, so
their results would depend on thread scheduling. Here a training call owns
generators seeded from the estimator's seed, and sk_reg's own draws
(:class:`~sk_reg.modules.Dropout`, :mod:`sk_reg.augment`) take them from
:func:`generator`. They are seeded as torch's global generators were, so the
draws, and the fitted weights, are those a fit made from the global ones.

The global generators are still seeded for each call (a custom module's own
``torch.nn.Dropout`` draws from them: reproducible one fit at a time, not
under threads), and building a module seeds them for its initial weights;
both happen under one process-wide lock and restore the caller's state.
"""

from __future__ import annotations

import contextlib
import threading

import torch

#: Held while sk_reg reseeds or restores torch's global generators, so that
#: no thread sees another's seed mid-initialisation.
_GLOBAL_LOCK = threading.RLock()
_local = threading.local()
#: Training calls running now, in any thread, and the global generators'
#: state from before the first of them began (guarded by the lock).
_running = {"calls": 0, "before": None}


def _cuda(device):
    """``device`` as a torch.device when it is a CUDA device, else None."""
    device = torch.device(device)
    return device if device.type == "cuda" else None


def _seed_global(seed, device):
    """Seed torch's CPU generator, and the CUDA one of ``device`` if CUDA.

    What ``torch.manual_seed`` does for the devices training touches, without
    its queue of lazy seeds for every other backend (it formats a stack trace
    for each, twice per fit).
    """
    torch.default_generator.manual_seed(seed)
    cuda = _cuda(device)
    if cuda is not None:
        with torch.cuda.device(cuda):
            torch.cuda.manual_seed(seed)


def _global_state(device):
    cuda = _cuda(device)
    return torch.get_rng_state(), (
        None if cuda is None else (cuda, torch.cuda.get_rng_state(cuda))
    )


def _set_global_state(state):
    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda[1], cuda[0])


@contextlib.contextmanager
def seeded_global(seed, device="cpu"):
    """Run the block with torch's global generators seeded, holding the lock.

    For short blocks whose draws come from the global generators and cannot
    take a generator argument (a module's constructor initialising its
    weights). The caller's generator state is restored afterwards.

    Examples
    --------
    >>> import torch
    >>> from sk_reg._rng import seeded_global
    >>> before = torch.get_rng_state()
    >>> with seeded_global(0):
    ...     a = torch.rand(2)
    >>> with seeded_global(0):
    ...     b = torch.rand(2)
    >>> torch.equal(a, b), torch.equal(torch.get_rng_state(), before)
    (True, True)
    """
    with _GLOBAL_LOCK:
        state = _global_state(device)
        _seed_global(seed, device)
        try:
            yield
        finally:
            _set_global_state(state)


@contextlib.contextmanager
def training_generators(seed, device="cpu"):
    """Give this thread its own generators, seeded with ``seed``, for the block.

    Inside, :func:`generator` returns them (a CPU one, and one for
    ``device`` when it is CUDA). torch's global generators are seeded too and
    restored on exit (once calls in other threads have ended too, to their
    state from before the first began); only the seeding and the restoring
    hold the lock, so training in several threads runs concurrently.

    Examples
    --------
    >>> import torch
    >>> from sk_reg._rng import generator, training_generators
    >>> with training_generators(0):
    ...     a = torch.rand(2, generator=generator("cpu"))
    >>> torch.equal(a, torch.rand(2, generator=torch.Generator().manual_seed(0)))
    True
    >>> generator("cpu") is None
    True
    """
    own = {"cpu": torch.Generator().manual_seed(seed)}
    cuda = _cuda(device)
    if cuda is not None:
        own["cuda"] = torch.Generator(device=cuda).manual_seed(seed)
    with _GLOBAL_LOCK:
        saved = _global_state(device)
        if not _running["calls"]:
            _running["before"] = saved
        _running["calls"] += 1
        _seed_global(seed, device)
    previous = getattr(_local, "generators", None)
    _local.generators = own
    try:
        yield
    finally:
        _local.generators = previous
        with _GLOBAL_LOCK:
            _running["calls"] -= 1
            # Calls in several threads end in any order: the last to end
            # restores the state from before the first began.
            _set_global_state(saved if _running["calls"] else _running["before"])


def generator(device):
    """This thread's generator for tensors on ``device``, or None.

    None (torch's global generator, for any ``generator=`` argument) outside
    :func:`training_generators`, e.g. when an augmentation or a
    :class:`~sk_reg.modules.Dropout` is called directly.

    Examples
    --------
    >>> from sk_reg._rng import generator, training_generators
    >>> with training_generators(0):
    ...     generator("cpu").device
    device(type='cpu')
    """
    own = getattr(_local, "generators", None)
    return None if own is None else own.get(torch.device(device).type)
