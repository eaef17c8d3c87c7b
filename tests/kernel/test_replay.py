"""Trace replay through the whole machine agrees with the textbook definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim
from vmsim.policies import make_policy, policy_class, policy_names
from vmsim.policies.reference import replay as reference_replay

BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]


def machine_faults(
    pages: list[int] | np.ndarray,
    policy: str,
    frames: int,
    kinds: list[int] | np.ndarray | None = None,
    **cfg: object,
) -> int:
    """Faults of one replay of `pages` (page numbers) with a memory limit of `frames` pages."""
    cfg.setdefault("replay_only", True)  # opt and unopt need it: a replay knows the future
    with vmsim.Machine(memory="1MiB", swap="4MiB", policy=policy, **cfg) as m:  # type: ignore[arg-type]
        p = m.spawn(memory_limit=frames * 4096)
        stats = p.replay(np.asarray(pages, dtype=np.int64) << 12, kinds)
        m.check()
        return stats.faults


@pytest.mark.parametrize(("policy", "f3", "f4"), [("fifo", 9, 10), ("lru", 10, 8), ("opt", 7, 6)])
def test_belady_anomaly_through_the_machine(policy: str, f3: int, f4: int) -> None:
    assert (machine_faults(BELADY, policy, 3), machine_faults(BELADY, policy, 4)) == (f3, f4)


@pytest.mark.slow
@pytest.mark.parametrize("frames", [16, 64, 256])
@pytest.mark.parametrize("data_only", [False, True])
@pytest.mark.parametrize("policy", ["fifo", "lru"])
def test_gzip_trace_matches_the_reference_figures(
    gzip_trace: tuple[np.ndarray, np.ndarray],
    gzip_figures: dict[tuple[str, bool, int], int],
    policy: str,
    data_only: bool,
    frames: int,
) -> None:
    addrs, kinds = gzip_trace
    if data_only:
        keep = kinds != 0
        addrs, kinds = addrs[keep], kinds[keep]
    faults = machine_faults(addrs >> 12, policy, frames, kinds)
    assert faults == gzip_figures[(policy, data_only, frames)]


MACHINE_POLICIES = [n for n in policy_names() if not policy_class(n).remembers_evicted]


def test_policies_with_a_history_of_evicted_pages_are_refused() -> None:
    for name in set(policy_names()) - set(MACHINE_POLICIES):
        with pytest.raises(vmsim.ConfigError, match="history of evicted"):
            vmsim.Machine(policy=name)
    assert {"fifo", "lru", "clock", "opt", "lfu", "sieve"} <= set(MACHINE_POLICIES)


@settings(max_examples=25)
@given(
    pages=st.lists(st.integers(0, 11), min_size=1, max_size=60),
    frames=st.integers(1, 5),
    data=st.data(),
)
@pytest.mark.parametrize("policy", MACHINE_POLICIES)
def test_machine_agrees_with_the_reference_replay(
    policy: str, pages: list[int], frames: int, data: st.DataObject
) -> None:
    """Every registered policy: the machine faults exactly where the reference misses."""
    kinds = data.draw(st.lists(st.integers(0, 3), min_size=len(pages), max_size=len(pages)))
    writes = [k >= 2 for k in kinds]
    ref = reference_replay(pages, make_policy(policy), frames, writes, tick_every=7)
    got = machine_faults(pages, policy, frames, kinds, tick_interval=7)
    assert got == ref.misses


def test_replay_needs_a_fresh_process() -> None:
    m = vmsim.Machine(memory="1MiB", swap="1MiB")
    p = m.spawn()
    p.store(p.mmap(4096), b"x")
    with pytest.raises(vmsim.VmsimError, match="fresh process"):
        p.replay(np.array([0x1000]))


def test_replay_counts_and_kinds() -> None:
    m = vmsim.Machine(memory="1MiB", swap="1MiB", policy="lru")
    p = m.spawn(replay=True, memory_limit="8KiB")
    stats = p.replay(np.array([0x1000, 0x2000, 0x3000, 0x1000]), kinds=[0, 1, 2, 3])
    assert (stats.references, stats.minor_faults, stats.major_faults) == (4, 3, 1)
    # two evictions (pages 1 then 2), neither page had a copy in swap yet: both written
    assert p.stats.cpu_accesses == 4 and m.stats.pswpout == 2 and m.stats.pgsteal == 2
    with pytest.raises(vmsim.ConfigError):
        p.replay(np.array([0x1000]), kinds=[7])
    with pytest.raises(vmsim.ConfigError):
        p.replay(np.array([0x1000, 0x2000]), kinds=[1])


def test_opt_outside_a_replay_is_a_clear_error() -> None:
    for name in ("opt", "unopt"):
        with pytest.raises(vmsim.ConfigError, match="needs the future") as e:
            vmsim.Machine(memory="64KiB", swap="1MiB", policy=name)
        assert e.value.option == "policy"
    m = vmsim.Machine(memory="64KiB", swap="1MiB", policy="opt", replay_only=True)
    p = m.spawn(memory_limit="8KiB")
    for use in (lambda: p.mmap(16 * 4096), lambda: p.sbrk(4096), lambda: p.malloc(16)):
        with pytest.raises(vmsim.ConfigError, match="only replays traces") as e:
            use()
        assert e.value.option == "replay_only"
