"""`vmsim run`: execute an x86-64 Linux program on the simulated machine.

The program's stdout and stderr are its own; its exit status is passed through (128 +
signo when a signal killed it). Afterwards, on stderr (or as --json / --csv on
stderr), what `/usr/bin/time -v` reports and vmsim's own counters.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from vmsim.cli.common import GC_THRESHOLD, Number, load_numpy
from vmsim.errors import VmsimError
from vmsim.report.view.cli import html_option, window_option, window_or_default, write_page


@click.command(context_settings={"ignore_unknown_options": False})
@click.option("--memory", default="256MiB", show_default=True, help="Physical memory.")
@click.option("--swap", default="0", show_default=True, help="Swap device size (0: none).")
@click.option("--policy", default="clock", show_default=True, help="Page-replacement policy.")
@click.option(
    "--overcommit",
    type=click.Choice(["heuristic", "always", "never"]),
    default="heuristic",
    show_default=True,
    help="Overcommit mode (vm.overcommit_memory).",
)
@click.option(
    "--fault-around",
    default="64KiB",
    show_default=True,
    help="fault_around_bytes: file read faults map this window's cached pages (4KiB: off).",
)
@click.option(
    "--seed", type=Number(0, (1 << 63) - 1), default=0, show_default=True,
    help="Seed (AT_RANDOM, getrandom).",
)  # fmt: skip
@click.option(
    "--writable",
    "writable",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A directory the program may write files in (repeatable); elsewhere EACCES.",
)
@click.option(
    "--narrate",
    "--steps",
    "narrate_steps",
    type=Number(0),
    default=None,
    help="Tell N steps (malloc/new/free calls, system calls, page faults) from the event"
    " log, from the first or from --from.",
)
@click.option(
    "--from",
    "from_step",
    type=Number(0),
    default=0,
    help="With --narrate/--steps: start at this step.",
)
@click.option(
    "--events",
    "events_file",
    type=click.Path(dir_okay=False),
    help="Write the event log here (JSON lines).",
)
@click.option(
    "--exact-tlb",
    is_flag=True,
    help="Route every access (each instruction fetch, load and store) through vmsim's TLB"
    " model: exact TLB hits, misses and walks, some hundred times slower.",
)
@html_option
@window_option
@click.option("--quiet", "-q", is_flag=True, help="Print no report, only the program's output.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON on stderr.")
@click.option("--csv", "as_csv", is_flag=True, help="The report as CSV on stderr.")
@click.argument("program")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(
    memory: str,
    swap: str,
    policy: str,
    overcommit: str,
    fault_around: str,
    seed: int,
    writable: tuple[str, ...],
    narrate_steps: int | None,
    from_step: int,
    events_file: str | None,
    exact_tlb: bool,
    html: str | None,
    window: tuple[int, int] | None,
    quiet: bool,
    as_json: bool,
    as_csv: bool,
    program: str,
    args: tuple[str, ...],
) -> int:
    """Run PROGRAM ARGS... (an x86-64 Linux ELF) on vmsim: vmsim run [options] -- PROGRAM ARGS.

    Every page the program touches is faulted in by vmsim's kernel through its page
    tables; brk, mmap, fork and friends are vmsim's. By default the TLB figures are the
    fills Unicorn's software TLB asks for (each one a walk of vmsim's page tables), not
    the machine's TLB model: --exact-tlb gives the model's hits and misses. Threads and
    AVX instructions are not supported.
    """
    from vmsim.machine import Machine

    path = _find_program(program)
    if html is not None and (events_file is not None or narrate_steps is not None):
        raise VmsimError(
            "run: --html keeps only its window of the event log: not with --events or --narrate"
        )
    m = Machine(
        memory=memory,
        swap=swap,
        policy=policy,
        overcommit=overcommit,
        fault_around_bytes=fault_around,
        seed=seed,
        record_events=narrate_steps is not None or events_file is not None or html is not None,
    )
    m.runtime.exact_tlb = exact_tlb
    if html is not None:
        load_numpy()  # the page's records use NumPy: with OpenBLAS on one thread
        start, count = window_or_default(window)
        m.record(start=start, count=count)
    p = m.spawn(program=path, argv=[program, *args], env=dict(os.environ), writable=writable)
    with collecting_less():
        m.run()
    t = m.runtime.tasks[p.pid]
    status = p.exit_status if p.exit_status is not None else 1
    if t.error:
        click.echo(f"vmsim: {program}: {t.error}", err=True)
    if events_file is not None:
        _write_events(m.events, events_file)
    if narrate_steps is not None:
        _narrate(m.events, from_step, narrate_steps)
    if html is not None:
        write_page(m, html, f"vmsim run {program}", path)
    if not quiet:
        report = _report(m, p)
        if as_json:
            click.echo(json.dumps(report), err=True)
        elif as_csv:
            out = io.StringIO()
            w = csv.writer(out)
            w.writerow(["counter", "value"])
            for key, value in _flat(report):
                w.writerow([key, value])
            click.echo(out.getvalue(), err=True, nl=False)
        else:
            _print_report(report)
    from vmsim.kernel.signal import shell_status

    m.close()
    return shell_status(status)


@contextmanager
def collecting_less() -> Iterator[None]:
    """Python's cyclic collector runs less often within the block, and not over what existed
    before it (the imports, the machine); both as before afterwards. The kernel allocates
    small objects on every fault and fill, and no figure depends on when the collector
    runs: some 5 % of a fault-bound run's CPU time."""
    threshold = gc.get_threshold()
    freeze = not gc.get_freeze_count()  # a caller's own frozen objects stay as they are
    if freeze:
        gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if freeze:
            gc.unfreeze()


