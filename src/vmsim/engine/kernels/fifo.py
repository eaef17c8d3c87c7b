"""FIFO kernel: a ring of frames; the slot after the last loaded holds the oldest page."""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import PREFETCH, kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def fifo_kernel(ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray) -> tuple[int, int]:
    """FIFO over a ring buffer of frames; returns (misses, prefetch checksum)."""
    res = np.zeros(n_ids, np.uint8)
    ring = np.empty(frames, np.int32)
    hand = 0
    count = 0
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    ahead = 0
    for t in range(n):
        if t + PREFETCH < n:  # a software prefetch (see kernels.PREFETCH)
            ahead += res[ids[t + PREFETCH]]
        p = ids[t]
        if res[p]:
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            res[ring[hand]] = 0
        else:
            count += 1
        ring[hand] = p
        res[p] = 1
        hand += 1
        if hand == frames:
            hand = 0
    return misses, ahead


@kernel("fifo")
def run_fifo(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """FIFO."""
    return int(fifo_kernel(prep.ids, prep.n_ids, frames, flags)[0])
