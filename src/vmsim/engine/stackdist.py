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
"""

from __future__ import annotations

import numpy as np
from numba import njit

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


PREFETCH = 12
"""References ahead whose `last` entry is touched early (a software prefetch)."""
DBUF = 4096
"""Distances are buffered and added to the histogram in batches: the scattered
increments then run in a tight loop with many cache misses in flight."""


def stack_distance_hist(ids: np.ndarray, n_ids: int) -> tuple[np.ndarray, int]:
    """(hist, cold): hist[d] = references at stack distance d; cold = first references."""
    hist = np.zeros(n_ids + 1, np.int32 if len(ids) < 2**31 else np.int64)
    cold, _ = _stack_distances(ids, n_ids, hist)
    return hist, int(cold)


@njit(cache=True, nogil=True)
def _stack_distances(ids: np.ndarray, n_ids: int, hist: np.ndarray) -> tuple[int, int]:
    """Fill hist with the stack distances of ids; return (cold misses, prefetch checksum).

    Leaves of the tree are blocks of 8 words (512 positions, one cache line), so
    the tree is small enough for the L1 cache. The block being filled is kept out
    of the tree until it is full (its count is a scalar): setting a mark costs no
    tree update, and a reuse within it needs no tree walk. The `last` entry of the
    reference PREFETCH places ahead is read early, so its cache miss overlaps this
    reference's work. Positions run to twice the pages before a compaction.
    """
    nb = max(64, (2 * n_ids + 511) // 512 + 1)
    cap = nb * 512
    bits = np.zeros(nb * BLOCK_WORDS, np.uint64)
    tree = np.zeros(nb + 1, np.int32)
    owner = np.empty(cap, np.int32)
    last = np.full(n_ids, -1, np.int32)
    dbuf = np.empty(DBUF, np.int64)  # distances, counted in batches
    nd = 0
    cold = 0
    in_tree = 0  # marks in the finished blocks (those in the tree)
    cur = 0  # the block being filled
    cur_count = 0  # marks in it
    pos = 0
    one = np.uint64(1)
    n = len(ids)
    ahead = 0  # returned so that the early loads are not optimised away
    for t in range(n):
        if t + PREFETCH < n:
            ahead += last[ids[t + PREFETCH]]
        p = ids[t]
        lp = last[p]
        if lp < 0:
            cold += 1
        else:
            w = lp >> 6
            b = np.uint64(lp & 63)
            word = bits[w]
            d = popcount(word & ~((one << b) | ((one << b) - one)))  # later marks in its word
            bits[w] = word & ~(one << b)
            blk = lp >> 9
            for v in range(w + 1, (blk + 1) * BLOCK_WORDS):
                d += popcount(bits[v])
            if blk == cur:
                cur_count -= 1
            else:
                s = 0  # marks in finished blocks up to blk
                i = blk + 1
                while i > 0:
                    s += tree[i]
                    i -= i & -i
                d += in_tree - s + cur_count
                i = blk + 1
                while i <= nb:
                    tree[i] -= 1
                    i += i & -i
                in_tree -= 1
            dbuf[nd] = d
            nd += 1
            if nd == DBUF:
                for k in range(nd):
                    hist[dbuf[k]] += 1
                nd = 0
        if pos == cap:  # compaction: renumber the live marks 0..k-1 in order
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
            pos = k
            cur = pos >> 9
            in_tree = _rebuild(bits, tree, cur)
            cur_count = k - in_tree
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
    return cold, ahead


def lru_misses_by_size(hist: np.ndarray, cold: int) -> np.ndarray:
    """misses[c] for c = 0..len(hist): cold + references at distance >= c."""
    tail = np.concatenate([np.cumsum(hist[::-1])[::-1], [0]])
    return cold + tail
