"""Circular doubly linked lists over page ids, for the list-based kernels (ARC, 2Q, LIRS).

The lists live in a State's `node` array, a row per page id and per sentinel: a list is a
sentinel row s and a pair of link columns (nxt, prv), so nd[s, nxt] is its head (the
newest or most recently used entry), nd[s, prv] its tail (the oldest or least recent). A
page's links and the kernel's own fields of it share its row: one cache line.
The functions are inlined by Numba where they are called (the columns are then
constants), so they cost nothing over writing the pointer updates out by hand.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.prefetch import prefetch

NXT, PRV, WHERE = 0, 1, 2
"""The columns of a page on one of several lists (ARC, 2Q): its links and which list (0:
none)."""
ROW_WIDTH = 4
"""Their row's width: a fourth column of padding, so a 16-byte row never straddles a line."""


@njit(cache=True, nogil=True, inline="always")
def unlink(nd: np.ndarray, nxt: int, prv: int, x: int) -> None:
    """Take x out of whichever (nxt, prv) list it is on."""
    a, b = nd[x, prv], nd[x, nxt]
    nd[a, nxt] = b
    nd[b, prv] = a


@njit(cache=True, nogil=True, inline="always")
def push_head(nd: np.ndarray, nxt: int, prv: int, s: int, x: int) -> None:
    """Put x at the head of the (nxt, prv) list with sentinel s."""
    h = nd[s, nxt]
    nd[x, nxt] = h
    nd[x, prv] = s
    nd[h, prv] = x
    nd[s, nxt] = x


@njit(cache=True, nogil=True, inline="always")
def pop_tail(nd: np.ndarray, nxt: int, prv: int, s: int) -> int:
    """Take the tail entry off the (nxt, prv) list with sentinel s and return it (s itself
    if empty).

    The tail's successor is the sentinel, so only its predecessor is read. The new
    tail's row, which the next pop reads, is prefetched: a list's tail is its oldest
    entry, rarely still in the cache.
    """
    y = nd[s, prv]
    a = nd[y, prv]
    nd[a, nxt] = s
    nd[s, prv] = a
    prefetch(nd, a)
    return int(y)
