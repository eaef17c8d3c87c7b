"""The prefetch intrinsics: they emit LLVM's prefetch, change no result, never trap."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from vmsim.engine.prefetch import PREFETCH, prefetch, prefetch_ahead


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


@njit
def _sum_ahead(ids: np.ndarray, a: np.ndarray, b: np.ndarray) -> int:
    """Sum a[ids] + b[ids], hinting both at the reference PREFETCH places ahead."""
    s = 0
    for t in range(len(ids)):
        prefetch_ahead(ids, t, a, b)
        s += a[ids[t]] + b[ids[t]]
    return s


@pytest.mark.parametrize("n", [0, 1, PREFETCH, PREFETCH + 1, 1000])
def test_prefetch_ahead_emits_llvm_prefetch_and_changes_nothing(n: int) -> None:
    """Traces shorter than PREFETCH, as long, one longer, long: the same sums."""
    rng = np.random.default_rng(n)
    ids = rng.integers(0, 50, n).astype(np.int32)
    a = np.arange(50, dtype=np.int64) * 3
    b = np.arange(50, dtype=np.int8)
    assert _sum_ahead(ids, a, b) == int(a[ids].sum() + b[ids].astype(np.int64).sum())
    llvm = next(iter(_sum_ahead.inspect_llvm().values()))
    assert llvm.count("@llvm.prefetch") >= 2


def test_prefetch_ahead_refuses_what_it_cannot_address() -> None:
    @njit
    def no_arrays(ids: np.ndarray) -> None:
        prefetch_ahead(ids, 0)

    @njit
    def float_ids(ids: np.ndarray, a: np.ndarray) -> None:
        prefetch_ahead(ids, 0, a)

    with pytest.raises(TypingError):
        no_arrays(np.zeros(3, np.int32))
    with pytest.raises(TypingError):
        float_ids(np.zeros(3), np.ones(3))


@njit
def _sum_rows_ahead(ids: np.ndarray, nd: np.ndarray) -> int:
    """Sum column 1 of nd's rows ids, hinting the row PREFETCH places ahead (and this one)."""
    s = 0
    for t in range(len(ids)):
        prefetch_ahead(ids, t, nd)
        prefetch(nd, ids[t])
        s += nd[ids[t], 1]
    return s


def test_a_c_ordered_2d_array_prefetches_its_rows() -> None:
    """The list kernels' node arrays: a row per page; the sums do not change."""
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 40, 500).astype(np.int32)
    nd = np.arange(160, dtype=np.int32).reshape(40, 4)
    assert _sum_rows_ahead(ids, nd) == int(nd[ids, 1].sum())
    llvm = next(iter(_sum_rows_ahead.inspect_llvm().values()))
    assert llvm.count("@llvm.prefetch") >= 2


def test_prefetch_refuses_arrays_whose_rows_are_not_contiguous() -> None:
    """A Fortran-ordered or 3-d array has no row start to hint: no match, a TypingError."""
    with pytest.raises(TypingError):
        _sum_rows_ahead(np.zeros(3, np.int32), np.asfortranarray(np.ones((4, 4), np.int32)))

    @njit
    def cube(a: np.ndarray) -> None:
        prefetch(a, 0)

    with pytest.raises(TypingError):
        cube(np.ones((2, 2, 2)))
