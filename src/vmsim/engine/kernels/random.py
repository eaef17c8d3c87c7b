"""RANDOM kernel: the same draws as `policies.random` with Python's random.Random(seed).

CPython's Mersenne Twister runs here in Numba from the state of random.Random(seed)
(`getstate()`), and random() is (a*67108864 + b) / 2**53 with a = genrand>>5,
b = genrand>>6, exactly as CPython computes it. The victim is the key at position
int(random() * n) of the resident keys in load order; that position is found with a
Fenwick tree over load sequence numbers (O(log n) per eviction).
"""

from __future__ import annotations

import random as _random

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared

N = 624
M = 397


@njit(cache=True, nogil=True)
def _genrand(mt: np.ndarray, idx: np.ndarray) -> np.uint32:
    """CPython's genrand_uint32 (state mt, position idx[0])."""
    if idx[0] >= N:
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
        idx[0] = 0
    y = mt[idx[0]]
    idx[0] += 1
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    y ^= y >> np.uint32(18)
    return y


@njit(cache=True, nogil=True)
def py_random(mt: np.ndarray, idx: np.ndarray) -> float:
    """CPython's random.random()."""
    a = _genrand(mt, idx) >> np.uint32(5)
    b = _genrand(mt, idx) >> np.uint32(6)
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)


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
    largest power of two <= len(tree) - 1."""
    n = len(tree) - 1
    pos = 0
    step = top
    while step > 0:
        if pos + step <= n and tree[pos + step] < k:
            pos += step
            k -= tree[pos]
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
def random_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, mt: np.ndarray, idx: np.ndarray
) -> int:
    """Evict the resident page at a uniformly drawn position in load order."""
    n = len(ids)
    seq_of = np.full(n_ids, -1, np.int64)
    key_at = np.empty(n + 1, np.int32)
    tree = np.zeros(n + 1, np.int32)  # Fenwick tree over load sequence numbers 1..n
    top = top_power(n)
    nseq = 0
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(n):
        p = ids[t]
        if seq_of[p] >= 0:
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            s = fenwick_kth(tree, top, int(py_random(mt, idx) * count) + 1)  # k-th resident
            seq_of[key_at[s]] = -1
            fenwick_add(tree, s, -1)
        else:
            count += 1
        nseq += 1
        seq_of[p] = nseq
        key_at[nseq] = p
        fenwick_add(tree, nseq, 1)
    return misses


def mt_state(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The Mersenne Twister state of random.Random(seed): (624 words, position)."""
    _, internal, _ = _random.Random(seed).getstate()
    return np.array(internal[:N], np.uint32), np.array([internal[N]], np.int64)


@kernel("random", seed=0)
def run_random(prep: Prepared, frames: int, flags: np.ndarray, seed: int) -> int:
    """RANDOM with random.Random(seed)'s draws."""
    mt, idx = mt_state(seed)
    return int(random_kernel(prep.ids, prep.n_ids, frames, flags, mt, idx))
