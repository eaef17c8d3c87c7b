"""LRU and MRU kernels.

LRU needs no list: the trace itself is the queue of uses. `last[p]` is the time of
p's latest use (-1: not resident); the least recently used resident page is the
first position `front` of the trace whose reference is still its page's latest
use. Positions before it are stale and skipped once, so eviction costs O(1)
amortised and a hit is a single store. MRU keeps a doubly linked recency list
(prev -2 = not resident) and evicts at the head.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import PREFETCH, kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def recency_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, mru: bool
) -> tuple[int, int]:
    """Recency list, most recent at head; evict the tail (LRU) or the head (MRU, used).

    Returns (misses, a checksum of the early loads that keeps them from being optimised out).
    """
    prev = np.full(n_ids, -2, np.int32)
    nxt = np.empty(n_ids, np.int32)
    head = -1
    tail = -1
    count = 0
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    ahead = 0
    for t in range(n):
        if t + PREFETCH < n:  # touch the entry of a reference ahead: a software prefetch
            ahead += prev[ids[t + PREFETCH]]
        p = ids[t]
        pp = prev[p]
        if pp != -2:
            if p != head:
                nn = nxt[p]
                nxt[pp] = nn
                if nn >= 0:
                    prev[nn] = pp
                else:
                    tail = pp
                prev[p] = -1
                nxt[p] = head
                prev[head] = p
                head = p
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            if mru:
                v = head
                head = nxt[v]
                if head >= 0:
                    prev[head] = -1
                else:
                    tail = -1
            else:
                v = tail
                tail = prev[v]
                if tail >= 0:
                    nxt[tail] = -1
                else:
                    head = -1
            prev[v] = -2
        else:
            count += 1
        prev[p] = -1
        nxt[p] = head
        if head >= 0:
            prev[head] = p
        else:
            tail = p
        head = p
    return misses, ahead


@njit(cache=True, nogil=True)
def lru_kernel(
    ids: np.ndarray, last: np.ndarray, frames: int, flags: np.ndarray
) -> tuple[int, int]:
    """Exact LRU over the trace as a queue of uses; `last` starts all -1 (one per page id).

    Returns (misses, prefetch checksum).
    """
    front = 0
    count = 0
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    ahead = 0
    for t in range(n):
        if t + PREFETCH < n:  # a software prefetch (see kernels.PREFETCH)
            ahead += last[ids[t + PREFETCH]]
        p = ids[t]
        if last[p] >= 0:
            last[p] = t
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            while last[ids[front]] != front:  # skip uses that are no longer the latest
                front += 1
            last[ids[front]] = -1
            front += 1
        else:
            count += 1
        last[p] = t
    return misses, ahead


@kernel("lru")
def run_lru(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """Exact LRU."""
    last = np.full(prep.n_ids, -1, np.int32 if len(prep) < 2**31 else np.int64)
    return int(lru_kernel(prep.ids, last, frames, flags)[0])


@kernel("mru")
def run_mru(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """MRU: evict the most recently used (or loaded) page."""
    return int(recency_kernel(prep.ids, prep.n_ids, frames, flags, True)[0])
