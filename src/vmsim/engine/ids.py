"""Dense page ids: page numbers (any int64) -> 0..n_ids-1, so kernels index arrays.

`PageIdMap` (and `dense_ids` of a whole array) numbers pages in order of first
appearance across a stream of chunks, which keeps the pages used together next to each
other in the kernels' per-page arrays, in memory proportional to the distinct pages:
while the pages seen lie in a compact range it keeps a direct table (one int32 id per
page number of the range: a lookup is one load), and when a page falls far outside it
moves to an open-addressing hash table whose key and id share a slot (one cache miss a
lookup). Every function has one explicit signature, compiled (or loaded from Numba's
cache, see vmsim/jitcache.py) once, when first used.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from vmsim.errors import ConfigError

DIRECT_SPAN = 1 << 22
"""Pages spanning at most this many numbers (or 4x the references) map directly."""

MAX_IDS = (1 << 31) - 1
"""Ids are int32: at most this many distinct pages."""

_GOLDEN = 0x9E3779B97F4A7C15
_KERNELS: dict[str, Any] = {}


def _kernel(name: str) -> Any:
    """One Numba function, compiled (or loaded from the cache) on its first use."""
    f = _KERNELS.get(name)
    if f is None:
        from numba import njit

        from vmsim.jitcache import load_cache_lightly

        load_cache_lightly()
        func, signature = _SIGNATURES[name]
        f = _KERNELS[name] = njit(signature, cache=True, nogil=True)(func)
    return f


def _min_max(pages: np.ndarray) -> tuple[int, int]:
    """Smallest and largest page (pages not empty)."""
    lo = pages[0]
    hi = pages[0]
    for t in range(1, len(pages)):
        v = pages[t]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


def _map_direct(
    pages: np.ndarray, base: int, table: np.ndarray, next_id: int, out: np.ndarray
) -> int:
    """Ids through the direct table (table[page - base], -1 = new); returns next_id."""
    for t in range(len(pages)):
        i = pages[t] - base
        v = table[i]
        if v < 0:
            v = next_id
            table[i] = v
            next_id += 1
        out[t] = v
    return next_id


def _map_hash(
    pages: np.ndarray, start: int, slots: np.ndarray, shift: int, next_id: int, out: np.ndarray
) -> tuple[int, int]:
    """Ids of pages[start:] through the hash table (slots: key, id pairs; id -1 = empty).

    Stops when the table is half full; returns (position reached, next_id).
    """
    mask = len(slots) // 2 - 1
    limit = len(slots) // 4
    sh = np.uint64(shift)
    golden = np.uint64(_GOLDEN)
    for t in range(start, len(pages)):
        if next_id >= limit:
            return t, next_id
        k = pages[t]
        h = int((np.uint64(k) * golden) >> sh) & mask
        while True:
            v = slots[2 * h + 1]
            if v < 0:
                slots[2 * h] = k
                slots[2 * h + 1] = next_id
                out[t] = next_id
                next_id += 1
                break
            if slots[2 * h] == k:
                out[t] = v
                break
            h = (h + 1) & mask
    return len(pages), next_id


def _insert_all(keys: np.ndarray, ids: np.ndarray, slots: np.ndarray, shift: int) -> None:
    """Put every (key, id) into the (empty) hash table."""
    mask = len(slots) // 2 - 1
    sh = np.uint64(shift)
    golden = np.uint64(_GOLDEN)
    for i in range(len(keys)):
        h = int((np.uint64(keys[i]) * golden) >> sh) & mask
        while slots[2 * h + 1] >= 0:
            h = (h + 1) & mask
        slots[2 * h] = keys[i]
        slots[2 * h + 1] = ids[i]


_PAGES = "Array(int64, 1, 'C', readonly=True)"
"""The pages argument's type: read-only, so a read-only array (a reader's, a user's) is
taken as it is, and a writable one converts to it."""

_SIGNATURES = {
    "min_max": (_min_max, f"UniTuple(int64, 2)({_PAGES})"),
    "map_direct": (_map_direct, f"int64({_PAGES}, int64, int32[::1], int64, int32[::1])"),
    "map_hash": (
        _map_hash,
        f"UniTuple(int64, 2)({_PAGES}, int64, int64[::1], int64, int64, int32[::1])",
    ),
    "insert_all": (_insert_all, "void(int64[::1], int64[::1], int64[::1], int64)"),
}
"""Each kernel's Python function and its one signature."""


def _call(name: str, *args: object) -> Any:
    """Call one of the kernels."""
    return _kernel(name)(*args)


