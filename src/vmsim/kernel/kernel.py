"""Kernel: boots the hardware, creates processes, switches between them, takes traps.

It owns the machine's parts (physical memory, page-table format, TLB, MMU, frame
allocator) and the services the rest of kernel/ calls: event emission, TLB flushing
for one mm, rss accounting, SIGSEGV delivery, process exit.
"""

from __future__ import annotations

from vmsim.config import MachineConfig
from vmsim.errors import (
    BusError,
    KernelPanic,
    OutOfMemory,
    ProcessKilled,
    SegmentationFault,
)
from vmsim.events import ContextSwitch, Event, ProcessExit, Segv, TlbFlush
from vmsim.hw.mmu import ACCESS_NAMES, MMU, PageFault
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.ptformat import make_format
from vmsim.hw.swapdev import SwapDevice
from vmsim.hw.tlb import TLB
from vmsim.kernel.fault import handle_page_fault, segv_code
from vmsim.kernel.filemap import FileObject, PageCacheObject
from vmsim.kernel.kalloc import FrameAllocator
from vmsim.kernel.mm import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    VM_FAULT_ERROR,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    VMA,
    AddressSpace,
    Layout,
    VmFaultFlag,
    committed_pages_of,
)
from vmsim.kernel.mmap import close_vma
from vmsim.kernel.oom import out_of_memory
from vmsim.kernel.proc import RUNNING, ZOMBIE, PidMap, Proc, alloc_pid, reap
from vmsim.kernel.reclaim import Reclaimer
from vmsim.kernel.rmap import try_to_unmap
from vmsim.kernel.shmem import ShmObject
from vmsim.kernel.swap_state import SwapSpace
from vmsim.kernel.vm import free_pgtables, scan_ptes
from vmsim.stats import VmStat

