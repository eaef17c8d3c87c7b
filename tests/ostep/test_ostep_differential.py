"""Differential test against the original simulators.

Random flags for each simulator run through `vmsim ostep` and are compared (stdout and
exit status) with the original script's run of the same flags. Runs where the original is
still going after a few seconds (its endless loops) must be a clear vmsim error.

The originals are not part of vmsim (their repository carries no licence, and CI reaches
no copy of it), so their outputs for these cases are recorded in RECORDED (made by
`python tests/ostep/test_ostep_differential.py CHECKOUT`, never by vmsim) and CI compares
against those. With VMSIM_OSTEP_HOMEWORK set to a checkout of
remzi-arpacidusseau/ostep-homework the originals run live instead, and
VMSIM_OSTEP_CASES sets how many cases a simulator gets.
"""

from __future__ import annotations

import json
import lzma
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from vmsim.cli.main import main

HOMEWORK = os.environ.get("VMSIM_OSTEP_HOMEWORK", "")
SCRIPTS = {
    "relocation": "vm-mechanism/relocation.py",
    "segmentation": "vm-segmentation/segmentation.py",
    "malloc": "vm-freespace/malloc.py",
    "paging-linear-translate": "vm-paging/paging-linear-translate.py",
    "paging-multilevel-translate": "vm-smalltables/paging-multilevel-translate.py",
    "paging-policy": "vm-beyondphys-policy/paging-policy.py",
}
CASES_PER_SIMULATOR = int(os.environ.get("VMSIM_OSTEP_CASES", "40")) if HOMEWORK else 40
RECORDED = Path(__file__).resolve().parents[1] / "refs" / "ostep" / "differential.jsonl.xz"
"""One JSON line per case: simulator, args, and the original's stdout and returncode
(null: it was still running after TIMEOUT seconds)."""
TIMEOUT = 5


def _opt(r: random.Random, p: float, flag: str, values: list[str]) -> list[str]:
    return [flag, r.choice(values)] if r.random() < p else []


def _relocation(r: random.Random) -> list[str]:
    return (
        ["-s", str(r.randint(0, 999))]
        + _opt(r, 0.3, "-a", ["1k", "2k", "16", "100", "0", "512", "3m"])
        + _opt(r, 0.3, "-p", ["16k", "32k", "1m", "1", "2k", "17k"])
        + _opt(r, 0.3, "-n", ["0", "3", "12"])
        + _opt(r, 0.2, "-b", ["0", "100", "15000"])
        + _opt(r, 0.2, "-l", ["0", "100", "500", "16000"])
        + (["-c"] if r.random() < 0.7 else [])
    )


def _segmentation(r: random.Random) -> list[str]:
    args = ["-s", str(r.randint(0, 999))]
    args += _opt(r, 0.3, "-a", ["1k", "128", "16", "4k", "64"])
    args += _opt(r, 0.3, "-p", ["16k", "512", "1m", "4", "3k"])
    for flag in ("-b", "-l", "-B", "-L"):
        args += _opt(r, 0.15, flag, ["0", "20", "100", "512", "300", "1k"])
    if r.random() < 0.2:
        args += ["-A", ",".join(str(r.randint(-2, 1100)) for _ in range(r.randint(1, 5)))]
    return args + (["-c"] if r.random() < 0.7 else [])


def _malloc(r: random.Random) -> list[str]:
    args = ["-s", str(r.randint(0, 999))]
    args += _opt(r, 0.3, "-H", ["0", "4", "8"]) + _opt(r, 0.3, "-a", ["-1", "4", "8", "3"])
    args += _opt(r, 0.6, "-p", ["BEST", "WORST", "FIRST"])
    args += _opt(
        r, 0.6, "-l", ["ADDRSORT", "SIZESORT+", "SIZESORT-", "INSERT-FRONT", "INSERT-BACK"]
    )
    args += ["-C"] if r.random() < 0.5 else []
    args += _opt(r, 0.5, "-n", ["5", "20", "40"]) + _opt(r, 0.3, "-r", ["10", "30", "1"])
    args += _opt(r, 0.3, "-P", ["30", "50", "70", "100"])
    if r.random() < 0.25:
        ops = [r.choice([f"+{r.randint(1, 40)}", f"-{r.randint(0, 6)}"]) for _ in range(8)]
        args += ["-A", ",".join(ops)]
    return args + (["-c"] if r.random() < 0.8 else [])


