"""Run policies at frame counts over a trace: one run, or many in parallel workers.

`simulate` runs one (policy, frames) pair. `simulate_many` runs every pair of a
list of policies and a list of frame counts over one prepared trace; with more
than one worker and enough work, the pairs run in threads over the one prepared
trace (the kernels release the GIL; processes cost a copy of the trace and a start).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vmsim.engine.kernels import kernel_spec, run_kernel
from vmsim.engine.prepared import Prepared
from vmsim.engine.threads import thread_count
from vmsim.errors import ConfigError

NEEDS_NEXT_USE = {"opt", "unopt"}
"""Kernels that read Prepared.next_use (computed once here, shared with the threads)."""

PARALLEL_MIN_WORK = 20_000_000
"""References x runs below which parallel threads cost more than they save."""

MAX_SPLIT = 64
"""The most threads one run is split over (where fewer runs than threads are asked for)."""


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
    prep: Prepared,
    policy: str,
    frames: int,
    *,
    record: bool = False,
    threads: int = 1,
    **options: Any,
) -> SimResult:
    """One policy at one frame count, on up to `threads` threads where the policy splits a
    run (LRU).

    Frames beyond the trace's distinct pages change nothing (every page stays
    resident), so the kernel runs with at most that many; the result keeps the
    requested count.
    """
    run = frames  # run_kernel checks it
    if isinstance(frames, int | np.integer) and frames > max(prep.n_ids, 1):
        run = max(prep.n_ids, 1)
    misses, flags = run_kernel(policy, prep, run, record=record, threads=threads, **options)
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
    split = max(1, thread_count(workers, MAX_SPLIT) // len(jobs))  # threads a run may split over
    workers = thread_count(workers, len(jobs))
    if workers == 1 or len(prep) * len(jobs) < PARALLEL_MIN_WORK:
        out = []
        for p, f, o in jobs:
            r = run_one(prep, p, f, threads=split, **o)
            if on_done:
                on_done(r)
            out.append(r)
        return out
    return _parallel(prep, jobs, workers, on_done, split)


def _parallel(
    prep: Prepared,
    jobs: list[tuple[str, int, dict[str, Any]]],
    workers: int,
    on_done: Callable[[SimResult], None] | None,
    split: int = 1,
) -> list[SimResult]:
    """Run jobs in threads sharing the prepared trace: every kernel releases the GIL (a
    run that splits, on `split` threads of its own)."""
    if any(kernel_spec(p).name in NEEDS_NEXT_USE for p, _, _ in jobs):
        _ = prep.next_use  # computed once, before the threads share it
    results: list[SimResult | None] = [None] * len(jobs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(run_one, prep, p, f, threads=split, **o): i
            for i, (p, f, o) in enumerate(jobs)
        }
        for fut in as_completed(futures):
            r = fut.result()
            results[futures[fut]] = r
            if on_done:
                on_done(r)
    return [r for r in results if r is not None]
