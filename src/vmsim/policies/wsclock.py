"""WSCLOCK: the working-set clock, with a window tau in references."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import RingPolicy


@register("wsclock", "working-set clock: evict a page outside the working-set window tau")
class WsClock(RingPolicy):
    """Tanenbaum's WSClock, in virtual time (references).

    Each page records the time it was last seen referenced. The hand sweeps: a
    referenced page gets its accessed bit cleared and its time set to now; an
    unreferenced page older than tau is outside the working set: evicted if clean,
    else remembered as a candidate (its write-back would be scheduled) and passed.
    After one full sweep with no clean old page, the first old dirty candidate goes;
    with no old page at all, the page at the hand goes (the oldest in hand order).
    """

    def __init__(self, tau: int = 1000) -> None:
        if tau < 1:
            raise ValueError(f"tau={tau}: at least 1")
        super().__init__()
        self.tau = tau
        self._last: dict[int, int] = {}

    def on_map(self, key: int) -> None:
        """Insert key behind the hand; its time starts when it is first swept."""
        super().on_map(key)
        self._last[key] = -1

    def on_unmap(self, key: int) -> None:
        """Forget key."""
        super().on_unmap(key)
        del self._last[key]

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """One sweep at most, as the class docstring describes; a kept key is never chosen."""
        ring = self.ring
        now = refbits.now
        candidate: int | None = None
        passed: list[int] = []
        for _ in range(len(ring)):
            key = ring.hand
            assert key is not None
            if self._last[key] < 0:
                self._last[key] = now
            if refbits.test_and_clear(key):
                self._last[key] = now
            elif now - self._last[key] > self.tau:
                if not refbits.dirty(key):
                    if not self._passes(key, keep, passed):
                        return self._take_passing(key, passed)
                elif candidate is None and not keep(key):
                    candidate = key
            ring.advance()
        key = candidate if candidate is not None else self._first_from_hand(keep)
        return self._take_passing(key, passed)

    def _take(self, key: int) -> int:
        """Forget key (and its time) and return it."""
        del self._last[key]
        return super()._take(key)
