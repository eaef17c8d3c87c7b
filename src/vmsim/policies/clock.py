"""CLOCK (second chance) on the hardware accessed bit."""

from __future__ import annotations

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("clock", "second chance: a hand sweeps frames, clearing accessed bits")
class Clock(ReplacementPolicy):
    """Keys on a circular list; the hand points at the next key to inspect.

    A new key is inserted just behind the hand (it is inspected last), which is the
    fixed-slot textbook clock: the new page takes the victim's slot and the hand
    moves one past it.
    """

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._prev: dict[int, int] = {}
        self._hand: int | None = None

    def on_map(self, key: int) -> None:
        """Insert key just behind the hand."""
        if self._hand is None:
            self._next[key] = self._prev[key] = key
            self._hand = key
            return
        before = self._prev[self._hand]
        self._next[before] = key
        self._prev[key] = before
        self._next[key] = self._hand
        self._prev[self._hand] = key

    def on_unmap(self, key: int) -> None:
        """Take key off the ring; the hand moves on if it pointed at key."""
        nxt, prv = self._next.pop(key), self._prev.pop(key)
        if nxt == key:
            self._hand = None
            return
        self._next[prv] = nxt
        self._prev[nxt] = prv
        if self._hand == key:
            self._hand = nxt

    def victim(self, refbits: RefBits) -> int:
        """Sweep: a set accessed bit buys a second chance (cleared); evict the first clear one."""
        assert self._hand is not None
        while refbits.test_and_clear(self._hand):
            self._hand = self._next[self._hand]
        key = self._hand
        self.on_unmap(key)
        return key

    def resident(self) -> list[int]:
        """Keys in hand order, starting at the hand."""
        out: list[int] = []
        k = self._hand
        while k is not None and (not out or k != self._hand):
            out.append(k)
            k = self._next[k]
        return out

    def __len__(self) -> int:
        return len(self._next)

    def __contains__(self, key: object) -> bool:
        return key in self._next
