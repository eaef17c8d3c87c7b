"""FIFO: evict the key that became resident first."""

from __future__ import annotations

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("fifo", "first in, first out: evict the oldest resident page")
class Fifo(ReplacementPolicy):
    """Insertion order in a dict (ordered); the first key is the oldest."""

    def __init__(self) -> None:
        self._order: dict[int, None] = {}

    def on_map(self, key: int) -> None:
        """Append key at the young end."""
        self._order[key] = None

    def on_unmap(self, key: int) -> None:
        """Drop key wherever it is."""
        del self._order[key]

    def victim(self, refbits: RefBits) -> int:
        """The oldest key."""
        key = next(iter(self._order))
        del self._order[key]
        return key

    def resident(self) -> list[int]:
        """Keys from oldest to youngest."""
        return list(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order
