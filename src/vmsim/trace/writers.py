"""Writing traces: one writer per format, used by `vmsim trace convert` and `vmsim record`.

The output format comes from its name (`--to`) or the file's suffix; a further
suffix .gz, .xz or .zst compresses the output (reading detects it from the content).
Every trace is written through `vmsim.output.atomic_output`: an interrupted or failed
write leaves nothing at the destination (and an older file there untouched).

A conversion never loses information silently: din has no access sizes and no modify
kind (an M becomes a write), text has no sizes. Without `lossy` such a conversion is a
LossyConversion error saying what would be lost (found before writing for sizes, at
the first M for the kind: the partial output is discarded); with it, `lost` is told.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from vmsim.errors import ConfigError, VmsimError
from vmsim.kinds import MODIFY
from vmsim.output import atomic_output
from vmsim.trace.base import TraceChunk
from vmsim.trace.compress import SUFFIXES, check_level, compressed_writer
from vmsim.trace.din import write_din
from vmsim.trace.lackey import write_lackey
from vmsim.trace.npy import write_npy
from vmsim.trace.text import write_text
from vmsim.trace.vmt import VmtWriter

WRITER_SUFFIXES = {
    ".vmt": "vmt",
    ".lackey": "lackey",
    ".din": "din",
    ".txt": "text",
    ".text": "text",
    ".npy": "npy",
}
"""File suffix -> output format."""

WRITABLE = ("vmt", "lackey", "din", "text", "npy")

HOLDS: dict[str, frozenset[str]] = {
    "vmt": frozenset({"sizes", "modify"}),
    "lackey": frozenset({"sizes", "modify"}),
    "npy": frozenset({"sizes", "modify"}),
    "text": frozenset({"modify"}),
    "din": frozenset(),
}
"""What each output format records besides addresses and the I, L, S kinds."""


class LossyConversion(VmsimError):
    """A conversion would lose information and was not allowed to (--lossy)."""


def output_format(path: str | Path, to: str | None = None) -> tuple[str, str | None]:
    """(format, compression) for an output path, from `to` or the suffixes."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    compression = SUFFIXES.get(suffixes[-1]) if suffixes else None
    if compression and suffixes:
        suffixes = suffixes[:-1]
    fmt = to or (WRITER_SUFFIXES.get(suffixes[-1]) if suffixes else None)
    if fmt is None:
        raise ConfigError(
            "output format", str(path), f"give --to or a suffix: {', '.join(WRITER_SUFFIXES)}"
        )
    if fmt not in WRITABLE:
        raise ConfigError("output format", fmt, f"one of {', '.join(WRITABLE)}")
    return fmt, compression


def write_trace(
    chunks: Iterable[TraceChunk],
    path: str | Path,
    to: str | None = None,
    *,
    has_sizes: bool = True,
    count: int | None = None,
    level: int | None = None,
    lossy: bool = False,
    lost: list[str] | None = None,
) -> int:
    """Write chunks to `path`; return the references written. npy needs `count` up front.

    A format that cannot hold what the trace has is a LossyConversion unless `lossy`;
    then what was lost is appended to `lost` (when given).
    """
    fmt, compression = output_format(path, to)
    level = output_level(path, fmt, compression, level)
    if fmt == "npy" and count is None:
        raise ConfigError("count", None, "writing .npy needs the number of references first")
    losses: list[str] = []
    if has_sizes and "sizes" not in HOLDS[fmt]:
        losses.append("the access sizes")
        if not lossy:
            kind = [] if "modify" in HOLDS[fmt] else ["the M (modify) kind: an M becomes a write"]
            _refuse(path, fmt, [*losses, *kind])
    guarded = _keep_modify(chunks, path, fmt, lossy, losses)
    try:
        n = _write(guarded, path, fmt, compression, has_sizes, count, level)
    except OSError as exc:
        raise ConfigError("output", str(path), f"cannot write: {exc.strerror or exc}") from None
    if lost is not None:
        lost += losses
    return n


MODIFY_LOST = "M (modify: load and store) references, written as writes"


def _refuse(path: str | Path, fmt: str, what: list[str]) -> None:
    """Raise the LossyConversion naming what fmt cannot hold."""
    raise LossyConversion(
        f"{path}: {fmt} cannot hold {' and '.join(what)}; add --lossy to convert anyway"
    )


def _keep_modify(
    chunks: Iterable[TraceChunk], path: str | Path, fmt: str, lossy: bool, losses: list[str]
) -> Iterator[TraceChunk]:
    """Pass chunks through; an M for a format without it is refused (or counted if lossy)."""
    if "modify" in HOLDS[fmt]:
        yield from chunks
        return
    seen = 0
    for ch in chunks:
        m = int(np.count_nonzero(ch.kinds == MODIFY))
        if m and not lossy:
            _refuse(path, fmt, [*losses, MODIFY_LOST])
        seen += m
        yield ch
    if seen:
        losses.append(f"{seen:,} {MODIFY_LOST}")


def output_level(
    path: str | Path, fmt: str, compression: str | None, level: int | None
) -> int | None:
    """A --level checked against the codec it drives: .vmt blocks (zstd), else the suffix's."""
    if fmt == "vmt":
        return check_level("zstd", level, f"{path}")
    return check_level(compression, level, f"{path} ({fmt} text)" if fmt != "npy" else str(path))


def _write(
    chunks: Iterable[TraceChunk],
    path: str | Path,
    fmt: str,
    compression: str | None,
    has_sizes: bool,
    count: int | None,
    level: int | None,
) -> int:
    """write_trace once the format is known."""
    inner_level = None if fmt == "vmt" else level
    with atomic_output(path) as raw, compressed_writer(raw, compression, inner_level) as out:
        if fmt == "vmt":
            w = VmtWriter(out, has_sizes=has_sizes, level=level or 9)
            for ch in chunks:
                w.write(ch)
            w.close()
            return w.references
        if fmt == "lackey":
            return write_lackey(chunks, out)
        if fmt == "din":
            return write_din(chunks, out)
        if fmt == "text":
            return write_text(chunks, out)
        assert count is not None
        return write_npy(chunks, out, count)


def counted(chunks: Iterable[TraceChunk], seen: list[int]) -> Iterator[TraceChunk]:
    """Pass chunks through, adding their lengths to seen[0]."""
    for ch in chunks:
        seen[0] += len(ch)
        yield ch
