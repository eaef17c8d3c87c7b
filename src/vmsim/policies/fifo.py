"""FIFO: evict the key that became resident first."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, register
from vmsim.policies.ordered import OrderedPolicy


@register("fifo", "first in, first out: evict the oldest resident page")
class Fifo(OrderedPolicy):
    """Insertion order; the first key is the oldest."""

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The oldest key that is not kept."""
        return self._first(keep)
