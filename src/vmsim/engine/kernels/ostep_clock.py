"""OSTEP-CLOCK kernel: random probing with saturating use counters, as `policies.ostep_clock`.

The resident pages in load order (the victim's place closes up) behind a Fenwick tree,
as random.py keeps them (renumbered when the sequence numbers run out), and the same
draws: CPython's random.Random(seed).random().
A victim search draws position int(random() * resident) until it finds a page whose
counter is 0, spending one unit of each counter it passes over. A loaded page starts
at 1; a hit raises its counter to min(counter + 1, clockbits).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, stateful
from vmsim.engine.kernels.random import (
    LoadOrder,
    fenwick_add,
    fenwick_kth,
    py_random,
    renumber,
    top_power,
)
from vmsim.engine.prefetch import prefetch_ahead
from vmsim.errors import ConfigError


@njit(cache=True, nogil=True)
def ostep_clock_kernel(
    ids: np.ndarray, seq_of: np.ndarray, use: np.ndarray, key_at: np.ndarray, tree: np.ndarray,
    sc: np.ndarray, frames: int, flags: np.ndarray, clockbits: int, mt: np.ndarray,
    idx: np.ndarray,
) -> int:  # fmt: skip
    """OSTEP's CLOCK with counters saturating at clockbits (sc: last sequence number,
    resident pages)."""
    n = len(ids)
    top = top_power(len(tree) - 1)
    nseq = sc[0]
    count = sc[1]
    misses = 0
    record = len(flags) > 0
    i = idx[0]
    for t in range(n):
        prefetch_ahead(ids, t, seq_of, use)
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
                r, i = py_random(mt, i)
                s = fenwick_kth(tree, top, int(r * count) + 1)
                v = key_at[s]
                if use[v] >= 1:
                    use[v] -= 1
                else:
                    seq_of[v] = -1
                    fenwick_add(tree, s, -1)
                    break
        else:
            count += 1
        if nseq + 1 == len(tree):
            nseq = renumber(seq_of, key_at, tree, nseq)
        nseq += 1
        seq_of[p] = nseq
        key_at[nseq] = p
        use[p] = 1
        fenwick_add(tree, nseq, 1)
    sc[0] = nseq
    sc[1] = count
    idx[0] = i
    return misses


@stateful("ostep-clock", seed=0, clockbits=2)
class OstepClock(LoadOrder):
    """OSTEP's CLOCK; options seed (random.Random's, default 0), clockbits (default 2)."""

    PAGE: ClassVar[Arrays] = {"seq_of": (np.int64, -1), "use": (np.int64, 0)}

    def setup(self, seed: int = 0, clockbits: int = 2, **_: Any) -> None:
        """Check clockbits."""
        if clockbits < 0:
            raise ConfigError("clockbits", clockbits, "0 or more")
        self.clockbits = int(clockbits)
        super().setup(seed)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        so, ka, tr, mt = self.seq_of, self.key_at, self.tree, self.mt
        return int(
            ostep_clock_kernel(ids, so, self.use, ka, tr, self.sc, self.frames, flags,
                               self.clockbits, mt, self.idx)
        )  # fmt: skip
