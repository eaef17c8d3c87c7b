"""OPT (Belady's MIN): evict the key whose next use is farthest away."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import OrderedPolicy


@register("opt", "Belady's MIN: evict the page used farthest in the future (trace replays)")
class Opt(OrderedPolicy):
    """Keys in insertion order; ties (pages never used again) go to the last inserted.

    That tie rule is OSTEP paging-policy's; it changes which page goes, never the
    number of misses.
    """

    needs_future = True

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The unkept key with the largest next use; the last such key in insertion order."""
        best: int | None = None
        best_next = 0
        for key in self._order:
            if keep(key):
                continue
            nu = refbits.next_use(key)
            if best is None or nu >= best_next:
                best, best_next = key, nu
        return None if best is None else self._take(best)
