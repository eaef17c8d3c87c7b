"""Interactive miss-ratio curves (`vmsim mrc --html`, `vmsim simulate --html`).

One self-contained HTML page, in the style of the machine's page: the curves as SVG
drawn by static/curves.js from inline JSON, hover values with memory in bytes, a
legend per policy. Nothing is fetched.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from vmsim.output import atomic_text_output


@dataclass(frozen=True)
class CurveSeries:
    """One policy's curve: misses at each memory size (in frames)."""

    name: str
    frames: Sequence[int]
    misses: Sequence[float]
    references: int


@dataclass(frozen=True)
class Timeline:
    """One policy's page faults over time: cumulative misses after `refs[k]` references."""

    name: str
    frames: int
    refs: Sequence[int]
    misses: Sequence[int]


TIMELINE_POINTS = 400


def timeline(name: str, frames: int, miss_flags: Any) -> Timeline:
    """The faults over time of one replay from its per-reference miss flags (sampled)."""
    import numpy as np

    total = np.cumsum(np.asarray(miss_flags, dtype=np.int64))
    n = len(total)
    refs = sorted({*range(0, n, max(1, -(-n // TIMELINE_POINTS))), n}) if n else [0]
    misses = [int(total[r - 1]) if r else 0 for r in refs]
    return Timeline(name, frames, refs, misses)


def _static(name: str) -> str:
    """The text of one file of static/."""
    return (resources.files("vmsim.report.view") / "static" / name).read_text("utf-8")


def curves_html(
    title: str, series: Sequence[CurveSeries], page_size: int,
    timelines: Sequence[Timeline] = (),
) -> str:  # fmt: skip
    """The page: the curves' data (and faults over time) as JSON, the script and style inline."""
    data = {
        "title": title,
        "page_size": page_size,
        "series": [
            {"name": s.name, "frames": [int(f) for f in s.frames],
             "misses": [float(m) for m in s.misses], "references": int(s.references)}
            for s in series
        ],
        "timelines": [
            {"name": t.name, "frames": int(t.frames), "refs": [int(r) for r in t.refs],
             "misses": [int(m) for m in t.misses]}
            for t in timelines
        ],
    }  # fmt: skip
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'\">\n"
        f"<style>\n{_static('curves.css')}</style>\n</head>\n<body>\n"
        f'<h1>{html.escape(title)}</h1><div id="chart"></div><p id="hover"></p>'
        '<div id="timeline"></div>\n'
        f'<script id="curves-data" type="application/json">{blob}</script>\n'
        f"<script>\n{_static('curves.js')}</script>\n</body></html>\n"
    )


def save_curves(path: str | os.PathLike[str], title: str, series: Sequence[CurveSeries],
                page_size: int, timelines: Sequence[Timeline] = ()) -> None:  # fmt: skip
    """Write the curves page to path (all or nothing)."""
    with atomic_text_output(os.fspath(path)) as out:
        out.write(curves_html(title, series, page_size, timelines))
