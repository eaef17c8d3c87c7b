"""A TLB model on a trace: one or two levels, set-associative LRU, any page size.

Each level has `entries` entries in `entries / ways` sets (ways 0: fully
associative, one set). A reference looks up its virtual page number (address >>
log2(page size)) in L1; an L1 miss looks in L2 (if any) and fills L1; an L2 miss
(or an L1 miss without L2) is a page-table walk that fills both (inclusive). Each
set is kept in LRU order, most recent first, so hits on hot pages stop the scan
early; a fully associative level scans all its entries on a miss, which is fine
for the tens of entries such levels have. TLB reach = entries x page size.
The trace streams through in chunks: memory is the size of the TLB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from vmsim.config import format_size
from vmsim.errors import ConfigError

PAGE_SIZES = {"4KiB": 1 << 12, "2MiB": 1 << 21, "1GiB": 1 << 30}
"""The x86-64 page sizes (other powers of two from 4 KiB to 1 GiB are accepted too)."""


@dataclass(frozen=True)
class TlbLevel:
    """One TLB level: entries, ways (0 = fully associative)."""

    entries: int
    ways: int = 0

    def __post_init__(self) -> None:
        if self.entries < 1:
            raise ConfigError("tlb entries", self.entries, "at least 1")
        if self.ways < 0 or (self.ways and self.entries % self.ways):
            raise ConfigError(
                "tlb ways", self.ways, f"0 (fully associative) or a divisor of {self.entries}"
            )

    @property
    def sets(self) -> int:
        """Number of sets."""
        return 1 if self.ways == 0 else self.entries // self.ways

    @property
    def assoc(self) -> int:
        """Entries per set."""
        return self.entries if self.ways == 0 else self.ways


@dataclass(frozen=True)
class TlbConfig:
    """A TLB: L1, optional L2, page size in bytes."""

    l1: TlbLevel
    l2: TlbLevel | None = None
    page_size: int = 4096

    def __post_init__(self) -> None:
        ps = self.page_size
        if ps < 4096 or ps > (1 << 30) or ps & (ps - 1):
            raise ConfigError(
                "page_size", ps, "a power of two from 4KiB to 1GiB (4KiB, 2MiB, 1GiB)"
            )

    @property
    def page_shift(self) -> int:
        """log2 of the page size."""
        return self.page_size.bit_length() - 1


@dataclass
class TlbResult:
    """TLB misses per level and reach."""

    config: TlbConfig
    references: int
    l1_misses: int
    l2_misses: int | None
    """L2 misses (page walks) when there is an L2."""

    @property
    def walks(self) -> int:
        """Page-table walks: misses of the last level."""
        return self.l2_misses if self.l2_misses is not None else self.l1_misses

    def reach(self, level: int = 1) -> int:
        """Bytes of memory the level maps at once."""
        lv = self.config.l1 if level == 1 else self.config.l2
        return 0 if lv is None else lv.entries * self.config.page_size

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        c = self.config
        out: dict[str, Any] = {
            "page_size": c.page_size,
            "references": self.references,
            "l1": {
                "entries": c.l1.entries,
                "ways": c.l1.ways,
                "misses": self.l1_misses,
                "miss_ratio": self.l1_misses / self.references if self.references else 0.0,
                "reach": self.reach(1),
                "reach_human": format_size(self.reach(1)),
            },
            "walks": self.walks,
        }
        if c.l2 is not None and self.l2_misses is not None:
            out["l2"] = {
                "entries": c.l2.entries,
                "ways": c.l2.ways,
                "misses": self.l2_misses,
                "local_miss_ratio": self.l2_misses / self.l1_misses if self.l1_misses else 0.0,
                "reach": self.reach(2),
                "reach_human": format_size(self.reach(2)),
            }
        return out


@njit(cache=True, nogil=True)
def _lookup(tags: np.ndarray, s: int, vpn: int) -> bool:
    """Look vpn up in set s (row of tags, most recent first); move or insert it to the front."""
    row = tags[s]
    n = len(row)
    j = 0
    while j < n and row[j] != vpn and row[j] != -1:
        j += 1
    hit = j < n and row[j] == vpn
    if j == n:
        j = n - 1
    while j > 0:
        row[j] = row[j - 1]
        j -= 1
    row[0] = vpn
    return hit


@njit(cache=True, nogil=True)
def tlb_chunk(
    vpns: np.ndarray, tags1: np.ndarray, tags2: np.ndarray, two: bool, counts: np.ndarray
) -> None:
    """Run a chunk of virtual page numbers; counts += [references, L1 misses, L2 misses]."""
    s1 = tags1.shape[0]
    s2 = tags2.shape[0]
    m1 = 0
    m2 = 0
    for t in range(len(vpns)):
        v = vpns[t]
        if _lookup(tags1, v % s1, v):
            continue
        m1 += 1
        if two and not _lookup(tags2, v % s2, v):
            m2 += 1
    counts[0] += len(vpns)
    counts[1] += m1
    counts[2] += m2


def simulate_tlb(
    vpn_chunks: Iterable[np.ndarray],
    config: TlbConfig,
    progress: Callable[[int], None] | None = None,
) -> TlbResult:
    """Run a stream of virtual page numbers (for config.page_size) through the TLB."""
    return simulate_tlbs(vpn_chunks, [config], progress)[0]


def simulate_tlbs(
    vpn_chunks: Iterable[np.ndarray],
    configs: list[TlbConfig],
    progress: Callable[[int], None] | None = None,
) -> list[TlbResult]:
    """Run one stream of virtual page numbers through several TLBs of one page size at once."""
    if len({c.page_size for c in configs}) > 1:
        raise ConfigError("page_size", [c.page_size for c in configs], "one page size for all")
    states = [_tags(c) for c in configs]
    counts = [np.zeros(3, np.int64) for _ in configs]
    for vpns in vpn_chunks:
        v = np.ascontiguousarray(vpns, np.int64)
        for (tags1, tags2, two), n in zip(states, counts, strict=True):
            tlb_chunk(v, tags1, tags2, two, n)
        if progress is not None:
            progress(len(vpns))
    return [
        TlbResult(c, int(n[0]), int(n[1]), int(n[2]) if c.l2 is not None else None)
        for c, n in zip(configs, counts, strict=True)
    ]


def _tags(config: TlbConfig) -> tuple[np.ndarray, np.ndarray, bool]:
    """Empty tag arrays of L1 and L2 (a 1x1 dummy without L2), and whether there is an L2."""
    tags1 = np.full((config.l1.sets, config.l1.assoc), -1, np.int64)
    if config.l2 is None:
        return tags1, np.full((1, 1), -1, np.int64), False
    return tags1, np.full((config.l2.sets, config.l2.assoc), -1, np.int64), True
