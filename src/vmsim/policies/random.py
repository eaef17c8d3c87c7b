"""RANDOM: evict a uniformly chosen resident key (seeded, reproducible)."""

from __future__ import annotations

import random as _random
from collections.abc import Callable

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("random", "evict a random resident page (seeded)")
class RandomPolicy(ReplacementPolicy):
    """Keys in insertion order; the victim is index int(rng.random() * n).

    With Python's Mersenne Twister seeded by `seed`, this is exactly OSTEP
    paging-policy's RAND (its memory list is in insertion order too).
    """

    def __init__(self, seed: int = 0, rng: _random.Random | None = None) -> None:
        self.rng = rng if rng is not None else _random.Random(seed)
        self._keys: list[int] = []
        self._index: dict[int, int] = {}

    def on_map(self, key: int) -> None:
        """Append key."""
        self._index[key] = len(self._keys)
        self._keys.append(key)

    def on_unmap(self, key: int) -> None:
        """Remove key, keeping insertion order of the others."""
        i = self._index.pop(key)
        del self._keys[i]
        for j in range(i, len(self._keys)):
            self._index[self._keys[j]] = j

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """An unkept key drawn uniformly by position among the unkept keys."""
        unkept = [k for k in self._keys if not keep(k)]
        if not unkept:
            return None
        key = unkept[int(self.rng.random() * len(unkept))]
        self.on_unmap(key)
        return key

    def resident(self) -> list[int]:
        """Keys in insertion order."""
        return list(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._index
