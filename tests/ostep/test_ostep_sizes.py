"""Size suffixes as the originals read them: the literal characters k/K, m/M, g/G, nothing else.

The originals test `lastchar == 'k' or lastchar == 'K'`; Python's str.lower() maps
U+212A KELVIN SIGN to "k", so a parser that lowercases would accept "1\u212a" where the
original dies in int(). vmsim must refuse it with the original's output so far and a
one-line error naming the option.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vmsim.cli.main import main

KELVIN = "\u212a"


def _after_args(out: str) -> str:
    """The output without the ARG echo (which repeats the text the user typed)."""
    return "\n".join(line for line in out.splitlines() if not line.startswith("ARG "))


@pytest.mark.parametrize(
    ("simulator", "flag", "args"),
    [
        ("relocation", "-a", ["-s", "3", "-c"]),
        ("segmentation", "-a", ["-s", "3", "-c"]),
        ("paging-linear-translate", "-a", ["-s", "3", "-c", "-P", "64"]),
        ("relocation", "-p", ["-s", "3", "-c", "-a", "512"]),
    ],
)
def test_k_and_capital_k_mean_1024(
    simulator: str, flag: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    outs = []
    for value in ("2k", "2K", "2048", "1k"):
        assert main(["ostep", simulator, flag, value, *args]) == 0
        outs.append(_after_args(capsys.readouterr().out))
    assert outs[0] == outs[1] == outs[2]
    assert outs[3] != outs[2]  # the size matters to the output, so equal outputs mean equal sizes


@pytest.mark.parametrize(
    ("simulator", "args", "flag", "tail"),
    [
        ("relocation", ["-a", f"1{KELVIN}"], "-a",
         f"ARG address space size 1{KELVIN}\nARG phys mem size 16k\n\n"),
        ("relocation", ["-p", f"16{KELVIN}"], "-p",
         f"ARG address space size 1k\nARG phys mem size 16{KELVIN}\n\n"),
        ("segmentation", ["-b", f"1{KELVIN}", "-c"], "-b", "ARG phys mem size 16k\n\n"),
        ("paging-linear-translate", ["-P", f"1{KELVIN}", "-c"], "-P",
         f"ARG page size 1{KELVIN}\nARG verbose False\nARG addresses -1\n\n"),
    ],
)  # fmt: skip
def test_kelvin_sign_is_not_a_k(
    simulator: str, args: list[str], flag: str, tail: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ostep", simulator, *args]) == 1
    out, err = capsys.readouterr()
    assert out.endswith(tail)
    assert err == (
        f"vmsim: error: ostep {simulator}: option {flag}: invalid size "
        f"{args[args.index(flag) + 1]!r} (a decimal integer, optionally followed by k, m or g)\n"
    )


def test_kelvin_sign_through_the_real_command(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", "ostep", "relocation", "-a", f"4{KELVIN}", "-c"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        cwd=tmp_path,
        env={"PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("vmsim: error: ostep relocation: option -a: invalid size")
    assert "Base-and-Bounds" not in r.stdout
