"""Kernels that run a trace in blocks, each in the loop that suits the last block (FIFO, LRU).

Where a reference hits or misses about as often as not, the branch on it is a coin toss for
the branch predictor; a loop without that branch is then faster, and near all hits or all
misses (the branch predicted) the branchy loop is. A kernel runs BLOCK references at a time
and takes the branch-free loop for the next block when `branch_free_next` says so.
"""

from __future__ import annotations

from numba import njit

BLOCK = 8192
"""References per block."""


@njit(cache=True, nogil=True, inline="always")
def branch_free_next(misses: int, refs: int, lo: float, hi: float) -> bool:
    """Whether the block after one of refs references with these misses takes the
    branch-free loop: its miss ratio is between lo and hi (the kernel's own range)."""
    return lo * refs <= misses <= hi * refs
