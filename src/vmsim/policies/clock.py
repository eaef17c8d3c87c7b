"""CLOCK (second chance) on the hardware accessed bit."""

from __future__ import annotations

from vmsim.policies.base import RefBits, ReplacementPolicy, register
from vmsim.policies.ring import Ring


@register("clock", "second chance: a hand sweeps frames, clearing accessed bits")
class Clock(ReplacementPolicy):
    """Keys on a ring; the hand points at the next key to inspect.

    A new key is inserted just behind the hand (it is inspected last), which is the
    fixed-slot textbook clock: the new page takes the victim's slot and the hand
    moves one past it.
    """

    def __init__(self) -> None:
        self.ring = Ring()

    def on_map(self, key: int) -> None:
        """Insert key just behind the hand."""
        self.ring.insert(key)

    def on_unmap(self, key: int) -> None:
        """Take key off the ring."""
        self.ring.remove(key)

    def victim(self, refbits: RefBits) -> int:
        """Sweep: a set accessed bit buys a second chance (cleared); evict the first clear one."""
        ring = self.ring
        assert ring.hand is not None
        while refbits.test_and_clear(ring.hand):
            ring.advance()
        key = ring.hand
        ring.remove(key)
        return key

    def resident(self) -> list[int]:
        """Keys in hand order, starting at the hand."""
        return list(self.ring.from_hand())

    def __len__(self) -> int:
        return len(self.ring)

    def __contains__(self, key: object) -> bool:
        return key in self.ring
