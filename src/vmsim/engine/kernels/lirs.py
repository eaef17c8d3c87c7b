"""LIRS kernel: stack S and queue Q as circular linked lists over page ids.

A page's row of the node array holds its links on S (S_NXT, S_PRV) and on Q (Q_NXT, Q_PRV),
its STATUS and IN_S (whether it is on S). Both lists have the sentinel row cap: S_NXT of
it is the top of S, S_PRV the bottom; Q_NXT the end of Q (newest), Q_PRV its front (the
next victim). List operations are those of `dlist` (inlined by Numba).
Mirrors `vmsim.policies.lirs.Lirs` step for step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import State, stateful
from vmsim.engine.kernels.dlist import pop_tail, push_head, unlink
from vmsim.engine.prefetch import prefetch_ahead

LIR, HIR, GHOST = 1, 2, 3
S_NXT, S_PRV, Q_NXT, Q_PRV, STATUS, IN_S = 0, 1, 2, 3, 4, 5
"""The node array's columns: a 24-byte row (padded to 32 so that no row straddles a cache
line, the Zipf trace ran 10 % slower: a third more memory for the warm pages)."""
SENTINEL_ROWS = 1
"""The one sentinel row, after the pages' (both lists' sentinel)."""


@njit(cache=True, nogil=True, inline="always")
def _demote_bottom(nd: np.ndarray, S: int) -> None:
    """The bottom LIR page of S becomes a resident HIR page at the end of Q."""
    b = pop_tail(nd, S_NXT, S_PRV, S)
    nd[b, IN_S] = 0
    nd[b, STATUS] = HIR
    push_head(nd, Q_NXT, Q_PRV, S, b)


@njit(cache=True, nogil=True, inline="always")
def _prune(nd: np.ndarray, S: int) -> None:
    """Remove HIR and ghost entries from the bottom of S until a LIR page is there."""
    while nd[S, S_PRV] != S and nd[nd[S, S_PRV], STATUS] != LIR:
        y = pop_tail(nd, S_NXT, S_PRV, S)
        nd[y, IN_S] = 0
        if nd[y, STATUS] == GHOST:
            nd[y, STATUS] = 0


@njit(cache=True, nogil=True)
def lirs_kernel(
    ids: np.ndarray, nd: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray, llirs: int
) -> int:
    """LIRS with Llirs LIR frames (sc: Q's size, LIR pages, resident pages)."""
    S = len(nd) - SENTINEL_ROWS
    q_size = sc[0]
    nlir = sc[1]
    count = sc[2]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, nd)
        x = ids[t]
        st = nd[x, STATUS]
        demote = False
        prune = False
        if st == HIR and not nd[x, IN_S]:  # resident HIR out of S: top of S, end of Q
            push_head(nd, S_NXT, S_PRV, S, x)
            nd[x, IN_S] = 1
            unlink(nd, Q_NXT, Q_PRV, x)
            push_head(nd, Q_NXT, Q_PRV, S, x)
            continue
        if st in (LIR, HIR):
            prune = st == LIR and nd[S, S_PRV] == x
        else:
            misses += 1
            if record:
                flags[t] = 1
            if count == frames:
                if q_size == 0:  # demote the bottom LIR page first
                    _demote_bottom(nd, S)
                    q_size += 1
                    nlir -= 1
                    _prune(nd, S)
                y = pop_tail(nd, Q_NXT, Q_PRV, S)  # evict the front of Q
                q_size -= 1
                nd[y, STATUS] = GHOST if nd[y, IN_S] else 0
            else:
                count += 1
        # x goes to the top of S (every branch left does this)
        if nd[x, IN_S]:
            unlink(nd, S_NXT, S_PRV, x)
        push_head(nd, S_NXT, S_PRV, S, x)
        was_in_s = nd[x, IN_S]
        nd[x, IN_S] = 1
        if st == LIR:
            pass
        elif st == HIR or (st != HIR and nlir >= llirs and was_in_s):  # HIR in S: becomes LIR
            if st == HIR:
                unlink(nd, Q_NXT, Q_PRV, x)
                q_size -= 1
            nd[x, STATUS] = LIR
            nlir += 1
            demote = nlir > llirs
        elif nlir < llirs:
            nd[x, STATUS] = LIR
            nlir += 1
        else:  # a new resident HIR page, at the end of Q
            nd[x, STATUS] = HIR
            push_head(nd, Q_NXT, Q_PRV, S, x)
            q_size += 1
        if demote:  # the bottom LIR page becomes HIR at the end of Q
            _demote_bottom(nd, S)
            q_size += 1
            nlir -= 1
            prune = True
        if prune:
            _prune(nd, S)
    sc[0] = q_size
    sc[1] = nlir
    sc[2] = count
    return misses


@stateful("lirs", hir=0.01)
class Lirs(State):
    """LIRS with Lhirs = max(1, int(hir * frames)) HIR frames."""

    NODE_WIDTH = 6
    NODE_LINKS = (S_NXT, S_PRV, Q_NXT, Q_PRV)
    SENTINELS = SENTINEL_ROWS
    SCALARS = 3

    def setup(self, hir: float = 0.01, **_: object) -> None:
        """Llirs from hir."""
        self.llirs = max(1, self.frames - max(1, int(hir * self.frames)))

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(lirs_kernel(ids, self.node, self.sc, self.frames, flags, self.llirs))
