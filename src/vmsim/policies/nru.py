"""NRU as the enhanced clock: classes by (accessed, dirty), evict from the lowest class."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import RingPolicy


@register("nru", "not recently used: enhanced clock on the accessed and dirty bits")
class Nru(RingPolicy):
    """The enhanced second-chance algorithm (Silberschatz; Mac OS's classic VM).

    Classes: (0,0) not accessed, clean; (0,1) not accessed, dirty; (1,0); (1,1).
    The hand makes rounds from where it stands: round 1 looks for (0,0) and changes
    nothing; round 2 looks for (0,1) and clears the accessed bit of every page it
    passes; then round 1 again (every page now has A = 0), and so on.
    """

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The first unkept page of the lowest non-empty class, found as described above."""
        ring = self.ring
        n = len(ring)
        passed: list[int] = []
        for _ in range(2):
            for _ in range(n):  # round 1: (0,0), no changes
                key = ring.hand
                assert key is not None
                if not (refbits.referenced(key) or refbits.dirty(key)) and not self._passes(
                    key, keep, passed
                ):
                    return self._take_passing(key, passed)
                ring.advance()
            for _ in range(n):  # round 2: (0,1), clearing A on the way
                key = ring.hand
                assert key is not None
                if (
                    not refbits.test_and_clear(key)
                    and refbits.dirty(key)
                    and not self._passes(key, keep, passed)
                ):
                    return self._take_passing(key, passed)
                ring.advance()
        # unreachable in practice: after two passes every A is clear
        return self._take_passing(self._first_from_hand(keep), passed)
