"""2Q kernel: A1in and A1out (FIFOs) and Am (LRU) as circular linked lists over page ids.

A page's row of the node array holds its links (NXT, PRV) and WHERE, the list it is on
(0: none). Each list has a sentinel row cap + L: its NXT is the head (newest / MRU end),
its PRV the tail (oldest / LRU end). List operations are those of `dlist` (inlined by
Numba). Mirrors `vmsim.policies.twoq.TwoQ` step for step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import State, stateful
from vmsim.engine.kernels.dlist import NXT, PRV, ROW_WIDTH, WHERE, pop_tail, push_head, unlink
from vmsim.engine.prefetch import prefetch_ahead

A1IN, A1OUT, AM = 1, 2, 3
SENTINEL_ROWS = 4
"""Sentinel rows after the pages' (cap + L for list L; row cap itself unused)."""


@njit(cache=True, nogil=True)
def twoq_kernel(
    ids: np.ndarray, nd: np.ndarray, size: np.ndarray, frames: int, flags: np.ndarray,
    kin: int, kout: int,
) -> int:  # fmt: skip
    """Full 2Q with thresholds Kin and Kout (size: the lists' lengths)."""
    n_ids = len(nd) - SENTINEL_ROWS
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, nd)
        x = ids[t]
        w = nd[x, WHERE]
        if w == A1IN:
            continue
        if w == AM:  # to the MRU end of Am
            if nd[n_ids + AM, NXT] != x:
                unlink(nd, NXT, PRV, x)
                push_head(nd, NXT, PRV, n_ids + AM, x)
            continue
        misses += 1
        if record:
            flags[t] = 1
        ghost = w == A1OUT
        if size[A1IN] + size[AM] == frames:  # reclaimfor
            src = A1IN if size[A1IN] > kin or size[AM] == 0 else AM
            y = pop_tail(nd, NXT, PRV, n_ids + src)
            size[src] -= 1
            nd[y, WHERE] = 0
            if src == A1IN:  # remember y in A1out
                push_head(nd, NXT, PRV, n_ids + A1OUT, y)
                size[A1OUT] += 1
                nd[y, WHERE] = A1OUT
                if size[A1OUT] > kout:
                    z = pop_tail(nd, NXT, PRV, n_ids + A1OUT)
                    size[A1OUT] -= 1
                    nd[z, WHERE] = 0
        if nd[x, WHERE] == A1OUT:
            unlink(nd, NXT, PRV, x)
            size[A1OUT] -= 1
        dest = AM if ghost else A1IN
        push_head(nd, NXT, PRV, n_ids + dest, x)
        size[dest] += 1
        nd[x, WHERE] = dest
    return misses


@stateful("2q", kin=0.25, kout=0.5)
class TwoQ(State):
    """2Q with Kin = kin * frames, Kout = kout * frames (at least 1 each)."""

    NODE_WIDTH = ROW_WIDTH
    NODE_LINKS = (NXT, PRV)
    SENTINELS = SENTINEL_ROWS

    def setup(self, kin: float = 0.25, kout: float = 0.5, **_: object) -> None:
        """Thresholds in pages; empty lists."""
        self.k_in = max(1, int(kin * self.frames))
        self.k_out = max(1, int(kout * self.frames))
        self.size = np.zeros(4, np.int64)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(
            twoq_kernel(ids, self.node, self.size, self.frames, flags, self.k_in, self.k_out)
        )
