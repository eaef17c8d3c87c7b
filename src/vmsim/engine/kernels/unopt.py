"""UNOPT kernel (anti-Belady): an indexed min-heap of resident pages keyed by next use.

The victim is the resident page used soonest; among pages never used again, the one
loaded first (the insertion order of `policies.unopt`): their key is len(ids) plus the
load time, above every real next use. A hit at time t is at the root (its key was t,
the smallest of all) and its key grows to its next use: one sift-down. A miss with all
frames full replaces the root by the new page: one sift-down; before that, a new page
is a new leaf: one sift-up.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def unopt_kernel(
    ids: np.ndarray, nxt: np.ndarray, n_ids: int, frames: int, flags: np.ndarray
) -> int:
    """Anti-Belady with next uses precomputed (len(ids) = never)."""
    n = len(ids)
    pos = np.full(n_ids, -1, np.int32)
    loaded = np.zeros(n_ids, np.int64)
    hk = np.empty(frames, np.int64)
    hid = np.empty(frames, np.int32)
    size = 0
    misses = 0
    record = len(flags) > 0
    for t in range(n):
        p = ids[t]
        i = pos[p]
        if i < 0:
            misses += 1
            if record:
                flags[t] = 1
            loaded[p] = t
        key = nxt[t] if nxt[t] < n else n + loaded[p]
        if i < 0 and size < frames:  # a new leaf: sift up
            i = size
            size += 1
            while i > 0:
                parent = (i - 1) >> 1
                if hk[parent] <= key:
                    break
                hk[i] = hk[parent]
                hid[i] = hid[parent]
                pos[hid[i]] = i
                i = parent
        else:  # a hit's key grows, or the root is replaced: sift down
            if i < 0:
                pos[hid[0]] = -1
                i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and hk[c + 1] < hk[c]:
                    c += 1
                if hk[c] >= key:
                    break
                hk[i] = hk[c]
                hid[i] = hid[c]
                pos[hid[i]] = i
                i = c
        hk[i] = key
        hid[i] = p
        pos[p] = i
    return misses


@kernel("unopt")
def run_unopt(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """Anti-Belady."""
    return int(unopt_kernel(prep.ids, prep.next_use, prep.n_ids, frames, flags))
