"""The public face of the simulated machine: `vmsim.Machine` and `vmsim.Process`.

A Machine is hardware plus kernel; a Process is the user-facing handle of one kernel
process: its accesses go through the MMU (faults are handled and the access retried),
its system calls go to the kernel, and the C library (libc/) runs on top of it.
This module sits above kernel/ and libc/ (DESIGN.md: the public facade).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from vmsim.config import MachineConfig, parse_size
from vmsim.errors import (
    ConfigError,
    HeapCorruption,
    KernelPanic,
    ProcessKilled,
    SyscallError,
    VmsimError,
    format_addr,
)
from vmsim.events import Access, Event, Syscall
from vmsim.hw.mmu import EXEC, READ, WRITE_ACCESS, PageFault
from vmsim.hw.pte import DIRTY, WRITE, PteInfo, decode
from vmsim.hw.tlb import ASID_SHIFT
from vmsim.kernel.exec import ElfImage, load_elf
from vmsim.kernel.filemap import PageCacheObject, msync, open_file
from vmsim.kernel.kernel import SIGNALS, Kernel
from vmsim.kernel.mm import PROT_WRITE, parse_prot, prot_str
from vmsim.kernel.mmap import close_vma, do_brk, do_mmap, do_mprotect, do_munmap
from vmsim.kernel.proc import RUNNING, Proc, do_fork, do_wait
from vmsim.kernel.replay import ReplayRun, ReplayStats
from vmsim.kernel.sched import Program, RunResult, Scheduler
from vmsim.kernel.shmem import ShmObject, release_object, shm_open
from vmsim.kernel.vm import walk
from vmsim.libc import DEFAULT_ALLOCATOR, Allocator, Libc, MallInfo, check_allocator
from vmsim.libc.cxx import Init
from vmsim.libc.stack import Frame
from vmsim.stats import ProcStat, VmStat

if TYPE_CHECKING:
    import numpy as np

    from vmsim.kernel.syscall import Runtime, UserTask

_W_D = WRITE | DIRTY
"""A store hits the TLB only on an entry with both: writable, and D already set."""
_WALK, _TRANSLATE, _FULL_PATH = -3, -2, -1
"""What Process._tlb_hit returns when it is not a hit (see there)."""


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
        self._translate = self._k.mmu.translate
        self._mem = self._k.mem
        self._mmu = self._k.mmu
        self._walk_fill = self._k.mmu.walk_fill
        tlb = self._k.tlb
        self._tlb_sets = tlb.sets if tlb.nsets else [{}]
        """The TLB's sets, for the hit path (no TLB: one set that stays empty, so every
        access misses)."""
        self._tlb_nsets = tlb.nsets or 1
        self._shift = self._k.fmt.page_shift
        self._user_top = self._k.fmt.user_top
        self._libc: Libc | None = None
        self.image: ElfImage | None = None
        """The executable loaded by exec, if any."""

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
    def children_faults(self) -> tuple[int, int]:
        """(minor, major) faults of reaped children and their descendants, as
        getrusage(RUSAGE_CHILDREN) reports them."""
        return self._proc.cmin_flt, self._proc.cmaj_flt

    @property
    def page_size(self) -> int:
        """Page size in bytes."""
        return self._ps

    @property
    def oom_score_adj(self) -> int:
        """How the OOM killer ranks this process: -1000 (never) .. 1000, as Linux's."""
        return self._proc.oom_score_adj

    @oom_score_adj.setter
    def oom_score_adj(self, value: int) -> None:
        if not -1000 <= value <= 1000:
            raise ConfigError("oom_score_adj", value, "-1000..1000")
        self._proc.oom_score_adj = value

    def _require_alive(self) -> Proc:
        proc = self._proc
        if proc.state != RUNNING:
            raise ProcessKilled(proc.pid, proc.exit_reason or "exited")
        return proc

    def _require_not_replay_only(self, what: str) -> None:
        """ConfigError naming `what` on a replay_only machine (its policy needs the future)."""
        config = self.machine.config
        if config.replay_only:
            raise ConfigError(
                "replay_only",
                True,
                f"this machine only replays traces (policy {config.policy} needs their "
                f"future): {what} is not available; use p.replay or spawn(trace=...)",
            )

    # --- memory accesses --------------------------------------------------------------

    def load(self, va: int, n: int) -> bytes:
        """Read n bytes at va through the MMU."""
        pa = self._tlb_hit(va, n, READ)
        if pa < 0:
            if pa == _FULL_PATH:
                return self._access(va, n, READ, None)
            pa = self._translate_user(va, READ, pa == _WALK)
        return self._mem.read(pa, n)

    def store(self, va: int, data: bytes) -> None:
        """Write data at va through the MMU."""
        if type(data) is not bytes:
            data = bytes(data)
        pa = self._tlb_hit(va, len(data), WRITE_ACCESS)
        if pa < 0:
            if pa == _FULL_PATH:
                self._access(va, len(data), WRITE_ACCESS, data)
                return
            pa = self._translate_user(va, WRITE_ACCESS, pa == _WALK)
        self._mem.write(pa, data)

    def _tlb_hit(self, va: int, n: int, access: int) -> int:
        """Short path of a load/store: pa on a TLB hit, else _WALK, _TRANSLATE or _FULL_PATH."""
        # Only for a one-page access with nothing else to do (no context switch, timer tick
        # due or event log): it is counted as _access counts it, then the TLB is looked up
        # inline as MMU.translate does (the hit becomes its set's most recent as in
        # TLB.lookup; a store needs a writable entry whose D is set). _WALK: counted, a TLB
        # miss too (as MMU.translate counts it): the hardware walk is left. _TRANSLATE:
        # counted, but the entry does not allow the access: MMU.translate does the rest
        # (D, fault). _FULL_PATH: nothing counted, _access does it all.
        proc = self._proc
        k = self._k
        ps = self._ps
        if not (
            0 < n <= ps - (va & (ps - 1))
            and 0 <= va <= self._user_top - n
            and k.loaded_mm is proc.mm
            and proc.state == RUNNING
            and k.events is None  # the kernel's event log is the MMU's too
            and (not k.tick_interval or k.clock % k.tick_interval)  # no tick due now
        ):
            return _FULL_PATH
        proc.stats.cpu_accesses += 1
        k.clock += 1
        mmu = self._mmu
        vpn = va >> self._shift
        tlb_set = self._tlb_sets[vpn % self._tlb_nsets]
        key = mmu.asid << ASID_SHIFT | vpn
        e = tlb_set.pop(key, None)
        if e is None:
            mmu.stats.tlb_miss += 1
            return _WALK
        tlb_set[key] = e
        if access == WRITE_ACCESS and e[1] & _W_D != _W_D:
            return _TRANSLATE
        mmu.stats.tlb_hit += 1
        if mmu.on_access is not None:
            mmu.on_access(e[0], access == WRITE_ACCESS)
        return e[0] << self._shift | va & (ps - 1)

    def _translate_user(self, va: int, access: int, missed: bool = False) -> int:
        """translate (missed: only the walk is left) for proc; a fault goes to the one loop."""
        try:
            if missed:
                return self._walk_fill(va, access)[0] << self._shift | va & (self._ps - 1)
            return self._translate(va, access)
        except PageFault as fault:
            return self._k.handle_user_fault(self._proc, fault)

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
        proc = self._proc
        if proc.state != RUNNING:
            self._require_alive()
        k = self._k
        if k.loaded_mm is not proc.mm:
            k.switch_to(proc)
        proc.stats.cpu_accesses += 1
        if k.tick_interval:
            k.advance_clock()
        else:
            k.clock += 1
        if k.events is not None:
            k.emit(Access(proc.pid, va, n, ("read", "write", "exec")[access]))
        if n <= 0:
            return b""
        if va < 0 or va + n > self._user_top:
            bad = va if va < 0 or va >= self._user_top else self._user_top
            k.trap(proc, PageFault(bad, access, "not-present"))
            raise KernelPanic(f"access at {va:#x} outside user space was not refused")
        ps = self._ps
        if (va & (ps - 1)) + n <= ps:  # one page
            pa = self._translate_user(va, access)
            if data is None:
                return self._mem.read(pa, n)
            self._mem.write(pa, data)
            return b""
        return self._access_pages(va, n, access, data)

    def _access_pages(self, va: int, n: int, access: int, data: bytes | None) -> bytes:
        """The rest of `_access` for an access that crosses pages: page by page."""
        k, ps = self._k, self._ps
        out = bytearray()
        done = 0
        while done < n:
            cur = va + done
            m = min(n - done, ps - (cur & (ps - 1)))
            pa = self._translate_user(cur, access)
            if data is None:
                out += k.mem.read(pa, m)
            else:
                k.mem.write(pa, data[done : done + m])
            done += m
        return bytes(out)

    # --- system calls -----------------------------------------------------------------

    def _syscall(self, name: str, args: str, result: int) -> None:
        self._k.emit(Syscall(self.pid, name, args, result))

    def mmap(
        self,
        length: int | str,
        prot: str | int = "rw",
        *,
        shared: bool = False,
        file: str | os.PathLike[str] | None = None,
        offset: int = 0,
        shm: str | None = None,
        addr: int | None = None,
    ) -> int:
        """Map memory; return its start address (rounded up to pages, placed top-down).

        Anonymous private memory by default; shared=True shares it with children after
        fork; file= maps a host file from offset (shared=True: writes reach the file;
        shared=False: copy-on-write); shm= maps a named segment from m.shm_open.
        addr places the mapping exactly there (MAP_FIXED_NOREPLACE).
        """
        self._require_alive()
        self._require_not_replay_only("mmap")
        k = self._k
        n = parse_size(length, "length")
        bits = _prot(prot)
        kind, pgoff, name = "mmap", 0, ""
        backing: PageCacheObject | None = None
        if file is not None and shm is not None:
            raise ConfigError("mmap", "file and shm", "one backing at a time")
        if file is not None:
            if offset < 0 or offset % self._ps:
                raise SyscallError(errno.EINVAL, f"mmap: offset {offset} is not page-aligned")
            backing = open_file(k, os.fspath(file), writable=shared and bool(bits & PROT_WRITE))
            kind, pgoff, name = "file", offset // self._ps, backing.path
        elif shm is not None:
            backing = k.shm.get(shm)
            if backing is None:
                raise SyscallError(errno.ENOENT, f"mmap: no shared-memory segment {shm!r}")
            kind, shared, name = "shm", True, shm
        elif shared:
            backing = ShmObject(self._ps, n)
            kind = "shm"
        try:
            start = do_mmap(
                k, self._proc.mm, n, bits, kind, shared, backing, pgoff, name, addr=addr
            )
        finally:
            if backing is not None and backing.map_count == 0:
                release_object(k, backing)
        where = "NULL" if addr is None else format_addr(addr)
        flags = "MAP_SHARED" if shared else "MAP_PRIVATE"
        self._syscall("mmap", f"{where}, {n}, {prot_str(bits)}, {flags}, {name or '-'}", start)
        return start

    def msync(self, va: int, length: int) -> int:
        """Write dirty pages of shared file mappings in [va, va + length) to their files.

        Returns the number of pages written. va must be page-aligned (EINVAL).
        """
        self._require_alive()
        if va % self._ps or length < 0:
            raise SyscallError(errno.EINVAL, f"msync: bad range {format_addr(va)}+{length}")
        written = msync(self._k, self._proc.mm, va, va + length)
        self._syscall("msync", f"{format_addr(va)}, {length}", written)
        return written

    def fork(self, program: ProgramFn | None = None) -> Process:
        """A child process: a copy of this one, its frames shared copy-on-write.

        program: a generator function for the child to run under m.run(). OSError EAGAIN
        at the machine's max_processes or with no free pid, ENOMEM if overcommit refuses.
        """
        proc = self._require_alive()
        try:
            child_proc = do_fork(self._k, proc)
        except VmsimError:
            if proc.killed:  # the OOM killer chose the parent: it exits at this boundary
                raise self._k.exit_killed(proc) from None
            raise
        child = self.machine._adopt(child_proc, self._allocator, self._allocator_options)
        child.image = self.image
        if self._libc is not None:
            child._libc = self._libc.fork(child)
        self._syscall("fork", "", child.pid)
        if program is not None:
            self.machine.scheduler.add(child_proc, program(child))
        return child

    def wait(self, pid: int = -1) -> int:
        """Reap an exited child (any, or pid) and return its exit status.

        OSError ECHILD without such a child; EAGAIN if none has exited yet (outside
        m.run(), nothing else can make it exit: it would block forever).
        """
        return self.waitpid(pid)[1]

    def waitpid(self, pid: int = -1) -> tuple[int, int]:
        """Like wait(), returning (pid, status) as os.waitpid does."""
        proc = self._require_alive()
        got = do_wait(self._k, proc, pid)
        if got is None:
            raise SyscallError(errno.EAGAIN, f"wait: no child of pid {proc.pid} has exited yet")
        self._syscall("wait", f"{pid}", got[0])
        return got

    @property
    def children(self) -> list[Process]:
        """Children not yet reaped."""
        return [self.machine.process(c.pid) for c in self._proc.children]

    @property
    def parent(self) -> Process | None:
        """The parent process (None for processes the machine spawned)."""
        par = self._proc.parent
        return self.machine.process(par.pid) if par is not None else None

    def munmap(self, va: int, length: int) -> None:
        """Unmap [va, va + length) (va page-aligned, else OSError EINVAL)."""
        self._require_alive()
        do_munmap(self._k, self._proc.mm, va, length)
        self._syscall("munmap", f"{format_addr(va)}, {length}", 0)

    def mprotect(self, va: int, length: int, prot: str | int) -> None:
        """Change the protection of [va, va + length)."""
        self._require_alive()
        do_mprotect(self._k, self._proc.mm, va, length, _prot(prot))
        self._syscall("mprotect", f"{format_addr(va)}, {length}, {prot_str(_prot(prot))}", 0)

    def brk(self, addr: int | None = None) -> int:
        """Set the program break to addr (None: just report it); return the break."""
        self._require_alive()
        mm = self._proc.mm
        if addr is None:
            return mm.brk
        self._require_not_replay_only("brk")
        new = do_brk(self._k, mm, addr)
        self._syscall("brk", format_addr(addr), new)
        return new

    def sbrk(self, increment: int) -> int:
        """Move the program break by increment; return the old break (OSError ENOMEM)."""
        self._require_alive()
        self._require_not_replay_only("sbrk")
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
        run = self._start_replay(addresses, kinds)
        run.step(len(run.addrs))
        return run.stats()

    def _start_replay(
        self, addresses: Sequence[int] | np.ndarray, kinds: Sequence[int] | np.ndarray | None
    ) -> ReplayRun:
        proc = self._require_alive()
        self._enter_replay_mode(proc)
        return ReplayRun(self._k, proc, addresses, kinds)

    def _trace_program(
        self, addresses: Sequence[int] | np.ndarray, kinds: Sequence[int] | np.ndarray | None
    ) -> Program:
        """A program that replays a trace, exactly one quantum of references at a time."""
        run = self._start_replay(addresses, kinds)
        budget = yield
        while not run.done:
            run.step(budget)
            if run.done:
                break
            budget = yield
        return 0

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
            self._require_not_replay_only("the C library")
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
        return decode(k.fmt.layout, pte, pte_pa)

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


