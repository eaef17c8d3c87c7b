"""MRU: evict the most recently used key (good for large loops)."""

from __future__ import annotations

from vmsim.policies.base import RefBits, register
from vmsim.policies.lru import Lru


@register("mru", "most recently used: evict the page used last")
class Mru(Lru):
    """Same bookkeeping as LRU; the victim is taken from the other end."""

    def victim(self, refbits: RefBits) -> int:
        """The most recently used (or inserted) key."""
        key, _ = self._order.popitem()
        return key
