"""ltrace for `vmsim run`: a real program's C library calls, as events, while recording.

The memory functions of LIBC_CALLS (malloc, free, calloc, realloc, operator new and
delete, ...) found in an ELF file's symbol tables get a breakpoint on the task's CPU:
in the program itself at exec (a static program holds its C library) and in each
shared object the dynamic linker maps at file offset 0 (its load base). On entry the
arguments come from the registers (System V ABI: rdi, rsi) and a `LibcCall` is logged
before the system calls and faults the call causes; a breakpoint at the return address
logs the `LibcReturn` with rax. A call that never returns normally (an exception thrown
through it) is dropped when the stack unwinds past it.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from vmsim.events import LibcCall, LibcReturn
from vmsim.kernel.uaccess import copy_in

if TYPE_CHECKING:
    from vmsim.kernel.syscall import Runtime, UserTask

LIBC_CALLS: dict[str, tuple[str, str]] = {
    "malloc": ("malloc", "n"),
    "calloc": ("calloc", "nn"),
    "realloc": ("realloc", "pn"),
    "reallocarray": ("reallocarray", "pnn"),
    "free": ("free", "p"),
    "aligned_alloc": ("aligned_alloc", "nn"),
    "memalign": ("memalign", "nn"),
    "valloc": ("valloc", "n"),
    "_Znwm": ("operator new", "n"),
    "_Znam": ("operator new[]", "n"),
    "_ZnwmRKSt9nothrow_t": ("operator new(nothrow)", "n"),
    "_ZnamRKSt9nothrow_t": ("operator new[](nothrow)", "n"),
    "_ZdlPv": ("operator delete", "p"),
    "_ZdlPvm": ("operator delete", "p"),
    "_ZdaPv": ("operator delete[]", "p"),
    "_ZdaPvm": ("operator delete[]", "p"),
}
"""Symbol -> (the name the story uses, its arguments: n a size, p a pointer)."""

ARG_REGS = ("rdi", "rsi", "rdx")


@functools.lru_cache(maxsize=64)
def elf_functions(path: str) -> tuple[bool, tuple[tuple[int, str], ...]]:
    """(whether path is a shared object or PIE, the (value, symbol) of its LIBC_CALLS).

    Each address once (glibc's aliases share one); a file that is not ELF has none.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    try:
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                return False, ()
            f.seek(0)
            elf = ELFFile(f)
            dyn = elf.header["e_type"] == "ET_DYN"
            found: dict[int, str] = {}
            for name in (".symtab", ".dynsym"):
                table = elf.get_section_by_name(name)
                if not isinstance(table, SymbolTableSection):
                    continue
                for sym in table.iter_symbols():
                    value = sym["st_value"]
                    defined = sym["st_shndx"] != "SHN_UNDEF" and value
                    if sym.name in LIBC_CALLS and defined and sym["st_info"]["type"] == "STT_FUNC":
                        found.setdefault(value, sym.name)
    except (OSError, ELFError, ValueError):
        return False, ()
    return dyn, tuple(sorted(found.items()))


def watch_image(rt: Runtime, t: UserTask, path: str, base: int, exe: bool) -> None:
    """Breakpoints on the C library calls of path loaded at base (only while recording).

    exe: path is the program (its symbols' values are absolute unless it is a PIE);
    else a shared object mapped at file offset 0 at base.
    """
    if rt.k.events is None:
        return
    dyn, funcs = elf_functions(path)
    if not exe and not dyn:
        return
    bias = base if dyn else 0
    for value, symbol in funcs:
        t.watches[bias + value] = symbol
        _arm(rt, t, bias + value, symbol)


def rearm(rt: Runtime, t: UserTask) -> None:
    """Put t's breakpoints on its (new) CPU: a forked child has its parent's."""
    for va, symbol in t.watches.items():
        _arm(rt, t, va, symbol)


def _arm(rt: Runtime, t: UserTask, va: int, symbol: str) -> None:
    """One breakpoint: the entry of symbol at va."""
    enter: Callable[[], None] = functools.partial(_enter, rt, t, symbol)
    t.cpu.watch(va, enter)


def _enter(rt: Runtime, t: UserTask, symbol: str) -> None:
    """A watched function starts: log its call, watch for its return."""
    cpu = t.cpu
    name, kinds = LIBC_CALLS[symbol]
    values = [cpu.reg(r) for r in ARG_REGS[: len(kinds)]]
    args = ", ".join(f"{v:#x}" if k == "p" else str(v) for k, v in zip(kinds, values, strict=True))
    rsp = cpu.reg("rsp")
    (ret,) = struct.unpack("<Q", copy_in(rt.k, t.proc.mm, rsp, 8))
    t.calls.append((ret, rsp + 8, name))
    rt.k.emit(LibcCall(t.proc.pid, name, args, 0))
    cpu.watch(ret, functools.partial(_leave, rt, t))


def _leave(rt: Runtime, t: UserTask) -> None:
    """A return address was reached: log the return of the call it belongs to, if any."""
    cpu = t.cpu
    rip, rsp = cpu.reg("rip"), cpu.reg("rsp")
    while t.calls and t.calls[-1][1] < rsp:
        t.calls.pop()  # unwound past by an exception: it never returned
    if t.calls and t.calls[-1][:2] == (rip, rsp):
        _, _, name = t.calls.pop()
        rt.k.emit(LibcReturn(t.proc.pid, name, cpu.reg("rax")))
