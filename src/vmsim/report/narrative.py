"""The narrative view: the event log told as a step-by-step account.

`narrate(events)` turns typed events into indented lines: each access (or system
call, or C library call) starts a line, and what the hardware and kernel did for it
follows, indented. This is the "what exactly happens when you `new` an object" view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from vmsim import events as ev
from vmsim.errors import format_addr

ACCESS_VERB = {"read": "reads", "write": "writes", "exec": "fetches"}


def _walk(e: ev.Walk) -> str:
    steps = ", ".join(f"L{lvl} PTE@{pa:#x}={pte:#x}" for lvl, pa, pte in e.steps)
    return f"page walk: {steps} -> {e.result}"


_TEXT: dict[type, Callable[..., str]] = {
    ev.Access: lambda e: (
        f"pid {e.pid} {ACCESS_VERB[e.access]} {e.size} bytes at {format_addr(e.va)}"
    ),
    ev.TlbHit: lambda e: f"TLB hit: page {e.va >> 12:#x} -> frame {e.ppn}",
    ev.TlbMiss: lambda e: f"TLB miss for {format_addr(e.va)}",
    ev.Walk: _walk,
    ev.TlbFill: lambda e: f"TLB filled: {e.va >> 12:#x} -> frame {e.ppn}",
    ev.TlbFlush: lambda e: (
        f"TLB flush ({e.scope})" + (f" of {format_addr(e.va)}" if e.scope == "page" else "")
    ),
    ev.PageFault: lambda e: (
        f"page fault: {e.access} at {format_addr(e.va)} ({e.reason}), trap to the kernel"
    ),
    ev.FrameAlloc: lambda e: f"kalloc: frame {e.ppn} for {e.purpose}",
    ev.FrameFree: lambda e: f"kfree: frame {e.ppn} (zeroed)",
    ev.MapPage: lambda e: f"map {format_addr(e.va)} -> frame {e.ppn} [{e.prot}] ({e.how})",
    ev.UnmapPage: lambda e: f"unmap {format_addr(e.va)} (frame {e.ppn})",
    ev.Evict: lambda e: f"reclaim: {e.policy} evicts frame {e.ppn}",
    ev.SwapOut: lambda e: f"swap out: frame {e.ppn} -> slot {e.slot}",
    ev.SwapIn: lambda e: f"swap in: slot {e.slot} -> frame {e.ppn} for {format_addr(e.va)}",
    ev.CowCopy: lambda e: (
        f"copy-on-write: frame {e.old_ppn} copied to frame {e.new_ppn} at {format_addr(e.va)}"
    ),
    ev.Segv: lambda e: f"SIGSEGV ({e.code}) to pid {e.pid}: {e.access} at {format_addr(e.va)}",
    ev.OomKill: lambda e: f"OOM killer: kills pid {e.pid} (badness {e.badness})",
    ev.ContextSwitch: lambda e: (
        f"context switch: pid {e.prev_pid} -> pid {e.next_pid}"
        + (" (TLB flushed)" if e.flushed else "")
    ),
    ev.Syscall: lambda e: f"pid {e.pid} {e.name}({e.args}) = {_num(e.result)}",
    ev.ProcessExit: lambda e: f"pid {e.pid} exits, status {e.status} ({e.reason})",
    ev.LibcCall: lambda e: f"pid {e.pid} {e.func}({e.args}) = {_num(e.result)}",
    ev.Construct: lambda e: f"constructor runs on the {e.size}-byte object at {format_addr(e.ptr)}",
    ev.StackFrame: lambda e: (
        f"pid {e.pid} stack frame {e.op} ({e.size} bytes), sp = {format_addr(e.sp)}"
    ),
}

TOP_LEVEL = (ev.Access, ev.Syscall, ev.LibcCall, ev.ContextSwitch, ev.ProcessExit, ev.StackFrame)
"""Events that start a new line of the account; the rest are indented under them."""


def _num(value: int) -> str:
    return f"{value:#x}" if value > 4096 else str(value)


def describe(event: ev.Event) -> str:
    """One line of plain English for an event."""
    fn = _TEXT.get(type(event))
    return fn(event) if fn is not None else str(event)


def narrate(events: Iterable[ev.Event], indent: str = "    ") -> list[str]:
    """The account: top-level events flush left, their consequences indented."""
    return [("" if isinstance(e, TOP_LEVEL) else indent) + describe(e) for e in events]


def first_accesses(events: list[ev.Event], count: int) -> list[ev.Event]:
    """The events of the first `count` top-level steps (with what they caused)."""
    out: list[ev.Event] = []
    seen = 0
    for e in events:
        if isinstance(e, TOP_LEVEL):
            seen += 1
            if seen > count:
                break
        out.append(e)
    return out
