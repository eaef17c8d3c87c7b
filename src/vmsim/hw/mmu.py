"""MMU.translate(va, access): TLB lookup, else a hardware walk; raises PageFault.

The walk reads PTE bytes from physical memory, sets the accessed bit (and the dirty
bit on a write) in the leaf PTE's bytes, and fills the TLB. Every access is a user-mode
access: the leaf must be user-accessible, writable for a write and executable for a
fetch. A missing or forbidden translation raises `PageFault`, a trap the kernel catches.
"""

from __future__ import annotations

from collections.abc import Callable

from vmsim.errors import format_addr
from vmsim.events import Event, TlbFill, TlbHit, TlbMiss, Walk
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.pte import ACCESSED, DIRTY, NX, PRESENT, USER, WRITE
from vmsim.hw.ptformat import PageTableFormat, WalkStep, walk
from vmsim.hw.tlb import TLB
from vmsim.stats import VmStat

READ, WRITE_ACCESS, EXEC = 0, 1, 2
ACCESS_NAMES = ("read", "write", "exec")
_WRITABLE_DIRTY = WRITE | DIRTY


class PageFault(Exception):
    """A trap: the MMU could not translate va for this access.

    reason: "not-present", "write-protect", "user" (not user-accessible) or "nx".
    """

    def __init__(self, va: int, access: int, reason: str) -> None:
        self.va = va
        self.access = access
        self.reason = reason
        super().__init__(f"page fault: {ACCESS_NAMES[access]} at {format_addr(va)}: {reason}")


class MMU:
    """The memory-management unit of the one CPU."""

    def __init__(
        self,
        mem: PhysicalMemory,
        fmt: PageTableFormat,
        tlb: TLB,
        stats: VmStat,
        events: list[Event] | None = None,
    ) -> None:
        self.mem = mem
        self.fmt = fmt
        self.tlb = tlb
        self.stats = stats
        self.events = events
        self.root_ppn = -1
        self.asid = 0
        self.pid = 0
        self.on_access: Callable[[int, bool], None] | None = None
        """Simulator-only hook (exact LRU and friends): called with (ppn, write) per access."""
        self._shift = fmt.page_shift
        self._mask = fmt.page_size - 1
        self._lookup = tlb.lookup

    def load_context(self, root_ppn: int, asid: int, pid: int) -> None:
        """Load a page-table root (CR3/satp) and ASID; pid labels events."""
        self.root_ppn = root_ppn
        self.asid = asid
        self.pid = pid

    def translate(self, va: int, access: int) -> int:
        """Physical address of va for this access; raises PageFault.

        A TLB hit that allows the access is done. A write hitting a writable but clean
        entry walks again to set D in the PTE (x86 does the same); a write hitting a
        read-only entry, or a fetch hitting a no-execute one, faults from the entry
        without a walk (the kernel flushes every entry whose PTE it changes). A miss walks.
        """
        vpn = va >> self._shift
        e = self._lookup(vpn, self.asid)
        if e is None:
            self.stats.tlb_miss += 1
            if self.events is not None:
                self.events.append(TlbMiss(self.pid, va))
            return (self.walk_fill(va, access)[0] << self._shift) | (va & self._mask)
        ppn, flags = e
        self.stats.tlb_hit += 1
        if self.events is not None:
            self.events.append(TlbHit(self.pid, va, ppn))
        if (
            access == READ
            or (access == WRITE_ACCESS and flags & _WRITABLE_DIRTY == _WRITABLE_DIRTY)
            or (access == EXEC and not flags & NX)
        ):
            if self.on_access is not None:
                self.on_access(ppn, access == WRITE_ACCESS)
            return (ppn << self._shift) | (va & self._mask)
        if access == WRITE_ACCESS and flags & WRITE:
            # set D in the PTE's bytes
            return (self.walk_fill(va, access)[0] << self._shift) | (va & self._mask)
        raise PageFault(va, access, "write-protect" if access == WRITE_ACCESS else "nx")

    def walk_fill(self, va: int, access: int) -> tuple[int, int]:
        """The hardware walk for va: (ppn, effective flags) after setting A/D; PageFault.

        The TLB is filled too; a CPU with a TLB of its own (hw.cpu) calls this on its misses.
        """
        vpn = va >> self._shift
        self.stats.walks += 1
        steps = walk(self.mem, self.fmt, self.root_ppn, va)
        leaf = steps[-1]
        layout = self.fmt.layout
        flags = self._effective_flags(steps)
        reason = self._check(flags, access)
        if self.events is not None:
            self.events.append(
                Walk(self.pid, va, tuple((s.level, s.pte_pa, s.pte) for s in steps), reason or "ok")
            )
        if reason:
            raise PageFault(va, access, reason)
        new = leaf.pte | layout.accessed | (layout.dirty if access == WRITE_ACCESS else 0)
        if new != leaf.pte:
            self.mem.write_uint(leaf.pte_pa, layout.size, new)
            flags |= ACCESSED | (DIRTY if access == WRITE_ACCESS else 0)
        ppn = layout.ppn(leaf.pte)
        self.tlb.fill(vpn, self.asid, ppn, flags)
        if self.events is not None:
            self.events.append(TlbFill(self.pid, va, ppn))
        if self.on_access is not None:
            self.on_access(ppn, access == WRITE_ACCESS)
        return ppn, flags

    def _effective_flags(self, steps: list[WalkStep]) -> int:
        """Leaf flags combined with upper levels (x86: W and U ANDed, NX ORed)."""
        layout = self.fmt.layout
        flags = layout.flags(steps[-1].pte)
        if not flags & PRESENT or not self.fmt.combine_levels:
            return flags
        for s in steps[:-1]:
            upper = layout.flags(s.pte)
            flags &= upper | ~(WRITE | USER)
            flags |= upper & NX
        return flags

    @staticmethod
    def _check(flags: int, access: int) -> str:
        """The fault reason for this access under these flags, or "" if allowed."""
        if not flags & PRESENT:
            return "not-present"
        if not flags & USER:
            return "user"
        if access == WRITE_ACCESS and not flags & WRITE:
            return "write-protect"
        if access == EXEC and flags & NX:
            return "nx"
        return ""
