"""The TraceReader seam, its registry, and content-based format detection.

A reader turns one file into a stream of `TraceChunk`s: NumPy arrays of bounded size
holding the addresses (uint64), the access kinds (uint8, `vmsim.kinds.AccessKind`)
and, where the format records them, the access sizes (uint32). Memory stays bounded
for traces of any length. Every format registers here under one name with
`@register_format`; `detect_format` picks the reader from the decompressed content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from vmsim.errors import ConfigError, TraceFormatError
from vmsim.trace.compress import peek
from vmsim.trace.inputs import Input, open_input

CHUNK_REFS = 1 << 20
"""Default number of references per chunk."""


@dataclass
class TraceChunk:
    """A run of consecutive references: parallel arrays of equal length."""

    addresses: np.ndarray
    """uint64 start address of each reference."""
    kinds: np.ndarray
    """uint8 AccessKind of each reference."""
    sizes: np.ndarray | None = None
    """uint32 access size in bytes, or None where the format has no sizes."""

    def __len__(self) -> int:
        return len(self.addresses)


@dataclass
class ReadStats:
    """What a reader saw besides the references: skipped and bad lines."""

    lines: int = 0
    bad_lines: int = 0
    first_bad: str = ""
    """`path:line: text` of the first bad line skipped, if any."""
    skipped: int = 0
    """Lines that are not references by the format's rules (banners, comments, escapes)."""
    extra: dict[str, int] = field(default_factory=dict)


class TraceReader:
    """Base of every trace reader: one file, read once as chunks.

    Contract: `chunks()` yields TraceChunks of at most about `chunk_refs` references
    (formats that parse text blocks may yield somewhat more), in trace order. A
    malformed record raises TraceFormatError(path, line, text) unless `skip_bad`,
    in which case it is counted in `stats.bad_lines`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    has_sizes: bool = False
    """Whether chunks carry access sizes (a reader may learn it from the file)."""
    extensions: ClassVar[tuple[str, ...]] = ()
    name_marks: ClassVar[tuple[str, ...]] = ()
    """Lower-case parts of a file name that identify a format with no magic bytes."""
    object_ids: ClassVar[bool] = False
    """True where the trace names objects, not byte addresses: each id is one page."""

    def __init__(
        self, path: str | Path | Input, *, skip_bad: bool = False, chunk_refs: int = CHUNK_REFS
    ) -> None:
        self.input = open_input(path)
        """Where the bytes come from (a file, or a pipe read once)."""
        self.path = self.input.name
        self.skip_bad = skip_bad
        self.chunk_refs = chunk_refs
        self.stats = ReadStats()

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """Whether `head` (the first decompressed bytes) looks like this format."""
        return False

    def chunks(self) -> Iterator[TraceChunk]:
        """Yield the trace as chunks of references."""
        raise NotImplementedError

    def stored_count(self) -> int | None:
        """The number of references the file says it holds, where it says so cheaply."""
        return None

    def error(self, line: int, text: str | bytes, why: str = "malformed line") -> TraceFormatError:
        """A TraceFormatError for this file."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return TraceFormatError(self.path, line, text.rstrip("\r\n")[:200], why)


R = TypeVar("R", bound=type[TraceReader])

FORMATS: dict[str, type[TraceReader]] = {}
"""The one registry of trace formats: name -> reader class (in detection order)."""


def register_format(name: str, description: str) -> Callable[[R], R]:
    """Class decorator: register a TraceReader under `name`."""

    def deco(cls: R) -> R:
        if name in FORMATS:
            raise ValueError(f"trace format {name!r} registered twice")
        cls.name = name
        cls.description = description
        FORMATS[name] = cls
        return cls

    return deco


def _load_all() -> None:
    """Import every reader module so that each registers itself."""
    from vmsim.trace import csvtrace, din, lackey, npy, oracle, pitt, text, vmt  # noqa: F401


def format_names() -> list[str]:
    """Names of all registered trace formats."""
    _load_all()
    return list(FORMATS)


def reader_class(name: str) -> type[TraceReader]:
    """The reader registered under `name`; ConfigError if none."""
    _load_all()
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError("format", name, f"one of {', '.join(FORMATS)}") from None


DETECT_ORDER = ("vmt", "npy", "lackey", "din", "pitt", "text")
"""Binary formats first (exact magics), then text formats from the most specific."""


def detect_format(path: str | Path | Input) -> str:
    """The name of the format of a file (or Input), from its (decompressed) content."""
    _load_all()
    src = open_input(path)
    lower = Path(src.name).name.lower()
    for name, cls in FORMATS.items():
        if any(mark in lower for mark in cls.name_marks):
            return name
    head = peek(src)
    if not head:
        raise TraceFormatError(src.name, 0, "", "empty trace file")
    for name in DETECT_ORDER:
        if FORMATS[name].sniff(head):
            return name
    first = head.split(b"\n", 1)[0][:80]
    why = "unknown trace format"
    if b"\0" in first or not first.isascii():
        first, why = b"", f"unknown trace format (binary data starting {head[:8].hex(' ')})"
    raise TraceFormatError(src.name, 1 if first else 0, first.decode("utf-8", "replace"), why)


def open_reader(
    path: str | Path | Input, format: str | None = None, *, spool: bool = False, **options: Any
) -> TraceReader:
    """A reader for a path, `-` (stdin) or Input, in `format` (detected when None).

    `spool`: a pipe is copied to a temporary file as it is read, so it can be read again.
    """
    if format and ":" in format:
        format, spec = format.split(":", 1)
        options = {**parse_format_options(format, spec), **options}
    src = open_input(path, spool=spool)
    cls = reader_class(format) if format else reader_class(detect_format(src))
    return cls(src, **options)


def parse_format_options(format: str, spec: str) -> dict[str, str]:
    """The options of a format spec such as `csv:id=2,size=3,header=yes` (after the colon)."""
    out: dict[str, str] = {}
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                "format", f"{format}:{spec}", "options as KEY=VALUE[,KEY=VALUE...], e.g. csv:id=2"
            )
        out[key.strip()] = value.strip()
    return out
