"""CLOCK kernel: the fixed-slot clock (a new page takes the victim's slot, the hand moves on).

state[p]: 0 not resident, 1 resident with accessed bit clear, 2 resident with it set.
With `load_sets_refbit` the miss that loads a page sets its accessed bit (as the
reference replay does by default); without, a new page starts clear (libCacheSim's
Clock with init_freq 0).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead


@njit(cache=True, nogil=True)
def clock_kernel(
    ids: np.ndarray, state: np.ndarray, ring: np.ndarray, sc: np.ndarray, frames: int,
    flags: np.ndarray, load_set: bool,
) -> int:  # fmt: skip
    """Second chance over a ring of frames (sc: hand, count); returns the misses."""
    loaded = np.uint8(2 if load_set else 1)
    hand = sc[0]
    count = sc[1]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, state)
        p = ids[t]
        if state[p]:  # resident: its accessed bit set (stored whether or not it was)
            state[p] = 2
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            while state[ring[hand]] == 2:
                state[ring[hand]] = 1
                hand += 1
                if hand == frames:
                    hand = 0
            state[ring[hand]] = 0
        else:
            count += 1
        ring[hand] = p
        state[p] = loaded
        hand += 1
        if hand == frames:
            hand = 0
    sc[0] = hand
    sc[1] = count
    return misses


@stateful("clock", load_sets_refbit=True)
class Clock(State):
    """CLOCK; option load_sets_refbit (default True)."""

    PAGE: ClassVar[Arrays] = {"state": (np.uint8, 0)}
    FRAME: ClassVar[Arrays] = {"ring": (np.int32, 0)}
    SCALARS = 2

    def setup(self, load_sets_refbit: Any = True, **_: Any) -> None:
        """Keep the option."""
        self.load_set = bool(load_sets_refbit)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        sc, st = self.sc, self.state
        return int(clock_kernel(ids, st, self.ring, sc, self.frames, flags, self.load_set))
