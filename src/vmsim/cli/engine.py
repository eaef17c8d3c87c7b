"""Commands of the trace-driven engine: simulate, mrc, tlb, working-set, trace, record.

NumPy and Numba load inside the commands, so `vmsim --help` stays fast. Long runs
show a progress bar when stderr is a terminal; results are a rich table, or JSON
with --json.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from vmsim.cli.common import echo_json, int_list, print_table, progress_bar
from vmsim.config import format_size, parse_size
from vmsim.errors import ConfigError
from vmsim.report.view.cli import html_option, write_curves

COMMANDS: list[click.Command] = []


C = TypeVar("C", bound=click.Command)


def _command(cmd: C) -> C:
    """Add a command to COMMANDS."""
    COMMANDS.append(cmd)
    return cmd


# ---------------------------------------------------------------- shared options


def _page_shift(page_size: str) -> int:
    """log2 of a page size given as text; ConfigError unless a power of two."""
    size = parse_size(page_size, "page_size")
    if size < 1 or size & (size - 1) or size > 1 << 40:
        raise ConfigError("page_size", page_size, "a power of two, e.g. 4KiB, 2MiB, 1GiB")
    return size.bit_length() - 1


def trace_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--format, --skip-bad, --page-size, --data-only, --split."""
    f = click.option(
        "--split", is_flag=True, help="A reference crossing a page boundary counts on every page."
    )(f)
    f = click.option(
        "--data-only",
        is_flag=True,
        help="Keep loads, stores and modifies; drop instruction fetches.",
    )(f)
    f = click.option(
        "--page-size", default="4KiB", show_default=True, help="Page size (power of two)."
    )(f)
    f = click.option(
        "--skip-bad", is_flag=True, help="Skip malformed lines (counted) instead of failing."
    )(f)
    f = click.option(
        "--format", "fmt", default=None, help="Trace format (default: detected from the content)."
    )(f)
    return f


