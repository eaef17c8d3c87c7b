"""vmsim.trace: trace readers (lackey, din, text, npy, vmt), recording, synthetic traces.

One registry of formats (`FORMATS`), content-based detection of compression and
format, and chunked streaming of NumPy arrays. See ../shared/DESIGN.md.
"""

from vmsim.trace.base import FORMATS, TraceChunk, TraceReader, register_format
from vmsim.trace.formats import detect_format, format_names, open_reader
from vmsim.trace.trace import Trace

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
