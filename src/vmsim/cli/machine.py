"""Commands of the simulated machine: demo (replay is in replay.py, policies in engine.py)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table


@click.command()
@click.option(
    "--steps",
    default=6,
    show_default=True,
    type=click.IntRange(min=0),
    help="Accesses to narrate in each part.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final counters as JSON.")
def demo(steps: int, as_json: bool) -> None:
    """Run the built-in scenario: processes allocate and touch memory; see what happened."""
    from vmsim.report.demo import run_demo
    from vmsim.report.narrative import first_accesses, narrate

    m, parts = run_demo()
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


COMMANDS: list[click.Command] = [demo]
