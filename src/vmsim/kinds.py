"""Kinds of memory reference, shared by traces, the engine and the machine's replay.

The numeric values are what trace arrays hold (uint8). MODIFY is a load then a store
of the same bytes (valgrind lackey's `M`).
"""

from __future__ import annotations

from enum import IntEnum


class AccessKind(IntEnum):
    """Kind of one memory reference; values are stable (they are stored in .vmt files)."""

    INSTR = 0
    LOAD = 1
    STORE = 2
    MODIFY = 3

    @property
    def letter(self) -> str:
        """The lackey letter: I, L, S or M."""
        return "ILSM"[self.value]

    @property
    def writes(self) -> bool:
        """Whether the reference writes memory (STORE and MODIFY)."""
        return self in (AccessKind.STORE, AccessKind.MODIFY)


INSTR, LOAD, STORE, MODIFY = (int(k) for k in AccessKind)
