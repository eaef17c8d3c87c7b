"""Trace formats by name: loading the readers, looking one up, detecting a file's format.

This module sits above every reader module (each registers itself in
`vmsim.trace.base.FORMATS` with `@register_format`); the readers import only
`vmsim.trace.base`, so there is no import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vmsim.errors import ConfigError, TraceFormatError
from vmsim.trace.base import FORMATS, TraceReader
from vmsim.trace.compress import peek
from vmsim.trace.inputs import Input, open_input


def _load_all() -> None:
    """Import every reader module so that each registers itself."""
    from vmsim.trace import csvtrace, din, lackey, npy, oracle, pitt, text, vmt  # noqa: F401


def format_names() -> list[str]:
    """Names of all registered trace formats."""
    _load_all()
    return list(FORMATS)


def reader_class(name: str) -> type[TraceReader]:
    """The reader registered under `name`; ConfigError if none."""
    _load_all()
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError("format", name, f"one of {', '.join(FORMATS)}") from None


DETECT_ORDER = ("vmt", "npy", "lackey", "din", "pitt", "text")
"""Binary formats first (exact magics), then text formats from the most specific."""


def detect_format(path: str | Path | Input) -> str:
    """The name of the format of a file (or Input), from its (decompressed) content."""
    _load_all()
    src = open_input(path)
    lower = Path(src.name).name.lower()
    for name, cls in FORMATS.items():
        if any(mark in lower for mark in cls.name_marks):
            return name
    head = peek(src)
    if not head:
        raise TraceFormatError(src.name, 0, "", "empty trace file")
    for name in DETECT_ORDER:
        if FORMATS[name].sniff(head):
            return name
    first = head.split(b"\n", 1)[0][:80]
    why = "unknown trace format"
    if b"\0" in first or not first.isascii():
        first, why = b"", f"unknown trace format (binary data starting {head[:8].hex(' ')})"
    raise TraceFormatError(src.name, 1 if first else 0, first.decode("utf-8", "replace"), why)


def open_reader(
    path: str | Path | Input, format: str | None = None, *, spool: bool = False, **options: Any
) -> TraceReader:
    """A reader for a path, `-` (stdin) or Input, in `format` (detected when None).

    `spool`: a pipe is copied to a temporary file as it is read, so it can be read again.
    """
    if format and ":" in format:
        format, spec = format.split(":", 1)
        options = {**parse_format_options(format, spec), **options}
    src = open_input(path, spool=spool)
    cls = reader_class(format) if format else reader_class(detect_format(src))
    return cls(src, **options)


def parse_format_options(format: str, spec: str) -> dict[str, str]:
    """The options of a format spec such as `csv:id=2,size=3,header=yes` (after the colon)."""
    out: dict[str, str] = {}
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                "format", f"{format}:{spec}", "options as KEY=VALUE[,KEY=VALUE...], e.g. csv:id=2"
            )
        out[key.strip()] = value.strip()
    return out
