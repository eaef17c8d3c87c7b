"""CLOCK kernel: the fixed-slot clock (a new page takes the victim's slot, the hand moves on).

state[p]: 0 not resident, 1 resident with accessed bit clear, 2 resident with it set.
With `load_sets_refbit` the miss that loads a page sets its accessed bit (as the
reference replay does by default); without, a new page starts clear (libCacheSim's
Clock with init_freq 0).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import PREFETCH, kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def clock_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, load_set: bool
) -> tuple[int, int]:
    """Second chance over a ring of frames; returns (misses, prefetch checksum)."""
    state = np.zeros(n_ids, np.uint8)
    ring = np.empty(frames, np.int32)
    loaded = np.uint8(2 if load_set else 1)
    hand = 0
    count = 0
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    ahead = 0
    for t in range(n):
        if t + PREFETCH < n:  # a software prefetch (see kernels.PREFETCH)
            ahead += state[ids[t + PREFETCH]]
        p = ids[t]
        s = state[p]
        if s:
            if s == 1:
                state[p] = 2
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            while state[ring[hand]] == 2:
                state[ring[hand]] = 1
                hand += 1
                if hand == frames:
                    hand = 0
            state[ring[hand]] = 0
        else:
            count += 1
        ring[hand] = p
        state[p] = loaded
        hand += 1
        if hand == frames:
            hand = 0
    return misses, ahead


@kernel("clock", load_sets_refbit=True)
def run_clock(prep: Prepared, frames: int, flags: np.ndarray, load_sets_refbit: bool) -> int:
    """CLOCK; option load_sets_refbit (default True)."""
    return int(clock_kernel(prep.ids, prep.n_ids, frames, flags, bool(load_sets_refbit))[0])
