"""The two policies textbook mode adds to the registry: ostep-clock and unopt."""

from __future__ import annotations

import random

from vmsim.policies import make_policy, policy_names
from vmsim.policies.ostep_clock import OstepClock
from vmsim.policies.reference import ReferenceBits


class Draws(random.Random):
    """A stream that returns the given numbers in order."""

    def __init__(self, values: list[float]) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


def test_registered_next_to_the_real_clock() -> None:
    names = policy_names()
    assert {"clock", "ostep-clock", "unopt"} <= set(names)


def test_counters_saturate_at_clockbits() -> None:
    p = OstepClock(clockbits=2)
    p.on_map(5)
    assert p.counter(5) == 1
    p.on_access(5, False)
    p.on_access(5, False)
    p.on_access(5, False)
    assert p.counter(5) == 2


def test_clockbits_zero_quirk_second_touch_sets_zero() -> None:
    p = OstepClock(clockbits=0)
    p.on_map(5)
    assert p.counter(5) == 1  # the first touch is not clamped
    p.on_access(5, False)
    assert p.counter(5) == 0


def test_victim_probes_random_slots_spending_counters() -> None:
    # resident [1, 2, 3], counters 1, 2, 1; draws pick slots 0, 0, 2, 1, 1, 0
    rng = Draws([0.1, 0.2, 0.9, 0.5, 0.4, 0.0])
    p = make_policy("ostep-clock", rng=rng, clockbits=2)
    for k in (1, 2, 3):
        p.on_map(k)
    p.on_access(2, False)
    # slot 0 (page 1): 1 -> 0; slot 0 (page 1): 0 -> evicted
    assert p.victim(ReferenceBits()) == 1
    assert p.resident() == [2, 3]  # type: ignore[attr-defined]
    # two slots left: 0.9 -> slot 1 (page 3): 1 -> 0; 0.5 -> slot 1 (page 3) -> evicted
    assert p.victim(ReferenceBits()) == 3
    assert rng.values == [0.4, 0.0]


def test_unopt_evicts_the_nearest_next_use_first_on_ties() -> None:
    p = make_policy("unopt")
    for k in (10, 20, 30, 40):
        p.on_map(k)
    bits = ReferenceBits(has_future=True, next_uses={10: 9, 20: 4, 30: 99, 40: 99})
    assert p.victim(bits) == 20
    bits.next_uses[10] = 99
    assert p.victim(bits) == 10  # 10, 30, 40 never used again: the first goes
    assert len(p) == 2