def _as_int64(pages: np.ndarray) -> np.ndarray:
    """A C-contiguous int64 view (uint64 reinterpreted) or copy of integer pages."""
    pages = np.asarray(pages)
    if pages.dtype.kind not in "iu":
        raise TypeError("pages must be integers")
    if pages.dtype == np.uint64:
        pages = pages.view(np.int64)
    return np.ascontiguousarray(pages, np.int64)


class PageIdMap:
    """Page number -> dense id in order of first appearance, across many chunks."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        self.n_ids = 0
        self._capacity = max(16, capacity)
        self.base = 0
        self.table: np.ndarray | None = np.empty(0, np.int32)
        """The direct table (None once the map hashes)."""
        self.slots = np.empty(0, np.int64)
        self.bits = 0

    def map(self, pages: np.ndarray) -> np.ndarray:
        """The int32 ids of a chunk of pages."""
        pages = _as_int64(pages)
        out = np.empty(len(pages), np.int32)
        if not len(pages):
            return out
        if self.table is not None and self._fits(pages):
            self.n_ids = int(_call("map_direct", pages, self.base, self.table, self.n_ids, out))
        else:
            self._to_hash(len(pages))
            self._map_hash(pages, out)
        if self.n_ids > MAX_IDS:
            raise ConfigError("trace", f"{self.n_ids:,} distinct pages", f"at most {MAX_IDS:,}")
        return out

    def _fits(self, pages: np.ndarray) -> bool:
        """Grow the direct table to cover pages if the range stays compact; False if not."""
        assert self.table is not None
        lo, hi = (int(x) for x in _call("min_max", pages))
        if len(self.table):
            lo, hi = min(lo, self.base), max(hi, self.base + len(self.table) - 1)
        span = hi - lo + 1
        if not 0 < span <= max(DIRECT_SPAN, 4 * (self.n_ids + len(pages))):
            return False
        if lo != self.base or span != len(self.table):
            table = np.full(span, -1, np.int32)
            at = self.base - lo
            table[at : at + len(self.table)] = self.table
            self.base, self.table = lo, table
        return True

    def _to_hash(self, more: int) -> None:
        """Move the direct table's pages into a hash table (once); make room for `more`."""
        if self.table is not None:
            used = np.flatnonzero(self.table >= 0)
            keys, ids = used.astype(np.int64) + self.base, self.table[used].astype(np.int64)
            self.table = None
            self._rehash(keys, ids, self.n_ids + min(more, self._capacity))

    def _rehash(self, keys: np.ndarray, ids: np.ndarray, room: int) -> None:
        """A fresh hash table, at most half full with `room` entries, holding (keys, ids)."""
        self.bits = max(4, int(room).bit_length() + 1)
        self.slots = np.full(2 << self.bits, -1, np.int64)
        _call("insert_all", keys, ids, self.slots, 64 - self.bits)

    def _map_hash(self, pages: np.ndarray, out: np.ndarray) -> None:
        """Map pages through the hash table, doubling it whenever it is half full."""
        t = 0
        while True:
            t, self.n_ids = (
                int(x)
                for x in _call("map_hash", pages, t, self.slots, 64 - self.bits, self.n_ids, out)
            )
            if t == len(pages):
                return
            used = self.slots[1::2] >= 0
            keys = np.ascontiguousarray(self.slots[0::2][used])
            ids = np.ascontiguousarray(self.slots[1::2][used])
            self._rehash(keys, ids, 2 * self.n_ids)

    def pages_by_id(self) -> np.ndarray:
        """The page number of each id."""
        out = np.empty(self.n_ids, np.int64)
        if self.table is not None:
            used = np.flatnonzero(self.table >= 0)
            out[self.table[used]] = used + self.base
        else:
            taken = self.slots[1::2] >= 0
            out[self.slots[1::2][taken]] = self.slots[0::2][taken]
        return out


def dense_ids(pages: np.ndarray) -> tuple[np.ndarray, int]:
    """(int32 ids in order of first appearance, n_ids = distinct pages) of a whole array.

    First-appearance order keeps the pages used together (the hot ones first) next to
    each other in every kernel's per-page arrays: page - min would scatter them."""
    m = PageIdMap()
    ids = m.map(pages)
    return ids, m.n_ids


def ids_of_chunks(chunks: Iterable[np.ndarray]) -> tuple[np.ndarray, int, PageIdMap]:
    """Map a stream of page chunks to one id array; return (ids, n_ids, the map)."""
    m = PageIdMap()
    parts = [m.map(p) for p in chunks]
    ids = np.concatenate(parts) if parts else np.empty(0, np.int32)
    return ids, m.n_ids, m
