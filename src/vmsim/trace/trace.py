"""A Trace: one source of references (a file in any registered format, or arrays).

`Trace.chunks()` streams TraceChunks; `page_chunks()` streams page numbers for a page
size, optionally data-only or split at page boundaries; `pages()` gathers them into
one array (for the engine's whole-trace passes). Reading a file again re-reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vmsim.errors import ConfigError
from vmsim.kinds import INSTR, LOAD
from vmsim.trace.ahead import read_ahead
from vmsim.trace.base import CHUNK_REFS, ReadStats, TraceChunk
from vmsim.trace.formats import open_reader
from vmsim.trace.inputs import FileInput
from vmsim.trace.pages import to_pages


class Trace:
    """A re-readable stream of memory references.

    `source` is a path, `-` (standard input) or a pipe; a pipe is read once, unless
    opened with `spool=True`, which copies it to a temporary file as it is read.
    """

    def __init__(
        self,
        source: str | Path,
        format: str | None = None,
        *,
        skip_bad: bool = False,
        **options: Any,
    ) -> None:
        self._reader = open_reader(source, format, skip_bad=skip_bad, **options)
        self.path = self._reader.path
        self.format = self._reader.name
        self._arrays: TraceChunk | None = None
        self._read = 0

    @classmethod
    def from_arrays(
        cls,
        addresses: np.ndarray,
        kinds: np.ndarray | None = None,
        sizes: np.ndarray | None = None,
        name: str = "<array>",
    ) -> Trace:
        """A trace held in memory: addresses (and kinds, sizes) as arrays."""
        self = cls.__new__(cls)
        self.path = name
        self.format = "array"
        addrs = np.asarray(addresses)
        if addrs.ndim != 1 or addrs.dtype.kind not in "iu":
            raise ConfigError("addresses", addrs.dtype, "a 1-D integer array")
        k = np.full(len(addrs), LOAD, np.uint8) if kinds is None else np.asarray(kinds, np.uint8)
        s = None if sizes is None else np.asarray(sizes, np.uint32)
        if len(k) != len(addrs) or (s is not None and len(s) != len(addrs)):
            raise ConfigError(
                "kinds", len(k), f"as many kinds and sizes as addresses ({len(addrs)})"
            )
        self._arrays = TraceChunk(addrs.astype(np.uint64, copy=False), k, s)
        self._reader = None  # type: ignore[assignment]
        self._read = 0
        return self

    @property
    def stats(self) -> ReadStats:
        """What the last read saw: lines, bad lines skipped, non-reference lines."""
        return ReadStats() if self._reader is None else self._reader.stats

    @property
    def has_sizes(self) -> bool:
        """Whether references carry access sizes (needed to split at page boundaries)."""
        if self._arrays is not None:
            return self._arrays.sizes is not None
        return bool(self._reader.has_sizes)

    @property
    def object_ids(self) -> bool:
        """Whether the trace names objects (each id one page) rather than byte addresses."""
        return self._reader is not None and self._reader.object_ids

    def chunks(self) -> Iterator[TraceChunk]:
        """Stream the references as chunks."""
        self._read = 0
        for ch in self._chunks():
            self._read += len(ch)
            yield ch

    def _chunks(self) -> Iterator[TraceChunk]:
        """The chunks of the arrays or of the reader."""
        if self._arrays is not None:
            a = self._arrays
            for lo in range(0, len(a), CHUNK_REFS):
                hi = lo + CHUNK_REFS
                yield TraceChunk(
                    a.addresses[lo:hi], a.kinds[lo:hi], None if a.sizes is None else a.sizes[lo:hi]
                )
            return
        self._reader.stats = ReadStats()
        yield from self._reader.chunks()

    def extent(self) -> tuple[int, str] | None:
        """What a pass can be measured against: (references, "references") when the trace
        knows its length (arrays, a .vmt), (bytes, "bytes") for another file, None for a pipe."""
        if self._arrays is not None:
            return len(self._arrays), "references"
        count = self._reader.stored_count()
        if count is not None:
            return count, "references"
        if isinstance(self._reader.input, FileInput):
            return self._reader.input.size, "bytes"
        return None

    def done(self, unit: str = "references") -> int:
        """How far the current pass is: references yielded, or bytes of the file consumed."""
        reader = self._reader
        if unit == "bytes" and reader is not None and isinstance(reader.input, FileInput):
            return reader.input.position()
        return self._read

    def page_chunks(
        self, page_shift: int = 12, *, data_only: bool = False, split: bool = False
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stream (pages int64, kinds uint8) chunks; an object trace's ids are its pages.
        A file's chunks are read ahead on a thread (vmsim.trace.ahead)."""
        check_page_shift(page_shift)
        if self.object_ids:
            page_shift, split = 0, False
        pages = (
            to_pages(ch.addresses, ch.kinds, ch.sizes, page_shift, data_only=data_only, split=split)
            for ch in self.chunks()
        )
        yield from pages if self._arrays is not None else read_ahead(pages)

    def arrays(
        self, *, data_only: bool = False, progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """All (addresses int64, kinds uint8) in two arrays; fetches dropped if data_only.

        `progress(n)` is called after each chunk of n references."""
        parts = []
        for ch in self.chunks():
            parts.append(ch)
            if progress is not None:
                progress(len(ch))
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.uint8)
        addrs = np.concatenate([c.addresses for c in parts]).astype(np.int64)
        kinds = np.concatenate([c.kinds for c in parts])
        if data_only:
            keep = kinds != INSTR
            return addrs[keep], kinds[keep]
        return addrs, kinds

    def pages(
        self, page_shift: int = 12, *, data_only: bool = False, split: bool = False
    ) -> np.ndarray:
        """All page numbers (int64) in one array."""
        parts = [p for p, _ in self.page_chunks(page_shift, data_only=data_only, split=split)]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def __repr__(self) -> str:
        return f"Trace({self.path!r}, format={self.format!r})"


def check_page_shift(page_shift: int) -> None:
    """ConfigError unless 0 <= page_shift <= 40."""
    if not isinstance(page_shift, int) or not 0 <= page_shift <= 40:
        raise ConfigError("page_shift", page_shift, "an integer from 0 to 40 (12 for 4 KiB pages)")
