"""`vmsim sweep`: policies x sizes over many traces on Dask, tidy rows to Parquet or CSV."""

from __future__ import annotations

from typing import Any

import click

from vmsim.cli.common import Number, frame_options, progress_bar, resolve_frames

COMMANDS: list[click.Command] = []


@click.command()
@click.argument(
    "traces", metavar="TRACE...", nargs=-1, required=True, type=click.Path(dir_okay=False)
)
@click.option(
    "--policy",
    "-p",
    "policies",
    default="lru",
    show_default=True,
    help="Policies, comma-separated.",
)
@frame_options
@click.option(
    "--page-size",
    type=Number(1, 1 << 40, size=True, power_of_two=True),
    default="4KiB",
    show_default=True,
    help="Page size (power of two).",
)
@click.option("--data-only", is_flag=True, help="Drop instruction fetches.")
@click.option("--format", "fmt", default=None, help="Trace format (default: detected).")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Results: a .parquet or .csv file (written when the sweep ends).",
)
@click.option(
    "--plot",
    "plot_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Directory for one miss-ratio figure per trace and a summary figure.",
)
@click.option("--scheduler", default=None, help="Address of a Dask scheduler (tcp://host:8786).")
@click.option(
    "--workers",
    type=Number(1, 4096),
    default=None,
    help="Threads of the local cluster's worker (default: one per core).",
)
@click.option(
    "--resume", is_flag=True, help="Keep the rows an interrupted run of this output finished."
)
def sweep(
    traces: tuple[str, ...],
    policies: str,
    frames: list[int] | None,
    memory: list[int] | None,
    page_size: int,
    data_only: bool,
    fmt: str | None,
    output: str,
    plot_dir: str | None,
    scheduler: str | None,
    workers: int | None,
    resume: bool,
) -> int:
    """Run every policy at every size over every trace, on a Dask cluster.

    One task per (trace, policy) covers all sizes (LRU: the exact curve in one pass).
    Each task's rows (trace, policy, frames, memory, references, misses, miss_ratio,
    seconds, vmsim_version) are journaled beside the output as they arrive
    (OUTPUT.journal), so an interrupted sweep loses nothing: run it again with
    --resume. Without --scheduler a local cluster (one worker process, one thread
    per core) runs the tasks; on a cluster, start a scheduler (or dask-jobqueue's
    SLURMCluster) and give its address. A task that fails (a malformed trace) is
    reported with its trace and line; the others go on, and the exit status is 1.
    """  # fmt: skip
    from vmsim.engine.sweep import output_kind
    from vmsim.engine.sweep import sweep as run_sweep

    if scheduler and workers:
        raise click.UsageError("give --scheduler or --workers, not both")
    output_kind(output)
    psize = page_size
    sizes = resolve_frames(frames, memory, psize)
    failures: list[Any] = []
    with progress_bar("sweep tasks") as advance:
        state = {"done": 0}

        def progress(done: int, total: int) -> None:
            if not state["done"]:
                advance.set_total(total)
            advance(done - state["done"])
            state["done"] = done

        df = run_sweep(
            traces, [p for p in policies.split(",") if p.strip()], sizes,
            page_size=psize, data_only=data_only, format=fmt, output=output, resume=resume,
            scheduler=scheduler, workers=workers, progress=progress, failures=failures,
        )  # fmt: skip
    click.echo(f"{len(df):,} rows -> {output}", err=True)
    if plot_dir:
        from vmsim.report.sweep_plots import plot_sweep

        for path in plot_sweep(df, plot_dir):
            click.echo(f"plot -> {path}", err=True)
    for f in failures:
        click.echo(f"vmsim: error: {f.policy} on {f.trace}: {f.error}", err=True)
    return 1 if failures else 0


COMMANDS.append(sweep)
