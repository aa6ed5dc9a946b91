"""Device handling: checked once at the library edge, resolved lazily.

``auto`` means "the best device for this estimator": estimators that need
torch resolve it to ``cuda`` when CUDA is available and ``cpu`` otherwise;
kd-tree kNN searches run on the CPU without importing torch at all.
"""

from __future__ import annotations

import contextlib
import re

from .errors import DeviceError

_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """Validate a device string; an explicit CUDA device must exist."""
    device = str(device).strip().lower()
    if not _PATTERN.match(device):
        raise DeviceError(f"device {device!r}: expected auto, cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency
            raise DeviceError(f"device {device!r} needs torch, which is not installed") from None
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
            raise DeviceError(
                f"device {device!r} requested but CUDA is not available (torch "
                f"{torch.__version__}, {build}); use --device cpu or --device auto"
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {device!r} requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist"
            )
    return device


def resolve_torch_device(device: str) -> str:
    """Turn ``auto`` into ``cuda`` or ``cpu``; pass explicit devices through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def torch_threads(threads: int):
    """Run the block with ``threads`` torch CPU threads (0: leave torch's setting).

    Small batched products (kernel mixtures, autoencoders, critics) gain little
    from more threads, and on a busy CPU OpenMP spin-waiting makes them many
    times slower, so fitting defaults to one thread."""
    import torch

    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
