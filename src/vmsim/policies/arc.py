"""ARC (Megiddo & Modha, FAST 2003): adaptive replacement between recency and frequency.

Four LRU lists: T1 (resident, seen once recently), T2 (resident, seen at least twice),
B1 and B2 (ghosts: keys recently evicted from T1 and T2). The target size p of T1
adapts: a ghost hit in B1 grows it, in B2 shrinks it. This is Figure 4 of the paper
with c = `frames` (learned as the number of resident keys at the first eviction when
not given), p real-valued (delta = |B2|/|B1| or |B1|/|B2| by true division).
"""

from __future__ import annotations

from collections import OrderedDict

from vmsim.policies.base import RefBits, ReplacementPolicy, register


@register(
    "arc",
    "adaptive replacement cache: recency and frequency lists with ghost lists"
    " (engine only: remembers evicted pages)",
)
class Arc(ReplacementPolicy):
    """ARC on the policy contract: on_fault names the faulting key, victim runs REPLACE."""

    uses_access_hook = True
    remembers_evicted = True

    def __init__(self, frames: int | None = None) -> None:
        self.c = frames
        self.p = 0.0
        self.t1: OrderedDict[int, None] = OrderedDict()  # first = LRU end
        self.t2: OrderedDict[int, None] = OrderedDict()
        self.b1: OrderedDict[int, None] = OrderedDict()
        self.b2: OrderedDict[int, None] = OrderedDict()
        self._pending: int | None = None
        self._handled = False

    def on_access(self, key: int, write: bool) -> None:
        """Case I: a hit moves key to the MRU end of T2."""
        self.t1.pop(key, None)
        self.t2.pop(key, None)
        self.t2[key] = None

    def on_fault(self, key: int) -> None:
        """Remember the faulting key for victim and on_map."""
        self._pending = key
        self._handled = False

    def _adapt(self, x: int) -> None:
        """Cases II and III: move p toward the list whose ghost was hit."""
        c = self.c if self.c is not None else len(self)
        n1, n2 = len(self.b1), len(self.b2)
        if x in self.b1:
            self.p = min(self.p + (1.0 if n1 >= n2 else n2 / n1), float(c))
        elif x in self.b2:
            self.p = max(self.p - (1.0 if n2 >= n1 else n1 / n2), 0.0)

    def _replace(self, x_in_b2: bool) -> int:
        """REPLACE(x, p): evict the LRU of T1 into B1, or of T2 into B2."""
        n1 = len(self.t1)
        if (n1 >= 1 and ((x_in_b2 and n1 == self.p) or n1 > self.p)) or not self.t2:
            key, _ = self.t1.popitem(last=False)
            self.b1[key] = None
        else:
            key, _ = self.t2.popitem(last=False)
            self.b2[key] = None
        return key

    def victim(self, refbits: RefBits) -> int:
        """The miss of the pending key with a full cache: cases II-IV up to the eviction."""
        if self.c is None:
            self.c = len(self)
        c = self.c
        x = self._pending
        self._handled = True
        if x is not None and (x in self.b1 or x in self.b2):
            self._adapt(x)
            return self._replace(x in self.b2)
        l1 = len(self.t1) + len(self.b1)
        if l1 >= c:
            if len(self.t1) < c and self.b1:
                self.b1.popitem(last=False)
                return self._replace(False)
            key, _ = self.t1.popitem(last=False)
            return key
        if l1 + len(self.t2) + len(self.b2) >= 2 * c and self.b2:
            self.b2.popitem(last=False)
        return self._replace(False)

    def on_map(self, key: int) -> None:
        """Fetch key: to T2 if it was a ghost, else to T1 (ghosts bounded if no eviction ran)."""
        if not (self._pending == key and self._handled):
            self._miss_without_eviction(key)
        self._pending = None
        if key in self.b1 or key in self.b2:
            self.b1.pop(key, None)
            self.b2.pop(key, None)
            self.t2[key] = None
        else:
            self.t1[key] = None

    def _miss_without_eviction(self, key: int) -> None:
        """A miss with a free frame: adapt on a ghost hit, else keep the directory within 2c."""
        if key in self.b1 or key in self.b2:
            self._adapt(key)
            return
        if self.c is None:
            return
        if len(self.t1) + len(self.b1) >= self.c and self.b1:
            self.b1.popitem(last=False)
        elif len(self) + len(self.b1) + len(self.b2) >= 2 * self.c and self.b2:
            self.b2.popitem(last=False)

    def on_unmap(self, key: int) -> None:
        """Drop a resident key (no ghost is kept)."""
        if key in self.t1:
            del self.t1[key]
        else:
            del self.t2[key]

    def __len__(self) -> int:
        return len(self.t1) + len(self.t2)

    def __contains__(self, key: object) -> bool:
        return key in self.t1 or key in self.t2
