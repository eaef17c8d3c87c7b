"""DESIGN.md: the machine and the engine agree, miss for fault, on the same trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim
from vmsim.engine.kernels import run_kernel
from vmsim.engine.prepared import Prepared
from vmsim.policies import policy_class, policy_names

DATA = Path(__file__).parent / "data"
BOTH = [n for n in policy_names() if not policy_class(n).remembers_evicted]
ISSUE_10 = ["aging", "nru", "wsclock", "ostep-clock", "unopt"]


def machine_faults(
    pages: np.ndarray,
    kinds: np.ndarray | None,
    policy: str,
    frames: int,
    tick_interval: int = 1000,
    **options: Any,
) -> int:
    """Faults of `vmsim replay`'s path: Process.replay in a memory cgroup of `frames` pages.

    Swap is sized so that it never gets half full: past that, Linux (and the machine) drop
    swapped-in pages from the swap cache and count them dirty (vm_swap_full), which the
    engine's textbook dirty bit (written since loaded) does not model.
    """
    footprint = len(np.unique(pages))
    swap = max(2048, 4 * footprint) * 4096
    with vmsim.Machine(
        memory="2MiB",
        swap=swap,
        policy=policy,
        seed=7,
        replay_only=True,
        tick_interval=tick_interval,
        policy_options=options,
    ) as m:
        p = m.spawn(memory_limit=frames * 4096)
        return p.replay(pages << 12, kinds).faults


def engine_misses(
    pages: np.ndarray, kinds: np.ndarray | None, policy: str, frames: int, **options: Any
) -> int:
    """Misses of the engine's kernel (`vmsim simulate`) with the same options."""
    if policy == "random":
        options = {"seed": 7, **options}
    return run_kernel(policy, Prepared.from_pages(pages, kinds), frames, **options)[0]


def test_the_policies_compared_run_on_both() -> None:
    assert set(ISSUE_10) <= set(BOTH)
    assert {"fifo", "lru", "clock", "opt", "random", "mru", "lfu", "sieve"} <= set(BOTH)
    assert set(policy_names()) - set(BOTH) == {"arc", "2q", "lirs"}


@settings(max_examples=40)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), min_size=1, max_size=150),
    st.integers(1, 8),
    st.sampled_from(BOTH),
)
def test_random_traces(refs: list[tuple[int, int]], frames: int, policy: str) -> None:
    pages = np.array([p for p, _ in refs], dtype=np.int64)
    kinds = np.array([k for _, k in refs], dtype=np.uint8)
    engine = engine_misses(pages, kinds, policy, frames)
    assert machine_faults(pages, kinds, policy, frames) == engine


OPTIONS = [
    ("aging", 1000, {}),
    ("aging", 7, {"bits": 3}),
    ("aging", 50, {"bits": 16}),
    ("wsclock", 1000, {"tau": 10}),
    ("wsclock", 1000, {"tau": 200}),
    ("ostep-clock", 1000, {"seed": 3, "clockbits": 0}),
    ("ostep-clock", 1000, {"seed": 11, "clockbits": 4}),
]


@pytest.mark.parametrize(("policy", "tick", "options"), OPTIONS)
def test_parameters_mean_the_same(policy: str, tick: int, options: dict[str, int]) -> None:
    """Aging's bits and tick interval, wsclock's tau, ostep-clock's seed and clockbits."""
    rng = np.random.default_rng(len(str(options)) + tick)
    n = 6000
    pages = np.cumsum(rng.integers(0, 2, n)) // 4 + rng.integers(0, 30, n)
    kinds = rng.integers(0, 4, n).astype(np.uint8)
    for frames in (3, 12, 40):
        opts = {**options, "tick_interval": tick} if policy == "aging" else options
        engine = engine_misses(pages, kinds, policy, frames, **opts)
        assert machine_faults(pages, kinds, policy, frames, tick, **options) == engine


def _real(path: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pages and kinds of the first n references of a real trace."""
    t = vmsim.open_trace(path)
    pages = t.pages(12)[:n]
    kinds = np.concatenate([c.kinds for c in t.chunks()])[:n]
    return pages, kinds


@pytest.mark.slow
@pytest.mark.parametrize("trace", ["ls.lackey.xz", "walk.lackey.xz"])
@pytest.mark.parametrize("policy", sorted(set(BOTH) - set(ISSUE_10)))
def test_recorded_traces(trace: str, policy: str) -> None:
    # a prefix keeps the thrashing policies (mru, lfu) quick on the machine
    pages, kinds = _real(DATA / trace, 300_000)
    frames = max(8, len(np.unique(pages)) // 3)  # a third of the footprint: plenty of misses
    engine = engine_misses(pages, kinds, policy, frames)
    assert machine_faults(pages, kinds, policy, frames) == engine


@pytest.mark.slow
@pytest.mark.parametrize("trace", ["ls.lackey.xz", "walk.lackey.xz", "gzip_16k.lackey.xz"])
@pytest.mark.parametrize("policy", ISSUE_10)
def test_recorded_traces_issue_10_kernels(trace: str, policy: str, refs: Path) -> None:
    """The new kernels on the real traces (tests/data and the shared gzip trace), with their
    kinds (writes make pages dirty), at a third and a tenth of the footprint."""
    path = refs / "traces" / trace if trace.startswith("gzip") else DATA / trace
    # prefixes keep the machine quick; unopt thrashes (every fault a swap-out and -in)
    pages, kinds = _real(path, 50_000 if policy == "unopt" else 200_000)
    footprint = len(np.unique(pages))
    sizes = [max(8, footprint // 3)] + ([] if policy == "unopt" else [max(4, footprint // 10)])
    for frames in sizes:
        engine = engine_misses(pages, kinds, policy, frames)
        assert machine_faults(pages, kinds, policy, frames) == engine, frames
