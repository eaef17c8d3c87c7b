"""One self-contained HTML page of a recording: data, script and style inline.

The recording is JSON (`payload`): a header and one part per chunk, each compressed
(raw deflate) and base64-encoded on its own inside the page. The page inflates the
header when it opens and a chunk when a seek first needs it (core.js `inflate`, written
for this page), so it fetches nothing, opens offline and opens as fast at a million
events as at a thousand. The script and style are the package data in static/, inlined in
the order of SCRIPTS.
"""

from __future__ import annotations

import base64
import html
import json
import os
import zlib
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
FORMAT_VERSION = 2
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


JUMP_KINDS = ("PageFault", "Evict", "SwapIn", "CowCopy", "Syscall", "ContextSwitch", "OomKill")
"""Events the timeline jumps between (their indexes go in the page's header)."""
CHART_POINTS = 400


def payload(machine: Machine, title: str = "vmsim") -> dict[str, Any]:
    """The page's data: a header (meta, jumps, charts) and one JSON line per chunk.

    Chunk c is [snapshot at step c * every, its events, its deltas]; the page parses a
    chunk only when it shows one of its steps, so a long recording opens fast.
    """
    rec: Recording | None = machine.recording
    if rec is None:
        state = snapshot(machine)
        rss = sum(p["stats"]["rss"] for p in state["processes"].values())
        c = state["counters"]
        series = {"pgfault": [c["pgfault"]], "tlb_miss": [c["tlb_miss"]],
                  "swap": [c["pswpin"] + c["pswpout"]], "rss": [rss]}  # fmt: skip
        header = _header(title, machine_meta(machine), 1, 0, [], series)
        return {"header": header, "chunks": [_chunk(state, [], "[]", "null")]}
    rec.finish()
    header = _header(title, rec.meta, rec.every, rec.skipped, rec.events, rec.series)
    chunks = [
        _chunk(
            state,
            rec.events[base : base + rec.every],
            *_columns(state["counters"], rec.chunk_deltas(c)),
        )
        for c, (base, state) in enumerate(rec.snapshots)
    ]
    return {"header": header, "chunks": chunks}


def _columns(start: dict[str, int], deltas: list[list[Any]]) -> tuple[str, str]:
    """A chunk's deltas without the counters' changes, and those changes as columns.

    The columns map a counter to its increment at each step of the chunk, from its value
    in the chunk's snapshot (`start`); counters that do not change are left out. A chunk
    with any other operation on the counters keeps every operation in its deltas and
    has no columns (null).
    """
    counters = [op for ops in deltas for op in ops if op[0] and op[0][0] == "counters"]
    if any(len(op[0]) != 2 or len(op) != 2 or op[0][1] not in start for op in counters):
        return json.dumps(deltas, separators=(",", ":")), "null"
    columns: dict[str, list[int]] = {op[0][1]: [0] * len(deltas) for op in counters}
    now = dict(start)
    rest = []
    for j, ops in enumerate(deltas):
        kept = []
        for op in ops:
            if op[0] and op[0][0] == "counters":
                name = op[0][1]
                columns[name][j] += op[1] - now[name]
                now[name] = op[1]
            else:
                kept.append(op)
        rest.append(kept)
    return json.dumps(rest, separators=(",", ":")), json.dumps(columns, separators=(",", ":"))


def _header(
    title: str, meta: dict[str, Any], every: int, skipped: int, events: list[ev.Event],
    series: Any,
) -> dict[str, Any]:  # fmt: skip
    """What the page needs before any chunk: meta, event kinds, jump targets, charts."""
    jumps: dict[str, list[int]] = {k: [] for k in JUMP_KINDS}
    for i, e in enumerate(events):
        name = type(e).__name__
        if name in jumps:
            jumps[name].append(i)
    n = len(events)
    stride = max(1, -(-(n + 1) // CHART_POINTS))
    steps = sorted({*range(0, n + 1, stride), n})
    return {
        "version": FORMAT_VERSION,
        "title": title,
        "meta": meta,
        "kinds": [[cls.__name__, [f.name for f in fields(cls)]] for cls in KINDS],
        "every": every,
        "first_event": skipped,
        "n": n,
        "jumps": jumps,
        "series": {"steps": steps, **{k: [series[k][i] for i in steps] for k in series}},
    }


def _chunk(state: Any, events: list[ev.Event], deltas_text: str, counters_text: str) -> str:
    """One chunk line: [snapshot, events as columns, deltas, counter columns]."""
    dump = json.dumps(state, separators=(",", ":"))
    columns = event_columns([encode_event(e) for e in events])
    events_text = json.dumps(columns, separators=(",", ":"))
    return f"[{dump},{events_text},{deltas_text},{counters_text}]"


def event_columns(rows: list[list[Any]]) -> list[Any]:
    """Encoded events as columns: [kinds, sentences, {kind: [[delta?, values], ...]}].

    Each kind's fields are one column each, in the order of its events; a column of
    plain integers is stored as differences from the value before it (delta 1), which
    compresses far better. core.js eventRows turns the columns back into rows.
    """
    by_kind: dict[int, list[list[Any]]] = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row[2:])
    columns: dict[str, list[Any]] = {}
    for kind, fields_rows in by_kind.items():
        cols = []
        for col in map(list, zip(*fields_rows, strict=True)):
            if all(type(v) is int for v in col):
                cols.append([1, [b - a for a, b in zip([0, *col], col, strict=False)]])
            else:
                cols.append([0, col])
        columns[str(kind)] = cols
    return [[r[0] for r in rows], [r[1] for r in rows], columns]


def _part(raw: bytes) -> str:
    """One part of the page's data: raw deflate (RFC 1951), base64 (core.js `part`)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return base64.b64encode(z.compress(raw) + z.flush()).decode("ascii")


def _static(name: str) -> str:
    """The text of one file of static/."""
    return (resources.files("vmsim.report.view") / "static" / name).read_text("utf-8")


def page_html(data: dict[str, Any]) -> str:
    """The HTML page for a payload: style, compressed data and script, all inline."""
    chunks = [c.encode() for c in data["chunks"]]
    header = {**data["header"], "sizes": [len(c) for c in chunks]}
    raw = [json.dumps(header, separators=(",", ":")).encode(), *chunks]
    blob = ",".join(_part(r) for r in raw)
    script = "\n".join(_static(n) for n in SCRIPTS).replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(str(data['header']['title']))}</title>\n"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
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
