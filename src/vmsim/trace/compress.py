"""Open a trace file through its compression, detected from the content, never the name.

gzip (1f 8b), xz (fd 37 7a 58 5a 00) and zstd (28 b5 2f fd) are recognised by their
magic bytes; anything else is read as it is. `open_stream` returns a binary stream of
the decompressed bytes that is read in blocks, so memory stays bounded; `peek` gives
the first bytes of the decompressed content for format detection.
"""

from __future__ import annotations

import gzip
import io
import lzma
from pathlib import Path
from typing import Any, BinaryIO, cast

from vmsim.errors import ConfigError, TraceFormatError

MAGICS: dict[str, bytes] = {
    "gzip": b"\x1f\x8b",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
}
"""Compression name -> the magic bytes its files start with."""

SUFFIXES: dict[str, str] = {".gz": "gzip", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}
"""Output file suffix -> compression used when writing (reading never looks at names)."""


def detect_compression(head: bytes) -> str | None:
    """The compression whose magic bytes start `head`, or None for plain content."""
    for name, magic in MAGICS.items():
        if head.startswith(magic):
            return name
    return None


def open_stream(path: str | Path) -> tuple[BinaryIO, str | None]:
    """Open `path` for reading its decompressed bytes; return (stream, compression name)."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - the stream is handed to the caller
    except OSError as exc:
        raise TraceFormatError(str(path), 0, "", f"cannot open: {exc.strerror}") from None
    head = raw.read(8)
    raw.seek(0)
    kind = detect_compression(head)
    if kind is None:
        return raw, None
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb"), kind  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(raw, "rb"), kind  # type: ignore[return-value]
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return cast(BinaryIO, _Closing(reader, raw)), kind


class _Closing(io.RawIOBase):
    """A zstd stream reader that also closes the file under it."""

    def __init__(self, reader: Any, raw: BinaryIO) -> None:
        self._reader = reader
        self._raw = raw

    def readable(self) -> bool:
        """Always readable."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to `size` decompressed bytes (all of them for -1)."""
        if size is None or size < 0:
            return self._reader.read()
        return self._reader.read(size)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill `b` with decompressed bytes; return how many."""
        return int(self._reader.readinto(b))

    def close(self) -> None:
        """Close the reader and the file."""
        self._reader.close()
        self._raw.close()
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


def peek(path: str | Path, size: int = 4096) -> bytes:
    """The first `size` bytes of the decompressed content of `path`."""
    stream, _ = open_stream(path)
    try:
        return read_fully(stream, size)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise TraceFormatError(str(path), 0, "", f"cannot decompress: {exc}") from None
    finally:
        stream.close()


def open_output(
    path: str | Path, compression: str | None = None, level: int | None = None
) -> BinaryIO:
    """Open `path` for writing, compressed as named (default: from the suffix; none if unknown).

    A path that cannot be written is a ConfigError naming it.
    """
    try:
        return _open_output(path, compression, level)
    except OSError as exc:
        raise ConfigError("output", str(path), f"cannot write: {exc.strerror or exc}") from None


def _open_output(path: str | Path, compression: str | None, level: int | None) -> BinaryIO:
    """open_output without the error translation."""
    if compression is None:
        compression = SUFFIXES.get(Path(path).suffix.lower())
    if compression in (None, "none"):
        return open(path, "wb")
    if compression == "gzip":
        return gzip.open(path, "wb", compresslevel=level or 6)  # type: ignore[return-value]
    if compression == "xz":
        return lzma.open(path, "wb", preset=level if level is not None else 6)  # type: ignore[return-value]
    import zstandard

    raw = open(path, "wb")  # noqa: SIM115
    cctx = zstandard.ZstdCompressor(level=level or 3)
    return cast(BinaryIO, cctx.stream_writer(raw, closefd=True))
