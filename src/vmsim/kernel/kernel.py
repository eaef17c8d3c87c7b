"""Kernel: boots the hardware, creates processes, switches between them, takes traps.

It owns the machine's parts (physical memory, page-table format, TLB, MMU, frame
allocator) and the services the rest of kernel/ calls: event emission, TLB flushing
for one mm, rss accounting, SIGSEGV delivery, process exit.
"""

from __future__ import annotations

from vmsim.config import MachineConfig
from vmsim.errors import SegmentationFault
from vmsim.events import ContextSwitch, Event, ProcessExit, Segv, TlbFlush
from vmsim.hw.mmu import ACCESS_NAMES, MMU, PageFault
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.ptformat import make_format
from vmsim.hw.tlb import TLB
from vmsim.kernel.fault import handle_page_fault
from vmsim.kernel.kalloc import FrameAllocator
from vmsim.kernel.mm import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    VMA,
    AddressSpace,
    Layout,
    committed_pages_of,
)
from vmsim.kernel.proc import REAPED, RUNNING, ZOMBIE, Proc
from vmsim.kernel.vm import free_pgtables, unmap_pages
from vmsim.stats import VmStat

SIGNALS = {"SIGSEGV": 11, "SIGBUS": 7, "SIGABRT": 6, "SIGKILL": 9}


class AsidAllocator:
    """ASIDs by generation: when the space runs out, flush the TLB and start over."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.generation = 0
        self._next = 1

    def assign(self, mm: AddressSpace) -> bool:
        """Give mm an ASID of the current generation; True if that rolled over (flush all)."""
        if not self.bits or mm.asid_gen == self.generation:
            return False
        rolled = self._next >= 1 << self.bits
        if rolled:
            self.generation += 1
            self._next = 1
        mm.asid, mm.asid_gen = self._next, self.generation
        self._next += 1
        return rolled

    def current(self, mm: AddressSpace) -> bool:
        """Whether mm's ASID belongs to the current generation (its TLB entries may exist)."""
        return self.bits > 0 and mm.asid_gen == self.generation


