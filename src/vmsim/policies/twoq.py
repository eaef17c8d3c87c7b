"""2Q (Johnson & Shasha, VLDB 1994), the full version with A1in, A1out and Am.

A1in: FIFO of keys loaded once (at most Kin before it gives up keys); A1out: ghost
FIFO of keys evicted from A1in (at most Kout); Am: LRU of keys re-referenced after
leaving A1in. A hit in A1in changes nothing; a hit in Am moves the key to its MRU
end; a miss on a key in A1out loads it into Am, any other miss into A1in. To free a
frame: if |A1in| > Kin (or Am is empty) the oldest of A1in goes, its id to A1out
(dropping A1out's oldest beyond Kout), else the LRU of Am goes. The membership test
happens before the eviction, as in the paper. Kin = max(1, int(kin * frames)),
Kout = max(1, int(kout * frames)); frames is learned at the first eviction if not given.
"""

from __future__ import annotations

from collections import OrderedDict

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register(
    "2q",
    "2Q: a FIFO for pages seen once, an LRU for pages seen again, a ghost FIFO"
    " (engine only: remembers evicted pages)",
)
class TwoQ(ReplacementPolicy):
    """2Q on the policy contract (on_fault tells whether the faulting key is a ghost)."""

    uses_access_hook = True
    remembers_evicted = True

    def __init__(self, frames: int | None = None, kin: float = 0.25, kout: float = 0.5) -> None:
        self.kin_fraction = kin
        self.kout_fraction = kout
        self.a1in: OrderedDict[int, None] = OrderedDict()  # first = oldest
        self.a1out: OrderedDict[int, None] = OrderedDict()
        self.am: OrderedDict[int, None] = OrderedDict()  # first = LRU
        self.kin = self.kout = 0
        if frames is not None:
            self._size(frames)
        self._ghost: int | None = None

    def _size(self, frames: int) -> None:
        """Kin and Kout for a memory of `frames` frames."""
        self.kin = max(1, int(self.kin_fraction * frames))
        self.kout = max(1, int(self.kout_fraction * frames))

    def on_access(self, key: int, write: bool) -> None:
        """A hit: only Am keys move."""
        if key in self.am:
            self.am.move_to_end(key)

    def on_fault(self, key: int) -> None:
        """Note whether the faulting key is remembered in A1out."""
        self._ghost = key if key in self.a1out else None

    def victim(self, refbits: RefBits) -> int:
        """reclaimfor: the oldest of A1in (remembered in A1out) or the LRU of Am."""
        if self.kin == 0:
            self._size(len(self))
        if len(self.a1in) > self.kin or not self.am:
            key, _ = self.a1in.popitem(last=False)
            self.a1out[key] = None
            if len(self.a1out) > self.kout:
                self.a1out.popitem(last=False)
            return key
        key, _ = self.am.popitem(last=False)
        return key

    def on_map(self, key: int) -> None:
        """Load key: into Am if it was a ghost when it faulted, else into A1in."""
        ghost = self._ghost == key or (self._ghost is None and key in self.a1out)
        self._ghost = None
        self.a1out.pop(key, None)
        if ghost:
            self.am[key] = None
        else:
            self.a1in[key] = None

    def on_unmap(self, key: int) -> None:
        """Drop a resident key."""
        if key in self.a1in:
            del self.a1in[key]
        else:
            del self.am[key]

    def __len__(self) -> int:
        return len(self.a1in) + len(self.am)

    def __contains__(self, key: object) -> bool:
        return key in self.a1in or key in self.am
