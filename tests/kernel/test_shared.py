"""Shared memory and memory-mapped host files."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import vmsim

PAGE = 4096


@pytest.fixture
def m() -> vmsim.Machine:
    return vmsim.Machine(memory="2MiB", swap="2MiB")


def _file(tmp_path: Path, data: bytes, name: str = "f.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_shared_anonymous_memory_is_shared_with_children(m: vmsim.Machine) -> None:
    p = m.spawn()
    sh = p.mmap(2 * PAGE, shared=True)
    priv = p.mmap(PAGE)
    p.store(sh, b"before fork")
    c = p.fork()
    c.store(sh + 7, b"FORK")
    c.store(priv, b"mine")
    assert p.load(sh, 11) == b"before FORK"
    assert p.load(sh + 7, 4) == b"FORK" and p.load(priv, 4) == bytes(4)
    assert p.pte(sh).frame == c.pte(sh).frame and c.pte(sh).writable  # type: ignore[union-attr]
    m.check()


def test_named_shm_between_unrelated_processes(m: vmsim.Machine) -> None:
    m.shm_open("/board", 3 * PAGE)
    a, b = m.spawn("writer"), m.spawn("reader")
    va = a.mmap(3 * PAGE, shm="/board")
    vb = b.mmap(3 * PAGE, shm="/board")
    a.store(va + PAGE + 5, b"hello, b")
    assert b.load(vb + PAGE + 5, 8) == b"hello, b"
    a.exit()
    b.exit()
    c = m.spawn()
    vc = c.mmap(3 * PAGE, shm="/board")
    assert c.load(vc + PAGE + 5, 8) == b"hello, b"  # the segment outlives its mappers
    m.shm_unlink("/board")
    with pytest.raises(OSError) as e:
        c.mmap(PAGE, shm="/board")
    assert e.value.errno == errno.ENOENT
    c.exit()
    assert m.kernel.frames.in_use() == 1  # unlinked and unmapped: gone
    m.check()


def test_reclaim_unmaps_all_sharers_and_swap_in_maps_them_back(m: vmsim.Machine) -> None:
    m.shm_open("/s", PAGE)
    procs = [m.spawn() for _ in range(3)]
    vas = [p.mmap(PAGE, shm="/s") for p in procs]
    procs[0].store(vas[0], b"one frame, many PTEs")
    for p, va in zip(procs[1:], vas[1:], strict=True):
        assert p.load(va, 3) == b"one"
    frame = procs[0].pte(vas[0]).frame  # type: ignore[union-attr]
    assert all(p.pte(va).frame == frame for p, va in zip(procs, vas, strict=True))  # type: ignore[union-attr]
    m.swap_out_process(procs[1].pid)
    assert all(not p.pte(va).present for p, va in zip(procs, vas, strict=True))  # type: ignore[union-attr]
    assert [p.stats.swap for p in procs] == [1, 1, 1] and m.stats.pswpout == 1
    assert procs[2].load(vas[2], 3) == b"one"  # one major fault maps it back for all
    assert all(p.pte(va).present for p, va in zip(procs, vas, strict=True))  # type: ignore[union-attr]
    assert [p.stats.rss for p in procs] == [1, 1, 1] and procs[2].stats.maj_flt == 1
    m.check()


def test_file_pages_come_from_the_file_through_one_page_cache(
    m: vmsim.Machine, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes: 3 pages, the last one partial
    path = _file(tmp_path, data)
    a, b = m.spawn(), m.spawn()
    va = a.mmap(len(data), prot="r", file=path)
    vb = b.mmap(2 * PAGE, prot="r", file=path, offset=PAGE)
    assert a.load(va, len(data)) == data
    assert a.load(va + len(data), 8) == bytes(8)  # the rest of the last page is zeros
    assert b.load(vb + PAGE, 16) == data[2 * PAGE : 2 * PAGE + 16]
    assert a.pte(va + 2 * PAGE).frame == b.pte(vb + PAGE).frame  # type: ignore[union-attr]
    assert m.stats.pgpgin == 3 and a.stats.maj_flt == 3 and b.stats.min_flt == 1
    m.check()


def test_shared_file_writes_reach_the_file(m: vmsim.Machine, tmp_path: Path) -> None:
    path = _file(tmp_path, b"." * (2 * PAGE))
    p = m.spawn()
    va = p.mmap(2 * PAGE, file=path, shared=True)
    p.store(va + 10, b"msync")
    assert path.read_bytes()[10:15] == b"....."  # not yet
    assert p.msync(va, 2 * PAGE) == 1 and path.read_bytes()[10:15] == b"msync"
    assert p.msync(va, 2 * PAGE) == 0  # clean now
    p.store(va + PAGE, b"munmap")
    p.munmap(va + PAGE, PAGE)
    assert path.read_bytes()[PAGE : PAGE + 6] == b"munmap"
    p.store(va + 20, b"exit")
    p.exit()
    assert path.read_bytes()[20:24] == b"exit"
    assert m.kernel.frames.in_use() == 1 and not m.kernel.files
    m.check()


def test_shared_file_writes_reach_the_file_on_eviction(tmp_path: Path) -> None:
    path = _file(tmp_path, bytes(16 * PAGE))
    with vmsim.Machine(memory="1MiB", swap="1MiB") as m:
        p = m.spawn(memory_limit="16KiB")
        va = p.mmap(16 * PAGE, file=path, shared=True)
        for i in range(16):
            p.store(va + i * PAGE, f"page {i:2d}".encode())
        content = path.read_bytes()
        evicted = [
            i for i in range(16) if content[i * PAGE : i * PAGE + 7] == f"page {i:2d}".encode()
        ]
        assert len(evicted) >= 12 and m.stats.pswpout == 0  # written back, never swapped
        assert m.stats.pgpgout == len(evicted)
        assert all(p.load(va + i * PAGE, 7) == f"page {i:2d}".encode() for i in range(16))
        m.check()


def test_private_file_mapping_never_changes_the_file(m: vmsim.Machine, tmp_path: Path) -> None:
    original = b"original" * 1024
    path = _file(tmp_path, original)
    p = m.spawn()
    va = p.mmap(2 * PAGE, prot="rw", file=path)
    p.store(va, b"PRIVATE!")
    c = p.fork()
    c.store(va + PAGE, b"CHILD!!!")
    assert p.load(va, 8) == b"PRIVATE!" and c.load(va, 8) == b"PRIVATE!"
    assert p.load(va + PAGE, 8) == b"original" and c.load(va + PAGE, 8) == b"CHILD!!!"
    m.swap_out_process(p.pid)  # private copies go to swap, never to the file
    assert p.load(va, 8) == b"PRIVATE!"
    p.exit()
    c.exit()
    assert path.read_bytes() == original
    m.check()


def test_private_mapping_sees_the_file_until_it_writes(m: vmsim.Machine, tmp_path: Path) -> None:
    path = _file(tmp_path, bytes(PAGE))
    w, r = m.spawn(), m.spawn()
    vw = w.mmap(PAGE, file=path, shared=True)
    vr = r.mmap(PAGE, prot="rw", file=path)
    assert r.load(vr, 4) == bytes(4)
    w.store(vw, b"new!")
    assert r.load(vr, 4) == b"new!"  # still the page-cache page
    r.store(vr + 100, b"x")  # now a private copy
    w.store(vw, b"NEW2")
    assert r.load(vr, 4) == b"new!"


def test_touch_beyond_the_end_of_the_file_is_sigbus(m: vmsim.Machine, tmp_path: Path) -> None:
    path = _file(tmp_path, b"short")
    p = m.spawn()
    va = p.mmap(3 * PAGE, prot="r", file=path)
    assert p.load(va, 5) == b"short"
    with pytest.raises(vmsim.BusError) as e:
        p.load(va + PAGE, 1)
    assert e.value.address == va + PAGE and not p.alive and p.exit_status == -7


def test_clean_file_pages_are_dropped_not_swapped(tmp_path: Path) -> None:
    path = _file(tmp_path, os.urandom(32 * PAGE))
    with vmsim.Machine(memory="1MiB", swap="1MiB") as m:
        p = m.spawn(memory_limit="32KiB")
        va = p.mmap(32 * PAGE, prot="r", file=path)
        for _ in range(2):
            for i in range(32):
                assert p.load(va + i * PAGE, 16) == path.read_bytes()[i * PAGE : i * PAGE + 16]
        assert m.stats.pswpout == 0 and m.stats.pgsteal >= 48 and m.stats.pgpgin == 64
        m.check()


def test_mapping_errors(m: vmsim.Machine, tmp_path: Path) -> None:
    p = m.spawn()
    with pytest.raises(OSError) as e:
        p.mmap(PAGE, file=tmp_path / "missing")
    assert e.value.errno == errno.ENOENT
    path = _file(tmp_path, bytes(PAGE))
    with pytest.raises(OSError) as e:
        p.mmap(PAGE, file=path, offset=100)
    assert e.value.errno == errno.EINVAL
    os.chmod(path, 0o444)
    if os.geteuid() != 0:  # root may write anything
        with pytest.raises(OSError) as e:
            p.mmap(PAGE, prot="rw", file=path, shared=True)
        assert e.value.errno == errno.EACCES
    assert p.mmap(PAGE, prot="rw", file=path)  # private: fine
    with pytest.raises(vmsim.ConfigError):
        p.mmap(PAGE, file=path, shm="/x")
    m.check()
