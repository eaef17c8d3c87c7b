"""Reading ahead on a thread: the same chunks in order, errors in their place, at most a few
chunks ahead, the source closed when the consumer stops early."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim.trace.trace as trace_module
from vmsim.errors import TraceFormatError
from vmsim.trace import Trace
from vmsim.trace.ahead import read_ahead


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers()), st.integers(1, 3))
def test_the_items_come_in_order(items: list[int], depth: int) -> None:
    assert list(read_ahead(iter(items), depth)) == items


def test_an_error_comes_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield from range(3)
        raise TraceFormatError("t.txt", 4, "zz", "not a reference")

    got: list[int] = []
    with pytest.raises(TraceFormatError, match=r"t\.txt:4"):
        for x in read_ahead(source()):
            got.append(x)
    assert got == [0, 1, 2]


def test_the_producer_stays_at_most_depth_ahead() -> None:
    made: list[int] = []

    def source() -> Iterator[int]:
        for i in range(20):
            made.append(i)
            yield i

    it = read_ahead(source(), 2)
    for taken in range(1, 6):
        next(it)
        time.sleep(0.05)  # time for the producer to run as far as it may
        assert len(made) <= taken + 2 + 1  # 2 queued, 1 made and waiting to be queued
    assert list(it) == list(range(5, 20))


def test_stopping_early_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    it = read_ahead(source(), 1)
    assert next(it) == 0
    it.close()
    assert closed.wait(5)


def test_a_files_page_chunks_are_made_on_the_read_ahead_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.txt"
    path.write_text("".join(f"R 0x{p << 12:x}\n" for p in [3, 1, 3, 7]))
    threads: list[str] = []
    original = trace_module.to_pages

    def recording(*args: object, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trace_module, "to_pages", recording)
    pages = np.concatenate([p for p, _ in Trace(path).page_chunks()])
    assert pages.tolist() == [3, 1, 3, 7]
    assert threads and set(threads) == {"vmsim-read-ahead"}
    arrays = Trace.from_arrays(np.array([5 << 12], np.uint64), np.zeros(1, np.uint8))
    threads.clear()
    assert [p.tolist() for p, _ in arrays.page_chunks()] == [[5]]
    assert threads == [threading.current_thread().name]  # arrays: nothing to read ahead
