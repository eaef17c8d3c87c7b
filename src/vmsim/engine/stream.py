"""Traces larger than memory: every policy and the exact LRU curve over a stream of chunks.

`Stream` maps each chunk of page numbers to dense ids (a PageIdMap that grows with new
pages) and feeds every (policy, frames) kernel state and the stack-distance pass; the
chunk is then dropped, so memory is proportional to the distinct pages, not to the
references. OPT and UNOPT need each reference's next use: the ids are spooled to a
temporary file as they stream by (4 bytes a reference, on disk), a backward pass over
it writes the next uses to a second file (8 bytes a reference), and a forward pass
feeds both to the kernels, a chunk at a time (`NextUseSpool`).

`simulate_trace` and `lru_curve_trace` decide: a trace of at most `STREAM_REFS`
references is prepared in memory as before (parallel workers, one per size); a longer
one, or one read from a pipe, is streamed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from vmsim.engine.ids import PageIdMap
from vmsim.engine.kernels import NO_BITS, State, kernel_spec
from vmsim.engine.mrc import MissRatioCurve, _check_sizes, lru_curve
from vmsim.engine.prepared import Prepared, next_use_chunk, write_bits
from vmsim.engine.simulate import SimResult, _check, _options_for, simulate_many
from vmsim.engine.source import PageOptions
from vmsim.engine.stackdist import StackDistances, lru_misses_by_size
from vmsim.engine.threads import thread_count
from vmsim.errors import ConfigError
from vmsim.trace import Trace

STREAM_REFS = 50_000_000
"""Traces of more references than this are streamed (those of a pipe always are): in
memory they would take 4 bytes a reference as ids (8 while read as pages)."""

SPOOL_CHUNK = 1 << 22
"""References per chunk of the spool's backward and forward passes."""

WRITES = {"nru", "wsclock"}
"""Policies that read the dirty bit (packed write bits are made for them)."""

Progress = Callable[[int], None]
PageChunks = Iterable[tuple[np.ndarray, np.ndarray | None]]
"""(pages, kinds or None) chunks."""


class NextUseSpool:
    """The ids of a stream on disk, then read back with each reference's next use."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="vmsim-opt-")
        self._ids_path = os.path.join(self._dir.name, "ids.i32")
        self._next_path = os.path.join(self._dir.name, "next.i64")
        self._out = open(self._ids_path, "wb")  # noqa: SIM115 (closed in chunks)
        self.n = 0

    def write(self, ids: np.ndarray) -> None:
        """Append a chunk of ids."""
        np.ascontiguousarray(ids, np.int32).tofile(self._out)
        self.n += len(ids)

    def chunks(
        self, n_ids: int, chunk: int = SPOOL_CHUNK
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, next uses) chunks in order, after the backward pass (n = never)."""
        self._out.close()
        n = self.n
        last = np.full(max(n_ids, 1), n, np.int64)
        with open(self._ids_path, "rb") as ids_f, open(self._next_path, "wb+") as nxt_f:
            nxt_f.truncate(8 * n)
            for hi in range(n, 0, -chunk):
                lo = max(0, hi - chunk)
                ids = _read(ids_f, lo, hi - lo, np.int32)
                out = np.empty(hi - lo, np.int64)
                next_use_chunk(ids, lo, last, out)
                nxt_f.seek(8 * lo)
                out.tofile(nxt_f)
            del last
            for lo in range(0, n, chunk):
                m = min(chunk, n - lo)
                yield _read(ids_f, lo, m, np.int32), _read(nxt_f, lo, m, np.int64)

    def close(self) -> None:
        """Remove the files."""
        self._out.close()
        self._dir.cleanup()


def _read(f: Any, lo: int, n: int, dtype: type) -> np.ndarray:
    """n items of dtype at item offset lo of a binary file (read, not mapped: the pages
    do not stay in the process's memory)."""
    f.seek(np.dtype(dtype).itemsize * lo)
    out: np.ndarray = np.fromfile(f, dtype, count=n)
    if len(out) != n:
        raise OSError(f"spool file {f.name} is short")
    return out


