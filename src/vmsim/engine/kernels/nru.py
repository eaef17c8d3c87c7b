"""NRU kernel: the enhanced clock of `policies.nru` on the accessed and dirty bits.

A fixed-slot ring as in clock.py (every victim of `Nru` is the page at the hand, so the
new page takes its slot). The hand makes rounds from where it stands: round 1 looks
for class (0,0) and changes nothing; round 2 looks for (0,1) and clears the accessed
bit of every page it passes; twice. The dirty bit is set by a write (Prepared.writes)
and cleared when the page is evicted. Round 1 changes nothing, so it is a search: a
bitset over the slots marks the pages of class (0,0), and round 1 is a find-next-set-bit
from the hand (64 slots a step), skipped when no page is in that class. Round 2 clears
an accessed bit at each step but the last, so its cost is paid by the references.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead
from vmsim.engine.prepared import written

ACCESSED = 1
DIRTY = 2
RESIDENT = 4


@njit(cache=True, nogil=True, inline="always")
def _mark(bits: np.ndarray, slot: int, on: bool) -> None:
    """Set or clear the bit of slot."""
    m = np.uint64(1) << np.uint64(slot & 63)
    if on:
        bits[slot >> 6] |= m
    else:
        bits[slot >> 6] &= ~m


@njit(cache=True, nogil=True)
def _next_set(bits: np.ndarray, start: int, frames: int) -> int:
    """The first set slot at or after start, cyclically (some bit is set)."""
    nw = len(bits)
    w = start >> 6
    word = bits[w] & (~np.uint64(0) << np.uint64(start & 63))
    for _ in range(nw + 1):
        if word:
            low = word & (~word + np.uint64(1))  # the lowest set bit
            slot = w * 64
            while low > np.uint64(1):
                low >>= np.uint64(1)
                slot += 1
            return slot
        w = w + 1 if w + 1 < nw else 0
        word = bits[w]
    return start


@njit(cache=True, nogil=True)
def nru_kernel(
    ids: np.ndarray, state: np.ndarray, slot_of: np.ndarray, ring: np.ndarray,
    clean_bits: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray, wbits: np.ndarray,
) -> int:  # fmt: skip
    """Enhanced second chance; wbits: packed write bits (empty: no writes); clean_bits: the
    slots of class (0,0); sc: hand, count, clean (resident pages of class (0,0))."""
    hand = sc[0]
    count = sc[1]
    clean = sc[2]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, state, slot_of)
        p = ids[t]
        w = written(wbits, t)
        s = state[p]
        if s:
            if s == RESIDENT:
                clean -= 1
                _mark(clean_bits, slot_of[p], False)
            state[p] = s | ACCESSED | (DIRTY if w else 0)
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            found = False
            for _ in range(2):
                if clean:  # round 1: (0,0), no changes
                    hand = _next_set(clean_bits, hand, frames)
                    break
                for _ in range(frames):  # round 2: (0,1), clearing A on the way
                    q = ring[hand]
                    s = state[q]
                    if s & ACCESSED:
                        s = s ^ ACCESSED
                        state[q] = s
                        if s == RESIDENT:
                            clean += 1
                            _mark(clean_bits, hand, True)
                    elif s & DIRTY:
                        found = True
                        break
                    hand = hand + 1 if hand + 1 < frames else 0
                if found:
                    break
            v = ring[hand]
            if state[v] == RESIDENT:
                clean -= 1
                _mark(clean_bits, hand, False)
            state[v] = 0
        else:
            count += 1
        ring[hand] = p
        slot_of[p] = hand
        state[p] = RESIDENT | ACCESSED | (DIRTY if w else 0)
        hand = hand + 1 if hand + 1 < frames else 0
    sc[0] = hand
    sc[1] = count
    sc[2] = clean
    return misses


@stateful("nru")
class Nru(State):
    """NRU (the dirty bits come from the trace's kinds)."""

    PAGE: ClassVar[Arrays] = {"state": (np.uint8, 0), "slot_of": (np.int32, 0)}
    FRAME: ClassVar[Arrays] = {"ring": (np.int32, 0)}
    SCALARS = 3

    def setup(self, **_: object) -> None:
        """No slot of class (0,0) yet."""
        self.clean_bits = np.zeros(0, np.uint64)

    def reserve(self, n_ids: int, exact: bool = False) -> None:
        """Page and frame arrays, and a bit per frame slot."""
        super().reserve(n_ids, exact)
        words = (len(self.ring) + 63) // 64
        if len(self.clean_bits) < words:
            self.clean_bits = np.concatenate(
                [self.clean_bits, np.zeros(words - len(self.clean_bits), np.uint64)]
            )

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(
            nru_kernel(ids, self.state, self.slot_of, self.ring, self.clean_bits, self.sc,
                       self.frames, flags, wbits)
        )  # fmt: skip
