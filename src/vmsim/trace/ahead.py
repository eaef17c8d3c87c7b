"""Reading ahead: a trace file's chunks made on a thread of their own while the consumer
works on the ones before.

Reading a chunk (the file's bytes, the readers' Numba parsers, the page numbers) and
using it (the id map, a kernel) both run without the GIL, so on two cores they overlap:
`vmsim simulate` of a 10 M-reference oracleGeneral file reads and maps it in 0.15-0.19 s
instead of 0.23-0.38 s. The producer keeps at most AHEAD chunks ready, so memory stays
that of a few chunks; an error it meets (a malformed line) reaches the consumer as it
is, in order, after the chunks before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

AHEAD = 2
"""Chunks the producer may have ready before the consumer takes them."""

_POLL = 0.1
"""Seconds between the producer's checks that the consumer still wants chunks."""

_END = object()


def read_ahead(items: Iterable[T], depth: int = AHEAD) -> Iterator[T]:
    """The items of `items`, in order, made by a daemon thread up to `depth` ahead.

    Contract: an exception raised while making an item is raised here in its place (and
    ends the items); when this iterator is closed or dropped before its end, the thread
    stops within _POLL seconds and closes `items` (a reader's file with it).
    """
    ready: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand(entry: tuple[bool, object]) -> bool:
        """Queue entry unless the consumer has gone; whether it was queued."""
        while not stop.is_set():
            try:
                ready.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        """Make every item (or the error that ends them), then the end mark."""
        source = iter(items)
        try:
            for item in source:
                if not hand((True, item)):
                    return
            hand((True, _END))
        except BaseException as exc:  # handed to the consumer, raised there
            hand((False, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    threading.Thread(target=produce, name="vmsim-read-ahead", daemon=True).start()
    try:
        while True:
            ok, item = ready.get()
            if not ok:
                assert isinstance(item, BaseException)
                raise item
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
