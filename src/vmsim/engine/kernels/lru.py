"""LRU and MRU kernels.

LRU needs no list: the references themselves are the queue of uses. `last[p]` is the
position in the queue of p's latest use (-1: never used); the least recently used
resident page is the first position `front` whose reference is still its page's
latest use, and the resident pages are exactly those whose latest use is at `front` or
after (no position between `front` and that first one is anyone's latest use). Positions
before it are stale and skipped once, so eviction costs O(1) amortised and writes
nothing (the evicted page's latest use is now before `front`). Which positions are
stale is kept by position, a byte each (`stale`): a hit marks its page's former use, so
the skip reads the bytes after the front, in order, and not the `last` of each one's
page (a dependent load from a page-sized array: Zipf 0.9 over 1 M pages 1.2-1.4x
faster, the uniform trace 1.3-1.7x). While frames are free nothing is evicted and no
mark is read, so the fill loop marks nothing; the positions it left stale are marked
once, when the last frame is used (`mark_stale`). A whole trace is its own queue; a
stream copies each chunk behind the queue's live part (`Lru.feed`), after squeezing out
the stale uses when the buffer is full (the pages evicted meanwhile reset to -1, as the
live uses are renumbered from 0, and no mark left): the buffer holds at most frames + 2
chunks.
With every frame used, LRU runs blocks of BLOCK references (kernels/blocks.py), each in
the loop that the last block's miss ratio suits: with a branch on hit or miss, or
without (`_lru_select`).
A whole trace's run splits over threads (`Lru.run_parts`): LRU's state at any point is
its last `frames` distinct pages in recency order, which a part finds by scanning back
from its start (`recent_distinct`) and runs from, in place (`Lru.run_from`).
MRU keeps a doubly linked recency list (prev -2 = not resident) and evicts at the head.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import NO_BITS, Arrays, State, stateful
from vmsim.engine.kernels.blocks import BLOCK, branch_free_next
from vmsim.engine.prefetch import prefetch_ahead
from vmsim.engine.prepared import Prepared


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
def _lru_fill(
    q: np.ndarray, lo: int, start: int, last: np.ndarray, front: int, count: int, frames: int,
    flags: np.ndarray,
) -> tuple[int, int, int]:  # fmt: skip
    """LRU from position lo of q while frames are free (nothing is evicted, nothing goes
    stale that anything reads): (the position after the miss that used the last free
    frame, or len(q); count; misses)."""
    misses = 0
    record = len(flags) > 0
    for t in range(lo, len(q)):
        prefetch_ahead(q, t, last)
        p = q[t]
        if last[p] >= front:  # resident
            last[p] = t
            continue
        last[p] = t
        misses += 1
        if record:
            flags[t - start] = 1
        count += 1
        if count == frames:
            return t + 1, count, misses
    return len(q), count, misses


@njit(cache=True, nogil=True)
def mark_stale(q: np.ndarray, lo: int, hi: int, last: np.ndarray, stale: np.ndarray) -> None:
    """Mark the positions in lo..hi-1 that are no longer their page's latest use (once, when
    the frames fill: the fill loop marks none)."""
    for x in range(lo, hi):
        if last[q[x]] != x:
            stale[x] = 1


@njit(cache=True, nogil=True)
def _lru_branch(
    q: np.ndarray, lo: int, hi: int, start: int, last: np.ndarray, stale: np.ndarray, front: int,
    flags: np.ndarray,
) -> tuple[int, int]:  # fmt: skip
    """LRU over positions lo..hi-1 of q with every frame used, a branch per reference:
    (front, misses)."""
    misses = 0
    record = len(flags) > 0
    for t in range(lo, hi):
        prefetch_ahead(q, t, last)
        p = q[t]
        u = last[p]
        last[p] = t
        if u >= front:  # resident: its former use is stale now
            stale[u] = 1
            continue
        misses += 1
        if record:
            flags[t - start] = 1
        while stale[front]:  # skip uses that are no longer the latest
            front += 1
        front += 1  # q[front]'s page is evicted: its latest use is now before front
    return front, misses


@njit(cache=True, nogil=True)
def _lru_select(
    q: np.ndarray, lo: int, hi: int, start: int, last: np.ndarray, stale: np.ndarray, front: int,
    flags: np.ndarray,
) -> tuple[int, int]:  # fmt: skip
    """LRU over positions lo..hi-1 of q with every frame used, no branch on hit or miss:
    (front, misses).

    Each reference skips the stale uses at the front (always safe: a stale use stays
    stale), so q[front] is the least recent page, and a miss (m = 1) evicts it by moving
    the front on; a hit leaves the front as it is. A miss's stale mark goes to the spare
    last entry of `stale`, which is no position of q.
    """
    misses = 0
    record = len(flags) > 0
    spare = len(stale) - 1
    for t in range(lo, hi):
        prefetch_ahead(q, t, last)
        p = q[t]
        u = last[p]
        m = int(u < front)
        stale[spare if m else u] = 1
        last[p] = t
        while stale[front]:
            front += 1
        front += m
        misses += m
        if record:
            flags[t - start] = m
    return front, misses


@njit(cache=True, nogil=True)
def lru_kernel(
    q: np.ndarray, start: int, last: np.ndarray, stale: np.ndarray, sc: np.ndarray, frames: int,
    flags: np.ndarray,
) -> int:  # fmt: skip
    """Exact LRU over the queue of uses q, running its positions start.. (sc: front, count;
    stale: a mark per position of q, plus a spare entry; flags indexed from start).
    Returns the misses."""
    front = sc[0]
    count = sc[1]
    misses = 0
    n = len(q)
    t = start
    if count < frames:
        t, count, misses = _lru_fill(q, t, start, last, front, count, frames, flags)
        if count == frames:
            mark_stale(q, front, t, last, stale)
    select = False
    for lo in range(t, n, BLOCK):
        hi = min(n, lo + BLOCK)
        if select:
            front, m = _lru_select(q, lo, hi, start, last, stale, front, flags)
        else:
            front, m = _lru_branch(q, lo, hi, start, last, stale, front, flags)
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


@njit(cache=True, nogil=True)
def recent_distinct(
    ids: np.ndarray, end: int, frames: int, seen: np.ndarray, out: np.ndarray
) -> int:
    """The pages of the latest uses before position `end`, most recent first, until `frames`
    of them or the trace's start: out[:k], k returned (seen: zeros, one per id)."""
    k = 0
    for t in range(end - 1, -1, -1):
        p = ids[t]
        if not seen[p]:
            seen[p] = 1
            out[k] = p
            k += 1
            if k == frames:
                break
    return k


