"""MRU: evict the most recently used key (good for large loops)."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.lru import Lru


@register("mru", "most recently used: evict the page used last")
class Mru(Lru):
    """Same bookkeeping as LRU; the victim is taken from the other end."""

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The most recently used (or inserted) key that is not kept."""
        key = next((k for k in reversed(self._order) if not keep(k)), None)
        return None if key is None else self._take(key)
