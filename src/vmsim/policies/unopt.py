"""UNOPT: the anti-Belady policy, evict the page whose next use is nearest.

OSTEP paging-policy offers it as the worst sensible bound to compare OPT with. Ties
(only possible among pages never used again) go to the first key in insertion order.
"""

from __future__ import annotations

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("unopt", "anti-Belady: evict the page used soonest in the future (trace replays)")
class Unopt(ReplacementPolicy):
    """Keys in insertion order; the victim has the smallest next use, first on ties."""

    needs_future = True

    def __init__(self) -> None:
        self._order: dict[int, None] = {}

    def on_map(self, key: int) -> None:
        """Append key."""
        self._order[key] = None

    def on_unmap(self, key: int) -> None:
        """Drop key."""
        del self._order[key]

    def victim(self, refbits: RefBits) -> int:
        """The key with the smallest next use; the first such key in insertion order."""
        keys = iter(self._order)
        best = next(keys)
        best_next = refbits.next_use(best)
        for key in keys:
            nu = refbits.next_use(key)
            if nu < best_next:
                best, best_next = key, nu
        del self._order[best]
        return best

    def resident(self) -> list[int]:
        """Keys in insertion order."""
        return list(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order
