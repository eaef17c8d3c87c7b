"""LFU: evict the key referenced fewest times since it became resident."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("lfu", "least frequently used since loaded; ties go to the least recently used")
class Lfu(ReplacementPolicy):
    """Counts reset when a key is evicted; among equal counts the least recent goes.

    That is libCacheSim's LFU: frequency buckets, each in order of arrival.
    """

    uses_access_hook = True

    def __init__(self) -> None:
        self._count: dict[int, int] = {}
        self._stamp: dict[int, int] = {}
        self._clock = 0

    def _touch(self, key: int, count: int) -> None:
        """Set key's count and make it the most recent."""
        self._count[key] = count
        self._stamp[key] = self._clock
        self._clock += 1

    def on_map(self, key: int) -> None:
        """A new key has been used once."""
        self._touch(key, 1)

    def on_access(self, key: int, write: bool) -> None:
        """One more use."""
        self._touch(key, self._count[key] + 1)

    def on_unmap(self, key: int) -> None:
        """Forget key."""
        del self._count[key], self._stamp[key]

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The unkept key with the smallest (count, last use)."""
        unkept = (k for k in self._count if not keep(k))
        key = min(unkept, key=lambda k: (self._count[k], self._stamp[k]), default=None)
        if key is not None:
            self.on_unmap(key)
        return key

    def __len__(self) -> int:
        return len(self._count)

    def __contains__(self, key: object) -> bool:
        return key in self._count
