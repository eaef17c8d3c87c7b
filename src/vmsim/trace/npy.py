"""NumPy `.npy` traces: a 1-D array of addresses, or a structured array of references.

An integer array holds addresses (each a load). A structured array has a field
`address` (or `addr`) and optionally `kind` (AccessKind values 0-3) and `size`.
The file is read in chunks straight from the (possibly compressed) stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from vmsim.errors import VmsimError
from vmsim.kinds import LOAD
from vmsim.trace.base import TraceChunk, TraceReader, register_format
from vmsim.trace.compress import open_stream, read_fully
from vmsim.trace.inputs import Input

NPY_DTYPE = np.dtype([("address", "<u8"), ("kind", "u1"), ("size", "<u4")])
"""The structured dtype vmsim writes."""


@register_format("npy", "NumPy .npy: integer addresses, or fields address[, kind, size]")
class NpyReader(TraceReader):
    """Reader of .npy arrays, chunk by chunk."""

    extensions = (".npy",)

    def __init__(self, path: str | Path | Input, **options: Any) -> None:
        super().__init__(path, **options)
        stream, _ = open_stream(self.input)
        try:
            self._header(stream)
        finally:
            stream.close()

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """The .npy magic."""
        return head.startswith(b"\x93NUMPY")

    def _header(self, stream: BinaryIO) -> tuple[int, np.dtype]:
        """Read the .npy header: (number of elements, dtype); check the layout."""
        fmt = np.lib.format
        try:
            version = fmt.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(stream)
            else:
                shape, _, dtype = fmt.read_array_header_2_0(stream)
        except VmsimError:
            raise
        except Exception as exc:  # numpy parses the header with ast: SyntaxError, TokenError...
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise self.error(0, "", f"bad .npy header: {why}") from None
        if len(shape) != 1:
            raise self.error(0, str(shape), "a trace .npy must be one-dimensional")
        self._check_dtype(dtype)
        self.has_sizes = "size" in (dtype.names or ())
        return int(shape[0]), dtype

    def _check_dtype(self, dtype: np.dtype) -> None:
        """Integer addresses, or integer fields address|addr[, kind, size]."""
        if dtype.hasobject:
            raise self.error(0, str(dtype), "object arrays are not traces")
        if dtype.names is None:
            if dtype.kind not in "iu" or dtype.shape:
                raise self.error(0, str(dtype), "addresses must be integers")
            return
        if not {"address", "addr"} & set(dtype.names):
            raise self.error(0, str(dtype), "a structured trace needs an 'address' field")
        for name in {"address", "addr", "kind", "size"} & set(dtype.names):
            field = dtype.fields[name][0]  # type: ignore[index]
            if field.kind not in "iu" or field.shape:
                raise self.error(0, str(dtype), f"the field {name!r} must be an integer")

    def chunks(self) -> Iterator[TraceChunk]:
        """Yield the array in chunks of chunk_refs elements."""
        stream, _ = open_stream(self.input)
        try:
            count, dtype = self._header(stream)
            done = 0
            while done < count:
                k = min(self.chunk_refs, count - done)
                data = read_fully(stream, k * dtype.itemsize)
                if len(data) < k * dtype.itemsize:
                    raise self.error(done + len(data) // dtype.itemsize, "", "truncated .npy file")
                arr = np.frombuffer(data, dtype=dtype)
                yield self._convert(arr)
                done += k
                self.stats.lines = done
            if stream.read(1):
                raise self.error(0, "", f"corrupt .npy file: data after its {count:,} elements")
        finally:
            stream.close()

    def _convert(self, arr: np.ndarray) -> TraceChunk:
        """One chunk from a slice of the array; bad kinds raise with their index."""
        if arr.dtype.names is None:
            if arr.dtype.kind == "i" and len(arr) and arr.min() < 0:
                i = int(np.argmax(arr < 0))
                raise self.error(self.stats.lines + i + 1, str(arr[i]), "negative address")
            addrs = arr.astype(np.uint64)
            return TraceChunk(addrs, np.full(len(arr), LOAD, np.uint8))
        field = "address" if "address" in arr.dtype.names else "addr"
        addrs = arr[field].astype(np.uint64)
        if "kind" in arr.dtype.names:
            k = arr["kind"]
            badk = (k < 0) | (k > 3)
            if badk.any():
                i = int(np.argmax(badk))
                raise self.error(self.stats.lines + i + 1, str(k[i]), "kind must be 0-3")
            kinds = k.astype(np.uint8)
        else:
            kinds = np.full(len(arr), LOAD, np.uint8)
        sizes = arr["size"].astype(np.uint32) if "size" in arr.dtype.names else None
        return TraceChunk(addrs, kinds, sizes)


def write_npy(chunks: Iterable[TraceChunk], out: BinaryIO, count: int) -> int:
    """Write `count` references from chunks as a structured .npy; return the number written."""
    np.lib.format.write_array_header_1_0(
        out,
        {
            "descr": np.lib.format.dtype_to_descr(NPY_DTYPE),
            "fortran_order": False,
            "shape": (count,),
        },
    )
    total = 0
    for ch in chunks:
        rec = np.empty(len(ch), NPY_DTYPE)
        rec["address"] = ch.addresses
        rec["kind"] = ch.kinds
        rec["size"] = ch.sizes if ch.sizes is not None else 0
        out.write(rec.tobytes())
        total += len(ch)
    if total != count:
        raise ValueError(f"write_npy: promised {count} references, wrote {total}")
    return total
