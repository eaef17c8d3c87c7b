"""Commands of the trace-driven engine: simulate, mrc, tlb, working-set, policies, trace, record.

NumPy and Numba load inside the commands, so `vmsim --help` stays fast. Long runs
show a progress bar when stderr is a terminal; results are a table, or JSON with
--json, or CSV with --csv (one writer for all: vmsim.cli.common.emit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from vmsim.cli.common import (
    MAX_COUNT,
    Column,
    Fraction,
    Number,
    echo_json,
    emit,
    frame_options,
    frames_or_memory,
    memory_option,
    output_options,
    print_table,
    progress_bar,
    renamed_options,
    resolve_frames,
    spinner,
    trace_progress,
    write_csv,
)
from vmsim.config import format_size, parse_size
from vmsim.errors import ConfigError
from vmsim.report.view.cli import html_option, miss_timelines, write_curves

COMMANDS: list[click.Command] = []


C = TypeVar("C", bound=click.Command)


def _command(cmd: C) -> C:
    """Add a command to COMMANDS."""
    COMMANDS.append(cmd)
    return cmd


# ---------------------------------------------------------------- shared options

PAGE_SIZE = Number(1, 1 << 40, size=True, power_of_two=True)
"""A page size: a power of two from 1 byte to 1 TiB."""


def _page_shift(page_size: str | int) -> int:
    """log2 of a page size given as text or bytes; ConfigError unless a power of two."""
    size = parse_size(page_size, "--page-size")
    if size < 1 or size & (size - 1) or size > 1 << 40:
        raise ConfigError("--page-size", page_size, "a power of two, e.g. 4KiB, 2MiB, 1GiB")
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
        "--page-size",
        type=PAGE_SIZE,
        default="4KiB",
        show_default=True,
        help="Page size (power of two).",
    )(f)
    return read_options(f)


def read_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--format and --skip-bad: how a trace file is read."""
    f = click.option(
        "--skip-bad", is_flag=True, help="Skip malformed lines (counted) instead of failing."
    )(f)
    return click.option(
        "--format", "fmt", default=None, help="Trace format (default: detected from the content)."
    )(f)


POLICY_PARAMETERS = (
    ("--aging-bits", "bits", Number(1, 64), "AGING: counter bits, 1..64 (default 8)."),
    ("--tick-interval", "tick_interval", Number(1),
     "AGING: references between clock ticks (default 1000)."),
    ("--tau", "tau", Number(1), "WSCLOCK: the working-set window in references (default 1000)."),
    ("--clockbits", "clockbits", Number(0, 64), "OSTEP-CLOCK: use-counter maximum (default 2)."),
)  # fmt: skip
"""Options of the machine's policies, named as the policies (and MachineConfig) name them."""


