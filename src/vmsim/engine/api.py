"""The engine's public API: vmsim.open_trace, vmsim.simulate, vmsim.miss_ratio_curve.

    >>> import vmsim
    >>> t = vmsim.open_trace("gzip_16k.lackey.xz")          # format and compression detected
    >>> vmsim.simulate(t, "lru", 64).misses
    343
    >>> curve = vmsim.miss_ratio_curve(t)                    # exact LRU, every size at once
    >>> int(curve.at(64))
    343

A trace may also be given as a path or as an array of page numbers.
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
from vmsim.errors import ConfigError
from vmsim.trace import Trace

__all__ = ["MissRatioCurve", "SimResult", "miss_ratio_curve", "open_trace", "simulate"]


def open_trace(
    path: str | Path, format: str | None = None, *, skip_bad: bool = False, **options: Any
) -> Trace:
    """Open a trace file; the format (and compression) are detected from the content."""
    return Trace(path, format, skip_bad=skip_bad, **options)


@overload
def simulate(
    trace: TraceLike,
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
    trace: TraceLike,
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
    trace: TraceLike,
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
    seed for random, load_sets_refbit for clock) pass through.
    """
    prep = prepare(trace, PageOptions(page_shift, data_only, split))
    if isinstance(policy, str) and isinstance(frames, int | np.integer):
        return run_one(prep, policy, int(frames), record=record, **options)
    policies = [policy] if isinstance(policy, str) else list(policy)
    sizes = [int(frames)] if isinstance(frames, int | np.integer) else [int(f) for f in frames]
    return simulate_many(prep, policies, sizes, **options)


def miss_ratio_curve(
    trace: TraceLike,
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
    """
    if method == "auto" and policy != "lru":
        method = "simulate"
    if method == "auto" and isinstance(trace, np.ndarray | Prepared):
        method = "exact"  # already in memory
    pages = PageOptions(page_shift, data_only, split)
    if method in ("exact", "shards") and policy != "lru":
        raise ConfigError("method", method, f"only for lru; use method='simulate' for {policy}")
    if method == "exact":
        return lru_curve(prepare(trace, pages), sizes)
    if method == "auto":  # a file: exact up to mrc.AUTO_EXACT_REFS references, then SHARDS
        t = as_trace(trace)  # type: ignore[arg-type]  # (not an array: see above)
        chunks = (p for p, _ in t.page_chunks(page_shift, data_only=data_only, split=split))
        return lru_curve_auto(chunks, rate, sizes)
    if method == "shards":
        if isinstance(trace, np.ndarray):
            return shards_curve([trace], rate, sizes)
        if isinstance(trace, Prepared):
            raise ConfigError(
                "trace", "prepared ids", "SHARDS samples page numbers: give the trace"
            )
        t = as_trace(trace)
        chunks = (p for p, _ in t.page_chunks(page_shift, data_only=data_only, split=split))
        return shards_curve(chunks, rate, sizes)
    if method == "simulate":
        return policy_curve(prepare(trace, pages), policy, sizes, workers=workers, **options)
    raise ConfigError("method", method, "auto, exact, shards or simulate")
