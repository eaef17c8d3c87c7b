"""The vmsim command loads NumPy with OpenBLAS on one thread, the environment left as it was."""

from __future__ import annotations

import os
import subprocess
import sys

REPORT = 'print(len(os.listdir("/proc/self/task")), os.environ.get("OPENBLAS_NUM_THREADS"))'
VMSIM = f"""
import os, sys
from vmsim.cli.main import main
main(["policies"])
assert "numpy" in sys.modules
{REPORT}
"""
PLAIN = f"import os, numpy\n{REPORT}\n"


def _threads_and_variable(code: str, extra: dict[str, str]) -> str:
    """What code prints last in a fresh interpreter: its thread count and the variable."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"} | extra
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return out.stdout.split("\n")[-2]


def test_numpy_starts_no_blas_threads_and_the_environment_is_unchanged() -> None:
    assert _threads_and_variable(VMSIM, {}) == "1 None"


def test_a_thread_count_the_user_chose_is_kept() -> None:
    chosen = {"OPENBLAS_NUM_THREADS": "2"}
    got = _threads_and_variable(VMSIM, chosen)
    assert got == _threads_and_variable(PLAIN, chosen)
    assert got.endswith(" 2")