def _linear(r: random.Random) -> list[str]:
    return (
        ["-s", str(r.randint(0, 999))]
        + _opt(r, 0.3, "-a", ["16k", "1k", "32k", "12k"])
        + _opt(r, 0.3, "-p", ["64k", "32k", "128k", "16k", "100k"])
        + _opt(r, 0.3, "-P", ["4k", "1k", "2k", "3k"])
        + _opt(r, 0.3, "-u", ["0", "25", "75", "100"])
        + (["-v"] if r.random() < 0.3 else [])
        + (["-c"] if r.random() < 0.7 else [])
    )


def _multilevel(r: random.Random) -> list[str]:
    args = ["-s", str(r.randint(0, 999)), *_opt(r, 0.3, "-a", ["0", "10", "64", "100"])]
    return args + _opt(r, 0.3, "-n", ["0", "5", "30"]) + (["-c"] if r.random() < 0.7 else [])


def _policy(r: random.Random) -> list[str]:
    policies = ["FIFO", "LRU", "MRU", "OPT", "UNOPT", "RAND", "CLOCK", "LFU"]
    args = ["-s", str(r.randint(0, 999)), "-n", str(r.randint(0, 300)), "-p", r.choice(policies)]
    args += ["-C", str(r.randint(1, 12)), "-m", str(r.randint(1, 30)), "-b", str(r.randint(0, 3))]
    return args + (["-N"] if r.random() < 0.3 else []) + (["-c"] if r.random() < 0.8 else [])


GENERATORS: dict[str, Callable[[random.Random], list[str]]] = {
    "relocation": _relocation,
    "segmentation": _segmentation,
    "malloc": _malloc,
    "paging-linear-translate": _linear,
    "paging-multilevel-translate": _multilevel,
    "paging-policy": _policy,
}


def cases(simulator: str) -> list[list[str]]:
    """The random argument lists of a simulator's cases (seeded by its name)."""
    r = random.Random(simulator)
    return [GENERATORS[simulator](r) for _ in range(CASES_PER_SIMULATOR)]


def run_original(
    checkout: Path, simulator: str, args: list[str], cwd: Path
) -> tuple[str, int | None]:
    """(stdout, returncode) of the original script; returncode None if it timed out."""
    script = checkout / SCRIPTS[simulator]
    try:
        orig = subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "", None
    return orig.stdout, orig.returncode


def recorded() -> dict[str, list[tuple[list[str], str, int | None]]]:
    """The recorded originals' runs, by simulator."""
    out: dict[str, list[tuple[list[str], str, int | None]]] = {}
    with lzma.open(RECORDED, "rt") as f:
        for line in f:
            case = json.loads(line)
            out.setdefault(case["simulator"], []).append(
                (case["args"], case["stdout"], case["returncode"])
            )
    return out


@pytest.mark.parametrize("simulator", sorted(SCRIPTS))
def test_same_stdout_and_status_as_the_original(
    simulator: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if HOMEWORK:
        runs = [
            (a, *run_original(Path(HOMEWORK), simulator, a, tmp_path)) for a in cases(simulator)
        ]
    else:
        runs = recorded()[simulator]
        assert [a for a, _, _ in runs] == cases(simulator)  # the recording is of these cases
    for args, stdout, returncode in runs:
        status = main(["ostep", simulator, *args])
        captured = capsys.readouterr()
        if returncode is None:
            assert status == 1, args
            assert "vmsim: error: ostep" in captured.err
            continue
        assert (captured.out, status) == (stdout, returncode), args


def record(checkout: Path) -> None:
    """Run the originals over every case and write RECORDED (atomically)."""
    tmp = RECORDED.with_suffix(".tmp")
    with lzma.open(tmp, "wt") as f:
        for simulator in sorted(SCRIPTS):
            for args in cases(simulator):
                stdout, returncode = run_original(checkout, simulator, args, Path.cwd())
                f.write(json.dumps({"simulator": simulator, "args": args, "stdout": stdout,
                                    "returncode": returncode}) + "\n")  # fmt: skip
    tmp.replace(RECORDED)


if __name__ == "__main__":
    record(Path(sys.argv[1]))
