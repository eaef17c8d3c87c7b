"""SIEVE (Zhang et al., NSDI 2024): a FIFO queue with a hand that spares visited keys."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register(
    "sieve", "SIEVE: a hand moves from old to new, clearing visited bits; new keys at the head"
)
class Sieve(ReplacementPolicy):
    """Keys from oldest (tail, index 0) to newest (head); a visited bit each.

    A hit sets the key's visited bit (its own bit, not the accessed bit: a new key
    starts unvisited). To evict, the hand starts where it stopped last time (at the
    tail the first time, or after it passed the head), clears visited bits while
    moving toward the head, and evicts the first unvisited key; the hand then rests
    on the next newer key. Keys never move in the queue.
    """

    uses_access_hook = True

    def __init__(self) -> None:
        self._queue: list[int] = []
        self._visited: dict[int, bool] = {}
        self._hand: int | None = None

    def on_map(self, key: int) -> None:
        """Insert at the head, unvisited."""
        self._queue.append(key)
        self._visited[key] = False

    def on_access(self, key: int, write: bool) -> None:
        """Mark visited."""
        self._visited[key] = True

    def _remove_at(self, i: int) -> int:
        """Remove the key at index i, keeping the hand on the same (or next newer) key."""
        key = self._queue.pop(i)
        del self._visited[key]
        if self._hand is not None:
            if i < self._hand:
                self._hand -= 1
            if self._hand >= len(self._queue):
                self._hand = None
        return key

    def on_unmap(self, key: int) -> None:
        """Take key out of the queue."""
        self._remove_at(self._queue.index(key))

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """Sweep from the hand toward the head, wrapping to the tail; kept keys are not chosen.

        Keys never move, so the hand rests on the first unvisited kept key it passed (it
        meets it first next time) instead of on the key after the victim.
        """
        n = len(self._queue)
        i = 0 if self._hand is None else self._hand
        first_kept: int | None = None
        for _ in range(2 * n):
            key = self._queue[i]
            if self._visited[key]:
                self._visited[key] = False
            elif keep(key):
                first_kept = key if first_kept is None else first_kept
            else:
                self._hand = i
                self._remove_at(i)
                if first_kept is not None:
                    self._hand = self._queue.index(first_kept)
                return key
            i = i + 1 if i + 1 < n else 0
        return None

    def __len__(self) -> int:
        return len(self._queue)

    def __contains__(self, key: object) -> bool:
        return key in self._visited
