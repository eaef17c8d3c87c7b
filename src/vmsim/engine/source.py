"""What the engine accepts as a trace, and how it becomes dense page ids.

A trace may be a `Trace`, a path (opened with the format detected), an array of
page numbers, or an already `Prepared` trace. `prepare` reads it once into dense
ids (4 bytes a reference), the one whole-trace array the policy kernels, the stack
distances and OPT's next uses all run on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vmsim.engine.ids import dense_ids, ids_of_chunks
from vmsim.engine.prepared import Prepared, write_bits
from vmsim.errors import ConfigError
from vmsim.trace import Trace

TraceLike = Trace | str | Path | np.ndarray | Prepared
"""Anything the engine's functions accept as a trace."""


@dataclass(frozen=True)
class PageOptions:
    """How references become pages: page size, data-only, splitting at page boundaries."""

    page_shift: int = 12
    data_only: bool = False
    split: bool = False


def as_trace(trace: Trace | str | Path, format: str | None = None) -> Trace:
    """A Trace for a path (format detected unless given), or the trace itself."""
    return trace if isinstance(trace, Trace) else Trace(trace, format)


def prepare(
    trace: TraceLike,
    pages: PageOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> Prepared:
    """Dense ids of a trace; `progress(n)` is called after each chunk of n references."""
    if isinstance(trace, Prepared):
        return trace.check()
    if isinstance(trace, np.ndarray):
        if trace.ndim != 1 or trace.dtype.kind not in "iu":
            raise ConfigError(
                "trace", f"array of {trace.dtype}", "a 1-D integer array of page numbers"
            )
        ids, n_ids = dense_ids(trace)
        return Prepared(np.ascontiguousarray(ids), n_ids)
    opts = pages or PageOptions()
    t = as_trace(trace)
    kinds: list[np.ndarray] = []

    def chunks() -> Iterator[np.ndarray]:
        for p, k in t.page_chunks(opts.page_shift, data_only=opts.data_only, split=opts.split):
            if progress is not None:
                progress(len(p))
            kinds.append(k)
            yield p

    ids, n_ids, _ = ids_of_chunks(chunks())
    all_kinds = np.concatenate(kinds) if kinds else np.empty(0, np.uint8)
    return Prepared(ids, n_ids, write_bits(all_kinds, len(ids)))
