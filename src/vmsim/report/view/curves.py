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

from vmsim.output import atomic_text_output


@dataclass(frozen=True)
class CurveSeries:
    """One policy's curve: misses at each memory size (in frames)."""

    name: str
    frames: Sequence[int]
    misses: Sequence[float]
    references: int


def _static(name: str) -> str:
    """The text of one file of static/."""
    return (resources.files("vmsim.report.view") / "static" / name).read_text("utf-8")


def curves_html(title: str, series: Sequence[CurveSeries], page_size: int) -> str:
    """The page: the curves' data as JSON, the script and style inline."""
    data = {
        "title": title,
        "page_size": page_size,
        "series": [
            {"name": s.name, "frames": [int(f) for f in s.frames],
             "misses": [float(m) for m in s.misses], "references": int(s.references)}
            for s in series
        ],
    }  # fmt: skip
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'\">\n"
        f"<style>\n{_static('curves.css')}</style>\n</head>\n<body>\n"
        f'<h1>{html.escape(title)}</h1><div id="chart"></div><p id="hover"></p>\n'
        f'<script id="curves-data" type="application/json">{blob}</script>\n'
        f"<script>\n{_static('curves.js')}</script>\n</body></html>\n"
    )


def save_curves(path: str | os.PathLike[str], title: str, series: Sequence[CurveSeries],
                page_size: int) -> None:  # fmt: skip
    """Write the curves page to path (all or nothing)."""
    with atomic_text_output(os.fspath(path)) as out:
        out.write(curves_html(title, series, page_size))
