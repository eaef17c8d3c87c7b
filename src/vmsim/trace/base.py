"""The TraceReader seam and its registry (`FORMATS`, `@register_format`).

A reader turns one file into a stream of `TraceChunk`s: NumPy arrays of bounded size
holding the addresses (uint64), the access kinds (uint8, `vmsim.kinds.AccessKind`)
and, where the format records them, the access sizes (uint32). Memory stays bounded
for traces of any length. Every format registers here under one name with
`@register_format`; `vmsim.trace.formats` (above the readers) loads them, looks them
up and detects a file's format. This module imports no reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np

from vmsim.errors import TraceFormatError
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
