"""Stack frames on the simulated stack: `with stack.call(frame_size) as frame:`.

A call does what x86-64 code does: `call` pushes a return address (sp -= 8, a store,
so the first touch of a new stack page faults it in), the prologue pushes the
caller's frame pointer and moves sp down by the frame (16-byte aligned), and with
the stack protector on (gcc's -fstack-protector) a canary sits just below the saved
frame pointer. Frames larger than a page are probed page by page, as gcc's
-fstack-clash-protection does, so a deep or huge frame cannot jump over the guard
gap. Leaving the block is the return: the canary is checked ("*** stack smashing
detected ***" aborts the process), sp goes back up, and the frame's memory is
released implicitly: nothing is freed, it is simply below sp again.

`frame.alloca(n)` takes n more bytes (rounded to 16) from the innermost frame.
Running past the stack limit ends in the guard gap: `mem.store` raises
SegmentationFault, which propagates. Each push, alloca and pop logs a StackFrame
event ("push", "alloca", "pop") with the new sp.
"""

from __future__ import annotations

import random
from types import TracebackType

from vmsim.events import StackFrame
from vmsim.libc.usermem import UserMemory

RETURN_ADDRESS = 0x401136
"""The return address `call` pushes (a stand-in for the caller's code address)."""
STACK_ALIGN = 16
WORD = 8


def _round16(n: int) -> int:
    """n rounded up to the stack alignment."""
    return (n + STACK_ALIGN - 1) & ~(STACK_ALIGN - 1)


class Frame:
    """One activation record; a context manager (enter = call, exit = return)."""

    def __init__(self, stack: Stack, size: int) -> None:
        if size < 0:
            raise ValueError(f"frame size must be >= 0, got {size}")
        self.stack = stack
        self.size = size
        self.entry_sp = 0
        """sp before the call (the return address is stored just below it)."""
        self.base = 0
        """The frame pointer: where the caller's frame pointer is saved."""
        self.addr = 0
        """Start of the frame's own `size` bytes (its locals)."""
        self.sp = 0
        """The current stack pointer (moves down with alloca)."""

    def __enter__(self) -> Frame:
        self.stack._push(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stack._pop(self, unwinding=exc_type is not None)

    def alloca(self, n: int) -> int:
        """alloca(n): n more bytes below sp, 16-byte aligned; returns their address."""
        if n < 0:
            raise ValueError(f"alloca size must be >= 0, got {n}")
        if not self.stack.frames or self.stack.frames[-1] is not self:
            raise RuntimeError("alloca: only the innermost frame can grow")
        mem = self.stack.mem
        new_sp = self.sp - _round16(n)
        self.stack._probe(self.sp, new_sp)
        mem.sp = self.sp = new_sp
        mem.emit(StackFrame(mem.pid, "alloca", n, new_sp))
        return new_sp


class Stack:
    """The stack of one process (one thread): frames pushed and popped in LIFO order."""

    def __init__(self, mem: UserMemory, *, protector: bool = True, canary: int | None = None):
        self.mem = mem
        self.protector = protector
        if canary is None:
            canary = random.Random(f"canary:{mem.pid}").getrandbits(64) & ~0xFF
        self.canary = canary
        """The stack guard (its low byte is 0, as glibc makes it)."""
        self.frames: list[Frame] = []

    def clone(self, mem: UserMemory) -> Stack:
        """The stack of a forked child: same canary, same frames, the child's memory."""
        new = Stack(mem, protector=self.protector, canary=self.canary)
        for f in self.frames:
            g = Frame(new, f.size)
            g.entry_sp, g.base, g.addr, g.sp = f.entry_sp, f.base, f.addr, f.sp
            new.frames.append(g)
        return new

    def call(self, frame_size: int) -> Frame:
        """A frame of frame_size bytes, pushed when its `with` block is entered."""
        return Frame(self, frame_size)

    @property
    def depth(self) -> int:
        """Number of frames currently on the stack."""
        return len(self.frames)

    def _push(self, frame: Frame) -> None:
        """call + prologue: return address, saved frame pointer, canary, locals."""
        mem = self.mem
        entry = mem.sp
        try:
            mem.sp = entry - WORD
            mem.store(entry - WORD, RETURN_ADDRESS.to_bytes(WORD, "little"))
            base = entry - 2 * WORD
            mem.sp = base
            caller = self.frames[-1].base if self.frames else 0
            mem.store(base, caller.to_bytes(WORD, "little"))
            new_sp = base - _round16(frame.size + (WORD if self.protector else 0))
            self._probe(base, new_sp)
            if self.protector:
                mem.store(base - WORD, self.canary.to_bytes(WORD, "little"))
        except BaseException:
            mem.sp = entry
            raise
        frame.entry_sp, frame.base, frame.addr, frame.sp = entry, base, new_sp, new_sp
        mem.sp = new_sp
        self.frames.append(frame)
        mem.emit(StackFrame(mem.pid, "push", frame.size, new_sp))

    def _pop(self, frame: Frame, *, unwinding: bool) -> None:
        """Return: check the canary (not when unwinding an exception), restore sp."""
        if not self.frames or self.frames[-1] is not frame:
            raise RuntimeError("stack frames must be left in the reverse order of entry")
        self.frames.pop()
        mem = self.mem
        if self.protector and not unwinding:
            guard = int.from_bytes(mem.load(frame.base - WORD, WORD), "little")
            if guard != self.canary:
                mem.abort("*** stack smashing detected ***: terminated")
        mem.sp = frame.entry_sp
        mem.emit(StackFrame(mem.pid, "pop", frame.size, frame.entry_sp))

    def _probe(self, high: int, low: int) -> None:
        """Touch each page between high and low (stack-clash probes), top down."""
        page = self.mem.page_size
        addr = high - page
        while addr >= low:
            self.mem.sp = addr
            self.mem.store(addr, bytes(WORD))
            addr -= page


__all__ = ["RETURN_ADDRESS", "Frame", "Stack"]
