"""Where a trace's bytes come from: a file (read as often as needed) or a pipe, read once.

`open_input(path)` gives an `Input`; each `Input.open()` is a binary stream from the
first byte. A regular file is simply opened again for every pass. A pipe, a FIFO,
`/dev/stdin`, `<(xz -dc t.xz)` or `-` (standard input) cannot be rewound, so
`PipeInput` keeps the first bytes it read (up to `PREFIX_BYTES`: format and
compression detection and a reader's header check look at them again) and streams
the rest once: one-pass commands read a pipe of any length in bounded memory. A
second whole pass needs a copy: with `spool=True` every byte is also copied to an
anonymous temporary file (gone when closed, or when vmsim dies); without it a second
pass beyond the kept prefix is a TraceFormatError that says to save the trace first.
Nothing here seeks, so detection on a pipe sniffs the magic bytes it already read.

A process has one standard input and each pipe can be drained only once, so
`open_input` gives the same PipeInput for the same pipe every time it is named (the
`_PIPES` table, keyed by the pipe's identity): a command that opens its trace again
(several runs over one trace) reads it again from the spool or the kept prefix, or
gets the clear error, never a silently empty trace.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from vmsim.errors import TraceFormatError

STDIN = "-"
"""The name that means standard input."""
STDIN_NAME = "<stdin>"
"""How errors name standard input."""
PREFIX_BYTES = 1 << 20
"""Bytes of a pipe kept in memory for detection and header re-reads."""
PULL_BYTES = 1 << 20
"""Most bytes read from a pipe at once."""


class Input:
    """A source of trace bytes with a name for messages; `open()` starts at byte 0."""

    name: str = ""

    def open(self) -> BinaryIO:
        """A binary stream of the bytes from the first one (a BufferedReader)."""
        raise NotImplementedError

    @property
    def is_pipe(self) -> bool:
        """Whether the bytes can be read only once (without a spool)."""
        return False


class FileInput(Input):
    """A regular file: every open reads it from the start."""

    def __init__(self, path: str) -> None:
        self.name = path
        self._last: BinaryIO | None = None

    def open(self) -> BinaryIO:
        """Open the file; a TraceFormatError naming it if it cannot be."""
        try:
            self._last = open(self.name, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise TraceFormatError(self.name, 0, "", f"cannot open: {exc.strerror}") from None
        return self._last

    @property
    def size(self) -> int:
        """The file's size in bytes now."""
        return os.stat(self.name).st_size

    def position(self) -> int:
        """Bytes of the file consumed by the stream opened last (compressed bytes, if it is)."""
        if self._last is None:
            return 0
        try:
            return self._last.tell()
        except (OSError, ValueError):  # closed: it was read through
            return self.size


class PipeInput(Input):
    """A stream that can be read once: its prefix kept, the rest spooled or streamed once."""

    def __init__(self, name: str, opener: Callable[[], IO[bytes]], *, spool: bool = False) -> None:
        self.name = name
        self._opener = opener
        self._pipe: IO[bytes] | None = None
        self._kept = bytearray()
        self._pulled = 0
        self._eof = False
        self._spool = tempfile.TemporaryFile(prefix="vmsim-spool-") if spool else None  # noqa: SIM115
        self._lock = threading.Lock()

    @property
    def is_pipe(self) -> bool:
        """True: a second pass needs the spool (or a trace that fits in the prefix)."""
        return True

    def open(self) -> BinaryIO:
        """A stream from byte 0: kept prefix, then spool or pipe."""
        return io.BufferedReader(_Replay(self), buffer_size=1 << 16)

    def read_at(self, pos: int, n: int) -> bytes:
        """Up to n bytes at offset pos (b"" at the end); a clear error if they are gone."""
        with self._lock:
            if pos < len(self._kept):
                return bytes(self._kept[pos : pos + n])
            if pos < self._pulled and self._spool is not None:
                return os.pread(self._spool.fileno(), n, pos)
            if pos == self._pulled:
                return self._pull(n)
        raise TraceFormatError(
            self.name,
            0,
            "",
            "a pipe can be read only once and this needs a second pass over the trace: "
            "save it to a file first",
        )

    def _pull(self, n: int) -> bytes:
        """The next bytes from the pipe (opened at first use), kept and spooled."""
        if self._eof:
            return b""
        if self._pipe is None:
            try:
                self._pipe = self._opener()
            except OSError as exc:
                raise TraceFormatError(self.name, 0, "", f"cannot open: {exc.strerror}") from None
        try:
            data = self._pipe.read(min(max(n, 1), PULL_BYTES))
        except OSError as exc:
            raise TraceFormatError(self.name, 0, "", f"cannot read: {exc.strerror}") from None
        if not data:
            self._eof = True
            return b""
        if self._pulled == len(self._kept) and len(self._kept) < PREFIX_BYTES:
            self._kept += data[: PREFIX_BYTES - len(self._kept)]
        if self._spool is not None:
            os.pwrite(self._spool.fileno(), data, self._pulled)
        self._pulled += len(data)
        return data

    def want_spool(self) -> None:
        """Spool from now on, if no byte has been lost yet (else a second pass stays an error)."""
        with self._lock:
            if self._spool is None and self._pulled == len(self._kept):
                self._spool = tempfile.TemporaryFile(prefix="vmsim-spool-")  # noqa: SIM115
                os.pwrite(self._spool.fileno(), bytes(self._kept), 0)

    def close(self) -> None:
        """Drop the spool (the pipe itself belongs to whoever opened it)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class _Replay(io.RawIOBase):
    """One pass over a PipeInput from byte 0."""

    def __init__(self, src: PipeInput) -> None:
        self._src = src
        self._pos = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill b from the current offset; return how many bytes."""
        data = self._src.read_at(self._pos, len(b))
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)


_PIPES: dict[object, tuple[object, PipeInput]] = {}
"""Every pipe opened in this process, by identity -> (what keeps the identity alive, Input)."""


def open_input(source: str | Path | Input, *, spool: bool = False) -> Input:
    """The Input for a path, `-` (standard input) or an Input; a clear error if there is none.

    `spool`: a pipe is copied to a temporary file as it is read, so it can be read again.
    """
    if isinstance(source, Input):
        return source
    name = os.fspath(source)
    if name == STDIN:
        stdin = sys.stdin.buffer
        return _pipe(("stdin", id(stdin)), stdin, STDIN_NAME, lambda: stdin, spool)
    try:
        st = os.stat(name)
    except OSError as exc:
        why = "no such file" if exc.errno == errno.ENOENT else f"cannot open: {exc.strerror}"
        raise TraceFormatError(name, 0, "", why) from None
    if stat.S_ISDIR(st.st_mode):
        raise TraceFormatError(name, 0, "", "is a directory, not a trace file")
    if stat.S_ISREG(st.st_mode):
        return FileInput(name)
    return _pipe((st.st_dev, st.st_ino), None, name, lambda: open(name, "rb"), spool)


def _pipe(
    key: object, keep: object, name: str, opener: Callable[[], IO[bytes]], spool: bool
) -> PipeInput:
    """The PipeInput already opened for this pipe, else a new one (registered)."""
    hit = _PIPES.get(key)
    if hit is None:
        pipe = PipeInput(name, opener, spool=spool)
        _PIPES[key] = (keep, pipe)
        return pipe
    if spool:
        hit[1].want_spool()
    return hit[1]
