"""vmsim run: real x86-64 programs, compiled here at test time, run on the machine.

Outputs and exit statuses are compared with the same binary run natively on the host;
page-fault counts with the native run's getrusage (tolerance stated where used).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

import vmsim
from vmsim.cli.main import main
from vmsim.kernel import syscall

HERE = Path(__file__).parent
PAGE = 4096


def _compile(out: Path, src: str, *flags: str) -> Path:
    """Compile a source file of this directory with gcc/g++."""
    cc = "g++" if src.endswith(".cpp") else "gcc"
    if shutil.which(cc) is None:
        pytest.fail(f"{cc} is needed (.ci/run installs it)")
    subprocess.run([cc, "-O1", "-o", str(out), str(HERE / src), *flags], check=True)
    return out


@pytest.fixture(scope="module")
def bins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bins")
    return {
        "static": _compile(d / "progs", "progs.c", "-static", "-pthread"),
        "dynamic": _compile(d / "progs_dyn", "progs.c", "-pthread"),
        "cxx": _compile(d / "newdel", "newdel.cpp"),
    }


def native(argv: list[str]) -> tuple[bytes, int, int]:
    """(stdout, exit status as a shell reports it, minor + major faults) of a native run."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return out, code, usage.ru_minflt + usage.ru_majflt


def on_vmsim(
    capfd: pytest.CaptureFixture[str], argv: list[str], **machine: object
) -> tuple[str, vmsim.Machine, vmsim.Process]:
    """Run argv on a machine; (its stdout, the machine, the process)."""
    m = vmsim.Machine(**{"memory": "128MiB", **machine})
    p = m.spawn(program=argv[0], argv=argv)
    m.run()
    return capfd.readouterr().out, m, p


def vmsim_run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`vmsim run ARGS`: (exit status, stdout, stderr)."""
    status = main(["run", *args])
    cap = capfd.readouterr()
    return status, cap.out, cap.err


def test_static_hello_matches_native(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bins["static"]), "hello", "x"]
    want, code, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want and code == 3
    assert p.exit_status == 3
    assert m.stats.pgfault > 0 and m.runtime.syscalls["write"] == 1
    assert m.runtime.syscalls["exit_group"] == 1
    m.check()


def test_touching_16_mib_faults_every_page_like_native(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bins["static"]), "touch", "16"]
    want, _, native_faults = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want
    assert p.exit_status == 0
    pages = 16 << 20 >> 12
    faults = p.stats.min_flt + p.stats.maj_flt
    assert faults >= pages  # every touched page was faulted in by vmsim's kernel
    assert abs(faults - native_faults) <= 0.10 * native_faults  # within 10% of native
    m.check()


def test_cxx_new_delete_nothrow_bad_alloc(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bins["cxx"])]
    want, code, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want and "caught bad_alloc" in out
    assert p.exit_status == code == 0
    assert m.runtime.syscalls["openat"] >= 3  # ld.so opened libstdc++, libm, libc, libgcc_s...
    assert m.runtime.syscalls["mmap"] > 0


def _pid_blind(out: str) -> list[str]:
    """The lines of the fork program's output with its pid-adjacency flag masked."""
    return [re.sub(r"child [01] exited", "child ? exited", line) for line in out.splitlines()]


def test_fork_waitpid_copy_on_write(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bins["static"]), "fork"]
    want, _, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    # "child 1": the child's pid follows the parent's, natively only if no other process on
    # the host (pytest's own workers, say) took a pid in between: compared apart
    assert sorted(_pid_blind(out)) == sorted(_pid_blind(want.decode()))
    assert "parent sees 1, child 1 exited 7" in out
    assert p.exit_status == 0
    # the child wrote 128 of the 256 shared heap pages: each is one copy-on-write copy
    assert m.stats.cow_copy >= 128
    assert m.runtime.syscalls["clone"] == 1 and m.runtime.syscalls["wait4"] == 1
    m.check()


