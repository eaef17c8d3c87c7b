"""fork with copy-on-write, exit and wait."""

from __future__ import annotations

import errno

import pytest

import vmsim
from vmsim.events import CowCopy

PAGE = 4096


@pytest.fixture
def m() -> vmsim.Machine:
    return vmsim.Machine(memory="4MiB", swap="4MiB", record_events=True)


def test_parent_and_child_never_see_each_others_private_writes(m: vmsim.Machine) -> None:
    p = m.spawn()
    va = p.mmap(4 * PAGE)
    for i in range(4):
        p.store(va + i * PAGE, bytes([i]) * 8)
    c = p.fork()
    assert c.load(va + 2 * PAGE, 8) == bytes([2]) * 8
    c.store(va, b"child...")
    p.store(va + PAGE, b"parent..")
    assert p.load(va, 8) == bytes(8) and c.load(va, 8) == b"child..."
    assert c.load(va + PAGE, 8) == bytes([1]) * 8 and p.load(va + PAGE, 8) == b"parent.."
    m.check()


def test_cow_shares_frames_until_written(m: vmsim.Machine) -> None:
    p = m.spawn()
    va = p.mmap(4 * PAGE)
    for i in range(4):
        p.store(va + i * PAGE, b"x")
    in_use = m.kernel.frames.in_use()
    c = p.fork()
    assert (c.pte(va).frame, c.pte(va).cow) == (p.pte(va).frame, True)  # type: ignore[union-attr]
    assert not p.pte(va).writable and not c.pte(va).writable  # type: ignore[union-attr]
    assert m.kernel.frames.in_use() == in_use + c.stats.pgtables  # only page tables are new
    c.store(va, b"y")  # copy: the frame is shared
    assert c.pte(va).frame != p.pte(va).frame and m.stats.cow_copy == 1  # type: ignore[union-attr]
    p.store(va, b"z")  # the parent is the last user now: reuse, no copy
    assert m.stats.cow_copy == 1 and m.stats.cow_fault == 2 and p.pte(va).writable  # type: ignore[union-attr]
    copies = [e for e in m.events if isinstance(e, CowCopy)]
    assert [(e.pid, e.va) for e in copies] == [(c.pid, va)]
    m.check()


def test_exit_and_wait(m: vmsim.Machine) -> None:
    p = m.spawn()
    a, b = p.fork(), p.fork()
    assert {x.pid for x in p.children} == {a.pid, b.pid} and a.parent is not None
    with pytest.raises(OSError) as e:
        p.wait()
    assert e.value.errno == errno.EAGAIN
    b.exit(42)
    assert not b.alive and b.exit_status == 42
    assert p.waitpid() == (b.pid, 42)
    a.kill("SIGKILL")
    assert p.wait(a.pid) == -9
    with pytest.raises(OSError) as e:
        p.wait()
    assert e.value.errno == errno.ECHILD
    m.check()


def test_orphans_are_reaped_by_init(m: vmsim.Machine) -> None:
    p = m.spawn()
    c = p.fork()
    g = c.fork()
    c.exit(1)
    g.exit(2)
    assert p.wait() == 1
    assert g.parent is None and not g.alive
    assert m.kernel.procs[g.pid].state == "reaped"


def test_fork_copies_swapped_pages(m: vmsim.Machine) -> None:
    p = m.spawn()
    va = p.mmap(3 * PAGE)
    for i in range(3):
        p.store(va + i * PAGE, bytes([i + 1]))
    m.swap_out_process(p.pid)
    c = p.fork()
    assert c.stats.swap == 3 and c.load(va + PAGE, 1) == b"\x02"
    assert p.stats.rss == 1 and c.stats.rss == 1 and p.stats.swap == 2  # swap-in mapped both
    c.store(va + PAGE, b"c")
    assert p.load(va + PAGE, 1) == b"\x02"
    m.check()


def test_fork_refused_by_overcommit_never() -> None:
    m = vmsim.Machine(memory="1MiB", overcommit="never", overcommit_ratio=50)
    p = m.spawn()
    p.mmap(100 * PAGE)
    with pytest.raises(OSError) as e:
        p.fork()
    assert e.value.errno == errno.ENOMEM
    assert len(m.processes) == 1 and m.kernel.frames.in_use() == 1 + p.stats.pgtables
    m.check()


def test_the_heap_follows_the_fork() -> None:
    m = vmsim.Machine(memory="4MiB")
    p = m.spawn()
    a = p.malloc(100)
    p.store(a, b"parent's block")
    c = p.fork()
    assert c.load(a, 14) == b"parent's block"
    b1, b2 = p.malloc(64), c.malloc(64)
    assert b1 == b2  # the same heap state, in two copies
    c.free(a)
    p.heap.check()
    c.heap.check()
    assert p.load(a, 14) == b"parent's block"


def test_eight_children_copy_only_what_they_write() -> None:
    """A parent with 1 MiB of written heap forks 8 children; child i writes i+1 pages."""
    m = vmsim.Machine(memory="16MiB", record_events=True)
    p = m.spawn()
    heap = p.sbrk(1 << 20)
    npages = (1 << 20) // PAGE
    for i in range(npages):
        p.store(heap + i * PAGE, bytes([i % 251 + 1]))
    frames_before = m.kernel.frames.in_use()
    children = [p.fork() for _ in range(8)]
    assert m.stats.cow_copy == 0
    shared = m.kernel.frames.in_use() - frames_before
    assert shared == sum(c.stats.pgtables for c in children)  # no data frame was copied
    for n, c in enumerate(children):
        for i in range(n + 1):
            c.store(heap + i * 7 * PAGE, b"\xee")
    assert m.stats.cow_copy == sum(range(1, 9)) == 36
    assert [c.stats.cow_fault for c in children] == list(range(1, 9))
    assert p.stats.cow_fault == 0 and p.stats.rss == npages
    assert all(c.stats.rss == npages for c in children)
    for n, c in enumerate(children):
        for i in range(npages):
            want = b"\xee" if i % 7 == 0 and i // 7 <= n else bytes([i % 251 + 1])
            if i % 32 == 0 or i % 7 == 0:
                assert c.load(heap + i * PAGE, 1) == want
    assert all(p.load(heap + i * PAGE, 1) == bytes([i % 251 + 1]) for i in range(npages))
    for c in children:
        c.exit()
        p.wait()
    assert m.kernel.frames.in_use() == frames_before
    m.check()
