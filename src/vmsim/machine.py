"""The public face of the simulated machine: `vmsim.Machine` and `vmsim.Process`.

A Machine is hardware plus kernel; a Process is the user-facing handle of one kernel
process: its accesses go through the MMU (faults are handled and the access retried),
its system calls go to the kernel, and the C library (libc/) runs on top of it.
This module sits above kernel/ and libc/ (DESIGN.md: the public facade).
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

import numpy as np

from vmsim.config import MachineConfig, parse_size
from vmsim.errors import (
    ConfigError,
    HeapCorruption,
    KernelPanic,
    ProcessKilled,
    SyscallError,
    VmsimError,
)
from vmsim.events import Access, Event, Syscall
from vmsim.hw.mmu import EXEC, READ, WRITE_ACCESS, PageFault
from vmsim.kernel.fault import handle_page_fault
from vmsim.kernel.kernel import SIGNALS, Kernel
from vmsim.kernel.mm import do_brk, do_mmap, do_mprotect, do_munmap, parse_prot, prot_str
from vmsim.kernel.proc import RUNNING, Proc
from vmsim.kernel.vm import walk
from vmsim.libc import DEFAULT_ALLOCATOR, Allocator, Libc, MallInfo, allocator_class
from vmsim.libc.cxx import Init
from vmsim.libc.stack import Frame
from vmsim.stats import ProcStat, VmStat

_MAX_RETRIES = 8


@dataclass(frozen=True)
class VmaInfo:
    """One region of a process's address space, as p.vmas() reports it."""

    start: int
    end: int
    prot: str
    kind: str
    shared: bool = False
    name: str = ""

    def __str__(self) -> str:
        share = "s" if self.shared else "p"
        return f"{self.start:#014x}-{self.end:#014x} {self.prot}{share} {self.kind}"


@dataclass(frozen=True)
class PteInfo:
    """A decoded PTE, as p.pte(va) reports it."""

    frame: int
    present: bool
    writable: bool
    user: bool
    accessed: bool
    dirty: bool
    nx: bool
    cow: bool
    swap_slot: int | None
    raw: int
    pte_pa: int


