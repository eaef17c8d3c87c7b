"""Commands of the simulated machine: demo, policies."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from vmsim.cli.common import int_list
from vmsim.report.view.cli import html_option, window_option, window_or_default, write_page


@click.command()
def policies() -> None:
    """List the page-replacement policies."""
    from vmsim.policies import policy_class, policy_names

    table = Table(title="replacement policies")
    table.add_column("name")
    table.add_column("description")
    table.add_column("needs the future")
    for name in policy_names():
        cls = policy_class(name)
        table.add_row(name, cls.description, "yes" if cls.needs_future else "")
    Console().print(table)


@click.command()
@click.option(
    "--steps",
    default=6,
    show_default=True,
    type=click.IntRange(min=0),
    help="Accesses to narrate in each part.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final counters as JSON.")
@html_option
def demo(steps: int, as_json: bool, html: str | None) -> None:
    """Run the built-in scenario: processes allocate and touch memory; see what happened."""
    from vmsim.report.demo import run_demo
    from vmsim.report.narrative import first_accesses, narrate

    m, parts = run_demo(record=html is not None)
    if html is not None:
        write_page(m, html, "vmsim demo")
    if as_json:
        procs = {p.pid: {"name": p.name, **p.stats.as_dict()} for p in m.processes}
        click.echo(json.dumps({"machine": m.stats.as_dict(), "processes": procs}, indent=2))
        return
    console = Console(highlight=False, width=max(Console().width, 100))
    for part in parts:
        console.rule(f"[bold]{part.title}")
        console.print(f"[bold]The first {steps} steps, from the event log:[/bold]")
        for line in narrate(first_accesses(part.events, steps)):
            console.print(line, markup=False)
        console.print()
        for line in part.summary:
            console.print(f"* {line}", markup=False)
    console.rule("[bold]Counters")
    console.print(_counter_table(m))
    console.print(_process_table(m))


def _counter_table(m: object) -> Table:
    """Non-zero machine-wide counters."""
    from vmsim.machine import Machine

    assert isinstance(m, Machine)
    table = Table(title="machine (/proc/vmstat names)")
    table.add_column("counter")
    table.add_column("value", justify="right")
    for name, value in m.stats.as_dict().items():
        if value:
            table.add_row(name, str(value))
    return table


def _process_table(m: object) -> Table:
    """Per-process counters."""
    from vmsim.machine import Machine

    assert isinstance(m, Machine)
    table = Table(title="processes")
    cols = ["pid", "name", "state", "min_flt", "maj_flt", "rss", "swap", "pgtables", "accesses"]
    for c in cols:
        table.add_column(c, justify="right" if c not in ("name", "state") else "left")
    for p in m.processes:
        s = p.stats
        state = "alive" if p.alive else f"exit {p.exit_status}"
        row = [
            p.pid,
            p.name,
            state,
            s.min_flt,
            s.maj_flt,
            s.rss,
            s.swap,
            s.pgtables,
            s.cpu_accesses,
        ]
        table.add_row(*map(str, row))
    return table


@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--policy", "-p", default="lru", show_default=True, help="Policies, comma-separated.")
@click.option(
    "--frames",
    "-f",
    default="64",
    show_default=True,
    callback=int_list,
    help="Memory limits in pages, comma-separated.",
)
@click.option("--paging", default="x86_64", show_default=True, help="Page-table format.")
@click.option("--tlb-entries", default=64, show_default=True, help="TLB entries.")
@click.option("--tlb-ways", default=4, show_default=True, help="TLB ways (0: fully associative).")
@click.option("--data-only", is_flag=True, help="Keep loads, stores and modifies; drop fetches.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random policy.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per run.")
@html_option
@window_option
def replay(
    trace_path: str,
    policy: str,
    frames: list[int],
    paging: str,
    tlb_entries: int,
    tlb_ways: int,
    data_only: bool,
    seed: int,
    as_json: bool,
    html: str | None,
    window: tuple[int, int],
) -> None:
    """Replay a trace through the whole machine: TLB, page walks, faults, reclaim, swap.

    Each run gives one process a memory limit of FRAMES pages; the page faults equal the
    misses of `vmsim simulate`, and the machine also counts TLB misses and swap I/O.
    """
    from vmsim.cli.common import echo_json, print_table, progress_bar
    from vmsim.report.replay import machine_replay

    names = [n.strip() for n in policy.split(",") if n.strip()]
    counts = frames
    runs = []
    for name in names:
        for count in counts:
            page, html = html, None  # the page shows the first run
            with progress_bar(f"{name}, {count} frames") as advance:
                runs.append(
                    machine_replay(
                        trace_path, name, count, paging=paging, tlb_entries=tlb_entries,
                        tlb_ways=tlb_ways, data_only=data_only, seed=seed, advance=advance,
                        html=page, window=window_or_default(window) if page else None,
                    )
                )  # fmt: skip
    if as_json:
        echo_json([r.as_dict() for r in runs])
        return
    headers = ["policy", "frames", "references", "faults", "major", "TLB misses",
               "swap outs", "swap ins", "refs/s"]  # fmt: skip
    rows = [
        [
            r.policy,
            str(r.frames),
            f"{r.references:,}",
            f"{r.faults:,}",
            f"{r.major_faults:,}",
            f"{r.tlb_misses:,}",
            f"{r.swap_outs:,}",
            f"{r.swap_ins:,}",
            f"{r.rate:,.0f}",
        ]
        for r in runs
    ]
    print_table(f"{trace_path} through the machine ({paging})", headers, rows)


COMMANDS: list[click.Command] = [demo, policies, replay]