class Kernel:
    """The simulated kernel of one machine."""

    def __init__(self, config: MachineConfig) -> None:
        self.config = config
        self.fmt = make_format(config.paging, config.page_size, config.address_space)
        self.mem = PhysicalMemory(config.nframes, config.page_size)
        self.stats = VmStat()
        self.events: list[Event] | None = [] if config.record_events else None
        self.tlb = TLB(config.tlb_entries, config.tlb_ways)
        self.mmu = MMU(self.mem, self.fmt, self.tlb, self.stats, self.events)
        self.frames = FrameAllocator(self.mem, self.stats, self.events)
        self.zero_ppn = self.frames.kalloc("zero")
        self.layout = Layout.for_space(self.fmt.user_top, config.page_size, config.stack_limit)
        self.procs: dict[int, Proc] = {}
        self.current: Proc | None = None
        self.asids = AsidAllocator(config.asid_bits)
        self._next_pid = 1

    # --- services used across kernel/ -------------------------------------------------

    def emit(self, event: Event) -> None:
        """Record an event if recording is on."""
        if self.events is not None:
            self.events.append(event)

    @staticmethod
    def owner_of(mm: AddressSpace) -> Proc | None:
        """The process that owns mm."""
        owner: Proc | None = mm.owner
        return owner

    @staticmethod
    def pid_of(mm: AddressSpace) -> int:
        """pid of mm's owner (0 if none)."""
        return mm.owner.pid if mm.owner is not None else 0

    @staticmethod
    def rss_add(mm: AddressSpace, delta: int) -> None:
        """Count pages mapped (or unmapped) by mm in its owner's rss."""
        if mm.owner is not None:
            mm.owner.stats.rss += delta

    def flush_tlb_page(self, mm: AddressSpace, va: int) -> None:
        """Invalidate the TLB entry that may cache mm's translation of va."""
        vpn = va >> self.fmt.page_shift
        if self.asids.current(mm):
            hit = self.tlb.flush_page(vpn, mm.asid)
        elif not self.asids.bits and self.current is not None and self.current.mm is mm:
            hit = self.tlb.flush_page(vpn, 0)
        else:
            return
        self.stats.tlb_flush_page += 1
        if hit:
            self.emit(TlbFlush("page", mm.asid, va))

    def flush_tlb_all(self) -> None:
        """Invalidate the whole TLB."""
        self.tlb.flush_all()
        self.stats.tlb_flushes += 1
        self.emit(TlbFlush("all", 0, 0))

    def before_unmap(self, mm: AddressSpace, va: int, ppn: int, pte: int) -> None:
        """Hook run before a present mapping of a user frame is removed."""

    def page_added(self, ppn: int, mm: AddressSpace) -> None:
        """A user frame became resident for mm (the replacement policy learns of it)."""

    def free_swap_entry(self, mm: AddressSpace, va: int, pte: int) -> None:
        """A not-present, non-zero PTE is being cleared: release what it refers to."""

    def vm_enough_memory(self, pages: int, vma: VMA | None) -> bool:
        """Overcommit check for a new commitment of `pages` pages; charges it if allowed."""
        return True

    def vm_unacct_memory(self, pages: int) -> None:
        """Give back a commitment of `pages` pages."""

    def vma_closed(self, mm: AddressSpace, vma: VMA) -> None:
        """A VMA went away (munmap, exit): release what its backing holds for it."""

    def swap_cache_drop(self, ppn: int) -> None:
        """ppn is about to be written through its only mapping: its swap copy is stale."""

    # --- processes ----------------------------------------------------------------------

    def spawn(self, name: str | None = None, replay: bool = False) -> Proc:
        """A new process with its own page table: text, data, an empty heap and a stack."""
        root = self.frames.kalloc_contiguous(self.fmt.root_frames(), "pagetable")
        mm = AddressSpace(self.layout, root)
        mm.pgtables.extend(range(root, root + self.fmt.root_frames()))
        self.stats.pgtable_alloc += len(mm.pgtables)
        pid = self._next_pid
        self._next_pid += 1
        proc = Proc(pid, name or f"proc{pid}", mm, sp=self.layout.stack_top)
        proc.stats.pgtables = len(mm.pgtables)
        mm.owner = proc
        self.procs[pid] = proc
        if replay:
            mm.insert(VMA(0, self.fmt.user_top, PROT_READ | PROT_WRITE | PROT_EXEC, "replay"))
        else:
            self._default_layout(mm)
        return proc

    def _default_layout(self, mm: AddressSpace) -> None:
        """Text and data pages, the program break after them, and a one-page stack."""
        lay = mm.layout
        ps = lay.page_size
        mm.insert(VMA(lay.text_start, lay.text_start + ps, PROT_READ | PROT_EXEC, "text"))
        data = lay.text_start + ps
        mm.insert(VMA(data, data + ps, PROT_READ | PROT_WRITE, "data"))
        mm.start_brk = mm.brk = data + ps
        mm.insert(
            VMA(lay.stack_top - ps, lay.stack_top, PROT_READ | PROT_WRITE, "stack", growsdown=True)
        )

    def switch_to(self, proc: Proc) -> None:
        """Load proc's address space on the CPU: a context switch if another process ran last."""
        prev = self.current
        if prev is proc:
            return
        self.current = proc
        flushed = False
        if self.asids.assign(proc.mm):
            self.flush_tlb_all()
            flushed = True
        if prev is not None:
            self.stats.context_switches += 1
            if not self.asids.bits:
                self.flush_tlb_all()
                flushed = True
        self.mmu.load_context(proc.mm.root_ppn, proc.mm.asid, proc.pid)
        self.emit(ContextSwitch(prev.pid if prev else 0, proc.pid, flushed))

    def trap(self, proc: Proc, fault: PageFault) -> None:
        """A page fault trapped from proc's access: handle it or raise the signal."""
        handle_page_fault(self, proc, fault.va, fault.access, fault.reason)

    def deliver_segv(self, proc: Proc, va: int, access: int, code: str) -> SegmentationFault:
        """SIGSEGV: kill proc and return the exception its access raises."""
        self.stats.segv += 1
        self.emit(Segv(proc.pid, va, ACCESS_NAMES[access], code))
        err = SegmentationFault(proc.pid, va, ACCESS_NAMES[access], code)
        self.do_exit(proc, -SIGNALS["SIGSEGV"], str(err))
        return err

    def do_exit(self, proc: Proc, status: int, reason: str) -> None:
        """Free everything proc holds; it becomes a zombie until reaped (or is reaped now)."""
        if proc.state != RUNNING:
            return
        exit_mmap(self, proc.mm)
        proc.state = ZOMBIE
        proc.exit_status = status
        proc.exit_reason = reason
        self.emit(ProcessExit(proc.pid, status, reason))
        if proc.parent is None:
            proc.state = REAPED

    def live_procs(self) -> list[Proc]:
        """Processes that have not exited."""
        return [p for p in self.procs.values() if p.state == RUNNING]


def exit_mmap(k: Kernel, mm: AddressSpace) -> None:
    """Tear down an address space: every mapping, every VMA, every page-table page."""
    for vma in list(mm.vmas):
        unmap_pages(k, mm, vma.start, vma.end)
        k.vm_unacct_memory(committed_pages_of(mm, vma))
        mm.remove(vma)
        k.vma_closed(mm, vma)
    free_pgtables(k, mm)
