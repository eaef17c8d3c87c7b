"""UNOPT: the anti-Belady policy, evict the page whose next use is nearest.

OSTEP paging-policy offers it as the worst sensible bound to compare OPT with. Ties
(only possible among pages never used again) go to the first key in insertion order.
"""

from __future__ import annotations

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import OrderedPolicy


@register("unopt", "anti-Belady: evict the page used soonest in the future (trace replays)")
class Unopt(OrderedPolicy):
    """Keys in insertion order; the victim has the smallest next use, first on ties."""

    needs_future = True

    def victim(self, refbits: RefBits) -> int:
        """The key with the smallest next use; the first such key in insertion order."""
        keys = iter(self._order)
        best = next(keys)
        best_next = refbits.next_use(best)
        for key in keys:
            nu = refbits.next_use(key)
            if nu < best_next:
                best, best_next = key, nu
        return self._take(best)
