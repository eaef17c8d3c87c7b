"""LRU: evict the least recently used key, exactly (through the access hook)."""

from __future__ import annotations

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("lru", "least recently used, exact (simulator-only access hook)")
class Lru(ReplacementPolicy):
    """Recency order in a dict: first key least recent, last key most recent."""

    uses_access_hook = True

    def __init__(self) -> None:
        self._order: dict[int, None] = {}

    def on_map(self, key: int) -> None:
        """A new key is the most recently used."""
        self._order[key] = None

    def on_access(self, key: int, write: bool) -> None:
        """Move key to the most-recent end."""
        del self._order[key]
        self._order[key] = None

    def on_unmap(self, key: int) -> None:
        """Drop key."""
        del self._order[key]

    def victim(self, refbits: RefBits) -> int:
        """The least recently used key."""
        key = next(iter(self._order))
        del self._order[key]
        return key

    def resident(self) -> list[int]:
        """Keys from least to most recently used."""
        return list(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order
