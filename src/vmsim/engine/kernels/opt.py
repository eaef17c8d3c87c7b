"""OPT kernel (Belady's MIN): an indexed max-heap of resident pages keyed by next use.

The next use of every reference is computed once per trace (Prepared.next_use). On a
hit the page's key grows from now (the smallest key) to its next use: one sift-up.
On a miss with all frames full the root (farthest next use) is replaced by the new
page: one sift-down. Pages never used again tie at len(ids); which of them goes does
not change any later hit or miss, so the misses agree with the reference replay
(which evicts the last loaded of them) reference for reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def opt_kernel(ids: np.ndarray, nxt: np.ndarray, n_ids: int, frames: int, flags: np.ndarray) -> int:
    """Belady's MIN with next uses precomputed."""
    pos = np.full(n_ids, -1, np.int32)
    hk = np.empty(frames, np.int64)
    hid = np.empty(frames, np.int32)
    size = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        p = ids[t]
        key = nxt[t]
        i = pos[p]
        if i < 0:
            misses += 1
            if record:
                flags[t] = 1
            if size == frames:
                pos[hid[0]] = -1
                i = 0  # replace the root, then sift down
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and hk[c + 1] > hk[c]:
                        c += 1
                    if hk[c] <= key:
                        break
                    hk[i] = hk[c]
                    hid[i] = hid[c]
                    pos[hid[i]] = i
                    i = c
                hk[i] = key
                hid[i] = p
                pos[p] = i
                continue
            i = size
            size += 1
        while i > 0:  # sift up (a hit's key only grows; a new page starts at the bottom)
            parent = (i - 1) >> 1
            if hk[parent] >= key:
                break
            hk[i] = hk[parent]
            hid[i] = hid[parent]
            pos[hid[i]] = i
            i = parent
        hk[i] = key
        hid[i] = p
        pos[p] = i
    return misses


@kernel("opt")
def run_opt(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """Belady's MIN."""
    return int(opt_kernel(prep.ids, prep.next_use, prep.n_ids, frames, flags))
