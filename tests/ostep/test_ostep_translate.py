"""The translation seams (one function per simulator that translates a VA given its table)."""

from __future__ import annotations

import re
from pathlib import Path

from vmsim.ostep.paging_linear_translate import LinearPageTable
from vmsim.ostep.paging_multilevel_translate import walk
from vmsim.ostep.relocation import BaseBounds
from vmsim.ostep.segmentation import Segments


def test_base_and_bounds() -> None:
    mmu = BaseBounds(base=12418, limit=472)
    assert mmu.translate(430) == 12848  # relocation/s0.txt
    assert mmu.translate(471) == 12889
    assert mmu.translate(472) is None


def test_segment_1_grows_down() -> None:
    # SEMANTICS.md: -a 128 -p 512 -B 512 -L 20: va 107 violates, 108 -> 492, 127 -> 511
    seg = Segments(asize=128, base0=0, len0=20, low1=512 - 20, len1=20)
    assert seg.top1 == 512
    assert seg.translate(107) == (1, None)
    assert seg.translate(108) == (1, 492)
    assert seg.translate(127) == (1, 511)
    assert seg.translate(19) == (0, 19)
    assert seg.translate(20) == (0, None)
    assert seg.translate(63) == (0, None)
    assert seg.translate(64) == (1, None)


def test_linear_page_table() -> None:
    # paging-linear-translate/s0-explicit-addrs.txt: PTEs 0x8000000c, 0, 0, 0x80000006
    pt = LinearPageTable([0x8000000C, 0, 0, 0x80000006], pagebits=12)
    assert pt.translate(4095) == 0xCFFF
    assert pt.translate(4096) is None
    assert pt.translate(12841) == 0x6229
    assert pt.vpn(16383) == 3
    assert pt.vpn(1 << 32) == 0  # VPNs are cut to 32 bits, as in the original


def test_two_level_walk_reproduces_the_reference_dump(refs: Path) -> None:
    text = (refs / "ostep" / "paging-multilevel-translate" / "s0.txt").read_text()
    memory = bytearray()
    for m in re.finditer(r"^page +(\d+):([0-9a-f]{64})$", text, re.M):
        memory += bytes.fromhex(m.group(2))
    assert len(memory) == 128 * 32
    pdbr = int(re.search(r"^PDBR: (\d+) ", text, re.M).group(1))  # type: ignore[union-attr]
    blocks = re.findall(r"^Virtual Address 0x([0-9a-f]{4}):\n((?:  .*\n)+)", text, re.M)
    assert len(blocks) == 10
    for va_hex, lines in blocks:
        w = walk(memory, pdbr, int(va_hex, 16))
        assert f"pde index:0x{w.pde_index:x} " in lines
        assert f"pde contents:0x{w.pde:x} " in lines
        if w.fault == "pde":
            assert "Fault (page directory entry not valid)" in lines
            continue
        assert f"pte contents:0x{w.pte:x} " in lines
        if w.fault == "pte":
            assert "Fault (page table entry not valid)" in lines
        else:
            assert w.pa is not None
            assert f"Physical Address 0x{w.pa:03x} --> Value: 0x{memory[w.pa]:02x}" in lines
