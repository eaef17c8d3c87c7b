"""libCacheSim's oracleGeneral binary traces: fixed 24-byte records of object requests.

A record is, little-endian and packed (libCacheSim's oracleGeneralBin.h):
`uint32 real_time, uint64 obj_id, uint32 obj_size, int64 next_access_vtime`.
Each request is a load of object `obj_id` (object traces name objects, not byte
addresses: one object is one page whatever the page size). As in libCacheSim, records
of size 0 are skipped. The file has no magic number: it is recognised by its name
(`*.oracleGeneral*`, as libCacheSim's published traces are named) or `--format`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO, cast

import numpy as np
from numba import njit

from vmsim.kinds import LOAD
from vmsim.trace.base import TraceChunk, TraceReader, register_format
from vmsim.trace.compress import open_stream

ORACLE_DTYPE = np.dtype(
    [("real_time", "<u4"), ("obj_id", "<u8"), ("obj_size", "<u4"), ("next_access_vtime", "<i8")]
)
"""One oracleGeneral record (24 bytes, no padding)."""


@register_format("oracle-general", "libCacheSim oracleGeneral binary (24-byte object requests)")
class OracleGeneralReader(TraceReader):
    """Reader of oracleGeneral records, chunk by chunk."""

    extensions = (".oracleGeneral", ".oracleGeneral.bin")
    name_marks = (".oraclegeneral",)
    object_ids = True
    has_sizes = True

    def chunks(self) -> Iterator[TraceChunk]:
        """Yield the requests as loads of their object ids, with the object sizes."""
        stream, _ = open_stream(self.input)
        size = ORACLE_DTYPE.itemsize
        buf = np.empty(self.chunk_refs, ORACLE_DTYPE)
        done = 0
        try:
            while True:
                got = _read_into(stream, buf.view(np.uint8))
                if got % size:
                    raise self.error(
                        done + got // size + 1,
                        "",
                        f"truncated record: the file is not a whole number of {size}-byte records",
                    )
                if not got:
                    return
                rec = buf[: got // size]
                done += len(rec)
                self.stats.lines = done
                ids = np.empty(len(rec), np.uint64)
                sizes = np.empty(len(rec), np.uint32)
                kept = _columns(rec, ids, sizes)
                self.stats.skipped += len(rec) - kept
                if kept:
                    yield TraceChunk(ids[:kept], np.full(kept, LOAD, np.uint8), sizes[:kept])
        finally:
            stream.close()


@njit(cache=True, nogil=True)
def _columns(rec: np.ndarray, ids: np.ndarray, sizes: np.ndarray) -> int:
    """Copy the object ids and sizes of the records of nonzero size into ids and sizes, in
    one pass (NumPy took one strided copy per column and a test for zero sizes); return
    how many."""
    k = 0
    for i in range(len(rec)):
        s = rec[i].obj_size
        if s != 0:
            ids[k] = rec[i].obj_id
            sizes[k] = s
            k += 1
    return k


def _read_into(stream: BinaryIO, out: np.ndarray) -> int:
    """Fill `out` (bytes) from the stream unless it ends first; return the bytes read."""
    view = memoryview(out.data).cast("B")
    readinto = cast(io.BufferedIOBase, stream).readinto
    got = 0
    while got < len(view):
        n = readinto(view[got:])
        if not n:
            break
        got += n
    return got
