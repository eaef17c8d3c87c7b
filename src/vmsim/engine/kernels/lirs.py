"""LIRS kernel: stack S and queue Q as circular linked lists over page ids.

S: sentinel n_ids in (s_prv, s_nxt); s_nxt[sentinel] is the top, s_prv[sentinel] the
bottom. Q: sentinel n_ids in (q_prv, q_nxt); q_nxt[sentinel] is the end (newest),
q_prv[sentinel] the front (the next victim). List operations are those of `dlist`
(inlined by Numba).
Mirrors `vmsim.policies.lirs.Lirs` step for step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.kernels.dlist import pop_tail, push_head, unlink
from vmsim.engine.prepared import Prepared

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
def lirs_kernel(ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, llirs: int) -> int:
    """LIRS with Llirs LIR frames."""
    status = np.zeros(n_ids, np.uint8)
    in_s = np.zeros(n_ids, np.uint8)
    s_prv = np.empty(n_ids + 1, np.int32)
    s_nxt = np.empty(n_ids + 1, np.int32)
    q_prv = np.empty(n_ids + 1, np.int32)
    q_nxt = np.empty(n_ids + 1, np.int32)
    S = n_ids
    s_prv[S] = s_nxt[S] = S
    q_prv[S] = q_nxt[S] = S
    q_size = 0
    nlir = 0
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
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
    return misses


@kernel("lirs", hir=0.01)
def run_lirs(prep: Prepared, frames: int, flags: np.ndarray, hir: float) -> int:
    """LIRS with Lhirs = max(1, int(hir * frames)) HIR frames."""
    llirs = max(1, frames - max(1, int(hir * frames)))
    return int(lirs_kernel(prep.ids, prep.n_ids, frames, flags, llirs))
