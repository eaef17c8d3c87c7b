"""mmap, munmap, mprotect, brk/sbrk: Linux's semantics and errnos."""

from __future__ import annotations

import errno

import pytest

import vmsim
from vmsim import SegmentationFault

PAGE = 4096


@pytest.fixture
def p() -> vmsim.Process:
    return vmsim.Machine(memory="1MiB").spawn()


def test_mmap_is_top_down_and_page_rounded(p: vmsim.Process) -> None:
    a = p.mmap(100)
    b = p.mmap(PAGE + 1)
    assert a % PAGE == 0 and b == a - 2 * PAGE
    kinds = {(v.start, v.end): v.kind for v in p.vmas()}
    assert kinds[(a, a + PAGE)] == "mmap" and kinds[(b, b + 2 * PAGE)] == "mmap"
    stack = next(v for v in p.vmas() if v.kind == "stack")
    assert a < stack.start


def test_munmap_unaligned_is_einval(p: vmsim.Process) -> None:
    va = p.mmap(2 * PAGE)
    with pytest.raises(OSError) as e:
        p.munmap(va + 1, PAGE)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        p.munmap(va, 0)
    assert e.value.errno == errno.EINVAL


def test_munmap_middle_splits_and_frees(p: vmsim.Process) -> None:
    va = p.mmap(3 * PAGE)
    for i in range(3):
        p.store(va + i * PAGE, bytes([i + 1]))
    assert p.stats.rss == 3
    p.munmap(va + PAGE, PAGE)
    spans = [(v.start, v.end) for v in p.vmas() if v.kind == "mmap"]
    assert spans == [(va, va + PAGE), (va + 2 * PAGE, va + 3 * PAGE)]
    assert p.stats.rss == 2
    assert p.load(va, 1) == b"\x01" and p.load(va + 2 * PAGE, 1) == b"\x03"
    with pytest.raises(SegmentationFault) as e:
        p.load(va + PAGE, 1)
    assert e.value.code == "SEGV_MAPERR"


def test_munmap_of_nothing_is_fine_and_remapped_memory_is_zero(p: vmsim.Process) -> None:
    va = p.mmap(PAGE)
    p.store(va, b"old")
    p.munmap(va, PAGE)
    p.munmap(va, PAGE)
    vb = p.mmap(PAGE)
    assert vb == va and p.load(vb, 3) == bytes(3)


def test_mprotect_splits_and_enforces(p: vmsim.Process) -> None:
    va = p.mmap(2 * PAGE)
    p.store(va, b"a")
    p.store(va + PAGE, b"b")
    p.mprotect(va, PAGE, "r")
    assert [v.prot for v in p.vmas() if v.kind == "mmap"] == ["r--", "rw-"]
    pte = p.pte(va)
    assert pte is not None and not pte.writable and pte.dirty
    assert p.load(va, 1) == b"a"
    p.store(va + PAGE, b"c")
    p.mprotect(va, PAGE, "rw")
    p.store(va, b"d")  # writable again: reused in place on the write fault
    assert p.load(va, 1) == b"d" and p.stats.rss == 2
    p.mprotect(va, PAGE, "")
    with pytest.raises(SegmentationFault) as e:
        p.load(va, 1)
    assert e.value.code == "SEGV_ACCERR"


def test_mprotect_errors(p: vmsim.Process) -> None:
    va = p.mmap(PAGE)
    with pytest.raises(OSError) as e:
        p.mprotect(va + 8, PAGE, "r")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        p.mprotect(va, 2 * PAGE, "r")  # the second page is not mapped
    assert e.value.errno == errno.ENOMEM
    with pytest.raises(vmsim.ConfigError):
        p.mprotect(va, PAGE, "rwz")


def test_brk_grows_and_shrinks_the_heap(p: vmsim.Process) -> None:
    start = p.brk()
    assert p.sbrk(10) == start and p.brk() == start + 10
    heap = next(v for v in p.vmas() if v.kind == "heap")
    assert (heap.start, heap.end) == (start, start + PAGE)
    p.store(start, b"h" * 10)
    p.sbrk(3 * PAGE)
    p.store(start + 3 * PAGE, b"i")
    assert p.stats.rss == 2
    p.brk(start + 5)
    assert p.stats.rss == 1 and p.load(start, 5) == b"hhhhh"
    p.brk(start)
    assert not [v for v in p.vmas() if v.kind == "heap"] and p.stats.rss == 0
    with pytest.raises(SegmentationFault):
        p.load(start, 1)


def test_brk_below_start_and_into_a_mapping_is_enomem() -> None:
    m = vmsim.Machine(memory="64KiB", paging="linear", page_size="1KiB", address_space="16KiB")
    p = m.spawn()
    start = p.brk()
    with pytest.raises(OSError) as e:
        p.brk(start - 1)
    assert e.value.errno == errno.ENOMEM
    with pytest.raises(OSError) as e:
        p.sbrk(16 * 1024)
    assert e.value.errno == errno.ENOMEM
    assert p.brk() == start


def test_mmap_without_room_is_enomem() -> None:
    m = vmsim.Machine(memory="64KiB", paging="linear", page_size="1KiB", address_space="16KiB")
    p = m.spawn()
    with pytest.raises(OSError) as e:
        p.mmap(64 * 1024)
    assert e.value.errno == errno.ENOMEM
    got = []
    while True:
        try:
            got.append(p.mmap(1024))
        except OSError as err:
            assert err.errno == errno.ENOMEM
            break
    assert len(got) >= 4 and len(set(got)) == len(got)


def test_fixed_mapping(p: vmsim.Process) -> None:
    va = p.mmap(PAGE, addr=0x10000000)
    assert va == 0x10000000
    with pytest.raises(OSError) as e:
        p.mmap(PAGE, addr=0x10000000)
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        p.mmap(PAGE, addr=0x10000001)
    assert e.value.errno == errno.EINVAL


def test_exit_frees_everything() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn()
    va = p.mmap(8 * PAGE)
    for i in range(8):
        p.store(va + i * PAGE, b"z")
    p.sbrk(PAGE)
    p.store(p.brk() - 1, b"q")
    assert m.kernel.frames.in_use() > 9
    p.exit(3)
    assert m.kernel.frames.in_use() == 1 and p.exit_status == 3 and not p.alive
    assert m.kernel.mem.host_frames == 0  # freed frames were zeroed (host bytes dropped)


def test_kernel_copy_in_and_copy_out_fault_pages_in(p: vmsim.Process) -> None:
    """The kernel reaches user memory by a software walk, faulting pages in, never the MMU."""
    from vmsim.kernel.uaccess import copy_in, copy_out

    k = p.machine.kernel
    mm = k.procs[p.pid].mm
    va = p.mmap(3 * PAGE)
    walks, hits = k.stats.walks, k.stats.tlb_hit
    copy_out(k, mm, va + PAGE - 3, b"across pages")
    assert copy_in(k, mm, va + PAGE - 3, 12) == b"across pages"
    assert (k.stats.walks, k.stats.tlb_hit) == (walks, hits)  # no MMU involved
    assert p.load(va + PAGE - 3, 12) == b"across pages" and p.stats.rss == 2
    with pytest.raises(OSError) as e:
        copy_in(k, mm, 0x10, 4)
    assert e.value.errno == errno.EFAULT
    p.mprotect(va, PAGE, "r")
    with pytest.raises(OSError):
        copy_out(k, mm, va, b"x")
