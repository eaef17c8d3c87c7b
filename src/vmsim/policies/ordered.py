"""OrderedPolicy: the bookkeeping of policies that keep their keys in one order.

Not a policy itself (it registers nothing): fifo, lru, mru, opt and unopt keep their
resident keys in a dict in insertion (or recency) order and differ only in the
victim they pick. RingPolicy is the same for the clock family (clock, nru, wsclock):
keys on a ring with a hand.
"""

from __future__ import annotations

from vmsim.policies.base import ReplacementPolicy
from vmsim.policies.ring import Ring


class OrderedPolicy(ReplacementPolicy):
    """Resident keys in a dict, oldest (or least recent) first; subclasses pick victims."""

    def __init__(self) -> None:
        self._order: dict[int, None] = {}

    def on_map(self, key: int) -> None:
        """Append key at the young end."""
        self._order[key] = None

    def on_unmap(self, key: int) -> None:
        """Drop key wherever it is."""
        del self._order[key]

    def _take(self, key: int) -> int:
        """Forget key and return it (as a victim)."""
        del self._order[key]
        return key

    def resident(self) -> list[int]:
        """Keys in order, oldest first."""
        return list(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order


class RingPolicy(ReplacementPolicy):
    """Resident keys on a ring with a hand; new keys go just behind the hand."""

    def __init__(self) -> None:
        self.ring = Ring()

    def on_map(self, key: int) -> None:
        """Insert key just behind the hand."""
        self.ring.insert(key)

    def on_unmap(self, key: int) -> None:
        """Take key off the ring."""
        self.ring.remove(key)

    def _take(self, key: int) -> int:
        """Take key off the ring and return it (as a victim)."""
        self.ring.remove(key)
        return key

    def resident(self) -> list[int]:
        """Keys in hand order, starting at the hand."""
        return list(self.ring.from_hand())

    def __len__(self) -> int:
        return len(self.ring)

    def __contains__(self, key: object) -> bool:
        return key in self.ring
