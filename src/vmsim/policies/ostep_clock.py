"""OSTEP paging-policy's "CLOCK": random probing with saturating use counters.

Not a clock hand (that is `clock`): the textbook simulator's CLOCK picks a resident
page at random, spends one unit of its use counter if it has one, and evicts it
otherwise; it repeats until it has a victim. Every reference (hit or miss) bumps the
page's counter: a new page gets 1, a resident one min(counter + 1, clockbits). With
`clockbits=0` a second reference sets the counter to 0 (the original's quirk, kept).

The random stream is shared with whoever generated the reference string (`rng=`),
because OSTEP seeds one global stream with `-s`.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("ostep-clock", "OSTEP's CLOCK: probe random pages, spend use counters (textbook mode)")
class OstepClock(ReplacementPolicy):
    """Keys in insertion order (the victim's slot closes up) and one counter per key.

    Contract: `victim` draws `int(rng.random() * len(self))` until it finds a key whose
    counter is 0, decrementing the counters it passes over.
    """

    uses_access_hook = True

    def __init__(
        self, seed: int = 0, clockbits: int = 2, rng: _random.Random | None = None
    ) -> None:
        self.rng = rng if rng is not None else _random.Random(seed)
        self.clockbits = clockbits
        self._keys: list[int] = []
        self._count: dict[int, int] = {}

    def on_map(self, key: int) -> None:
        """Append key with a use counter of 1 (its first reference)."""
        self._keys.append(key)
        self._count[key] = 1

    def on_access(self, key: int, write: bool) -> None:
        """Bump the counter of key, saturating at clockbits."""
        c = self._count[key] + 1
        self._count[key] = self.clockbits if c > self.clockbits else c

    def on_unmap(self, key: int) -> None:
        """Forget key and its counter."""
        self._keys.remove(key)
        del self._count[key]

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """Probe random keys; a counter >= 1 is spent, an unkept key at 0 is the victim."""
        keys, count, rnd = self._keys, self._count, self.rng.random
        n = len(keys)
        if all(keep(k) for k in keys):
            return None
        while True:
            i = int(rnd() * n)
            key = keys[i]
            if count[key] >= 1:
                count[key] -= 1
            elif not keep(key):
                del keys[i]
                del count[key]
                return key

    def counter(self, key: int) -> int:
        """The use counter of a resident key."""
        return self._count[key]

    def resident(self) -> list[int]:
        """Keys in insertion order (OSTEP's memory list)."""
        return list(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._count
