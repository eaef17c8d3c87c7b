"""libCacheSim's oracleGeneral binary traces: fixed 24-byte records of object requests.

A record is, little-endian and packed (libCacheSim's oracleGeneralBin.h):
`uint32 real_time, uint64 obj_id, uint32 obj_size, int64 next_access_vtime`.
Each request is a load of object `obj_id` (object traces name objects, not byte
addresses: one object is one page whatever the page size). As in libCacheSim, records
of size 0 are skipped. The file has no magic number: it is recognised by its name
(`*.oracleGeneral*`, as libCacheSim's published traces are named) or `--format`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vmsim.kinds import LOAD
from vmsim.trace.base import TraceChunk, TraceReader, register_format
from vmsim.trace.compress import open_stream, read_fully

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
        done = 0
        try:
            while True:
                data = read_fully(stream, self.chunk_refs * size)
                if len(data) % size:
                    raise self.error(
                        done + len(data) // size + 1,
                        "",
                        f"truncated record: the file is not a whole number of {size}-byte records",
                    )
                if not data:
                    return
                rec = np.frombuffer(data, dtype=ORACLE_DTYPE)
                done += len(rec)
                self.stats.lines = done
                kept = rec[rec["obj_size"] != 0]
                self.stats.skipped += len(rec) - len(kept)
                if len(kept):
                    yield TraceChunk(
                        kept["obj_id"].copy(),
                        np.full(len(kept), LOAD, np.uint8),
                        kept["obj_size"].copy(),
                    )
        finally:
            stream.close()
