"""libCacheSim's oracleGeneral binary traces: fixed 24-byte records of object requests.

A record is, little-endian and packed (libCacheSim's oracleGeneralBin.h):
`uint32 real_time, uint64 obj_id, uint32 obj_size, int64 next_access_vtime`.
Each request is a load of object `obj_id` (object traces name objects, not byte
addresses: one object is one page whatever the page size). As in libCacheSim, records
of size 0 are skipped. The file has no magic number: it is recognised by its name
(`*.oracleGeneral*`, as libCacheSim's published traces are named) or `--format`.
A plain file is mapped into memory and its records read in place (no copy of its bytes:
some 20 ms of a 240 MB trace); a compressed one is read through one reused buffer.
"""

from __future__ import annotations

import io
import mmap
import os
import stat
from collections.abc import Iterator
from contextlib import suppress
from typing import BinaryIO, cast

import numpy as np
from numba import njit

from vmsim.errors import TraceFormatError
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
        stream, compression = open_stream(self.input)
        done = 0
        try:
            for rec in self._records(stream, compression is None):
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

    def _records(self, stream: BinaryIO, plain: bool) -> Iterator[np.ndarray]:
        """The records, chunk_refs at a time: views of the file mapped into memory when it
        is a plain regular file (no copy of its bytes), else read into one reused buffer;
        a TraceFormatError after the last whole record if a partial one follows."""
        mapped = _map(stream) if plain else None
        if mapped is None:
            return self._read_records(stream)
        return self._mapped_records(stream, mapped)

    def _read_records(self, stream: BinaryIO) -> Iterator[np.ndarray]:
        """The records read into one reused buffer (a compressed file, a pipe)."""
        size = ORACLE_DTYPE.itemsize
        buf = np.empty(self.chunk_refs, ORACLE_DTYPE)
        records = 0
        while got := _read_into(stream, buf.view(np.uint8)):
            whole = got // size
            if whole:
                yield buf[:whole]
            records += whole
            if got % size:
                raise self._truncated(records + 1)

    def _mapped_records(self, stream: BinaryIO, mapped: mmap.mmap) -> Iterator[np.ndarray]:
        """The records as views of the mapped file; the stream's position follows them (how
        far the reading is, for a progress bar)."""
        size = ORACLE_DTYPE.itemsize
        try:
            whole = len(mapped) // size
            for lo in range(0, whole, self.chunk_refs):
                n = min(self.chunk_refs, whole - lo)
                stream.seek((lo + n) * size)
                yield np.frombuffer(mapped, ORACLE_DTYPE, n, lo * size)
            if len(mapped) % size:
                raise self._truncated(whole + 1)
        finally:
            with suppress(BufferError):  # a record view still held: closed when dropped
                mapped.close()

    def _truncated(self, record: int) -> TraceFormatError:
        """The error for a partial record at this record number."""
        size = ORACLE_DTYPE.itemsize
        return self.error(
            record, "", f"truncated record: the file is not a whole number of {size}-byte records"
        )


def _map(stream: BinaryIO) -> mmap.mmap | None:
    """The whole of a non-empty regular file mapped read-only, or None (a pipe, an empty
    file, or one that cannot be mapped)."""
    try:
        fd = stream.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            return None
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


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
