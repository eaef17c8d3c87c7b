"""The public API: what `dir(vmsim)` lists, and what vmsim.simulate accepts and refuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vmsim
from vmsim import ConfigError

LS = Path(__file__).resolve().parent / "data" / "ls.lackey.xz"


def test_dir_lists_the_public_api() -> None:
    names = dir(vmsim)
    for name in ("Machine", "Process", "open_trace", "simulate", "miss_ratio_curve", "ConfigError"):
        assert name in names and name in vmsim.__all__
    for name in vmsim.__all__:  # every listed name resolves (the lazy ones on first use)
        assert getattr(vmsim, name) is not None


@pytest.mark.parametrize("frames", ["16", 16.0, None, [16, "64"], [0], True, {16}])
def test_frames_that_are_not_counts_are_refused(frames: object) -> None:
    with pytest.raises(ConfigError, match=r"^frames=.*(an int or a list of ints|positive whole)"):
        vmsim.simulate([1, 2, 3], "lru", frames)  # type: ignore[call-overload]


def test_lists_and_arrays_of_page_numbers() -> None:
    # FIFO with 3 frames on Belady's sequence: 9 faults; with 4 frames: 10
    belady = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]
    assert vmsim.simulate(belady, "FIFO", 3).misses == 9
    runs = vmsim.simulate(np.array(belady), "fifo", np.array([3, 4]))
    assert [(r.frames, r.misses) for r in runs] == [(3, 9), (4, 10)]
    assert vmsim.simulate(tuple(belady), "lru", 10**12).misses == 5  # 5 distinct pages
    assert vmsim.miss_ratio_curve(belady, sizes=[3, 4]).misses.tolist() == [10, 8]


@pytest.mark.parametrize("trace", [{1, 2}, 3.5, [1.5, 2.5], [[1, 2]]])
def test_traces_that_are_not_page_numbers_are_refused(trace: object) -> None:
    with pytest.raises(ConfigError, match=r"^trace="):
        vmsim.simulate(trace, "lru", 4)  # type: ignore[call-overload]


def test_a_trace_file() -> None:
    t = vmsim.open_trace(LS)
    assert vmsim.simulate(t, "lru", 64).misses == 1672  # tests/data/golden.json
