"""SIEVE kernel: a queue (head newest) with visited bits and a hand moving toward the head."""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared


@njit(cache=True, nogil=True)
def sieve_kernel(ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray) -> int:
    """SIEVE: newer[p] points toward the head, older[p] toward the tail."""
    state = np.zeros(n_ids, np.uint8)  # 0 not resident, 1 resident, 2 resident and visited
    newer = np.empty(n_ids, np.int32)
    older = np.empty(n_ids, np.int32)
    head = -1
    tail = -1
    hand = -1
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        p = ids[t]
        if state[p]:
            state[p] = 2
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            o = hand if hand >= 0 else tail
            while state[o] == 2:
                state[o] = 1
                o = newer[o] if newer[o] >= 0 else tail
            hand = newer[o]
            state[o] = 0
            a, b = older[o], newer[o]  # unlink o
            if a >= 0:
                newer[a] = b
            else:
                tail = b
            if b >= 0:
                older[b] = a
            else:
                head = a
        else:
            count += 1
        state[p] = 1
        older[p] = head
        newer[p] = -1
        if head >= 0:
            newer[head] = p
        else:
            tail = p
        head = p
    return misses


@kernel("sieve")
def run_sieve(prep: Prepared, frames: int, flags: np.ndarray) -> int:
    """SIEVE."""
    return int(sieve_kernel(prep.ids, prep.n_ids, frames, flags))
