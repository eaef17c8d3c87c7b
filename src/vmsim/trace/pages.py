"""From references to page numbers: page = address >> page_shift, kinds kept alongside.

The page convention of ../shared/refs/traces/README.md: one reference per record, at
the page of its start address. With `split`, a reference whose bytes cross a page
boundary becomes one reference per page it touches (same kind). `data_only` drops
instruction fetches. Pages are int64 (the address bits reinterpreted when shift is 0).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.kinds import INSTR


@njit(cache=True, nogil=True, inline="always")
def _last_byte(addr: np.uint64, size: np.uint32) -> np.uint64:
    """Address of a reference's last byte (size 0 counts as 1; no wrap past the top)."""
    s = np.uint64(size) if size > 0 else np.uint64(1)
    last = addr + s - np.uint64(1)
    return last if last >= addr else np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True)
def _split_count(
    addrs: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, shift: int, data_only: bool
) -> int:
    """Number of page references after splitting."""
    total = 0
    sh = np.uint64(shift)
    for t in range(len(addrs)):
        if data_only and kinds[t] == INSTR:
            continue
        last = _last_byte(addrs[t], sizes[t])
        total += int((last >> sh) - (addrs[t] >> sh)) + 1
    return total


@njit(cache=True, nogil=True)
def _split_fill(
    addrs: np.ndarray,
    kinds: np.ndarray,
    sizes: np.ndarray,
    shift: int,
    data_only: bool,
    pages: np.ndarray,
    out_kinds: np.ndarray,
) -> None:
    """Fill the split page references."""
    j = 0
    sh = np.uint64(shift)
    for t in range(len(addrs)):
        if data_only and kinds[t] == INSTR:
            continue
        last = _last_byte(addrs[t], sizes[t])
        p = addrs[t] >> sh
        while True:
            pages[j] = np.int64(p)
            out_kinds[j] = kinds[t]
            j += 1
            if p == last >> sh:
                break
            p += np.uint64(1)


def to_pages(
    addresses: np.ndarray,
    kinds: np.ndarray,
    sizes: np.ndarray | None,
    page_shift: int = 12,
    *,
    data_only: bool = False,
    split: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Page numbers (int64) and kinds (uint8) of a run of references."""
    if split and sizes is not None:
        n = _split_count(addresses, kinds, sizes, page_shift, data_only)
        pages = np.empty(n, np.int64)
        out_kinds = np.empty(n, np.uint8)
        _split_fill(addresses, kinds, sizes, page_shift, data_only, pages, out_kinds)
        return pages, out_kinds
    if data_only:
        keep = kinds != INSTR
        addresses, kinds = addresses[keep], kinds[keep]
    if not page_shift and addresses.dtype == np.uint64:  # the ids are the pages: no copy
        return addresses.view(np.int64), kinds
    pages = (addresses >> np.uint64(page_shift)).view(np.int64)
    return pages, kinds
