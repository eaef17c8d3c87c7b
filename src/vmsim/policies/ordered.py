"""OrderedPolicy: the bookkeeping of policies that keep their keys in one order.

Not a policy itself (it registers nothing): fifo, lru, mru, opt and unopt keep their
resident keys in a dict in insertion (or recency) order and differ only in the
victim they pick. RingPolicy is the same for the clock family (clock, nru, wsclock):
keys on a ring with a hand.
"""

from __future__ import annotations

from collections.abc import Callable

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

    def _first(self, keep: Callable[[int], bool]) -> int | None:
        """Take the first key in order that is not kept (None if all are)."""
        key = next((k for k in self._order if not keep(k)), None)
        return None if key is None else self._take(key)

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

    def _take_passing(self, key: int | None, passed: list[int]) -> int | None:
        """End a sweep: take key (if any); the kept keys the hand passed go back to the hand.

        passed holds the kept keys the hand would have chosen, in the order it met them:
        it meets them first next time, in that order; every other key keeps its place.
        """
        if key is not None:
            self._take(key)
        for kept in reversed(passed):
            self.ring.remove(kept)
            self.ring.insert_at_hand(kept)
        return key

    @staticmethod
    def _passes(key: int, keep: Callable[[int], bool], passed: list[int]) -> bool:
        """keep(key) for a key the hand would choose; a kept one is noted in passed (once)."""
        if not keep(key):
            return False
        if key not in passed:
            passed.append(key)
        return True

    def _first_from_hand(self, keep: Callable[[int], bool]) -> int | None:
        """The first key in hand order that is not kept (None if all are)."""
        return next((k for k in self.ring.from_hand() if not keep(k)), None)

    def resident(self) -> list[int]:
        """Keys in hand order, starting at the hand."""
        return list(self.ring.from_hand())

    def __len__(self) -> int:
        return len(self.ring)

    def __contains__(self, key: object) -> bool:
        return key in self.ring