def _keep_parameter(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    """Store a policy parameter given on the command line for _policy_options."""
    if value is not None:
        ctx.meta.setdefault("vmsim_policy_options", {})[param.name] = value


def policy_run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--seed, --clock-load-clear, --workers and the policies' parameters (simulate, mrc)."""
    for flag, name, kind, text in POLICY_PARAMETERS:
        f = click.option(
            flag,
            name,
            type=kind,
            default=None,
            expose_value=False,
            callback=_keep_parameter,
            help=text,
        )(f)
    f = click.option(
        "--workers",
        type=Number(1, 1024),
        default=None,
        help="Threads for parallel runs, an LRU run alone and the exact LRU pass (default:"
        " one per core).",
    )(f)
    f = click.option(
        "--clock-load-clear",
        is_flag=True,
        help="CLOCK: a newly loaded page starts with its accessed bit clear.",
    )(f)
    return click.option(
        "--seed", type=Number(0, (1 << 64) - 1), default=None, help="Seed of the random policy."
    )(f)


def _open(path: str, fmt: str | None, skip_bad: bool) -> Any:
    """Open a trace (imports the engine lazily)."""
    from vmsim.trace import Trace

    return Trace(path, fmt, skip_bad=skip_bad)


def policy_list(value: str, names: list[str], command: str) -> list[str]:
    """Comma-separated policy names, case-insensitive, each one of `names`."""
    chosen = [v.strip().lower() for v in value.split(",") if v.strip()]
    if not chosen:
        raise click.BadParameter("give at least one policy, e.g. lru,fifo", param_hint="'--policy'")
    for n in chosen:
        if n not in names:
            raise ConfigError(
                "--policy", n, f"{command} runs {', '.join(names)} (see `vmsim policies`)"
            )
    return chosen


def _policy_list(value: str) -> list[str]:
    """Policies the engine has a kernel for."""
    from vmsim.engine.kernels import kernel_names

    return policy_list(value, kernel_names(), "the engine")


def _policy_options(
    policies: list[str], seed: int | None, clock_load_clear: bool
) -> dict[str, Any]:
    """Policy options given on the command line; ConfigError naming the option no policy takes."""
    from vmsim.engine.kernels import kernel_spec

    given = {"seed": ("--seed", seed), "load_sets_refbit": ("--clock-load-clear", clock_load_clear)}
    ctx = click.get_current_context(silent=True)
    opts: dict[str, Any] = dict(ctx.meta.get("vmsim_policy_options", {})) if ctx else {}
    for key, (option, value) in given.items():
        if value is None or value is False:
            continue
        takers = [p for p in policies if key in kernel_spec(p).options]
        if not takers:
            users = [p for p in _engine_names() if key in kernel_spec(p).options]
            raise click.BadParameter(
                f"only for {', '.join(users)}; the policies given are {', '.join(policies)}",
                param_hint=f"'{option}'",
            )
        opts[key] = value if key == "seed" else False
    return opts


def _engine_names() -> list[str]:
    """Every policy with an engine kernel."""
    from vmsim.engine.kernels import kernel_names

    return kernel_names()


def _prepare(trace: Any, shift: int, data_only: bool, split: bool) -> Any:
    """Read a trace into dense ids, with a progress bar."""
    from vmsim.engine.source import PageOptions, prepare

    with trace_progress(trace, f"reading {trace.path}") as advance:
        return prepare(trace, PageOptions(shift, data_only, split), advance)


def _hold(
    trace: Any, shift: int, data_only: bool, split: bool, streamed: Callable[[Any], Any]
) -> Any:
    """Read a trace with a progress bar: its Prepared ids if it is short enough to hold
    (engine.stream.STREAM_REFS, not a pipe), else what streamed(Held) computes while the
    rest is read."""
    from vmsim.engine.source import PageOptions
    from vmsim.engine.stream import hold

    with progress_bar(f"reading {trace.path}") as advance:
        held = hold(trace, PageOptions(shift, data_only, split), advance)
        return held.prepared() if held.complete else streamed(held)


def _warn_bad(trace: Any) -> None:
    """Report skipped bad lines on stderr."""
    st = trace.stats
    if st.bad_lines:
        click.echo(
            f"vmsim: skipped {st.bad_lines:,} malformed lines (first: {st.first_bad})", err=True
        )


def _what(data_only: bool) -> str:
    """References or data references."""
    return "data references" if data_only else "references"


# ---------------------------------------------------------------- simulate

SIM_COLUMNS = [
    Column("policy", "policy", "{}", "left"),
    Column("frames", "frames"),
    Column("references", "references"),
    Column("misses", "misses"),
    Column("miss_ratio", "miss ratio", "{:.6f}"),
]


@_command
@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--policy",
    "-p",
    default="lru",
    show_default=True,
    help="Policies, comma-separated, any case (see `vmsim policies`).",
)
@frame_options
@trace_options
@policy_run_options
@output_options
@html_option
def simulate(
    trace_path: str,
    policy: str,
    frames: list[int] | None,
    memory: list[int] | None,
    fmt: str | None,
    skip_bad: bool,
    page_size: int,
    data_only: bool,
    split: bool,
    seed: int | None,
    clock_load_clear: bool,
    workers: int | None,
    as_json: bool,
    as_csv: bool,
    html: str | None,
) -> None:
    """Page faults of replacement policies on a trace, at several memory sizes.

    Prints one row (JSON: one object in a list) per policy and frame count: the
    references, the misses (page faults) and the miss ratio.
    """
    from vmsim.engine.simulate import simulate_many

    policies = _policy_list(policy)
    counts = resolve_frames(frames, memory, page_size)
    opts = _policy_options(policies, seed, clock_load_clear)
    trace = _open(trace_path, fmt, skip_bad)
    held = _hold(
        trace,
        _page_shift(page_size),
        data_only,
        split,
        lambda h: h.simulate(policies, counts, **opts),
    )
    _warn_bad(trace)
    if isinstance(held, list):
        results = held  # streamed: a trace too long to hold, or a pipe
    else:
        with progress_bar("simulating", total=len(policies) * len(counts)) as advance:
            results = simulate_many(
                held, policies, counts, workers=workers, on_done=lambda r: advance(1), **opts
            )
    if html:
        streamed = isinstance(held, list)  # no ids held: no faults over time
        timelines = () if streamed else miss_timelines(held, policies, counts, opts)
        write_curves(html, f"{Path(trace_path).name}: simulate", trace_path, page_size, [
            (name, [(r.frames, r.misses, r.references) for r in results if r.policy == name])
            for name in policies
        ], timelines)  # fmt: skip
    emit(
        f"{Path(trace_path).name}: {_what(data_only)}, {format_size(page_size)} pages",
        SIM_COLUMNS,
        [r.to_dict() for r in results],
        as_json=as_json,
        as_csv=as_csv,
    )