ProgramFn = Callable[["Process"], Program]
"""A program: a generator function of the process that runs it."""
TraceArg = tuple[Any, Any] | str | os.PathLike[str]


def _trace_arrays(trace: TraceArg) -> tuple[np.ndarray, np.ndarray | None]:
    """(addresses, kinds) from a pair of arrays or a trace file (any format trace/ reads)."""
    import numpy as np  # replays only: a real program's run never loads NumPy

    if isinstance(trace, tuple):
        addrs, kinds = trace
        return np.asarray(addrs, dtype=np.int64), None if kinds is None else np.asarray(kinds)
    from vmsim.trace import Trace  # the trace readers (loaded only when needed)

    return Trace(os.fspath(trace)).arrays()


def _prot(prot: str | int) -> int:
    """Parse a protection argument; ConfigError on nonsense."""
    try:
        return parse_prot(prot)
    except ValueError as exc:
        raise ConfigError("prot", prot, str(exc)) from None


class Machine:
    """A simulated machine: hardware, kernel, and the processes running on it."""

    def __init__(
        self, config: MachineConfig | None = None, /, *, record: bool | int = False, **options: Any
    ) -> None:
        if config is None:
            config = MachineConfig(**options)
        elif options:
            config = config.replace(**options)
        if record and not config.record_events:
            config = config.replace(record_events=True)
        self.config = config
        self.kernel = Kernel(config)
        self.scheduler = Scheduler(self.kernel)
        self._processes: dict[int, Process] = {}
        self.kernel.pids.released.append(self._forget)
        self.recording: Any = None
        """The page's recording (report/view) when record= is set: True, or steps per snapshot."""
        if record:
            self.record(every=None if record is True else int(record))
        self._runtime: Runtime | None = None
        self.log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)
        """Where the kernel's messages about real programs go (an unknown syscall)."""

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
        program: ProgramFn | str | os.PathLike[str] | None = None,
        trace: TraceArg | None = None,
        argv: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        writable: Sequence[str] = (),
        **allocator_options: Any,
    ) -> Process:
        """Create a new process with its own address space.

        memory_limit: a resident-set limit (bytes or "256KiB"): the process replays
        among its own pages when it reaches it. oom_score_adj: -1000..1000, as Linux's.
        replay: the process treats all user space as anonymous memory (trace replays).
        allocator: the malloc implementation ("glibc", "textbook"), with its options
        (textbook: fit, order, coalesce; glibc: its tunables).
        program: a generator function gen(process) for m.run() to run, or the path of
        an ELF executable to load (as m.exec). trace: a reference stream for m.run() to
        replay: (addresses, kinds) arrays, or a trace file any reader of vmsim.open_trace
        understands. An executable given as program runs on the x86-64 CPU (hw.cpu) when
        m.run() runs: argv (default [program]) and env (default empty) are its arguments
        and environment, and it may write files only under the `writable` directories.
        """
        check_allocator(allocator, allocator_options)
        if isinstance(program, str | os.PathLike):
            path = os.fspath(program)
            p = self.spawn(name or os.path.basename(path), memory_limit=memory_limit,
                           oom_score_adj=oom_score_adj, allocator=allocator)  # fmt: skip
            self._start_program(p, path, argv, env, writable)
            return p
        if program is not None and trace is not None:
            raise ConfigError("program", "and trace", "one of program and trace")
        limit = None
        if memory_limit is not None:
            size = parse_size(memory_limit, "memory_limit")
            limit = size // self.config.page_size
            if limit < 1:
                raise ConfigError("memory_limit", memory_limit, "at least one page")
        if not -1000 <= oom_score_adj <= 1000:
            raise ConfigError("oom_score_adj", oom_score_adj, "-1000..1000")
        proc = self.kernel.spawn(
            name,
            replay=replay or trace is not None,
            memory_limit=limit,
            oom_score_adj=oom_score_adj,
        )
        p = self._adopt(proc, allocator, allocator_options)
        if program is not None:
            self.scheduler.add(proc, program(p))
        elif trace is not None:
            addrs, kinds = _trace_arrays(trace)
            self.scheduler.add(proc, p._trace_program(addrs, kinds))
        return p

    def exec(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        memory_limit: int | str | None = None,
        allocator: str = DEFAULT_ALLOCATOR,
        **allocator_options: Any,
    ) -> Process:
        """A new process running the ELF executable at path: its segments are mapped.

        Text, read-only data and data come from the file (private mappings: two
        processes running the same binary share its text frames), bss is zero; then a
        heap and a stack. The process's `image` tells where everything went.
        """
        p = self.spawn(name or os.path.basename(os.fspath(path)), memory_limit=memory_limit,
                       allocator=allocator, **allocator_options)  # fmt: skip
        p._require_not_replay_only("exec")
        k = self.kernel
        mm = p._proc.mm
        for vma in list(mm.vmas):  # the fresh default layout holds nothing yet
            close_vma(k, mm, vma)
        try:
            with mm.locked():
                p.image = load_elf(k, p._proc, os.fspath(path))
        except BaseException:
            if p._proc.killed:  # the OOM killer chose it: it exits at the exec boundary
                raise k.exit_killed(p._proc) from None
            k.do_exit(p._proc, -1, "exec failed")
            raise
        p._syscall("execve", os.fspath(path), 0)
        return p

    def _start_program(
        self, p: Process, path: str, argv: Sequence[str] | None, env: dict[str, str] | None,
        writable: Sequence[str],
    ) -> None:  # fmt: skip
        """Make an exec'd process run its program on a CPU under the scheduler."""
        from vmsim.kernel.syscall import run_task, start_program

        rt = self.runtime
        proc = p._proc
        for vma in list(proc.mm.vmas):  # the fresh default layout holds nothing yet
            close_vma(self.kernel, proc.mm, vma)
        args = list(argv) if argv is not None else [path]
        try:
            t = start_program(rt, proc, path, args, dict(env or {}), tuple(writable))
        except BaseException:
            self.kernel.do_exit(proc, -1, "exec failed")
            raise
        p.image = t.image
        self.scheduler.add(proc, run_task(rt, t))

    @property
    def runtime(self) -> Runtime:
        """The kernel's state for real programs (their tasks, syscall counts)."""
        from vmsim.kernel.syscall import Runtime, run_task

        if self._runtime is None:

            def start(t: UserTask) -> None:
                self._adopt(t.proc, DEFAULT_ALLOCATOR, {})
                self.scheduler.add(t.proc, run_task(rt, t))

            rt = self._runtime = Runtime(self.kernel, start, self.log)
            rt.others_ready = lambda: bool(self.scheduler.ready)
        return self._runtime

    def run(self, quantum: int = 1000, max_quanta: int | None = None) -> RunResult:
        """Run every process that has a program (or trace), round-robin, until all exit.

        quantum counts memory accesses. Returns per-process accesses and exit statuses.
        """
        if quantum < 1:
            raise ConfigError("quantum", quantum, "at least one memory access")
        return self.scheduler.run(quantum, max_quanta)

    def _adopt(self, proc: Proc, allocator: str, options: dict[str, Any]) -> Process:
        """The Process handle of a new kernel process."""
        p = Process(self, proc, allocator, options)
        self._processes[proc.pid] = p
        return p

    def _forget(self, proc: Proc) -> None:
        """A reaped process leaves m.processes (its pid may be reused)."""
        p = self._processes.get(proc.pid)
        if p is not None and p._proc is proc:
            del self._processes[proc.pid]

    def shm_open(self, name: str, size: int | str) -> None:
        """Create (or grow) the named shared-memory segment `name`."""
        shm_open(self.kernel, name, parse_size(size, "size"))

    def shm_unlink(self, name: str) -> None:
        """Remove a named segment; its memory goes when its last mapping does."""
        obj = self.kernel.shm.get(name)
        if obj is None:
            raise SyscallError(errno.ENOENT, f"shm_unlink: no segment {name!r}")
        obj.unlinked = True
        del self.kernel.shm[name]
        if obj.map_count == 0:
            release_object(self.kernel, obj)

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
        """Every process not yet reaped (running, or a zombie its parent has not waited for).

        A process the machine spawned has no parent: it is reaped as it exits. A handle
        kept by the caller still reads a reaped process's counters and exit status.
        """
        return list(self._processes.values())

    def process(self, pid: int) -> Process:
        """The process with this pid (OSError ESRCH if there is none, or it was reaped)."""
        try:
            return self._processes[pid]
        except KeyError:
            raise SyscallError(errno.ESRCH, f"no process {pid}") from None

    def record(self, every: int | None = None, start: int = 0, count: int | None = None) -> Any:
        """Start recording for the page (events, deltas, snapshots every `every` steps).

        start, count: only the events numbered [start, start + count) from now.
        """
        from vmsim.report.view.record import DEFAULT_EVERY, Recording

        if not self.config.record_events:
            raise ConfigError(
                "record", "on a machine without record_events", "Machine(record=True)"
            )
        self.recording = Recording(self, every or DEFAULT_EVERY, start, count)
        return self.recording

    def snapshot(self) -> dict[str, Any]:
        """The whole machine state now as plain JSON-able data (report/view/snapshot.py)."""
        from vmsim.report.view.snapshot import snapshot

        return snapshot(self)

    def save_html(self, path: str | os.PathLike[str], title: str = "vmsim") -> None:
        """Write the interactive page of the recording (one self-contained HTML file)."""
        from vmsim.report.view.page import save_html

        save_html(self, path, title)

    def _repr_html_(self) -> str:
        """Jupyter shows the page of the recording inline (an iframe)."""
        from vmsim.report.view.page import iframe_html

        return iframe_html(self)

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
