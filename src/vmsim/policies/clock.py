"""CLOCK (second chance) on the hardware accessed bit."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import RingPolicy


@register("clock", "second chance: a hand sweeps frames, clearing accessed bits")
class Clock(RingPolicy):
    """Keys on a ring; the hand points at the next key to inspect.

    A new key is inserted just behind the hand (it is inspected last), which is the
    fixed-slot textbook clock: the new page takes the victim's slot and the hand
    moves one past it.
    """

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """Sweep: a set accessed bit buys a second chance (cleared); evict the first clear one.

        A kept key with a clear bit is passed over and goes back to the hand. Two rounds
        find an unkept clear key if there is any: the first round clears every bit.
        """
        ring = self.ring
        passed: list[int] = []
        for _ in range(2 * len(ring)):
            key = ring.hand
            assert key is not None
            if not refbits.test_and_clear(key) and not self._passes(key, keep, passed):
                return self._take_passing(key, passed)
            ring.advance()
        return None
