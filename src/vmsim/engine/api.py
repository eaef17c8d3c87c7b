"""The engine's public API: vmsim.open_trace, vmsim.simulate, vmsim.miss_ratio_curve.

    >>> import vmsim
    >>> t = vmsim.open_trace("gzip_16k.lackey.xz")          # format and compression detected
    >>> vmsim.simulate(t, "lru", 64).misses
    343
    >>> curve = vmsim.miss_ratio_curve(t)                    # exact LRU, every size at once
    >>> int(curve.at(64))
    343

A trace may also be given as a path, or as an array or list of page numbers (not
addresses: open_trace a file, or build vmsim.trace.Trace.from_arrays(addresses, kinds)
for addresses). Frame counts are ints or lists of ints; anything else is a ConfigError.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from vmsim.engine.mrc import (
    MissRatioCurve,
    lru_curve,
    lru_curve_auto,
    policy_curve,
    shards_curve,
)
from vmsim.engine.prepared import Prepared
from vmsim.engine.simulate import SimResult, run_one, simulate_many
from vmsim.engine.source import PageOptions, TraceLike, as_trace, prepare
from vmsim.engine.stream import hold, lru_curve_trace
from vmsim.errors import ConfigError
from vmsim.trace import Trace

TraceArg = TraceLike | Sequence[int]
"""What the API takes as a trace: a Trace, a path, an array or a list of page numbers."""

__all__ = ["MissRatioCurve", "SimResult", "miss_ratio_curve", "open_trace", "simulate"]


def open_trace(
    path: str | Path, format: str | None = None, *, skip_bad: bool = False, **options: Any
) -> Trace:
    """Open a trace file; the format (and compression) are detected from the content."""
    return Trace(path, format, skip_bad=skip_bad, **options)


@overload
def simulate(
    trace: TraceArg,
    policy: str = ...,
    frames: int = ...,
    *,
    page_shift: int = ...,
    data_only: bool = ...,
    split: bool = ...,
    record: bool = ...,
    **options: Any,
) -> SimResult: ...


@overload
def simulate(
    trace: TraceArg,
    policy: Sequence[str],
    frames: int | Sequence[int] = ...,
    *,
    page_shift: int = ...,
    data_only: bool = ...,
    split: bool = ...,
    record: bool = ...,
    **options: Any,
) -> list[SimResult]: ...


def simulate(
    trace: TraceArg,
    policy: str | Sequence[str] = "lru",
    frames: int | Sequence[int] = 64,
    *,
    page_shift: int = 12,
    data_only: bool = False,
    split: bool = False,
    record: bool = False,
    **options: Any,
) -> SimResult | list[SimResult]:
    """Misses of `policy` with `frames` frames on `trace` (lists of either: every pair).

    page_shift: page = address >> page_shift. data_only drops instruction fetches;
    split makes a reference crossing a page boundary count on every page it touches;
    record keeps the per-reference miss flags (single runs). Policy options (e.g.
    seed for random, load_sets_refbit for clock) pass through. A trace file longer than
    engine.stream.STREAM_REFS references (or a pipe) is streamed: memory stays
    proportional to its distinct pages (record then is not available).
    """
    policies = _names(policy)
    sizes = _counts(frames, "frames")
    single = isinstance(policy, str) and _is_count(frames)
    tr = _trace(trace)
    pages = PageOptions(page_shift, data_only, split)
    if isinstance(tr, Trace | str | Path) and not record:  # a file: streamed if too long
        held = hold(as_trace(tr), pages)
        if not held.complete:
            results = held.simulate(policies, sizes, **options)
            return results[0] if single else results
        tr = held.prepared()
    prep = prepare(tr, pages)
    if single:
        return run_one(prep, policies[0], sizes[0], record=record, **options)
    return simulate_many(prep, policies, sizes, **options)


def _is_count(x: object) -> bool:
    """An int (not a bool), NumPy's included."""
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _counts(value: object, name: str) -> list[int]:
    """A positive int or a list/tuple/array of them, as a list; ConfigError otherwise."""
    if _is_count(value):
        items: list[object] = [value]
    elif isinstance(value, list | tuple | range) or (
        isinstance(value, np.ndarray) and value.ndim == 1
    ):
        items = list(value)
    else:
        raise ConfigError(name, value, "an int or a list of ints (e.g. 64 or [16, 64, 256])")
    for v in items:
        if not _is_count(v) or int(v) < 1:  # type: ignore[call-overload]
            raise ConfigError(name, v, "positive whole numbers (int), e.g. 64 or [16, 64, 256]")
    if not items:
        raise ConfigError(name, value, "at least one count")
    return [int(v) for v in items]  # type: ignore[call-overload]


