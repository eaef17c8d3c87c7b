"""The Machine API refuses what cannot work where it is asked, with the option or errno named.

- a directory (or a FIFO) is not mappable: mmap fails at once with ENODEV, as Linux's;
- a policy that needs the future (opt, unopt) is refused at construction, unless the
  machine is made for trace replays only (replay_only=True, what `vmsim replay` uses);
- an allocator's options are checked at spawn, not at the first malloc;
- addresses in errors and events are unsigned hex (a negative int is the 64-bit
  pointer it converts to), through one helper.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vmsim
from vmsim.errors import SyscallError, format_addr
from vmsim.events import Segv

SRC = Path(__file__).resolve().parents[1] / "src"


def _run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a user's script with this checkout's vmsim."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={"PYTHONPATH": str(SRC)},
    )


# --- mmap of something that is not a regular file ----------------------------------------


@pytest.mark.parametrize("shared", [False, True])
def test_mmap_of_a_directory_is_enodev_at_mmap(tmp_path: Path, shared: bool) -> None:
    p = vmsim.Machine().spawn()
    with pytest.raises(SyscallError) as e:
        p.mmap(4096, file=tmp_path, shared=shared)
    assert e.value.errno == errno.ENODEV
    assert str(e.value) == f"No such device: mmap: {tmp_path} is a directory: it cannot be mapped"
    assert p.vmas() == vmsim.Machine().spawn().vmas()  # nothing was mapped


def test_mmap_of_a_fifo_is_enodev_and_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SyscallError) as e:
        vmsim.Machine().spawn().mmap(4096, file=fifo)
    assert e.value.errno == errno.ENODEV and "not a regular file" in str(e.value)


def test_mmap_of_a_directory_as_a_user_types_it(tmp_path: Path) -> None:
    r = _run_python(
        "import vmsim\np = vmsim.Machine().spawn()\n"
        "try:\n    p.mmap(4096, file='/tmp')\n"
        "except OSError as e:\n    print(type(e).__name__, e.errno, e)\n",
        tmp_path,
    )
    assert r.stdout == (
        f"SyscallError {errno.ENODEV} No such device: "
        "mmap: /tmp is a directory: it cannot be mapped\n"
    )


# --- policies the machine cannot run ------------------------------------------------------


@pytest.mark.parametrize("name", ["opt", "unopt", "OPT"])
def test_a_policy_that_needs_the_future_is_refused_at_construction(name: str) -> None:
    with pytest.raises(vmsim.ConfigError) as e:
        vmsim.Machine(policy=name.lower())
    assert e.value.option == "policy"
    assert "needs the future" in str(e.value) and "replay_only=True" in str(e.value)


@pytest.mark.parametrize("name", ["arc", "2q", "lirs"])
def test_a_policy_that_remembers_evicted_pages_is_refused(name: str) -> None:
    with pytest.raises(vmsim.ConfigError, match="history of evicted pages") as e:
        vmsim.Machine(policy=name, replay_only=True)
    assert e.value.option == "policy"


def test_opt_on_a_replay_only_machine_gives_beladys_figures() -> None:
    # Belady's string: OPT faults 7 times with 3 frames, 6 with 4 (the textbook figures)
    refs = np.array([1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]) << 12
    faults = []
    for frames in (3, 4):
        with vmsim.Machine(memory="1MiB", swap="1MiB", policy="opt", replay_only=True) as m:
            faults.append(m.spawn(memory_limit=frames * 4096).replay(refs).faults)
    assert faults == [7, 6]


def test_a_replay_only_machine_refuses_memory_that_is_no_replay() -> None:
    m = vmsim.Machine(policy="opt", replay_only=True)
    p = m.spawn()
    for use, what in [(lambda: p.mmap(4096), "mmap"), (lambda: p.sbrk(4096), "sbrk"),
                      (lambda: p.new(8), "the C library")]:  # fmt: skip
        with pytest.raises(vmsim.ConfigError, match=f": {what} is not available") as e:
            use()
        assert e.value.option == "replay_only"


def test_vmsim_replay_still_runs_opt(tmp_path: Path) -> None:
    trace = tmp_path / "belady.txt"
    trace.write_text("".join(f"{p * 4096:#x}\n" for p in [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]))
    r = subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", "replay", str(trace), "-p", "opt", "-f", "3",
         "--json"],
        capture_output=True, text=True, check=False, cwd=tmp_path, env={"PYTHONPATH": str(SRC)},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert '"faults": 7' in r.stdout


# --- allocator options, checked at spawn ---------------------------------------------------


@pytest.mark.parametrize(
    ("allocator", "options", "option"),
    [
        ("textbook", {"fit": "bogus"}, "fit"),
        ("textbook", {"order": "random"}, "order"),
        ("textbook", {"grow": 0}, "grow"),
        ("textbook", {"colour": "blue"}, "colour"),
        ("glibc", {"fit": "best"}, "fit"),
        ("glibc", {"mxfast": 500}, "mxfast"),
        ("glibc", {"tcache_count": 1 << 16}, "tcache_count"),
        ("glibc", {"top_pad": -1}, "top_pad"),
        ("nope", {}, "allocator"),
    ],
)
def test_allocator_options_are_checked_at_spawn(
    allocator: str, options: dict[str, object], option: str
) -> None:
    m = vmsim.Machine(record_events=True)
    booted = list(m.events)
    with pytest.raises(vmsim.ConfigError) as e:
        m.spawn(allocator=allocator, **options)
    assert e.value.option == option
    assert m.processes == [] and m.events == booted  # refused before anything existed


def test_good_allocator_options_still_work() -> None:
    p = vmsim.Machine().spawn(allocator="textbook", fit="best", order="sizesort+", grow=8192)
    assert p.malloc(100) != 0
    q = vmsim.Machine().spawn(mxfast=0, tcache_count=0)
    assert q.malloc(24) != 0


# --- addresses in errors and events --------------------------------------------------------


def test_format_addr_is_unsigned_64_bit() -> None:
    assert format_addr(-0x800000000000) == "0xffff800000000000"
    assert format_addr(-1) == "0xffffffffffffffff"
    assert format_addr(0x401000) == "0x401000"
    assert format_addr(0x800000000000) == "0x800000000000"


def test_a_negative_address_is_named_unsigned_in_the_error_and_the_event() -> None:
    m = vmsim.Machine(record_events=True)
    p = m.spawn()
    with pytest.raises(vmsim.SegmentationFault) as e:
        p.load(-0x800000000000, 1)
    assert str(e.value) == "pid 1: SIGSEGV (SEGV_MAPERR) on read at 0xffff800000000000"
    segv = [ev for ev in m.events if isinstance(ev, Segv)]
    assert [str(s) for s in segv] == [
        "Segv(pid=1, va=0xffff800000000000, access=read, code=SEGV_MAPERR)"
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: p.mmap(4096, addr=-4096), "mmap: [0xfffffffffffff000, 0x0) is outside"),
        (lambda p: p.munmap(-4096, 4096), "munmap: bad range 0xfffffffffffff000+4096"),
        (lambda p: p.brk(-4096), "brk: 0xfffffffffffff000 is below the heap start"),
        (lambda p: p.mprotect(-8192, 4096, "r"), "mprotect: [0xffffffffffffe000, 0xfffff"),
    ],
)
def test_system_call_errors_name_addresses_unsigned(call: object, message: str) -> None:
    p = vmsim.Machine().spawn()
    with pytest.raises(SyscallError) as e:
        call(p)  # type: ignore[operator]
    assert message in str(e.value)
    assert "-0x" not in str(e.value)


def test_negative_address_as_a_user_types_it(tmp_path: Path) -> None:
    r = _run_python(
        "import vmsim\np = vmsim.Machine().spawn()\n"
        "try:\n    p.store(-0x800000000000, b'x')\n"
        "except vmsim.SegmentationFault as e:\n    print(e)\n",
        tmp_path,
    )
    assert r.stdout == "pid 1: SIGSEGV (SEGV_MAPERR) on write at 0xffff800000000000\n"
