"""Dense page ids: page numbers (any int64) -> 0..n_ids-1, so kernels index arrays.

When the pages of a trace lie in a compact range (synthetic traces, small programs'
page-number ranges after subtracting the minimum), the id is just `page - min`. Other
traces go through an open-addressing hash map in Numba that numbers pages in order of
first appearance; `PageIdMap` keeps that map across chunks for streaming passes.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numba import njit

DIRECT_SPAN = 1 << 22
"""Pages spanning at most this many numbers (or 4x the references) map directly."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _map_chunk(
    pages: np.ndarray,
    start: int,
    keys: np.ndarray,
    vals: np.ndarray,
    shift: int,
    next_id: int,
    out: np.ndarray,
) -> tuple[int, int]:
    """Map pages[start:] to ids through the table (keys, vals; vals -1 = empty).

    Stops when the table is half full; returns (position reached, next_id).
    """
    mask = len(keys) - 1
    limit = len(keys) // 2
    for t in range(start, len(pages)):
        if next_id >= limit:
            return t, next_id
        k = pages[t]
        h = int((np.uint64(k) * _GOLDEN) >> np.uint64(shift)) & mask
        while True:
            v = vals[h]
            if v < 0:
                keys[h] = k
                vals[h] = next_id
                out[t] = next_id
                next_id += 1
                break
            if keys[h] == k:
                out[t] = v
                break
            h = (h + 1) & mask
    return len(pages), next_id


@njit(cache=True, nogil=True)
def _rehash(
    keys: np.ndarray, vals: np.ndarray, new_keys: np.ndarray, new_vals: np.ndarray, shift: int
) -> None:
    """Move every entry of the old table into the new (empty) one."""
    mask = len(new_keys) - 1
    for i in range(len(keys)):
        if vals[i] >= 0:
            h = int((np.uint64(keys[i]) * _GOLDEN) >> np.uint64(shift)) & mask
            while new_vals[h] >= 0:
                h = (h + 1) & mask
            new_keys[h] = keys[i]
            new_vals[h] = vals[i]


class PageIdMap:
    """Page number -> dense id in order of first appearance, across many chunks."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        bits = max(4, int(capacity - 1).bit_length() + 1)
        self._alloc(bits)
        self.n_ids = 0

    def _alloc(self, bits: int) -> None:
        """Fresh empty table with 2**bits slots."""
        self.bits = bits
        self.keys = np.zeros(1 << bits, np.int64)
        self.vals = np.full(1 << bits, -1, np.int64)

    def map(self, pages: np.ndarray) -> np.ndarray:
        """Ids (int32 while they fit, else int64) of a chunk of pages."""
        pages = np.ascontiguousarray(pages).view(np.int64) if pages.dtype == np.uint64 else pages
        pages = np.ascontiguousarray(pages, np.int64)
        out = np.empty(len(pages), np.int64)
        t = 0
        while True:
            t, self.n_ids = _map_chunk(
                pages, t, self.keys, self.vals, 64 - self.bits, self.n_ids, out
            )
            if t == len(pages):
                break
            old_k, old_v = self.keys, self.vals
            self._alloc(self.bits + 1)
            _rehash(old_k, old_v, self.keys, self.vals, 64 - self.bits)
        return out.astype(np.int32) if self.n_ids < (1 << 31) else out

    def pages_by_id(self) -> np.ndarray:
        """The page number of each id."""
        out = np.empty(self.n_ids, np.int64)
        used = self.vals >= 0
        out[self.vals[used]] = self.keys[used]
        return out


@njit(cache=True, nogil=True)
def _min_max(pages: np.ndarray) -> tuple[int, int]:
    """Smallest and largest page (pages not empty)."""
    lo = pages[0]
    hi = pages[0]
    for t in range(1, len(pages)):
        v = pages[t]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return lo, hi


@njit(cache=True, nogil=True)
def _offset(pages: np.ndarray, lo: int, out: np.ndarray) -> None:
    """out = pages - lo (as int32)."""
    for t in range(len(pages)):
        out[t] = pages[t] - lo


def dense_ids(pages: np.ndarray) -> tuple[np.ndarray, int]:
    """(ids, n_ids) for a whole array of pages; ids are int32 when they fit."""
    pages = np.asarray(pages)
    if pages.dtype.kind not in "iu":
        raise TypeError("pages must be integers")
    if len(pages) == 0:
        return np.empty(0, np.int32), 0
    if pages.dtype != np.int64:
        pages = pages.astype(np.int64)
    pages = np.ascontiguousarray(pages)
    lo, hi = (int(x) for x in _min_max(pages))
    span = hi - lo + 1
    if 0 < span <= max(DIRECT_SPAN, 4 * len(pages)) and span < (1 << 31):
        out = np.empty(len(pages), np.int32)
        _offset(pages, lo, out)
        return out, span
    m = PageIdMap()
    ids = m.map(pages)
    return ids, m.n_ids


def ids_of_chunks(chunks: Iterable[np.ndarray]) -> tuple[np.ndarray, int, PageIdMap]:
    """Map a stream of page chunks to one id array; return (ids, n_ids, the map)."""
    m = PageIdMap()
    parts = [m.map(p) for p in chunks]
    ids = np.concatenate(parts) if parts else np.empty(0, np.int32)
    if ids.dtype != np.int32 and m.n_ids < (1 << 31):
        ids = ids.astype(np.int32)
    return ids, m.n_ids, m
