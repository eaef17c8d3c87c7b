"""vmsim: a virtual-memory system you can run, look inside and measure."""

from __future__ import annotations

from vmsim.config import MachineConfig, format_size, parse_size
from vmsim.errors import (
    BadAlloc,
    BusError,
    ConfigError,
    HeapCorruption,
    KernelPanic,
    OutOfMemory,
    ProcessKilled,
    SegmentationFault,
    TraceFormatError,
    VmsimError,
)

__version__ = "0.1.0"

# Heavy parts (NumPy, Numba) load on first use: `import vmsim` stays fast.
_LAZY = {
    "Machine": "vmsim.machine",
    "Process": "vmsim.machine",
    "Wait": "vmsim.kernel.sched",
    "open_trace": "vmsim.engine.api",
    "simulate": "vmsim.engine.api",
    "miss_ratio_curve": "vmsim.engine.api",
    "sweep": "vmsim.engine.sweep",
}


def __dir__() -> list[str]:
    """The public API (every name of __all__, the lazily loaded ones included)."""
    return sorted(__all__)


def __getattr__(name: str) -> object:
    """Load a lazily exported name (see _LAZY) on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vmsim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    *_LAZY,
    "BadAlloc",
    "BusError",
    "ConfigError",
    "HeapCorruption",
    "KernelPanic",
    "MachineConfig",
    "OutOfMemory",
    "ProcessKilled",
    "SegmentationFault",
    "TraceFormatError",
    "VmsimError",
    "__version__",
    "format_size",
    "parse_size",
]
