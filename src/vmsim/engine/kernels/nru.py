"""NRU kernel: the enhanced clock of `policies.nru` on the accessed and dirty bits.

A fixed-slot ring as in clock.py (every victim of `Nru` is the page at the hand, so the
new page takes its slot). The hand makes rounds from where it stands: round 1 looks
for class (0,0) and changes nothing; round 2 looks for (0,1) and clears the accessed
bit of every page it passes; twice. The dirty bit is set by a write (Prepared.writes)
and cleared when the page is evicted. `clean` counts the resident pages of class
(0,0), so that a round 1 that cannot succeed is skipped (its hand comes back to where
it started having changed nothing).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared, written

ACCESSED = 1
DIRTY = 2
RESIDENT = 4


@njit(cache=True, nogil=True)
def nru_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, wbits: np.ndarray
) -> int:
    """Enhanced second chance; wbits: packed write bits (empty: no writes)."""
    state = np.zeros(n_ids, np.uint8)
    ring = np.empty(frames, np.int32)
    hand = 0
    count = 0
    clean = 0  # resident pages with neither bit set
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        p = ids[t]
        w = written(wbits, t)
        s = state[p]
        if s:
            if s == RESIDENT:
                clean -= 1
            state[p] = s | ACCESSED | (DIRTY if w else 0)
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            found = False
            for _ in range(2):
                if clean:  # round 1: (0,0), no changes
                    for _ in range(frames):
                        if state[ring[hand]] == RESIDENT:
                            found = True
                            break
                        hand = hand + 1 if hand + 1 < frames else 0
                    if found:
                        break
                for _ in range(frames):  # round 2: (0,1), clearing A on the way
                    q = ring[hand]
                    s = state[q]
                    if s & ACCESSED:
                        s = s ^ ACCESSED
                        state[q] = s
                        if s == RESIDENT:
                            clean += 1
                    elif s & DIRTY:
                        found = True
                        break
                    hand = hand + 1 if hand + 1 < frames else 0
                if found:
                    break
            v = ring[hand]
            if state[v] == RESIDENT:
                clean -= 1
            state[v] = 0
        else:
            count += 1
        ring[hand] = p
        state[p] = RESIDENT | ACCESSED | (DIRTY if w else 0)
        hand = hand + 1 if hand + 1 < frames else 0
    return misses


@kernel("nru")
def run_nru(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """NRU (the dirty bits come from the trace's kinds)."""
    return int(nru_kernel(prep.ids, prep.n_ids, frames, flags, prep.write_bits))
