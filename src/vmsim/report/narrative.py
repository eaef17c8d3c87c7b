"""The narrative view: the event log told as a step-by-step account.

`narrate(events)` turns typed events into indented lines, in the order they happened:
each step (an access, a system call, a C library call or its return, a constructor)
starts a line, and what the hardware and kernel did for it follows, indented. Inside
a C library call the lines are indented one level more, so `operator new` -> `malloc`
-> `brk` -> the first store's page fault read as the nesting they are. This is the
"what exactly happens when you `new` an object" view.

`fold_quiet` first folds each run of accesses that needed no kernel work (TLB hits, or
misses whose walk found the page) into one line, so the story shows what matters.
`wrap` breaks a line to a width without ever splitting a word (a page walk breaks
between its levels).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from vmsim import events as ev
from vmsim.config import format_size
from vmsim.errors import format_addr

ACCESS_VERB = {"read": "reads", "write": "writes", "exec": "fetches"}
POINTER_FUNCS = frozenset(
    {"malloc", "calloc", "realloc", "reallocf", "memalign", "aligned_alloc", "valloc",
     "pvalloc", "operator new", "operator new[]"}
)  # fmt: skip
"""C library functions that return a pointer (0 prints as NULL)."""
VOID_FUNCS = frozenset({"free", "operator delete", "operator delete[]"})


@dataclass(frozen=True)
class Quiet:
    """A run of accesses by one process that needed no kernel work, told as one step."""

    pid: int
    reads: int
    writes: int
    fetches: int
    tlb_hits: int
    tlb_misses: int


Item = ev.Event | Quiet
"""What the account is made of: events, and folded runs of quiet accesses."""

TOP_LEVEL = (
    ev.Access, ev.Syscall, ev.LibcCall, ev.LibcReturn, ev.Construct, ev.ContextSwitch,
    ev.ProcessExit, ev.StackFrame, Quiet,
)  # fmt: skip
"""Items that start a new step of the account; the rest are indented under them."""

_QUIET = (ev.TlbHit, ev.TlbMiss, ev.Walk, ev.TlbFill)


def _walk(e: ev.Walk) -> str:
    steps = ", ".join(f"L{lvl} PTE@{pa:#x}={pte:#x}" for lvl, pa, pte in e.steps)
    return f"page walk: {steps} -> {e.result}"


def _result(func: str, value: int) -> str:
    """A C library result as C would show it."""
    if func in POINTER_FUNCS:
        return format_addr(value) if value else "NULL"
    return _num(value)


def _returns(e: ev.LibcReturn) -> str:
    if e.raised:
        return f"{e.func} throws {e.raised}"
    return f"{e.func} returns" + ("" if e.func in VOID_FUNCS else f" {_result(e.func, e.result)}")


def _quiet(q: Quiet) -> str:
    kinds = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in
             ((q.reads, "read"), (q.writes, "write"), (q.fetches, "fetch")) if n]  # fmt: skip
    n = q.reads + q.writes + q.fetches
    tlb = (f"{q.tlb_hits} TLB hits, {q.tlb_misses} TLB misses" if q.tlb_misses
           else "all TLB hits")  # fmt: skip
    return (
        f"pid {q.pid} makes {n} more accesses ({', '.join(kinds)}) to pages already mapped "
        f"({tlb}): no page fault"
    )


def _text(page_shift: int) -> dict[type, Callable[..., str]]:
    """How each kind of item reads, for pages of 2**page_shift bytes."""
    return {
        ev.Access: lambda e: (
            f"pid {e.pid} {ACCESS_VERB[e.access]} {e.size} bytes at {format_addr(e.va)}"
        ),
        ev.TlbHit: lambda e: f"TLB hit: page {e.va >> page_shift:#x} -> frame {e.ppn}",
        ev.TlbMiss: lambda e: f"TLB miss for {format_addr(e.va)}",
        ev.Walk: _walk,
        ev.TlbFill: lambda e: f"TLB filled: {e.va >> page_shift:#x} -> frame {e.ppn}",
        ev.TlbFlush: lambda e: (
            f"TLB flush ({e.scope})" + (f" of {format_addr(e.va)}" if e.scope == "page" else "")
        ),
        ev.PageFault: lambda e: (
            f"page fault: {e.access} at {format_addr(e.va)} ({e.reason}), trap to the kernel"
        ),
        ev.FrameAlloc: lambda e: f"kalloc: frame {e.ppn} (zeroed) for {e.purpose}",
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
        ev.LibcCall: lambda e: f"pid {e.pid} calls {e.func}({e.args})",
        ev.LibcReturn: _returns,
        ev.Construct: lambda e: (
            f"constructor runs on the {e.size}-byte object at {format_addr(e.ptr)}"
        ),
        ev.StackFrame: lambda e: (
            f"pid {e.pid} stack frame {e.op} ({e.size} bytes), sp = {format_addr(e.sp)}"
        ),
        Quiet: _quiet,
    }


def _num(value: int) -> str:
    return format_addr(value) if value > 4096 or value < 0 else str(value)


def describe(event: Item, page_shift: int = 12) -> str:
    """One line of plain English for an event (or a folded run)."""
    fn = _text(page_shift).get(type(event))
    return fn(event) if fn is not None else str(event)


class _Heap:
    """The program break of each process, as the brk and sbrk calls in the log move it."""

    def __init__(self) -> None:
        self.brk: dict[int, int] = {}

    def note(self, e: ev.Syscall) -> str:
        """How far the call moved the break (" (the heap grows by 132KiB)"), or ""."""
        if e.name == "sbrk":
            try:
                old, new = e.result, e.result + int(e.args, 0)
            except ValueError:  # not an increment as Process.sbrk logs it
                return ""
        elif e.name == "brk":
            old, new = self.brk.get(e.pid, e.result), e.result
        else:
            return ""
        self.brk[e.pid] = new
        if new > old:
            return f" (the heap grows by {format_size(new - old)})"
        return f" (the heap shrinks by {format_size(old - new)})" if new < old else ""


def narrate(events: Iterable[Item], indent: str = "    ", page_shift: int = 12) -> list[str]:
    """The account: steps flush left (one level in per C library call), consequences indented."""
    text = _text(page_shift)
    depth: dict[int, int] = {}
    heap = _Heap()
    pid = 0
    lines = []
    for e in events:
        top = isinstance(e, TOP_LEVEL)
        if top:
            pid = getattr(e, "pid", getattr(e, "next_pid", pid))
        if isinstance(e, ev.LibcReturn | ev.ProcessExit):
            depth[pid] = max(depth.get(pid, 0) - 1, 0) if isinstance(e, ev.LibcReturn) else 0
        fn = text.get(type(e))
        line = fn(e) if fn is not None else str(e)
        if isinstance(e, ev.Syscall):
            line += heap.note(e)
        lines.append("  " * depth.get(pid, 0) + ("" if top else indent) + line)
        if isinstance(e, ev.LibcCall):
            depth[pid] = depth.get(pid, 0) + 1
    return lines


def _steps(items: Sequence[Item]) -> list[list[Item]]:
    """Items grouped by step: each top-level item with what followed it (a leading group
    may have no top-level item)."""
    groups: list[list[Item]] = []
    for e in items:
        if isinstance(e, TOP_LEVEL) or not groups:
            groups.append([e])
        else:
            groups[-1].append(e)
    return groups


def _is_quiet(group: list[Item]) -> bool:
    """An access whose consequences were only TLB work that found the page mapped."""
    return isinstance(group[0], ev.Access) and all(
        isinstance(e, _QUIET) and (not isinstance(e, ev.Walk) or e.result == "ok")
        for e in group[1:]
    )


def _fold(run: list[list[Item]]) -> Quiet:
    """One Quiet item for a run of quiet accesses of one process."""
    heads = [g[0] for g in run]
    kinds = [h.access for h in heads if isinstance(h, ev.Access)]
    tail = [e for g in run for e in g[1:]]
    return Quiet(
        pid=getattr(heads[0], "pid", 0),
        reads=kinds.count("read"),
        writes=kinds.count("write"),
        fetches=kinds.count("exec"),
        tlb_hits=sum(isinstance(e, ev.TlbHit) for e in tail),
        tlb_misses=sum(isinstance(e, ev.TlbMiss) for e in tail),
    )


def fold_quiet(events: Sequence[ev.Event], least: int = 3) -> list[Item]:
    """The events with each run of at least `least` quiet accesses of one process folded
    into a Quiet item; every other event is kept, in order."""
    out: list[Item] = []
    run: list[list[Item]] = []

    def flush() -> None:
        out.extend([_fold(run)] if len(run) >= least else [e for g in run for e in g])
        run.clear()

    for group in _steps(events):
        same = not run or getattr(run[0][0], "pid", None) == getattr(group[0], "pid", None)
        if _is_quiet(group) and same:
            run.append(group)
            continue
        flush()
        if _is_quiet(group):
            run.append(group)
        else:
            out.extend(group)
    flush()
    return out


def count_steps(items: Sequence[Item]) -> int:
    """How many steps (top-level items) the account has."""
    return sum(isinstance(e, TOP_LEVEL) for e in items)


def first_steps(items: Sequence[Item], count: int) -> list[Item]:
    """The items of the first `count` steps, with what they caused (none for 0)."""
    out: list[Item] = []
    seen = 0
    for e in items:
        if isinstance(e, TOP_LEVEL):
            seen += 1
        if seen > count or count <= 0:
            break
        out.append(e)
    return out


def wrap(line: str, width: int, hang: int = 3) -> list[str]:
    """`line` in lines of at most `width` columns, never splitting a word.

    Words fill each line greedily; a page walk's "L2" stays with its "PTE@...=..."
    word. Continuation lines are indented `hang` columns more than the line: 3, odd,
    so they never look like the account's own levels (2 per call, 4 per consequence).
    A word wider than the line stays whole (on a line of its own).
    """
    if len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    pad = " " * (lead + hang)
    out = [line[:lead]]
    for unit in _UNIT.findall(line[lead:]):
        pieces = [unit] if len(pad) + len(unit) <= width else unit.split(" ")
        for piece in pieces:
            if out[-1].strip() and len(out[-1]) + 1 + len(piece) > width:
                out.append(pad + piece)
            else:
                out[-1] += (" " if out[-1].strip() else "") + piece
    return out


_UNIT = re.compile(r"L\d+ \S+|\S+")
"""What wrap keeps on one line: a word, or a walk level with its PTE."""
