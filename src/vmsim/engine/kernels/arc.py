"""ARC kernel: T1, T2, B1, B2 as circular linked lists over page ids, p real-valued.

A page's row of the node array holds its links (NXT, PRV) and WHERE, the list it is on
(0: none). Each list has a sentinel row cap + L (L = 1..4): its NXT is the head (MRU end),
its PRV the tail (LRU end). The list operations are those of `dlist` (inlined by Numba).
Mirrors `vmsim.policies.arc.Arc` step for step (Figure 4 of Megiddo & Modha).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import State, stateful
from vmsim.engine.kernels.dlist import NXT, PRV, ROW_WIDTH, WHERE, pop_tail, push_head, unlink
from vmsim.engine.prefetch import prefetch_ahead

T1, T2, B1, B2 = 1, 2, 3, 4
SENTINEL_ROWS = 5
"""Sentinel rows after the pages' (cap + L for list L; row cap itself unused)."""


@njit(cache=True, nogil=True)
def arc_kernel(
    ids: np.ndarray, nd: np.ndarray, size: np.ndarray, pf: np.ndarray, frames: int,
    flags: np.ndarray,
) -> int:  # fmt: skip
    """ARC with c = frames (size: the lists' lengths, updated; pf[0]: p)."""
    size_in = size
    size = size_in.copy()  # a local copy: the compiler need not reload it after every list store
    n_ids = len(nd) - SENTINEL_ROWS
    c = frames
    p = pf[0]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, nd)
        x = ids[t]
        w = nd[x, WHERE]
        if w in (T1, T2):  # case I: to the MRU end of T2
            unlink(nd, NXT, PRV, x)
            size[w] -= 1
            push_head(nd, NXT, PRV, n_ids + T2, x)
            size[T2] += 1
            nd[x, WHERE] = T2
            continue
        misses += 1
        if record:
            flags[t] = 1
        ghost = w in (B1, B2)
        if ghost:  # cases II and III: adapt p
            n1 = size[B1]
            n2 = size[B2]
            if w == B1:
                p = min(p + (1.0 if n1 >= n2 else n2 / n1), float(c))
            else:
                p = max(p - (1.0 if n2 >= n1 else n1 / n2), 0.0)
        drop = 0  # a ghost list whose LRU entry is deleted
        evict = 0  # the resident list that gives up its LRU page
        if size[T1] + size[T2] == c:
            replace = True
            if not ghost:
                l1 = size[T1] + size[B1]
                if l1 >= c:
                    if size[T1] < c and size[B1] > 0:
                        drop = B1
                    else:
                        evict = T1
                        replace = False
                elif l1 + size[T2] + size[B2] >= 2 * c and size[B2] > 0:
                    drop = B2
            if replace:
                n1 = size[T1]
                t1_goes = (n1 >= 1 and ((w == B2 and n1 == p) or n1 > p)) or size[T2] == 0
                evict = T1 if t1_goes else T2
        elif not ghost:  # a free frame: keep the directory within 2c
            if size[T1] + size[B1] >= c and size[B1] > 0:
                drop = B1
            elif size[T1] + size[T2] + size[B1] + size[B2] >= 2 * c and size[B2] > 0:
                drop = B2
        if drop:
            y = pop_tail(nd, NXT, PRV, n_ids + drop)
            size[drop] -= 1
            nd[y, WHERE] = 0
        if evict:
            y = pop_tail(nd, NXT, PRV, n_ids + evict)
            size[evict] -= 1
            nd[y, WHERE] = 0
            if replace:  # the evicted page's id goes to B1 or B2
                g = B1 if evict == T1 else B2
                push_head(nd, NXT, PRV, n_ids + g, y)
                size[g] += 1
                nd[y, WHERE] = g
        w = nd[x, WHERE]
        if w in (B1, B2):
            unlink(nd, NXT, PRV, x)
            size[w] -= 1
            dest = T2
        else:
            dest = T1
        push_head(nd, NXT, PRV, n_ids + dest, x)
        size[dest] += 1
        nd[x, WHERE] = dest
    pf[0] = p
    size_in[:] = size
    return misses


@stateful("arc")
class Arc(State):
    """ARC."""

    NODE_WIDTH = ROW_WIDTH
    NODE_LINKS = (NXT, PRV)
    SENTINELS = SENTINEL_ROWS

    def setup(self, **_: object) -> None:
        """Empty lists, p = 0."""
        self.size = np.zeros(5, np.int64)
        self.pf = np.zeros(1, np.float64)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(arc_kernel(ids, self.node, self.size, self.pf, self.frames, flags))
