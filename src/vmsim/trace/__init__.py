"""vmsim.trace: trace readers (lackey, din, text, npy, vmt), recording, synthetic traces.

One registry of formats (`FORMATS`), content-based detection of compression and
format, and chunked streaming of NumPy arrays. See ../shared/DESIGN.md.

The readers' Numba functions (parsers, page splitting) load from Numba's cache without
its compiler registries (vmsim.jitcache), as the engine's kernels do.
"""

from vmsim.jitcache import load_cache_lightly
from vmsim.trace.base import FORMATS, TraceChunk, TraceReader, register_format
from vmsim.trace.formats import detect_format, format_names, open_reader
from vmsim.trace.trace import Trace

load_cache_lightly()

__all__ = [
    "FORMATS",
    "Trace",
    "TraceChunk",
    "TraceReader",
    "detect_format",
    "format_names",
    "open_reader",
    "register_format",
]
