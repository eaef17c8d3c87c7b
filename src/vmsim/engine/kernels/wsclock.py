"""WSCLOCK kernel: the working-set clock of `policies.wsclock`, in virtual time.

The pages sit on a ring with a hand; a new page goes just behind the hand. Each page
records when it was last seen referenced (-1 until the hand first reaches it). The
hand sweeps once at most: a referenced page has its accessed bit cleared and its time
set to now; an unreferenced page older than tau is evicted if clean, else the first
such dirty page is remembered. No clean old page: the first old dirty one goes; no old
page at all: the page at the hand. The dirty bit comes from Prepared.writes.

`wsclock_sweep_kernel` runs that sweep page by page (O(frames) a miss when the window
holds most pages). `wsclock_kernel` gives the same misses without visiting the young
pages: the ring is laid out in a circular array of slots (holes where pages left, the
hand an index, ring order the slot order from the hand), under a segment tree of
minimums per slot: the time of an unreferenced clean page, of any unreferenced page,
and whether the page needs the hand's visit (referenced, or never reached). A sweep is
then a search for the first clean old page from the hand; only the pages that need a
visit before it are touched (each one once per reference that set its bit); a full
revolution touches only those, then searches the first old dirty page. A new page goes
into the hole just behind the hand; where there is none (the page that left was an old
dirty one away from the hand), the pages from the hand to the next hole move up a slot,
or, that hole being far, the ring is spread out again with a hole after every page.

The state (`WsClock`) carries across chunks of a stream: per-page arrays grown with
the ids, and the slots and tree sized to 2 min(frames, page capacity) + 2, laid out
again (spread) when the capacity grows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead
from vmsim.engine.prepared import written
from vmsim.errors import ConfigError

ACCESSED = 1
DIRTY = 2
RESIDENT = 4

INF = np.iinfo(np.int64).max
"""A slot's value where the page is not a candidate (or no page is there)."""
CLEAN, ANY, VISIT, PRESENT, HOLE = 0, 1, 2, 3, 4
"""Columns of the tree: time of an unreferenced clean page; of any unreferenced page; 0 if
the page needs the hand's visit; 0 if a page is in the slot; 0 if the slot is a hole."""
SHIFT_LIMIT = 128
"""The most pages moved to make room behind the hand; past it the ring is spread out."""


@njit(cache=True, nogil=True)
def _set_leaf(tree: np.ndarray, size: int, i: int, page: int, state: np.ndarray,
              last: np.ndarray) -> None:  # fmt: skip
    """Recompute slot i's values (page -1: a hole) and the minimums above it."""
    j = size + i
    _put(tree, j, page, state, last)
    j >>= 1
    while j >= 1:
        for r in range(5):
            a, b = tree[2 * j, r], tree[2 * j + 1, r]
            tree[j, r] = a if a < b else b
        j >>= 1


@njit(cache=True, nogil=True)
def _first_below(tree: np.ndarray, row: int, size: int, lo: int, hi: int, thr: int,
                 stack: np.ndarray) -> int:  # fmt: skip
    """The first slot in [lo, hi) whose value in `row` is below thr, or -1."""
    if lo >= hi:
        return -1
    l, r = lo + size, hi + size
    nl, nr = 0, 64
    while l < r:
        if l & 1:
            stack[nl] = l
            nl += 1
            l += 1
        if r & 1:
            r -= 1
            nr -= 1
            stack[nr] = r
        l >>= 1
        r >>= 1
    for k in range(nl + 64 - nr):
        node = stack[k] if k < nl else stack[nr + k - nl]
        if tree[node, row] < thr:
            while node < size:
                node = 2 * node if tree[2 * node, row] < thr else 2 * node + 1
            return node - size
    return -1


@njit(cache=True, nogil=True)
def _first_from(tree: np.ndarray, row: int, size: int, slots: int, start: int, thr: int,
                stack: np.ndarray) -> int:  # fmt: skip
    """The first slot from `start` on, round the ring, whose value is below thr, or -1."""
    i = _first_below(tree, row, size, start, slots, thr, stack)
    return i if i >= 0 else _first_below(tree, row, size, 0, start, thr, stack)


@njit(cache=True, nogil=True)
def _visit(tree: np.ndarray, size: int, lo: int, hi: int, t: int, slot: np.ndarray,
           state: np.ndarray, last: np.ndarray, stack: np.ndarray) -> None:  # fmt: skip
    """The hand's visit to the pages in slots [lo, hi) that need one: time now, bit clear."""
    i = _first_below(tree, VISIT, size, lo, hi, 1, stack)
    while i >= 0:
        q = slot[i]
        last[q] = t
        state[q] &= ~ACCESSED
        _set_leaf(tree, size, i, q, state, last)
        i = _first_below(tree, VISIT, size, i + 1, hi, 1, stack)


