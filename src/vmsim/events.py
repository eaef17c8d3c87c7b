"""Typed events: what happened inside the machine, in order (Machine.events).

Each event is a small frozen dataclass; `str(event)` is a one-line account for the
narrative view. Recording is off unless MachineConfig.record_events is set.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from vmsim.errors import format_addr


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event."""

    def __str__(self) -> str:
        parts = []
        for f in fields(self):
            v = getattr(self, f.name)
            parts.append(
                f"{f.name}={format_addr(v)}"
                if isinstance(v, int) and _is_addr(f.name)
                else f"{f.name}={v}"
            )
        return f"{type(self).__name__}({', '.join(parts)})"


def _is_addr(name: str) -> bool:
    return name in {
        "va",
        "pa",
        "addr",
        "ptr",
        "pte_pa",
        "old_brk",
        "new_brk",
        "start",
        "end",
        "result",
    }


@dataclass(frozen=True, slots=True)
class Access(Event):
    """A process accessed memory: access is "read", "write" or "exec"."""

    pid: int
    va: int
    size: int
    access: str


@dataclass(frozen=True, slots=True)
class TlbHit(Event):
    pid: int
    va: int
    ppn: int


@dataclass(frozen=True, slots=True)
class TlbMiss(Event):
    pid: int
    va: int


@dataclass(frozen=True, slots=True)
class Walk(Event):
    """A hardware page-table walk: the PTE read at each level (level 0 is the root)."""

    pid: int
    va: int
    steps: tuple[tuple[int, int, int], ...]
    """(level, physical address of the PTE, PTE value) per level visited."""
    result: str
    """"ok", "not-present" or "protection"."""


@dataclass(frozen=True, slots=True)
class TlbFill(Event):
    pid: int
    va: int
    ppn: int


@dataclass(frozen=True, slots=True)
class TlbFlush(Event):
    """scope: "all", "asid" or "page"."""

    scope: str
    asid: int
    va: int


@dataclass(frozen=True, slots=True)
class PageFault(Event):
    """The MMU trapped: reason is "not-present", "write-protect", "user" or "nx"."""

    pid: int
    va: int
    access: str
    reason: str


@dataclass(frozen=True, slots=True)
class FrameAlloc(Event):
    """kalloc handed out a frame; purpose is "anon", "pagetable", "file", "cow", "zero", ..."""

    ppn: int
    purpose: str


@dataclass(frozen=True, slots=True)
class FrameFree(Event):
    ppn: int


@dataclass(frozen=True, slots=True)
class MapPage(Event):
    """A PTE was set: va -> ppn with the given permissions ("r", "rw", "rx", "rwx")."""

    pid: int
    va: int
    ppn: int
    prot: str
    how: str
    """Why: "anon", "zero-page", "swap-in", "cow-copy", "cow-reuse", "file", ..."""


@dataclass(frozen=True, slots=True)
class UnmapPage(Event):
    pid: int
    va: int
    ppn: int


@dataclass(frozen=True, slots=True)
class Evict(Event):
    """Reclaim chose a victim frame."""

    ppn: int
    policy: str


@dataclass(frozen=True, slots=True)
class SwapOut(Event):
    ppn: int
    slot: int


@dataclass(frozen=True, slots=True)
class SwapIn(Event):
    pid: int
    va: int
    slot: int
    ppn: int


@dataclass(frozen=True, slots=True)
class CowCopy(Event):
    pid: int
    va: int
    old_ppn: int
    new_ppn: int


@dataclass(frozen=True, slots=True)
class Segv(Event):
    pid: int
    va: int
    access: str
    code: str


@dataclass(frozen=True, slots=True)
class OomKill(Event):
    pid: int
    badness: int


@dataclass(frozen=True, slots=True)
class ContextSwitch(Event):
    prev_pid: int
    next_pid: int
    flushed: bool


@dataclass(frozen=True, slots=True)
class Syscall(Event):
    """A system call: name, arguments as text, and its result."""

    pid: int
    name: str
    args: str
    result: int


@dataclass(frozen=True, slots=True)
class ProcessExit(Event):
    pid: int
    status: int
    reason: str


# --- the C library (libc/): what a program asked of it -----------------------------


@dataclass(frozen=True, slots=True)
class LibcCall(Event):
    """A C library call starts: func is "malloc", "calloc", "free", "operator new", ...

    Logged when the call starts, before the system calls and faults it causes; its
    `LibcReturn` follows them. args is the argument list as C would print it; result
    is the returned pointer (0 for NULL and for void functions), filled in on return.
    """

    pid: int
    func: str
    args: str
    result: int


@dataclass(frozen=True, slots=True)
class LibcReturn(Event):
    """A C library call returns (result: the pointer, 0 for NULL and void), or throws
    (raised: "std::bad_alloc")."""

    pid: int
    func: str
    result: int
    raised: str = ""


@dataclass(frozen=True, slots=True)
class Construct(Event):
    """A C++ constructor ran on the object at ptr (after its allocation succeeded)."""

    pid: int
    ptr: int
    size: int


@dataclass(frozen=True, slots=True)
class StackFrame(Event):
    """A stack frame was pushed ("push") or popped ("pop"); sp is the new stack pointer."""

    pid: int
    op: str
    size: int
    sp: int
