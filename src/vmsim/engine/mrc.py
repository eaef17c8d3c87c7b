"""Miss-ratio curves: exact LRU in one pass, SHARDS sampling, any policy at many sizes.

- Exact LRU: the stack-distance histogram (stackdist.py) gives the misses of every
  frame count from 1 to the number of distinct pages at once.
- SHARDS (Waldspurger et al., FAST 2015), fixed rate R: only pages whose hash falls
  below R * 2**24 are kept; their stack distances, divided by R, estimate the full
  trace's. A sampled reuse at sampled distance d (other sampled pages in between)
  stands for a true distance of about d / R, so it hits in c frames when d < c * R.
  SHARDS_adj (the paper's section 3.3) adds the difference between the expected
  number of sampled references, N * R, and the actual one to the first histogram
  bucket (distance 0, a hit at every size), so the miss ratio at c frames is
  (cold + sampled references at d >= ceil(c * R)) / (N * R). The sample resolves
  no size below 1 / R frames (every sampled distance 0 covers true distances 0 to
  about 1 / R): such sizes are left out of the curve and listed as below_resolution.
  The distinct pages are estimated as sampled distinct pages / R, and the sample's
  size is reported with them.
- `auto` for LRU: exact while the trace has at most AUTO_EXACT_REFS references (read
  once; past that, the pages read so far and the rest go to SHARDS).
- Other policies (OPT, FIFO, ...): one run per size, in parallel worker processes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numba import njit

from vmsim.engine.ids import PageIdMap
from vmsim.engine.prepared import Prepared
from vmsim.engine.simulate import SimResult, simulate_many
from vmsim.engine.stackdist import lru_misses_by_size, stack_distance_hist
from vmsim.errors import ConfigError

HASH_BITS = 24

AUTO_EXACT_REFS = 50_000_000
"""`auto` computes the exact LRU curve for traces up to this many references. Exact
costs about 36 ns and, while reading, 8 bytes per reference (the page numbers, then
4-byte ids): 50 M references take about 2 s and 400 MB, affordable on any machine this
runs on, and exact has no sampling error (at small sizes, or on small footprints, SHARDS
has little to sample). Longer traces go to SHARDS, whose memory is the sample's."""

