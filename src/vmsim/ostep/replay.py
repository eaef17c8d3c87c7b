"""Fast counting replays for paging-policy runs without a trace (`-N`).

Same hits and misses as the step-by-step replay through the registry policies (the
tests check this on many random cases), in O(log n) per reference for OPT and UNOPT
instead of the original's rescan of the future for every resident page:

- OPT keeps a max-heap of (next use, page) with one entry pushed per reference. A
  resident page's newest entry holds its true next use, which is later than now;
  every older entry holds a time already past. So the heap's top is always a
  resident page with the farthest next use (stale entries are skipped anyway).
- UNOPT keeps the same entries in a min-heap and drops stale ones from the top.
- RAND draws `int(r * C)` over the resident list in insertion order like the
  original, but finds hits in a set.

Ties between pages never used again change which page goes, never the counts.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np


def dense_ids(pages: Sequence[int]) -> tuple[list[int], int]:
    """Pages renumbered 0..k-1 in order of first use, and k."""
    index: dict[int, int] = {}
    ids = [index.setdefault(p, len(index)) for p in pages]
    return ids, len(index)


def next_uses(ids: Sequence[int], never: int) -> list[int]:
    """nxt[t] = the next index after t with the same id, or `never`."""
    arr = np.asarray(ids, dtype=np.int64)
    nxt = np.full(len(arr), never, dtype=np.int64)
    if len(arr) > 1:
        order = np.argsort(arr, kind="stable")
        same = arr[order[1:]] == arr[order[:-1]]
        nxt[order[:-1][same]] = order[1:][same]
    out: list[int] = nxt.tolist()
    return out


def count_opt(ids: Sequence[int], nxt: Sequence[int], npages: int, cachesize: int) -> int:
    """Misses of OPT (evict the farthest next use) with `cachesize` frames (< 0: unbounded)."""
    return _count_heap(ids, nxt, npages, cachesize, farthest=True)


def count_unopt(ids: Sequence[int], nxt: Sequence[int], npages: int, cachesize: int) -> int:
    """Misses of UNOPT (evict the nearest next use) with `cachesize` frames (< 0: unbounded)."""
    return _count_heap(ids, nxt, npages, cachesize, farthest=False)


def _count_heap(
    ids: Sequence[int], nxt: Sequence[int], npages: int, cachesize: int, farthest: bool
) -> int:
    """The heap replay shared by OPT (max-heap) and UNOPT (min-heap); returns misses."""
    if cachesize == 0 and len(ids):
        raise ValueError("a cache of 0 pages cannot take the first miss")
    sign = -1 if farthest else 1
    resident = bytearray(npages)
    cur = [0] * npages
    heap: list[int] = []
    push, pop = heapq.heappush, heapq.heappop
    misses = count = 0
    for t, p in enumerate(ids):
        nu = nxt[t]
        if not resident[p]:
            misses += 1
            if count == cachesize:
                while True:
                    key = sign * pop(heap)
                    q = key % npages
                    if resident[q] and key // npages == cur[q]:
                        break
                resident[q] = 0
            else:
                count += 1
            resident[p] = 1
        cur[p] = nu
        push(heap, sign * (nu * npages + p))
    return misses


def count_rand(pages: Sequence[int], cachesize: int, rnd: Callable[[], float]) -> int:
    """Misses of RAND: victim index int(rnd() * C) in the resident list (insertion order)."""
    memory: list[int] = []
    resident: set[int] = set()
    misses = count = 0
    for p in pages:
        if p in resident:
            continue
        misses += 1
        if count == cachesize:
            resident.discard(memory.pop(int(rnd() * count)))
        else:
            count += 1
        memory.append(p)
        resident.add(p)
    return misses
