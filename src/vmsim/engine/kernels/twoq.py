"""2Q kernel: A1in and A1out (FIFOs) and Am (LRU) as circular linked lists over page ids.

Each list has a sentinel node cap + L (cap = len(where)): nxt[s] is its head (newest /
MRU end), prv[s] its tail (oldest / LRU end). List operations are those of `dlist`
(inlined by Numba). Mirrors `vmsim.policies.twoq.TwoQ` step for step.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.kernels.dlist import pop_tail, push_head, unlink
from vmsim.engine.prefetch import prefetch_ahead

A1IN, A1OUT, AM = 1, 2, 3


@njit(cache=True, nogil=True)
def twoq_kernel(
    ids: np.ndarray, where: np.ndarray, prv: np.ndarray, nxt: np.ndarray, size: np.ndarray,
    frames: int, flags: np.ndarray, kin: int, kout: int,
) -> int:  # fmt: skip
    """Full 2Q with thresholds Kin and Kout (size: the lists' lengths)."""
    n_ids = len(where)
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, where, nxt, prv)
        x = ids[t]
        w = where[x]
        if w == A1IN:
            continue
        if w == AM:  # to the MRU end of Am
            if nxt[n_ids + AM] != x:
                unlink(nxt, prv, x)
                push_head(nxt, prv, n_ids + AM, x)
            continue
        misses += 1
        if record:
            flags[t] = 1
        ghost = w == A1OUT
        if size[A1IN] + size[AM] == frames:  # reclaimfor
            src = A1IN if size[A1IN] > kin or size[AM] == 0 else AM
            y = pop_tail(nxt, prv, n_ids + src)
            size[src] -= 1
            where[y] = 0
            if src == A1IN:  # remember y in A1out
                push_head(nxt, prv, n_ids + A1OUT, y)
                size[A1OUT] += 1
                where[y] = A1OUT
                if size[A1OUT] > kout:
                    z = pop_tail(nxt, prv, n_ids + A1OUT)
                    size[A1OUT] -= 1
                    where[z] = 0
        if where[x] == A1OUT:
            unlink(nxt, prv, x)
            size[A1OUT] -= 1
        dest = AM if ghost else A1IN
        push_head(nxt, prv, n_ids + dest, x)
        size[dest] += 1
        where[x] = dest
    return misses


@stateful("2q", kin=0.25, kout=0.5)
class TwoQ(State):
    """2Q with Kin = kin * frames, Kout = kout * frames (at least 1 each)."""

    PAGE: ClassVar[Arrays] = {"where": (np.uint8, 0)}
    LINKED = ("prv", "nxt")
    SENTINELS = 4

    def setup(self, kin: float = 0.25, kout: float = 0.5, **_: object) -> None:
        """Thresholds in pages; empty lists."""
        self.k_in = max(1, int(kin * self.frames))
        self.k_out = max(1, int(kout * self.frames))
        self.size = np.zeros(4, np.int64)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        w, pv, nx, fr = self.where, self.prv, self.nxt, self.frames
        return int(twoq_kernel(ids, w, pv, nx, self.size, fr, flags, self.k_in, self.k_out))
