"""FIFO: evict the key that became resident first."""

from __future__ import annotations

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import OrderedPolicy


@register("fifo", "first in, first out: evict the oldest resident page")
class Fifo(OrderedPolicy):
    """Insertion order; the first key is the oldest."""

    def victim(self, refbits: RefBits) -> int:
        """The oldest key."""
        return self._take(next(iter(self._order)))