# ---------------------------------------------------------------- mrc

MRC_COLUMNS = [
    Column("policy", "policy", "{}", "left"),
    Column("method", "method", "{}", "left"),
    Column("frames", "frames"),
    Column("memory", "memory", "{}", "left"),
    Column("misses", "misses", "{:,.0f}"),
    Column("miss_ratio", "miss ratio", "{:.6f}"),
]


@_command
@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--policy",
    "-p",
    default="lru",
    show_default=True,
    help="Policies, comma-separated: one curve each, in one table and one plot.",
)
@click.option(
    "--sizes",
    type=Number(1, MAX_COUNT, many=True, size_option="--memory"),
    default=None,
    help="Frame counts (default: about 32 up to the footprint).",
)
@memory_option
@click.option(
    "--method",
    type=click.Choice(["auto", "exact", "shards", "simulate"], case_sensitive=False),
    default="auto",
    show_default=True,
    help="exact LRU (stack distances), shards (sampled LRU), simulate (one run per size);"
    " auto: exact for lru, simulate for the others.",
)
@click.option(
    "--rate", type=Fraction(), default=0.01, show_default=True, help="SHARDS sampling rate."
)
@trace_options
@policy_run_options
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw the curves into this image (png, svg, pdf).",
)
@output_options
@html_option
def mrc(
    trace_path: str,
    policy: str,
    sizes: list[int] | None,
    memory: list[int] | None,
    method: str,
    rate: float,
    fmt: str | None,
    skip_bad: bool,
    page_size: int,
    data_only: bool,
    split: bool,
    seed: int | None,
    clock_load_clear: bool,
    workers: int | None,
    plot: str | None,
    as_json: bool,
    as_csv: bool,
    html: str | None,
) -> None:
    """Miss-ratio curves: misses at every memory size (exact LRU in one pass).

    Prints one row per policy and size (JSON: a list of curves, one per policy).
    """
    policies = _policy_list(policy)
    method = method.lower()
    if method in ("exact", "shards") and policies != ["lru"]:
        others = ", ".join(p for p in policies if p != "lru") or ", ".join(policies)
        raise ConfigError(
            "--method", method, f"only for lru alone; use --method simulate for {others}"
        )
    opts = _policy_options(policies, seed, clock_load_clear)
    shift = _page_shift(page_size)
    sizes = frames_or_memory(sizes, memory, page_size, "--sizes")
    trace = _open(trace_path, fmt, skip_bad)
    if method == "shards" or (method == "auto" and policies == ["lru"]):
        exact_first = method == "auto"
        curves = [_shards(trace, shift, data_only, split, rate, sizes, exact_first, workers)]
    else:
        held = _hold(trace, shift, data_only, split,
                     lambda h: h.curves(policies, sizes, method != "simulate", **opts))  # fmt: skip
        if isinstance(held, list):
            curves = held  # streamed: one pass for every policy
        else:
            curves = [_curve(held, p, sizes, method, workers, opts) for p in policies]
    _warn_bad(trace)
    if plot:
        from vmsim.report.plots import plot_curves

        plot_curves(curves, plot, Path(trace_path).name, page_size, [trace_path])
    if html:
        series = [
            (c.policy,
             [(int(f), float(m), c.references) for f, m in zip(c.sizes, c.misses, strict=True)])
            for c in curves
        ]  # fmt: skip
        write_curves(html, f"{Path(trace_path).name}: miss-ratio curves", trace_path, page_size,
                     series)  # fmt: skip
    shown = [c if sizes is not None else _table_subset(c) for c in curves]
    records = [
        {"policy": c.policy, "method": c.method, "frames": int(s),
         "memory": format_size(int(s) * page_size), "misses": _num(m), "miss_ratio": float(r)}
        for c in shown
        for s, m, r in zip(c.sizes, c.misses, c.miss_ratios, strict=True)
    ]  # fmt: skip
    title = f"{Path(trace_path).name}: miss ratios, {format_size(page_size)} pages, "
    title += f"{curves[0].references:,} {_what(data_only)}"
    if curves[0].method == "shards":
        title += f", sample rate {curves[0].sample_rate:g}"
    emit(title, MRC_COLUMNS, records, as_json=as_json, as_csv=as_csv,
         json_obj=[c.to_dict() for c in shown])  # fmt: skip
    for note in (n for c in curves for n in c.notes()):
        click.echo(f"note: {note}", err=True)


