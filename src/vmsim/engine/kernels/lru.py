"""LRU and MRU kernels.

LRU needs no list: the references themselves are the queue of uses. `last[p]` is the
position in the queue of p's latest use (-1: never used); the least recently used
resident page is the first position `front` whose reference is still its page's
latest use, and the resident pages are exactly those whose latest use is at `front` or
after (no position between `front` and that first one is anyone's latest use). Positions
before it are stale and skipped once, so eviction costs O(1) amortised and writes
nothing (the evicted page's latest use is now before `front`), and a hit is a single
store. A whole trace is its own queue; a stream copies each chunk behind the queue's
live part (`Lru.feed`), after squeezing out the stale uses when the buffer is full
(the pages evicted meanwhile reset to -1, as the live uses are renumbered from 0): the
buffer holds at most frames + 2 chunks.
LRU runs blocks of BLOCK references (kernels/blocks.py), each in the loop that the last
block's miss ratio suits: with a branch on hit or miss, or without (`_lru_select`).
MRU keeps a doubly linked recency list (prev -2 = not resident) and evicts at the head.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.kernels.blocks import BLOCK, branch_free_next
from vmsim.engine.prefetch import prefetch_ahead


@njit(cache=True, nogil=True)
def recency_kernel(
    ids: np.ndarray, prev: np.ndarray, nxt: np.ndarray, sc: np.ndarray, frames: int,
    flags: np.ndarray, mru: bool,
) -> int:  # fmt: skip
    """Recency list, most recent at head (sc: head, tail, count); evict the tail (LRU) or
    the head (MRU). Returns the misses."""
    head = sc[0]
    tail = sc[1]
    count = sc[2]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, prev)
        p = ids[t]
        pp = prev[p]
        if pp != -2:
            if p != head:
                nn = nxt[p]
                nxt[pp] = nn
                if nn >= 0:
                    prev[nn] = pp
                else:
                    tail = pp
                prev[p] = -1
                nxt[p] = head
                prev[head] = p
                head = p
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            if mru:
                v = head
                head = nxt[v]
                if head >= 0:
                    prev[head] = -1
                else:
                    tail = -1
            else:
                v = tail
                tail = prev[v]
                if tail >= 0:
                    nxt[tail] = -1
                else:
                    head = -1
            prev[v] = -2
        else:
            count += 1
        prev[p] = -1
        nxt[p] = head
        if head >= 0:
            prev[head] = p
        else:
            tail = p
        head = p
    sc[0] = head
    sc[1] = tail
    sc[2] = count
    return misses


SELECT_MIN, SELECT_MAX = 0.30, 0.93
"""Miss ratios between these take the loop without a branch on hit or miss (`_lru_select`):
there the branch is a coin toss for the predictor (Zipf 0.9 at 10,000 frames: 92 -> 130
M/s); near all hits or all misses the branchy loop (`_lru_branch`) is faster (95 % hits:
350 against 270 M/s)."""


@njit(cache=True, nogil=True)
def _lru_branch(
    q: np.ndarray, lo: int, hi: int, start: int, last: np.ndarray, front: int, count: int,
    frames: int, flags: np.ndarray,
) -> tuple[int, int, int]:  # fmt: skip
    """LRU over positions lo..hi-1 of q, a branch per reference: (front, count, misses)."""
    misses = 0
    record = len(flags) > 0
    for t in range(lo, hi):
        prefetch_ahead(q, t, last)
        p = q[t]
        if last[p] >= front:  # resident
            last[p] = t
            continue
        misses += 1
        if record:
            flags[t - start] = 1
        if count == frames:
            while last[q[front]] != front:  # skip uses that are no longer the latest
                front += 1
            front += 1  # q[front]'s page is evicted: its latest use is now before front
        else:
            count += 1
        last[p] = t
    return front, count, misses


@njit(cache=True, nogil=True)
def _lru_select(
    q: np.ndarray, lo: int, hi: int, start: int, last: np.ndarray, front: int, count: int,
    frames: int, flags: np.ndarray,
) -> tuple[int, int, int]:  # fmt: skip
    """LRU over positions lo..hi-1 of q, no branch on hit or miss: (front, count, misses).

    Once every frame is used, each reference skips the stale uses at the front (always
    safe: a stale use stays stale), so q[front] is the least recent page, and a miss
    (m = 1) evicts it by moving the front on; a hit leaves the front as it is.
    """
    misses = 0
    record = len(flags) > 0
    for t in range(lo, hi):
        prefetch_ahead(q, t, last)
        p = q[t]
        m = int(last[p] < front)
        if count == frames:
            while last[q[front]] != front:
                front += 1
            front += m
        else:
            count += m
        last[p] = t
        misses += m
        if record:
            flags[t - start] = m
    return front, count, misses


@njit(cache=True, nogil=True)
def lru_kernel(
    q: np.ndarray, start: int, last: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray
) -> int:
    """Exact LRU over the queue of uses q, running its positions start.. (sc: front, count;
    flags indexed from start). Returns the misses."""
    front = sc[0]
    count = sc[1]
    misses = 0
    n = len(q)
    select = False
    for lo in range(start, n, BLOCK):
        hi = min(n, lo + BLOCK)
        if select:
            front, count, m = _lru_select(q, lo, hi, start, last, front, count, frames, flags)
        else:
            front, count, m = _lru_branch(q, lo, hi, start, last, front, count, frames, flags)
        misses += m
        select = branch_free_next(m, hi - lo, SELECT_MIN, SELECT_MAX)
    sc[0] = front
    sc[1] = count
    return misses


@njit(cache=True, nogil=True)
def squeeze(src: np.ndarray, front: int, end: int, last: np.ndarray, dst: np.ndarray) -> int:
    """Copy the latest uses among src[front:end] to the start of dst, in order (dst may be
    src), renumbering them from 0; return how many. The pages evicted since the queue
    began get -1, as never used (renumbered, their old positions would read as resident):
    each has its latest use before front (an older one was reset by the squeeze before)."""
    for t in range(front):
        p = src[t]
        if last[p] < front:
            last[p] = -1
    k = 0
    for t in range(front, end):
        p = src[t]
        if last[p] == t:
            dst[k] = p
            last[p] = k
            k += 1
    return k


@stateful("lru")
class Lru(State):
    """Exact LRU."""

    PAGE: ClassVar[Arrays] = {"last": (np.int32, -1)}
    SCALARS = 2

    def __init__(self, frames: int, n_ids: int = 0, **options: object) -> None:
        super().__init__(frames, n_ids, **options)
        self.q = np.empty(0, np.int32)  # the queue of uses
        self.end = 0
        self.own = False  # whether q is the buffer (else the first chunk itself)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk: the first runs where it lies (a whole trace: no copy), the others are
        copied behind the queue's live part."""
        if self.t == 0:
            if len(ids) >= 2**31 - 1:
                setattr(self, "last", self.last.astype(np.int64))  # noqa: B010 (a PAGE array)
            self.q, self.end = ids, len(ids)
            return int(lru_kernel(ids, 0, self.last, self.sc, self.frames, flags))
        self._make_room(len(ids))
        start = self.end
        self.end += len(ids)
        self.q[start : self.end] = ids
        q = self.q[: self.end]
        return int(lru_kernel(q, start, self.last, self.sc, self.frames, flags))

    def _make_room(self, n: int) -> None:
        """Squeeze the stale uses out of the buffer unless n more fit (never writing into
        the first chunk, the caller's array); grow the buffer if needed."""
        if self.own and self.end + n <= len(self.q):
            return
        k = int(self.sc[1])  # the live uses: one per resident page
        fits = self.own and k + n <= len(self.q)
        dst = self.q if fits else np.empty(2 * (k + n), np.int32)
        squeeze(self.q, int(self.sc[0]), self.end, self.last, dst)
        self.sc[0] = 0
        self.q, self.end, self.own = dst, k, True


@stateful("mru")
class Mru(State):
    """MRU: evict the most recently used (or loaded) page."""

    PAGE: ClassVar[Arrays] = {"prev": (np.int32, -2), "nxt": (np.int32, 0)}
    SCALARS = 3

    def setup(self, **_: object) -> None:
        """Empty list: no head, no tail."""
        self.sc[:2] = -1

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(recency_kernel(ids, self.prev, self.nxt, self.sc, self.frames, flags, True))
