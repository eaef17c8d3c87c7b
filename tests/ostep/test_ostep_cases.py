"""Every case of ../shared/refs/ostep/cases.tsv, byte for byte: stdout and exit status."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from vmsim.cli.main import main

REPO = Path(__file__).resolve().parents[2]
_SHARED = REPO.parent / "shared" / "refs"
OSTEP = (
    Path(os.environ["VMSIM_REFS"])
    if os.environ.get("VMSIM_REFS")
    else (_SHARED if _SHARED.is_dir() else REPO / "tests" / "refs")
) / "ostep"


def _cases() -> list[tuple[str, str, str]]:
    """(expected-output file, simulator, arguments) per line of cases.tsv."""
    lines = (OSTEP / "cases.tsv").read_text().splitlines()[1:]
    return [tuple(line.split("\t")) for line in lines if line.strip()]  # type: ignore[misc]


CASES = _cases() if OSTEP.is_dir() else []


def test_the_case_list_is_there(refs: Path) -> None:
    assert (refs / "ostep" / "cases.tsv").is_file()
    assert len(CASES) >= 20


@pytest.mark.parametrize(("expected", "simulator", "args"), CASES, ids=[c[0] for c in CASES])
def test_case(
    expected: str,
    simulator: str,
    args: str,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    want = (OSTEP / expected).read_bytes()
    # the -f input-loop5.txt case reads its file relative to the expected output's folder
    monkeypatch.chdir(Path(OSTEP / expected).parent)
    status = main(["ostep", simulator, *shlex.split(args)])
    got = capsysbinary.readouterr().out
    assert got == want
    assert status == 0