def _shards(
    trace: Any, shift: int, data_only: bool, split: bool, rate: float, sizes: list[int] | None,
    exact_first: bool = False, workers: int | None = None,
) -> Any:  # fmt: skip
    """The SHARDS estimate of the LRU curve, streaming the trace (exact_first: the exact
    curve, on `workers` threads, for traces of up to mrc.AUTO_EXACT_REFS references,
    SHARDS past that)."""
    from vmsim.engine.mrc import lru_curve_auto, shards_curve

    with trace_progress(trace, f"reading {trace.path}") as advance:
        chunks = _advancing(
            (p for p, _ in trace.page_chunks(shift, data_only=data_only, split=split)), advance
        )
        if exact_first:
            return lru_curve_auto(chunks, rate, sizes, workers=workers)
        return shards_curve(chunks, rate, sizes)


def _curve(
    prep: Any, policy: str, sizes: list[int] | None, method: str, workers: int | None,
    opts: dict[str, Any],
) -> Any:  # fmt: skip
    """One policy's curve: exact for lru (unless told to simulate), else one run per size."""
    from vmsim.engine.kernels import kernel_spec
    from vmsim.engine.mrc import default_sizes, lru_curve, policy_curve

    if policy == "lru" and method in ("auto", "exact"):
        with progress_bar("the exact LRU curve", total=len(prep)) as advance:
            return lru_curve(prep, sizes, advance, workers)
    chosen = sizes if sizes is not None else default_sizes(prep.n_ids).tolist()
    mine = {k: v for k, v in opts.items() if k in kernel_spec(policy).options}
    with progress_bar(f"simulating {policy}", total=len(chosen)) as advance:
        return policy_curve(
            prep, policy, chosen, workers=workers, on_done=lambda r: advance(1), **mine
        )


def _num(x: Any) -> float | int:
    """An int when the value is whole (exact curves), else a float."""
    return int(x) if float(x).is_integer() else float(x)


def _advancing(chunks: Any, advance: Callable[[int], None]) -> Iterator[Any]:
    """Pass chunks through, advancing a progress bar."""
    for c in chunks:
        advance(len(c))
        yield c


def _table_subset(curve: Any) -> Any:
    """An exact curve of every size cut to about 32 sizes for a table (others as they are)."""
    from vmsim.engine.mrc import default_sizes

    if len(curve.sizes) <= 40:
        return curve
    return curve.subset(default_sizes(int(curve.sizes[-1]), 32))


# ---------------------------------------------------------------- tlb

TLB_MAX_ENTRIES = 1 << 24
"""The most entries a TLB level may have (real ones have tens to a few thousand)."""

