"""UNOPT kernel (anti-Belady): an indexed min-heap of resident pages keyed by next use.

The victim is the resident page used soonest; among pages never used again, the one
loaded first (the insertion order of `policies.unopt`): their key is len(ids) plus the
load time, above every real next use. A hit at time t is at the root (its key was t,
the smallest of all) and its key grows to its next use: one sift-down. A miss with all
frames full replaces the root by the new page: one sift-down; before that, a new page
is a new leaf: one sift-up.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful


@njit(cache=True, nogil=True)
def unopt_kernel(
    ids: np.ndarray, nxt: np.ndarray, t0: int, n: int, pos: np.ndarray, loaded: np.ndarray,
    hk: np.ndarray, hid: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray,
) -> int:  # fmt: skip
    """Anti-Belady with next uses precomputed (n, the trace's length = never); t0: the
    references before this chunk; sc: the heap's size."""
    size = sc[0]
    misses = 0
    record = len(flags) > 0
    for j in range(len(ids)):
        t = t0 + j
        p = ids[j]
        i = pos[p]
        if i < 0:
            misses += 1
            if record:
                flags[j] = 1
            loaded[p] = t
        key = nxt[j] if nxt[j] < n else n + loaded[p]
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
    sc[0] = size
    return misses


@stateful("unopt")
class Unopt(State):
    """Anti-Belady."""

    PAGE: ClassVar[Arrays] = {"pos": (np.int32, -1), "loaded": (np.int64, 0)}
    FRAME: ClassVar[Arrays] = {"hk": (np.int64, 0), "hid": (np.int32, 0)}
    NEXT_USE = True
    total = 0
    """The trace's length (set before the first chunk: a next use of `total` is never)."""

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk with its references' next uses."""
        assert next_use is not None
        return int(
            unopt_kernel(ids, next_use, self.t, self.total, self.pos, self.loaded, self.hk,
                         self.hid, self.sc, self.frames, flags)
        )  # fmt: skip
