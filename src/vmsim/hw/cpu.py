"""CPU: an x86-64 core that runs real programs (Unicorn in virtual-TLB mode).

The machine's physical memory is mapped once as the guest's physical memory (one host
buffer, `PhysicalMemory.map_host_buffer`). Unicorn's TLB-fill hook is the MMU: each
miss of its software TLB is a hardware walk of vmsim's page tables (`MMU.walk_fill`,
which sets A, and D on a write). A clean page is filled without write permission and
a page without execute permission for a fetch, so the first write comes back (the
dirty bit, copy-on-write) and every fetched frame is seen. A walk that finds no valid,
permitted PTE is a trap delivered to the handler the kernel installed (as an IDT entry
would): it returns whether the access may be retried. hw/ never imports kernel/.

Unicorn exposes only a full TLB flush, so a flush of a page this CPU may cache flushes
all of it; a new mapping (a not-present PTE made present) needs none, as Unicorn's TLB
holds no not-present entries, nor does a change to the page being filled (the fill
replaces its entry). Translated code of a frame whose bytes changed since it was last
fetched (the kernel reused or refilled it, or wrote it in a system call) is dropped
before it can run.

QEMU sizes its soft TLB (256 entries at first) only when it is flushed: it doubles when
more than 70% of its entries were in use, and shrinks after a 100 ms window under 30%.
The CPU follows that rule from its own fills (`_resize_on_flush`, entries in use counted
as QEMU counts them). A program whose pages do not fit would miss on every access without
ever growing it, so the CPU flushes it to grow it (up to twice the machine's frames) once
it is over 70% used and either thrashes (twice as many fills as it holds) or was filled
mostly by first touches (then the pages a flush loses are as new as those it will hold).

The walk of an x86_64 table without an event log is done here on the host buffer, with
the MMU's counts and effects (walks, A/D bits, the machine TLB's fill, the access hook);
anything else is `MMU.walk_fill`'s.

By default the machine's TLB model sees only these fills. With exact_tlb every access
goes through it (`MMU.translate`: its hits, misses and walks, and the A/D bits it sets):
each instruction is a fetch (a code hook) and each load and store a read or write (memory
hooks, which Unicorn calls with the physical address: the CPU keeps each frame mapped at
one virtual page at a time in its soft TLB, so the frame tells the page). Unicorn's own
fills then walk without counting or setting anything, and let a clean page be written
(the model sets D). Every access is a Python call: some hundred times slower.

Unicorn's CPUID reports no AVX: glibc takes its SSE paths; an AVX instruction is an
invalid instruction (a `Stop` of kind "invalid" with its address).
"""

from __future__ import annotations

