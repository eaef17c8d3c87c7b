"""thread_count: the caller's count, else one per CPU, within 1 and the work to share."""

from __future__ import annotations

import os

from vmsim.engine.threads import thread_count


def test_the_default_is_one_thread_per_cpu_up_to_the_work() -> None:
    cpus = os.cpu_count() or 1
    assert thread_count(None, 10_000) == cpus
    assert thread_count(None, 1) == 1


def test_a_given_count_is_kept_within_one_and_the_work() -> None:
    assert thread_count(3, 10) == 3
    assert thread_count(8, 2) == 2
    assert thread_count(0, 5) == 1
    assert thread_count(4, 0) == 1
