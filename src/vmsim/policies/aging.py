"""AGING: n-bit counters shifted right on every tick, the accessed bit entering at the top."""

from __future__ import annotations

from collections.abc import Callable

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register("aging", "aging: n-bit counters shifted on each clock tick, evict the smallest")
class Aging(ReplacementPolicy):
    """Tanenbaum's aging approximation of LRU.

    On each tick every counter shifts right by one and the page's accessed bit (read
    and cleared) enters as the top bit. The victim is the page with the smallest
    counter; ties go to the page resident longest. A new page starts with the top
    bit set (it was just used).
    """

    uses_tick = True

    def __init__(self, bits: int = 8) -> None:
        if not 1 <= bits <= 64:
            raise ValueError(f"bits={bits}: 1..64")
        self.bits = bits
        self._top = 1 << (bits - 1)
        self._counter: dict[int, int] = {}

    def on_map(self, key: int) -> None:
        """A new page counts as just referenced."""
        self._counter[key] = self._top

    def on_unmap(self, key: int) -> None:
        """Forget key."""
        del self._counter[key]

    def tick(self, refbits: RefBits) -> None:
        """Shift every counter; the accessed bit becomes the new top bit."""
        for key, c in self._counter.items():
            self._counter[key] = (c >> 1) | (self._top if refbits.test_and_clear(key) else 0)

    def victim_except(self, refbits: RefBits, keep: Callable[[int], bool]) -> int | None:
        """The unkept key with the smallest counter (first inserted among equals)."""
        unkept = (k for k in self._counter if not keep(k))
        key = min(unkept, key=self._counter.__getitem__, default=None)
        if key is not None:
            del self._counter[key]
        return key

    def __len__(self) -> int:
        return len(self._counter)

    def __contains__(self, key: object) -> bool:
        return key in self._counter
