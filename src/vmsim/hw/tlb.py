"""TLB: `entries` translations in sets of `ways`, LRU within a set, optional ASID tags.

`ways == 0` means fully associative (one set of all entries); `entries == 0` means no
TLB at all (every access walks). Without ASIDs every entry is tagged 0 and a context
switch must flush_all. An entry caches the frame number and the effective generic flags
(hw.pte) of the leaf PTE, including DIRTY once the hardware has set it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ASID_SHIFT = 52
"""Entries are keyed by asid << 52 | vpn (vpns are at most 36 bits wide)."""


@dataclass(frozen=True, slots=True)
class TlbEntry:
    """One cached translation, for inspection."""

    asid: int
    vpn: int
    ppn: int
    flags: int


class TLB:
    """A set-associative TLB with per-set LRU replacement."""

    def __init__(self, entries: int, ways: int) -> None:
        self.entries = entries
        self.ways = ways if ways else entries
        self.nsets = entries // self.ways if entries else 0
        self.sets: list[dict[int, tuple[int, int]]] = [{} for _ in range(self.nsets)]
        """Set i maps asid << ASID_SHIFT | vpn (vpn % nsets == i) to (ppn, flags), least
        recent first; the machine's TLB-hit path reads it inline, as `lookup` does."""
        self.on_flush: Callable[[int | None], None] | None = None
        """Called on every flush with the vpn (None: all): a CPU with a TLB of its own
        (hw.cpu) flushes that one too."""

    def lookup(self, vpn: int, asid: int) -> tuple[int, int] | None:
        """(ppn, flags) for vpn in asid, or None; a hit becomes the set's most recent."""
        if not self.nsets:
            return None
        s = self.sets[vpn % self.nsets]
        key = (asid << ASID_SHIFT) | vpn
        e = s.pop(key, None)
        if e is not None:
            s[key] = e
        return e

    def fill(self, vpn: int, asid: int, ppn: int, flags: int) -> None:
        """Insert a translation, evicting the set's least recently used entry if full."""
        if not self.nsets:
            return
        s = self.sets[vpn % self.nsets]
        key = (asid << ASID_SHIFT) | vpn
        if s.pop(key, None) is None and len(s) >= self.ways:  # (a refill frees its own way)
            del s[next(iter(s))]
        s[key] = (ppn, flags)

    def flush_page(self, vpn: int, asid: int) -> bool:
        """Invalidate one translation; True if it was cached."""
        if self.on_flush is not None:
            self.on_flush(vpn)
        if not self.nsets:
            return False
        return self.sets[vpn % self.nsets].pop((asid << ASID_SHIFT) | vpn, None) is not None

    def flush_asid(self, asid: int) -> None:
        """Invalidate every translation tagged asid."""
        if self.on_flush is not None:
            self.on_flush(None)
        for s in self.sets:
            for key in [k for k in s if k >> ASID_SHIFT == asid]:
                del s[key]

    def flush_all(self) -> None:
        """Invalidate everything."""
        if self.on_flush is not None:
            self.on_flush(None)
        for s in self.sets:
            s.clear()

    def contents(self) -> list[TlbEntry]:
        """Every cached translation, set by set, least recent first."""
        mask = (1 << ASID_SHIFT) - 1
        return [
            TlbEntry(key >> ASID_SHIFT, key & mask, ppn, flags)
            for s in self.sets
            for key, (ppn, flags) in s.items()
        ]

    def __len__(self) -> int:
        return sum(len(s) for s in self.sets)
