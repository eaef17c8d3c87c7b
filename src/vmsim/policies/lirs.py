"""LIRS (Jiang & Zhang, SIGMETRICS 2002): low inter-reference recency set.

Keys are LIR (resident, recently re-referenced) or HIR (resident or not). Stack S
holds keys by recency (LIR keys and recent HIR keys, resident or not); list Q holds
the resident HIR keys, oldest first. The victim is the oldest of Q. A HIR key hit
while in S becomes LIR, and the LIR key at the bottom of S becomes HIR (to the end of
Q); S is pruned so that its bottom is always LIR. Lhirs = max(1, int(hir * frames))
frames are for HIR keys and Llirs = max(1, frames - Lhirs) for LIR keys; while fewer
than Llirs keys are LIR, a new key becomes LIR. Non-resident HIR keys stay in S until
pruned (no extra bound). If Q is empty when a victim is needed, the bottom LIR key is
demoted first. frames is learned at the first eviction if not given (all keys LIR
until then).
"""

from __future__ import annotations

from collections import OrderedDict

from vmsim.policies.base import RefBits, ReplacementPolicy, register

LIR, HIR, GHOST = 1, 2, 3
"""Status of a key: LIR (resident), HIR resident, HIR non-resident (only in S)."""


@register(
    "lirs",
    "LIRS: keep pages with short reuse distance (LIR); evict resident HIR pages"
    " (engine only: remembers evicted pages)",
)
class Lirs(ReplacementPolicy):
    """LIRS on the policy contract."""

    uses_access_hook = True
    remembers_evicted = True

    def __init__(self, frames: int | None = None, hir: float = 0.01) -> None:
        self.hir_fraction = hir
        self.llirs: int | None = None
        if frames is not None:
            self._size(frames)
        self.status: dict[int, int] = {}
        self.s: OrderedDict[int, None] = OrderedDict()  # first = bottom, last = top
        self.q: OrderedDict[int, None] = OrderedDict()  # first = front (oldest)
        self.nlir = 0

    def _size(self, frames: int) -> None:
        """Llirs for a memory of `frames` frames."""
        lhirs = max(1, int(self.hir_fraction * frames))
        self.llirs = max(1, frames - lhirs)

    def _top(self, key: int) -> None:
        """Move (or push) key to the top of S."""
        self.s.pop(key, None)
        self.s[key] = None

    def _prune(self) -> None:
        """Pop HIR keys off the bottom of S; non-resident ones are forgotten."""
        while self.s:
            bottom = next(iter(self.s))
            st = self.status[bottom]
            if st == LIR:
                return
            del self.s[bottom]
            if st == GHOST:
                del self.status[bottom]

    def _demote_bottom(self) -> None:
        """The LIR key at the bottom of S becomes resident HIR, at the end of Q."""
        bottom = next(iter(self.s))
        del self.s[bottom]
        self.status[bottom] = HIR
        self.q[bottom] = None
        self.nlir -= 1
        self._prune()

    def _promote(self, key: int) -> None:
        """Key (at the top of S) becomes LIR; demote the bottom LIR if there are too many."""
        self.status[key] = LIR
        self.q.pop(key, None)
        self.nlir += 1
        if self.llirs is not None and self.nlir > self.llirs:
            self._demote_bottom()

    def on_access(self, key: int, write: bool) -> None:
        """A hit on a LIR key or a resident HIR key."""
        if self.status[key] == LIR:
            bottom = next(iter(self.s))
            self._top(key)
            if bottom == key:
                self._prune()
        elif key in self.s:
            self._top(key)
            self._promote(key)
        else:
            self._top(key)
            self.q.move_to_end(key)

    def victim(self, refbits: RefBits) -> int:
        """The front of Q (demoting the bottom LIR key first if Q is empty)."""
        if self.llirs is None:
            self._size(len(self))
            assert self.llirs is not None
            while self.nlir > self.llirs:
                self._demote_bottom()
        if not self.q:
            self._demote_bottom()
        key, _ = self.q.popitem(last=False)
        if key in self.s:
            self.status[key] = GHOST
        else:
            del self.status[key]
        return key

    def on_map(self, key: int) -> None:
        """Load key: LIR while there is room, LIR if it is still in S, else resident HIR."""
        if self.llirs is None or self.nlir < self.llirs:
            self._top(key)
            self.status[key] = LIR
            self.nlir += 1
        elif key in self.s:
            self._top(key)
            self._promote(key)
        else:
            self.status[key] = HIR
            self._top(key)
            self.q[key] = None

    def on_unmap(self, key: int) -> None:
        """Drop a resident key altogether."""
        st = self.status.pop(key)
        self.s.pop(key, None)
        self.q.pop(key, None)
        if st == LIR:
            self.nlir -= 1
        self._prune()

    def __len__(self) -> int:
        return self.nlir + len(self.q)

    def __contains__(self, key: object) -> bool:
        return self.status.get(key, 0) in (LIR, HIR)  # type: ignore[call-overload]
