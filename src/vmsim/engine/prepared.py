"""A trace made ready for the kernels: dense page ids, and what some policies precompute.

`Prepared` holds the int32 page ids of a whole trace (see ids.py), which references
write (one bit each, for the policies that read the dirty bit: nru, wsclock), and
computes, once and on demand, what is shared by every run on it: the next use of each
reference (OPT, UNOPT), the largest reference count of a page (LFU's frequency buckets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from vmsim.engine.ids import dense_ids
from vmsim.errors import ConfigError
from vmsim.kinds import STORE


@njit(cache=True, nogil=True)
def next_use_chunk(ids: np.ndarray, lo: int, last: np.ndarray, out: np.ndarray) -> None:
    """Next uses of the references lo.. of a trace read backwards in chunks: ids is its
    chunk from position lo; last[p] holds p's first position after the chunk (the
    trace's length if none) and is moved to its first one in the chunk."""
    for i in range(len(ids) - 1, -1, -1):
        p = ids[i]
        out[i] = last[p]
        last[p] = lo + i


def write_bits(kinds: np.ndarray | None, n: int) -> np.ndarray | None:
    """Pack which of n references write (AccessKind STORE or MODIFY); None if kinds is None."""
    if kinds is None:
        return None
    kinds = np.asarray(kinds)
    if len(kinds) != n:
        raise ConfigError("kinds", f"{len(kinds)} kinds", f"one kind per reference ({n})")
    return np.packbits(kinds >= STORE, bitorder="little")


@njit(cache=True, nogil=True, inline="always")
def written(wbits: np.ndarray, t: int) -> bool:
    """Whether reference t writes, from packed write bits (empty: nothing writes)."""
    return len(wbits) > 0 and (wbits[t >> 3] >> (t & 7)) & 1 != 0


@dataclass
class Prepared:
    """Dense ids of a trace plus lazily computed per-trace arrays."""

    ids: np.ndarray
    n_ids: int
    writes: np.ndarray | None = None
    """Bit t (little-endian bit order, np.packbits) is 1 where reference t writes; None:
    the kinds are unknown (an array of page numbers) and every reference reads."""
    _next_use: np.ndarray | None = field(default=None, repr=False)
    _max_count: int | None = field(default=None, repr=False)

    @classmethod
    def from_pages(cls, pages: np.ndarray, kinds: np.ndarray | None = None) -> Prepared:
        """Prepare an array of page numbers (with their AccessKind values, if known)."""
        ids, n_ids = dense_ids(pages)
        return cls(np.ascontiguousarray(ids), n_ids, write_bits(kinds, len(ids)))

    def __len__(self) -> int:
        return len(self.ids)

    def check(self) -> Prepared:
        """ConfigError unless ids is a 1-D int32/int64 array with 0 <= ids < n_ids.

        The kernels index arrays with the ids without bounds checks: a Prepared made
        by hand is checked before it reaches them.
        """
        ids = self.ids
        ok = isinstance(ids, np.ndarray) and ids.ndim == 1 and ids.dtype in (np.int32, np.int64)
        if ok and len(ids):
            ok = int(ids.min()) >= 0 and int(ids.max()) < self.n_ids
        if not ok:
            raise ConfigError(
                "prepared ids", self.n_ids, "a 1-D int32/int64 array of ids 0 <= id < n_ids"
            )
        w = self.writes
        if w is not None and (
            not isinstance(w, np.ndarray) or w.dtype != np.uint8 or len(w) != (len(ids) + 7) // 8
        ):
            raise ConfigError("prepared writes", len(ids), "packed bits, one per reference")
        self.ids = np.ascontiguousarray(ids)
        return self

    @property
    def write_bits(self) -> np.ndarray:
        """The packed write bits for a kernel: an empty array when unknown (all reads)."""
        return self.writes if self.writes is not None else np.zeros(0, np.uint8)

    @property
    def next_use(self) -> np.ndarray:
        """Next use of each reference (len(ids) = never), computed once (one backward
        chunk; int32 below 2**31 references)."""
        if self._next_use is None:
            n = len(self.ids)
            dt = np.int32 if n < 2**31 else np.int64  # half the memory traffic when it fits
            out = np.empty(n, dt)
            next_use_chunk(self.ids, 0, np.full(self.n_ids, n, dt), out)
            self._next_use = out
        return self._next_use

    @property
    def max_count(self) -> int:
        """The largest number of references to one page."""
        if self._max_count is None:
            self._max_count = int(np.bincount(self.ids, minlength=1).max()) if len(self.ids) else 0
        return self._max_count
