"""The translation simulators go through vmsim.hw: PTE bytes in PhysicalMemory, generic walk."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vmsim.cli.main import main
from vmsim.hw import ptformat
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.pte import PRESENT
from vmsim.hw.ptformat import WalkStep, make_format
from vmsim.ostep.paging_linear_translate import VALID, LinearPageTable, linear_format

MULTI = Path("paging-multilevel-translate") / "s0.txt"
BLOCK = re.compile(
    r"^Virtual Address 0x([0-9a-f]{4}):\n"
    r"  --> pde index:\S+ \[decimal \d+\] pde contents:0x([0-9a-f]+) .*\n"
    r"(?:    --> pte index:\S+ \[decimal \d+\] pte contents:0x([0-9a-f]+) .*\n)?"
    r"      --> (?:Translates to Physical Address 0x([0-9a-f]+) --> Value: 0x([0-9a-f]+)|Fault)",
    re.M,
)


def _dump(text: str) -> tuple[PhysicalMemory, int]:
    """The reference's 128-page dump in a PhysicalMemory(128, 32), and its PDBR."""
    mem = PhysicalMemory(128, 32)
    pages = re.findall(r"^page +(\d+):([0-9a-f]{64})$", text, re.M)
    assert len(pages) == 128
    for ppn, hexbytes in pages:
        mem.write_frame(int(ppn), bytes.fromhex(hexbytes))
    pdbr = re.search(r"^PDBR: (\d+) ", text, re.M)
    assert pdbr is not None
    return mem, int(pdbr.group(1))


def test_hw_walk_gives_the_reference_answers(refs: Path) -> None:
    text = (refs / "ostep" / MULTI).read_text()
    mem, pdbr = _dump(text)
    fmt = make_format("ostep-2level")
    blocks = BLOCK.findall(text)
    assert len(blocks) == 10
    for va_hex, pde, pte, pa, value in blocks:
        va = int(va_hex, 16)
        steps = ptformat.walk(mem, fmt, pdbr, va)
        assert steps[0].pte == int(pde, 16)
        assert len(steps) == (2 if pte else 1)
        if not pte:
            continue
        assert steps[1].pte == int(pte, 16)
        if not pa:
            assert not fmt.layout.flags(steps[1].pte) & PRESENT
            continue
        got = (fmt.pte_ppn(steps[1].pte) << fmt.page_shift) | (va & 31)
        assert got == int(pa, 16)
        assert mem.read_uint(got, 1) == int(value, 16)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, bool]]:
    """Record every vmsim.hw.ptformat.walk call as (format, va, with alloc)."""
    calls: list[tuple[str, int, bool]] = []
    real = ptformat.walk

    def spy(mem, fmt, root_ppn, va, alloc=None):  # type: ignore[no-untyped-def]
        calls.append((fmt.name, va, alloc is not None))
        return real(mem, fmt, root_ppn, va, alloc)

    monkeypatch.setattr(ptformat, "walk", spy)
    return calls


def _run(refs: Path, case: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The simulator's stdout, checked against the reference output."""
    assert main(["ostep", case.split("/")[0], *args]) == 0
    out = capsys.readouterr().out
    assert out == (refs / "ostep" / case).read_text()
    return out


def test_multilevel_builds_and_translates_with_the_walk(
    refs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _spy(monkeypatch)
    out = _run(refs, str(MULTI), ["-s", "0", "-c"], capsys)
    assert all(name == "ostep-2level" for name, _, _ in calls)
    assert sum(a for _, _, a in calls) == 64  # map_page: one software walk per allocated page
    vas = [int(v, 16) for v in re.findall(r"^Virtual Address 0x([0-9a-f]{4}):", out, re.M)]
    assert [va for _, va, a in calls if not a] == vas  # one hardware walk per question


def test_linear_translates_with_the_walk(
    refs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _spy(monkeypatch)
    args = ["-s", "0", "-A", "0,4095,4096,12288,12841,16383", "-c"]
    _run(refs, "paging-linear-translate/s0-explicit-addrs.txt", args, capsys)
    assert calls == [("linear", va, False) for va in (0, 4095, 4096, 12288, 12841, 16383)]


def test_linear_table_bytes_sit_after_the_user_frames() -> None:
    # s0-explicit-addrs.txt: 64 KiB of 4 KiB pages = frames 0-15; the table goes in frame 16
    pt = LinearPageTable([0x8000000C, 0, 0, 0x80000006], pagebits=12, frames=16)
    assert pt.fmt.name == "linear" and pt.root_ppn == 16
    assert pt.mem.read(0x10000, 16) == bytes.fromhex("0c000080000000000000000006000080")
    assert [pt.pte(v) for v in range(4)] == [0x8000000C, 0, 0, 0x80000006]
    assert pt.mem.host_frames == 1  # only the table's frame holds bytes
    pt.map(1, 9)
    assert pt.mem.read(0x10004, 4) == bytes.fromhex("09000080")
    assert pt.translate(0x1234) == 0x9234


def test_linear_tiny_pages_keep_ptes_within_a_frame() -> None:
    # 1-byte pages, 9 frames: the table starts at PA 12, the first 4-byte boundary past them
    pt = LinearPageTable([VALID | 6, 0, VALID | 2], pagebits=0, frames=9)
    assert pt.root_ppn == 12
    assert pt.mem.read(12, 4) == bytes.fromhex("06000080")
    assert [pt.translate(va) for va in range(3)] == [6, None, 2]
    with pytest.raises(IndexError):
        pt.translate(3)


def test_linear_frame_numbers_beyond_24_bits() -> None:
    # 512 MiB of 16-byte pages: 2^25 frames; OSTEP's PTE keeps the PFN in bits 0-30
    assert linear_format(16, 64, 1 << 24).layout.ppn_bits == 24  # vmsim's linear fits
    fmt = linear_format(16, 64, 1 << 25)
    assert fmt.make_pte((1 << 25) - 1, PRESENT) == 0x81FFFFFF
    pt = LinearPageTable([0x81841299, 0], pagebits=4, frames=1 << 25)
    assert pt.translate(0xE) == 0x1841299E
    assert pt.translate(0x10) is None


def test_walk_steps_are_what_was_stored() -> None:
    pt = LinearPageTable([0, 0x80000003], pagebits=5)  # frames default: 4 (PFN 3 + 1)
    assert pt.root_ppn == 4
    assert ptformat.walk(pt.mem, pt.fmt, pt.root_ppn, 0x20) == [WalkStep(0, 4 * 32 + 4, 0x80000003)]
