"""vmsim's compact binary trace format (.vmt): small on disk, fast to read back.

Layout (all integers little-endian):

    header   8 bytes magic b"VMTRACE\\0", u16 version (1), u16 flags, u32 reserved (0)
             flags bit 0: the trace records access sizes
    blocks   u32 n (references in the block, at most 2**20), u32 m (bytes that follow),
             then m bytes: one zstd frame whose content is, for the n references,
               kinds      n bytes, AccessKind values
               sizes      n LEB128 varints (only with flags bit 0)
               addresses  n LEB128 varints of zigzag(address - previous address of the
                          same class), class 0 = instruction fetches, 1 = data;
                          both previous addresses start at 0 in every block
    end      u32 0, u32 0, then u64 the total number of references; nothing after it

Every block decodes on its own. The end block is what tells a whole file from a cut
one: a file that stops before it (an interrupted or truncated write), or whose count
disagrees, or that goes on after it, is a TraceFormatError naming the file and the
reference where it breaks. Version 1 has always had the end block, so every .vmt
ever written is read. `VmtWriter` given a path writes through `vmsim.output`: an
interrupted or failed recording leaves nothing at the destination.

Instruction addresses advance by the size of the instruction before and data
addresses cluster, so most deltas take one or two bytes before zstd; a lackey trace
shrinks by 30-100x. Decoding is a Numba kernel.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
from numba import njit

from vmsim.kinds import INSTR
from vmsim.output import atomic_output
from vmsim.trace.base import TraceChunk, TraceReader, register_format
from vmsim.trace.compress import open_stream, read_fully
from vmsim.trace.inputs import FileInput, Input

MAGIC = b"VMTRACE\x00"
VERSION = 1
FLAG_SIZES = 1
HEADER = struct.Struct("<8sHHI")
BLOCK_HEAD = struct.Struct("<II")
BLOCK_REFS = 1 << 20
MAX_BLOCK_BYTES = BLOCK_REFS * 16 + (1 << 20)
"""Largest payload a valid writer produces (guards against corrupt lengths)."""


@njit(cache=True, nogil=True)
def _put_varint(out: np.ndarray, j: int, v: np.uint64) -> int:
    """Write v as LEB128 at out[j:]; return the index after it."""
    while v >= np.uint64(0x80):
        out[j] = np.uint8((v & np.uint64(0x7F)) | np.uint64(0x80))
        v >>= np.uint64(7)
        j += 1
    out[j] = np.uint8(v)
    return j + 1


@njit(cache=True, nogil=True)
def encode_block(
    addrs: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, has_sizes: bool
) -> np.ndarray:
    """The uncompressed payload of one block."""
    n = len(addrs)
    out = np.empty(n * 16 + 16, dtype=np.uint8)
    out[:n] = kinds
    j = n
    if has_sizes:
        for t in range(n):
            j = _put_varint(out, j, np.uint64(sizes[t]))
    prev = np.zeros(2, dtype=np.uint64)
    one = np.uint64(1)
    for t in range(n):
        c = 0 if kinds[t] == INSTR else 1
        d = np.int64(addrs[t] - prev[c])
        prev[c] = addrs[t]
        zz = (np.uint64(d) << one) ^ np.uint64(d >> np.int64(63))
        j = _put_varint(out, j, zz)
    return out[:j]


@njit(cache=True, nogil=True)
def decode_block(
    payload: np.ndarray,
    n: int,
    has_sizes: bool,
    addrs: np.ndarray,
    kinds: np.ndarray,
    sizes: np.ndarray,
) -> int:
    """Decode one block's payload into the arrays; return bytes used, or -1 if corrupt.

    The varint loop is written out twice (sizes, addresses) on purpose: a shared
    helper returning (value, index) costs a third of the decoding speed under Numba.
    """
    m = len(payload)
    if m < n:
        return -1
    for t in range(n):
        k = payload[t]
        if k > 3:
            return -1
        kinds[t] = k
    j = n
    if has_sizes:
        for t in range(n):
            v = np.uint64(0)
            shift = np.uint64(0)
            while True:
                if j >= m or shift > np.uint64(28):
                    return -1
                b = payload[j]
                j += 1
                v |= np.uint64(b & 0x7F) << shift
                if b < 0x80:
                    break
                shift += np.uint64(7)
            sizes[t] = np.uint32(v)
    prev0 = np.uint64(0)
    prev1 = np.uint64(0)
    one = np.uint64(1)
    for t in range(n):
        v = np.uint64(0)
        shift = np.uint64(0)
        while True:
            if j >= m or shift > np.uint64(63):
                return -1
            b = payload[j]
            j += 1
            v |= np.uint64(b & 0x7F) << shift
            if b < 0x80:
                break
            shift += np.uint64(7)
        d = (v >> one) ^ (np.uint64(0) - (v & one))
        if kinds[t] == INSTR:
            prev0 += d
            addrs[t] = prev0
        else:
            prev1 += d
            addrs[t] = prev1
    return j


@register_format("vmt", "vmsim compact binary: zstd blocks of delta/zigzag varints")
class VmtReader(TraceReader):
    """Reader of .vmt files, one block per chunk."""

    extensions = (".vmt",)

    def __init__(self, path: str | Path | Input, **options: Any) -> None:
        super().__init__(path, **options)
        stream, _ = open_stream(self.input)
        try:
            self.has_sizes = bool(self._header(stream) & FLAG_SIZES)
        finally:
            stream.close()

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """The .vmt magic."""
        return head.startswith(MAGIC)

    def chunks(self) -> Iterator[TraceChunk]:
        """Yield each block as a chunk; a cut or corrupt file is a TraceFormatError."""
        stream, _ = open_stream(self.input)
        try:
            flags = self._header(stream)
            self.has_sizes = bool(flags & FLAG_SIZES)
            total, offset = 0, HEADER.size
            while True:
                n, data = self._block(stream, total, offset)
                if n == 0:
                    self._check_end(stream, total)
                    return
                chunk = self._decode(data, n, total, offset)
                total += n
                offset += BLOCK_HEAD.size + len(data)
                self.stats.lines = total
                yield chunk
        finally:
            stream.close()

    def stored_count(self) -> int | None:
        """The end block's count of a plain (not compressed) .vmt file; None if unsure."""
        if not isinstance(self.input, FileInput):
            return None
        try:
            with open(self.input.name, "rb") as f:
                head = f.read(len(MAGIC))
                f.seek(-BLOCK_HEAD.size - 8, os.SEEK_END)
                tail = f.read(BLOCK_HEAD.size + 8)
        except OSError:
            return None  # too short to hold an end block: reading says what is wrong
        if head != MAGIC or tail[: BLOCK_HEAD.size] != bytes(BLOCK_HEAD.size):
            return None
        return int(struct.unpack("<Q", tail[BLOCK_HEAD.size :])[0])

    def _block(self, stream: BinaryIO, total: int, offset: int) -> tuple[int, bytes]:
        """The next block: (references, compressed payload); (0, b"") at the end block."""
        where = f"at byte {offset:,}, after {total:,} references"
        head = read_fully(stream, BLOCK_HEAD.size)
        if len(head) < BLOCK_HEAD.size:
            raise self.error(0, "", f"truncated .vmt file: no end block ({where})")
        n, m = BLOCK_HEAD.unpack(head)
        if n == 0:
            if m != 0:
                raise self.error(0, "", f"corrupt .vmt end block ({where})")
            return 0, b""
        if n > BLOCK_REFS or m > MAX_BLOCK_BYTES or m == 0:
            raise self.error(0, "", f"corrupt .vmt block header ({where})")
        data = read_fully(stream, m)
        if len(data) < m:
            raise self.error(0, "", f"truncated .vmt file: cut inside a block ({where})")
        return n, data

    def _header(self, stream: BinaryIO) -> int:
        """Check the file header; return its flags."""
        head = read_fully(stream, HEADER.size)
        if len(head) < HEADER.size:
            raise self.error(0, head, "truncated .vmt header")
        magic, version, flags, _ = HEADER.unpack(head)
        if magic != MAGIC:
            raise self.error(0, head, "not a .vmt file")
        if version != VERSION:
            raise self.error(0, str(version), f"unsupported .vmt version (this reads {VERSION})")
        return int(flags)

    def _decode(self, data: bytes, n: int, before: int, offset: int) -> TraceChunk:
        """Decompress and decode one block of n references."""
        import zstandard

        where = f"at byte {offset:,}, after {before:,} references"
        try:
            raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=n * 16)
        except (zstandard.ZstdError, MemoryError, ValueError) as exc:
            raise self.error(0, "", f"corrupt .vmt block ({where}): {exc}") from None
        payload = np.frombuffer(raw, dtype=np.uint8)
        addrs = np.empty(n, np.uint64)
        kinds = np.empty(n, np.uint8)
        sizes = np.empty(n if self.has_sizes else 0, np.uint32)
        used = decode_block(payload, n, self.has_sizes, addrs, kinds, sizes)
        if used != len(payload):
            raise self.error(0, "", f"corrupt .vmt block payload ({where})")
        return TraceChunk(addrs, kinds, sizes if self.has_sizes else None)

    def _check_end(self, stream: BinaryIO, total: int) -> None:
        """Check the trailer's reference count and that nothing follows it."""
        tail = read_fully(stream, 8)
        if len(tail) < 8:
            raise self.error(0, "", "truncated .vmt file: cut inside the end block")
        count = struct.unpack("<Q", tail)[0]
        if count != total:
            why = f"corrupt .vmt end block: it counts {count:,} references, the blocks hold"
            raise self.error(0, "", f"{why} {total:,}")
        if stream.read(1):
            raise self.error(0, "", "corrupt .vmt file: data after the end block")