def test_dynamic_binary_reads_a_file(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = tmp_path / "lines.txt"
    text.write_text("one\ntwo\nthree\n")
    argv = [str(bins["dynamic"]), "cat", str(text)]
    want, code, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want == b"one\ntwo\nthree\n"
    assert p.exit_status == code == 0
    assert m.runtime.syscalls["pread64"] + m.runtime.syscalls["read"] > 0


@pytest.mark.parametrize(("mode", "status"), [("segv", 139), ("abort", 134)])
def test_signals_exit_like_linux(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], mode: str, status: int
) -> None:
    argv = [str(bins["static"]), mode]
    _, code, _ = native(argv)
    assert code == status
    got, _, err = vmsim_run(capfd, "-q", *argv)
    assert got == status
    assert "Traceback" not in err


def test_sigbus_beyond_the_end_of_a_mapped_file(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    one = tmp_path / "one"
    one.write_text("A")
    argv = [str(bins["static"]), "bus", str(one)]
    want, code, _ = native(argv)
    assert code == 135
    got, out, _ = vmsim_run(capfd, "-q", *argv)
    assert (got, out.encode()) == (135, want)


def test_oom_killer_and_swap(bins: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    argv = [str(bins["static"]), "touch", "16"]
    want, _, _ = native(argv)
    got, _, err = vmsim_run(capfd, "-q", "--memory", "4MiB", "--overcommit", "always", *argv)
    assert got == 137  # SIGKILL from the OOM killer
    got, out, err = vmsim_run(capfd, "--json", "--memory", "4MiB", "--swap", "32MiB", *argv)
    assert (got, out.encode()) == (0, want)
    report = json.loads(err.strip().splitlines()[-1])
    assert report["major_faults"] > 0 and report["swaps_out"] > 0 and report["swaps_in"] > 0
    assert report["max_rss_kib"] <= 4096


def test_overcommit_never_makes_malloc_fail(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    got, out, _ = vmsim_run(
        capfd, "-q", "--memory", "4MiB", "--overcommit", "never", str(bins["static"]), "touch", "16"
    )
    assert (got, out) == (1, "malloc failed\n")


def test_report_and_exit_status(bins: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    got, out, err = vmsim_run(capfd, "--json", str(bins["static"]), "hello")
    assert got == 3 and out == f"hello from {bins['static']} with 2 args\n"
    report = json.loads(err.strip().splitlines()[-1])
    assert report["exit_status"] == 3
    assert report["minor_faults"] + report["major_faults"] > 0
    assert report["vmsim"]["syscalls"]["write"] == 1
    assert report["vmsim"]["tlb_fills"] > 0
    got, _, err = vmsim_run(capfd, str(bins["static"]), "hello")
    assert "Minor (reclaiming a frame) page faults" in err


def test_clear_errors(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    got, _, err = vmsim_run(capfd, str(tmp_path / "nothing"))
    assert got == 1 and err.strip() == f"vmsim: error: run: {tmp_path / 'nothing'}: no such file"
    (tmp_path / "script.sh").write_text("#!/bin/sh\n")
    got, _, err = vmsim_run(capfd, str(tmp_path / "script.sh"))
    assert got == 1 and "not an ELF executable" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "elf32").write_bytes(b"\x7fELF\x01\x01\x01" + bytes(9) + b"\x02\x00\x03\x00")
    got, _, err = vmsim_run(capfd, str(tmp_path / "elf32"))
    assert got == 1 and "not an x86-64 (64-bit) ELF executable" in err
    got, _, err = vmsim_run(capfd, "-q", str(bins["static"]), "thread")
    assert got == 1 and "CLONE_VM (threads) is not supported" in err
    assert "Traceback" not in err


def test_avx_is_a_clear_sigill(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    exe = _compile(tmp_path / "avx", "avx.c", "-static", "-mavx", "-O0")
    got, _, err = vmsim_run(capfd, "-q", str(exe))
    assert got == 132  # SIGILL, as a CPU without AVX would deliver
    assert "invalid instruction at 0x" in err


def test_unknown_syscall_is_enosys_logged_once(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    got, out, err = vmsim_run(capfd, "-q", str(bins["static"]), "enosys")
    assert (got, out) == (0, "sysinfo -1 -1\n")
    assert err.count("syscall 99 (sysinfo) is not implemented: ENOSYS") == 1


def test_writes_only_under_writable(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.txt"
    got, _, err = vmsim_run(capfd, "-q", str(bins["static"]), "write", str(target))
    assert got == 2 and "Permission denied" in err and not target.exists()
    got, out, _ = vmsim_run(
        capfd, "-q", "--writable", str(tmp_path), str(bins["static"]), "write", str(target)
    )
    assert got == 0 and out == f"wrote {target}\n" and target.read_text() == "written\n"


@pytest.mark.parametrize("mode", ["catch", "jump"])
def test_signal_handlers_run(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], mode: str
) -> None:
    argv = [str(bins["static"]), mode]
    want, code, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want and code == 0
    assert p.exit_status == 0
    assert m.runtime.syscalls["rt_sigreturn"] == (2 if mode == "catch" else 0)


def test_fork_and_execve(bins: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    argv = [str(bins["static"]), "exec"]
    want, _, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want
    assert out == f"hello from {argv[0]} with 3 args\nchild exited 3\n"  # the child, then us
    assert m.runtime.syscalls["execve"] == 2  # one replaced the child, one failed (ENOENT)
    assert p.exit_status == 0
    m.check()


def test_narrate_and_events(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    got, out, err = vmsim_run(
        capfd, "-q", "--narrate", "3", "--events", str(log), str(bins["static"]), "touch", "1"
    )
    assert got == 0 and out == "touched 1 MiB, sum 32640\n"
    steps = [line for line in err.splitlines() if line and not line.startswith(" ")]
    assert len(steps) == 3 and steps[1].startswith("page fault: exec at ")
    assert any(line.startswith("    map ") for line in err.splitlines())
    records = [json.loads(line) for line in log.read_text().splitlines()]
    names = {r["event"] for r in records}
    assert {"PageFault", "MapPage", "Syscall", "Walk", "ProcessExit"} <= names
    brks = [r for r in records if r["event"] == "Syscall" and r["name"] == "brk"]
    assert brks  # malloc asked the kernel for heap


def test_pipe_between_processes(bins: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    argv = [str(bins["static"]), "pipe"]
    want, _, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want == b"read 200000 bytes, 200000 z, child 0\n"
    assert p.exit_status == 0
    assert m.stats.context_switches >= 3  # the full pipe handed the CPU back and forth


def test_argv_env_and_auxv_as_linux_sets_them(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bins["dynamic"]), "env", "two words"]
    want = subprocess.run(argv, env={"GREETING": "hi"}, capture_output=True, check=True).stdout
    m = vmsim.Machine(memory="64MiB")
    m.spawn(program=argv[0], argv=argv, env={"GREETING": "hi"})
    m.run()
    out = capfd.readouterr().out
    assert out.encode() == want
    assert out.startswith("GREETING=hi argv[2]=two words\npagesz 4096 ")


def test_compute_bound_processes_are_preempted(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    out, m, p = on_vmsim(capfd, [str(bins["static"]), "spin"])
    assert out == "child 1999999000000\nparent 1999999000000\n"
    # each loop is some 8 million instructions, quanta are 1 million: they take turns
    assert m.runtime.preemptions >= 8
    assert m.stats.context_switches >= m.runtime.preemptions
    assert p.exit_status == 0


def test_sigpipe_when_the_reader_is_gone(bins: dict[str, Path], tmp_path: Path) -> None:
    """`vmsim run prog | head -1`: the program dies of SIGPIPE (141) as it would natively."""
    script = f"{sys.executable} -m vmsim.cli.main run -q {bins['static']} pipeout | head -1"
    native_script = f"{bins['static']} pipeout | head -1"
    env = {**os.environ, "PYTHONPATH": str(Path(vmsim.__file__).parents[1])}
    got = subprocess.run(["bash", "-o", "pipefail", "-c", script], env=env, capture_output=True)
    want = subprocess.run(["bash", "-o", "pipefail", "-c", native_script], capture_output=True)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout) == (141, b"line 0\n")
    assert b"Traceback" not in got.stderr


def test_host_ls_lists_a_directory_as_natively(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("b", "a", "c.txt"):
        (tmp_path / name).write_text(name)
    (tmp_path / "sub").mkdir()
    ls = shutil.which("ls")
    assert ls is not None
    argv = [ls, "-la", "--time-style=+%s", str(tmp_path)]
    want, code, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want and p.exit_status == code == 0
    assert m.runtime.syscalls["getdents64"] >= 2  # entries, then the end of the directory


def test_a_working_set_beyond_qemus_first_tlb_stops_refilling(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """20 passes over 2048 pages: QEMU's 256-entry TLB is grown, not refilled every load."""
    argv = [str(bins["static"]), "stride"]
    want, _, _ = native(argv)
    out, m, _ = on_vmsim(capfd, argv)
    assert out.encode() == want
    loads = 20 * 2048
    # without growing: at least one fill per load; QEMU also shrinks its TLB by wall-clock
    # windows, so how many fills growing takes varies (some 6,000 to 10,000 here)
    assert m.runtime.fills < loads // 2
    assert sum(t.cpu.flushes for t in m.runtime.tasks.values()) >= 3  # 256 -> 2048 and more


def test_a_tlb_grown_while_memory_is_first_touched_holds_it_for_the_next_passes(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """4096 pages written, then read: the CPU flushes QEMU's TLB to grow it while the fills
    are first touches, so it holds all 4096 by the first read pass and a second pass
    fills nothing (modelled one doubling short, the TLB refilled every page of it)."""
    fills = []
    for passes in ("1", "2"):
        argv = [str(bins["static"]), "revisit", passes]
        want, _, _ = native(argv)
        out, m, _ = on_vmsim(capfd, argv)
        assert out.encode() == want
        fills.append(m.runtime.fills)
    assert 4096 < fills[0] < 3 * 4096
    assert fills[1] == fills[0]


def test_code_the_kernel_writes_over_runs_anew(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """read() stores new instructions over code already run: the new ones run."""
    argv = [str(bins["static"]), "recode"]
    want, code, _ = native(argv)
    out, _, p = on_vmsim(capfd, argv)
    assert out.encode() == want == b"recode 1 2\n"
    assert p.exit_status == code == 0


def test_sigprocmask_holds_signals_pending(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """Blocked signals wait (once), unblocking delivers them; a handler holds back its own."""
    argv = [str(bins["static"]), "mask"]
    want, code, _ = native(argv)
    got, out, err = vmsim_run(capfd, "-q", *argv)
    assert out.encode() == want
    assert out.startswith("blocked: handled 0, pending 1\nunblocked: handled 2, inside the ")
    assert got == code == 128 + 15  # the SIGTERM held back kills once unblocked
    assert "Traceback" not in err


def as_on_the_host(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], *args: str
) -> tuple[bytes, int]:
    """`vmsim run -q` of the static progs with args, and the host's run: their stdout and
    exit status must be the same; returns them."""
    argv = [str(bins["static"]), *args]
    want, code, _ = native(argv)
    got, out, _ = vmsim_run(capfd, "-q", *argv)
    assert (out.encode(), got) == (want, code)
    return want, code


def test_a_child_exit_sends_sigchld_with_its_siginfo(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """The parent's handler gets CLD_EXITED and the code, then CLD_KILLED and the signal."""
    assert as_on_the_host(bins, capfd, "sigchld") == (
        b"exit: handled 1, si_code 1, si_status 7, si_pid ok 1, waited ok 1, status 7\n"
        b"kill: handled 2, si_code 2, si_status 15, signaled 1, signal 15\n"
        b"default: handled 2\n",
        0,
    )


def test_real_time_signals_queue_with_their_values_in_order(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """Blocked, sigqueue'd three times each: every real-time instance arrives, lowest signal
    first and in the order sent, with its si_value; SIGUSR1 sent twice arrives once."""
    assert as_on_the_host(bins, capfd, "rtqueue") == (
        b"delivered: USR1/0/user RTMIN/1/queue RTMIN/2/queue RTMIN/3/queue"
        b" RTMIN+1/10/queue RTMIN+1/20/queue RTMIN+1/30/queue\n",
        0,
    )


def test_sigchld_ignored_leaves_no_zombie_and_wait_finds_echild(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """signal(SIGCHLD, SIG_IGN): the child is reaped as it exits; wait() waits, then ECHILD."""
    assert as_on_the_host(bins, capfd, "nozombie") == (b"wait -1, ECHILD 1, child gone 1\n", 0)


def test_sigsuspend_waits_for_a_signal_and_restores_the_mask(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """A child signals its parent, which waits in sigsuspend with SIGUSR1 blocked before."""
    assert as_on_the_host(bins, capfd, "sigsuspend") == (
        b"sigsuspend -1, EINTR 1, handled 1, SIGUSR1 blocked again 1\n",
        0,
    )


@pytest.mark.parametrize(
    ("program", "line"),
    [
        ("eintr", "read -1, EINTR 1, handled 1, then 1 'x'\n"),
        ("waitintr", "waitpid -1, EINTR 1, handled 1, then slow status 3\n"),
    ],
)
def test_a_handler_interrupts_a_wait_without_sa_restart(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], program: str, line: str
) -> None:
    """A child signals the parent while it waits: in read() on an empty pipe (the child
    writes after), or in waitpid for a slower child. vmsim runs the child only once the
    parent waits, so the wait fails with EINTR after the handler, as Linux's would. Not
    compared with the host: there the signal may come before the wait begins."""
    got, out, _ = vmsim_run(capfd, "-q", str(bins["static"]), program, "none")
    assert (got, out) == (0, line)


@pytest.mark.parametrize(
    ("program", "out"),
    [
        ("eintr", b"read 1, EINTR 0, handled 1, then 1 'x'\n"),
        ("waitintr", b"waitpid slow, EINTR 0, handled 1, then slow status 3\n"),
    ],
)
def test_sa_restart_lets_the_wait_go_on_as_on_the_host(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], program: str, out: bytes
) -> None:
    """With SA_RESTART the handler runs and the read or waitpid goes on to its result."""
    assert as_on_the_host(bins, capfd, program, "restart") == (out, 0)


def test_pause_with_no_one_to_signal_is_a_clear_deadlock(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """pause() in the only process: vmsim says nothing can ever wake it, no traceback."""
    src = tmp_path / "p.c"
    src.write_text("#include <unistd.h>\nint main(void) { pause(); return 0; }\n")
    exe = tmp_path / "p"
    subprocess.run(["gcc", "-O1", "-static", "-o", str(exe), str(src)], check=True)
    got, out, err = vmsim_run(capfd, "-q", str(exe))
    assert got == 1 and out == ""
    assert err.startswith("vmsim: ") and "waits for a signal no process will send" in err
    assert "Traceback" not in err


def test_a_sigbus_handler_runs(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A read past the end of a mapped file: the handler gets BUS_ADRERR and the address."""
    one = tmp_path / "one"
    one.write_text("A")
    argv = [str(bins["static"]), "catchbus", str(one)]
    want, code, _ = native(argv)
    got, out, _ = vmsim_run(capfd, "-q", *argv)
    assert out.encode() == want == b"first byte A, SIGBUS si_code 2, si_addr ok 1, c 0\n"
    assert got == code == 135  # the second one, blocked, kills


def test_mremap_moves_the_mapping_with_its_bytes(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """A moved mapping keeps its bytes; grown in place, shrunk, refused as Linux refuses.

    Its PTEs move (as Linux's move_page_tables): the 60 never-touched pages of the 64
    moved are not faulted in, so its minor faults are no more than native's (+10 pages;
    a cold page cache makes vmsim's file faults major ones).
    """
    argv = [str(bins["static"]), "mremap"]
    want, code, native_faults = native(argv)
    out, _, p = on_vmsim(capfd, argv)
    assert out.encode() == want and p.exit_status == code == 0
    assert out.startswith("moved 1, bytes abcd, tail zero 1\nold range unmapped 1, in place 1")
    assert p.stats.min_flt <= native_faults + 10


def test_getuid_family_and_dup3_as_natively(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    argv = [str(bins["static"]), "ids"]
    want, code, _ = native(argv)
    out, m, p = on_vmsim(capfd, argv)
    assert out.encode() == want and p.exit_status == code == 0
    assert out.startswith("uids 1, gids 1, ")
    assert not m.runtime._unknown  # every system call it made is implemented


def test_a_real_program_time_shares_with_a_python_one(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """A compiled program and a Python-scripted one on one machine: they take turns."""
    from vmsim.events import ContextSwitch

    def scripted(p: vmsim.Process):  # type: ignore[no-untyped-def]
        va = p.mmap(64 * PAGE)
        for i in range(64 * 50):
            p.store(va + (i % 64) * PAGE, b"x")
            yield
        return 5

    m = vmsim.Machine(memory="64MiB", record_events=True)
    real = m.spawn(program=str(bins["static"]), argv=[str(bins["static"]), "spin"])
    py = m.spawn("py", program=scripted)
    m.run()
    out = capfd.readouterr().out
    assert out == "child 1999999000000\nparent 1999999000000\n"
    assert (real.exit_status, py.exit_status) == (0, 5)
    order = [e.next_pid for e in m.events if isinstance(e, ContextSwitch)]
    turns = [pid for i, pid in enumerate(order) if i == 0 or order[i - 1] != pid]
    assert turns.count(py.pid) >= 2 and turns.count(real.pid) >= 2  # interleaved


@pytest.mark.parametrize("kind", ["static", "dynamic"])
def test_the_event_log_tells_malloc_then_its_mmap_then_the_first_touch(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], kind: str
) -> None:
    """The libc-level view: malloc's call, the mmap it makes, its return, the faults."""
    from vmsim import events as ev

    out, m, _ = on_vmsim(capfd, [str(bins[kind]), "touch", "1"], record_events=True)
    assert out == "touched 1 MiB, sum 32640\n"
    log = m.events
    call = next(i for i, e in enumerate(log) if isinstance(e, ev.LibcCall) and e.args == "1048576")
    assert log[call].func == "malloc"
    syscalls = [i for i in range(call, len(log)) if isinstance(log[i], ev.Syscall)]
    mmap = next(i for i in syscalls if log[i].name == "mmap")  # above the mmap threshold
    assert log[mmap].args.startswith("0x0, 0x101000, ")  # 1 MiB, its header, page-rounded
    base = log[mmap].result
    ret = next(
        i for i in range(mmap, len(log)) if isinstance(log[i], ev.LibcReturn)
    )  # nothing else starts or ends in between
    assert (log[ret].func, log[ret].result) == ("malloc", base + 16)  # after the chunk header
    faults = [
        i for i, e in enumerate(log) if isinstance(e, ev.PageFault) and e.va >> 12 == base >> 12
    ]
    assert faults and call < faults[0] < ret  # malloc writes the chunk's size: its first touch
    second = [
        i
        for i, e in enumerate(log)
        if isinstance(e, ev.PageFault) and e.va >> 12 == (base >> 12) + 1
    ]
    assert second and second[0] > ret  # the program's own first store to its next page


def test_narrate_steps_from_a_window_starts_at_malloc(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    """--from M --steps N tells steps M .. M+N-1; a malloc call is a step of its own."""
    _, _, err = vmsim_run(capfd, "-q", "--steps", "100000", str(bins["static"]), "touch", "1")
    steps = [line for line in err.splitlines() if line and not line.startswith(" ")]
    at = steps.index("pid 1 calls malloc(1048576)")
    _, _, err = vmsim_run(
        capfd, "-q", "--from", str(at), "--steps", "2", str(bins["static"]), "touch", "1"
    )
    window = [line for line in err.splitlines() if line and not line.startswith(" ")]
    assert window == steps[at : at + 2]
    assert window[1].startswith("pid 1 mmap(0x0, 0x101000, ")


def test_a_big_endian_host_is_a_clear_error(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CPU's walks read guest words in the host's byte order: it refuses another."""
    monkeypatch.setattr(sys, "byteorder", "big")
    got, _, err = vmsim_run(capfd, "-q", str(bins["static"]), "hello")
    assert got == 1
    assert (
        err.strip()
        == "vmsim: error: real programs need a little-endian host (this one is big-endian)"
    )


def test_a_run_loads_no_numpy(bins: dict[str, Path]) -> None:
    """A real program's run needs no NumPy (44 ms of start-up): a fresh `vmsim run` leaves it
    unloaded, its report included."""
    code = (
        "import sys\n"
        "from vmsim.cli.main import main\n"
        "status = main(sys.argv[1:])\n"
        "print(status, 'numpy' in sys.modules)\n"
    )
    argv = [sys.executable, "-c", code, "run", "--json", str(bins["static"]), "hello"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "3 False"


SHORTCUT_CASES = {
    "anonymous memory": (["touch", "4"], {}),
    "fork and copy-on-write": (["fork"], {}),
    "a SIGSEGV handler": (["catch"], {}),
    "mremap": (["mremap"], {}),
    "swap (no frame free: the general path)": (["touch", "6"], {"memory": "2MiB", "swap": "16MiB"}),
    "the OOM killer": (["touch", "6"], {"memory": "2MiB"}),
}


@pytest.mark.parametrize("case", SHORTCUT_CASES)
def test_the_anonymous_write_shortcut_changes_no_figure(
    case: str,
    bins: dict[str, Path],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """anon_write_fault against handle_page_fault for every fault: the same output, exit
    status and every count (machine, memory, process tree, fills); and it was taken."""
    args, machine = SHORTCUT_CASES[case]
    argv = [str(bins["static"]), *args]
    taken: list[int] = []
    shortcut = syscall.anon_write_fault

    def spy(*a: Any) -> Any:
        ret = shortcut(*a)
        taken.append(ret is not None)
        return ret

    figures = []
    for take in (spy, lambda *a: None):
        monkeypatch.setattr(syscall, "anon_write_fault", take)
        out, m, p = on_vmsim(capfd, argv, **machine)
        tree = (asdict(p.stats), p.children_faults)
        k = m.kernel
        figures.append((out, p.exit_status, asdict(m.stats), k.mem.reads, k.mem.writes,
                        m.runtime.fills, tree))  # fmt: skip
    assert figures[0] == figures[1]
    assert sum(taken) > 0


def test_an_exception_in_the_fill_hook_stops_the_run_and_is_raised(
    bins: dict[str, Path], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel bug under Unicorn's TLB-fill callback (here: in the fault path) is not
    swallowed by the C callback: the run stops and emu_start's caller raises it."""

    def broken(*_: Any) -> None:
        raise RuntimeError("a bug in the fault path")

    monkeypatch.setattr(syscall, "anon_write_fault", broken)
    with pytest.raises(RuntimeError, match="a bug in the fault path"):
        on_vmsim(capfd, [str(bins["static"]), "touch", "1"])
