"""What every command shares: option types that check their range, frames from --memory,
one output writer (a table, --json or --csv), a progress bar on a terminal, and NumPy
loaded with OpenBLAS on one thread.

Every numeric option takes a `Number` (a count, a size, a list of either, in a stated
range), so a wrong value is a usage error that names the option, never an overflow
deep in a kernel. `renamed_options` turns a ConfigError about an internal field
(`tlb_ways`) into one about the user's option (`--ways`).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from vmsim.config import format_size, parse_size
from vmsim.errors import ConfigError

BLAS_THREADS = "OPENBLAS_NUM_THREADS"
"""The variable OpenBLAS reads its thread count from (see load_numpy)."""


def load_numpy() -> None:
    """Import NumPy with OpenBLAS on one thread, unless the user chose a thread count.

    vmsim does no linear algebra, but OpenBLAS starts a thread per core when NumPy loads
    it, which cost some 0.1 CPU-second per command (measured on `vmsim run` of an empty
    program, 0.30 -> 0.20 s of CPU, when it still loaded NumPy). OpenBLAS reads the
    variable once, when it is loaded, so the environment is restored at once: the
    programs `vmsim run --html` starts and any child process see the user's own.
    """
    if "numpy" in sys.modules:
        return
    chosen = BLAS_THREADS in os.environ
    if not chosen:
        os.environ[BLAS_THREADS] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        if not chosen:
            del os.environ[BLAS_THREADS]


GC_THRESHOLD = 50_000
"""Container allocations between two young collections in a vmsim process (Python's
default: 700): the console script's whole run (its imports make some 100,000 objects
that the default walks over and over: 15-25 % of importing Numba) and `vmsim run`'s
machine."""

MAX_COUNT = 1 << 62
"""The largest count any option takes: the engine counts in signed 64-bit integers."""

_INT_RE = re.compile(r"^\s*(0x[0-9a-fA-F]+|\d+)\s*$")
_SIZE_LIKE_RE = re.compile(r"^\s*(0x[0-9a-fA-F]+|\d+)\s*[a-zA-Z]+\s*$")


class Number(click.ParamType):
    """An integer option within [low, high]: a count or a size ("64KiB"), one or a list.

    many: a comma-separated list ("16,64,256"), converted to list[int].
    size: the value is a size with optional units; otherwise a plain count, and a
    value with units is rejected (pointing to `size_option` when given).
    power_of_two: the value must be a power of two (page sizes).
    """

    def __init__(
        self,
        low: int = 1,
        high: int = MAX_COUNT,
        *,
        many: bool = False,
        size: bool = False,
        power_of_two: bool = False,
        size_option: str | None = None,
    ) -> None:
        self.low, self.high = low, high
        self.many, self.size, self.power_of_two = many, size, power_of_two
        self.size_option = size_option
        self.name = ("size" if size else "count") + ("s" if many else "")

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        """SIZE, N, or a list of them."""
        one = "SIZE" if self.size else "N"
        return f"{one}[,{one}...]" if self.many else one

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The int (or list of ints) in range; a usage error naming the option otherwise."""
        if isinstance(value, list):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return self._check(value, str(value), param, ctx)
        items = [v.strip() for v in str(value).split(",")] if self.many else [str(value)]
        if self.many and not any(items):
            self.fail("give at least one value, e.g. 16,64,256", param, ctx)
        out = [self._one(v, param, ctx) for v in items if v or not self.many]
        return out if self.many else out[0]

    def _one(self, text: str, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """One item of the option's text."""
        if self.size:
            try:
                n = parse_size(text.strip(), "size")
            except ConfigError:
                self.fail(f"{text!r} is not a size (e.g. 4096, 64KiB, 2MiB)", param, ctx)
        else:
            m = _INT_RE.match(text)
            if m is None:
                if _SIZE_LIKE_RE.match(text) and self.size_option:
                    self.fail(
                        f"{text!r} is a size; this option takes a count "
                        f"(for a memory size use {self.size_option} {text.strip()})",
                        param,
                        ctx,
                    )
                self.fail(f"{text!r} is not a whole number", param, ctx)
            n = int(m.group(1), 0)
        return self._check(n, text.strip(), param, ctx)

    def _check(
        self, n: int, text: str, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        """n itself when within range (and a power of two if asked)."""
        if n < self.low:
            self.fail(f"{text} is below the smallest allowed, {self._show(self.low)}", param, ctx)
        if n > self.high:
            self.fail(f"{text} is above the largest allowed, {self._show(self.high)}", param, ctx)
        if self.power_of_two and n & (n - 1):
            self.fail(f"{text} is not a power of two (e.g. 4KiB, 2MiB)", param, ctx)
        return n

    def _show(self, n: int) -> str:
        """A bound as the user would write it."""
        return format_size(n) if self.size else f"{n:,}"


class Fraction(click.ParamType):
    """A real number in (0, 1] (a sampling rate); NaN and infinities are rejected."""

    name = "fraction"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The float, or a usage error naming the option."""
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not (math.isfinite(x) and 0 < x <= 1):
            self.fail(f"{value} is not in (0, 1], e.g. 0.01", param, ctx)
        return x


MEMORY = Number(1, MAX_COUNT, many=True, size=True)
"""The type of every --memory option: sizes with units, comma-separated."""


def memory_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--memory SIZE[,SIZE...] (frames = memory / page size), beside a frame-count option."""
    return click.option(
        "--memory",
        "-m",
        type=MEMORY,
        default=None,
        help="Memory sizes instead of frame counts, e.g. 256KiB,1MiB (frames: memory / page size).",
    )(f)


def frame_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--frames N[,N...] and --memory SIZE[,SIZE...] (frames = memory / page size)."""
    f = memory_option(f)
    return click.option(
        "--frames",
        "-f",
        type=Number(1, MAX_COUNT, many=True, size_option="--memory"),
        default=None,
        help="Frame counts, comma-separated (default: 64).",
    )(f)


def resolve_frames(frames: list[int] | None, memory: list[int] | None, page_size: int) -> list[int]:
    """The frame counts of --frames or --memory (64 when neither is given)."""
    return frames_or_memory(frames, memory, page_size) or [64]


def frames_or_memory(
    frames: list[int] | None, memory: list[int] | None, page_size: int, option: str = "--frames"
) -> list[int] | None:
    """The frame counts of `option` (a count option) or --memory; None when neither is given."""
    if frames is not None and memory is not None:
        raise click.UsageError(f"give {option} or --memory, not both")
    if memory is None:
        return frames
    out = []
    for m in memory:
        if m < page_size or m % page_size:
            raise click.BadParameter(
                f"{format_size(m)} is not a whole number of {format_size(page_size)} pages",
                param_hint="'--memory'",
            )
        out.append(m // page_size)
    return out


@contextmanager
def renamed_options(**names: str) -> Iterator[None]:
    """Re-raise a ConfigError about an internal field under the user's option name.

    renamed_options(tlb_ways="--ways"): ConfigError("tlb_ways", 5, ...) becomes
    ConfigError("--ways", 5, ...). Keys are the fields' names with spaces as underscores.
    """
    try:
        yield
    except ConfigError as exc:
        option = names.get(exc.option.replace(" ", "_"))
        if option is None:
            raise
        allowed = exc.allowed
        for field_name, user_name in names.items():  # identifiers only, not plain words
            if "_" in field_name:
                allowed = re.sub(rf"\b{field_name}\b", user_name, allowed)
        raise ConfigError(option, exc.value, allowed) from None


# ---------------------------------------------------------------- output


@dataclass(frozen=True)
class Column:
    """One column of a command's results: its key in a record, header, table format."""

    key: str
    header: str
    fmt: str = "{:,}"
    align: str = "right"
    """right (numbers) or left (names, text)."""

    def cell(self, record: dict[str, Any]) -> str:
        """The value as the table shows it ('' when absent)."""
        v = record.get(self.key)
        return "" if v is None else self.fmt.format(v)


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--json and --csv: the results as JSON or CSV on stdout instead of a table."""
    f = click.option("--csv", "as_csv", is_flag=True, help="Print the results as CSV.")(f)
    return click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")(f)


def emit(
    title: str,
    columns: Sequence[Column],
    records: Sequence[dict[str, Any]],
    *,
    as_json: bool = False,
    as_csv: bool = False,
    json_obj: Any = None,
) -> None:
    """Print results: a table (title, columns), CSV (one row per record) or JSON.

    JSON is `json_obj` when given (a command's richer form), else the records.
    """
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    if as_json:
        echo_json(list(records) if json_obj is None else json_obj)
    elif as_csv:
        write_csv(columns, records)
    else:
        rows = [[c.cell(r) for c in columns] for r in records]
        print_table(title, [c.header for c in columns], rows, [c.align for c in columns])


def write_csv(columns: Sequence[Column], records: Sequence[dict[str, Any]]) -> None:
    """CSV on stdout: a header of the columns' keys, then one row per record."""
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow([c.key for c in columns])
    for r in records:
        w.writerow(["" if r.get(c.key) is None else r[c.key] for c in columns])


def echo_json(obj: Any) -> None:
    """JSON on stdout."""
    click.echo(json.dumps(obj))


def print_table(
    title: str, headers: list[str], rows: list[list[str]], align: list[str] | None = None
) -> None:
    """A table on stdout (align: per column, default left then right); no cell is ever cut.

    A rich table when it fits the console (terminal or not); aligned plain text when
    the console is narrower than the widest row.
    """
    from rich.console import Console
    from rich.table import Table

    align = align or ["left"] + ["right"] * (len(headers) - 1)
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    console = Console()
    if sum(widths) + 3 * len(widths) + 1 > console.width:
        _print_plain(title, headers, rows, widths, align)
        return
    table = Table(title=title)
    for h, w, a in zip(headers, widths, align, strict=True):
        table.add_column(h, justify="left" if a == "left" else "right", no_wrap=True, min_width=w)
    for r in rows:
        table.add_row(*r)
    console.print(table)


def _print_plain(
    title: str, headers: list[str], rows: list[list[str]], widths: list[int], align: list[str]
) -> None:
    """Columns separated by two spaces, aligned as asked."""

    def line(cells: list[str]) -> str:
        parts = [
            c.ljust(w) if a == "left" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    click.echo(title)
    click.echo(line(headers))
    for r in rows:
        click.echo(line(r))


# ---------------------------------------------------------------- progress


class Advance:
    """What progress_bar yields: call it with n to advance; set_total once it is known."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar, self._task = bar, task

    def __call__(self, n: int) -> None:
        """n more units done."""
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def to(self, completed: int) -> None:
        """`completed` units done in all."""
        if self._bar is not None:
            self._bar.update(self._task, completed=completed)

    def set_total(self, total: int) -> None:
        """The total is known now (the bar shows it, the share done and the ETA)."""
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def set_description(self, text: str) -> None:
        """What is being done now."""
        if self._bar is not None:
            self._bar.update(self._task, description=text)


@contextmanager
def progress_bar(label: str, total: int | None = None, unit: str = "") -> Iterator[Advance]:
    """A rich progress bar on stderr when it is a terminal (else nothing); yields Advance.

    With a total it shows done/total (for unit "bytes": the share done of the size), the
    elapsed time and the time remaining.
    """
    if not sys.stderr.isatty():
        yield Advance()
        return
    from rich.progress import (
        MofNCompleteColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    done: list[Any] = [MofNCompleteColumn()]
    if unit == "bytes" and total is not None:
        done = [TaskProgressColumn(), TextColumn(f"of {approximate_size(total)}")]
    with _progress(
        _bar_columns(), *done, TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()
    ) as bar:
        yield Advance(bar, bar.add_task(label, total=total))


@contextmanager
def spinner(label: str, unit: str = "references") -> Iterator[Advance]:
    """A spinner with the units done so far and the time spent, for a length nobody knows."""
    if not sys.stderr.isatty():
        yield Advance()
        return
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    with _progress(
        [SpinnerColumn(), TextColumn("{task.description}")],
        TextColumn(f"{{task.completed:,.0f}} {unit} so far"),
        TimeElapsedColumn(),
    ) as bar:
        yield Advance(bar, bar.add_task(label, total=None))


@contextmanager
def trace_progress(trace: Any, label: str) -> Iterator[Callable[[int], None]]:
    """Progress of one pass over a trace: a bar with a total and an ETA when its length
    can be known (references of a .vmt or arrays, bytes of another file), else a spinner.

    Yields the callback readers call with each chunk's length (pages, references).
    """
    extent = trace.extent()
    if extent is None:
        with spinner(label) as count:
            yield count
        return
    total, unit = extent
    with progress_bar(label, total, unit) as bar:
        yield lambda _n: bar.to(trace.done(unit))


def approximate_size(n: int) -> str:
    """A byte count to one decimal in the largest binary unit below it (203816: 199.0KiB)."""
    for shift, unit in ((40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f}{unit}"
    return f"{n}B"


def _bar_columns() -> list[Any]:
    """The spinner, the label and the bar."""
    from rich.progress import BarColumn, SpinnerColumn, TextColumn

    return [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]


def _progress(first: list[Any], *columns: Any) -> Any:
    """A transient rich Progress on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*first, *columns, console=Console(stderr=True), transient=True)
