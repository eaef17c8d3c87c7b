"""Run every benchmark script (benchmarks/bench_*.py) in turn; `make bench` calls this.

Each script prints its own table and, with --json, its figures. Scripts may be given
on the command line to run only those: `python benchmarks/run_all.py bench_mmu.py`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    """Run the selected (default: all) benchmark scripts; return the worst exit status."""
    scripts = [HERE / a for a in argv] if argv else sorted(HERE.glob("bench_*.py"))
    worst = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        worst = max(worst, subprocess.call([sys.executable, str(script)]))
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
