"""Run policies at frame counts over a trace: one run, or many in parallel workers.

`simulate` runs one (policy, frames) pair. `simulate_many` runs every pair of a
list of policies and a list of frame counts over one prepared trace; with more
than one worker and enough work, the pairs run in worker processes that map the
trace's ids from a temporary .npy file (no copy per task).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vmsim.engine.kernels import kernel_spec, run_kernel
from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError

NEEDS_NEXT_USE = {"opt", "unopt"}
"""Kernels that read Prepared.next_use (computed once here, shared with the workers)."""

PARALLEL_MIN_WORK = 20_000_000
"""References x runs below which parallel workers cost more than they save."""


@dataclass
class SimResult:
    """The outcome of one policy at one frame count."""

    policy: str
    frames: int
    references: int
    misses: int
    miss_flags: np.ndarray | None = field(default=None, repr=False)
    """Per reference: True where it missed (only when asked for)."""

    @property
    def miss_ratio(self) -> float:
        """misses / references (0 for an empty trace)."""
        return self.misses / self.references if self.references else 0.0

    @property
    def hits(self) -> int:
        """References that hit."""
        return self.references - self.misses

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `vmsim simulate --json`."""
        return {
            "policy": self.policy,
            "frames": self.frames,
            "references": self.references,
            "misses": self.misses,
            "miss_ratio": self.miss_ratio,
        }


def run_one(
    prep: Prepared, policy: str, frames: int, *, record: bool = False, **options: Any
) -> SimResult:
    """One policy at one frame count.

    Frames beyond the trace's distinct pages change nothing (every page stays
    resident), so the kernel runs with at most that many; the result keeps the
    requested count.
    """
    if isinstance(frames, int | np.integer) and frames > max(prep.n_ids, 1):
        misses, flags = run_kernel(policy, prep, max(prep.n_ids, 1), record=record, **options)
        return SimResult(policy, int(frames), len(prep), misses, flags)
    misses, flags = run_kernel(policy, prep, frames, record=record, **options)
    return SimResult(policy, int(frames), len(prep), misses, flags)


def _options_for(policy: str, options: dict[str, Any]) -> dict[str, Any]:
    """The subset of `options` that `policy` accepts (shared option sets for many policies)."""
    spec = kernel_spec(policy)
    return {k: v for k, v in options.items() if k in spec.options}


def _check(policies: Sequence[str], frames: Sequence[int], options: dict[str, Any]) -> None:
    """ConfigError for unknown policies, bad frame counts, options no policy accepts."""
    accepted: set[str] = set()
    for p in policies:
        accepted |= set(kernel_spec(p).options)
    unknown = set(options) - accepted
    if unknown:
        raise ConfigError(
            "policy option", ", ".join(sorted(unknown)), "not accepted by these policies"
        )
    for f in frames:
        if not isinstance(f, int | np.integer) or f < 1:
            raise ConfigError("frames", f, "positive numbers of frames")


def simulate_many(
    prep: Prepared,
    policies: Sequence[str],
    frames: Sequence[int],
    *,
    workers: int | None = None,
    on_done: Callable[[SimResult], None] | None = None,
    **options: Any,
) -> list[SimResult]:
    """Every (policy, frames) pair, in the order policies x frames."""
    _check(policies, frames, options)
    jobs = [(p, int(f), _options_for(p, options)) for p in policies for f in frames]
    if workers is None:
        workers = os.cpu_count() or 1
    workers = max(1, min(workers, len(jobs)))
    if workers == 1 or len(prep) * len(jobs) < PARALLEL_MIN_WORK:
        out = []
        for p, f, o in jobs:
            r = run_one(prep, p, f, **o)
            if on_done:
                on_done(r)
            out.append(r)
        return out
    return _parallel(prep, jobs, workers, on_done)


def _context() -> Any:
    """fork (workers inherit the loaded kernels) unless other threads run (a progress bar):
    forking them could leave a lock held in the child; then forkserver, else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _parallel(
    prep: Prepared,
    jobs: list[tuple[str, int, dict[str, Any]]],
    workers: int,
    on_done: Callable[[SimResult], None] | None,
) -> list[SimResult]:
    """Run jobs in worker processes sharing the ids through a memory-mapped file."""
    with tempfile.TemporaryDirectory(prefix="vmsim-") as tmp:
        path = Path(tmp) / "ids.npy"
        np.save(path, prep.ids)
        nxt_path = ""
        if any(kernel_spec(p).name in NEEDS_NEXT_USE for p, _, _ in jobs):
            nxt_path = str(Path(tmp) / "next.npy")
            np.save(nxt_path, prep.next_use)
        writes_path = ""
        if prep.writes is not None:
            writes_path = str(Path(tmp) / "writes.npy")
            np.save(writes_path, prep.writes)
        results: list[SimResult | None] = [None] * len(jobs)
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            futures = {
                pool.submit(_worker, str(path), nxt_path, writes_path, prep.n_ids, p, f, o): i
                for i, (p, f, o) in enumerate(jobs)
            }
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                r = fut.result()
                results[futures[fut]] = r
                if on_done:
                    on_done(r)
    return [r for r in results if r is not None]


def _worker(
    path: str,
    nxt_path: str,
    writes_path: str,
    n_ids: int,
    policy: str,
    frames: int,
    options: dict[str, Any],
) -> SimResult:
    """Worker process: map the ids (and next uses, write bits), run one job."""
    ids = np.load(path, mmap_mode="r")
    writes = np.asarray(np.load(writes_path, mmap_mode="r")) if writes_path else None
    prep = Prepared(np.asarray(ids), n_ids, writes)
    if nxt_path:
        prep._next_use = np.asarray(np.load(nxt_path, mmap_mode="r"))
    return run_one(prep, policy, frames, **options)
