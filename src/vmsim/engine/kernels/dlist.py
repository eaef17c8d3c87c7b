"""Circular doubly linked lists over page ids, for the list-based kernels (ARC, 2Q, LIRS).

A list is a sentinel node s in a pair of arrays (nxt, prv): nxt[s] is its head (the
newest or most recently used entry), prv[s] its tail (the oldest or least recent).
The functions are inlined by Numba where they are called, so they cost nothing over
writing the pointer updates out by hand.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.prefetch import prefetch


@njit(cache=True, nogil=True, inline="always")
def unlink(nxt: np.ndarray, prv: np.ndarray, x: int) -> None:
    """Take x out of whichever list it is on."""
    a, b = prv[x], nxt[x]
    nxt[a] = b
    prv[b] = a


@njit(cache=True, nogil=True, inline="always")
def push_head(nxt: np.ndarray, prv: np.ndarray, s: int, x: int) -> None:
    """Put x at the head of the list with sentinel s."""
    h = nxt[s]
    nxt[x] = h
    prv[x] = s
    prv[h] = x
    nxt[s] = x


@njit(cache=True, nogil=True, inline="always")
def pop_tail(nxt: np.ndarray, prv: np.ndarray, s: int) -> int:
    """Take the tail entry off the list with sentinel s and return it (s itself if empty).

    The tail's successor is the sentinel, so only its predecessor is read. The new
    tail's own predecessor, which the next pop reads, is prefetched: a list's tail is
    its oldest entry, rarely still in the cache.
    """
    y = prv[s]
    a = prv[y]
    nxt[a] = s
    prv[s] = a
    prefetch(prv, a)
    return int(y)
