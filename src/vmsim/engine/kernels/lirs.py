"""LIRS kernel: stack S and queue Q as circular linked lists over page ids.

S: sentinel n_ids in (s_prv, s_nxt); s_nxt[sentinel] is the top, s_prv[sentinel] the
bottom. Q: sentinel n_ids in (q_prv, q_nxt); q_nxt[sentinel] is the end (newest),
q_prv[sentinel] the front (the next victim). List operations are written out inline.
Mirrors `vmsim.policies.lirs.Lirs` step for step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared

LIR, HIR, GHOST = 1, 2, 3


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
            h = s_nxt[S]
            s_nxt[x] = h
            s_prv[x] = S
            s_prv[h] = x
            s_nxt[S] = x
            in_s[x] = 1
            a, b = q_prv[x], q_nxt[x]
            q_nxt[a] = b
            q_prv[b] = a
            h = q_nxt[S]
            q_nxt[x] = h
            q_prv[x] = S
            q_prv[h] = x
            q_nxt[S] = x
            continue
        if st in (LIR, HIR):
            prune = st == LIR and s_prv[S] == x
        else:
            misses += 1
            if record:
                flags[t] = 1
            if count == frames:
                if q_size == 0:  # demote the bottom LIR page first
                    b = s_prv[S]
                    a = s_prv[b]
                    s_nxt[a] = S
                    s_prv[S] = a
                    in_s[b] = 0
                    status[b] = HIR
                    h = q_nxt[S]
                    q_nxt[b] = h
                    q_prv[b] = S
                    q_prv[h] = b
                    q_nxt[S] = b
                    q_size += 1
                    nlir -= 1
                    while s_prv[S] != S and status[s_prv[S]] != LIR:
                        y = s_prv[S]
                        a = s_prv[y]
                        s_nxt[a] = S
                        s_prv[S] = a
                        in_s[y] = 0
                        if status[y] == GHOST:
                            status[y] = 0
                y = q_prv[S]  # evict the front of Q
                a = q_prv[y]
                q_nxt[a] = S
                q_prv[S] = a
                q_size -= 1
                status[y] = GHOST if in_s[y] else 0
            else:
                count += 1
        # x goes to the top of S (every branch left does this)
        if in_s[x]:
            a, b = s_prv[x], s_nxt[x]
            s_nxt[a] = b
            s_prv[b] = a
        h = s_nxt[S]
        s_nxt[x] = h
        s_prv[x] = S
        s_prv[h] = x
        s_nxt[S] = x
        was_in_s = in_s[x]
        in_s[x] = 1
        if st == LIR:
            pass
        elif st == HIR or (st != HIR and nlir >= llirs and was_in_s):  # HIR in S: becomes LIR
            if st == HIR:
                a, b = q_prv[x], q_nxt[x]
                q_nxt[a] = b
                q_prv[b] = a
                q_size -= 1
            status[x] = LIR
            nlir += 1
            demote = nlir > llirs
        elif nlir < llirs:
            status[x] = LIR
            nlir += 1
        else:  # a new resident HIR page, at the end of Q
            status[x] = HIR
            h = q_nxt[S]
            q_nxt[x] = h
            q_prv[x] = S
            q_prv[h] = x
            q_nxt[S] = x
            q_size += 1
        if demote:  # the bottom LIR page becomes HIR at the end of Q
            b = s_prv[S]
            a = s_prv[b]
            s_nxt[a] = S
            s_prv[S] = a
            in_s[b] = 0
            status[b] = HIR
            h = q_nxt[S]
            q_nxt[b] = h
            q_prv[b] = S
            q_prv[h] = b
            q_nxt[S] = b
            q_size += 1
            nlir -= 1
            prune = True
        if prune:
            while s_prv[S] != S and status[s_prv[S]] != LIR:
                y = s_prv[S]
                a = s_prv[y]
                s_nxt[a] = S
                s_prv[S] = a
                in_s[y] = 0
                if status[y] == GHOST:
                    status[y] = 0
    return misses


@kernel("lirs", hir=0.01)
def run_lirs(prep: Prepared, frames: int, flags: np.ndarray, hir: float) -> int:
    """LIRS with Lhirs = max(1, int(hir * frames)) HIR frames."""
    llirs = max(1, frames - max(1, int(hir * frames)))
    return int(lirs_kernel(prep.ids, prep.n_ids, frames, flags, llirs))
