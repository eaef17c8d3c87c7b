"""Exact LRU stack distances in one pass, O(log n) per reference.

The stack distance of a reference is the number of distinct other pages referenced
since the previous reference to the same page (first references are cold misses).
LRU with c frames hits exactly the references whose distance is below c (Mattson
et al. 1970), so one histogram of distances gives the miss count of every size.

Each page's last reference is marked in a bitmap over time positions; the distance
is the number of marks after that position. Counting uses a Fenwick tree over the
64-position words of the bitmap plus a popcount inside the word, which keeps the
tree small enough to stay in cache. When positions run out the live marks are
renumbered in order (compaction), so memory is O(pages), not O(references).
`StackDistances` keeps all of it between chunks of a stream (growing with the pages).

A whole trace is cut into one part per thread. Each part's pass runs on its own; a
reference whose page the part has not seen yet gets its true distance afterwards, by
feeding the part's first uses, in order, to the state at the end of the parts before it
(the pages they bring to the top are exactly the distinct pages of the part so far).
Then the part's pages in the order of their last uses, fed without counting, make the
state at its end for the next part. Only the first and last uses run one after another.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from vmsim.engine.prefetch import prefetch_ahead
from vmsim.engine.threads import thread_count

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(cache=True, nogil=True, inline="always")
def popcount(x: np.uint64) -> np.int64:
    """Number of set bits of a 64-bit word."""
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


BLOCK_WORDS = 8
"""Bitmap words per tree leaf: 512 positions, one cache line."""


@njit(cache=True, nogil=True)
def _rebuild(bits: np.ndarray, tree: np.ndarray, skip_block: int) -> int:
    """Fenwick tree over the mark counts of the bitmap blocks (tree[1..B]), leaving
    out block skip_block; return the marks counted."""
    nb = len(tree) - 1
    tree[:] = 0
    total = 0
    for blk in range(nb):
        if blk == skip_block:
            continue
        c = 0
        for w in range(blk * BLOCK_WORDS, (blk + 1) * BLOCK_WORDS):
            c += int(popcount(bits[w]))
        tree[blk + 1] = c
        total += c
    for i in range(1, nb + 1):
        j = i + (i & -i)
        if j <= nb:
            tree[j] += tree[i]
    return total


DBUF = 4096
"""Distances are buffered and added to the histogram in batches: the scattered
increments then run in a tight loop with many cache misses in flight."""


PROGRESS_REFS = 1 << 22
"""With a progress callback, the pass is fed this many references at a time."""


PARALLEL_MIN_REFS = 1 << 20
"""The fewest references per thread worth a thread of their own."""

PART_REFS_PER_PAGE = 4
"""The fewest references a part holds per distinct page of the trace. A part's state is
some 17 bytes a page and its first and last uses at most two a page, so the parts' state
stays about the size of the ids themselves and the merge at most half a part's work."""