class VmtWriter:
    """Stream references into a .vmt file, block by block (memory stays bounded)."""

    def __init__(
        self, path: str | Path | BinaryIO, *, has_sizes: bool = True, level: int = 9
    ) -> None:
        import zstandard

        self._stack = ExitStack()
        if isinstance(path, str | Path):
            self._out: IO[bytes] = self._stack.enter_context(atomic_output(path))
        else:
            self._out = path
        self._cctx = zstandard.ZstdCompressor(level=level)
        self.has_sizes = has_sizes
        self.references = 0
        self._pending: list[TraceChunk] = []
        self._pending_n = 0
        self._out.write(HEADER.pack(MAGIC, VERSION, FLAG_SIZES if has_sizes else 0, 0))

    def write(self, chunk: TraceChunk) -> None:
        """Append a chunk of references."""
        self._pending.append(chunk)
        self._pending_n += len(chunk)
        while self._pending_n >= BLOCK_REFS:
            self._flush(BLOCK_REFS)

    def _flush(self, n: int) -> None:
        """Encode and write the first n pending references as one block."""
        addrs = np.concatenate([c.addresses for c in self._pending])
        kinds = np.concatenate([c.kinds for c in self._pending])
        if self.has_sizes:
            sizes = np.concatenate(
                [
                    c.sizes if c.sizes is not None else np.zeros(len(c), np.uint32)
                    for c in self._pending
                ]
            )
        else:
            sizes = np.empty(len(addrs), np.uint32)
        payload = encode_block(addrs[:n], kinds[:n], sizes[:n], self.has_sizes)
        data = self._cctx.compress(payload.tobytes())
        self._out.write(BLOCK_HEAD.pack(n, len(data)))
        self._out.write(data)
        self.references += n
        rest = len(addrs) - n
        self._pending = (
            [TraceChunk(addrs[n:], kinds[n:], sizes[n:] if self.has_sizes else None)]
            if rest
            else []
        )
        self._pending_n = rest

    def close(self) -> None:
        """Write the last block and the end block; a file we opened is renamed into place."""
        if self._pending_n:
            self._flush(self._pending_n)
        self._out.write(BLOCK_HEAD.pack(0, 0))
        self._out.write(struct.pack("<Q", self.references))
        self._out.flush()
        self._stack.close()

    def abort(self) -> None:
        """Give up: a file we opened is removed (nothing reaches the destination)."""
        err = RuntimeError("VmtWriter aborted")
        self._stack.__exit__(type(err), err, None)

    def __enter__(self) -> VmtWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        """Close on success; abort on any exception (Ctrl-C included): no end block."""
        if exc_type is None:
            self.close()
        else:
            self.abort()
