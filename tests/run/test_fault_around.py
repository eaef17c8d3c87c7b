"""Fault-around and read-around of file mappings (Linux's fault_around_bytes, mmap read-around).

Counts worked by hand: a 128 KiB file is 32 pages, mapped at a 64 KiB-aligned address;
with 64 KiB fault-around (16 pages) and 32-page read-around, the first read fault reads
all 32 pages (one major fault) and maps pages 0-15; the first touch of page 16 is a
minor fault that maps pages 16-31.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import vmsim

PAGE = 4096


@pytest.fixture
def data(tmp_path: Path) -> Path:
    f = tmp_path / "data.bin"
    f.write_bytes(bytes(range(256)) * (32 * PAGE // 256))
    return f


def _touch_all(m: vmsim.Machine, data: Path, prot: str = "r") -> tuple[vmsim.Process, int]:
    p = m.spawn()
    va = p.mmap(32 * PAGE, prot, file=data, addr=1 << 32)  # 64 KiB-aligned windows
    for i in range(32):
        assert p.load(va + i * PAGE, 2) == bytes([0, 1])
    return p, va


def test_fault_around_and_read_around(data: Path) -> None:
    m = vmsim.Machine(memory="1MiB", fault_around_bytes="64KiB")
    p, _ = _touch_all(m, data)
    assert (p.stats.maj_flt, p.stats.min_flt) == (1, 1)
    assert m.stats.pgpgin == 32
    m.check()


def test_without_fault_around_every_page_is_a_major_fault(data: Path) -> None:
    m = vmsim.Machine(memory="1MiB")
    p, _ = _touch_all(m, data)
    assert (p.stats.maj_flt, p.stats.min_flt) == (32, 0)
    assert m.stats.pgpgin == 32


def test_pages_mapped_around_are_read_only(data: Path) -> None:
    m = vmsim.Machine(memory="1MiB", fault_around_bytes="64KiB")
    p, va = _touch_all(m, data, "rw")
    p.store(va + 5 * PAGE, b"x")  # mapped by fault-around: the write still faults (COW)
    assert p.stats.min_flt == 2 and m.stats.cow_copy == 1
    assert data.read_bytes()[5 * PAGE] == 0  # a private mapping never writes the file
    m.check()


def test_fault_around_must_be_a_power_of_two_of_pages() -> None:
    with pytest.raises(vmsim.ConfigError, match="fault_around_bytes"):
        vmsim.Machine(fault_around_bytes=3 * PAGE)