TLB_COLUMNS = [
    Column("entries", "L1 entries"),
    Column("ways", "L1 ways", "{}"),
    Column("l1_misses", "L1 misses"),
    Column("l1_miss_ratio", "L1 miss ratio", "{:.6f}"),
    Column("l1_reach", "L1 reach", "{}"),
    Column("l2_entries", "L2 entries"),
    Column("l2_misses", "L2 misses"),
    Column("l2_local_miss_ratio", "L2 local miss ratio", "{:.6f}"),
    Column("l2_reach", "L2 reach", "{}"),
    Column("walks", "walks"),
]


@_command
@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--entries",
    type=Number(1, TLB_MAX_ENTRIES, many=True),
    default="64",
    show_default=True,
    help="L1 TLB entries, comma-separated for several TLBs (e.g. 16,64,1024).",
)
@click.option(
    "--ways",
    type=Number(0, TLB_MAX_ENTRIES),
    default=4,
    show_default=True,
    help="L1 ways (0: fully associative).",
)
@click.option(
    "--l2-entries",
    type=Number(0, TLB_MAX_ENTRIES),
    default=0,
    show_default=True,
    help="L2 TLB entries (0: no L2).",
)
@click.option(
    "--l2-ways",
    type=Number(0, TLB_MAX_ENTRIES),
    default=12,
    show_default=True,
    help="L2 ways (0: fully associative).",
)
@click.option(
    "--page-size",
    "tlb_page",
    type=Number(4096, 1 << 30, size=True, power_of_two=True),
    default="4KiB",
    show_default=True,
    help="Page size: 4KiB, 2MiB, 1GiB (any power of two in between).",
)
@read_options
@click.option("--data-only", is_flag=True, help="Data references only (a data TLB).")
@output_options
def tlb(
    trace_path: str,
    entries: list[int],
    ways: int,
    l2_entries: int,
    l2_ways: int,
    tlb_page: int,
    fmt: str | None,
    skip_bad: bool,
    data_only: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """TLB misses and TLB reach of a trace: entries, ways, page size, one or two levels.

    Prints one row (JSON: one object in a list) per L1 size: misses, miss ratio and
    reach of each level, and the page walks.
    """
    from vmsim.engine.tlb import TlbConfig, TlbLevel, simulate_tlbs

    l2 = None
    if l2_entries:
        with renamed_options(tlb_entries="--l2-entries", tlb_ways="--l2-ways"):
            l2 = TlbLevel(l2_entries, l2_ways)
    with renamed_options(tlb_entries="--entries", tlb_ways="--ways"):
        configs = [TlbConfig(TlbLevel(e, ways), l2, tlb_page) for e in entries]
    trace = _open(trace_path, fmt, skip_bad)
    with trace_progress(trace, f"reading {trace_path}") as advance:
        vpns = (p for p, _ in trace.page_chunks(configs[0].page_shift, data_only=data_only))
        results = simulate_tlbs(vpns, configs, advance)
    _warn_bad(trace)
    records = [_tlb_record(r.to_dict()) for r in results]
    columns = TLB_COLUMNS if l2 else [c for c in TLB_COLUMNS if not c.key.startswith("l2")]
    emit(
        f"{Path(trace_path).name}: {results[0].references:,} {_what(data_only)},"
        f" {format_size(tlb_page)} pages",
        columns,
        records,
        as_json=as_json,
        as_csv=as_csv,
        json_obj=[r.to_dict() for r in results],
    )


def _tlb_record(d: dict[str, Any]) -> dict[str, Any]:
    """A flat row of a TLB result's JSON form."""
    rec = {
        "entries": d["l1"]["entries"],
        "ways": _ways(d["l1"]["ways"]),
        "l1_misses": d["l1"]["misses"],
        "l1_miss_ratio": d["l1"]["miss_ratio"],
        "l1_reach": d["l1"]["reach_human"],
        "walks": d["walks"],
    }
    if "l2" in d:
        rec |= {
            "l2_entries": d["l2"]["entries"],
            "l2_misses": d["l2"]["misses"],
            "l2_local_miss_ratio": d["l2"]["local_miss_ratio"],
            "l2_reach": d["l2"]["reach_human"],
        }
    return rec


def _ways(w: int) -> str:
    """Ways as text."""
    return "full" if w == 0 else str(w)


# ---------------------------------------------------------------- working set

WS_COLUMNS = [
    Column("tau", "tau"),
    Column("references", "references"),
    Column("mean", "mean W(t, tau)", "{:,.1f}"),
    Column("peak", "peak W(t, tau)"),
    Column("distinct_pages", "footprint (pages)"),
    Column("footprint", "footprint", "{}"),
]


@_command
@click.command("working-set")
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--tau",
    type=Number(1, MAX_COUNT),
    default=10000,
    show_default=True,
    help="Window: the last tau references.",
)
@click.option(
    "--step",
    type=Number(1, MAX_COUNT),
    default=None,
    help="Sample every step references (default: 200 samples).",
)
@trace_options
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None, help="Also draw W(t) into this image."
)
@output_options
def working_set(
    trace_path: str,
    tau: int,
    step: int | None,
    fmt: str | None,
    skip_bad: bool,
    page_size: int,
    data_only: bool,
    split: bool,
    plot: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """The working set W(t, tau) over time, and the footprint.

    Prints the mean and peak of W(t, tau) in pages and the footprint (JSON: also the
    samples of W over time).
    """
    from vmsim.engine.working_set import working_set as ws

    shift = _page_shift(page_size)
    trace = _open(trace_path, fmt, skip_bad)
    prep = _prepare(trace, shift, data_only, split)
    _warn_bad(trace)
    with renamed_options(tau="--tau", step="--step"):
        res = ws(prep, tau, step, page_size)
    if plot:
        from vmsim.report.plots import plot_working_set

        plot_working_set(res, plot, Path(trace_path).name, [trace_path])
    record = {
        "tau": tau,
        "references": len(prep),
        "mean": res.mean,
        "peak": res.peak,
        "distinct_pages": res.distinct_pages,
        "footprint": format_size(res.distinct_pages * page_size),
    }
    emit(
        f"{Path(trace_path).name}: working set, {format_size(page_size)} pages",
        WS_COLUMNS,
        [record],
        as_json=as_json,
        as_csv=as_csv,
        json_obj=res.to_dict(),
    )


# ---------------------------------------------------------------- policies

POLICY_COLUMNS = [
    Column("name", "name", "{}", "left"),
    Column("description", "description", "{}", "left"),
    Column("commands", "accepted by", "{}", "left"),
    Column("needs_future", "needs the future", "{}", "left"),
]


@_command
@click.command()
@output_options
def policies(as_json: bool, as_csv: bool) -> None:
    """List the page-replacement policies and the commands that accept each.

    simulate and mrc run the engine's kernels; replay (and vmsim.Machine) runs the
    machine's policies, which work on frames and so cannot keep a history of evicted
    pages (ARC, 2Q, LIRS).
    """
    from vmsim.engine.kernels import kernel_names
    from vmsim.policies import policy_class, policy_names

    engine, machine = set(kernel_names()), set(policy_names())
    records = []
    for name in sorted(engine | machine):
        cls = policy_class(name) if name in machine else None
        commands = ["simulate", "mrc"] if name in engine else []
        if cls is not None and not cls.remembers_evicted:
            commands.append("replay")
        records.append({
            "name": name,
            "description": cls.description if cls is not None else "",
            "commands": ", ".join(commands),
            "needs_future": "yes" if cls is not None and cls.needs_future else "",
        })  # fmt: skip
    emit("replacement policies", POLICY_COLUMNS, records, as_json=as_json, as_csv=as_csv)


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
@output_options
def info(
    trace_path: str, fmt: str | None, skip_bad: bool, page_size: str, as_json: bool, as_csv: bool
) -> None:
    """References by kind, distinct pages (code, data), footprint.

    CSV: one row of the JSON figures (by_kind flattened to by_kind_I, by_kind_L, ...).
    """
    from vmsim.engine.info import trace_info

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    shift = _page_shift(page_size)
    tr = _open(trace_path, fmt, skip_bad)
    with trace_progress(tr, f"reading {trace_path}") as advance:
        i = trace_info(tr, shift, advance)
    _warn_bad(tr)
    if as_json:
        echo_json(i.to_dict())
        return
    if as_csv:
        record = _flat(i.to_dict())
        write_csv([Column(k, k) for k in record], [record])
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
@click.argument("src", type=click.Path(dir_okay=False, allow_dash=True))
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
@click.option(
    "--level",
    type=int,
    default=None,
    help="Compression level: zstd 1-22 for .vmt blocks and .zst, gzip and xz 0-9.",
)
@click.option(
    "--lossy",
    is_flag=True,
    help="Allow losing what DEST's format cannot hold (din: sizes, M; text: sizes).",
)
def convert(
    src: str,
    dest: str,
    to: str | None,
    fmt: str | None,
    skip_bad: bool,
    level: int | None,
    lossy: bool,
) -> None:
    """Convert a trace to another format (e.g. lackey text to compact .vmt).

    SRC may be - (standard input) or a pipe. DEST is written whole or not at all. A
    conversion that would lose information (din keeps no sizes and writes M as a
    write; text keeps no sizes) is refused, saying what, unless --lossy.
    """
    from vmsim.output import ensure_not_input
    from vmsim.trace import Trace
    from vmsim.trace.writers import output_format, output_level, write_trace

    ensure_not_input(dest, src)
    out_fmt, compression = output_format(dest, to)
    output_level(dest, out_fmt, compression, level)
    tr = Trace(src, fmt, skip_bad=skip_bad, spool=out_fmt == "npy")
    count = None
    if out_fmt == "npy":  # two passes: the count goes first (a pipe is spooled)
        count = sum(len(c) for c in tr.chunks())
    lost: list[str] = []
    with trace_progress(tr, f"converting {src}") as advance:
        n = write_trace(
            _advancing(tr.chunks(), advance),
            dest,
            out_fmt,
            has_sizes=tr.has_sizes,
            count=count,
            level=level,
            lossy=lossy,
            lost=lost,
        )
    _warn_bad(tr)
    click.echo(f"{dest}: {n:,} references ({out_fmt})", err=True)
    if lost:
        click.echo(f"vmsim: {dest}: lost {'; '.join(lost)} (--lossy)", err=True)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested JSON object as one level, keys joined by _ ({"by_kind": {"I": 1}}: by_kind_I)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _flat(v, f"{prefix}{k}_")
        else:
            out[f"{prefix}{k}"] = v
    return out


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
    "--level", type=int, default=9, show_default=True, help="zstd level (1-22) of the .vmt blocks."
)
@click.option(
    "--trace-children",
    is_flag=True,
    help="Trace every process the program starts too (fork, exec), one .vmt each: the program "
    "in OUTPUT, each other process image in OUTPUT's stem + .PID.vmt.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(output: str, level: int, trace_children: bool, command: tuple[str, ...]) -> None:
    """Record a program's memory trace with valgrind lackey: vmsim record -o out.vmt -- CMD ARGS...

    The program's own output is untouched; its exit status is passed through. Only the
    program itself is traced (valgrind's default): `record -- sh -c 'ls /'` records
    sh. With --trace-children every process image it starts is recorded as well, each
    in a file of its own (`-o ls.vmt`: ls.vmt for the program, ls.PID.vmt for each
    child; a pid that execs again gets ls.PID.2.vmt). OUTPUT appears only when the
    recording is whole: a failure or Ctrl-C leaves no file.
    """
    from vmsim.trace.compress import check_level
    from vmsim.trace.record import check_command, find_valgrind
    from vmsim.trace.record import record as run

    check_level("zstd", level, output)
    find_valgrind()
    check_command(command)
    with spinner(f"recording {command[0]}") as advance:
        rec = run(
            list(command), output, progress=advance, level=level, trace_children=trace_children
        )
    if rec.processes:
        for p in rec.processes:
            click.echo(
                f"vmsim: {p.output}: {p.references:,} references (pid {p.pid}: {p.command})",
                err=True,
            )
    else:
        click.echo(f"vmsim: {output}: {rec.references:,} references", err=True)
    if rec.bad_lines:
        click.echo(
            f"vmsim: {rec.bad_lines:,} lines of valgrind output were not references", err=True
        )
    if rec.exit_status:
        raise SystemExit(rec.exit_status)