def policy_run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--seed, --clock-load-clear, --workers: how policies run (simulate, mrc)."""
    f = click.option(
        "--workers", type=int, default=None, help="Worker processes (default: one per core)."
    )(f)
    f = click.option(
        "--clock-load-clear",
        is_flag=True,
        help="CLOCK: a newly loaded page starts with its accessed bit clear.",
    )(f)
    return click.option("--seed", type=int, default=None, help="Seed of the random policy.")(f)


def _open(path: str, fmt: str | None, skip_bad: bool) -> Any:
    """Open a trace (imports the engine lazily)."""
    from vmsim.trace import Trace

    return Trace(path, fmt, skip_bad=skip_bad)


def _policy_list(value: str) -> list[str]:
    """Comma-separated policy names, each with a kernel (ConfigError otherwise)."""
    from vmsim.engine.kernels import kernel_spec

    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise click.BadParameter("give at least one policy, e.g. lru,fifo")
    for n in names:
        kernel_spec(n)
    return names


def _policy_options(seed: int | None, clock_load_clear: bool) -> dict[str, Any]:
    """Policy options given on the command line."""
    opts: dict[str, Any] = {}
    if seed is not None:
        opts["seed"] = seed
    if clock_load_clear:
        opts["load_sets_refbit"] = False
    return opts


def _prepare(trace: Any, shift: int, data_only: bool, split: bool) -> Any:
    """Read a trace into dense ids, with a progress bar."""
    from vmsim.engine.source import PageOptions, prepare

    with progress_bar(f"reading {trace.path}") as advance:
        return prepare(trace, PageOptions(shift, data_only, split), advance)


def _warn_bad(trace: Any) -> None:
    """Report skipped bad lines on stderr."""
    st = trace.stats
    if st.bad_lines:
        click.echo(
            f"vmsim: skipped {st.bad_lines:,} malformed lines (first: {st.first_bad})", err=True
        )


# ---------------------------------------------------------------- simulate


@_command
@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--policy", "-p", default="lru", show_default=True, help="Policies, comma-separated.")
@click.option(
    "--frames",
    "-f",
    default="64",
    show_default=True,
    callback=int_list,
    help="Frame counts, comma-separated.",
)
@trace_options
@policy_run_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list, one object per (policy, frames)."
)
@html_option
def simulate(
    trace_path: str,
    policy: str,
    frames: list[int],
    fmt: str | None,
    skip_bad: bool,
    page_size: str,
    data_only: bool,
    split: bool,
    seed: int | None,
    clock_load_clear: bool,
    workers: int | None,
    as_json: bool,
    html: str | None,
) -> None:
    """Page faults of replacement policies on a trace, at several memory sizes."""
    from vmsim.engine.simulate import simulate_many

    policies = _policy_list(policy)
    trace = _open(trace_path, fmt, skip_bad)
    prep = _prepare(trace, _page_shift(page_size), data_only, split)
    _warn_bad(trace)
    opts = _policy_options(seed, clock_load_clear)
    with progress_bar("simulating", total=len(policies) * len(frames)) as advance:
        results = simulate_many(
            prep, policies, frames, workers=workers, on_done=lambda r: advance(1), **opts
        )
    if html:
        write_curves(html, f"{Path(trace_path).name}: simulate", trace_path, page_size, [
            (name, [(r.frames, r.misses, r.references) for r in results if r.policy == name])
            for name in policies
        ])  # fmt: skip
    if as_json:
        echo_json([r.to_dict() for r in results])
        return
    rows = [
        [r.policy, f"{r.frames:,}", f"{r.references:,}", f"{r.misses:,}", f"{r.miss_ratio:.6f}"]
        for r in results
    ]
    what = "data references" if data_only else "references"
    print_table(
        f"{Path(trace_path).name}: {what}, {format_size(1 << _page_shift(page_size))} pages",
        ["policy", "frames", "references", "misses", "miss ratio"],
        rows,
    )


# ---------------------------------------------------------------- mrc


@_command
@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--policy", "-p", default="lru", show_default=True, help="Policy of the curve.")
@click.option(
    "--sizes",
    callback=int_list,
    default=None,
    help="Frame counts (default: about 32 up to the footprint).",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "exact", "shards", "simulate"]),
    default="auto",
    show_default=True,
    help="exact LRU (stack distances), shards (sampled LRU), simulate (one run per size).",
)
@click.option("--rate", type=float, default=0.01, show_default=True, help="SHARDS sampling rate.")
@trace_options
@policy_run_options
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw the curve into this image.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the curve as JSON.")
@html_option
def mrc(
    trace_path: str,
    policy: str,
    sizes: list[int] | None,
    method: str,
    rate: float,
    fmt: str | None,
    skip_bad: bool,
    page_size: str,
    data_only: bool,
    split: bool,
    seed: int | None,
    clock_load_clear: bool,
    workers: int | None,
    plot: str | None,
    as_json: bool,
    html: str | None,
) -> None:
    """Miss-ratio curve: misses at every memory size (exact LRU in one pass)."""
    from vmsim.engine.kernels import kernel_spec
    from vmsim.engine.mrc import default_sizes, lru_curve, policy_curve, shards_curve

    kernel_spec(policy)
    if method == "auto":
        method = "exact" if policy == "lru" else "simulate"
    if method in ("exact", "shards") and policy != "lru":
        raise ConfigError("method", method, f"only for lru; use --method simulate for {policy}")
    shift = _page_shift(page_size)
    trace = _open(trace_path, fmt, skip_bad)
    if method == "shards":
        with progress_bar(f"sampling {trace_path}") as advance:
            chunks = (p for p, _ in trace.page_chunks(shift, data_only=data_only, split=split))
            full = shards_curve(_advancing(chunks, advance), rate, sizes)
    else:
        prep = _prepare(trace, shift, data_only, split)
        if method == "exact":
            full = lru_curve(prep, sizes)
        else:
            with progress_bar("simulating", total=len(sizes) if sizes else None) as advance:
                opts = _policy_options(seed, clock_load_clear)
                full = policy_curve(
                    prep, policy, sizes, workers=workers, on_done=lambda r: advance(1), **opts
                )
    _warn_bad(trace)
    curve = full
    if sizes is None and len(full.sizes) > 40:
        curve = _subset(full, default_sizes(int(full.sizes[-1]), 32))
    if plot:
        from vmsim.report.plots import plot_curve

        plot_curve(full, plot, trace_path)
    if html:
        points = [
            (int(f), float(m), full.references)
            for f, m in zip(full.sizes, full.misses, strict=True)
        ]
        write_curves(html, f"{Path(trace_path).name}: {policy} ({full.method})", trace_path,
                     page_size, [(policy, points)])  # fmt: skip
    if as_json:
        echo_json(curve.to_dict())
        return
    rows = [
        [f"{s:,}", f"{m:,.0f}", f"{r:.6f}"]
        for s, m, r in zip(curve.sizes, curve.misses, curve.miss_ratios, strict=True)
    ]
    title = f"{Path(trace_path).name}: {policy} ({curve.method}), {curve.references:,} references"
    if curve.method == "shards":
        title += f", sample rate {curve.sample_rate:g}"
    print_table(title, ["frames", "misses", "miss ratio"], rows)


def _advancing(chunks: Any, advance: Callable[[int], None]) -> Iterator[Any]:
    """Pass chunks through, advancing a progress bar."""
    for c in chunks:
        advance(len(c))
        yield c


def _subset(curve: Any, sizes: Any) -> Any:
    """The curve at a subset of its sizes."""
    import numpy as np

    from vmsim.engine.mrc import MissRatioCurve

    idx = np.searchsorted(curve.sizes, sizes)
    idx = np.unique(np.minimum(idx, len(curve.sizes) - 1))
    return MissRatioCurve(
        curve.policy,
        curve.references,
        curve.sizes[idx],
        curve.misses[idx],
        curve.method,
        curve.distinct_pages,
        curve.sample_rate,
    )


# ---------------------------------------------------------------- tlb


@_command
@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--entries", default=64, show_default=True, help="L1 TLB entries.")
@click.option("--ways", default=4, show_default=True, help="L1 ways (0: fully associative).")
@click.option("--l2-entries", default=0, show_default=True, help="L2 TLB entries (0: no L2).")
@click.option("--l2-ways", default=12, show_default=True, help="L2 ways (0: fully associative).")
@click.option(
    "--page-size",
    "tlb_page",
    default="4KiB",
    show_default=True,
    help="Page size: 4KiB, 2MiB or 1GiB.",
)
@click.option(
    "--format", "fmt", default=None, help="Trace format (default: detected from the content)."
)
@click.option("--skip-bad", is_flag=True, help="Skip malformed lines (counted) instead of failing.")
@click.option("--data-only", is_flag=True, help="Data references only (a data TLB).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def tlb(
    trace_path: str,
    entries: int,
    ways: int,
    l2_entries: int,
    l2_ways: int,
    tlb_page: str,
    fmt: str | None,
    skip_bad: bool,
    data_only: bool,
    as_json: bool,
) -> None:
    """TLB misses and TLB reach of a trace: entries, ways, page size, one or two levels."""
    from vmsim.engine.tlb import TlbConfig, TlbLevel, simulate_tlb

    cfg = TlbConfig(
        TlbLevel(entries, ways),
        TlbLevel(l2_entries, l2_ways) if l2_entries else None,
        parse_size(tlb_page, "page_size"),
    )
    trace = _open(trace_path, fmt, skip_bad)
    with progress_bar(f"reading {trace_path}") as advance:
        vpns = (p for p, _ in trace.page_chunks(cfg.page_shift, data_only=data_only))
        res = simulate_tlb(vpns, cfg, advance)
    _warn_bad(trace)
    if as_json:
        echo_json(res.to_dict())
        return
    d = res.to_dict()
    rows = [
        [
            "L1",
            f"{entries}",
            _ways(ways),
            f"{res.l1_misses:,}",
            f"{d['l1']['miss_ratio']:.6f}",
            format_size(res.reach(1)),
        ]
    ]
    if "l2" in d:
        rows.append(
            [
                "L2",
                f"{l2_entries}",
                _ways(l2_ways),
                f"{res.l2_misses:,}",
                f"{d['l2']['local_miss_ratio']:.6f}",
                format_size(res.reach(2)),
            ]
        )
    print_table(
        f"{Path(trace_path).name}: {res.references:,} references,"
        f" {format_size(cfg.page_size)} pages, {res.walks:,} walks",
        ["level", "entries", "ways", "misses", "miss ratio", "reach"],
        rows,
    )


def _ways(w: int) -> str:
    """Ways as text."""
    return "full" if w == 0 else str(w)


# ---------------------------------------------------------------- working set


@_command
@click.command("working-set")
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option("--tau", default=10000, show_default=True, help="Window: the last tau references.")
@click.option(
    "--step", type=int, default=None, help="Sample every step references (default: 200 samples)."
)
@trace_options
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None, help="Also draw W(t) into this image."
)
@click.option("--json", "as_json", is_flag=True, help="Print the samples as JSON.")
def working_set(
    trace_path: str,
    tau: int,
    step: int | None,
    fmt: str | None,
    skip_bad: bool,
    page_size: str,
    data_only: bool,
    split: bool,
    plot: str | None,
    as_json: bool,
) -> None:
    """The working set W(t, tau) over time, and the footprint."""
    from vmsim.engine.working_set import working_set as ws

    shift = _page_shift(page_size)
    trace = _open(trace_path, fmt, skip_bad)
    prep = _prepare(trace, shift, data_only, split)
    _warn_bad(trace)
    res = ws(prep, tau, step, 1 << shift)
    if plot:
        from vmsim.report.plots import plot_working_set

        plot_working_set(res, plot, trace_path)
    if as_json:
        echo_json(res.to_dict())
        return
    print_table(
        f"{Path(trace_path).name}: working set, tau = {tau:,} references",
        ["figure", "value"],
        [
            ["references", f"{len(prep):,}"],
            [
                "mean W(t, tau)",
                f"{res.mean:,.1f} pages ({format_size(int(res.mean * res.page_size))})",
            ],
            ["peak W(t, tau)", f"{res.peak:,} pages ({format_size(res.peak * res.page_size)})"],
            [
                "footprint",
                f"{res.distinct_pages:,} pages ({format_size(res.distinct_pages * res.page_size)})",
            ],
        ],
    )


# ---------------------------------------------------------------- trace


@_command
@click.group()
def trace() -> None:
    """Trace files: info, convert, formats."""


@trace.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--format", "fmt", default=None, help="Trace format (default: detected from the content)."
)
@click.option("--skip-bad", is_flag=True, help="Skip malformed lines (counted) instead of failing.")
@click.option("--page-size", default="4KiB", show_default=True, help="Page size (power of two).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def info(trace_path: str, fmt: str | None, skip_bad: bool, page_size: str, as_json: bool) -> None:
    """References by kind, distinct pages (code, data), footprint."""
    from vmsim.engine.info import trace_info

    shift = _page_shift(page_size)
    tr = _open(trace_path, fmt, skip_bad)
    with progress_bar(f"reading {trace_path}") as advance:
        i = trace_info(tr, shift, advance)
    _warn_bad(tr)
    if as_json:
        echo_json(i.to_dict())
        return
    rows = [["format", i.format], ["references", f"{i.references:,}"]]
    rows += [[f"  {k}", f"{v:,}"] for k, v in i.by_kind.items()]
    rows += [
        ["distinct pages", f"{i.distinct_pages:,} (code {i.code_pages:,}, data {i.data_pages:,})"],
        ["footprint", f"{format_size(i.footprint)} ({format_size(i.page_size)} pages)"],
    ]
    if i.lowest is not None and i.highest is not None:
        rows.append(["addresses", f"{i.lowest:#x} .. {i.highest:#x}"])
    if i.bad_lines:
        rows.append(["bad lines skipped", f"{i.bad_lines:,}"])
    print_table(Path(trace_path).name, ["figure", "value"], rows)


@trace.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option(
    "--to",
    "to",
    default=None,
    help="Output format: vmt, lackey, din, text, npy (default: from DEST).",
)
@click.option(
    "--format", "fmt", default=None, help="Input format (default: detected from the content)."
)
@click.option("--skip-bad", is_flag=True, help="Skip malformed lines (counted) instead of failing.")
@click.option("--level", type=int, default=None, help="Compression level.")
def convert(
    src: str, dest: str, to: str | None, fmt: str | None, skip_bad: bool, level: int | None
) -> None:
    """Convert a trace to another format (e.g. lackey text to compact .vmt)."""
    from vmsim.trace.writers import output_format, write_trace

    out_fmt, _ = output_format(dest, to)
    tr = _open(src, fmt, skip_bad)
    count = None
    if out_fmt == "npy":
        count = sum(len(c) for c in tr.chunks())
    with progress_bar(f"converting {src}") as advance:
        n = write_trace(
            _advancing(tr.chunks(), advance),
            dest,
            out_fmt,
            has_sizes=tr.has_sizes,
            count=count,
            level=level,
        )
    _warn_bad(tr)
    click.echo(f"{dest}: {n:,} references ({out_fmt})", err=True)


@trace.command()
def formats() -> None:
    """List the trace formats that can be read."""
    from vmsim.trace import FORMATS, format_names

    names = format_names()
    print_table(
        "trace formats", ["name", "description"], [[n, FORMATS[n].description] for n in names]
    )


# ---------------------------------------------------------------- record


@_command
@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .vmt file to write."
)
@click.option(
    "--level", type=int, default=9, show_default=True, help="zstd level of the .vmt blocks."
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(output: str, level: int, command: tuple[str, ...]) -> None:
    """Record a program's memory trace with valgrind lackey: vmsim record -o out.vmt -- CMD ARGS...

    The program's own output is untouched; its exit status is passed through.
    """
    from vmsim.trace.record import find_valgrind
    from vmsim.trace.record import record as run

    find_valgrind()
    with progress_bar(f"recording {command[0]}") as advance:
        rec = run(list(command), output, progress=advance, level=level)
    click.echo(f"vmsim: {output}: {rec.references:,} references", err=True)
    if rec.bad_lines:
        click.echo(
            f"vmsim: {rec.bad_lines:,} lines of valgrind output were not references", err=True
        )
    if rec.exit_status:
        raise SystemExit(rec.exit_status)
