"""LFU kernel: O(1) frequency buckets, each a list in order of arrival (libCacheSim's LFU).

The buckets are nodes of a list in increasing frequency (Shah, Mitra and Matani's O(1)
LFU): only non-empty buckets exist, at most one per resident page, so the nodes come
from a pool the size of the frames, whatever the counts reach. The head bucket holds
the lowest frequency; its first page is the victim. A hit moves the page to the end of
the next bucket (frequency + 1), made after its own if missing; an emptied bucket goes
back to the pool.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead


@njit(cache=True, nogil=True, inline="always")
def _alloc(free: np.ndarray, sc: np.ndarray) -> int:
    """A bucket node from the pool (sc[2]: nodes ever used, sc[3]: nodes on the free stack)."""
    if sc[3]:
        sc[3] -= 1
        return int(free[sc[3]])
    sc[2] += 1
    return int(sc[2] - 1)


@njit(cache=True, nogil=True)
def lfu_kernel(
    ids: np.ndarray, node_of: np.ndarray, prev: np.ndarray, nxt: np.ndarray,
    nfreq: np.ndarray, nfirst: np.ndarray, nlast: np.ndarray, nprev: np.ndarray,
    nnext: np.ndarray, free: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray,
) -> int:  # fmt: skip
    """Evict the first page of the lowest-frequency bucket. Per page: its bucket node (-1:
    not resident) and its neighbours in it; per node: frequency, first and last page,
    neighbour nodes. sc: head node, resident pages, nodes used, free nodes."""
    head = sc[0]
    count = sc[1]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        prefetch_ahead(ids, t, node_of, prev, nxt)
        p = ids[t]
        b = node_of[p]
        if b < 0:
            misses += 1
            if record:
                flags[t] = 1
            if count == frames:
                v = nfirst[head]
                nv = nxt[v]
                nfirst[head] = nv
                if nv >= 0:
                    prev[nv] = -1
                else:
                    nlast[head] = -1
                node_of[v] = -1
                if nfirst[head] < 0:  # the bucket emptied: back to the pool
                    free[sc[3]] = head
                    sc[3] += 1
                    head = nnext[head]
                    if head >= 0:
                        nprev[head] = -1
            else:
                count += 1
            if head >= 0 and nfreq[head] == 1:
                d = head
            else:  # a bucket of frequency 1 at the head
                d = _alloc(free, sc)
                nfreq[d] = 1
                nfirst[d] = nlast[d] = -1
                nprev[d] = -1
                nnext[d] = head
                if head >= 0:
                    nprev[head] = d
                head = d
        else:
            pp, nn = prev[p], nxt[p]  # unlink from bucket b
            if pp >= 0:
                nxt[pp] = nn
            else:
                nfirst[b] = nn
            if nn >= 0:
                prev[nn] = pp
            else:
                nlast[b] = pp
            f = nfreq[b] + 1
            nb = nnext[b]
            if nb >= 0 and nfreq[nb] == f:
                d = nb
            else:  # a bucket of frequency f after b
                d = _alloc(free, sc)
                nfreq[d] = f
                nfirst[d] = nlast[d] = -1
                nprev[d] = b
                nnext[d] = nb
                nnext[b] = d
                if nb >= 0:
                    nprev[nb] = d
            if nfirst[b] < 0:  # b emptied: out of the list, back to the pool
                pb, nx = nprev[b], nnext[b]
                if pb >= 0:
                    nnext[pb] = nx
                else:
                    head = nx
                if nx >= 0:
                    nprev[nx] = pb
                free[sc[3]] = b
                sc[3] += 1
        prev[p] = nlast[d]  # append to bucket d
        nxt[p] = -1
        if nlast[d] >= 0:
            nxt[nlast[d]] = p
        else:
            nfirst[d] = p
        nlast[d] = p
        node_of[p] = d
    sc[0] = head
    sc[1] = count
    return misses


NODES = ("nfreq", "nfirst", "nlast", "nprev", "nnext", "free")


@stateful("lfu")
class Lfu(State):
    """LFU with ties to the least recently used."""

    PAGE: ClassVar[Arrays] = {
        "node_of": (np.int32, -1),
        "prev": (np.int32, 0),
        "nxt": (np.int32, 0),
    }
    SCALARS = 4

    def setup(self, **_: object) -> None:
        """No bucket yet."""
        self.nfreq = np.zeros(0, np.int64)
        for name in NODES[1:]:
            setattr(self, name, np.zeros(0, np.int32))
        self.sc[0] = -1

    def reserve(self, n_ids: int, exact: bool = False) -> None:
        """Page arrays, and a bucket node per page that can be resident (plus one)."""
        super().reserve(n_ids, exact)
        want = min(self.frames, self.cap) + 2
        for name in NODES:
            a = getattr(self, name)
            if len(a) < want:
                b = np.zeros(want, a.dtype)
                b[: len(a)] = a
                setattr(self, name, b)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        nodes = (self.nfreq, self.nfirst, self.nlast, self.nprev, self.nnext, self.free)
        return int(
            lfu_kernel(ids, self.node_of, self.prev, self.nxt, *nodes, self.sc, self.frames,
                       flags)
        )  # fmt: skip
