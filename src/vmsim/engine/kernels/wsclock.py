"""WSCLOCK kernel: the working-set clock of `policies.wsclock`, in virtual time.

The pages sit on a linked ring (arrays over page ids) with a hand; a new page goes just
behind the hand. Each page records when it was last seen referenced (-1 until the hand
first reaches it). The hand sweeps once at most: a referenced page has its accessed bit
cleared and its time set to now; an unreferenced page older than tau is evicted if
clean, else the first such dirty page is remembered. No clean old page: the first old
dirty one goes; no old page at all: the page at the hand. A candidate away from the
hand leaves the ring there, so the new page is not in its slot (hence a linked ring,
not clock.py's fixed slots). The dirty bit comes from Prepared.writes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared, written
from vmsim.errors import ConfigError

ACCESSED = 1
DIRTY = 2
RESIDENT = 4


@njit(cache=True, nogil=True)
def wsclock_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, wbits: np.ndarray, tau: int
) -> int:
    """WSClock with window tau (references)."""
    state = np.zeros(n_ids, np.uint8)
    last = np.zeros(n_ids, np.int64)
    nxt = np.empty(n_ids, np.int32)
    prv = np.empty(n_ids, np.int32)
    hand = -1
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        p = ids[t]
        w = written(wbits, t)
        s = state[p]
        if s:
            state[p] = s | ACCESSED | (DIRTY if w else 0)
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            v = -1
            cand = -1
            for _ in range(count):
                q = hand
                if last[q] < 0:
                    last[q] = t
                s = state[q]
                if s & ACCESSED:
                    state[q] = s ^ ACCESSED
                    last[q] = t
                elif t - last[q] > tau:
                    if not s & DIRTY:
                        v = q
                        break
                    if cand < 0:
                        cand = q
                hand = nxt[hand]
            if v < 0:
                v = cand if cand >= 0 else hand
            state[v] = 0
            if nxt[v] == v:
                hand = -1
            else:
                nxt[prv[v]] = nxt[v]
                prv[nxt[v]] = prv[v]
                if hand == v:
                    hand = nxt[v]
        else:
            count += 1
        if hand < 0:
            nxt[p] = prv[p] = p
            hand = p
        else:
            before = prv[hand]
            nxt[before] = p
            prv[p] = before
            nxt[p] = hand
            prv[hand] = p
        state[p] = RESIDENT | ACCESSED | (DIRTY if w else 0)
        last[p] = -1
    return misses


@kernel("wsclock", tau=1000)
def run_wsclock(prep: Prepared, frames: int, flags: np.ndarray, tau: int) -> int:
    """WSCLOCK; option tau (the working-set window in references, default 1000)."""
    if tau < 1:
        raise ConfigError("tau", tau, "at least 1 reference")
    return int(wsclock_kernel(prep.ids, prep.n_ids, frames, flags, prep.write_bits, int(tau)))