class Process:
    """A process on a Machine: memory accesses, system calls, and the C library."""

    def __init__(
        self,
        machine: Machine,
        proc: Proc,
        allocator: str = DEFAULT_ALLOCATOR,
        allocator_options: dict[str, Any] | None = None,
    ) -> None:
        self.machine = machine
        self._k = machine.kernel
        self._proc = proc
        self._ps = self._k.fmt.page_size
        self._allocator = allocator
        self._allocator_options = dict(allocator_options or {})
        self._libc: Libc | None = None

    def __repr__(self) -> str:
        return f"<Process pid={self.pid} name={self.name!r} state={self._proc.state}>"

    # --- identity and state -----------------------------------------------------------

    @property
    def pid(self) -> int:
        """Process id."""
        return self._proc.pid

    @property
    def name(self) -> str:
        """The name given at spawn."""
        return self._proc.name

    @property
    def asid(self) -> int:
        """Address-space id (0 when the machine has no ASIDs)."""
        return self._proc.mm.asid

    @property
    def stats(self) -> ProcStat:
        """Per-process counters (min_flt, maj_flt, rss, swap, ...)."""
        return self._proc.stats

    @property
    def alive(self) -> bool:
        """Whether the process can still run."""
        return self._proc.state == RUNNING

    @property
    def exit_status(self) -> int | None:
        """Exit status once dead (-signal number when killed by a signal)."""
        return self._proc.exit_status

    @property
    def page_size(self) -> int:
        """Page size in bytes."""
        return self._ps

    def _require_alive(self) -> Proc:
        proc = self._proc
        if proc.state != RUNNING:
            raise ProcessKilled(proc.pid, proc.exit_reason or "exited")
        return proc

    # --- memory accesses --------------------------------------------------------------

    def load(self, va: int, n: int) -> bytes:
        """Read n bytes at va through the MMU."""
        return self._access(va, n, READ, None)

    def store(self, va: int, data: bytes) -> None:
        """Write data at va through the MMU."""
        self._access(va, len(data), WRITE_ACCESS, bytes(data))

    def fetch(self, va: int, n: int) -> bytes:
        """An instruction fetch of n bytes at va (needs execute permission)."""
        return self._access(va, n, EXEC, None)

    def load_int(self, va: int, size: int = 8) -> int:
        """A little-endian unsigned integer of `size` bytes at va."""
        return int.from_bytes(self.load(va, size), "little")

    def store_int(self, va: int, value: int, size: int = 8) -> None:
        """Store value as a little-endian unsigned integer of `size` bytes at va."""
        self.store(va, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))

    def _access(self, va: int, n: int, access: int, data: bytes | None) -> bytes:
        """One user access, split at page boundaries; each piece is translated and retried."""
        proc = self._require_alive()
        k = self._k
        if k.current is not proc:
            k.switch_to(proc)
        proc.stats.cpu_accesses += 1
        k.advance_clock()
        if k.events is not None:
            k.emit(Access(proc.pid, va, n, ("read", "write", "exec")[access]))
        if n <= 0:
            return b""
        if va < 0 or va + n > k.fmt.user_top:
            bad = va if va < 0 or va >= k.fmt.user_top else k.fmt.user_top
            handle_page_fault(k, proc, bad, access, "not-present")
            raise KernelPanic(f"access at {va:#x} outside user space was not refused")
        ps = self._ps
        if (va & (ps - 1)) + n <= ps:
            pa = self._translate(proc, va, access)
            if data is None:
                return k.mem.read(pa, n)
            k.mem.write(pa, data)
            return b""
        out = bytearray()
        done = 0
        while done < n:
            cur = va + done
            m = min(n - done, ps - (cur & (ps - 1)))
            pa = self._translate(proc, cur, access)
            if data is None:
                out += k.mem.read(pa, m)
            else:
                k.mem.write(pa, data[done : done + m])
            done += m
        return bytes(out)

    def _translate(self, proc: Proc, va: int, access: int) -> int:
        """MMU translation with fault handling: the access is retried after each fault."""
        mmu = self._k.mmu
        for _ in range(_MAX_RETRIES):
            try:
                return mmu.translate(va, access)
            except PageFault as fault:
                self._k.trap(proc, fault)
                if proc.state != RUNNING:
                    raise ProcessKilled(proc.pid, proc.exit_reason) from None
        raise KernelPanic(f"translate: {va:#x} still faulting after {_MAX_RETRIES} retries")

    # --- system calls -----------------------------------------------------------------

    def _syscall(self, name: str, args: str, result: int) -> None:
        self._k.emit(Syscall(self.pid, name, args, result))

    def mmap(self, length: int | str, prot: str | int = "rw", addr: int | None = None) -> int:
        """Map anonymous private memory (rounded up to pages); return its start address.

        addr places the mapping exactly there (MAP_FIXED_NOREPLACE); by default it goes
        top-down below the stack.
        """
        self._require_alive()
        n = parse_size(length, "length")
        start = do_mmap(self._k, self._proc.mm, n, _prot(prot), addr=addr)
        where = "NULL" if addr is None else f"{addr:#x}"
        self._syscall("mmap", f"{where}, {n}, {prot_str(_prot(prot))}", start)
        return start

    def munmap(self, va: int, length: int) -> None:
        """Unmap [va, va + length) (va page-aligned, else OSError EINVAL)."""
        self._require_alive()
        do_munmap(self._k, self._proc.mm, va, length)
        self._syscall("munmap", f"{va:#x}, {length}", 0)

    def mprotect(self, va: int, length: int, prot: str | int) -> None:
        """Change the protection of [va, va + length)."""
        self._require_alive()
        do_mprotect(self._k, self._proc.mm, va, length, _prot(prot))
        self._syscall("mprotect", f"{va:#x}, {length}, {prot_str(_prot(prot))}", 0)

    def brk(self, addr: int | None = None) -> int:
        """Set the program break to addr (None: just report it); return the break."""
        self._require_alive()
        mm = self._proc.mm
        if addr is None:
            return mm.brk
        new = do_brk(self._k, mm, addr)
        self._syscall("brk", f"{addr:#x}", new)
        return new

    def sbrk(self, increment: int) -> int:
        """Move the program break by increment; return the old break (OSError ENOMEM)."""
        self._require_alive()
        old = self._proc.mm.brk
        if increment:
            do_brk(self._k, self._proc.mm, old + increment)
        self._syscall("sbrk", f"{increment}", old)
        return old

    def exit(self, status: int = 0) -> None:
        """Terminate the process; all its memory is freed."""
        self._require_alive()
        self._k.do_exit(self._proc, status, f"exit({status})")

    def kill(self, signal: str = "SIGKILL") -> None:
        """Deliver a fatal signal; the process dies and its memory is freed."""
        if signal not in SIGNALS:
            raise ConfigError("signal", signal, f"one of {', '.join(SIGNALS)}")
        if self.alive:
            self._k.do_exit(self._proc, -SIGNALS[signal], f"killed by {signal}")

    # --- trace replay -----------------------------------------------------------------

    def replay(
        self, addresses: Sequence[int] | np.ndarray, kinds: Sequence[int] | np.ndarray | None = None
    ) -> ReplayStats:
        """Run a stream of references through the machine (translation and faults, no data).

        addresses: virtual addresses; kinds: vmsim.kinds.AccessKind values (instruction
        fetch, load, store, modify; default: loads). A replayed process treats all of
        user space as anonymous rwx memory and has no zero page, so each reference to a
        non-resident page is exactly one page fault.
        """
        proc = self._require_alive()
        k = self._k
        self._enter_replay_mode(proc)
        addrs = np.asarray(addresses, dtype=np.int64)
        n = len(addrs)
        acc = _access_codes(kinds, n)
        before = (proc.stats.min_flt, proc.stats.maj_flt, k.stats.tlb_miss, k.stats.pswpout)
        future: dict[int, int] | None = None
        nxt: list[int] = []
        if k.reclaimer.global_policy.needs_future:
            from vmsim.policies.reference import next_use_array

            nxt = next_use_array(addrs >> k.fmt.page_shift).tolist()
            future = k.reclaimer.refbits.future = {}
        try:
            self._replay_loop(proc, addrs.tolist(), acc, future, nxt)
        finally:
            k.reclaimer.refbits.future = None
        proc.stats.cpu_accesses += n
        return ReplayStats(
            references=n,
            minor_faults=proc.stats.min_flt - before[0],
            major_faults=proc.stats.maj_flt - before[1],
            tlb_misses=k.stats.tlb_miss - before[2],
            swap_outs=k.stats.pswpout - before[3],
        )

    def _replay_loop(
        self,
        proc: Proc,
        addrs: list[int],
        acc: list[int],
        future: dict[int, int] | None,
        nxt: list[int],
    ) -> None:
        """The hot loop of replay: one MMU translation per reference, faults handled."""
        k = self._k
        if k.current is not proc:
            k.switch_to(proc)
        translate = k.mmu.translate
        shift = k.fmt.page_shift
        tick = k.tick_interval
        for i, va in enumerate(addrs):
            if tick and k.clock and k.clock % tick == 0:
                k.tick()
            k.clock += 1
            if future is not None:
                future[va >> shift] = nxt[i]
            try:
                translate(va, acc[i])
            except PageFault:
                self._translate(proc, va, acc[i])

    def _enter_replay_mode(self, proc: Proc) -> None:
        """Turn a fresh process into a replay process (one rwx VMA over user space)."""
        mm = proc.mm
        if len(mm.vmas) == 1 and mm.vmas[0].kind == "replay":
            return
        if proc.stats.rss or proc.stats.swap or mm.brk != mm.start_brk:
            raise VmsimError(
                f"pid {proc.pid} already uses memory: replay needs a fresh process "
                "(or one spawned with replay=True)"
            )
        self._k.make_replay_space(proc)

    # --- the C library (libc/) --------------------------------------------------------

    @property
    def libc(self) -> Libc:
        """This process's C library (heap, C++ runtime, stack), set up on first use."""
        if self._libc is None:
            self._require_alive()
            self._libc = Libc(self, self._allocator, **self._allocator_options)
        return self._libc

    @property
    def heap(self) -> Allocator:
        """The malloc heap: check(), chunks(), mallinfo() and the malloc family."""
        return self.libc.heap

    def malloc(self, size: int) -> int:
        """malloc(size): an address, or 0 (NULL) with errno ENOMEM."""
        return self.libc.heap.malloc(size)

    def calloc(self, count: int, size: int) -> int:
        """calloc(count, size): zeroed memory, or 0 (NULL) on failure or overflow."""
        return self.libc.heap.calloc(count, size)

    def realloc(self, ptr: int, size: int) -> int:
        """realloc(ptr, size) with C's semantics."""
        return self.libc.heap.realloc(ptr, size)

    def reallocf(self, ptr: int, size: int) -> int:
        """reallocf(ptr, size): like realloc, but frees ptr when it fails."""
        return self.libc.heap.reallocf(ptr, size)

    def valloc(self, size: int) -> int:
        """valloc(size): a page-aligned block."""
        return self.libc.heap.valloc(size)

    def aligned_alloc(self, alignment: int, size: int) -> int:
        """aligned_alloc(alignment, size): 0 with EINVAL if alignment is not a power of two."""
        return self.libc.heap.aligned_alloc(alignment, size)

    def posix_memalign(self, alignment: int, size: int) -> tuple[int, int]:
        """posix_memalign: (errno, pointer)."""
        return self.libc.heap.posix_memalign(alignment, size)

    def free(self, ptr: int) -> None:
        """free(ptr); free(0) does nothing."""
        self.libc.heap.free(ptr)

    def malloc_usable_size(self, ptr: int) -> int:
        """Bytes usable in the block at ptr."""
        return self.libc.heap.malloc_usable_size(ptr)

    def mallinfo(self) -> MallInfo:
        """Heap statistics: arena, in-use and free bytes, mmapped blocks, fragmentation."""
        return self.libc.heap.mallinfo()

    @property
    def errno(self) -> int:
        """errno as the last C library call left it."""
        return self.libc.heap.errno

    def new(self, size: int, *, init: Init = None, nothrow: bool = False) -> int:
        """C++ `new`: BadAlloc on failure (0 with nothrow); init constructs the object."""
        return self.libc.cxx.new(size, init=init, nothrow=nothrow)

    def new_array(self, count: int, size: int, **options: Any) -> int:
        """C++ `new T[count]` (options: init, destructor, cookie, nothrow)."""
        return self.libc.cxx.new_array(count, size, **options)

    def placement_new(self, addr: int, *, size: int = 0, init: Init = None) -> int:
        """C++ placement new: constructs at addr, allocates nothing, returns addr."""
        return self.libc.cxx.placement_new(addr, size=size, init=init)

    def delete(self, ptr: int, *, destructor: Callable[[int], object] | None = None) -> None:
        """C++ `delete ptr`: the destructor, then operator delete."""
        self.libc.cxx.delete(ptr, destructor=destructor)

    def delete_array(self, ptr: int, **options: Any) -> int:
        """C++ `delete[] ptr` (options: size, destructor, cookie); returns the cookie count."""
        return self.libc.cxx.delete_array(ptr, **options)

    def set_new_handler(self, handler: Callable[[], object] | None) -> Callable[[], object] | None:
        """std::set_new_handler: returns the previous handler."""
        return self.libc.cxx.set_new_handler(handler)

    def call(self, frame_size: int) -> Frame:
        """`with p.call(n) as frame:` pushes a stack frame; leaving the block pops it."""
        return self.libc.stack.call(frame_size)

    # --- inspection -------------------------------------------------------------------

    def vmas(self) -> list[VmaInfo]:
        """The regions of the address space, in address order."""
        return [
            VmaInfo(v.start, v.end, prot_str(v.prot), v.kind, v.shared, v.name)
            for v in self._proc.mm.vmas
        ]

    def pte(self, va: int) -> PteInfo | None:
        """The decoded PTE of va's page, or None if there is none (never touched)."""
        k = self._k
        if not 0 <= va < k.fmt.user_top:
            return None
        pte_pa, pte = walk(k, self._proc.mm, va & ~(self._ps - 1))
        if pte_pa < 0 or pte == 0:
            return None
        layout = k.fmt.layout
        f = layout.flags(pte)
        present = bool(pte & layout.present)
        from vmsim.hw import pte as P

        return PteInfo(
            frame=layout.ppn(pte) if present else -1,
            present=present,
            writable=bool(f & P.WRITE),
            user=bool(f & P.USER),
            accessed=bool(f & P.ACCESSED),
            dirty=bool(f & P.DIRTY),
            nx=bool(f & P.NX),
            cow=bool(f & P.COW),
            swap_slot=None if present else layout.ppn(pte),
            raw=pte,
            pte_pa=pte_pa,
        )

    # --- what the C library needs (libc.usermem.UserMemory) ---------------------------

    @property
    def sp(self) -> int:
        """The user stack pointer."""
        return self._proc.sp

    @sp.setter
    def sp(self, value: int) -> None:
        self._proc.sp = value

    def emit(self, event: Event) -> None:
        """Record an event in the machine's log."""
        self._k.emit(event)

    def abort(self, message: str) -> NoReturn:
        """SIGABRT from the C library: the process dies; raise HeapCorruption(message)."""
        proc = self._proc
        self._k.do_exit(proc, -SIGNALS["SIGABRT"], f"SIGABRT: {message}")
        raise HeapCorruption(proc.pid, message)


