"""One self-contained HTML page of a recording: data, script and style inline.

The recording is JSON (`payload`), gzip-compressed and base64-encoded inside the page;
the browser inflates it with its own DecompressionStream, so the page fetches nothing
and opens offline. The script and style are the package data in static/, inlined in
the order of SCRIPTS.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
from dataclasses import fields
from importlib import resources
from typing import TYPE_CHECKING, Any

from vmsim import events as ev
from vmsim.output import atomic_text_output
from vmsim.report.narrative import describe
from vmsim.report.view.record import Recording
from vmsim.report.view.snapshot import machine_meta, pte_hex, snapshot

if TYPE_CHECKING:
    from vmsim.machine import Machine

SCRIPTS = ("core.js", "views.js", "app.js")
"""The page's script files, in the order they are inlined."""
FORMAT_VERSION = 1
_JS_SAFE = (1 << 53) - 1

KINDS: list[type[ev.Event]] = [
    cls
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, ev.Event) and cls is not ev.Event
]
"""Every event class; an event is sent as [kind index, text, field values...]."""
_KIND_INDEX = {cls: i for i, cls in enumerate(KINDS)}


def _value(v: Any) -> Any:
    """A field value as JSON carries it (integers past 2**53 as hex strings)."""
    if isinstance(v, bool) or not isinstance(v, int | tuple):
        return v
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    return v if -_JS_SAFE <= v <= _JS_SAFE else pte_hex(v)


def encode_event(e: ev.Event) -> list[Any]:
    """[kind index, narrative sentence, field values in declaration order]."""
    row: list[Any] = [_KIND_INDEX[type(e)], describe(e)]
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(e, ev.Walk) and f.name == "steps":
            v = [[lvl, pa, pte_hex(pte)] for lvl, pa, pte in v]
        row.append(_value(v))
    return row


def payload(machine: Machine, title: str = "vmsim") -> dict[str, Any]:
    """Everything the page shows, as one JSON-able dict (the recording, or one snapshot)."""
    rec: Recording | None = machine.recording
    if rec is None:
        snaps, events, deltas, every, skipped = [(0, snapshot(machine))], [], [], 1, 0
        meta = machine_meta(machine)
    else:
        rec.finish()
        snaps, events, deltas = rec.snapshots, rec.events, rec.deltas
        every, skipped, meta = rec.every, rec.skipped, rec.meta
    return {
        "version": FORMAT_VERSION,
        "title": title,
        "meta": meta,
        "kinds": [[cls.__name__, [f.name for f in fields(cls)]] for cls in KINDS],
        "every": every,
        "first_event": skipped,
        "snapshots": [[i, s] for i, s in snaps],
        "events": [encode_event(e) for e in events],
        "deltas": deltas,
    }


def _static(name: str) -> str:
    """The text of one file of static/."""
    return (resources.files("vmsim.report.view") / "static" / name).read_text("utf-8")


def page_html(data: dict[str, Any]) -> str:
    """The HTML page for a payload: style, compressed data and script, all inline."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    blob = base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")
    script = "\n".join(_static(n) for n in SCRIPTS).replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{html.escape(str(data['title']))}</title>\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
        f"<style>\n{_static('app.css')}</style>\n</head>\n<body>\n{_static('body.html')}\n"
        f'<script id="vmsim-data" type="application/octet-stream">{blob}</script>\n'
        f"<script>\n{script}</script>\n</body></html>\n"
    )


def save_html(machine: Machine, path: str | os.PathLike[str], title: str = "vmsim") -> None:
    """Write the page of machine's recording to path (all or nothing)."""
    text = page_html(payload(machine, title))
    with atomic_text_output(os.fspath(path)) as out:
        out.write(text)


def iframe_html(machine: Machine) -> str:
    """The page inside an iframe (srcdoc), for Jupyter's _repr_html_."""
    doc = html.escape(page_html(payload(machine)), quote=True)
    return f'<iframe srcdoc="{doc}" style="width:100%;height:820px;border:0"></iframe>'