def _names(policy: object) -> list[str]:
    """A policy name or a list of them, lower-cased; ConfigError otherwise."""
    items = [policy] if isinstance(policy, str) else policy
    if (
        not isinstance(items, list | tuple)
        or not items
        or not all(isinstance(p, str) for p in items)
    ):
        raise ConfigError("policy", policy, "a policy name or a list of names, e.g. 'lru'")
    return [p.lower() for p in items]


def _trace(trace: object) -> TraceLike:
    """A trace as the engine takes it: a list or tuple of page numbers becomes an array."""
    if isinstance(trace, list | tuple):
        arr = np.asarray(trace)
        if arr.ndim != 1 or (len(arr) and arr.dtype.kind not in "iu"):
            raise ConfigError("trace", f"{type(trace).__name__} of {arr.dtype}",
                              "a list of page numbers (ints)")  # fmt: skip
        return arr.astype(np.int64)
    if not isinstance(trace, Trace | str | Path | np.ndarray | Prepared):
        raise ConfigError("trace", type(trace).__name__,
                          "a Trace, a path, or an array or list of page numbers")  # fmt: skip
    return trace


def miss_ratio_curve(
    trace: TraceArg,
    policy: str = "lru",
    sizes: Sequence[int] | np.ndarray | None = None,
    *,
    method: str = "auto",
    rate: float = 0.01,
    page_shift: int = 12,
    data_only: bool = False,
    split: bool = False,
    workers: int | None = None,
    **options: Any,
) -> MissRatioCurve:
    """Misses of `policy` at many frame counts (default: every size for LRU, ~24 others).

    method: "exact" (LRU by stack distances), "shards" (LRU sampled at `rate`),
    "simulate" (one run per size, in parallel), or "auto" (for LRU, exact for traces of
    up to mrc.AUTO_EXACT_REFS references, else SHARDS; for other policies, simulate).
    workers: threads (default: one per CPU) for the runs of "simulate" and for the exact
    pass over a trace held in memory (a streamed one runs in one).
    """
    names = _names(policy)
    if len(names) != 1:
        raise ConfigError("policy", policy, "one policy per curve")
    policy = names[0]
    if sizes is not None:
        sizes = _counts(sizes, "sizes")
    tr = _trace(trace)
    if method == "auto" and policy != "lru":
        method = "simulate"
    if method == "auto" and isinstance(tr, np.ndarray | Prepared):
        method = "exact"  # already in memory
    pages = PageOptions(page_shift, data_only, split)
    if method in ("exact", "shards") and policy != "lru":
        raise ConfigError("method", method, f"only for lru; use method='simulate' for {policy}")
    if method == "exact":
        if isinstance(tr, Trace | str | Path):  # streamed if too long
            return lru_curve_trace(as_trace(tr), sizes, pages, workers=workers)
        return lru_curve(prepare(tr, pages), sizes, workers=workers)
    if method == "auto":  # a file: exact up to mrc.AUTO_EXACT_REFS references, then SHARDS
        t = as_trace(tr)  # type: ignore[arg-type]  # (not an array: see above)
        chunks = (p for p, _ in t.page_chunks(page_shift, data_only=data_only, split=split))
        return lru_curve_auto(chunks, rate, sizes, workers=workers)
    if method == "shards":
        if isinstance(tr, np.ndarray):
            return shards_curve([tr], rate, sizes)
        if isinstance(tr, Prepared):
            raise ConfigError(
                "trace", "prepared ids", "SHARDS samples page numbers: give the trace"
            )
        t = as_trace(tr)
        chunks = (p for p, _ in t.page_chunks(page_shift, data_only=data_only, split=split))
        return shards_curve(chunks, rate, sizes)
    if method == "simulate":
        return policy_curve(prepare(tr, pages), policy, sizes, workers=workers, **options)
    raise ConfigError("method", method, "auto, exact, shards or simulate")
