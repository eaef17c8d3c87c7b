"""fork with copy-on-write, exit and wait."""

from __future__ import annotations

import errno

import pytest

import vmsim
from vmsim.errors import SyscallError
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
    assert g.parent is None and not g.alive and g.exit_status == 2
    assert [x.pid for x in m.processes] == [p.pid]  # init reaped the orphan
    assert set(m.kernel.procs) == {p.pid}
    with pytest.raises(OSError) as e:
        m.process(g.pid)
    assert e.value.errno == errno.ESRCH


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


def test_reaped_processes_leave_every_table() -> None:
    m = vmsim.Machine(memory="4MiB")
    p = m.spawn()
    kids = [p.fork() for _ in range(5)]
    assert len(m.processes) == 6
    for c in kids:
        c.exit(3)
    assert len(m.processes) == 6  # zombies stay until waited for
    for n in range(5, 0, -1):
        p.wait()
        assert len(m.processes) == n and len(m.kernel.procs) == n
    assert [x.pid for x in m.processes] == [p.pid]
    assert kids[0].exit_status == 3  # a handle still reads a reaped process


def test_a_memory_cgroup_forgets_its_tables_when_reaped() -> None:
    m = vmsim.Machine(memory="4MiB")
    p = m.spawn(memory_limit="64KiB")
    va = p.mmap(4 * PAGE)
    p.store(va, b"x")
    c = p.fork()  # its own cgroup with the same limit
    c.store(va + PAGE, b"y")
    rc = m.kernel.reclaimer
    assert len(rc.cgroup_policy) == 2
    p.exit()  # its frame is still mapped by the child: the cgroup lives on
    assert len(rc.cgroup_policy) == 2 and rc.charge[p._proc] == 1
    m.check()
    c.exit()
    assert rc.cgroup_policy == {} and rc.charge == {}
    m.check()


def test_the_parent_inherits_the_faults_of_reaped_children() -> None:
    m = vmsim.Machine(memory="4MiB", swap="1MiB")
    p = m.spawn()
    va = p.mmap(2 * PAGE)
    p.store(va, b"x")
    c = p.fork()
    g = c.fork()
    g.store(va + PAGE, b"g")  # one minor fault in the grandchild
    c.store(va, b"c")  # one COW fault in the child
    m.swap_out_process(c.pid)
    c.load(va, 1)  # one major fault
    g.exit()
    c.wait()
    c.exit()
    p.wait()
    assert c.stats.min_flt == 1 and c.stats.maj_flt == 1 and g.stats.min_flt == 1
    assert p.children_faults == (2, 1)


def test_pids_wrap_to_300_and_skip_pids_in_use() -> None:
    """Linux's alloc_pid: the next pid after the last, below pid_max; then from 300."""
    m = vmsim.Machine(memory="4MiB", pid_max=310, max_processes=100)
    p = m.spawn()
    assert p.pid == 1
    held = [p.fork() for _ in range(4)]  # pids 2..5 stay in use
    assert [c.pid for c in held] == [2, 3, 4, 5]
    seen = []
    for _ in range(307):
        c = p.fork()
        seen.append(c.pid)
        c.exit()
        p.wait()
    assert seen[:3] == [6, 7, 8] and seen[303] == 309  # 6 .. 309: 304 pids
    assert seen[-3:] == [300, 301, 302]  # wrapped to RESERVED_PIDS, not to 1
    z = p.fork()
    assert z.pid == 303
    zombie = p.fork()  # 304, a zombie: its pid stays taken until it is reaped
    zombie.exit()
    for _ in range(6):  # 305 .. 309, then 300 (304 is held by the zombie, 303 by z)
        c = p.fork()
        last = c.pid
        c.exit()
        p.wait(c.pid)
    assert last == 300
    assert [p.fork().pid for _ in range(3)] == [301, 302, 305]
    m.check()


def test_fork_fails_with_eagain_when_no_pid_is_free() -> None:
    m = vmsim.Machine(memory="16MiB", pid_max=301, max_processes=1000)
    p = m.spawn()
    kids = [p.fork() for _ in range(299)]  # pids 2 .. 300: every pid is in use
    assert kids[-1].pid == 300
    with pytest.raises(SyscallError) as e:
        p.fork()
    assert e.value.errno == errno.EAGAIN and "pid_max=301" in str(e.value)
    kids[10].exit()
    assert p.wait() == 0  # pid 12 is free, but below RESERVED_PIDS after the wrap
    with pytest.raises(SyscallError) as e:
        p.fork()
    assert e.value.errno == errno.EAGAIN
    kids[-1].exit()
    p.wait()
    assert p.fork().pid == 300
    m.check()


def test_fork_fails_with_eagain_at_max_processes() -> None:
    m = vmsim.Machine(memory="4MiB", max_processes=4)
    p = m.spawn()
    kids = [p.fork() for _ in range(3)]
    frames = m.kernel.frames.in_use()
    with pytest.raises(OSError) as e:
        p.fork()
    assert isinstance(e.value, SyscallError) and e.value.errno == errno.EAGAIN
    assert len(m.processes) == 4 and m.kernel.frames.in_use() == frames  # nothing half-made
    with pytest.raises(OSError) as e:
        m.spawn()
    assert e.value.errno == errno.EAGAIN
    kids[0].exit()
    assert len(m.processes) == 4  # a zombie still counts, as in Linux
    with pytest.raises(OSError):
        p.fork()
    p.wait()
    assert p.fork().alive
    m.check()


def test_the_default_process_limit_follows_linux_threads_max() -> None:
    assert vmsim.MachineConfig(memory="1MiB").threads_max == 20  # the floor
    assert vmsim.MachineConfig(memory="64MiB").threads_max == 512  # RAM / 128 KiB
    assert vmsim.MachineConfig(memory="1MiB", max_processes=7).threads_max == 7
    assert vmsim.MachineConfig().pid_max == 32768


@pytest.mark.parametrize(
    ("option", "value"), [("pid_max", 300), ("pid_max", 4 * 1024 * 1024 + 1), ("max_processes", 0)]
)
def test_process_limits_are_validated(option: str, value: int) -> None:
    with pytest.raises(vmsim.ConfigError, match=option):
        vmsim.MachineConfig(**{option: value})
