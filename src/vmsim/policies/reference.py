"""The plain-Python reference replay: the textbook definition of a page-replacement run.

One reference per element of `pages`; a reference to a non-resident page is a miss;
with `frames` pages resident, a miss first asks the policy for a victim. The accessed
bit of a page is set by every reference (on a miss only when `load_sets_refbit`), the
dirty bit by every write. This is slow and obviously right: the fast engine and the
machine are tested against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vmsim.policies.base import ReplacementPolicy

NEVER = np.iinfo(np.int64).max
"""next_use of a page that is not referenced again."""


def next_use_array(pages: Sequence[int] | np.ndarray) -> np.ndarray:
    """nxt[t] = the next index after t where pages[t] occurs again, or NEVER."""
    arr = np.asarray(pages, dtype=np.int64)
    nxt = np.full(len(arr), NEVER, dtype=np.int64)
    order = np.argsort(arr, kind="stable")  # occurrences of each page, in time order
    same = arr[order[1:]] == arr[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same]
    return nxt


@dataclass
class ReferenceBits:
    """RefBits for a replay: bits keyed by page, virtual time, and optional future."""

    now: int = 0
    accessed: set[int] = field(default_factory=set)
    dirty_pages: set[int] = field(default_factory=set)
    next_uses: dict[int, int] = field(default_factory=dict)
    has_future: bool = False

    def test_and_clear(self, key: int) -> bool:
        """Accessed bit of key, then clear it."""
        if key in self.accessed:
            self.accessed.discard(key)
            return True
        return False

    def referenced(self, key: int) -> bool:
        """Accessed bit of key."""
        return key in self.accessed

    def dirty(self, key: int) -> bool:
        """Dirty bit of key."""
        return key in self.dirty_pages

    def next_use(self, key: int) -> int:
        """Next reference time of key (NEVER if not used again)."""
        if not self.has_future:
            raise RuntimeError("next_use needs a known future (a trace replay)")
        return self.next_uses[key]


@dataclass
class ReplayResult:
    """Outcome of a reference replay."""

    references: int
    misses: int
    miss_trace: np.ndarray
    """Boolean array: True where the reference missed."""
    victims: list[int]
    """Evicted pages in order."""

    @property
    def hits(self) -> int:
        """References that hit."""
        return self.references - self.misses


def replay(
    pages: Sequence[int] | np.ndarray,
    policy: ReplacementPolicy,
    frames: int,
    writes: Sequence[bool] | np.ndarray | None = None,
    *,
    load_sets_refbit: bool = True,
    tick_every: int = 0,
) -> ReplayResult:
    """Run `pages` through `policy` with `frames` frames; return misses miss by miss."""
    if frames < 1:
        raise ValueError("frames must be at least 1")
    arr = np.asarray(pages, dtype=np.int64)
    bits = ReferenceBits(has_future=policy.needs_future)
    nxt = next_use_array(arr) if policy.needs_future else None
    miss_trace = np.zeros(len(arr), dtype=bool)
    victims: list[int] = []
    resident: set[int] = set()
    for t in range(len(arr)):
        page = int(arr[t])
        write = bool(writes[t]) if writes is not None else False
        bits.now = t
        if tick_every and t and t % tick_every == 0:
            policy.tick(bits)
        if nxt is not None:
            bits.next_uses[page] = int(nxt[t])
        if page in resident:
            if policy.uses_access_hook:
                policy.on_access(page, write)
            bits.accessed.add(page)
        else:
            miss_trace[t] = True
            policy.on_fault(page)
            if len(resident) >= frames:
                v = policy.victim(bits)
                resident.remove(v)
                bits.accessed.discard(v)
                bits.dirty_pages.discard(v)
                victims.append(v)
            resident.add(page)
            policy.on_map(page)
            if load_sets_refbit:
                bits.accessed.add(page)
        if write:
            bits.dirty_pages.add(page)
    return ReplayResult(len(arr), int(miss_trace.sum()), miss_trace, victims)