@dataclass(frozen=True)
class ReplayStats:
    """What one replay did: references, faults (minor + major = misses), TLB misses."""

    references: int
    minor_faults: int
    major_faults: int
    tlb_misses: int
    swap_outs: int

    @property
    def faults(self) -> int:
        """All page faults of the replay: the misses of the textbook definition."""
        return self.minor_faults + self.major_faults


def _access_codes(kinds: Sequence[int] | np.ndarray | None, n: int) -> list[int]:
    """MMU access codes for trace kinds: fetch -> exec, load -> read, store/modify -> write."""
    if kinds is None:
        return [READ] * n
    arr = np.asarray(kinds, dtype=np.int64)
    if len(arr) != n:
        raise ConfigError("kinds", f"{len(arr)} kinds", f"one kind per address ({n})")
    if len(arr) and (arr.min() < 0 or arr.max() > 3):
        raise ConfigError("kinds", "out of range", "AccessKind values 0..3 (I, L, S, M)")
    table = np.array([EXEC, READ, WRITE_ACCESS, WRITE_ACCESS], dtype=np.int64)
    return list(table[arr].tolist())


def _prot(prot: str | int) -> int:
    """Parse a protection argument; ConfigError on nonsense."""
    try:
        return parse_prot(prot)
    except ValueError as exc:
        raise ConfigError("prot", prot, str(exc)) from None


