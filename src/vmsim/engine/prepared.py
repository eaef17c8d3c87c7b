"""A trace made ready for the kernels: dense page ids, and what some policies precompute.

`Prepared` holds the int32 page ids of a whole trace (see ids.py) and computes, once
and on demand, what is shared by every run on it: the next use of each reference
(OPT), the largest reference count of a page (LFU's frequency buckets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from vmsim.engine.ids import dense_ids
from vmsim.errors import ConfigError


@njit(cache=True, nogil=True)
def next_use_kernel(ids: np.ndarray, n_ids: int) -> np.ndarray:
    """nxt[t] = the next index after t with the same id, or len(ids) if none (never)."""
    n = len(ids)
    nxt = np.empty(n, np.int64)
    last = np.full(n_ids, n, np.int64)
    for t in range(n - 1, -1, -1):
        p = ids[t]
        nxt[t] = last[p]
        last[p] = t
    return nxt


@dataclass
class Prepared:
    """Dense ids of a trace plus lazily computed per-trace arrays."""

    ids: np.ndarray
    n_ids: int
    _next_use: np.ndarray | None = field(default=None, repr=False)
    _max_count: int | None = field(default=None, repr=False)

    @classmethod
    def from_pages(cls, pages: np.ndarray) -> Prepared:
        """Prepare an array of page numbers."""
        ids, n_ids = dense_ids(pages)
        return cls(np.ascontiguousarray(ids), n_ids)

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
        self.ids = np.ascontiguousarray(ids)
        return self

    @property
    def next_use(self) -> np.ndarray:
        """Next use of each reference (len(ids) = never), computed once."""
        if self._next_use is None:
            self._next_use = next_use_kernel(self.ids, self.n_ids)
        return self._next_use

    @property
    def max_count(self) -> int:
        """The largest number of references to one page."""
        if self._max_count is None:
            self._max_count = int(np.bincount(self.ids, minlength=1).max()) if len(self.ids) else 0
        return self._max_count
