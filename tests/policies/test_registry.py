"""The policy registry and the contract every registered policy keeps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmsim import ConfigError
from vmsim.policies import make_policy, policy_class, policy_names
from vmsim.policies.reference import NEVER, next_use_array, replay

BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]


def test_registry_has_the_core_policies() -> None:
    names = policy_names()
    for name in ("fifo", "lru", "clock", "opt", "random", "mru"):
        assert name in names
        assert policy_class(name).name == name


def test_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as e:
        make_policy("nope")
    assert "fifo" in str(e.value)


@pytest.mark.parametrize(
    ("policy", "frames", "misses"),
    # Belady's anomaly, as OSTEP's SEMANTICS.md section 3 records it.
    [("fifo", 3, 9), ("fifo", 4, 10), ("lru", 3, 10), ("lru", 4, 8), ("opt", 3, 7), ("opt", 4, 6)],
)
def test_belady_string(policy: str, frames: int, misses: int) -> None:
    assert replay(BELADY, make_policy(policy), frames).misses == misses


def test_next_use_array() -> None:
    assert next_use_array([1, 2, 1, 3, 2]).tolist() == [2, 4, NEVER, NEVER, NEVER]


@given(st.lists(st.integers(0, 9), max_size=60))
def test_next_use_array_by_definition(pages: list[int]) -> None:
    expected = [
        next((j for j in range(t + 1, len(pages)) if pages[j] == p), NEVER)
        for t, p in enumerate(pages)
    ]
    assert next_use_array(pages).tolist() == expected


def _naive_lru_misses(pages: list[int], frames: int) -> int:
    """LRU by definition: a hit iff fewer than `frames` distinct pages since the last use."""
    misses = 0
    for t, p in enumerate(pages):
        prev = [i for i in range(t) if pages[i] == p]
        if not prev or len(set(pages[prev[-1] + 1 : t])) >= frames:
            misses += 1
    return misses


def _naive_opt_misses(pages: list[int], frames: int) -> int:
    """MIN by exhaustive search over every eviction choice (tiny inputs only)."""
    from functools import cache

    @cache
    def best(t: int, resident: frozenset[int]) -> int:
        if t == len(pages):
            return 0
        p = pages[t]
        if p in resident:
            return best(t + 1, resident)
        if len(resident) < frames:
            return 1 + best(t + 1, resident | {p})
        return 1 + min(best(t + 1, (resident - {v}) | {p}) for v in resident)

    return best(0, frozenset())


@given(st.lists(st.integers(0, 7), max_size=40), st.integers(1, 5))
def test_lru_matches_its_definition(pages: list[int], frames: int) -> None:
    assert replay(pages, make_policy("lru"), frames).misses == _naive_lru_misses(pages, frames)


@given(st.lists(st.integers(0, 5), max_size=14), st.integers(1, 4))
def test_opt_is_optimal(pages: list[int], frames: int) -> None:
    assert replay(pages, make_policy("opt"), frames).misses == _naive_opt_misses(pages, frames)


@pytest.mark.parametrize("name", policy_names())
class TestPolicyContract:
    """Every registered policy, on random traces, keeps the contract of policies/base.py."""

    @given(
        pages=st.lists(st.integers(0, 12), min_size=1, max_size=80),
        frames=st.integers(1, 6),
        data=st.data(),
    )
    def test_replay_invariants(
        self, name: str, pages: list[int], frames: int, data: st.DataObject
    ) -> None:
        writes = data.draw(st.lists(st.booleans(), min_size=len(pages), max_size=len(pages)))
        policy = make_policy(name)
        result = replay(pages, policy, frames, writes, tick_every=5)
        distinct = len(set(pages))
        assert distinct <= result.misses <= len(pages)
        # every eviction makes room for exactly one new page
        assert result.misses - len(result.victims) == len(policy) == min(distinct, frames)
        assert len(policy) <= frames
        # a victim was resident: it was referenced before it was evicted
        assert all(v in pages for v in result.victims)
        # the first reference to each page always misses
        first = {p: i for i, p in reversed(list(enumerate(pages)))}
        assert all(result.miss_trace[i] for i in first.values())

    def test_unmap_and_victim(self, name: str) -> None:
        policy = make_policy(name)
        for k in (10, 20, 30, 40):
            policy.on_map(k)
        policy.on_unmap(20)
        assert len(policy) == 3 and 20 not in policy and 30 in policy

        class Bits:
            now = 4

            def test_and_clear(self, key: int) -> bool:
                return False

            def referenced(self, key: int) -> bool:
                return False

            def dirty(self, key: int) -> bool:
                return False

            def next_use(self, key: int) -> int:
                return {10: 7, 30: 5, 40: 9}[key]

        seen = {policy.victim(Bits()) for _ in range(3)}
        assert seen == {10, 30, 40} and len(policy) == 0

    def test_a_loop_that_fits_misses_only_on_first_touch(self, name: str) -> None:
        pages = np.tile(np.arange(8), 6)
        with_all = replay(pages, make_policy(name), 8).misses
        assert with_all == 8


def test_registry_says_where_each_policy_runs() -> None:
    """Issue 10: the table says which of arc, 2q and lirs the machine cannot run (all three)."""
    from vmsim.config import MachineConfig
    from vmsim.policies.runs import runs_on_machine, where_it_runs

    engine_only = {n for n in policy_names() if not runs_on_machine(n)}
    assert engine_only == {"arc", "2q", "lirs"}
    for name in policy_names():
        says = "engine only" in policy_class(name).description
        assert says == (name in engine_only), name
        assert where_it_runs(name) == (
            "engine only (remembers evicted pages, which a reused frame cannot carry)"
            if says
            else "machine and engine"
        )
        if says:
            with pytest.raises(ConfigError, match="history of evicted pages"):
                MachineConfig(policy=name, replay_only=True)
        else:
            MachineConfig(policy=name, replay_only=True)  # opt, unopt: only in replays
