"""LRU and MRU kernels: a doubly linked recency list over page ids (prev -2 = not resident)."""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def recency_kernel(ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, mru: bool) -> int:
    """Recency list, most recent at head; evict the tail (LRU) or the head (MRU)."""
    prev = np.full(n_ids, -2, np.int32)
    nxt = np.empty(n_ids, np.int32)
    head = -1
    tail = -1
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
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
    return misses


@kernel("lru")
def run_lru(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """Exact LRU."""
    return int(recency_kernel(prep.ids, prep.n_ids, frames, flags, False))


@kernel("mru")
def run_mru(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """MRU: evict the most recently used (or loaded) page."""
    return int(recency_kernel(prep.ids, prep.n_ids, frames, flags, True))