import ctypes
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unicorn import (
    UC_ARCH_X86,
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_ERR_INSN_INVALID,
    UC_HOOK_CODE,
    UC_HOOK_INSN,
    UC_HOOK_INTR,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_WRITE,
    UC_HOOK_TLB_FILL,
    UC_MEM_FETCH,
    UC_MEM_WRITE,
    UC_MODE_64,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import x86_const as x86

from vmsim.errors import VmsimError
from vmsim.hw.mmu import EXEC, MMU, READ, WRITE_ACCESS, PageFault
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.pte import DIRTY, NX, WRITE, X86_64

TrapHandler = Callable[[int, int, str], bool]
"""trap(va, access, reason) -> True if the fault was resolved and the access may be retried."""

MAX_FAULT_RETRIES = 8
_ACCESS = {UC_MEM_FETCH: EXEC, UC_MEM_WRITE: WRITE_ACCESS}
QEMU_TLB_ENTRIES = 256
"""QEMU's first soft-TLB size (CPU_TLB_DYN_DEFAULT_BITS); it doubles on a flush >70% full."""
QEMU_TLB_GROW_RATE = 70
"""The per cent of its entries in use above which a flush of QEMU's TLB doubles it."""
QEMU_TLB_SHRINK_RATE = 30
"""Below this per cent in use for a whole window, a flush shrinks it to what was used."""
QEMU_TLB_WINDOW_NS = 100_000_000
"""QEMU's resize window (100 ms of the host's clock)."""
QEMU_TLB_MIN = 1 << 6
"""The smallest QEMU shrinks it to (CPU_TLB_DYN_MIN_BITS)."""
QEMU_TLB_MAX = 1 << 22
_USER, _WRITE, _ACCESSED = X86_64.user, X86_64.write, X86_64.accessed
_AD = X86_64.accessed | X86_64.dirty
_ADDR = X86_64.ppn_mask << X86_64.ppn_shift
_LOW_FLAGS = (X86_64.write | X86_64.user | _AD | X86_64.present | X86_64.cow) & 0xFFF
"""x86_64's PTE bits, for _fast_walk (the one format it walks): the low 12 flag bits."""
MAX_PATHS = 4096
"""Walks to leaf tables the CPU remembers (8 GiB of address space); then it starts over."""


class _TlbEntry(ctypes.Structure):
    """Unicorn's uc_tlb_entry: what a fill hook answers."""

    _fields_ = (("paddr", ctypes.c_uint64), ("perms", ctypes.c_uint32))


_TLB_FILL_CB = ctypes.CFUNCTYPE(
    ctypes.c_bool,
    ctypes.c_void_p,
    ctypes.c_uint64,
    ctypes.c_int,
    ctypes.POINTER(_TlbEntry),
    ctypes.c_void_p,
)

REGS = {
    name: getattr(x86, f"UC_X86_REG_{name.upper()}")
    for name in [
        "rax",
        "rbx",
        "rcx",
        "rdx",
        "rsi",
        "rdi",
        "rbp",
        "rsp",
        "r8",
        "r9",
        "r10",
        "r11",
        "r12",
        "r13",
        "r14",
        "r15",
        "rip",
        "rflags",
        "fs_base",
    ]
}
SYSCALL_ARGS = (REGS["rdi"], REGS["rsi"], REGS["rdx"], REGS["r10"], REGS["r8"], REGS["r9"])


@dataclass(frozen=True)
class Stop:
    """Why the CPU stopped running the program.

    kind: "syscall" (rip is past the instruction), "fault" (the trap handler refused the
    access at va), "quantum" (the instructions asked for ran), "invalid" (an
    instruction Unicorn cannot run, at rip), "interrupt" (a trap such as int3, number
    in `number`), "error" (any other emulator error).
    """

    kind: str
    rip: int
    va: int = 0
    access: int = READ
    number: int = 0
    message: str = ""


class CPU:
    """One x86-64 core context (registers, its own soft TLB and code cache) over `mem`."""

    def __init__(
        self, mem: PhysicalMemory, mmu: MMU, trap: TrapHandler, exact_tlb: bool = False
    ) -> None:
        if mem.page_size != 4096:
            raise ValueError("the x86-64 CPU needs 4 KiB pages")
        if sys.byteorder != "little":  # the walks read guest words in the host's order
            raise VmsimError("real programs need a little-endian host (this one is big-endian)")
        if exact_tlb and mmu.fmt.name != "x86_64":
            raise ValueError("exact_tlb needs x86_64 page tables")
        buf = mem.map_host_buffer()
        self.mem = mem
        self.mmu = mmu
        self._walk_stats, self._tlb_fill = mmu.stats, mmu.tlb.fill
        """The MMU's counters and its TLB's fill (neither is ever replaced), for _fast_walk."""
        self.trap = trap
        self._buf = buf
        self._view = memoryview(buf)
        self._words = mem.host_words
        """Physical memory as 64-bit words: the PTE at physical address pa is _words[pa >> 3]."""
        uc: Any = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        self.uc = uc
        ptr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        self.uc.mem_map_ptr(0, mem.size, UC_PROT_ALL, ptr)
        self._add_fill_hook()
        self.uc.hook_add(UC_HOOK_INSN, self._syscall, None, 1, 0, x86.UC_X86_INS_SYSCALL)
        self.uc.hook_add(UC_HOOK_INTR, self._interrupt)
        self.fills = 0
        """TLB fills this CPU asked for (each one a walk)."""
        self.flushes = 0
        """Full flushes of Unicorn's TLB (the kernel's, and those that grow it)."""
        self._code_crc: dict[int, int] = {}
        self._filled: set[int] = set()
        """Pages filled since the last flush (a PTE change to any other needs no flush)."""
        self._slots: dict[int, int] = {}
        """The page in each slot of QEMU's direct-mapped TLB those fills took."""
        self._used = 0
        """QEMU's n_used_entries: a fill into an empty slot or over the same page adds one
        (tlb_set_page_with_attrs), one that evicts another page to the victim TLB none (a
        victim-TLB hit swaps two pages back unseen: the slot's page may then be the other)."""
        self._filling = -1
        """The vpn being filled (a PTE change to it needs no flush if the fill completes)."""
        self._skipped_flush = False
        self._since_flush = 0
        self._faulted_since_flush = 0
        """Fills since the last flush, and how many of them faulted (first touches)."""
        self._tlb_size = QEMU_TLB_ENTRIES
        """QEMU's TLB entries as its resize rule makes them (`flush_tlb`)."""
        self._tlb_cap = min(QEMU_TLB_MAX, 1 << (2 * mem.nframes - 1).bit_length())
        self._grow_check = self._tlb_size * QEMU_TLB_GROW_RATE // 100
        """Fills since the flush at which `_fill` next asks whether to flush to grow."""
        self._window_begin, self._window_max = time.monotonic_ns(), 0
        """QEMU's resize window: when it began, the most entries in use at a flush in it."""
        self._stop: Stop | None = None
        self._flush_code = False
        self._written_code: set[int] = set()
        self._fast = mmu.fmt.name == "x86_64"
        lay = mmu.fmt.layout
        self._addr = lay.ppn_mask << lay.ppn_shift
        self._wu = lay.write | lay.user
        self._ad = lay.accessed | lay.dirty
        self._flag_bits = self._wu | self._ad | lay.present | lay.cow | lay.nx
        self._user, self._write, self._accessed = lay.user, lay.write, lay.accessed
        self._low_bits = self._flag_bits & 0xFFF
        """The flags in the low 12 bits of an x86_64 PTE: all but NX (bit 63)."""
        self._flags_of: dict[int, int] = {}
        """Generic flags by the PTE bits they come from (the low flag bits | NX << 12)."""
        self._paths: dict[int, tuple[int, ...]] = {}
        """_fast_walk's remembered walks to leaf tables, by root frame and 2 MiB region."""
        self._watched: dict[int, Callable[[], None]] = {}
        """Breakpoints: what to call when the instruction at an address is about to run."""
        self.exact_tlb = exact_tlb
        self._vpn_of: dict[int, int] = {}
        """exact_tlb: the virtual page each frame in Unicorn's TLB is mapped at."""
        self.model_faults = 0
        """exact_tlb: accesses the TLB model refused after Unicorn's fill allowed them."""
        if exact_tlb:
            self.uc.hook_add(UC_HOOK_CODE, self._exact_fetch)
            self.uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._exact_data)

    def _add_fill_hook(self) -> None:
        """The TLB-fill hook, added through Unicorn's C API: `_fill` is the one Python frame
        of a fill (the binding's hook_add wraps a callback in two more Python calls)."""
        try:
            from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib
        except ImportError:  # another binding layout: its own, slower, wrapper
            fill = self._fill
            self.uc.hook_add(
                UC_HOOK_TLB_FILL, lambda _u, va, a, e, _d: fill(0, va, a, ctypes.pointer(e), 0)
            )
            return
        uc = self.uc
        self._fill_cb = _TLB_FILL_CB(self._fill)
        handle = uc_hook_h()
        status = uclib.uc_hook_add(
            uc._uch, ctypes.byref(handle), UC_HOOK_TLB_FILL, self._fill_cb, None,
            ctypes.c_uint64(1), ctypes.c_uint64(0),
        )  # fmt: skip
        if status:
            raise UcError(status)

    # --- registers --------------------------------------------------------------------

    def reg(self, name: str) -> int:
        """The value of a register (rax .. r15, rip, rflags, fs_base)."""
        return int(self.uc.reg_read(REGS[name]))

    def set_reg(self, name: str, value: int) -> None:
        """Set a register."""
        self.uc.reg_write(REGS[name], value & 0xFFFF_FFFF_FFFF_FFFF)

    def syscall_args(self) -> tuple[int, ...]:
        """The six syscall arguments (rdi, rsi, rdx, r10, r8, r9)."""
        return tuple(int(self.uc.reg_read(r)) for r in SYSCALL_ARGS)

    def watch(self, va: int, on_reach: Callable[[], None]) -> None:
        """A breakpoint: on_reach() each time the instruction at va is about to run.

        One per address (a second watch of va replaces the first's callback).
        """
        if va not in self._watched:
            self.uc.hook_add(UC_HOOK_CODE, self._reach, None, va, va)
        self._watched[va] = on_reach

    def _reach(self, _uc: Uc, address: int, _size: int, _data: object) -> None:
        """Unicorn's code hook of a breakpoint."""
        self._watched[address]()

    def copy_registers_from(self, other: CPU) -> None:
        """Take other's whole register state (fork: the child continues where the parent is)."""
        self.uc.context_restore(other.uc.context_save())

    # --- running ----------------------------------------------------------------------

    def flush_tlb(self, vpn: int | None = None) -> None:
        """Drop cached translations: all of them, or (vpn given) all if vpn may be cached.

        Unicorn flushes only the whole TLB; a vpn this CPU never filled since the last
        flush (a new mapping replacing a not-present PTE), or the one being filled now,
        costs nothing.
        """
        if vpn is not None and vpn not in self._filled:
            return
        if vpn is not None and vpn == self._filling:
            self._skipped_flush = True  # flushed after all if the fill does not complete
            return
        self._resize_on_flush(self._used, time.monotonic_ns())
        self._filled.clear()
        self._slots.clear()
        self._used = 0
        self._vpn_of.clear()
        self._since_flush = self._faulted_since_flush = 0
        self._grow_check = self._tlb_size * QEMU_TLB_GROW_RATE // 100
        self.flushes += 1
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def kernel_wrote(self, ppn: int) -> None:
        """The kernel stored into frame ppn: translated code of it must not run again."""
        if ppn in self._code_crc:
            self._written_code.add(ppn)

    def run(self, count: int = 0) -> Stop:
        """Run from rip until a syscall, a refused fault or an error; say why it stopped.

        count > 0 stops after that many instructions (a "quantum" Stop): Unicorn counts
        them with a hook on every instruction, several times slower, so the kernel asks
        only when another process is waiting for the CPU.
        """
        if self._written_code:
            self._drop_written_code()
        while True:
            self._stop = None
            rip = self.reg("rip")
            try:
                self.uc.emu_start(rip, 0, 0, count)  # until=0: a real `until` fills spuriously
            except UcError as exc:
                hooked = self.uc._hook_exception
                if hooked is not None:  # a hook raised (a kernel bug, Ctrl-C): not the program's
                    raise hooked from None
                if self._flush_code:
                    self._flush_code = False
                    self.uc.ctl_flush_tb()
                    continue
                if self._stop is not None:
                    return self._stop
                rip = self.reg("rip")
                if exc.errno == UC_ERR_INSN_INVALID:
                    return Stop("invalid", rip, message=str(exc))
                return Stop("error", rip, message=str(exc))
            if self._stop is not None:
                return self._stop
            if count:
                return Stop("quantum", self.reg("rip"))
            return Stop("error", self.reg("rip"), message="the program stopped by itself")

    def _syscall(self, uc: Uc, _data: object) -> None:
        """The syscall instruction: stop; the kernel handles it outside the emulator."""
        self._stop = Stop("syscall", self.reg("rip") + 2)
        uc.emu_stop()

    def _interrupt(self, uc: Uc, number: int, _data: object) -> None:
        """A CPU exception or int n: stop and report it."""
        self._stop = Stop("interrupt", self.reg("rip"), number=number)
        uc.emu_stop()

    def _fill(self, _uch: int, va: int, uc_access: int, entry: Any, _key: int) -> bool:
        """A miss of Unicorn's TLB (a C callback: entry points at the entry to fill): the
        hardware walk, trapping to the kernel on a fault. An exception is kept for
        emu_start to raise, and stops the run (the binding's contract for hooks)."""
        try:
            access = _ACCESS.get(uc_access, READ)
            self.fills += 1
            n = self._since_flush = self._since_flush + 1
            if n > self._grow_check and self._grows(n):
                self.flush_tlb()  # QEMU's TLB is over 70 % used: the flush doubles it
            vpn = va >> 12
            walked = self._fast_walk(va, access)
            if not isinstance(walked, tuple):  # a fault (or no fast walk): the kernel's turn
                self._faulted_since_flush += 1
                self._filling, self._skipped_flush = vpn, False
                try:
                    walked = self._walk(va, access, walked)
                finally:
                    self._filling = -1
                if walked is None:
                    if self._skipped_flush:
                        self.flush_tlb()
                    return False
            ppn, flags = walked
            perms = UC_PROT_READ
            if access == EXEC and not flags & NX:
                if self._code_changed(ppn):
                    self._flush_code = True
                    if self._skipped_flush:
                        self.flush_tlb()
                    return False
                perms |= UC_PROT_EXEC
            if flags & WRITE and (flags & DIRTY or self.exact_tlb):
                perms |= UC_PROT_WRITE
            if self.exact_tlb and self._vpn_of.setdefault(ppn, vpn) != vpn:
                self.flush_tlb()  # the frame is cached at another page: one page per frame
                self._vpn_of[ppn] = vpn
            self._filled.add(vpn)
            slot = vpn & (self._tlb_size - 1)
            if self._slots.setdefault(slot, vpn) == vpn:  # empty, or the same page again
                self._used += 1
            else:
                self._slots[slot] = vpn
            e = entry[0]
            e.paddr = ppn << 12
            e.perms = perms
            return True
        except BaseException as exc:
            uc = self.uc
            if uc._hook_exception is None:
                uc._hook_exception = exc
            uc.emu_stop()
            return False

    def _resize_on_flush(self, used: int, now: int) -> None:
        """QEMU's TLB resize at a flush with `used` entries in use (tlb_mmu_resize_locked):
        double if over 70 % was used in the window; once a window ends under 30 %, shrink
        to the power of two that holds its most used at 70 % or less."""
        self._window_max = max(self._window_max, used)
        size = self._tlb_size
        rate = self._window_max * 100 // size
        expired = now > self._window_begin + QEMU_TLB_WINDOW_NS
        new = size
        if rate > QEMU_TLB_GROW_RATE:
            new = min(2 * size, QEMU_TLB_MAX)
        elif rate < QEMU_TLB_SHRINK_RATE and expired:
            most = self._window_max
            ceil = 1 if most <= 1 else 1 << (most - 1).bit_length()
            if most * 100 // ceil > QEMU_TLB_GROW_RATE:
                ceil *= 2
            new = max(ceil, QEMU_TLB_MIN)
        if new == size:
            if expired:
                self._window_begin, self._window_max = now, used
            return
        self._window_begin, self._window_max = now, 0
        self._tlb_size = new

    def _grows(self, n: int) -> bool:
        """Whether to flush QEMU's TLB after n fills so that it doubles (QEMU resizes only
        on a flush, when over 70 % of it is used): when it thrashes (n is twice its size),
        or when most of the fills were first touches (the pages it would lose are as new
        as the ones a bigger TLB will hold; a program that fills its memory grows it early).
        """
        size, used = self._tlb_size, self._used
        enough = -(-(QEMU_TLB_GROW_RATE + 1) * size // 100)  # the fewest that make rate > 70
        if used < enough:
            self._grow_check = n + enough - used  # a fill adds at most one
            return False
        if size < self._tlb_cap and (n > 2 * size or 2 * self._faulted_since_flush > n):
            return True
        self._grow_check = n + (size >> 5)
        return False

    def _walk(
        self, va: int, access: int, got: tuple[int, int] | str | None
    ) -> tuple[int, int] | None:
        """(ppn, flags) of va once the kernel resolved its faults; None: the CPU stops.

        got is the first walk's result: a fault's reason, or None (the MMU walks instead).
        """
        tries = MAX_FAULT_RETRIES
        while True:
            if got is None:
                try:
                    return self.mmu.walk_fill(va, access)
                except PageFault as fault:
                    got = fault.reason
            elif not isinstance(got, str):
                return got
            if not self.trap(va, access, got):
                self._stop = Stop("fault", self.reg("rip"), va, access)
                return None
            tries -= 1
            if not tries:
                self._stop = Stop("error", self.reg("rip"), va, access, message="fault loop")
                return None
            got = self._fast_walk(va, access)  # the access again, after the kernel's turn

    def _fast_walk(self, va: int, access: int) -> tuple[int, int] | str | None:
        """MMU.walk_fill for x86_64 without an event log; a fault is its reason; else None.

        The walk down to va's leaf table is remembered (`_leaf_path`): the result and the
        counts are the full walk's.
        """
        mmu = self.mmu
        if self.exact_tlb:
            return self._silent_walk(va, access)
        if not self._fast or mmu.events is not None:
            return None
        words, mem = self._words, self.mem
        self._walk_stats.walks += 1
        path = self._paths.get((mmu.root_ppn << 27) | (va >> 21))
        if (
            path is None
            or words[path[0]] != path[1]
            or words[path[2]] != path[3]
            or words[path[4]] != path[5]
        ):  # not remembered, or an upper entry changed since (_leaf_path's test, in place)
            down = self._walk_down(va)
            if isinstance(down, int):  # not present above the leaf: entries read
                mem.reads += down
                return "not-present"
            path = down
        mem.reads += 4
        at = path[6] | ((va >> 12) & 0x1FF)
        leaf = words[at]
        if not leaf & 1:
            return "not-present"
        eff = leaf & path[7]  # the leaf's low flags, write and user only where every level has them
        write = access == WRITE_ACCESS
        if not eff & _USER:
            return "user"
        if write and not eff & _WRITE:
            return "write-protect"
        nx = path[8] | (leaf >> 63)
        if access == EXEC and nx:
            return "nx"
        new = leaf | (_AD if write else _ACCESSED)
        if new != leaf:
            words[at] = new
            mem.writes += 1
        key = (eff | (new & _AD)) & _LOW_FLAGS | nx << 12
        flags = self._flags_of.get(key)
        if flags is None:
            flags = self._flags(key)
        ppn = (leaf & _ADDR) >> 12
        self._tlb_fill(va >> 12, mmu.asid, ppn, flags)
        if mmu.on_access is not None:
            mmu.on_access(ppn, write)
        return ppn, flags

    def _leaf_path(self, va: int) -> tuple[int, ...] | int:
        """The walk from the root to va's leaf table: (index and value of each of the three
        upper entries, the leaf table's first word index, the mask of the leaf's low bits
        every level allows, 1 if a level forbids execution); or, if an upper entry is not
        present, how many entries were read. A walk is remembered and taken again only if
        one of its three entries changed."""
        words = self._words
        path = self._paths.get((self.mmu.root_ppn << 27) | (va >> 21))
        if (
            path is not None
            and words[path[0]] == path[1]
            and words[path[2]] == path[3]
            and words[path[4]] == path[5]
        ):
            return path
        return self._walk_down(va)

    def _walk_down(self, va: int) -> tuple[int, ...] | int:
        """_leaf_path's walk when none is remembered (or an entry of it changed): the three
        upper entries read from the root, the path remembered."""
        words = self._words
        addr, root = self._addr, self.mmu.root_ppn
        i1 = (root << 9) | ((va >> 39) & 0x1FF)
        e1 = words[i1]
        if not e1 & 1:
            return 1
        i2 = ((e1 & addr) >> 3) | ((va >> 30) & 0x1FF)
        e2 = words[i2]
        if not e2 & 1:
            return 2
        i3 = ((e2 & addr) >> 3) | ((va >> 21) & 0x1FF)
        e3 = words[i3]
        if not e3 & 1:
            return 3
        allow = (e1 & e2 & e3 & self._wu) | (0xFFF & ~self._wu)
        path = (i1, e1, i2, e2, i3, e3, (e3 & addr) >> 3, allow, (e1 | e2 | e3) >> 63)
        if len(self._paths) >= MAX_PATHS:
            self._paths.clear()
        self._paths[(root << 27) | (va >> 21)] = path
        return path

    def _flags(self, key: int) -> int:
        """Generic flags of a walk's key (the PTE's low flag bits | NX << 12), remembered."""
        lay = self.mmu.fmt.layout
        flags = self._flags_of[key] = lay.flags(key & self._low_bits | (lay.nx if key >> 12 else 0))
        return flags

    def _silent_walk(self, va: int, access: int) -> tuple[int, int] | str:
        """exact_tlb: Unicorn's fill walks without counts or A/D (the model does those)."""
        path = self._leaf_path(va)
        if isinstance(path, int):
            return "not-present"
        leaf = self._words[path[6] | ((va >> 12) & 0x1FF)]
        if not leaf & 1:
            return "not-present"
        eff = leaf & path[7]
        if not eff & self._user:
            return "user"
        if access == WRITE_ACCESS and not eff & self._write:
            return "write-protect"
        nx = path[8] | (leaf >> 63)
        if access == EXEC and nx:
            return "nx"
        key = eff & self._low_bits | nx << 12
        flags = self._flags_of.get(key)
        if flags is None:
            flags = self._flags(key)
        return (leaf & self._addr) >> 12, flags

    def _exact_fetch(self, uc: Uc, address: int, size: int, _data: object) -> None:
        """exact_tlb: an instruction is fetched from address (an instruction that crosses
        into the next page looks that page up too, as the hardware does)."""
        self._model(address, EXEC)
        if (address & 0xFFF) + size > 0x1000:
            self._model((address | 0xFFF) + 1, EXEC)

    def _exact_data(
        self, uc: Uc, uc_access: int, paddr: int, size: int, value: int, _data: object
    ) -> None:
        """exact_tlb: a load or store at physical address paddr (its page from the fill);
        one that crosses into the next page is two lookups, one per page, as on x86."""
        vpn = self._vpn_of.get(paddr >> 12)
        if vpn is not None:
            access = _ACCESS.get(uc_access, READ)
            self._model((vpn << 12) | (paddr & 0xFFF), access)
            if (paddr & 0xFFF) + size > 0x1000:
                self._model((vpn + 1) << 12, access)

    def _model(self, va: int, access: int) -> None:
        """One access through the machine's TLB model."""
        try:
            self.mmu.translate(va, access)
        except PageFault:
            self.model_faults += 1

    def _drop_written_code(self) -> None:
        """Drop translated code of frames the kernel stored into (their bytes are new)."""
        for ppn in self._written_code:
            self._code_crc[ppn] = zlib.crc32(self._view[ppn << 12 : (ppn + 1) << 12])
        self._written_code.clear()
        self.uc.ctl_flush_tb()

    def _code_changed(self, ppn: int) -> bool:
        """Whether frame ppn's bytes changed since it was last fetched (stale code cached)."""
        crc = zlib.crc32(self._view[ppn << 12 : (ppn + 1) << 12])
        old = self._code_crc.get(ppn)
        self._code_crc[ppn] = crc
        return old is not None and old != crc

    def close(self) -> None:
        """Release the emulator (the words belong to PhysicalMemory)."""
        self._view.release()
