"""Time sharing: round-robin over programs, quanta in accesses, context switches."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pytest

import vmsim
from vmsim.events import ContextSwitch

PAGE = 4096


def toucher(n: int, status: int = 0):  # type: ignore[no-untyped-def]
    """A program that makes n stores to its own page, yielding after each."""

    def prog(p: vmsim.Process) -> Generator[object, object, int]:
        va = p.mmap(PAGE)
        for i in range(n):
            p.store(va + (i % 512) * 8, b"12345678")
            yield
        return status

    return prog


def test_round_robin_with_quanta_counted_in_accesses() -> None:
    m = vmsim.Machine(memory="1MiB", record_events=True)
    a = m.spawn("a", program=toucher(250, 3))
    b = m.spawn("b", program=toucher(100, 4))
    result = m.run(quantum=50)
    assert result.exit_status == {a.pid: 3, b.pid: 4}
    assert result.accesses == {a.pid: 250, b.pid: 100}
    # a makes 250 accesses, b 100, in quanta of 50: a b a b a, then b runs once more
    # to return (its program ends), then a: 4 more quanta, alone (no switch in between)
    order = [e.next_pid for e in m.events if isinstance(e, ContextSwitch)]
    assert order == [a.pid, b.pid, a.pid, b.pid, a.pid, b.pid, a.pid]
    assert result.quanta == 9
    assert a.stats.cpu_accesses == 250 and not a.alive


@pytest.mark.parametrize("asid_bits", [0, 8])
def test_context_switches_flush_the_tlb_unless_asids(asid_bits: int) -> None:
    m = vmsim.Machine(memory="1MiB", asid_bits=asid_bits)
    for name in "abc":
        m.spawn(name, program=toucher(300))
    result = m.run(quantum=100)
    assert result.context_switches == m.stats.context_switches >= 8
    if asid_bits:
        assert m.stats.tlb_flushes == 0
    else:
        assert m.stats.tlb_flushes == m.stats.context_switches


def test_wait_blocks_until_a_child_exits() -> None:
    m = vmsim.Machine(memory="1MiB")
    seen = []

    def parent(p: vmsim.Process) -> Generator[object, object, int]:
        p.fork(program=toucher(500, 9))
        pid, status = yield vmsim.Wait()
        seen.append((pid, status))
        return 0

    par = m.spawn(program=parent)
    m.run(quantum=64)
    assert seen == [(par.pid + 1, 9)] and not par.alive


def test_a_program_killed_by_a_signal_does_not_stop_the_others() -> None:
    m = vmsim.Machine(memory="1MiB")

    def crasher(p: vmsim.Process) -> Generator[object, object, int]:
        yield
        p.load(0x10, 1)
        return 0

    good = m.spawn(program=toucher(100, 5))
    bad = m.spawn(program=crasher)
    result = m.run(quantum=10)
    assert result.exit_status == {good.pid: 5, bad.pid: -11}


def test_deadlock_is_reported() -> None:
    m = vmsim.Machine(memory="1MiB")

    def parent(p: vmsim.Process) -> Generator[object, object, int]:
        p.fork()  # a child without a program never exits
        yield vmsim.Wait()
        return 0

    m.spawn(program=parent)
    with pytest.raises(vmsim.VmsimError, match="never exit"):
        m.run()


def test_two_real_traces_share_the_cpu(gzip_trace: tuple[np.ndarray, np.ndarray]) -> None:
    """Interleaved with memory cgroups, each trace faults exactly as it does alone."""
    addrs, kinds = gzip_trace
    a_part = (addrs[:300_000], kinds[:300_000])
    b_part = (addrs[300_000:500_000], kinds[300_000:500_000])
    alone = []
    for part in (a_part, b_part):
        with vmsim.Machine(memory="2MiB", swap="4MiB", policy="lru") as solo:
            alone.append(solo.spawn(memory_limit="128KiB").replay(*part).faults)
    with vmsim.Machine(memory="2MiB", swap="4MiB", policy="lru") as m:
        a = m.spawn("gzip-a", trace=a_part, memory_limit="128KiB")
        b = m.spawn("gzip-b", trace=b_part, memory_limit="128KiB")
        result = m.run(quantum=1000)
        assert result.accesses == {a.pid: 300_000, b.pid: 200_000}
        assert [a.stats.min_flt + a.stats.maj_flt, b.stats.min_flt + b.stats.maj_flt] == alone
        assert result.context_switches >= 400
        m.check()


def test_run_rejects_a_bad_quantum() -> None:
    with pytest.raises(vmsim.ConfigError):
        vmsim.Machine().run(quantum=0)


def test_recorded_lackey_files_run_as_processes() -> None:
    """Two real recorded traces (tests/data), given as files, share the CPU."""
    from pathlib import Path

    from vmsim.engine.api import open_trace, simulate

    data = Path(__file__).resolve().parents[1] / "data"
    files = [data / "ls.lackey.xz", data / "walk.lackey.xz"]
    with vmsim.Machine(memory="4MiB", swap="8MiB", policy="fifo") as m:
        procs = [m.spawn(f.name, trace=f, memory_limit="256KiB") for f in files]
        result = m.run(quantum=50_000)
        for p, f in zip(procs, files, strict=True):
            assert result.accesses[p.pid] == len(open_trace(f).pages(12))
            faults = p.stats.min_flt + p.stats.maj_flt
            assert faults == simulate(open_trace(f), "fifo", 64).misses  # as the engine counts
        # ls needs 18 quanta, walk 37: they alternate 18 times each, then walk runs alone
        n_ls = -(-result.accesses[procs[0].pid] // 50_000)
        assert n_ls == 18 and result.context_switches == 2 * n_ls - 1
