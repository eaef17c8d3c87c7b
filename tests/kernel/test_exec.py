"""exec: a real ELF executable of the host, compiled here, loaded into processes."""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import vmsim
from toolcheck import require

PAGE = 4096
SOURCE = r"""
#include <stdio.h>
const char banner[] = "vmsim exec test";           /* .rodata */
int counter = 12345;                                /* .data   */
char scratch[3 * 4096 + 100];                       /* .bss    */
int main(void) { scratch[0] = banner[0]; counter++; return counter & 1; }
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory, build_c: Any) -> Path:
    return build_c(tmp_path_factory, SOURCE)


def _load_segments(path: Path) -> list[tuple[int, int, int, int, str]]:
    """(offset, vaddr, filesz, memsz, flags) of each LOAD, as readelf prints them."""
    out = subprocess.run(
        ["readelf", "-lW", str(path)], capture_output=True, text=True, check=True
    ).stdout
    segs = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            off, vaddr, _, filesz, memsz = (int(x, 16) for x in parts[1:6])
            segs.append((off, vaddr, filesz, memsz, "".join(parts[6:-1])))
    return segs


def test_segments_become_vmas_with_their_permissions(program: Path) -> None:
    require(shutil.which("readelf"), "readelf (binutils)")
    m = vmsim.Machine(memory="4MiB")
    p = m.exec(program)
    image = p.image
    assert image is not None and image.pie
    base = image.base
    vmas = p.vmas()
    for off, vaddr, filesz, memsz, flags in _load_segments(program):
        start = (base + vaddr) & ~(PAGE - 1)
        vma = next(v for v in vmas if v.start <= start < v.end)
        want = (
            ("r" if "R" in flags else "-")
            + ("w" if "W" in flags else "-")
            + ("x" if "E" in flags else "-")
        )
        assert vma.prot == want and not vma.shared
        assert (
            p.load(base + vaddr, min(filesz, 64))
            == program.read_bytes()[off : off + min(filesz, 64)]
        )
        if memsz > filesz:  # the bss reads as zeros, even where the file page goes on
            assert p.load(base + vaddr + filesz, memsz - filesz) == bytes(memsz - filesz)
    assert any(v.kind == "bss" for v in vmas) and any(v.kind == "text" for v in vmas)
    assert p.brk() >= max(v.end for v in vmas if v.kind in ("bss", "data"))
    m.check()


def test_text_is_shared_and_data_is_private(program: Path) -> None:
    m = vmsim.Machine(memory="4MiB")
    a, b = m.exec(program), m.exec(program)
    assert a.image is not None and b.image is not None
    entry = a.image.entry
    assert a.fetch(entry, 16) == b.fetch(entry, 16)
    assert a.pte(entry).frame == b.pte(entry).frame  # type: ignore[union-attr]
    data = next(v for v in a.vmas() if v.kind == "data")
    before = program.read_bytes()
    a.store(data.start, b"\xff" * 8)
    assert b.load(data.start, 8) != b"\xff" * 8
    with pytest.raises(vmsim.SegmentationFault) as e:
        a.store(entry, b"\x90")
    assert e.value.code == "SEGV_ACCERR"
    b.exit()
    assert program.read_bytes() == before
    m.check()


def test_exec_errors(tmp_path: Path) -> None:
    m = vmsim.Machine(memory="1MiB")
    (tmp_path / "script.sh").write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(OSError) as e:
        m.exec(tmp_path / "script.sh")
    assert e.value.errno == errno.ENOEXEC
    with pytest.raises(OSError) as e:
        m.exec(tmp_path / "nothing")
    assert e.value.errno == errno.ENOENT
    assert all(not p.alive for p in m.processes)
    m.check()


def test_spawn_program_path_is_exec(program: Path) -> None:
    m = vmsim.Machine(memory="4MiB")
    p = m.spawn(program=str(program))
    assert p.image is not None and p.image.path == str(program.resolve())
