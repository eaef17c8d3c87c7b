"""Commands of the simulated machine: demo, policies."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vmsim.cli.common import Column, Number, write_csv
from vmsim.config import format_size
from vmsim.events import Event
from vmsim.machine import Machine
from vmsim.report.view.cli import html_option, write_page


@click.command()
@click.option(
    "--steps",
    default=None,
    type=Number(0),
    help="Steps of the event log to tell in each part (0: none). "
    "Default: the whole story of `new`, and the first 6 steps of the other parts.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final counters as JSON.")
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Print the final counters as CSV: one row per counter (scope, pid, name, counter, value).",
)
@html_option
def demo(steps: int | None, as_json: bool, as_csv: bool, html: str | None) -> None:
    """Run the built-in scenario: processes allocate and touch memory; see what happened."""
    from vmsim.report.demo import run_demo

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    m, parts = run_demo(record=html is not None)
    if html is not None:
        write_page(m, html, "vmsim demo")
    if as_json:
        procs = {p.pid: {"name": p.name, **p.stats.as_dict()} for p in m.processes}
        click.echo(json.dumps({"machine": m.stats.as_dict(), "processes": procs}, indent=2))
        return
    if as_csv:
        write_csv(COUNTER_COLUMNS, _counter_records(m))
        return
    console = Console(highlight=False)
    for part in parts:
        _print_rule(console, part.title)
        _print_story(console, part.events, part.steps if steps is None else steps)
        for line in part.summary:
            _print_lines(console, [f"* {line}"], hang=2)
    _print_rule(console, "Counters")
    page = m.config.page_size
    _print_table(console, _counter_table(m))
    _print_table(console, _process_table(m, page))


COUNTER_COLUMNS = [Column(k, k) for k in ("scope", "pid", "name", "counter", "value")]
"""The demo's --csv: one tidy row per counter, the machine's (pid empty) then each process's."""


def _counter_records(m: Machine) -> list[dict[str, object]]:
    """Every counter of the JSON form as one row (machine-wide, then per process)."""
    rows: list[dict[str, object]] = [
        {"scope": "machine", "counter": k, "value": v} for k, v in m.stats.as_dict().items()
    ]
    for p in m.processes:
        rows += [
            {"scope": "process", "pid": p.pid, "name": p.name, "counter": k, "value": v}
            for k, v in p.stats.as_dict().items()
        ]
    return rows


def _print_rule(console: Console, title: str) -> None:
    """A rule with the title in it, or (too narrow for it whole) a rule, then the title."""
    if len(title) + 6 <= console.width:
        console.rule(f"[bold]{escape(title)}")
        return
    console.rule()
    _print_lines(console, [title])


def _print_story(console: Console, events: list[Event], steps: int | None) -> None:
    """The account of a part's events (all of it for steps=None, nothing for 0)."""
    from vmsim.report.narrative import count_steps, first_steps, fold_quiet, narrate

    items = fold_quiet(events)
    total = count_steps(items)
    shown = total if steps is None else min(steps, total)
    if shown == 0:
        return
    head = "The story" if shown == total else f"The first {shown} of {total} steps"
    console.print(f"[bold]{head}, from the event log:[/bold]")
    _print_lines(console, narrate(first_steps(items, shown)))
    console.print()


def _print_lines(console: Console, lines: list[str], hang: int = 3) -> None:
    """Lines wrapped to the console's width between words, never inside one."""
    from vmsim.report.narrative import wrap

    for line in lines:
        for piece in wrap(line, console.width, hang):
            console.print(piece, markup=False, soft_wrap=True)


def _print_table(console: Console, table: Table) -> None:
    """The table if it fits the width; else each row as a wrapped line (no cell is cut)."""
    natural = console.measure(table, options=console.options.update_width(1 << 16)).maximum
    if natural <= console.width:
        console.print(table)
        return
    console.print(str(table.title or ""))
    names = [str(c.header).replace(" ", "_") for c in table.columns]
    cells = [list(c.cells) for c in table.columns]
    rows = [", ".join(f"{n}={col[i]}" for n, col in zip(names, cells, strict=True))
            for i in range(table.row_count)]  # fmt: skip
    _print_lines(console, [f"  {row}" for row in rows], hang=2)


def _counter_table(m: Machine) -> Table:
    """Non-zero machine-wide counters."""
    table = Table(title="machine (/proc/vmstat names)")
    table.add_column("counter")
    table.add_column("value", justify="right", no_wrap=True)
    for name, value in m.stats.as_dict().items():
        if value:
            table.add_row(name, f"{value:,}")
    return table


def _process_table(m: Machine, page: int) -> Table:
    """Per-process counters; memory in bytes with units (rss, swap, page tables)."""
    table = Table(title="processes")
    cols = ["pid", "name", "state", "min_flt", "maj_flt", "rss", "swap", "page tables",
            "accesses"]  # fmt: skip
    for c in cols:
        table.add_column(c, justify="left" if c in ("name", "state") else "right", no_wrap=True)
    for p in m.processes:
        s = p.stats
        state = "alive" if p.alive else f"exit {p.exit_status}"
        row = [str(p.pid), p.name, state, f"{s.min_flt:,}", f"{s.maj_flt:,}",
               *(format_size(n * page) for n in (s.rss, s.swap, s.pgtables)),
               f"{s.cpu_accesses:,}"]  # fmt: skip
        table.add_row(*row)
    return table


COMMANDS: list[click.Command] = [demo]
