"""`vmsim simulate -p aging|nru|wsclock|ostep-clock|unopt` as a user types it, with parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import vmsim
from vmsim.cli.main import main
from vmsim.policies import make_policy
from vmsim.policies.reference import replay

LS = Path(__file__).resolve().parents[1] / "data" / "ls.lackey.xz"


def _simulate(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, int]:
    assert main(["simulate", str(LS), "--json", *args]) == 0
    return {r["policy"]: r["misses"] for r in json.loads(capsys.readouterr().out)}


@pytest.fixture(scope="module")
def ls_prefix() -> tuple[np.ndarray, np.ndarray]:
    addrs, kinds = vmsim.open_trace(LS).arrays()
    return addrs >> 12, kinds


def test_the_parameters_reach_the_kernels(capsys: pytest.CaptureFixture[str]) -> None:
    """Each parameter changes its policy's misses (and only its policy's)."""
    base = _simulate(capsys, "-p", "aging,nru,wsclock,ostep-clock,unopt,lru", "-f", "16")
    assert set(base) == {"aging", "nru", "wsclock", "ostep-clock", "unopt", "lru"}
    for flag, value, policy in [
        ("--aging-bits", "2", "aging"),
        ("--tick-interval", "100", "aging"),
        ("--tau", "50", "wsclock"),
        ("--clockbits", "0", "ostep-clock"),
        ("--seed", "5", "ostep-clock"),
    ]:
        got = _simulate(capsys, "-p", f"{policy},lru", "-f", "16", flag, value)
        assert got[policy] != base[policy], flag
        assert got["lru"] == base["lru"]


def test_cli_equals_the_reference_replay(
    capsys: pytest.CaptureFixture[str], ls_prefix: tuple[np.ndarray, np.ndarray]
) -> None:
    """The CLI's figures are those of the plain-Python policies replayed on the same trace."""
    pages, kinds = ls_prefix
    writes = kinds >= 2
    got = _simulate(
        capsys, "-p", "aging,wsclock,nru", "-f", "32", "--aging-bits", "4", "--tau", "300"
    )
    assert (
        got["aging"]
        == replay(pages, make_policy("aging", bits=4), 32, writes, tick_every=1000).misses
    )
    assert got["wsclock"] == replay(pages, make_policy("wsclock", tau=300), 32, writes).misses
    assert got["nru"] == replay(pages, make_policy("nru"), 32, writes).misses


def test_a_parameter_no_policy_takes_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(LS), "-p", "lru", "-f", "16", "--tau", "5"]) != 0
    assert "tau" in capsys.readouterr().err
