"""LFU kernel: O(1) frequency buckets, each a list in order of arrival (libCacheSim's LFU).

The bucket table grows (by doubling) as counts rise: the kernel stops before a reference
whose count has no bucket yet, and `Lfu.step` grows the table and resumes.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful


@njit(cache=True, nogil=True)
def lfu_kernel(
    ids: np.ndarray, start: int, freq: np.ndarray, prev: np.ndarray, nxt: np.ndarray,
    first: np.ndarray, last: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray,
) -> tuple[int, int]:  # fmt: skip
    """Evict the first page of the lowest non-empty frequency bucket (sc: lowest bucket,
    resident pages), from ids[start]; return (misses, where it stopped: len(ids) or a
    reference that needs a bucket beyond the table)."""
    min_freq = sc[0]
    count = sc[1]
    misses = 0
    record = len(flags) > 0
    top = len(first) - 1
    stop = len(ids)
    for t in range(start, len(ids)):
        p = ids[t]
        f = freq[p]
        if f + 1 >= top:
            stop = t
            break
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
    sc[0] = min_freq
    sc[1] = count
    return misses, stop


@stateful("lfu")
class Lfu(State):
    """LFU with ties to the least recently used."""

    PAGE: ClassVar[Arrays] = {
        "freq": (np.int64, 0),
        "prev": (np.int32, 0),
        "nxt": (np.int32, 0),
    }
    SCALARS = 2

    def setup(self, **_: object) -> None:
        """An empty bucket table; the lowest bucket is 1."""
        self.first = np.full(64, -1, np.int32)
        self.last_ = np.full(64, -1, np.int32)
        self.sc[0] = 1

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk, growing the bucket table where a count outgrows it."""
        misses, t = 0, 0
        while True:
            m, t = lfu_kernel(ids, t, self.freq, self.prev, self.nxt, self.first, self.last_,
                              self.sc, self.frames, flags)  # fmt: skip
            misses += int(m)
            if t == len(ids):
                return misses
            n = 2 * len(self.first)
            self.first = np.concatenate([self.first, np.full(n - len(self.first), -1, np.int32)])
            self.last_ = np.concatenate([self.last_, np.full(n - len(self.last_), -1, np.int32)])
