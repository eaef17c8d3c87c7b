"""How many threads an engine pass runs on: the caller's count, else one per CPU."""

from __future__ import annotations

import os


def thread_count(workers: int | None, most: int) -> int:
    """workers (None: one per CPU), at least 1 and at most `most` (the work to share)."""
    wanted = workers if workers is not None else os.cpu_count() or 1
    return max(1, min(wanted, most))
