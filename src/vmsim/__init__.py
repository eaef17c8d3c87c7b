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

__all__ = [
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
