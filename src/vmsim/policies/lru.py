"""LRU: evict the least recently used key, exactly (through the access hook)."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import OrderedPolicy


@register("lru", "least recently used, exact (simulator-only access hook)")
class Lru(OrderedPolicy):
    """Recency order: first key least recent, last key most recent."""

    uses_access_hook = True

    def on_access(self, key: int, write: bool) -> None:
        """Move key to the most-recent end."""
        del self._order[key]
        self._order[key] = None

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The least recently used key that is not kept."""
        return self._first(keep)
