"""The tree-searching WSCLOCK kernel against the page-by-page sweep: miss for miss equal.

Both follow `policies.wsclock` (tests/test_machine_vs_engine.py holds the engine to the
machine's replay); here random traces of every shape (few and many pages, every frame
count up to past the footprint, windows short and long, no writes to all writes) check
that skipping the young pages changes no decision.
"""

from __future__ import annotations

import numpy as np
import pytest

from vmsim.engine.kernels.wsclock import wsclock_kernel, wsclock_sweep_kernel


def _case(rng: np.random.Generator, pages: int, refs: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Dense ids with a hot set, their count, and packed write bits."""
    hot = max(1, pages // 8)
    raw = np.where(rng.random(refs) < 0.6, rng.integers(0, hot, refs), rng.integers(0, pages, refs))
    ids = np.unique(raw, return_inverse=True)[1].astype(np.int32)
    share = rng.choice([0.0, 0.1, 0.3, 1.0])
    wbits = np.packbits(rng.random(refs) < share, bitorder="little")
    return ids, int(ids.max()) + 1, wbits


@pytest.mark.parametrize("seed", range(8))
def test_the_tree_kernel_misses_where_the_sweep_misses(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(150):
        ids, n, wbits = _case(rng, int(rng.integers(1, 400)), int(rng.integers(1, 4000)))
        frames = int(rng.integers(1, n + 3))
        tau = int(rng.choice([1, 2, 5, 30, 200, 5000]))
        fast, slow = np.zeros(len(ids), np.uint8), np.zeros(len(ids), np.uint8)
        got = wsclock_kernel(ids, n, frames, fast, wbits, tau)
        want = wsclock_sweep_kernel(ids, n, frames, slow, wbits, tau)
        assert got == want and np.array_equal(fast, slow), (n, frames, tau)


def test_a_long_trace_with_a_full_ring() -> None:
    """Many evictions on a large ring: the slots fill, shift and are spread out again."""
    rng = np.random.default_rng(11)
    ids, n, wbits = _case(rng, 20_000, 200_000)
    for frames, tau in ((1_000, 1_000), (3_000, 50), (500, 100_000)):
        fast, slow = np.zeros(len(ids), np.uint8), np.zeros(len(ids), np.uint8)
        got = wsclock_kernel(ids, n, frames, fast, wbits, tau)
        assert got == wsclock_sweep_kernel(ids, n, frames, slow, wbits, tau)
        assert np.array_equal(fast, slow)
