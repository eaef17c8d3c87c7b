"""LIRS kernel: stack S and queue Q as circular linked lists over page ids.

S: sentinel cap = len(status) in (s_prv, s_nxt); s_nxt[sentinel] is the top, s_prv[sentinel] the
bottom. Q: sentinel cap in (q_prv, q_nxt); q_nxt[sentinel] is the end (newest),
q_prv[sentinel] the front (the next victim). List operations are those of `dlist`
(inlined by Numba).
Mirrors `vmsim.policies.lirs.Lirs` step for step.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.kernels.dlist import pop_tail, push_head, unlink
from vmsim.engine.prefetch import prefetch_ahead

LIR, HIR, GHOST = 1, 2, 3


@njit(cache=True, nogil=True, inline="always")
def _demote_bottom(
    s_nxt: np.ndarray,
    s_prv: np.ndarray,
    q_nxt: np.ndarray,
    q_prv: np.ndarray,
    in_s: np.ndarray,
    status: np.ndarray,
    S: int,
) -> None:
    """The bottom LIR page of S becomes a resident HIR page at the end of Q."""
    b = pop_tail(s_nxt, s_prv, S)
    in_s[b] = 0
    status[b] = HIR
    push_head(q_nxt, q_prv, S, b)


@njit(cache=True, nogil=True, inline="always")
def _prune(
    s_nxt: np.ndarray, s_prv: np.ndarray, in_s: np.ndarray, status: np.ndarray, S: int
) -> None:
    """Remove HIR and ghost entries from the bottom of S until a LIR page is there."""
    while s_prv[S] != S and status[s_prv[S]] != LIR:
        y = pop_tail(s_nxt, s_prv, S)
        in_s[y] = 0
        if status[y] == GHOST:
            status[y] = 0


@njit(cache=True, nogil=True)
def lirs_kernel(
    ids: np.ndarray, status: np.ndarray, in_s: np.ndarray, s_prv: np.ndarray,
    s_nxt: np.ndarray, q_prv: np.ndarray, q_nxt: np.ndarray, sc: np.ndarray, frames: int,
    flags: np.ndarray, llirs: int,
) -> int:  # fmt: skip
    """LIRS with Llirs LIR frames (sc: Q's size, LIR pages, resident pages)."""
    S = len(status)
    q_size = sc[0]
    nlir = sc[1]
    count = sc[2]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, status, in_s, s_nxt, s_prv)
        x = ids[t]
        st = status[x]
        demote = False
        prune = False
        if st == HIR and not in_s[x]:  # resident HIR out of S: top of S, end of Q
            push_head(s_nxt, s_prv, S, x)
            in_s[x] = 1
            unlink(q_nxt, q_prv, x)
            push_head(q_nxt, q_prv, S, x)
            continue
        if st in (LIR, HIR):
            prune = st == LIR and s_prv[S] == x
        else:
            misses += 1
            if record:
                flags[t] = 1
            if count == frames:
                if q_size == 0:  # demote the bottom LIR page first
                    _demote_bottom(s_nxt, s_prv, q_nxt, q_prv, in_s, status, S)
                    q_size += 1
                    nlir -= 1
                    _prune(s_nxt, s_prv, in_s, status, S)
                y = pop_tail(q_nxt, q_prv, S)  # evict the front of Q
                q_size -= 1
                status[y] = GHOST if in_s[y] else 0
            else:
                count += 1
        # x goes to the top of S (every branch left does this)
        if in_s[x]:
            unlink(s_nxt, s_prv, x)
        push_head(s_nxt, s_prv, S, x)
        was_in_s = in_s[x]
        in_s[x] = 1
        if st == LIR:
            pass
        elif st == HIR or (st != HIR and nlir >= llirs and was_in_s):  # HIR in S: becomes LIR
            if st == HIR:
                unlink(q_nxt, q_prv, x)
                q_size -= 1
            status[x] = LIR
            nlir += 1
            demote = nlir > llirs
        elif nlir < llirs:
            status[x] = LIR
            nlir += 1
        else:  # a new resident HIR page, at the end of Q
            status[x] = HIR
            push_head(q_nxt, q_prv, S, x)
            q_size += 1
        if demote:  # the bottom LIR page becomes HIR at the end of Q
            _demote_bottom(s_nxt, s_prv, q_nxt, q_prv, in_s, status, S)
            q_size += 1
            nlir -= 1
            prune = True
        if prune:
            _prune(s_nxt, s_prv, in_s, status, S)
    sc[0] = q_size
    sc[1] = nlir
    sc[2] = count
    return misses


@stateful("lirs", hir=0.01)
class Lirs(State):
    """LIRS with Lhirs = max(1, int(hir * frames)) HIR frames."""

    PAGE: ClassVar[Arrays] = {"status": (np.uint8, 0), "in_s": (np.uint8, 0)}
    LINKED = ("s_prv", "s_nxt", "q_prv", "q_nxt")
    SENTINELS = 1
    SCALARS = 3

    def setup(self, hir: float = 0.01, **_: object) -> None:
        """Llirs from hir."""
        self.llirs = max(1, self.frames - max(1, int(hir * self.frames)))

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        links = (self.s_prv, self.s_nxt, self.q_prv, self.q_nxt)
        return int(
            lirs_kernel(ids, self.status, self.in_s, *links, self.sc, self.frames, flags,
                        self.llirs)
        )  # fmt: skip
