"""OSTEP-CLOCK kernel: random probing with saturating use counters, as `policies.ostep_clock`.

The resident pages in load order (the victim's place closes up) behind a Fenwick tree,
as random.py keeps them, and the same draws: CPython's random.Random(seed).random().
A victim search draws position int(random() * resident) until it finds a page whose
counter is 0, spending one unit of each counter it passes over. A loaded page starts
at 1; a hit raises its counter to min(counter + 1, clockbits).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.kernels.random import fenwick_add, fenwick_kth, mt_state, py_random, top_power
from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError


@njit(cache=True, nogil=True)
def ostep_clock_kernel(
    ids: np.ndarray,
    n_ids: int,
    frames: int,
    flags: np.ndarray,
    clockbits: int,
    mt: np.ndarray,
    idx: np.ndarray,
) -> int:
    """OSTEP's CLOCK with counters saturating at clockbits."""
    n = len(ids)
    seq_of = np.full(n_ids, -1, np.int64)
    use = np.zeros(n_ids, np.int64)
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
            c = use[p] + 1
            use[p] = clockbits if c > clockbits else c
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            while True:
                s = fenwick_kth(tree, top, int(py_random(mt, idx) * count) + 1)
                v = key_at[s]
                if use[v] >= 1:
                    use[v] -= 1
                else:
                    seq_of[v] = -1
                    fenwick_add(tree, s, -1)
                    break
        else:
            count += 1
        nseq += 1
        seq_of[p] = nseq
        key_at[nseq] = p
        use[p] = 1
        fenwick_add(tree, nseq, 1)
    return misses


@kernel("ostep-clock", seed=0, clockbits=2)
def run_ostep_clock(
    prep: Prepared, frames: int, flags: np.ndarray, seed: int, clockbits: int
) -> int:
    """OSTEP's CLOCK; options seed (random.Random's, default 0), clockbits (default 2)."""
    if clockbits < 0:
        raise ConfigError("clockbits", clockbits, "0 or more")
    mt, idx = mt_state(seed)
    return int(ostep_clock_kernel(prep.ids, prep.n_ids, frames, flags, int(clockbits), mt, idx))
