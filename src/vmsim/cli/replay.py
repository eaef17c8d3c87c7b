"""`vmsim replay`: a trace through the whole simulated machine (TLB, walks, faults, swap)."""

from __future__ import annotations

from pathlib import Path

import click

from vmsim.cli.common import (
    Column,
    Number,
    emit,
    frame_options,
    output_options,
    progress_bar,
    renamed_options,
    resolve_frames,
    trace_progress,
)
from vmsim.cli.engine import PAGE_SIZE, _open, _warn_bad, policy_list, read_options
from vmsim.config import format_size
from vmsim.hw.ptformat import machine_formats
from vmsim.report.view.cli import html_option, window_option, window_or_default

REPLAY_COLUMNS = [
    Column("policy", "policy", "{}", "left"),
    Column("frames", "frames"),
    Column("references", "references"),
    Column("faults", "faults"),
    Column("major_faults", "major"),
    Column("tlb_misses", "TLB misses"),
    Column("swap_outs", "swap outs"),
    Column("swap_ins", "swap ins"),
    Column("refs_per_s", "refs/s"),
]

MACHINE_NAMES = {
    "paging": "--paging",
    "page_size": "--page-size",
    "address_space": "--address-space",
    "tlb_entries": "--tlb-entries",
    "tlb_ways": "--tlb-ways",
    "policy": "--policy",
    "seed": "--seed",
}
"""MachineConfig fields -> the replay options that set them."""


@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--policy",
    "-p",
    default="lru",
    show_default=True,
    help="Machine policies, comma-separated, any case (see `vmsim policies`).",
)
@frame_options
@click.option(
    "--paging",
    type=click.Choice(machine_formats(), case_sensitive=False),
    default="x86_64",
    show_default=True,
    help="Page-table format.",
)
@click.option(
    "--page-size",
    type=PAGE_SIZE,
    default="4KiB",
    show_default=True,
    help="Page size (other than 4KiB only with --paging linear).",
)
@click.option(
    "--address-space",
    type=Number(1, 1 << 48, size=True, power_of_two=True),
    default=None,
    help="Virtual address-space size (--paging linear only), e.g. 16KiB.",
)
@click.option(
    "--tlb-entries", type=Number(0, 1 << 16), default=64, show_default=True, help="TLB entries."
)
@click.option(
    "--tlb-ways",
    type=Number(0, 1 << 16),
    default=4,
    show_default=True,
    help="TLB ways (0: fully associative).",
)
@read_options
@click.option("--data-only", is_flag=True, help="Keep loads, stores and modifies; drop fetches.")
@click.option(
    "--seed", type=Number(0, (1 << 64) - 1), default=0, show_default=True, help="Seed of random."
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw page faults and resident pages over time into this image.",
)
@output_options
@html_option
@window_option
def replay(
    trace_path: str,
    policy: str,
    frames: list[int] | None,
    memory: list[int] | None,
    paging: str,
    page_size: int,
    address_space: int | None,
    tlb_entries: int,
    tlb_ways: int,
    fmt: str | None,
    skip_bad: bool,
    data_only: bool,
    seed: int,
    plot: str | None,
    as_json: bool,
    as_csv: bool,
    html: str | None,
    window: tuple[int, int] | None,
) -> None:
    """Replay a trace through the whole machine: TLB, page walks, faults, reclaim, swap.

    Each run gives one process a memory limit of FRAMES pages (or --memory). Prints one
    row (JSON: one object in a list) per policy and limit: references, page faults (equal
    to the misses of `vmsim simulate`), major faults (swap-ins), TLB misses, swap outs and
    ins, and references replayed per second.
    """
    from vmsim.policies import policy_names
    from vmsim.report.replay import Paging, check_fits, machine_replay

    names = policy_list(policy, policy_names(), "the machine")
    counts = resolve_frames(frames, memory, page_size)
    pg = Paging(paging.lower(), page_size, address_space, tlb_entries, tlb_ways)
    with renamed_options(**MACHINE_NAMES):
        for name in names:
            pg.config(1, 1, name, seed)  # every option checked before the trace is read
    trace = _open(trace_path, fmt, skip_bad)
    with trace_progress(trace, f"reading {trace_path}") as advance:
        addrs, kinds = trace.arrays(data_only=data_only, progress=advance)
    _warn_bad(trace)
    check_fits(addrs, pg, trace_path)
    runs = []
    with progress_bar("replaying") as advance:
        advance.set_total(len(names) * len(counts) * len(addrs))
        for name in names:
            for count in counts:
                advance.set_description(f"{name}, {count:,} frames")
                page, html = html, None  # the page shows the first run
                runs.append(machine_replay(
                    addrs, kinds, name, count, paging=pg, seed=seed, advance=advance, html=page,
                    window=window_or_default(window) if page else None, source=trace_path,
                ))  # fmt: skip
    if plot:
        from vmsim.report.plots import plot_replay

        plot_replay(runs, plot, Path(trace_path).name, page_size, [trace_path])
    emit(
        f"{Path(trace_path).name} through the machine"
        f" ({pg.paging}, {format_size(page_size)} pages)",
        REPLAY_COLUMNS,
        [r.as_dict() for r in runs],
        as_json=as_json,
        as_csv=as_csv,
    )


COMMANDS: list[click.Command] = [replay]