class Stream:
    """Feed chunks of page numbers to kernel states and (optionally) the LRU stack distances."""

    def __init__(
        self,
        jobs: Sequence[tuple[str, int, dict[str, Any]]] = (),
        curve: bool = False,
        threads: int | None = None,
    ) -> None:
        self.idmap = PageIdMap()
        self.jobs = list(jobs)
        self.states: list[State] = []
        for policy, frames, options in self.jobs:
            cls = kernel_spec(policy).state
            assert cls is not None
            self.states.append(cls(frames, 0, **{**kernel_spec(policy).options, **options}))
        self.one_pass = [s for s in self.states if not s.NEXT_USE]
        self.writes = any(p in WRITES for p, _, _ in self.jobs)
        self.spool = NextUseSpool() if len(self.one_pass) < len(self.states) else None
        self.sd = StackDistances() if curve else None
        self.references = 0
        tasks = len(self.one_pass) + (self.sd is not None)
        n = thread_count(threads, tasks)
        self._pool = ThreadPoolExecutor(n, thread_name_prefix="vmsim-stream") if n > 1 else None
        """The kernels release the GIL: each chunk's states run in parallel threads."""

    def feed_ids(self, ids: np.ndarray, kinds: np.ndarray | None) -> None:
        """One chunk of dense ids (from self.idmap) with its kinds (None: all reads)."""
        n_ids = self.idmap.n_ids
        packed = write_bits(kinds, len(ids)) if self.writes else None
        wb = NO_BITS if packed is None else packed
        calls: list[Callable[[], Any]] = [partial(st.feed, ids, n_ids, wb) for st in self.one_pass]
        if self.sd is not None:
            calls.append(partial(self.sd.feed, ids, n_ids))
        if self._pool is None:
            for call in calls:
                call()
        else:
            for f in [self._pool.submit(call) for call in calls]:
                f.result()
        if self.spool is not None:
            self.spool.write(ids)
        self.references += len(ids)

    def feed(self, pages: np.ndarray, kinds: np.ndarray | None = None) -> None:
        """One chunk of page numbers."""
        self.feed_ids(self.idmap.map(pages), kinds)

    def close(self) -> None:
        """Stop the threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def finish(self) -> list[SimResult]:
        """Run the kernels that need next uses over the spool; the results in job order."""
        self.close()
        if self.spool is not None:
            later = [s for s in self.states if s.NEXT_USE]
            for s in later:
                s.total = self.references  # type: ignore[attr-defined]
            try:
                for ids, nxt in self.spool.chunks(self.idmap.n_ids):
                    for s in later:
                        s.feed(ids, self.idmap.n_ids, NO_BITS, NO_BITS, nxt)
            finally:
                self.spool.close()
        return [
            SimResult(p, f, self.references, s.misses)
            for (p, f, _), s in zip(self.jobs, self.states, strict=True)
        ]

    def curve(self, sizes: Sequence[int] | np.ndarray | None = None) -> MissRatioCurve:
        """The exact LRU curve of what was fed."""
        assert self.sd is not None
        self.close()
        cold = self.sd.cold
        by_size = lru_misses_by_size(self.sd.hist[: cold + 1], cold)
        chosen = _check_sizes(sizes)
        if chosen is None:
            chosen = np.arange(1, max(cold, 1) + 1)
        misses = by_size[np.minimum(chosen, len(by_size) - 1)]
        return MissRatioCurve("lru", self.references, chosen, misses, "exact", cold)


def stream_simulate(
    chunks: PageChunks,
    policies: Sequence[str],
    frames: Sequence[int],
    progress: Progress | None = None,
    **options: Any,
) -> list[SimResult]:
    """Every (policy, frames) pair over a stream of (pages, kinds) chunks, in one pass."""
    _check(policies, frames, options)
    s = Stream([(p, int(f), _options_for(p, options)) for p in policies for f in frames])
    for pages, kinds in chunks:
        s.feed(pages, kinds)
        if progress is not None:
            progress(len(pages))
    return s.finish()


def stream_lru_curve(
    chunks: Iterable[np.ndarray],
    sizes: Sequence[int] | np.ndarray | None = None,
    progress: Progress | None = None,
) -> MissRatioCurve:
    """The exact LRU curve over a stream of page chunks."""
    s = Stream(curve=True)
    for pages in chunks:
        s.feed(pages)
        if progress is not None:
            progress(len(pages))
    return s.curve(sizes)


def is_pipe(trace: Trace) -> bool:
    """Whether the trace is read from a pipe (once)."""
    reader = getattr(trace, "_reader", None)
    return bool(reader is not None and reader.input.is_pipe)


class Held:
    """A trace read up to a limit: all of it (`complete`: prepare it in memory), or the
    first chunks, mapped, and an iterator over the rest (stream it)."""

    def __init__(self, chunks: PageChunks, limit: int, progress: Progress | None = None) -> None:
        self.idmap = PageIdMap()
        self.ids: list[np.ndarray] = []
        self.kinds: list[np.ndarray | None] = []
        self.progress = progress
        self.references = 0
        self._rest = iter(chunks)
        self.complete = True
        for pages, k in self._rest:
            self.ids.append(self.idmap.map(pages))
            self.kinds.append(k)
            self.references += len(pages)
            if progress is not None:
                progress(len(pages))
            if self.references > limit:
                self.complete = False
                break

    def prepared(self) -> Prepared:
        """The whole trace (complete) as a Prepared trace."""
        assert self.complete
        ids = np.concatenate(self.ids) if self.ids else np.empty(0, np.int32)
        if ids.dtype != np.int32 and self.idmap.n_ids < (1 << 31):
            ids = ids.astype(np.int32)
        known = [k for k in self.kinds if k is not None]
        kinds = np.concatenate(known) if known and len(known) == len(self.kinds) else None
        self.ids, self.kinds = [], []
        return Prepared(ids, self.idmap.n_ids, write_bits(kinds, len(ids)))

    def stream(self, s: Stream) -> Stream:
        """Feed the held chunks, then the rest of the trace, to s (once)."""
        s.idmap = self.idmap
        while self.ids:
            s.feed_ids(self.ids.pop(0), self.kinds.pop(0))
        for pages, k in self._rest:
            s.feed(pages, k)
            if self.progress is not None:
                self.progress(len(pages))
        return s

    def simulate(
        self, policies: Sequence[str], frames: Sequence[int], **options: Any
    ) -> list[SimResult]:
        """Every (policy, frames) pair over the streamed trace, in job order."""
        _check(policies, frames, options)
        jobs = [(p, int(f), _options_for(p, options)) for p in policies for f in frames]
        return self.stream(Stream(jobs)).finish()

    def lru_curve(self, sizes: Sequence[int] | np.ndarray | None = None) -> MissRatioCurve:
        """The exact LRU curve over the streamed trace."""
        return self.stream(Stream(curve=True)).curve(sizes)

    def curves(
        self,
        policies: Sequence[str],
        sizes: Sequence[int] | None,
        exact_lru: bool = True,
        **options: Any,
    ) -> list[MissRatioCurve]:
        """Each policy's curve in one pass over the streamed trace: LRU exact (unless not
        exact_lru), the others one state per size (the sizes must be given: the distinct
        pages are known only at the end)."""
        simulated = [p for p in policies if not (p == "lru" and exact_lru)]
        if simulated and sizes is None:
            raise ConfigError(
                "--sizes", "none", f"frame counts for {', '.join(simulated)} on a streamed trace"
                f" (longer than {STREAM_REFS:,} references, or a pipe)",
            )  # fmt: skip
        chosen = _check_sizes(sizes)
        frames = [] if chosen is None else chosen.tolist()
        _check(simulated, frames, options)
        jobs = [(p, int(f), _options_for(p, options)) for p in simulated for f in frames]
        s = self.stream(Stream(jobs, curve=len(simulated) < len(policies)))
        results = s.finish()
        out = []
        for p in policies:
            if p not in simulated:
                out.append(s.curve(sizes))
                continue
            misses = np.array([r.misses for r in results if r.policy == p], np.int64)
            assert chosen is not None
            out.append(MissRatioCurve(p, s.references, chosen, misses, "simulated", s.idmap.n_ids))
        return out


def hold(
    trace: Trace,
    pages: PageOptions | None = None,
    progress: Progress | None = None,
    limit: int | None = None,
) -> Held:
    """Read a trace up to `limit` references (STREAM_REFS; 0 for a pipe: stream it all)."""
    if limit is None:
        limit = 0 if is_pipe(trace) else STREAM_REFS
    pages = pages or PageOptions()
    chunks = trace.page_chunks(pages.page_shift, data_only=pages.data_only, split=pages.split)
    return Held(chunks, limit, progress)


def simulate_trace(
    trace: Trace,
    policies: Sequence[str],
    frames: Sequence[int],
    pages: PageOptions | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    on_done: Callable[[SimResult], None] | None = None,
    limit: int | None = None,
    **options: Any,
) -> list[SimResult]:
    """Every (policy, frames) pair on a trace file: in memory up to `limit` references
    (STREAM_REFS; 0 for a pipe), streamed past that. progress(n): n more references read."""
    _check(policies, frames, options)
    held = hold(trace, pages, progress, limit)
    if held.complete:
        prep = held.prepared()
        return simulate_many(prep, policies, frames, workers=workers, on_done=on_done, **options)
    results = held.simulate(policies, frames, **options)
    for r in results:
        if on_done is not None:
            on_done(r)
    return results


def lru_curve_trace(
    trace: Trace,
    sizes: Sequence[int] | np.ndarray | None = None,
    pages: PageOptions | None = None,
    *,
    progress: Progress | None = None,
    limit: int | None = None,
    workers: int | None = None,
) -> MissRatioCurve:
    """The exact LRU curve of a trace file: in memory up to `limit` references (the pass
    on `workers` threads), streamed past that (a pipe: always)."""
    held = hold(trace, pages, progress, limit)
    if held.complete:
        return lru_curve(held.prepared(), sizes, workers=workers)
    return held.lru_curve(sizes)
