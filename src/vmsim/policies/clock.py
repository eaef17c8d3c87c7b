"""CLOCK (second chance) on the hardware accessed bit."""

from __future__ import annotations

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import RingPolicy


@register("clock", "second chance: a hand sweeps frames, clearing accessed bits")
class Clock(RingPolicy):
    """Keys on a ring; the hand points at the next key to inspect.

    A new key is inserted just behind the hand (it is inspected last), which is the
    fixed-slot textbook clock: the new page takes the victim's slot and the hand
    moves one past it.
    """

    def victim(self, refbits: RefBits) -> int:
        """Sweep: a set accessed bit buys a second chance (cleared); evict the first clear one."""
        ring = self.ring
        assert ring.hand is not None
        while refbits.test_and_clear(ring.hand):
            ring.advance()
        return self._take(ring.hand)
