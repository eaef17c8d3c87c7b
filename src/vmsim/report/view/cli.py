"""The page's command-line options, shared by the commands that offer `--html FILE`.

A command adds `@html_option` (and `@window_option` for long runs) and calls
`write_page` once; `vmsim demo`, `vmsim replay`, `vmsim mrc` and `vmsim simulate` do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

DEFAULT_WINDOW = (0, 20_000)
"""Events recorded when --window is not given: the first 20,000."""


def html_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--html FILE: also write the interactive page (one self-contained HTML file)."""
    return click.option(
        "--html",
        type=click.Path(dir_okay=False),
        default=None,
        help="Also write an interactive page of the run to this HTML file (opens offline).",
    )(f)


def _parse_window(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """START:COUNT -> (start, count); None keeps DEFAULT_WINDOW."""
    if value is None:
        return None
    start, sep, count = value.partition(":")
    try:
        window = (int(start or 0), int(count))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not START:COUNT (two integers)") from None
    if not sep or window[0] < 0 or window[1] < 1:
        raise click.BadParameter(f"{value!r}: START >= 0 and COUNT >= 1, as START:COUNT")
    return window


def window_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--window START:COUNT: which events of a long run the page records."""
    return click.option(
        "--window",
        default=None,
        callback=_parse_window,
        metavar="START:COUNT",
        help=f"Events the --html page records (default: the first {DEFAULT_WINDOW[1]:,}).",
    )(f)


def window_or_default(window: tuple[int, int] | None) -> tuple[int, int]:
    """The window to record, saying so on stderr when it is the default one."""
    if window is not None:
        return window
    click.echo(
        f"the page records the first {DEFAULT_WINDOW[1]:,} events "
        "(choose others with --window START:COUNT)",
        err=True,
    )
    return DEFAULT_WINDOW


def write_page(machine: Any, path: str, title: str, *inputs: str) -> None:
    """Save machine's page to path (never over an input) and say where it went."""
    from vmsim.output import ensure_not_input

    ensure_not_input(path, *inputs)
    machine.save_html(path, title)
    rec = machine.recording
    events = rec.steps if rec is not None else 0
    first = f" from event {rec.skipped:,}" if rec is not None and rec.skipped else ""
    click.echo(f"wrote {path}: {events:,} events{first}", err=True)


def miss_timelines(
    prep: Any, policies: list[str], counts: list[int], options: dict[str, Any]
) -> list[Any]:
    """Faults over time of each policy replayed at the middle frame count (curves page)."""
    from vmsim.engine.kernels import kernel_spec
    from vmsim.engine.simulate import run_one
    from vmsim.report.view.curves import timeline

    frames = sorted(counts)[len(counts) // 2]
    out = []
    for name in policies:
        opts = {k: v for k, v in options.items() if k in kernel_spec(name).options}
        flags = run_one(prep, name, frames, record=True, **opts).miss_flags
        out.append(timeline(name, frames, flags))
    return out


def write_curves(
    path: str, title: str, trace_path: str, page_size: int | str,
    series: list[tuple[str, list[tuple[int, float, int]]]], timelines: Any = (),
) -> None:  # fmt: skip
    """Save the interactive curves page: per policy, (frames, misses, references) points."""
    from vmsim.config import parse_size
    from vmsim.output import ensure_not_input
    from vmsim.report.view.curves import CurveSeries, save_curves

    ensure_not_input(path, trace_path)
    curves = [
        CurveSeries(name, [p[0] for p in pts], [p[1] for p in pts], pts[0][2] if pts else 0)
        for name, pts in series
    ]
    size = parse_size(page_size, "page-size") if page_size else 0  # 0: pages without a size
    save_curves(path, title, curves, size, timelines)
    click.echo(f"wrote {path}: {len(curves)} curve(s)", err=True)
