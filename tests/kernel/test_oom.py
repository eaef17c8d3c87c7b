"""The OOM killer: who dies, what is freed, and the machine goes on."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim
from vmsim import ProcessKilled
from vmsim.events import OomKill
from vmsim.kernel.oom import oom_badness

PAGE = 4096


def _fill(p: vmsim.Process, pages: int) -> int:
    va = p.mmap(pages * PAGE)
    for i in range(pages):
        p.store(va + i * PAGE, b"x")
    return va


def test_the_biggest_process_is_killed_and_the_faulting_one_goes_on() -> None:
    # 32 frames: zero page + page tables leave about 20 for data
    with vmsim.Machine(memory="128KiB", record_events=True) as m:
        big, small = m.spawn("big"), m.spawn("small")
        _fill(big, 14)
        vs = small.mmap(16 * PAGE)
        for i in range(16):
            small.store(vs + i * PAGE, bytes([i]))  # runs out of frames on the way
        assert not big.alive and small.alive
        assert m.stats.oom_kill == 1 and big.exit_status == -9
        kill = next(e for e in m.events if isinstance(e, OomKill))
        assert kill.pid == big.pid and kill.badness >= 14
        with pytest.raises(ProcessKilled, match="OOM killer"):
            big.load(0x401000, 1)
        assert all(small.load(vs + i * PAGE, 1) == bytes([i]) for i in range(16))
        m.check()


def test_oom_score_adj_minus_1000_exempts_and_the_faulter_dies() -> None:
    with vmsim.Machine(memory="128KiB") as m:
        big = m.spawn("big", oom_score_adj=-1000)
        _fill(big, 14)
        small = m.spawn("small")
        with pytest.raises(ProcessKilled) as e:
            _fill(small, 16)
        assert e.value.pid == small.pid and big.alive and not small.alive
        assert m.stats.oom_kill == 1
        m.check()


def test_oom_score_adj_shifts_the_choice() -> None:
    with vmsim.Machine(memory="128KiB", swap=0) as m:
        a = m.spawn("a", oom_score_adj=500)
        b = m.spawn("b")
        _fill(a, 3)
        _fill(b, 8)
        assert oom_badness(m.kernel, a._proc) > oom_badness(m.kernel, b._proc)  # type: ignore[operator]
        c = m.spawn("c")
        _fill(c, 10)
        assert not a.alive and b.alive and c.alive


def test_out_of_memory_and_swap_is_a_clean_kill_and_the_machine_goes_on() -> None:
    with vmsim.Machine(memory="128KiB", swap="64KiB", overcommit="always") as m:
        hog = m.spawn("hog")
        with pytest.raises(ProcessKilled):
            _fill(hog, 64)
        assert m.stats.oom_kill == 1 and m.kernel.swap.used == 0
        assert m.kernel.frames.in_use() == 1  # only the zero page
        again = m.spawn("after")
        va = _fill(again, 20)  # 20 data pages still fit with swap
        assert again.load(va, 1) == b"x"
        m.check()


def test_no_killable_process_is_a_clear_error() -> None:
    with vmsim.Machine(memory="64KiB", overcommit="always") as m:
        p = m.spawn(oom_score_adj=-1000)
        with pytest.raises(vmsim.OutOfMemory):
            _fill(p, 32)


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 12)), min_size=1, max_size=15))
def test_killed_processes_free_every_frame_and_slot(script: list[tuple[int, int]]) -> None:
    with vmsim.Machine(memory="96KiB", swap="32KiB") as m:
        procs = [m.spawn() for _ in range(4)]
        for who, pages in script:
            p = procs[who]
            if not p.alive:
                continue
            with contextlib.suppress(ProcessKilled):
                _fill(p, pages)
            m.check()  # dead processes hold no frame, no slot, no page table
        live = [p for p in procs if p.alive]
        assert m.kernel.swap.used == sum(p.stats.swap for p in live)
        for p in procs:
            if p.alive:
                p.exit()
        assert m.kernel.frames.in_use() == 1 and m.kernel.swap.used == 0


def test_a_fork_under_memory_pressure_never_kills_its_half_built_child() -> None:
    with vmsim.Machine(memory="128KiB", overcommit="always") as m:
        parent = m.spawn("parent")
        _fill(parent, 16)
        other = m.spawn("other")
        try:
            child = parent.fork()
        except ProcessKilled:
            assert not parent.alive  # the parent itself may be chosen; the child never half-built
        else:
            assert child.alive and child.load(0x401000, 1) == b"\0"
        m.check()
        assert other.alive or m.stats.oom_kill >= 1
