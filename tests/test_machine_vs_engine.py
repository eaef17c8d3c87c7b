"""DESIGN.md: the machine and the engine agree, miss for fault, on the same trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim
from vmsim.engine.api import open_trace, simulate
from vmsim.policies import policy_class

DATA = Path(__file__).parent / "data"
BOTH = ["fifo", "lru", "clock", "opt", "random", "mru", "lfu", "sieve"]


def machine_faults(pages: np.ndarray, kinds: np.ndarray | None, policy: str, frames: int) -> int:
    with vmsim.Machine(memory="2MiB", swap="8MiB", policy=policy, seed=7, replay_only=True) as m:
        p = m.spawn(memory_limit=frames * 4096)
        return p.replay(pages << 12, kinds).faults


def test_the_policies_compared_run_on_both() -> None:
    for name in BOTH:
        assert not policy_class(name).remembers_evicted


@settings(max_examples=30)
@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=120), st.integers(1, 8), st.sampled_from(BOTH)
)
def test_random_traces(pages: list[int], frames: int, policy: str) -> None:
    arr = np.array(pages, dtype=np.int64)
    options = {"seed": 7} if policy == "random" else {}
    engine = simulate(arr, policy, frames, **options).misses
    assert machine_faults(arr, None, policy, frames) == engine


@pytest.mark.slow
@pytest.mark.parametrize("trace", ["ls.lackey.xz", "walk.lackey.xz"])
@pytest.mark.parametrize("policy", BOTH)
def test_recorded_traces(trace: str, policy: str) -> None:
    t = open_trace(DATA / trace)
    n = 300_000  # a prefix keeps the thrashing policies (mru) quick on the machine
    pages = t.pages(12)[:n]
    kinds = np.concatenate([c.kinds for c in t.chunks()])[:n]
    frames = max(8, len(np.unique(pages)) // 3)  # a third of the footprint: plenty of misses
    options = {"seed": 7} if policy == "random" else {}
    engine = simulate(pages, policy, frames, **options).misses
    assert machine_faults(pages, kinds, policy, frames) == engine