MIN_SAMPLED_PAGES = 100
"""Below this many sampled pages, a SHARDS curve comes with a warning (see notes())."""


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
    """Distinct pages of the trace; for SHARDS an estimate, sampled_pages / sample_rate."""
    sample_rate: float = 1.0
    sampled_pages: int = 0
    """SHARDS: distinct pages in the sample (the estimate's basis); 0 for other methods."""
    sampled_references: int = 0
    """SHARDS: references in the sample (expected: references * sample_rate)."""
    below_resolution: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """SHARDS: requested sizes below the resolution, which the sample cannot resolve (left
    out of sizes)."""
    resolution: int = 1
    """The smallest frame count the curve resolves: 1, or ceil(1 / rate) for SHARDS."""

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

    def subset(self, sizes: np.ndarray) -> MissRatioCurve:
        """The curve at those of `sizes` it has (the nearest larger size for the others)."""
        idx = np.unique(np.minimum(np.searchsorted(self.sizes, sizes), len(self.sizes) - 1))
        return replace(self, sizes=self.sizes[idx], misses=self.misses[idx])

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the policy, the method and one point per size (plus SHARDS' sample)."""
        out: dict[str, Any] = {
            "policy": self.policy,
            "method": self.method,
            "references": self.references,
            "distinct_pages": self.distinct_pages,
            "distinct_pages_estimated": self.method == "shards",
            "sample_rate": self.sample_rate,
        }
        if self.method == "shards":
            out["sampled_pages"] = self.sampled_pages
            out["sampled_references"] = self.sampled_references
            out["resolution_frames"] = self.resolution
            out["below_resolution"] = [int(s) for s in self.below_resolution]
        out["points"] = [
            {"frames": int(s), "misses": _num(m), "miss_ratio": float(r)}
            for s, m, r in zip(self.sizes, self.misses, self.miss_ratios, strict=True)
        ]
        return out

    def notes(self) -> list[str]:
        """What a reader of the curve must know: the sample behind a SHARDS estimate."""
        if self.method != "shards":
            return []
        out = [
            f"SHARDS at rate {self.sample_rate:g}: {self.sampled_pages:,} sampled pages and"
            f" {self.sampled_references:,} sampled references; distinct pages estimated as"
            f" {self.sampled_pages:,} / {self.sample_rate:g} = {self.distinct_pages:,}",
            f"sizes below {self.resolution:,} frames (1 / rate) cannot be resolved by the sample",
        ]
        if len(self.below_resolution):
            sizes = ", ".join(f"{int(s):,}" for s in self.below_resolution)
            out[-1] += f": left out ({sizes}); use --method exact or a higher --rate"
        if self.sampled_pages < MIN_SAMPLED_PAGES:
            out.append(
                f"only {self.sampled_pages} pages sampled (fewer than {MIN_SAMPLED_PAGES}):"
                " the estimate is rough; use --method exact or a higher --rate"
            )
        return out


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


def lru_curve(
    prep: Prepared,
    sizes: Sequence[int] | np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> MissRatioCurve:
    """The exact LRU curve; all sizes 1..distinct pages unless sizes are given.

    progress(n), if given, is told of the references done as the pass goes; workers:
    threads for the pass (default: one per CPU).
    """
    hist, cold = stack_distance_hist(prep.ids, max(prep.n_ids, 1), progress, workers)
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
    *,
    adjust: bool = True,
) -> MissRatioCurve:
    """The SHARDS estimate of the LRU curve from a stream of page chunks.

    adjust: SHARDS_adj (the default; see the module docstring); False gives plain SHARDS,
    which divides by the actual number of sampled references instead.
    """
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
    hist = hist.astype(np.float64)
    if adjust:  # SHARDS_adj: the expected minus the actual sampled references, as hits
        hist[0] += total * r - len(ids)
    denominator = total * r if adjust else max(len(ids), 1)
    distinct = round(cold / r)
    resolution = int(np.ceil(1 / rate - 1e-9))
    chosen = _check_sizes(sizes)
    if chosen is None:
        chosen = default_sizes(max(distinct, 1), 64)
    below = chosen[chosen < resolution]
    chosen = chosen[chosen >= resolution]
    tail = np.concatenate([np.cumsum(hist[::-1])[::-1], [0.0]])
    idx = np.minimum(np.ceil(chosen * r - 1e-4).astype(np.int64), len(tail) - 1)
    ratios = np.clip((cold + tail[idx]) / denominator, 0.0, 1.0) if total else tail[idx] * 0
    return MissRatioCurve(
        "lru",
        total,
        chosen,
        ratios * total,
        "shards",
        distinct,
        r,
        cold,
        len(ids),
        below,
        resolution,
    )


def lru_curve_auto(
    page_chunks: Iterable[np.ndarray],
    rate: float,
    sizes: Sequence[int] | np.ndarray | None = None,
    limit: int = AUTO_EXACT_REFS,
    workers: int | None = None,
) -> MissRatioCurve:
    """`auto` for LRU: the exact curve if the trace has at most `limit` references, else
    SHARDS at `rate` (the pages read so far are sampled first; the trace is read once);
    workers: the exact pass's threads."""
    held: list[np.ndarray] = []
    count = 0
    it = iter(page_chunks)
    for pages in it:
        held.append(np.asarray(pages))
        count += len(pages)
        if count > limit:
            return shards_curve(itertools.chain(held, it), rate, sizes)
    prep = Prepared.from_pages(np.concatenate(held) if held else np.empty(0, np.int64))
    return lru_curve(prep, sizes, workers=workers)


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
