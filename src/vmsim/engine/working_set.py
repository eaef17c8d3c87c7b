"""Denning's working set W(t, tau): distinct pages among the last tau references.

W(t, tau) counts the pages referenced in the window (t - tau, t]. One pass keeps the
count exact at every t: the reference at t enters, the one at t - tau leaves (and
its page leaves if that was its last reference). Samples every `step` references
make the curve over time; the mean over all t and the peak come from every t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError


@dataclass
class WorkingSet:
    """W(t, tau) sampled over time, with its mean and peak over every t."""

    tau: int
    step: int
    times: np.ndarray
    sizes: np.ndarray
    mean: float
    peak: int
    distinct_pages: int
    page_size: int = 4096

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "tau": self.tau,
            "step": self.step,
            "mean": self.mean,
            "peak": self.peak,
            "distinct_pages": self.distinct_pages,
            "footprint_bytes": self.distinct_pages * self.page_size,
            "samples": [
                {"t": int(t), "pages": int(w)} for t, w in zip(self.times, self.sizes, strict=True)
            ],
        }


@njit(cache=True, nogil=True)
def ws_kernel(
    ids: np.ndarray, n_ids: int, tau: int, step: int
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(sample times, W at them, mean of W over all t, peak of W)."""
    n = len(ids)
    last = np.full(n_ids, -1 << 62, np.int64)
    ns = n // step
    times = np.empty(ns, np.int64)
    sizes = np.empty(ns, np.int64)
    w = 0
    total = 0.0
    peak = 0
    k = 0
    for t in range(n):
        s = t - tau
        if s >= 0 and last[ids[s]] == s:
            w -= 1
        p = ids[t]
        if last[p] <= s:
            w += 1
        last[p] = t
        total += w
        if w > peak:
            peak = w
        if (t + 1) % step == 0 and k < ns:
            times[k] = t + 1
            sizes[k] = w
            k += 1
    return times, sizes, total / n if n else 0.0, peak


def working_set(
    prep: Prepared, tau: int, step: int | None = None, page_size: int = 4096
) -> WorkingSet:
    """W(t, tau) of a prepared trace, sampled every `step` references (default: 200 samples)."""
    if tau < 1:
        raise ConfigError("tau", tau, "a window of at least 1 reference")
    if step is None:
        step = max(1, len(prep) // 200)
    if step < 1:
        raise ConfigError("step", step, "at least 1 reference")
    window = min(tau, max(len(prep), 1))  # a window longer than the trace holds all of it
    times, sizes, mean, peak = ws_kernel(prep.ids, max(prep.n_ids, 1), window, step)
    distinct = int(np.count_nonzero(np.bincount(prep.ids))) if len(prep) else 0
    return WorkingSet(tau, step, times, sizes, float(mean), int(peak), distinct, page_size)
