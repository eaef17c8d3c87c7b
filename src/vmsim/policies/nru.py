"""NRU as the enhanced clock: classes by (accessed, dirty), evict from the lowest class."""

from __future__ import annotations

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

    def victim(self, refbits: RefBits) -> int:
        """The first page of the lowest non-empty class, found as described above."""
        ring = self.ring
        n = len(ring)
        for _ in range(2):
            for _ in range(n):  # round 1: (0,0), no changes
                key = ring.hand
                assert key is not None
                if not refbits.referenced(key) and not refbits.dirty(key):
                    return self._take(key)
                ring.advance()
            for _ in range(n):  # round 2: (0,1), clearing A on the way
                key = ring.hand
                assert key is not None
                if not refbits.test_and_clear(key) and refbits.dirty(key):
                    return self._take(key)
                ring.advance()
        key = ring.hand  # unreachable in practice: after two passes every A is clear
        assert key is not None
        return self._take(key)
