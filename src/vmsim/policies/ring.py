"""A circular list of keys with a hand: the shared mechanism of the clock family.

Not a policy itself (it registers nothing); clock-like policies keep their keys on one.
New keys go just behind the hand, so the hand reaches them last.
"""

from __future__ import annotations

from collections.abc import Iterator


class Ring:
    """Keys on a circle with a hand; O(1) insert behind the hand, remove and advance."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._prev: dict[int, int] = {}
        self.hand: int | None = None

    def insert(self, key: int) -> None:
        """Insert key just behind the hand."""
        if self.hand is None:
            self._next[key] = self._prev[key] = key
            self.hand = key
            return
        before = self._prev[self.hand]
        self._next[before] = key
        self._prev[key] = before
        self._next[key] = self.hand
        self._prev[self.hand] = key

    def insert_at_hand(self, key: int) -> None:
        """Insert key where the hand points: the hand meets it first."""
        self.insert(key)
        self.hand = key

    def remove(self, key: int) -> None:
        """Take key off the ring; the hand moves on if it pointed at key."""
        nxt, prv = self._next.pop(key), self._prev.pop(key)
        if nxt == key:
            self.hand = None
            return
        self._next[prv] = nxt
        self._prev[nxt] = prv
        if self.hand == key:
            self.hand = nxt

    def advance(self) -> int:
        """Move the hand one step; return the key it now points at."""
        assert self.hand is not None
        self.hand = self._next[self.hand]
        return self.hand

    def from_hand(self) -> Iterator[int]:
        """Keys in hand order, starting at the hand (a snapshot)."""
        out: list[int] = []
        k = self.hand
        while k is not None and (not out or k != self.hand):
            out.append(k)
            k = self._next[k]
        return iter(out)

    def __len__(self) -> int:
        return len(self._next)

    def __contains__(self, key: object) -> bool:
        return key in self._next
