"""`vmsim replay`: a trace through the whole machine from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmsim.cli.main import main


def test_gzip_figures_through_the_machine(
    capsys: pytest.CaptureFixture[str], refs: Path, gzip_figures: dict[tuple[str, bool, int], int]
) -> None:
    trace = str(refs / "traces" / "gzip_16k.lackey.xz")
    assert main(["replay", trace, "-p", "lru,fifo", "-f", "64", "--json", "--data-only"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [(r["policy"], r["frames"]) for r in runs] == [("lru", 64), ("fifo", 64)]
    for r in runs:
        assert r["faults"] == gzip_figures[(r["policy"], True, 64)]
        assert r["references"] == 374_788 + 211_394 + 6_260  # L + S + M, from the README
        assert r["swap_ins"] == r["major_faults"] and r["tlb_misses"] >= r["faults"]


def test_table_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = tmp_path / "belady.txt"
    trace.write_text("".join(f"{p << 12:#x}\n" for p in [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]))
    assert main(["replay", str(trace), "-p", "fifo", "-f", "3,4"]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.replace("│", " ").splitlines()]
    rows = [r for r in rows if r and r[0] == "fifo"]
    assert [(r[1], r[3]) for r in rows] == [("3", "9"), ("4", "10")]  # Belady


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["nofile.trace"], 1, "no such file"),
        (["{gzip}", "-p", "arc"], 1, "history of evicted pages"),
        (["{gzip}", "-f", "0"], 2, "'--frames' / '-f': 0 is below the smallest allowed, 1"),
        (["{gzip}", "-p", "nope"], 1, "--policy='nope': the machine runs "),
    ],
)
def test_errors_are_one_clean_line(
    capsys: pytest.CaptureFixture[str], refs: Path, args: list[str], status: int, message: str
) -> None:
    gzip = str(refs / "traces" / "gzip_16k.lackey.xz")
    assert main(["replay", *[a.replace("{gzip}", gzip) for a in args]]) == status
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
