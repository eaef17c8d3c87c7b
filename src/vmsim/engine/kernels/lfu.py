"""LFU kernel: O(1) frequency buckets, each a list in order of arrival (libCacheSim's LFU)."""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def lfu_kernel(ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, max_count: int) -> int:
    """Evict the first page of the lowest non-empty frequency bucket."""
    freq = np.zeros(n_ids, np.int64)  # 0 = not resident
    prev = np.empty(n_ids, np.int32)
    nxt = np.empty(n_ids, np.int32)
    first = np.full(max_count + 2, -1, np.int32)
    last = np.full(max_count + 2, -1, np.int32)
    min_freq = 1
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        p = ids[t]
        f = freq[p]
        if f == 0:
            misses += 1
            if record:
                flags[t] = 1
            if count == frames:
                v = first[min_freq]
                nv = nxt[v]
                first[min_freq] = nv
                if nv >= 0:
                    prev[nv] = -1
                else:
                    last[min_freq] = -1
                freq[v] = 0
            else:
                count += 1
            f = 0
            min_freq = 1
        else:
            pp, nn = prev[p], nxt[p]  # unlink from bucket f
            if pp >= 0:
                nxt[pp] = nn
            else:
                first[f] = nn
            if nn >= 0:
                prev[nn] = pp
            else:
                last[f] = pp
            if first[f] < 0 and min_freq == f:
                min_freq = f + 1
        f += 1
        freq[p] = f
        prev[p] = last[f]  # append to bucket f
        nxt[p] = -1
        if last[f] >= 0:
            nxt[last[f]] = p
        else:
            first[f] = p
        last[f] = p
    return misses


@kernel("lfu")
def run_lfu(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """LFU with ties to the least recently used."""
    return int(lfu_kernel(prep.ids, prep.n_ids, frames, flags, prep.max_count))
