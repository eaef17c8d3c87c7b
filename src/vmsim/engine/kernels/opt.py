"""OPT kernel (Belady's MIN): an indexed 4-ary max-heap of resident pages keyed by next use.

The next use of every reference is computed once per trace (Prepared.next_use; for a
stream, by a backward pass over a spooled copy of the ids: engine/stream.py). On a
hit the page's key grows from now (the smallest key) to its next use: one sift-up.
On a miss with all frames full the root (farthest next use) is replaced by the new
page: one sift-down. A node has ARITY children (4i+1 .. 4i+4): half the levels of a
binary heap, so half the moves (each writes a page's slot in pos, a random store), for
as many comparisons on the way down. Pages never used again tie at len(ids); which of
them goes does not change any later hit or miss, so the misses agree with the reference
replay (which evicts the last loaded of them) reference for reference.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead

ARITY = 4
"""Children a heap node has (1.0-1.5x a binary heap's speed; 8 lost at 1,000 frames);
`_farthest_child` compares exactly four."""
SHIFT = ARITY.bit_length() - 1
"""log2(ARITY): a node i's parent is (i - 1) >> SHIFT."""


@njit(cache=True, nogil=True, inline="always")
def _farthest_child(hk: np.ndarray, c: int, size: int) -> tuple[int, int]:
    """The child c .. c + 3 (those below size) with the farthest next use, the first of
    equals: (slot, key). Four children compare in a tournament without branches (the
    loop's branches went either way: OPT 1.01-1.28x faster, BENCHMARKS.md)."""
    if c + 3 < size:
        k0, k1, k2, k3 = hk[c], hk[c + 1], hk[c + 2], hk[c + 3]
        b01 = c if k0 >= k1 else c + 1
        m01 = k0 if k0 >= k1 else k1
        b23 = c + 2 if k2 >= k3 else c + 3
        m23 = k2 if k2 >= k3 else k3
        return (b01, m01) if m01 >= m23 else (b23, m23)
    best, bk = c, hk[c]
    for j in range(c + 1, size):
        if hk[j] > bk:
            best, bk = j, hk[j]
    return best, bk


@njit(cache=True, nogil=True)
def opt_kernel(
    ids: np.ndarray, nxt: np.ndarray, pos: np.ndarray, hk: np.ndarray, hid: np.ndarray,
    sc: np.ndarray, frames: int, flags: np.ndarray,
) -> int:  # fmt: skip
    """Belady's MIN with next uses precomputed (pos: a page's heap slot, -1 not resident;
    hk, hid: the heap's keys and pages; sc: its size)."""
    size = sc[0]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, pos)
        p = ids[t]
        key = nxt[t]
        i = pos[p]
        if i < 0:
            misses += 1
            if record:
                flags[t] = 1
            if size == frames:
                pos[hid[0]] = -1
                i = 0  # replace the root, then sift down
                while True:
                    c = ARITY * i + 1
                    if c >= size:
                        break
                    best, bk = _farthest_child(hk, c, size)
                    if bk <= key:
                        break
                    hk[i] = bk
                    hid[i] = hid[best]
                    pos[hid[i]] = i
                    i = best
                hk[i] = key
                hid[i] = p
                pos[p] = i
                continue
            i = size
            size += 1
        while i > 0:  # sift up (a hit's key only grows; a new page starts at the bottom)
            parent = (i - 1) >> SHIFT
            if hk[parent] >= key:
                break
            hk[i] = hk[parent]
            hid[i] = hid[parent]
            pos[hid[i]] = i
            i = parent
        hk[i] = key
        hid[i] = p
        pos[p] = i
    sc[0] = size
    return misses


@stateful("opt")
class Opt(State):
    """Belady's MIN."""

    PAGE: ClassVar[Arrays] = {"pos": (np.int32, -1)}
    FRAME: ClassVar[Arrays] = {"hk": (np.int64, 0), "hid": (np.int32, 0)}
    NEXT_USE = True

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk with its references' next uses."""
        assert next_use is not None
        hk, hid, fr = self.hk, self.hid, self.frames
        return int(opt_kernel(ids, next_use, self.pos, hk, hid, self.sc, fr, flags))
