"""Plots (matplotlib, Agg backend): miss-ratio curves, the working set, a replay over time.

Every image is written through vmsim.output.atomic_path: an interrupted or failed
write leaves nothing at the destination.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from vmsim.errors import ConfigError, VmsimError
from vmsim.output import atomic_path, ensure_not_input

LOG_SPAN = 50
"""Draw the x axis on a log scale when the largest size is this many times the smallest."""

DENSE = 64
"""A curve with more points than this is drawn as a line (every size is computed)."""


def _figure() -> tuple[Any, Any]:
    """A new figure and axes, with the file-only backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(8, 5))


def _save(fig: Any, path: str, inputs: Sequence[str]) -> None:
    """Write the figure to path (format from the extension), never over one of the inputs;
    ConfigError naming --plot if it cannot."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    ext = os.path.splitext(path)[1]
    try:
        ensure_not_input(path, *inputs)
        with atomic_path(path, suffix=ext) as tmp:
            fig.savefig(tmp, format=ext[1:] or None)
    except (OSError, ValueError, VmsimError) as exc:
        raise ConfigError("--plot", path, f"cannot write the image: {exc}") from None
    finally:
        plt.close(fig)


def human_size(nbytes: float) -> str:
    """A byte count with a binary unit, rounded for an axis label ("1.5MiB")."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g}{unit}"
    return f"{nbytes:.3g}B"


def _memory_axis(ax: Any, page_size: int, log: bool) -> None:
    """A second x axis on top: the memory size of each frame count (ticks at powers of 2)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

    top = ax.secondary_xaxis("top", functions=(lambda f: f * page_size, lambda b: b / page_size))
    if log:
        top.xaxis.set_major_locator(LogLocator(base=4))
        top.xaxis.set_minor_locator(NullLocator())
    else:
        top.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 4, 8]))
    top.xaxis.set_major_formatter(FuncFormatter(lambda b, _: human_size(b)))
    top.set_xlabel(f"memory ({human_size(page_size)} pages)")


def plot_curves(
    curves: Sequence[Any], path: str, trace_name: str, page_size: int, inputs: Sequence[str] = ()
) -> None:
    """Miss ratio against frames of one or more MissRatioCurves, in one figure.

    Points only at the computed sizes (a marker each; a curve computed at every size
    is drawn as a line); the frame axis is logarithmic when the sizes span LOG_SPAN.
    """
    fig, ax = _figure()
    lo = min(int(c.sizes[0]) for c in curves if len(c.sizes))
    hi = max(int(c.sizes[-1]) for c in curves if len(c.sizes))
    for c in curves:
        label = f"{c.policy} ({c.method})"
        if len(c.sizes) > DENSE:
            ax.plot(c.sizes, c.miss_ratios, "-", linewidth=1.2, label=label)
        else:
            ax.plot(c.sizes, c.miss_ratios, "o", markersize=4, label=label)
    log = hi >= LOG_SPAN * lo
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("frames")
    ax.set_ylabel("miss ratio")
    ax.set_ylim(bottom=0)
    _memory_axis(ax, page_size, log)
    methods = ", ".join(dict.fromkeys(c.method for c in curves))
    names = ", ".join(c.policy for c in curves)
    ax.set_title(
        f"{trace_name}: miss ratio of {names}\n{human_size(page_size)} pages, method {methods}"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path, inputs)


def plot_working_set(res: Any, path: str, title: str, inputs: Sequence[str] = ()) -> None:
    """W(t, tau) over time of a vmsim.engine working-set result."""
    fig, ax = _figure()
    ax.plot(res.times, res.sizes, "o-", markersize=2)
    ax.set_xlabel("t (references)")
    ax.set_ylabel(f"W(t, {res.tau:,}) (pages)")
    ax.set_title(f"{title}: working set, {human_size(res.page_size)} pages")
    ax.grid(True, alpha=0.3)
    _save(fig, path, inputs)


def plot_replay(
    runs: Sequence[Any], path: str, trace_name: str, page_size: int, inputs: Sequence[str] = ()
) -> None:
    """Page faults (solid) and resident pages (dashed, right axis) over time, per replay run."""
    fig, ax = _figure()
    rss_ax = ax.twinx()
    for r in runs:
        label = f"{r.policy}, {r.frames:,} frames"
        (line,) = ax.plot(r.times, r.fault_counts, "o-", markersize=3, label=f"{label}: faults")
        rss_ax.plot(r.times, r.rss, "--", color=line.get_color(), label=f"{label}: RSS")
    ax.set_xlabel("references replayed")
    ax.set_ylabel("page faults so far")
    rss_ax.set_ylabel("resident pages (RSS)")
    ax.set_ylim(bottom=0)
    rss_ax.set_ylim(bottom=0)
    ax.set_title(f"{trace_name} through the machine: {human_size(page_size)} pages")
    handles = ax.get_legend_handles_labels()
    more = rss_ax.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize="small")
    ax.grid(True, alpha=0.3)
    _save(fig, path, inputs)