@njit(cache=True, nogil=True)
def wsclock_chunk(
    ids: np.ndarray, t0: int, state: np.ndarray, last: np.ndarray, pos: np.ndarray,
    tree: np.ndarray, slot: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray,
    wbits: np.ndarray, tau: int,
) -> int:  # fmt: skip
    """WSClock with window tau (references) on one chunk, sweeping by tree search; t0: the
    references before it (wbits and flags are the chunk's); sc: hand, count."""
    slots = len(slot)
    size = len(tree) // 2
    stack = np.empty(64, np.int64)
    hand = sc[0]
    count = sc[1]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for i in range(n):
        prefetch_ahead(ids, i, state, pos)
        t = t0 + i
        p = ids[i]
        w = written(wbits, i)
        s = state[p]
        if s:
            new = s | ACCESSED | (DIRTY if w else 0)
            if new != s:
                state[p] = new
                _set_leaf(tree, size, pos[p], p, state, last)
            continue
        misses += 1
        if record:
            flags[i] = 1
        if count == frames:
            old = t - tau  # a page is old when last < t - tau
            x = _first_from(tree, CLEAN, size, slots, hand, old, stack)
            if x >= 0:  # the hand stops at the first clean old page
                if x >= hand:
                    _visit(tree, size, hand, x, t, slot, state, last, stack)
                else:
                    _visit(tree, size, hand, slots, t, slot, state, last, stack)
                    _visit(tree, size, 0, x, t, slot, state, last, stack)
                v = hand = x
            else:  # a whole revolution, then the first old dirty page, else the hand's
                _visit(tree, size, 0, slots, t, slot, state, last, stack)
                v = _first_from(tree, ANY, size, slots, hand, old, stack)
                if v < 0:
                    v = hand
            state[slot[v]] = 0
            slot[v] = -1
            _set_leaf(tree, size, v, -1, state, last)
            if v == hand:
                hand = _first_from(tree, PRESENT, size, slots, v, 1, stack)
        else:
            count += 1
        state[p] = RESIDENT | ACCESSED | (DIRTY if w else 0)
        last[p] = -1
        if hand < 0:
            hand = 0
            _place(tree, size, 0, p, slot, pos, state, last)
            continue
        behind = hand - 1 if hand > 0 else slots - 1
        if slot[behind] < 0:
            _place(tree, size, behind, p, slot, pos, state, last)
            continue
        # no hole just behind the hand: move the pages from the hand to the next hole on
        # by one slot, or, when that hole is far, spread the ring out again
        hole = _first_from(tree, HOLE, size, slots, hand, 1, stack)
        if (hole - hand) % slots > SHIFT_LIMIT:
            hand = _spread(tree, size, slots, hand, slot, pos, state, last)
            _place(tree, size, slots - 1, p, slot, pos, state, last)
            continue
        k = hole
        while k != hand:
            before = k - 1 if k > 0 else slots - 1
            q = slot[before]
            slot[k] = q
            pos[q] = k
            _put(tree, size + k, q, state, last)
            k = before
        slot[hand] = p
        pos[p] = hand
        _put(tree, size + hand, p, state, last)
        _pull_round(tree, size, slots, hand, hole + 1 if hole + 1 < slots else 0)
        hand = hand + 1 if hand + 1 < slots else 0
    sc[0] = hand
    sc[1] = count
    return misses


@njit(cache=True, nogil=True)
def _spread(tree: np.ndarray, size: int, slots: int, hand: int, slot: np.ndarray,
            pos: np.ndarray, state: np.ndarray, last: np.ndarray) -> int:  # fmt: skip
    """Lay the ring out again from slot 0, a hole after every page; return the hand (0)."""
    ring = np.empty(slots, np.int64)
    n = 0
    for k in range(slots):
        q = slot[(hand + k) % slots]
        if q >= 0:
            ring[n] = q
            n += 1
    slot[:] = -1
    for i in range(n):
        slot[2 * i] = ring[i]
        pos[ring[i]] = 2 * i
    for i in range(slots):
        _put(tree, size + i, slot[i], state, last)
    _pull(tree, size, 0, slots)
    return 0


@njit(cache=True, nogil=True)
def _place(tree: np.ndarray, size: int, i: int, page: int, slot: np.ndarray, pos: np.ndarray,
           state: np.ndarray, last: np.ndarray) -> None:  # fmt: skip
    """Put a page in slot i."""
    slot[i] = page
    pos[page] = i
    _set_leaf(tree, size, i, page, state, last)


