"""SIEVE kernel: a queue (head newest) with visited bits and a hand moving toward the head."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead


@njit(cache=True, nogil=True)
def sieve_kernel(
    ids: np.ndarray, state: np.ndarray, newer: np.ndarray, older: np.ndarray, sc: np.ndarray,
    frames: int, flags: np.ndarray,
) -> int:  # fmt: skip
    """SIEVE: newer[p] points toward the head, older[p] toward the tail (sc: head, tail,
    hand, count); state 0 not resident, 1 resident, 2 resident and visited."""
    head = sc[0]
    tail = sc[1]
    hand = sc[2]
    count = sc[3]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, state, newer, older)
        p = ids[t]
        if state[p]:
            state[p] = 2
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            o = hand if hand >= 0 else tail
            while state[o] == 2:
                state[o] = 1
                o = newer[o] if newer[o] >= 0 else tail
            hand = newer[o]
            state[o] = 0
            a, b = older[o], newer[o]  # unlink o
            if a >= 0:
                newer[a] = b
            else:
                tail = b
            if b >= 0:
                older[b] = a
            else:
                head = a
        else:
            count += 1
        state[p] = 1
        older[p] = head
        newer[p] = -1
        if head >= 0:
            newer[head] = p
        else:
            tail = p
        head = p
    sc[0] = head
    sc[1] = tail
    sc[2] = hand
    sc[3] = count
    return misses


@stateful("sieve")
class Sieve(State):
    """SIEVE."""

    PAGE: ClassVar[Arrays] = {
        "state": (np.uint8, 0),
        "newer": (np.int32, 0),
        "older": (np.int32, 0),
    }
    SCALARS = 4

    def setup(self, **_: object) -> None:
        """No head, tail or hand."""
        self.sc[:3] = -1

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        st, nw, od = self.state, self.newer, self.older
        return int(sieve_kernel(ids, st, nw, od, self.sc, self.frames, flags))
