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

from typing import Any, ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prepared import written
from vmsim.errors import ConfigError

ACCESSED = 1
DIRTY = 2
RESIDENT = 4


@njit(cache=True, nogil=True)
def wsclock_kernel(
    ids: np.ndarray, t0: int, state: np.ndarray, last: np.ndarray, nxt: np.ndarray,
    prv: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray, wbits: np.ndarray,
    tau: int,
) -> int:  # fmt: skip
    """WSClock with window tau (references); t0: the references before this chunk (wbits
    and flags are the chunk's); sc: hand, count."""
    hand = sc[0]
    count = sc[1]
    misses = 0
    record = len(flags) > 0
    for i in range(len(ids)):
        t = t0 + i
        p = ids[i]
        w = written(wbits, i)
        s = state[p]
        if s:
            state[p] = s | ACCESSED | (DIRTY if w else 0)
            continue
        misses += 1
        if record:
            flags[i] = 1
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
    sc[0] = hand
    sc[1] = count
    return misses


@stateful("wsclock", tau=1000)
class WsClock(State):
    """WSCLOCK; option tau (the working-set window in references, default 1000)."""

    PAGE: ClassVar[Arrays] = {
        "state": (np.uint8, 0),
        "last": (np.int64, 0),
        "nxt": (np.int32, 0),
        "prv": (np.int32, 0),
    }
    SCALARS = 2

    def setup(self, tau: int = 1000, **_: Any) -> None:
        """Check tau; no hand yet."""
        if tau < 1:
            raise ConfigError("tau", tau, "at least 1 reference")
        self.tau = int(tau)
        self.sc[0] = -1

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(
            wsclock_kernel(ids, self.t, self.state, self.last, self.nxt, self.prv, self.sc,
                           self.frames, flags, wbits, self.tau)
        )  # fmt: skip
