"""What every command shares: a progress bar on a terminal, tables, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from vmsim.config import parse_size


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal; yields advance(n)."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    columns += (
        [BarColumn(), MofNCompleteColumn()] if total else [TextColumn("{task.completed:,} refs")]
    )
    with Progress(
        *columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    """A rich table on stdout, numbers right-aligned."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    Console().print(table)


def echo_json(obj: Any) -> None:
    """JSON on stdout."""
    click.echo(json.dumps(obj))


def int_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    """Parse '16,64,256' into positive ints."""
    if value is None:
        return None
    try:
        out = [
            int(parse_size(v.strip(), param.name or "value")) for v in value.split(",") if v.strip()
        ]
    except Exception:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of counts") from None
    if not out or min(out) < 1:
        raise click.BadParameter(f"{value!r}: give positive counts, e.g. 16,64,256")
    return out
