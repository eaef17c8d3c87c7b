"""Page-table formats: golden PTE bytes at known physical addresses, and the generic walk.

The expected values are worked out by hand from each architecture's manual (x86-64 SDM
vol. 3 ch. 4, RISC-V privileged spec for Sv39), not taken from vmsim's output. Every
machine here boots with frame 0 = the zero page and frame 1 = the first process's root.
"""

from __future__ import annotations

import pytest

import vmsim
from vmsim.hw import pte as P
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.ptformat import FORMATS, make_format, walk


def _raw(m: vmsim.Machine, pa: int, size: int) -> int:
    return int.from_bytes(m.kernel.mem.read(pa, size), "little")


def test_x86_64_write_to_data_page() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn()
    p.store(0x401000, b"x")  # the data page; indices 0, 0, 2, 1
    # frames: 2 = PDPT, 3 = PD, 4 = PT, 5 = data
    assert _raw(m, 0x1000 + 0 * 8, 8) == 0x2007  # PML4E: P|RW|US -> PDPT
    assert _raw(m, 0x2000 + 0 * 8, 8) == 0x3007  # PDPTE -> PD
    assert _raw(m, 0x3000 + 2 * 8, 8) == 0x4007  # PDE -> PT
    assert _raw(m, 0x4000 + 1 * 8, 8) == (1 << 63) | 0x5000 | 0x67  # NX|frame 5|D|A|US|RW|P
    assert m.kernel.mem.read(0x5000, 1) == b"x"


def test_x86_64_read_of_text_maps_the_zero_page() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn()
    assert p.fetch(0x400000, 4) == bytes(4)
    assert _raw(m, 0x4000, 8) == 0x0000 | 0x25  # frame 0 (zero page), A|US|P, no RW, executable


def test_x86_32_two_levels_of_four_byte_ptes() -> None:
    m = vmsim.Machine(memory="1MiB", paging="x86_32")
    p = m.spawn()
    p.store(0x401000, b"y")  # directory index 1, table index 1
    assert m.kernel.mem.read(0x1000 + 1 * 4, 4) == (0x2007).to_bytes(4, "little")
    assert m.kernel.mem.read(0x2000 + 1 * 4, 4) == (0x3067).to_bytes(4, "little")  # no NX bit


def test_sv39_three_levels() -> None:
    m = vmsim.Machine(memory="1MiB", paging="sv39")
    p = m.spawn()
    p.store(0x401000, b"z")  # VPN[2]=0, VPN[1]=2, VPN[0]=1
    assert _raw(m, 0x1000 + 0 * 8, 8) == (2 << 10) | 1  # non-leaf: V only, PPN 2
    assert _raw(m, 0x2000 + 2 * 8, 8) == (3 << 10) | 1
    # leaf: PPN 4, D A U W R V (no X: the data page is not executable)
    assert _raw(m, 0x3000 + 1 * 8, 8) == (4 << 10) | 0x80 | 0x40 | 0x10 | 0x04 | 0x02 | 0x01


def test_linear_textbook_table() -> None:
    m = vmsim.Machine(memory="64KiB", paging="linear", page_size="1KiB", address_space="16KiB")
    p = m.spawn()
    p.store(0x800, b"w")  # the data page is VPN 2; the table (16 x 4 bytes) is in frame 1
    assert (
        _raw(m, 0x400 + 2 * 4, 4)
        == 0x80000000 | 0x40000000 | 0x20000000 | 0x10000000 | 0x08000000 | 0x04000000 | 2
    )
    assert m.kernel.mem.read(2 * 1024, 1) == b"w"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_encode_decode_roundtrip(name: str) -> None:
    fmt = FORMATS[name]
    for flags in range(1 << 7):
        flags |= P.PRESENT
        if name == "x86_32":
            flags &= ~P.NX
        pte = fmt.make_pte(0x1234, flags)
        assert fmt.layout.flags(pte) == flags
        assert fmt.pte_ppn(pte) == 0x1234
        assert fmt.is_leaf(pte, fmt.levels - 1)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_decode_of_a_leaf_and_of_a_swap_entry(name: str) -> None:
    """hw.pte.decode (issue 11: PTE decoding lives in hw, not in machine.py)."""
    layout = FORMATS[name].layout
    leaf = P.decode(layout, layout.encode(0x42, P.PRESENT | P.WRITE | P.USER | P.DIRTY), 0x1008)
    assert (leaf.present, leaf.frame, leaf.writable, leaf.user, leaf.dirty) == (
        True, 0x42, True, True, True
    )  # fmt: skip
    assert (leaf.accessed, leaf.cow, leaf.swap_slot, leaf.pte_pa) == (False, False, None, 0x1008)
    swapped = P.decode(layout, layout.swap(7), 0x2010)
    assert (swapped.present, swapped.frame, swapped.swap_slot) == (False, -1, 7)


def test_index_bits() -> None:
    x = FORMATS["x86_64"]
    va = (3 << 39) | (5 << 30) | (7 << 21) | (11 << 12) | 0xABC
    assert [x.index(va, lvl) for lvl in range(4)] == [3, 5, 7, 11]
    assert x.va_bits == 48 and FORMATS["sv39"].va_bits == 39 and FORMATS["x86_32"].va_bits == 32
    lin = make_format("linear", page_size=1024, address_space=16384)
    assert lin.levels == 1 and lin.index(0x3FFF, 0) == 15 and lin.va_bits == 14


def test_walk_allocates_and_stops_at_missing_tables() -> None:
    fmt = FORMATS["x86_64"]
    mem = PhysicalMemory(16, 4096)
    free = iter(range(2, 16))
    steps = walk(mem, fmt, 1, 0x7FFF_0000_0000)
    assert len(steps) == 1 and steps[0].pte == 0  # hardware walk: stops at the empty root entry
    steps = walk(mem, fmt, 1, 0x7FFF_0000_0000, alloc=lambda: next(free))
    assert [s.level for s in steps] == [0, 1, 2, 3]
    assert [fmt.pte_ppn(s.pte) for s in steps[:3]] == [2, 3, 4]
    assert len(walk(mem, fmt, 1, 0x7FFF_0000_0000)) == 4
