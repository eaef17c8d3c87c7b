"""RANDOM kernel: the same draws as `policies.random` with Python's random.Random(seed).

CPython's Mersenne Twister runs here in Numba from the state of random.Random(seed)
(`getstate()`), and random() is (a*67108864 + b) / 2**53 with a = genrand>>5,
b = genrand>>6, exactly as CPython computes it. The victim is the key at position
int(random() * n) of the resident keys in load order; that position is found with a
Fenwick tree over load sequence numbers (O(log n) per eviction). When the sequence
numbers run out (twice the frames), the resident pages are renumbered 1..n in order
(`renumber`), so the tree stays the size of the frames, not of the trace.
"""

from __future__ import annotations

import random as _random
from typing import Any, ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead

N = 624
M = 397


@njit(cache=True, nogil=True)
def _twist(mt: np.ndarray) -> None:
    """CPython's next 624 words of state (genrand_uint32's refill)."""
    upper = np.uint32(0x80000000)
    lower = np.uint32(0x7FFFFFFF)
    mag = np.uint32(0x9908B0DF)
    one = np.uint32(1)
    for kk in range(N - M):
        y = (mt[kk] & upper) | (mt[kk + 1] & lower)
        mt[kk] = mt[kk + M] ^ (y >> one) ^ (mag if y & one else np.uint32(0))
    for kk in range(N - M, N - 1):
        y = (mt[kk] & upper) | (mt[kk + 1] & lower)
        mt[kk] = mt[kk + (M - N)] ^ (y >> one) ^ (mag if y & one else np.uint32(0))
    y = (mt[N - 1] & upper) | (mt[0] & lower)
    mt[N - 1] = mt[M - 1] ^ (y >> one) ^ (mag if y & one else np.uint32(0))


@njit(cache=True, nogil=True, inline="always")
def _genrand(mt: np.ndarray, i: int) -> tuple[np.uint32, int]:
    """CPython's genrand_uint32 at position i of state mt: (word, next position)."""
    if i >= N:
        _twist(mt)
        i = 0
    y = mt[i]
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    y ^= y >> np.uint32(18)
    return y, i + 1


@njit(cache=True, nogil=True, inline="always")
def py_random(mt: np.ndarray, i: int) -> tuple[float, int]:
    """CPython's random.random() at position i of state mt: (value, next position)."""
    a, i = _genrand(mt, i)
    b, i = _genrand(mt, i)
    return ((a >> np.uint32(5)) * 67108864.0 + (b >> np.uint32(6))) * (1.0 / 9007199254740992.0), i


@njit(cache=True, nogil=True, inline="always")
def fenwick_add(tree: np.ndarray, i: int, delta: int) -> None:
    """Add delta at position i (1-based) of a Fenwick tree."""
    n = len(tree) - 1
    while i <= n:
        tree[i] += delta
        i += i & -i


@njit(cache=True, nogil=True, inline="always")
def fenwick_kth(tree: np.ndarray, top: int, k: int) -> int:
    """The smallest position whose prefix sum reaches k (1 <= k <= total); top: the
    largest power of two <= len(tree) - 1. Each step is a select, not a branch: which way
    the search goes is a coin toss the branch predictor would lose half the time."""
    n = len(tree) - 1
    pos = 0
    step = top
    while step > 0:
        nxt = pos + step
        v = tree[nxt] if nxt <= n else k
        less = v < k
        pos = nxt if less else pos
        k = k - v if less else k
        step >>= 1
    return pos + 1


@njit(cache=True, nogil=True)
def top_power(n: int) -> int:
    """The largest power of two <= max(n, 1)."""
    top = 1
    while top * 2 <= n:
        top *= 2
    return top


@njit(cache=True, nogil=True)
def renumber(seq_of: np.ndarray, key_at: np.ndarray, tree: np.ndarray, nseq: int) -> int:
    """Renumber the resident pages 1..k in load order, rebuild the tree; return k."""
    k = 0
    for s in range(1, nseq + 1):
        p = key_at[s]
        if seq_of[p] == s:
            k += 1
            key_at[k] = p
            seq_of[p] = k
    for i in range(1, len(tree)):  # the tree of k ones: node i covers (i - lowbit(i), i]
        tree[i] = max(0, min(i, k) - (i - (i & -i)))
    return k


@njit(cache=True, nogil=True)
def random_kernel(
    ids: np.ndarray, seq_of: np.ndarray, key_at: np.ndarray, tree: np.ndarray, sc: np.ndarray,
    frames: int, flags: np.ndarray, mt: np.ndarray, idx: np.ndarray,
) -> int:  # fmt: skip
    """Evict the resident page at a uniformly drawn position in load order (sc: last load
    sequence number, resident pages; tree: a Fenwick tree over sequence numbers)."""
    top = top_power(len(tree) - 1)
    nseq = sc[0]
    count = sc[1]
    i = idx[0]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, seq_of)
        p = ids[t]
        if seq_of[p] >= 0:
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            r, i = py_random(mt, i)
            s = fenwick_kth(tree, top, int(r * count) + 1)  # the k-th resident
            seq_of[key_at[s]] = -1
            fenwick_add(tree, s, -1)
        else:
            count += 1
        if nseq + 1 == len(tree):
            nseq = renumber(seq_of, key_at, tree, nseq)
        nseq += 1
        seq_of[p] = nseq
        key_at[nseq] = p
        fenwick_add(tree, nseq, 1)
    sc[0] = nseq
    sc[1] = count
    idx[0] = i
    return misses


def mt_state(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The Mersenne Twister state of random.Random(seed): (624 words, position)."""
    _, internal, _ = _random.Random(seed).getstate()
    return np.array(internal[:N], np.uint32), np.array([internal[N]], np.int64)


class LoadOrder(State):
    """A State with the resident pages in load order behind a Fenwick tree (random,
    ostep-clock): seq_of per page, key_at and tree per sequence number."""

    PAGE: ClassVar[Arrays] = {"seq_of": (np.int64, -1)}
    SCALARS = 2

    def setup(self, seed: int = 0, **_: Any) -> None:
        """The draws of random.Random(seed); no sequence numbers yet."""
        self.mt, self.idx = mt_state(seed)
        self.key_at = np.zeros(1, np.int32)
        self.tree = np.zeros(1, np.int32)

    def reserve(self, n_ids: int, exact: bool = False) -> None:
        """Page arrays, then sequence numbers for twice the frames that can be resident."""
        super().reserve(n_ids, exact)
        want = 2 * min(self.frames, self.cap) + 64
        if len(self.tree) - 1 >= want:
            return
        k = int(renumber(self.seq_of, self.key_at, self.tree, int(self.sc[0])))
        key_at = np.zeros(want + 1, np.int32)
        key_at[: k + 1] = self.key_at[: k + 1]
        self.key_at, self.tree = key_at, np.zeros(want + 1, np.int32)
        self.sc[0] = renumber(self.seq_of, self.key_at, self.tree, k)


@stateful("random", seed=0)
class Random(LoadOrder):
    """RANDOM with random.Random(seed)'s draws."""

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        so, ka, tr, mt = self.seq_of, self.key_at, self.tree, self.mt
        return int(random_kernel(ids, so, ka, tr, self.sc, self.frames, flags, mt, self.idx))