def _lru_part(prep: Prepared, frames: int, flags: np.ndarray, lo: int, hi: int) -> int:
    """The misses of positions lo..hi-1 of an LRU run over the whole trace (flags[lo:hi]
    set where they miss). LRU's state at lo is its last `frames` distinct pages in
    recency order: with every frame used, they take the positions just before lo and the
    part runs in place (`Lru.run_from`); with frames still free, fed to an empty LRU
    oldest first, they miss once each (not counted) and leave exactly that state."""
    st = Lru(frames, prep.n_ids)
    part = flags[lo:hi] if len(flags) else NO_BITS
    if not lo:
        return st.feed(prep.ids[:hi], prep.n_ids, NO_BITS, part)
    recent = np.empty(max(1, min(frames, prep.n_ids)), np.int32)
    k = recent_distinct(prep.ids, lo, frames, np.zeros(prep.n_ids, np.uint8), recent)
    if k == frames:
        return st.run_from(prep.ids[:hi], lo, recent, prep.n_ids, part)
    st.feed(recent[:k][::-1].copy(), prep.n_ids)
    return st.feed(prep.ids[lo:hi], prep.n_ids, NO_BITS, part)


@stateful("lru")
class Lru(State):
    """Exact LRU."""

    PAGE: ClassVar[Arrays] = {"last": (np.int32, -1)}
    SCALARS = 2

    @classmethod
    def run_parts(
        cls, prep: Prepared, frames: int, flags: np.ndarray, parts: int, **options: object
    ) -> int | None:
        """The trace in `parts` equal parts, each on a thread of its own from the state the
        parts before it leave (`_lru_part`): the cost of a part's start is a backward
        scan until `frames` distinct pages, short unless the trace so far has fewer.
        None (one run) for a trace of 2**31 references or more (int64 positions)."""
        if len(prep) >= 2**31 - 1:
            return None
        bounds = np.linspace(0, len(prep), parts + 1).astype(np.int64).tolist()
        with ThreadPoolExecutor(parts, thread_name_prefix="vmsim-lru") as pool:
            runs = [
                pool.submit(_lru_part, prep, frames, flags, lo, hi)
                for lo, hi in itertools.pairwise(bounds)
            ]
            return sum(r.result() for r in runs)

    def __init__(self, frames: int, n_ids: int = 0, **options: object) -> None:
        super().__init__(frames, n_ids, **options)
        self.q = np.empty(0, np.int32)  # the queue of uses
        self.stale = np.zeros(1, np.uint8)  # a mark per position of q, then the spare
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
            self.stale = np.zeros(len(ids) + 1, np.uint8)
            return int(lru_kernel(ids, 0, self.last, self.stale, self.sc, self.frames, flags))
        self._make_room(len(ids))
        start = self.end
        self.end += len(ids)
        self.q[start : self.end] = ids
        q = self.q[: self.end]
        return int(lru_kernel(q, start, self.last, self.stale, self.sc, self.frames, flags))

    def run_from(
        self, q: np.ndarray, lo: int, recent: np.ndarray, n_ids: int, flags: np.ndarray
    ) -> int:
        """Run q[lo:] (flags indexed from lo) from the state whose frames, all used, hold
        `recent`, most recent first: they take positions lo - frames .. lo - 1 in recency
        order (the kernel reads q only from lo on: the front's stale marks are its own)."""
        self.reserve(n_ids)
        k = len(recent)
        self.last[recent[::-1]] = np.arange(lo - k, lo)
        self.sc[0], self.sc[1] = lo - k, k
        self.q, self.end = q, len(q)
        self.stale = np.zeros(len(q) + 1, np.uint8)
        m = int(lru_kernel(q, lo, self.last, self.stale, self.sc, self.frames, flags))
        self.t = len(q) - lo
        self.misses += m
        return m

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
        self.stale = np.zeros(len(dst) + 1, np.uint8)  # the squeezed uses are all live


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
