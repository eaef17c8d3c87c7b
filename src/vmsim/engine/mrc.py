"""Miss-ratio curves: exact LRU in one pass, SHARDS sampling, any policy at many sizes.

- Exact LRU: the stack-distance histogram (stackdist.py) gives the misses of every
  frame count from 1 to the number of distinct pages at once.
- SHARDS (Waldspurger et al., FAST 2015), fixed rate: only pages whose hash falls
  below rate * 2**24 are kept; their stack distances, divided by the rate, estimate
  the full trace's. Misses at c frames are estimated as (cold + distances >= c*rate)
  / rate (the SHARDS_adj correction: divide by the expected, not the actual, number
  of sampled references). Memory and time shrink by the rate; the error is small.
- Other policies (OPT, FIFO, ...): one run per size, in parallel worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from vmsim.engine.ids import PageIdMap
from vmsim.engine.prepared import Prepared
from vmsim.engine.simulate import SimResult, simulate_many
from vmsim.engine.stackdist import lru_misses_by_size, stack_distance_hist
from vmsim.errors import ConfigError

HASH_BITS = 24


@dataclass
class MissRatioCurve:
    """Misses of one policy at a list of frame counts."""

    policy: str
    references: int
    sizes: np.ndarray
    """Frame counts, increasing."""
    misses: np.ndarray
    """Misses at each size (float for sampled estimates)."""
    method: str = "exact"
    distinct_pages: int = 0
    sample_rate: float = 1.0

    @property
    def miss_ratios(self) -> np.ndarray:
        """misses / references at each size."""
        return self.misses / self.references if self.references else np.zeros(len(self.sizes))

    def at(self, frames: int) -> float:
        """Misses at `frames`: one of the sizes, or beyond the distinct pages of an exact curve."""
        if (
            self.method == "exact"
            and len(self.sizes)
            and frames > self.sizes[-1] >= self.distinct_pages
        ):
            return float(self.misses[-1])
        i = np.searchsorted(self.sizes, frames)
        if i >= len(self.sizes) or self.sizes[i] != frames:
            raise KeyError(frames)
        return float(self.misses[i])

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the policy, the method and one point per size."""
        return {
            "policy": self.policy,
            "method": self.method,
            "references": self.references,
            "distinct_pages": self.distinct_pages,
            "sample_rate": self.sample_rate,
            "points": [
                {"frames": int(s), "misses": _num(m), "miss_ratio": float(r)}
                for s, m, r in zip(self.sizes, self.misses, self.miss_ratios, strict=True)
            ],
        }


def _num(x: float | int | np.number) -> float | int:
    """An int when the value is whole (exact curves), else a float."""
    return int(x) if float(x).is_integer() else float(x)


def default_sizes(distinct: int, points: int = 24) -> np.ndarray:
    """About `points` frame counts spaced geometrically from 1 to `distinct`."""
    if distinct <= points:
        return np.arange(1, max(distinct, 1) + 1)
    return np.unique(np.geomspace(1, distinct, points).round().astype(np.int64))


def _check_sizes(sizes: Sequence[int] | np.ndarray | None) -> np.ndarray | None:
    """Sorted unique positive sizes, or None."""
    if sizes is None:
        return None
    arr = np.unique(np.asarray(sizes, dtype=np.int64))
    if len(arr) == 0 or arr[0] < 1:
        raise ConfigError("sizes", list(np.asarray(sizes)), "positive frame counts")
    return arr


def lru_curve(prep: Prepared, sizes: Sequence[int] | np.ndarray | None = None) -> MissRatioCurve:
    """The exact LRU curve; all sizes 1..distinct pages unless sizes are given."""
    hist, cold = stack_distance_hist(prep.ids, max(prep.n_ids, 1))
    by_size = lru_misses_by_size(hist, cold)  # index c = frames
    chosen = _check_sizes(sizes)
    if chosen is None:
        chosen = np.arange(1, max(cold, 1) + 1)
    misses = by_size[np.minimum(chosen, len(by_size) - 1)]
    return MissRatioCurve("lru", len(prep), chosen, misses, "exact", cold)


@njit(cache=True, nogil=True)
def _sample_mask(pages: np.ndarray, threshold: int) -> np.ndarray:
    """Which pages SHARDS keeps: splitmix64(page) mod 2**24 < threshold."""
    out = np.empty(len(pages), np.bool_)
    mask = np.uint64((1 << HASH_BITS) - 1)
    for t in range(len(pages)):
        z = np.uint64(pages[t]) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        out[t] = (z & mask) < np.uint64(threshold)
    return out


def shards_curve(
    page_chunks: Iterable[np.ndarray],
    rate: float,
    sizes: Sequence[int] | np.ndarray | None = None,
) -> MissRatioCurve:
    """The SHARDS estimate of the LRU curve from a stream of page chunks."""
    if not 0 < rate <= 1:
        raise ConfigError("rate", rate, "a sampling rate in (0, 1], e.g. 0.01")
    threshold = max(1, round(rate * (1 << HASH_BITS)))
    r = threshold / (1 << HASH_BITS)
    idmap = PageIdMap()
    parts = []
    total = 0
    for pages in page_chunks:
        total += len(pages)
        kept = pages[_sample_mask(np.ascontiguousarray(pages, np.int64), threshold)]
        parts.append(idmap.map(kept))
    ids = np.concatenate(parts) if parts else np.empty(0, np.int32)
    hist, cold = stack_distance_hist(ids, max(idmap.n_ids, 1))
    distinct = max(1, round(cold / r))
    chosen = _check_sizes(sizes)
    if chosen is None:
        chosen = default_sizes(distinct, 64)
    tail = np.concatenate([np.cumsum(hist[::-1])[::-1], [0]])
    idx = np.minimum(np.ceil(chosen * r).astype(np.int64), len(tail) - 1)
    misses = (cold + tail[idx]) / r
    return MissRatioCurve("lru", total, chosen, misses, "shards", distinct, r)


def policy_curve(
    prep: Prepared,
    policy: str,
    sizes: Sequence[int] | np.ndarray | None = None,
    *,
    workers: int | None = None,
    on_done: Callable[[SimResult], None] | None = None,
    **options: Any,
) -> MissRatioCurve:
    """Any policy's curve by one run per size (in parallel workers)."""
    distinct = int(np.count_nonzero(np.bincount(prep.ids))) if len(prep) else 0
    chosen = _check_sizes(sizes)
    if chosen is None:
        chosen = default_sizes(distinct)
    results = simulate_many(
        prep, [policy], chosen.tolist(), workers=workers, on_done=on_done, **options
    )
    misses = np.array([r.misses for r in results], dtype=np.int64)
    return MissRatioCurve(policy, len(prep), chosen, misses, "simulated", distinct)
