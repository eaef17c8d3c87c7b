"""The OOM killer: who dies, what is freed, and the machine goes on."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim
from vmsim import ProcessKilled
from vmsim.events import OomKill
from vmsim.kernel.oom import oom_badness, out_of_memory, total_pages

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


def _badness_terms(p: vmsim.Process) -> tuple[int, int, int]:
    return p.stats.rss, p.stats.swap, p.stats.pgtables


def _oom(m: vmsim.Machine, procs: list[vmsim.Process]) -> list[bool]:
    """Run the OOM killer once (no faulting process); which of procs are alive after."""
    assert out_of_memory(m.kernel, None)
    return [p.alive for p in procs]


# Each test below makes one term of Linux's oom_badness differ between two processes and
# keeps the others equal. The process that must die is the EARLIER one: were the term
# ignored, the two would tie and Linux's rule (the later task wins a tie) would kill the
# other one, so every term is pinned by a test that fails without it.


def test_rss_alone_decides() -> None:
    with vmsim.Machine(memory="4MiB") as m:
        a, b = m.spawn("a"), m.spawn("b")
        _fill(a, 3)
        _fill(b, 2)
        assert _badness_terms(a) == (3, 0, 4) and _badness_terms(b) == (2, 0, 4)
        assert _oom(m, [a, b]) == [False, True]


def test_swap_entries_alone_decide() -> None:
    with vmsim.Machine(memory="4MiB", swap="1MiB") as m:
        a, b = m.spawn("a"), m.spawn("b")
        va = _fill(a, 4)
        assert m.swap_out_process(a.pid) == 4
        a.load(va, 1)
        a.load(va + PAGE, 1)  # two pages back in: rss 2, two swap entries left
        vb = b.mmap(4 * PAGE)
        b.store(vb, b"x")
        b.store(vb + PAGE, b"x")
        assert _badness_terms(a) == (2, 2, 4) and _badness_terms(b) == (2, 0, 4)
        assert _oom(m, [a, b]) == [False, True]
        assert m.kernel.swap.used == 0  # the victim's slots were freed


def test_page_tables_alone_decide() -> None:
    with vmsim.Machine(memory="4MiB") as m:
        a, b = m.spawn("a"), m.spawn("b")
        for va in (1 << 39, 2 << 39):  # two top-level slots: two sets of lower tables
            a.mmap(PAGE, addr=va)
            a.store(va, b"x")
        _fill(b, 2)  # two pages under one set of tables
        assert _badness_terms(a) == (2, 0, 7) and _badness_terms(b) == (2, 0, 4)
        assert _oom(m, [a, b]) == [False, True]


def test_oom_score_adj_alone_decides_from_1000_pages() -> None:
    with vmsim.Machine(memory="4MiB") as m:  # 1,024 pages: each unit of adj is one page
        a, b = m.spawn("a", oom_score_adj=1), m.spawn("b")
        _fill(a, 2)
        _fill(b, 2)
        assert oom_badness(a._proc, total_pages(m.kernel)) == 2 + 4 + 1
        assert _oom(m, [a, b]) == [False, True]


def test_oom_score_adj_scales_by_whole_thousands_of_pages() -> None:
    """adj *= totalpages / 1000 divides first: at 1,999 pages adj 10 weighs 10 pages, not 19."""
    with vmsim.Machine(memory="4MiB", swap=976 * PAGE) as m:  # slot 0 holds the swap header
        assert total_pages(m.kernel) == 1999
        a, b = m.spawn("a", oom_score_adj=10), m.spawn("b")
        _fill(a, 2)
        _fill(b, 2 + 15)
        assert oom_badness(a._proc, 1999) == 2 + 4 + 10
        assert oom_badness(b._proc, 1999) == 17 + 4
        assert _oom(m, [a, b]) == [True, False]


def test_oom_score_adj_has_no_effect_below_1000_pages() -> None:
    with vmsim.Machine(memory="512KiB") as m:  # 128 pages: totalpages / 1000 == 0
        a, b = m.spawn("a", oom_score_adj=1000), m.spawn("b", oom_score_adj=-999)
        _fill(a, 2)
        _fill(b, 2)
        assert oom_badness(a._proc, 128) == oom_badness(b._proc, 128) == 2 + 4
        assert _oom(m, [a, b]) == [True, False]  # a tie: the later one goes


def test_a_tie_kills_the_later_task() -> None:
    with vmsim.Machine(memory="4MiB") as m:
        procs = [m.spawn(f"p{i}") for i in range(3)]
        for p in procs:
            _fill(p, 2)
        assert _oom(m, procs) == [True, True, False]
        assert _oom(m, procs) == [True, False, False]


def test_a_tie_goes_by_task_list_order_not_by_pid() -> None:
    """After the pids wrap, the later task can have the lower pid: it still loses the tie."""
    with vmsim.Machine(memory="4MiB", pid_max=305) as m:
        for _ in range(303):  # pids 1 .. 303 come and go
            m.spawn().exit()
        a = m.spawn("a")
        b = m.spawn("b")
        assert (a.pid, b.pid) == (304, 300)
        _fill(a, 2)
        _fill(b, 2)
        assert _oom(m, [a, b]) == [True, False]


def test_negative_points_are_still_candidates() -> None:
    with vmsim.Machine(memory="4MiB") as m:  # adj -999 at 1,024 pages: 6 - 999 points
        a = m.spawn("a", oom_score_adj=-999)
        _fill(a, 2)
        assert oom_badness(a._proc, 1024) == 6 - 999
        assert _oom(m, [a]) == [False]
        assert not out_of_memory(m.kernel, None)  # nobody is left to kill


def test_oom_score_adj_shifts_the_choice_in_a_real_fault() -> None:
    with vmsim.Machine(memory="4MiB", swap=0, record_events=True) as m:
        a = m.spawn("a", oom_score_adj=800)  # 1,024 pages: +800 points
        _fill(a, 3)
        b = m.spawn("b")
        _fill(b, 500)
        assert oom_badness(a._proc, 1024) == 3 + 4 + 800
        c = m.spawn("c")
        _fill(c, 1024 - m.kernel.frames.in_use())  # its page tables make it one too many
        assert not a.alive and b.alive and c.alive
        kill = next(e for e in m.events if isinstance(e, OomKill))
        assert (kill.pid, kill.badness) == (a.pid, 807)


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
    """29 frames: the fork runs out while copying its second set of page tables.

    By then the half-built child maps the 8 heap pages (badness 8 + 6 tables), more than
    `other` (1 + 4); the OOM killer must pass over the child and kill `other`.
    """
    with vmsim.Machine(memory=29 * PAGE, overcommit="always") as m:
        parent = m.spawn("parent", oom_score_adj=-1000)
        heap = parent.sbrk(8 * PAGE)
        for i in range(8):
            parent.store(heap + i * PAGE, bytes([i + 1]))
        va = _fill(parent, 2)  # near the top of user space: page tables of its own
        other = m.spawn("other")
        _fill(other, 1)
        assert m.kernel.frames.in_use() == 23  # the child needs 7 page-table pages
        child = parent.fork()
        assert m.stats.oom_kill == 1 and not other.alive
        assert child.alive and child.oom_score_adj == -1000  # the parent's, once built
        assert [child.load(heap + i * PAGE, 1)[0] for i in range(8)] == list(range(1, 9))
        assert child.load(va + PAGE, 1) == b"x"
        m.check()