class Machine:
    """A simulated machine: hardware, kernel, and the processes running on it."""

    def __init__(self, config: MachineConfig | None = None, /, **options: Any) -> None:
        if config is None:
            config = MachineConfig(**options)
        elif options:
            config = config.replace(**options)
        self.config = config
        self.kernel = Kernel(config)
        self._processes: dict[int, Process] = {}

    def __repr__(self) -> str:
        c = self.config
        return f"<Machine {c.memory >> 10} KiB {c.paging} tlb={c.tlb_entries}x{c.tlb_ways}>"

    def spawn(
        self,
        name: str | None = None,
        *,
        memory_limit: int | str | None = None,
        oom_score_adj: int = 0,
        replay: bool = False,
        allocator: str = DEFAULT_ALLOCATOR,
        **allocator_options: Any,
    ) -> Process:
        """Create a new process with its own address space.

        memory_limit: a resident-set limit (bytes or "256KiB"): the process replaces
        among its own pages when it reaches it. oom_score_adj: -1000..1000, as Linux's.
        replay: the process treats all user space as anonymous memory (trace replays).
        allocator: the malloc implementation ("glibc", "textbook"), with its options
        (textbook: fit, order, coalesce; glibc: its tunables).
        """
        allocator_class(allocator)
        limit = None
        if memory_limit is not None:
            size = parse_size(memory_limit, "memory_limit")
            limit = size // self.config.page_size
            if limit < 1:
                raise ConfigError("memory_limit", memory_limit, "at least one page")
        if not -1000 <= oom_score_adj <= 1000:
            raise ConfigError("oom_score_adj", oom_score_adj, "-1000..1000")
        proc = self.kernel.spawn(
            name, replay=replay, memory_limit=limit, oom_score_adj=oom_score_adj
        )
        p = Process(self, proc, allocator, allocator_options)
        self._processes[proc.pid] = p
        return p

    def swap_out_process(self, pid: int) -> int:
        """Move every resident page of a process to swap; return how many pages went."""
        proc = self.process(pid)._require_alive()
        return self.kernel.swap_out_mm(proc.mm)

    @property
    def stats(self) -> VmStat:
        """Machine-wide counters, named like /proc/vmstat."""
        return self.kernel.stats

    @property
    def events(self) -> list[Event]:
        """The event log (empty unless record_events is on)."""
        return self.kernel.events if self.kernel.events is not None else []

    @property
    def processes(self) -> list[Process]:
        """Every process spawned, alive or not."""
        return list(self._processes.values())

    def process(self, pid: int) -> Process:
        """The process with this pid."""
        try:
            return self._processes[pid]
        except KeyError:
            raise SyscallError(errno.ESRCH, f"no process {pid}") from None

    def check(self) -> None:
        """Verify every kernel invariant against the page tables (KernelPanic if broken)."""
        from vmsim.kernel.check import check_invariants

        check_invariants(self.kernel)

    def close(self) -> None:
        """Release host resources: the swap file (removed if temporary)."""
        dev = self.kernel.swap.dev
        if dev is not None:
            dev.close()

    def __enter__(self) -> Machine:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
