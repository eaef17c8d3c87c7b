"""FIFO kernel: a ring of frames; the slot after the last loaded holds the oldest page."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead


@njit(cache=True, nogil=True)
def fifo_kernel(
    ids: np.ndarray, res: np.ndarray, ring: np.ndarray, sc: np.ndarray, frames: int,
    flags: np.ndarray,
) -> int:  # fmt: skip
    """FIFO over a ring buffer of frames (sc: hand, count); returns the misses."""
    hand = sc[0]
    count = sc[1]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, res)
        p = ids[t]
        if res[p]:
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            res[ring[hand]] = 0
        else:
            count += 1
        ring[hand] = p
        res[p] = 1
        hand += 1
        if hand == frames:
            hand = 0
    sc[0] = hand
    sc[1] = count
    return misses


@stateful("fifo")
class Fifo(State):
    """FIFO."""

    PAGE: ClassVar[Arrays] = {"res": (np.uint8, 0)}
    FRAME: ClassVar[Arrays] = {"ring": (np.int32, 0)}
    SCALARS = 2

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(fifo_kernel(ids, self.res, self.ring, self.sc, self.frames, flags))
