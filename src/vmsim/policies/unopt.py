"""UNOPT: the anti-Belady policy, evict the page whose next use is nearest.

OSTEP paging-policy offers it as the worst sensible bound to compare OPT with. Ties
(only possible among pages never used again) go to the first key in insertion order.
"""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import OrderedPolicy


@register("unopt", "anti-Belady: evict the page used soonest in the future (trace replays)")
class Unopt(OrderedPolicy):
    """Keys in insertion order; the victim has the smallest next use, first on ties."""

    needs_future = True

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The unkept key with the smallest next use; the first such key in insertion order."""
        best: int | None = None
        best_next = 0
        for key in self._order:
            if keep(key):
                continue
            nu = refbits.next_use(key)
            if best is None or nu < best_next:
                best, best_next = key, nu
        return None if best is None else self._take(best)
