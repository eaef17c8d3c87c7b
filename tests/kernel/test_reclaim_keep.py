"""Reclaim keeps recency: a frame reclaim cannot take now (pinned) keeps its place.

The policy seam's victim_except passes over kept keys without re-inserting them; the
machine keeps pinned frames (and anonymous pages when swap is full) that way.
"""

from __future__ import annotations

import copy

import pytest

import vmsim
from vmsim.events import Evict, FrameFree, SwapOut
from vmsim.policies import make_policy, policy_class, policy_names
from vmsim.policies.base import ReplacementPolicy
from vmsim.policies.reference import ReferenceBits

PAGE = 4096
MACHINE_POLICIES = [n for n in policy_names() if not policy_class(n).remembers_evicted]
RANDOM_CHOICE = {"random", "ostep-clock"}
"""Policies whose choice is a random draw: a passed-over key has no place in a line."""


def _bits(n: int) -> ReferenceBits:
    """Accessed bits on every third key, dirty bits on every fourth, a known future."""
    return ReferenceBits(
        now=10_000,
        accessed={k for k in range(n) if k % 3 == 0},
        dirty_pages={k for k in range(n) if k % 4 == 0},
        next_uses={k: (k * 7919) % 101 for k in range(n)},
        has_future=True,
    )


def _loaded(name: str, n: int = 12) -> ReplacementPolicy:
    pol = make_policy(name)
    for key in range(n):
        pol.on_map(key)
        if pol.uses_access_hook and key % 2:
            pol.on_access(key, False)
    return pol


@pytest.mark.parametrize("name", MACHINE_POLICIES)
def test_a_kept_key_is_never_chosen_and_none_when_all_are_kept(name: str) -> None:
    pol, bits = _loaded(name), _bits(12)
    kept = {1, 4, 5, 8}
    chosen = [pol.victim_except(bits, kept.__contains__) for _ in range(8)]
    assert sorted(chosen) == sorted(set(range(12)) - kept)  # type: ignore[type-var]
    assert pol.victim_except(bits, kept.__contains__) is None
    assert len(pol) == 4 and all(k in pol for k in kept)
    assert sorted(pol.victim(bits) for _ in range(4)) == sorted(kept)


@pytest.mark.parametrize("name", sorted(set(MACHINE_POLICIES) - RANDOM_CHOICE))
def test_the_passed_over_key_is_the_next_victim(name: str) -> None:
    """Keep the key the policy would choose: another goes, then the kept one, first."""
    pol, bits = _loaded(name), _bits(12)
    would = copy.deepcopy(pol).victim(copy.deepcopy(bits))
    other = pol.victim_except(bits, lambda k: k == would)
    assert other is not None and other != would
    assert pol.victim(bits) == would


def _machine_with_four_pages(policy: str) -> tuple[vmsim.Machine, list[int]]:
    """Four dirty anonymous pages written in order A, B, C, D; their frames."""
    m = vmsim.Machine(memory="1MiB", swap="1MiB", policy=policy, record_events=True)
    p = m.spawn()
    va = p.mmap(4 * PAGE)
    frames = []
    for i in range(4):
        p.store(va + i * PAGE, bytes([i + 1]) * 8)
        pte = p.pte(va + i * PAGE)
        assert pte is not None
        frames.append(pte.frame)
    return m, frames


def _evicted(m: vmsim.Machine) -> list[int]:
    return [e.ppn for e in m.events if isinstance(e, Evict)]


@pytest.mark.parametrize("policy", ["lru", "fifo", "clock"])
def test_a_pinned_victim_keeps_its_place(policy: str) -> None:
    """A would go first; pinned, B goes instead; released, A goes next (not C)."""
    m, (a, b, c, _d) = _machine_with_four_pages(policy)
    k = m.kernel
    with k.frames.pinned(a):
        assert k.reclaimer.reclaim()
    assert k.reclaimer.reclaim()
    assert k.reclaimer.reclaim()
    assert _evicted(m) == [b, a, c]
    assert m.stats.pgsteal == 3 and m.stats.pswpout == 3
    m.check()


def test_pages_that_cannot_go_to_a_full_swap_keep_their_place() -> None:
    """Swap full: anonymous pages are passed over in place; a file page goes instead."""
    m = vmsim.Machine(memory="1MiB", swap=2 * PAGE, policy="lru", record_events=True)
    p = m.spawn()
    va = p.mmap(3 * PAGE)
    for i in range(3):
        p.store(va + i * PAGE, b"x")
    frames = [p.pte(va + i * PAGE).frame for i in range(3)]  # type: ignore[union-attr]
    k = m.kernel
    assert k.reclaimer.reclaim()  # the one slot takes the least recent page
    assert k.swap.full() and _evicted(m) == [frames[0]]
    assert not k.reclaimer.reclaim()  # nothing else can go: no victim, nothing moved
    assert k.reclaimer.global_policy.resident() == frames[1:]  # type: ignore[attr-defined]
    m.check()


def test_reclaim_logs_its_decision_before_the_swap_out_and_the_free() -> None:
    m, (a, *_rest) = _machine_with_four_pages("fifo")
    start = len(m.events)
    assert m.kernel.reclaimer.reclaim()
    log = m.events[start:]
    kinds = [type(e) for e in log]
    evict, out, free = kinds.index(Evict), kinds.index(SwapOut), kinds.index(FrameFree)
    assert evict < out < free and evict == 0
    assert (log[evict].ppn, log[out].ppn, log[free].ppn) == (a, a, a)  # type: ignore[attr-defined]