def stack_distance_hist(
    ids: np.ndarray,
    n_ids: int,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, int]:
    """(hist, cold): hist[d] = references at stack distance d; cold = first references.

    workers: threads (default: one per CPU; at most one per PARALLEL_MIN_REFS references
    and per PART_REFS_PER_PAGE * n_ids). progress(n), if given, is told of every
    PROGRESS_REFS references done.
    """
    dtype = np.int32 if len(ids) < 2**31 else np.int64
    most = min(len(ids) // PARALLEL_MIN_REFS, len(ids) // max(PART_REFS_PER_PAGE * n_ids, 1))
    k = thread_count(workers, most)
    if k == 1:
        sd = _one_part(ids, n_ids, dtype, progress)
        return sd.hist, sd.cold
    cuts = [len(ids) * i // k for i in range(k + 1)]
    parts = [ids[a:b] for a, b in itertools.pairwise(cuts)]
    told = _serialized(progress) if progress is not None else None
    with ThreadPoolExecutor(k) as pool:
        done = list(pool.map(lambda part: _one_part(part, n_ids, dtype, told), parts))
    head = done[0]
    for i in range(1, k):
        head.feed(first_uses(parts[i], n_ids), n_ids)  # their true distances
        if i < k - 1:
            head.feed(last_uses(parts[i], n_ids), n_ids, record=False)  # the state after part i
    hist = head.hist
    for sd in done[1:]:
        hist += sd.hist  # the distances within each part
    return hist, head.cold


def _serialized(progress: Callable[[int], None]) -> Callable[[int], None]:
    """progress, called by one thread at a time."""
    lock = threading.Lock()

    def told(n: int) -> None:
        with lock:
            progress(n)

    return told


def _one_part(
    ids: np.ndarray, n_ids: int, dtype: type, progress: Callable[[int], None] | None
) -> StackDistances:
    """The pass over ids alone, from an empty stack, fed PROGRESS_REFS at a time if told."""
    sd = StackDistances(n_ids, dtype)
    if progress is None:
        sd.feed(ids, n_ids)
    else:
        for at in range(0, len(ids), PROGRESS_REFS):
            part = ids[at : at + PROGRESS_REFS]
            sd.feed(part, n_ids)
            progress(len(part))
    return sd


@njit(cache=True, nogil=True)
def first_uses(ids: np.ndarray, n_ids: int) -> np.ndarray:
    """The distinct ids in the order of their first uses."""
    seen = np.zeros(n_ids, np.bool_)
    out = np.empty(min(len(ids), n_ids), ids.dtype)
    k = 0
    for t in range(len(ids)):
        p = ids[t]
        if not seen[p]:
            seen[p] = True
            out[k] = p
            k += 1
    return out[:k]


@njit(cache=True, nogil=True)
def last_uses(ids: np.ndarray, n_ids: int) -> np.ndarray:
    """The distinct ids in the order of their last uses."""
    return first_uses(ids[::-1], n_ids)[::-1].copy()


class StackDistances:
    """The stack-distance pass, fed chunk by chunk: memory O(pages seen)."""

    GROW_MIN = 1024
    """The smallest page capacity a stream grows to."""

    def __init__(self, n_ids: int = 0, dtype: type = np.int64) -> None:
        self.cap = 0
        self.last = np.empty(0, np.int32)
        self.hist: np.ndarray = np.zeros(1, dtype)
        self.bits = np.zeros(0, np.uint64)
        self.tree = np.zeros(1, np.int32)
        self.owner = np.empty(0, np.int32)
        self.dbuf = np.empty(DBUF, np.int64)
        self.sc = np.zeros(5, np.int64)  # cold, in_tree, cur, cur_count, pos
        self.references = 0
        self._grow(max(n_ids, 1))

    @property
    def cold(self) -> int:
        """First references so far (the distinct pages)."""
        return int(self.sc[0])

    def _grow(self, cap: int) -> None:
        """Room for cap pages: positions for twice as many, the live marks renumbered."""
        nb = max(64, (2 * cap + 511) // 512 + 1)
        bits = np.zeros(nb * BLOCK_WORDS, np.uint64)
        bits[: len(self.bits)] = self.bits
        owner = np.empty(nb * 512, np.int32)
        owner[: len(self.owner)] = self.owner
        last = np.full(cap, -1, np.int32)
        last[: len(self.last)] = self.last
        hist = np.zeros(cap + 1, self.hist.dtype)
        hist[: len(self.hist)] = self.hist
        self.bits, self.owner, self.last, self.hist = bits, owner, last, hist
        self.tree = np.zeros(nb + 1, np.int32)
        if self.cap:
            self.sc[1:] = _compact(bits, owner, last, self.tree)
        self.cap = cap

    def feed(self, ids: np.ndarray, n_ids: int, record: bool = True) -> None:
        """The stack distances of a chunk of ids (all below n_ids) into hist; record=False:
        only bring them to the top of the stack, in order (nothing counted)."""
        if n_ids > self.cap:
            self._grow(max(n_ids, 2 * self.cap, self.GROW_MIN) if self.references else n_ids)
        _stack_distances(
            ids, self.last, self.hist, self.bits, self.tree, self.owner, self.dbuf, self.sc,
            record,
        )  # fmt: skip
        if record:
            self.references += len(ids)


@njit(cache=True, nogil=True)
def _compact(
    bits: np.ndarray, owner: np.ndarray, last: np.ndarray, tree: np.ndarray
) -> tuple[int, int, int, int]:
    """Renumber the live marks 0..k-1 in order, rebuild the tree; return the new
    (in_tree, cur, cur_count, pos)."""
    one = np.uint64(1)
    k = 0
    for w in range(len(bits)):
        word = bits[w]
        while word:
            b = np.uint64(popcount((word & (np.uint64(0) - word)) - one))
            q = owner[w * 64 + int(b)]
            owner[k] = q
            last[q] = k
            k += 1
            word &= word - one
    bits[:] = 0
    for j in range(k):
        bits[j >> 6] |= one << np.uint64(j & 63)
    cur = k >> 9
    in_tree = _rebuild(bits, tree, cur)
    return in_tree, cur, k - in_tree, k


@njit(cache=True, nogil=True)
def _stack_distances(
    ids: np.ndarray, last: np.ndarray, hist: np.ndarray, bits: np.ndarray, tree: np.ndarray,
    owner: np.ndarray, dbuf: np.ndarray, sc: np.ndarray, record: bool,
) -> None:  # fmt: skip
    """Add the stack distances of ids to hist (record=False: move them to the top
    only, counting nothing; each must be on the stack already). sc: cold misses,
    marks in the finished blocks (those in the tree), the block being filled, its marks,
    the next position.

    Leaves of the tree are blocks of 8 words (512 positions, one cache line), so
    the tree is small enough for the L1 cache. The block being filled is kept out
    of the tree until it is full (its count is a scalar): setting a mark costs no
    tree update, and a reuse within it needs no tree walk. The distance's two sums
    take no branch that depends on the data (a mispredicted loop end cost more than the
    work it saves): all 8 words of the block, those not after lp's counting 0, and the
    tree's prefix sum over its full depth (tree[0] stays 0, so it adds nothing once the
    index is 0). The `last` entry of the reference PREFETCH places ahead is prefetched,
    so its cache miss overlaps this reference's work. Positions run to twice the pages
    before a compaction.
    """
    nb = len(tree) - 1
    levels = 0  # the bits of nb: the most set bits a tree index has
    while nb >> levels:
        levels += 1
    cap = len(owner)
    nd = 0
    cold = sc[0]
    in_tree = sc[1]
    cur = sc[2]
    cur_count = sc[3]
    pos = sc[4]
    one = np.uint64(1)
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, last)
        p = ids[t]
        lp = last[p]
        if lp < 0:
            cold += 1
        else:
            w = lp >> 6
            b = np.uint64(lp & 63)
            blk = lp >> 9
            if record:  # the distance: the marks after lp (read before lp's mark goes)
                d = popcount(bits[w] & ~((one << b) | ((one << b) - one)))  # in its word
                b0 = blk * BLOCK_WORDS
                for v in range(b0, b0 + BLOCK_WORDS):  # and in its block's later words
                    d += popcount(bits[v]) * (v > w)
                if blk != cur:
                    s = 0  # marks in finished blocks up to blk
                    i = blk + 1
                    for _ in range(levels):  # tree[0] stays 0: adds nothing once i is 0
                        s += tree[i]
                        i &= i - 1
                    d += in_tree - s + cur_count
                dbuf[nd] = d
                nd += 1
                if nd == DBUF:
                    for k in range(nd):
                        hist[dbuf[k]] += 1
                    nd = 0
            bits[w] &= ~(one << b)  # lp's mark goes
            if blk == cur:
                cur_count -= 1
            else:
                i = blk + 1
                while i <= nb:
                    tree[i] -= 1
                    i += i & -i
                in_tree -= 1
        if pos == cap:  # compaction: renumber the live marks 0..k-1 in order
            in_tree, cur, cur_count, pos = _compact(bits, owner, last, tree)
        blk = pos >> 9
        if blk != cur:  # the block being filled is full: it joins the tree
            i = cur + 1
            while i <= nb:
                tree[i] += cur_count
                i += i & -i
            in_tree += cur_count
            cur = blk
            cur_count = 0
        bits[pos >> 6] |= one << np.uint64(pos & 63)
        cur_count += 1
        owner[pos] = p
        last[p] = pos
        pos += 1
    for k in range(nd):
        hist[dbuf[k]] += 1
    sc[0] = cold
    sc[1] = in_tree
    sc[2] = cur
    sc[3] = cur_count
    sc[4] = pos


def lru_misses_by_size(hist: np.ndarray, cold: int) -> np.ndarray:
    """misses[c] for c = 0..len(hist): cold + references at distance >= c."""
    tail = np.concatenate([np.cumsum(hist[::-1])[::-1], [0]])
    return cold + tail
