"""The prefetch intrinsic: it emits LLVM's prefetch, changes no result, never traps."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from vmsim.engine.prefetch import prefetch


@njit
def _sum_with_prefetch(ids: np.ndarray, a: np.ndarray, far: int) -> int:
    """Sum a[ids], prefetching a[ids[t] + far] on the way."""
    s = 0
    for t in range(len(ids)):
        prefetch(a, ids[t] + far)
        s += a[ids[t]]
    return s


def test_prefetch_emits_llvm_prefetch_and_changes_nothing() -> None:
    ids = np.array([3, 1, 4, 1, 5, 9, 2, 6], np.int32)
    a = np.arange(10, dtype=np.int64) * 7
    assert _sum_with_prefetch(ids, a, 0) == int(a[ids].sum()) == 217
    llvm = next(iter(_sum_with_prefetch.inspect_llvm().values()))
    assert "@llvm.prefetch" in llvm


def test_prefetch_far_outside_the_array_does_not_trap() -> None:
    ids = np.array([0, 1, 2], np.int64)
    a = np.ones(3, np.int64)
    assert _sum_with_prefetch(ids, a, 1 << 40) == 3
    assert _sum_with_prefetch(ids, a, -(1 << 40)) == 3


def test_prefetch_refuses_what_it_cannot_address() -> None:
    @njit
    def bad(a: np.ndarray) -> None:
        prefetch(a, 1.5)

    with pytest.raises(TypingError):
        bad(np.ones(3))
