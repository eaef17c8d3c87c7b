"""The driver shared by the text formats: decompressed blocks in, parsed chunks out.

A text format supplies a Numba kernel that parses the complete lines of one block of
bytes into preallocated arrays. The driver reads the decompressed stream in blocks
(carrying a partial last line over to the next block), keeps exact line numbers, and
turns the first malformed line into a TraceFormatError naming file, line and text
(or, with skip_bad, counts it). Decompression runs in a helper thread so that it
overlaps the parsing (both release the GIL).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import numpy as np
from numba import njit

from vmsim.trace.base import TraceChunk, TraceReader
from vmsim.trace.compress import open_stream

BLOCK = 1 << 22
"""Bytes of decompressed text per block."""
MAX_LINE = 1 << 16
"""A line longer than this is malformed (a binary file read as text, say)."""

HEX = np.full(256, -1, dtype=np.int8)
for _i, _c in enumerate(b"0123456789abcdef"):
    HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    HEX[_c] = 10 + _i

# kernel(buf, end, addrs, kinds, sizes, skip_bad, option)
#   -> (refs, consumed, lines, bad, first_bad_offset, skipped)
Kernel = Callable[..., tuple[int, int, int, int, int, int]]


@njit(cache=True, nogil=True)
def skip_line(buf: np.ndarray, i: int, end: int) -> int:
    """Index just after the newline that ends the line containing i."""
    while i < end and buf[i] != 10:
        i += 1
    return i + 1


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """Decompressed blocks of the stream, read by a helper thread one block ahead.

    A failure of the stream (a TraceFormatError from a corrupt compressed file) is
    raised here, where the bytes stop, so no partial last line is parsed after it.
    """
    q: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
    errors: list[BaseException] = []

    def pump() -> None:
        try:
            while True:
                data = stream.read(BLOCK)
                if not data:
                    break
                q.put(data)
        except Exception as exc:  # handed to the reading thread below
            errors.append(exc)
        finally:
            q.put(None)

    t = threading.Thread(target=pump, name="vmsim-decompress", daemon=True)
    t.start()
    while True:
        data = q.get()
        if data is None:
            break
        yield data
    t.join()
    if errors:
        raise errors[0]


class LineReader(TraceReader):
    """A text trace format parsed by a Numba kernel, block by block."""

    kernel: Kernel
    option: int = 0
    min_line: int = 2
    """No reference line of the format is shorter (newline included): sizes the output
    arrays, which the kernel fills without bounds checks."""

    def chunks(self) -> Iterator[TraceChunk]:
        """Yield the parsed references, one chunk per decompressed block."""
        stream, _ = open_stream(self.input)
        try:
            yield from self._parse(_blocks(stream))
        finally:
            stream.close()

    def _parse(self, blocks: Iterator[bytes]) -> Iterator[TraceChunk]:
        """Parse whole lines of each block; carry the partial last line to the next."""
        carry = b""
        for data in blocks:
            block = carry + data if carry else data
            end = block.rfind(b"\n") + 1
            if end == 0:
                if len(block) > MAX_LINE:
                    raise self.error(self.stats.lines + 1, block[:200], "line too long")
                carry = block
                continue
            carry = block[end:]
            chunk = self._run(block, end)
            if len(chunk):
                yield chunk
        if carry:
            chunk = self._run(carry + b"\n", len(carry) + 1)
            if len(chunk):
                yield chunk

    def _run(self, block: bytes, end: int) -> TraceChunk:
        """Run the kernel over block[:end] (whole lines); raise on a bad line."""
        buf = np.frombuffer(block, dtype=np.uint8)
        cap = end // self.min_line + 1
        addrs = np.empty(cap, dtype=np.uint64)
        kinds = np.empty(cap, dtype=np.uint8)
        sizes = np.empty(cap if self.has_sizes else 0, dtype=np.uint32)
        n, _, lines, bad, first_bad, skipped = type(self).kernel(
            buf, end, addrs, kinds, sizes, self.skip_bad, self.option
        )
        st = self.stats
        if bad and not self.skip_bad:
            text = block[first_bad : block.find(b"\n", first_bad)]
            raise self.error(st.lines + lines + 1, text, self.why(text))
        if bad and st.bad_lines == 0:
            text = block[first_bad : block.find(b"\n", first_bad)]
            line = st.lines + block.count(b"\n", 0, first_bad) + 1
            st.first_bad = f"{self.path}:{line}: {text.decode('utf-8', 'replace')[:200]}"
        st.lines += lines
        st.bad_lines += bad
        st.skipped += skipped
        return TraceChunk(addrs[:n], kinds[:n], sizes[:n] if self.has_sizes else None)

    def why(self, text: bytes) -> str:
        """Why a line is malformed (the format's expected syntax)."""
        return "malformed line"


def read_all(reader: TraceReader) -> dict[str, Any]:
    """All references of a reader concatenated (tests and small traces only)."""
    parts = list(reader.chunks())
    if not parts:
        return {
            "addresses": np.empty(0, np.uint64),
            "kinds": np.empty(0, np.uint8),
            "sizes": np.empty(0, np.uint32) if reader.has_sizes else None,
        }
    sizes = (
        None
        if parts[0].sizes is None
        else np.concatenate([p.sizes for p in parts if p.sizes is not None])
    )
    return {
        "addresses": np.concatenate([p.addresses for p in parts]),
        "kinds": np.concatenate([p.kinds for p in parts]),
        "sizes": sizes,
    }
