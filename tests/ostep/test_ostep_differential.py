"""Differential test against the original simulators, when a checkout of them is at hand.

Set VMSIM_OSTEP_HOMEWORK to a checkout of remzi-arpacidusseau/ostep-homework: random
flags for each simulator then run through the original script (a subprocess) and
through `vmsim ostep`, comparing stdout and exit status. Runs where the original is
still going after a few seconds (its endless loops) must be a clear vmsim error.
Skipped without the checkout (the originals are not part of vmsim).
"""

from __future__ import annotations

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
CASES_PER_SIMULATOR = int(os.environ.get("VMSIM_OSTEP_CASES", "40"))

pytestmark = pytest.mark.skipif(
    not HOMEWORK,
    reason="set VMSIM_OSTEP_HOMEWORK to a checkout (skipped in CI too: the originals are on"
    " no registry CI reaches; ../shared/refs' textbook outputs are CI's golden tests)",
)


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


@pytest.mark.parametrize("simulator", sorted(SCRIPTS))
def test_same_stdout_and_status_as_the_original(
    simulator: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = Path(HOMEWORK) / SCRIPTS[simulator]
    r = random.Random(simulator)
    for _ in range(CASES_PER_SIMULATOR):
        args = GENERATORS[simulator](r)
        try:
            orig = subprocess.run(
                [sys.executable, str(script), *args],
                capture_output=True, text=True, timeout=5, cwd=tmp_path, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            assert main(["ostep", simulator, *args]) == 1, args
            assert "vmsim: error: ostep" in capsys.readouterr().err
            continue
        status = main(["ostep", simulator, *args])
        out = capsys.readouterr().out
        assert (out, status) == (orig.stdout, orig.returncode), args