def _find_program(program: str) -> str:
    """The file to run: a path, or a name looked up on PATH; one-line errors otherwise."""
    path = program if "/" in program else shutil.which(program) or program
    if not os.path.exists(path):
        raise VmsimError(f"run: {program}: no such file")
    if os.path.isdir(path):
        raise VmsimError(f"run: {program}: is a directory")
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        raise VmsimError(f"run: {program}: not an ELF executable")
    if head[4] != 2 or head[18:20] != b"\x3e\x00":  # ELFCLASS64, EM_X86_64
        raise VmsimError(f"run: {program}: not an x86-64 (64-bit) ELF executable")
    return path


def _write_events(events: list[Any], path: str) -> None:
    """The event log as JSON lines: {"event": class name, fields...}."""
    from dataclasses import asdict

    from vmsim.output import atomic_text_output

    with atomic_text_output(path) as f:
        for e in events:
            f.write(json.dumps({"event": type(e).__name__, **asdict(e)}) + "\n")


def _narrate(events: list[Any], start: int, count: int) -> None:
    """Steps start .. start + count of the run told in causal order, on stderr.

    A step is a C library memory call (malloc, free, operator new, ...: kernel/ltrace.py),
    a system call or a page fault; the walks, frame allocations, mappings, swaps and
    returns it caused follow, indented.
    """
    from vmsim import events as ev
    from vmsim.report.narrative import describe

    top = (ev.LibcCall, ev.Syscall, ev.PageFault, ev.ProcessExit, ev.ContextSwitch)
    step = -1
    lines = []
    for e in events:
        if isinstance(e, top):
            step += 1
        if step >= start + count:
            break
        if step >= start:
            lines.append(("" if isinstance(e, top) else "    ") + describe(e))
    sys.stderr.write("\n".join(lines) + ("\n" if lines else ""))


def _report(m: Any, p: Any) -> dict[str, Any]:
    """What /usr/bin/time -v reports (for the whole run, children included) and vmsim's counters.

    Like getrusage, the program's own faults plus those of the children it reaped (reaped
    processes leave m.processes) and of any still left.
    """
    procs = [p] + [q for q in m.processes if q.pid != p.pid]
    child_minor, child_major = p.children_faults
    s = m.stats
    rt = m.runtime
    fills = rt.fills
    return {
        "exit_status": p.exit_status,
        "minor_faults": child_minor + sum(q.stats.min_flt for q in procs),
        "major_faults": child_major + sum(q.stats.maj_flt for q in procs),
        "max_rss_kib": max((t.max_rss for t in rt.tasks.values()), default=0)
        * m.config.page_size
        // 1024,
        "swaps_out": s.pswpout,
        "swaps_in": s.pswpin,
        "context_switches": s.context_switches,
        "involuntary_context_switches": rt.preemptions,
        "processes": len(rt.tasks),
        "vmsim": {
            "pgfault": s.pgfault,
            "tlb_fills": fills,
            **({"tlb_hits": s.tlb_hit, "tlb_misses": s.tlb_miss} if rt.exact_tlb else {}),
            "walks": s.walks,
            "cow_copy": s.cow_copy,
            "oom_kill": s.oom_kill,
            "syscalls": dict(sorted(rt.syscalls.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
    }


def _flat(report: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) pairs of a nested report."""
    out: list[tuple[str, Any]] = []
    for key, value in report.items():
        if isinstance(value, dict):
            out += _flat(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _print_report(r: dict[str, Any]) -> None:
    """The report as /usr/bin/time -v style lines on stderr."""
    v = r["vmsim"]
    involuntary = r["involuntary_context_switches"]
    lines = [
        f"\tMinor (reclaiming a frame) page faults: {r['minor_faults']}",
        f"\tMajor (requiring I/O) page faults: {r['major_faults']}",
        f"\tMaximum resident set size (kbytes): {r['max_rss_kib']}",
        f"\tSwaps: {r['swaps_out']} out, {r['swaps_in']} in",
        f"\tVoluntary context switches: {r['context_switches'] - involuntary}",
        f"\tInvoluntary context switches: {involuntary}",
        f"\tvmsim: TLB fills {v['tlb_fills']}, walks {v['walks']}, COW copies {v['cow_copy']}, "
        f"OOM kills {v['oom_kill']}",
        *(
            [f"\tvmsim TLB model: {v['tlb_hits']} hits, {v['tlb_misses']} misses"]
            if "tlb_hits" in v
            else []
        ),
        "\tvmsim syscalls: " + ", ".join(f"{k} {n}" for k, n in v["syscalls"].items()),
    ]
    sys.stderr.write("vmsim run:\n" + "\n".join(lines) + "\n")


COMMANDS = [run]
