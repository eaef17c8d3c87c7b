"""Open a trace through its compression, detected from the content, never the name.

gzip (1f 8b), xz (fd 37 7a 58 5a 00) and zstd (28 b5 2f fd) are recognised by their
magic bytes (peeked, never by seeking: pipes work); anything else is read as it is.
`open_stream` returns a binary stream of the decompressed bytes, read in blocks so
memory stays bounded. Whatever goes wrong while decompressing (a corrupt deflate
block, an xz check, an incomplete zstd frame: a truncated file) is a TraceFormatError
naming the file, raised by the stream itself, so every reader gets it for free.
`peek` gives the first decompressed bytes for format detection. On the writing side,
`compressed_writer` wraps an open file and `check_level` validates a --level per codec.
"""

from __future__ import annotations

import gzip
import io
import lzma
import zlib
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from vmsim.errors import ConfigError, TraceFormatError, VmsimError
from vmsim.trace.inputs import Input, open_input

MAGICS: dict[str, bytes] = {
    "gzip": b"\x1f\x8b",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
}
"""Compression name -> the magic bytes its files start with."""

SUFFIXES: dict[str, str] = {".gz": "gzip", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}
"""Output file suffix -> compression used when writing (reading never looks at names)."""

LEVELS: dict[str, tuple[int, int, int]] = {
    "gzip": (0, 9, 6),
    "xz": (0, 9, 6),
    "zstd": (1, 22, 3),
}
"""Compression -> (lowest, highest, default) level."""


def detect_compression(head: bytes) -> str | None:
    """The compression whose magic bytes start `head`, or None for plain content."""
    for name, magic in MAGICS.items():
        if head.startswith(magic):
            return name
    return None


def open_stream(source: str | Path | Input) -> tuple[BinaryIO, str | None]:
    """Open a source for reading its decompressed bytes; return (stream, compression name)."""
    src = open_input(source)
    raw = src.open()
    kind = detect_compression(cast(io.BufferedReader, raw).peek(8)[:8])
    if kind is None:
        return raw, None
    inner: Any
    if kind == "gzip":
        inner = gzip.GzipFile(fileobj=raw, mode="rb")
    elif kind == "xz":
        inner = lzma.LZMAFile(raw, "rb")  # noqa: SIM115 - closed by _Checked
    else:
        inner = _ZstdFrames(raw)
    return cast(BinaryIO, io.BufferedReader(_Checked(inner, raw, src.name, kind))), kind


class _Checked(io.RawIOBase):
    """A decompressing stream whose every failure is a TraceFormatError naming the file."""

    def __init__(self, inner: Any, raw: BinaryIO, name: str, kind: str) -> None:
        self._inner = inner
        self._raw = raw
        self._name = name
        self._kind = kind
        self._out = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill b with decompressed bytes; return how many."""
        try:
            data = self._inner.read(len(b))
        except VmsimError:
            raise
        except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError, MemoryError) as exc:
            raise self._error(exc) from None
        except Exception as exc:  # zstandard.ZstdError
            raise self._error(exc) from None
        b[: len(data)] = data
        self._out += len(data)
        return len(data)

    def _error(self, exc: BaseException) -> TraceFormatError:
        """The error for a failure after self._out good bytes."""
        why = str(exc) or type(exc).__name__
        where = f"after {self._out:,} bytes"
        why = f"cannot decompress ({self._kind}): {why} ({where})"
        return TraceFormatError(self._name, 0, "", why)

    def close(self) -> None:
        """Close the decompressor and the file."""
        try:
            self._inner.close()
        finally:
            self._raw.close()
            super().close()


ZSTD_INPUT = 1 << 15
"""Compressed bytes fed to zstd at once: bounds the output of one call (a hostile file
of 4-byte RLE blocks gives at most 8,192 x 128 KiB = 1 GiB; traces give a few MiB)."""


class _ZstdFrames(io.RawIOBase):
    """zstd frames one after another; input that ends inside a frame is an EOFError."""

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard

        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._in_frame = False
        self._buf = b""

    def readable(self) -> bool:
        """Always readable."""
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to size decompressed bytes (b"" at the end of the last frame)."""
        while not self._buf:
            data = self._raw.read(ZSTD_INPUT)
            if not data:
                if self._in_frame:
                    raise EOFError("the file ends inside a zstd frame (truncated?)")
                return b""
            self._feed(data)
        n = len(self._buf) if size is None or size < 0 else size
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _feed(self, data: bytes) -> None:
        """Decompress data, starting new frames where one ends."""
        while data:
            self._in_frame = True
            self._buf += self._obj.decompress(data)
            if not self._obj.eof:
                return
            data = self._obj.unused_data
            self._obj = self._dctx.decompressobj()
            self._in_frame = False

    def close(self) -> None:
        """Nothing to release beyond the file (closed by _Checked)."""
        super().close()


def read_fully(stream: BinaryIO, size: int) -> bytes:
    """Read exactly `size` bytes unless the stream ends first (decompressors may return less)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def peek(source: str | Path | Input, size: int = 4096) -> bytes:
    """The first `size` bytes of the decompressed content of a source."""
    stream, _ = open_stream(source)
    try:
        return read_fully(stream, size)
    finally:
        stream.close()


def check_level(compression: str | None, level: int | None, what: str) -> int | None:
    """The level to use for a codec (None: its default); ConfigError naming --level if not allowed.

    `what` names the output (for the message when it has no compression at all).
    """
    if level is None:
        return None
    if compression in (None, "none"):
        raise ConfigError(
            "--level", level, f"{what} is not compressed; add .gz, .xz or .zst to compress it"
        )
    lo, hi, _ = LEVELS[compression]
    if not lo <= level <= hi:
        raise ConfigError("--level", level, f"{compression} levels are {lo} to {hi}")
    return level


def compressed_writer(out: IO[bytes], compression: str | None, level: int | None) -> BinaryIO:
    """A stream compressing into the open file `out` (left open when the stream is closed)."""
    if compression in (None, "none"):
        return cast(BinaryIO, out)
    lvl = LEVELS[compression][2] if level is None else level
    if compression == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=out, mode="wb", compresslevel=lvl))
    if compression == "xz":
        return cast(BinaryIO, lzma.LZMAFile(out, "wb", preset=lvl))
    import zstandard

    return cast(BinaryIO, zstandard.ZstdCompressor(level=lvl).stream_writer(out, closefd=False))
