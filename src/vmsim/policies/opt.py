"""OPT (Belady's MIN): evict the key whose next use is farthest away."""

from __future__ import annotations

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import OrderedPolicy


@register("opt", "Belady's MIN: evict the page used farthest in the future (trace replays)")
class Opt(OrderedPolicy):
    """Keys in insertion order; ties (pages never used again) go to the last inserted.

    That tie rule is OSTEP paging-policy's; it changes which page goes, never the
    number of misses.
    """

    needs_future = True

    def victim(self, refbits: RefBits) -> int:
        """The key with the largest next use; the last such key in insertion order."""
        best, best_next = -1, -1
        for key in self._order:
            nu = refbits.next_use(key)
            if nu >= best_next:
                best, best_next = key, nu
        return self._take(best)
