"""The CPU's own x86_64 walk (hw.cpu) does exactly what MMU.walk_fill does.

Every combination of leaf PTE bits, upper-level restrictions and access kind is walked
both ways from the same state; the outcome (frame and flags, or the fault's reason),
the PTE bytes after, the walk and memory counts and the machine TLB must be equal.
"""

from __future__ import annotations

import itertools

import pytest

from vmsim.config import MachineConfig
from vmsim.hw.cpu import CPU
from vmsim.hw.mmu import EXEC, READ, WRITE_ACCESS, PageFault
from vmsim.hw.pte import X86_64
from vmsim.hw.ptformat import walk as hw_walk
from vmsim.kernel.kernel import Kernel
from vmsim.kernel.vm import walk

VA = 0x7F12_3456_7000
LEAVES = {
    "absent": 0,
    "swap entry": 5 << 12,
    "P": X86_64.present,
    "P U": X86_64.present | X86_64.user,
    "P U W": X86_64.present | X86_64.user | X86_64.write,
    "P U W A D": X86_64.present | X86_64.user | X86_64.write | X86_64.accessed | X86_64.dirty,
    "P U A": X86_64.present | X86_64.user | X86_64.accessed,
    "P U NX": X86_64.present | X86_64.user | X86_64.nx,
    "P U W COW": X86_64.present | X86_64.user | X86_64.write | X86_64.cow,
}
UPPER = {
    "none": None,
    "level 0 read-only": (0, ~X86_64.write, 0),
    "level 1 supervisor": (1, ~X86_64.user, 0),
    "level 2 no-execute": (2, -1, X86_64.nx),
    "level 1 absent": (1, 0, 0),
}


@pytest.fixture(scope="module")
def machine() -> tuple[Kernel, CPU]:
    k = Kernel(MachineConfig(memory=8 << 20))
    proc = k.spawn("walker")
    k.switch_to(proc)
    walk(k, proc.mm, VA, alloc=True)
    return k, CPU(k.mem, k.mmu, lambda va, access, reason: False)


def _state(k: Kernel, steps: list[tuple[int, int]]) -> tuple[object, ...]:
    """What a walk may change: the PTEs, the counts, the machine TLB."""
    ptes = tuple(k.mem.read_uint(pa, 8) for pa, _ in steps)
    return ptes, k.stats.walks, k.mem.reads, k.mem.writes, tuple(k.tlb.contents())


def _outcome(fn: object, access: int) -> object:
    """(frame, flags) or the fault's reason (the CPU's walk returns it, the MMU's raises it)."""
    try:
        got = fn(VA, access)  # type: ignore[operator]
    except PageFault as fault:
        assert (fault.va, fault.access) == (VA, access)
        return fault.reason
    return got


def _walk_from(k: Kernel, steps: list[tuple[int, int]], leaf: int, upper: str, fn: object,
               access: int) -> tuple[object, object]:  # fmt: skip
    """Set the PTEs, walk with fn; (outcome with the changes it made, the machine TLB)."""
    for pa, pte in steps[:3]:
        k.mem.write_uint(pa, 8, pte)
    k.mem.write_uint(steps[3][0], 8, leaf)
    if UPPER[upper] is not None:
        level, keep, add = UPPER[upper]  # type: ignore[misc]
        pa, pte = steps[level]
        k.mem.write_uint(pa, 8, (pte & keep) | add)
    k.tlb.flush_all()
    before = _state(k, steps)
    got = _outcome(fn, access)
    after = _state(k, steps)
    counts = tuple(a - b for a, b in zip(after[1:4], before[1:4], strict=True))  # type: ignore[operator]
    return (got, after[0], counts), after[4]


@pytest.mark.parametrize(("leaf", "upper"), list(itertools.product(LEAVES, UPPER)))
def test_fast_walk_equals_walk_fill(machine: tuple[Kernel, CPU], leaf: str, upper: str) -> None:
    k, cpu = machine
    steps = [(s.pte_pa, s.pte) for s in hw_walk(k.mem, k.fmt, k.mmu.root_ppn, VA)]
    assert len(steps) == 4
    pte = LEAVES[leaf] | (0x123 << 12 if LEAVES[leaf] else 0)
    try:
        for access in (READ, WRITE_ACCESS, EXEC):
            want = _walk_from(k, steps, pte, upper, k.mmu.walk_fill, access)
            got = _walk_from(k, steps, pte, upper, cpu._fast_walk, access)
            assert got == want, (leaf, upper, access)
    finally:
        for pa, old in steps:
            k.mem.write_uint(pa, 8, old)
