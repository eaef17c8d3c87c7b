"""Textbook page-table formats: OSTEP's two-level machine and the linear PTE it shares.

Golden values worked out by hand from ../shared/refs/ostep/SEMANTICS.md (OSTEP's
paging-multilevel-translate: 32-byte pages, VA = PD index bits 14-10 | PT index 9-5 |
offset 4-0, one-byte PDE/PTE with valid bit 7 and PFN bits 6-0, unused entries 0x7f;
paging-linear-translate: PTE = valid bit 31 | PFN, 0 when invalid).
"""

from __future__ import annotations

import pytest

import vmsim
from vmsim.errors import ConfigError
from vmsim.hw import pte as P
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.ptformat import FORMATS, TEXTBOOK_FORMATS, machine_formats, make_format, walk

OSTEP = make_format("ostep-2level")


def test_ostep_2level_geometry() -> None:
    assert OSTEP is TEXTBOOK_FORMATS["ostep-2level"]
    assert (OSTEP.levels, OSTEP.page_size, OSTEP.va_bits, OSTEP.pte_size) == (2, 32, 15, 1)
    assert OSTEP.root_frames() == 1  # 32 one-byte entries fill one 32-byte page
    # 0x611c = 11000 01000 11100: PD index 24, PT index 8, offset 28 (OSTEP's README example)
    assert (OSTEP.index(0x611C, 0), OSTEP.index(0x611C, 1)) == (24, 8)
    assert (OSTEP.index(0x7FFF, 0), OSTEP.index(0x7FFF, 1)) == (31, 31)


def test_ostep_2level_entries() -> None:
    layout = OSTEP.layout
    assert layout.table(5) == 0x85  # a PDE of 0x85 points at frame 5
    assert OSTEP.make_pte(5, P.PRESENT) == 0x85  # same bits for a leaf
    assert OSTEP.make_pte(127, P.PRESENT) == 0xFF  # a valid entry may name frame 127
    assert layout.flags(0x85) == P.PRESENT and OSTEP.pte_ppn(0x85) == 5
    assert layout.flags(0x7F) == 0 and OSTEP.pte_ppn(0x7F) == 127  # unused: invalid, PFN 127
    assert layout.flags(0x00) == 0
    assert not OSTEP.is_leaf(0x85, 0) and OSTEP.is_leaf(0x85, 1)


def test_ostep_2level_roundtrip_every_frame() -> None:
    for ppn in range(128):
        pte = OSTEP.make_pte(ppn, P.PRESENT)
        assert pte == 0x80 | ppn
        assert OSTEP.pte_ppn(pte) == ppn and OSTEP.layout.flags(pte) == P.PRESENT
        assert OSTEP.layout.table(ppn) == pte
        mem = PhysicalMemory(128, 32)
        mem.write_uint(ppn * 32 + 31, 1, pte)  # one byte: the last of frame ppn
        assert mem.read(ppn * 32 + 31, 1) == bytes([0x80 | ppn])
        assert mem.read_uint(ppn * 32 + 31, 1) == pte


def _machine() -> PhysicalMemory:
    """PD in frame 3 (entry 24 -> table in frame 5), table entry 8 -> frame 29; rest 0x7f."""
    mem = PhysicalMemory(128, 32)
    mem.write_frame(3, bytes([0x7F] * 24 + [0x85] + [0x7F] * 7))
    mem.write_frame(5, bytes([0x7F] * 8 + [0x9D] + [0x7F] * 23))
    return mem


def test_walk_reads_pde_then_pte() -> None:
    steps = walk(_machine(), OSTEP, 3, 0x611C)
    assert [(s.level, s.pte_pa, s.pte) for s in steps] == [
        (0, 3 * 32 + 24, 0x85),
        (1, 5 * 32 + 8, 0x9D),
    ]
    assert OSTEP.pte_ppn(steps[-1].pte) == 29  # PA 29 * 32 + 28 = 0x3bc


def test_walk_stops_at_an_invalid_pde_or_pte() -> None:
    steps = walk(_machine(), OSTEP, 3, 23 << 10)  # PD entry 23 holds 0x7f
    assert [(s.level, s.pte) for s in steps] == [(0, 0x7F)]
    steps = walk(_machine(), OSTEP, 3, (24 << 10) | (9 << 5))  # PT entry 9 holds 0x7f
    assert [(s.level, s.pte_pa, s.pte) for s in steps] == [(0, 120, 0x85), (1, 5 * 32 + 9, 0x7F)]


def test_walk_alloc_links_a_new_table() -> None:
    mem = _machine()
    steps = walk(mem, OSTEP, 3, (2 << 10) | (4 << 5), alloc=lambda: 40)
    assert mem.read(3 * 32 + 2, 1) == b"\xa8"  # PDE 2 now 0x80 | 40
    assert [(s.level, s.pte_pa) for s in steps] == [(0, 3 * 32 + 2), (1, 40 * 32 + 4)]


def test_textbook_formats_are_not_machine_formats() -> None:
    assert "ostep-2level" not in FORMATS and "ostep-2level" not in machine_formats()
    with pytest.raises(ConfigError):
        vmsim.Machine(memory="4KiB", paging="ostep-2level")


@pytest.mark.parametrize("pfn", [0, 1, 6, 12, 0xFFFF, 0xFFFFFF])
def test_linear_pte_is_ostep_valid_bit_31_plus_pfn(pfn: int) -> None:
    lin = make_format("linear", page_size=4096, address_space=16384)
    assert lin.make_pte(pfn, P.PRESENT) == 0x80000000 | pfn
    assert lin.pte_ppn(0x80000000 | pfn) == pfn
    assert lin.layout.flags(0x80000000 | pfn) == P.PRESENT
    assert lin.layout.flags(0) & P.PRESENT == 0  # OSTEP's invalid entry, 0x00000000