SIGNALS = {"SIGSEGV": 11, "SIGBUS": 7, "SIGABRT": 6, "SIGKILL": 9}
MAX_FAULT_RETRIES = 8
"""An access that still faults after this many handled faults is a kernel bug."""


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
        self.loaded_mm: AddressSpace | None = None
        """The address space loaded on the CPU (Linux's cpu_tlbstate.loaded_mm): without
        ASIDs, the TLB holds only its translations."""
        self.gathering: AddressSpace | None = None
        """The address space being torn down (tlb_gather_mmu), if any."""
        self.gathered = 0
        """Page flushes deferred to tlb_finish_mmu."""
        self.asids = AsidAllocator(config.asid_bits)
        self.pids = PidMap(config.pid_max)
        self.clock = 0
        """Virtual time: memory accesses started on this machine (the current one included)."""
        self.committed = 0
        """Committed private writable pages (overcommit accounting)."""
        dev = SwapDevice(config.swap, config.page_size, config.swap_file) if config.swap else None
        self.swap = SwapSpace(dev)
        self.files: dict[str, FileObject] = {}
        """Mapped host files by real path (each with its page cache)."""
        self.shm: dict[str, ShmObject] = {}
        """Named shared-memory segments."""
        self.page_owner: dict[int, tuple[PageCacheObject, int]] = {}
        """Page-cache frames: frame -> (object, page offset)."""
        self.reclaimer = Reclaimer(self, config.policy, config.policy_options, config.seed)
        self.frames.reclaim = self._reclaim_or_oom
        self.frames.on_free = self.reclaimer.page_freed
        if self.reclaimer.uses_access_hook:
            self.mmu.on_access = self.reclaimer.on_access
        self.tick_interval = config.tick_interval if self.reclaimer.uses_tick else 0

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
        """Invalidate the TLB entry that may cache mm's translation of va (deferred to
        tlb_finish_mmu while mm's mappings are being gathered)."""
        if self.gathering is mm:
            self.gathered += 1
            return
        vpn = va >> self.fmt.page_shift
        if self.asids.current(mm):
            hit = self.tlb.flush_page(vpn, mm.asid)
        elif not self.asids.bits and self.loaded_mm is mm:
            hit = self.tlb.flush_page(vpn, 0)
        else:
            return
        self.stats.tlb_flush_page += 1
        if hit:
            self.emit(TlbFlush("page", mm.asid, va))

    def tlb_gather_mmu(self, mm: AddressSpace) -> None:
        """Start tearing down mm: its page flushes wait for one tlb_finish_mmu (Linux's
        mmu_gather for a whole address space)."""
        self.gathering, self.gathered = mm, 0

    def tlb_finish_mmu(self, mm: AddressSpace) -> None:
        """End the teardown: the deferred page flushes done at once, as one flush of mm's
        translations (counted as the page flushes it stands for)."""
        self.gathering = None
        if not self.gathered:
            return
        if self.asids.current(mm):
            self.tlb.flush_asid(mm.asid)
        elif not self.asids.bits and self.loaded_mm is mm:
            self.tlb.flush_asid(0)  # no ASIDs: every entry is the loaded mm's
        else:
            return
        self.stats.tlb_flush_page += self.gathered
        self.emit(TlbFlush("asid", mm.asid, 0))

    def flush_tlb_all(self) -> None:
        """Invalidate the whole TLB."""
        self.tlb.flush_all()
        self.stats.tlb_flushes += 1
        self.emit(TlbFlush("all", 0, 0))

    def vm_unacct_memory(self, pages: int) -> None:
        """Give back a commitment of `pages` pages."""
        self.committed -= pages

    def extra_refs(self, ppn: int) -> int:
        """References to a user frame held by caches other than the swap cache."""
        return 1 if ppn in self.page_owner else 0

    # --- allocation of user frames ------------------------------------------------------

    def alloc_user_page(self, mm: AddressSpace, purpose: str) -> int:
        """A zeroed frame for mm, charged to its cgroup (reclaiming within it at the limit)."""
        while (cg := self.reclaimer.over_limit(mm)) is not None:
            if not self.reclaimer.reclaim(cgroup=cg) and not out_of_memory(self, cg):
                raise OutOfMemory(f"pid {cg.pid}: memory limit reached and nothing can be freed")
        ppn = self.frames.kalloc(purpose)
        self.reclaimer.charge_page(ppn, mm)
        return ppn

    def _reclaim_or_oom(self) -> bool:
        """kalloc found no free frame: reclaim one, else let the OOM killer free some."""
        return self.reclaimer.reclaim() or out_of_memory(self)

    def advance_clock(self) -> None:
        """An access starts: a timer tick after every tick_interval accesses, time moves on."""
        if self.tick_interval and self.clock and self.clock % self.tick_interval == 0:
            self.tick()
        self.clock += 1

    def tick(self) -> None:
        """The periodic timer interrupt (aging policies shift their counters)."""
        self.reclaimer.tick()

    # --- processes ----------------------------------------------------------------------

    def spawn(
        self,
        name: str | None = None,
        replay: bool = False,
        memory_limit: int | None = None,
        oom_score_adj: int = 0,
    ) -> Proc:
        """A new process with its own page table: text, data, an empty heap and a stack.

        memory_limit (pages) makes it a memory cgroup; replay gives it one anonymous rwx
        VMA over all of user space instead of the usual layout.
        """
        proc = self.new_proc(name)
        proc.memory_limit = memory_limit
        proc.oom_score_adj = oom_score_adj
        mm = proc.mm
        if replay:
            mm.insert(replay_vma(self.fmt.user_top))
        else:
            self._default_layout(mm)
            self.committed += sum(committed_pages_of(mm, v) for v in mm.vmas)
        return proc

    def new_proc(self, name: str | None) -> Proc:
        """A process with a fresh address space: a page-table root and no VMAs."""
        pid = alloc_pid(self)
        root = self.frames.kalloc_contiguous(self.fmt.root_frames(), "pagetable")
        mm = AddressSpace(self.layout, root)
        mm.pgtables.extend(range(root, root + self.fmt.root_frames()))
        self.stats.pgtable_alloc += len(mm.pgtables)
        proc = Proc(pid, name or f"proc{pid}", mm, sp=self.layout.stack_top)
        proc.stats.pgtables = len(mm.pgtables)
        mm.owner = proc
        self.procs[pid] = proc
        return proc

    def make_replay_space(self, proc: Proc) -> None:
        """Replace a fresh process's (empty) VMAs by one anonymous rwx VMA over user space."""
        mm = proc.mm
        for vma in list(mm.vmas):
            close_vma(self, mm, vma)
        mm.start_brk = mm.brk = 0
        mm.insert(replay_vma(self.fmt.user_top))

    def swap_out_mm(self, mm: AddressSpace) -> int:
        """Reclaim every resident user page mm maps (anonymous ones go to swap)."""
        present = self.fmt.layout.present
        frames = {
            self.fmt.pte_ppn(pte)
            for vma in mm.vmas
            for _, _, pte in scan_ptes(self, mm, vma.start, vma.end)
            if pte & present
        }
        frames.discard(self.zero_ppn)
        done = 0
        for ppn in sorted(frames):
            pol = self.reclaimer.frame_policy[ppn]
            if pol is None or ppn in self.frames.pinned_frames:
                continue
            pol.on_unmap(ppn)
            self.reclaimer.frame_policy[ppn] = None
            if try_to_unmap(self, ppn):
                done += 1
            else:
                self.reclaimer.frame_policy[ppn] = pol
                pol.on_map(ppn)
        return done

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
        prev_mm = self.loaded_mm
        if prev_mm is proc.mm:
            return
        self.loaded_mm = proc.mm
        flushed = False
        if self.asids.assign(proc.mm):
            self.flush_tlb_all()
            flushed = True
        if prev_mm is not None:
            self.stats.context_switches += 1
            if not self.asids.bits:
                self.flush_tlb_all()
                flushed = True
        self.mmu.load_context(proc.mm.root_ppn, proc.mm.asid, proc.pid)
        self.emit(ContextSwitch(self.pid_of(prev_mm) if prev_mm else 0, proc.pid, flushed))

    def handle_user_fault(self, proc: Proc, fault: PageFault) -> int:
        """The one access loop after a fault: trap, retry the access, until it translates.

        Returns the physical address. Raises the signal's exception (SegmentationFault,
        BusError), ProcessKilled when proc was killed, or OutOfMemory when no frame can
        be found and nothing can be killed.
        """
        for _ in range(MAX_FAULT_RETRIES):
            self.trap(proc, fault)
            try:
                return self.mmu.translate(fault.va, fault.access)
            except PageFault as again:
                fault = again
        raise KernelPanic(f"access at {fault.va:#x} still faulting after {MAX_FAULT_RETRIES} tries")

    def trap(self, proc: Proc, fault: PageFault) -> None:
        """A page fault trapped from proc's access: on return the access may be retried.

        This is the trap boundary: a fault the handler could not resolve becomes the
        signal here, and a process the OOM killer marked exits here.
        """
        ret = handle_page_fault(self, proc, fault.va, fault.access, fault.reason)
        if ret & VM_FAULT_ERROR or proc.killed:
            raise self.fault_error(proc, fault.va, fault.access, ret)

    def fault_error(self, proc: Proc, va: int, access: int, ret: VmFaultFlag) -> Exception:
        """What an unresolved fault does to proc (it dies, except on a plain OOM failure)."""
        if proc.killed:
            return self.exit_killed(proc)
        if ret & VM_FAULT_SIGSEGV:
            return self.deliver_segv(proc, va, access, segv_code(self, proc.mm, va))
        if ret & VM_FAULT_SIGBUS:
            vma = proc.mm.vma_at(va)
            where = getattr(vma.backing, "path", "its file") if vma is not None else "its file"
            return self.deliver_sigbus(proc, va, access, f"beyond the end of {where}")
        return OutOfMemory(
            f"pid {proc.pid}: no frame for {ACCESS_NAMES[access]} at {va:#x}: all "
            f"{self.frames.nframes} frames are in use and nothing can be reclaimed or killed"
        )

    def kill(self, proc: Proc, reason: str) -> bool:
        """SIGKILL (the OOM killer's): proc is marked; it exits now unless it is busy.

        A process whose mm a kernel path holds (a fault, fork, exec) exits at that
        path's boundary instead (exit_killed). Returns whether its memory was freed.
        """
        proc.killed = proc.killed or reason
        if proc.mm.mmap_lock:
            return False
        self.do_exit(proc, -SIGNALS["SIGKILL"], reason)
        return True

    def exit_killed(self, proc: Proc) -> ProcessKilled:
        """At a trap or system-call boundary: a marked process exits; its exception."""
        self.do_exit(proc, -SIGNALS["SIGKILL"], proc.killed)
        return ProcessKilled(proc.pid, proc.exit_reason)

    def deliver_segv(self, proc: Proc, va: int, access: int, code: str) -> SegmentationFault:
        """SIGSEGV: kill proc and return the exception its access raises."""
        self.stats.segv += 1
        self.emit(Segv(proc.pid, va, ACCESS_NAMES[access], code))
        err = SegmentationFault(proc.pid, va, ACCESS_NAMES[access], code)
        self.do_exit(proc, -SIGNALS["SIGSEGV"], str(err))
        return err

    def deliver_sigbus(self, proc: Proc, va: int, access: int, reason: str) -> BusError:
        """SIGBUS: kill proc and return the exception its access raises."""
        err = BusError(proc.pid, va, ACCESS_NAMES[access], reason)
        self.do_exit(proc, -SIGNALS["SIGBUS"], str(err))
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
        for notify in self.pids.exited:
            notify(proc)
        for child in list(proc.children):  # orphans go to init, which reaps them
            child.parent = None
            if child.state == ZOMBIE:
                reap(self, child)
        proc.children.clear()
        if proc.parent is None or not proc.parent.alive:
            reap(self, proc)

    def live_procs(self) -> list[Proc]:
        """Processes that have not exited."""
        return [p for p in self.procs.values() if p.state == RUNNING]


def replay_vma(user_top: int) -> VMA:
    """All of user space as anonymous rwx memory, never committed, without the zero page."""
    rwx = PROT_READ | PROT_WRITE | PROT_EXEC
    return VMA(0, user_top, rwx, "replay", noreserve=True, zero_page=False)


def exit_mmap(k: Kernel, mm: AddressSpace) -> None:
    """Tear down an address space: every mapping, every VMA, every page-table page (one
    TLB flush at the end, not one per page; the freed frames zeroed together)."""
    with k.frames.gather():
        k.tlb_gather_mmu(mm)
        try:
            for vma in list(mm.vmas):
                close_vma(k, mm, vma)
        finally:
            k.tlb_finish_mmu(mm)
        free_pgtables(k, mm)
