"""Figures of a sweep: one miss-ratio figure per trace, and policies against the best."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vmsim.report.plots import _figure, _save


def plot_sweep(df: Any, directory: str | os.PathLike[str]) -> list[str]:
    """Write `<trace>.png` for each trace and `summary.png`; return the paths written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for trace, rows in df.groupby("trace", sort=True):
        path = str(out / f"{Path(str(trace)).name}.png")
        plot_trace(rows, path, str(trace))
        paths.append(path)
    if len(df):
        path = str(out / "summary.png")
        plot_summary(df, path)
        paths.append(path)
    return paths


def plot_trace(rows: Any, path: str, trace: str) -> None:
    """Miss ratio against frames, one line with a marker per computed size for each policy."""
    fig, ax = _figure()
    for policy, r in rows.groupby("policy", sort=True):
        r = r.sort_values("frames")
        ax.plot(r["frames"], r["miss_ratio"], marker="o", label=str(policy))
    frames = rows["frames"]
    if frames.max() >= 10 * frames.min():
        ax.set_xscale("log")
    ax.set_xlabel("frames")
    ax.set_ylabel("miss ratio")
    ax.set_title(f"{Path(trace).name}: miss ratio by policy")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path, [trace])


def relative_to_best(df: Any) -> Any:
    """Per policy: the geometric mean over (trace, frames) of misses / the best policy's."""
    best = df.groupby(["trace", "frames"])["misses"].transform("min")
    ratio = (df["misses"] + 1) / (best + 1)
    return np.exp(np.log(ratio).groupby(df["policy"]).mean()).sort_values()


def plot_summary(df: Any, path: str) -> None:
    """A bar per policy: how many times the best policy's misses it makes (geometric mean)."""
    rel = relative_to_best(df)
    fig, ax = _figure()
    ax.bar(list(rel.index), list(rel.values))
    ax.axhline(1.0, color="black", linewidth=0.8)
    for i, v in enumerate(rel.values):
        ax.text(i, v, f"{v:.2f}x", ha="center", va="bottom")
    ax.set_ylabel("misses / best policy's (geometric mean)")
    ax.set_title(f"policies against the best, over {df['trace'].nunique()} traces")
    _save(fig, path, list(df["trace"].unique()))
