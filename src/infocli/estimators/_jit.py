"""``njit`` with an on-disk cache that degrades gracefully.

numba's ``cache=True`` writes compiled kernels next to the module (``__pycache__``)
or, when that is read-only (a system-wide install), under the user's cache
directory; ``NUMBA_CACHE_DIR`` overrides both. With the cache a fresh process
loads the kernels instead of compiling them (~0.5 s saved per kernel). Where no
location is writable numba refuses ``cache=True`` at decoration time; the kernels
are then compiled in each process, as without a cache, instead of failing.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from numba import njit as _njit


def njit(*args, **kwargs):
    """``numba.njit`` (same arguments); ``cache=True`` falls back to no cache."""
    if args and callable(args[0]):
        return njit(**kwargs)(args[0])

    def decorate(fn):
        try:
            return _njit(*args, **kwargs)(fn)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            if not kwargs.get("cache") or "cache" not in str(exc):
                raise
            return _njit(*args, **{**kwargs, "cache": False})(fn)

    return decorate


@contextmanager
def torch_threads_kept():
    """Within: numba's parallel kernels may run; after, torch's CPU thread count is
    what it was. numba's OpenMP threading layer and torch share one OpenMP
    runtime, and a parallel kernel sets its thread count to numba's, which torch
    then reads as its own: a caller's ``torch.set_num_threads(1)`` became 2
    after one kNN estimate, and a training run after it took other (equally
    valid, differently rounded) steps than the same run without it."""
    torch = sys.modules.get("torch")  # not imported: nothing of the caller's to keep
    before = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        if before is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)
