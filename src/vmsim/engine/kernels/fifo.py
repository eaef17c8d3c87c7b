"""FIFO kernel: a ring of frames; the slot after the last loaded holds the oldest page.

The kernel runs blocks of BLOCK references (kernels/blocks.py), each in the loop that the
last block's miss ratio suits: with a branch on hit or miss, or without (`_fifo_select`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.kernels.blocks import BLOCK, branch_free_next
from vmsim.engine.prefetch import prefetch_ahead

SELECT_MIN, SELECT_MAX = 0.10, 0.93
"""Miss ratios between these take the branch-free loop (`_fifo_select`): there a hit or a
miss is too close to a coin toss for the branch predictor (Zipf 0.9, 10,000 frames: 210 ->
420 M/s). Near all hits or all misses the branch is predicted and the branchy loop
(`_fifo_branch`) is faster (94 % hits: 720 against 480 M/s)."""


@njit(cache=True, nogil=True)
def _fifo_branch(
    ids: np.ndarray, res: np.ndarray, ring: np.ndarray, hand: int, count: int, frames: int,
    flags: np.ndarray,
) -> tuple[int, int, int]:  # fmt: skip
    """FIFO over a block of ids with a branch per reference: (hand, count, misses)."""
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
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
    return hand, count, misses


@njit(cache=True, nogil=True)
def _fifo_select(
    ids: np.ndarray, res: np.ndarray, ring: np.ndarray, hand: int, count: int, frames: int,
    flags: np.ndarray,
) -> tuple[int, int, int]:  # fmt: skip
    """FIFO over a block of ids without a branch on hit or miss: (hand, count, misses).

    The victim (the oldest page, ring[hand] once every frame is used) stays in a register;
    every reference writes its page to ring[hand], which only a miss keeps (it moves the
    hand on), and the victim is put back there at the end. Only `count == frames` branches,
    and it is the same for all but the first `frames` misses.
    """
    misses = 0
    record = len(flags) > 0
    victim = np.int64(ring[hand])
    for t in range(len(ids)):
        prefetch_ahead(ids, t, res)
        p = ids[t]
        m = np.int64(1) - res[p]  # 1 on a miss
        if count == frames:
            res[victim] = 1 - m  # a miss evicts the victim (never p, which is not resident)
        else:
            count += m
        res[p] = 1
        ring[hand] = p
        misses += m
        if record:
            flags[t] = m
        hand += m
        hand &= -int(hand != frames)  # back to 0 at the end of the ring
        victim += m * (np.int64(ring[hand]) - victim)  # the next victim after a miss
    ring[hand] = victim
    return hand, count, misses


@njit(cache=True, nogil=True)
def fifo_kernel(
    ids: np.ndarray, res: np.ndarray, ring: np.ndarray, sc: np.ndarray, frames: int,
    flags: np.ndarray,
) -> int:  # fmt: skip
    """FIFO over a ring buffer of frames (sc: hand, count); returns the misses."""
    hand = sc[0]
    count = sc[1]
    misses = 0
    n = len(ids)
    record = len(flags) > 0
    select = False
    for lo in range(0, n, BLOCK):
        hi = min(n, lo + BLOCK)
        block = ids[lo:hi]
        fl = flags[lo:hi] if record else flags
        if select:
            hand, count, m = _fifo_select(block, res, ring, hand, count, frames, fl)
        else:
            hand, count, m = _fifo_branch(block, res, ring, hand, count, frames, fl)
        misses += m
        select = branch_free_next(m, hi - lo, SELECT_MIN, SELECT_MAX)
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
