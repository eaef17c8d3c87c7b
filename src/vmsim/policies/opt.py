"""OPT (Belady's MIN): evict the key whose next use is farthest away."""

from __future__ import annotations

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("opt", "Belady's MIN: evict the page used farthest in the future (trace replays)")
class Opt(ReplacementPolicy):
    """Keys in insertion order; ties (pages never used again) go to the last inserted.

    That tie rule is OSTEP paging-policy's; it changes which page goes, never the
    number of misses.
    """

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
        """The key with the largest next use; the last such key in insertion order."""
        best, best_next = -1, -1
        for key in self._order:
            nu = refbits.next_use(key)
            if nu >= best_next:
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