@njit(cache=True, nogil=True)
def _put(tree: np.ndarray, j: int, page: int, state: np.ndarray, last: np.ndarray) -> None:
    """Tree node j's values for a page (-1: a hole), leaving the nodes above stale."""
    if page < 0:
        tree[j, CLEAN] = tree[j, ANY] = INF
        tree[j, VISIT] = tree[j, PRESENT] = 1
        tree[j, HOLE] = 0
        return
    s = state[page]
    visit = (s & ACCESSED) != 0 or last[page] < 0
    tree[j, VISIT] = 0 if visit else 1
    tree[j, ANY] = INF if visit else last[page]
    tree[j, CLEAN] = INF if visit or (s & DIRTY) else last[page]
    tree[j, PRESENT] = 0
    tree[j, HOLE] = 1


@njit(cache=True, nogil=True)
def _pull(tree: np.ndarray, size: int, lo: int, hi: int) -> None:
    """Recompute the minimums above the slots [lo, hi)."""
    if lo >= hi:
        return
    a, b = (lo + size) >> 1, (hi - 1 + size) >> 1
    while a >= 1:
        for j in range(a, b + 1):
            for r in range(5):
                x, y = tree[2 * j, r], tree[2 * j + 1, r]
                tree[j, r] = x if x < y else y
        a >>= 1
        b >>= 1


@njit(cache=True, nogil=True)
def _pull_round(tree: np.ndarray, size: int, slots: int, lo: int, hi: int) -> None:
    """_pull over slots [lo, hi) round the array."""
    if lo <= hi:
        _pull(tree, size, lo, hi)
    else:
        _pull(tree, size, lo, slots)
        _pull(tree, size, 0, hi)


@njit(cache=True, nogil=True)
def wsclock_sweep_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, wbits: np.ndarray, tau: int
) -> int:
    """WSClock with window tau (references), the hand visiting page after page."""
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


@njit(cache=True, nogil=True)
def _regrow(old: np.ndarray, hand: int, slot: np.ndarray, tree: np.ndarray, pos: np.ndarray,
            state: np.ndarray, last: np.ndarray) -> int:  # fmt: skip
    """The ring of old (from the hand on) into the larger slot array, a hole after every
    page, and its tree; returns the hand (0, or -1 for an empty ring)."""
    size = len(tree) // 2
    n = 0
    for k in range(len(old)):
        q = old[(hand + k) % len(old)] if hand >= 0 else -1
        if q >= 0:
            slot[2 * n] = q
            pos[q] = 2 * n
            n += 1
    for i in range(len(slot)):
        _put(tree, size + i, slot[i], state, last)
    _pull(tree, size, 0, len(slot))
    return 0 if n else -1


def _empty_tree(slots: int) -> np.ndarray:
    """A tree over `slots` holes."""
    size = 1
    while size < slots:
        size *= 2
    tree = np.full((2 * size, 5), INF, np.int64)
    tree[:, VISIT] = 1
    tree[:, PRESENT] = 1
    tree[:, HOLE] = 0
    return tree


@stateful("wsclock", tau=1000)
class WsClock(State):
    """WSCLOCK; option tau (the working-set window in references, default 1000)."""

    PAGE: ClassVar[Arrays] = {
        "state": (np.uint8, 0),
        "last": (np.int64, 0),
        "pos": (np.int64, 0),
    }
    SCALARS = 2

    def setup(self, tau: int = 1000, **_: Any) -> None:
        """Check tau; no hand yet, no slots."""
        if tau < 1:
            raise ConfigError("tau", tau, "at least 1 reference")
        self.tau = int(tau)
        self.sc[0] = -1
        self.slot = np.full(0, -1, np.int64)
        self.tree = _empty_tree(0)

    def reserve(self, n_ids: int, exact: bool = False) -> None:
        """Room for n_ids pages; the slots grow to 2 min(frames, capacity) + 2 (spread)."""
        super().reserve(n_ids, exact)
        slots = 2 * min(self.frames, max(self.cap, 1)) + 2
        if slots > len(self.slot):
            slot = np.full(slots, -1, np.int64)
            tree = _empty_tree(slots)
            self.sc[0] = _regrow(self.slot, int(self.sc[0]), slot, tree, self.pos, self.state,
                                 self.last)  # fmt: skip
            self.slot, self.tree = slot, tree

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(
            wsclock_chunk(ids, self.t, self.state, self.last, self.pos, self.tree, self.slot,
                          self.sc, self.frames, flags, wbits, self.tau)
        )  # fmt: skip


def wsclock_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, wbits: np.ndarray, tau: int
) -> int:
    """WSClock by tree search on a whole trace (one chunk): its misses."""
    return WsClock(frames, n_ids, tau=tau).feed(ids, n_ids, wbits, flags)
