"""The vmsim command: version, help, policy list, and clean errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vmsim import __version__
from vmsim.cli.main import cli, main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", *args], capture_output=True, text=True, check=False
    )


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_help_lists_every_command() -> None:
    r = run("--help")
    assert r.returncode == 0
    for name in cli.commands:
        assert name in r.stdout


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name: str) -> None:
    assert main([name, "--help"]) == 0


def test_policies_lists_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    for name in ("fifo", "lru", "clock", "opt"):
        assert name in out


def test_unknown_command_is_a_usage_error() -> None:
    r = run("frobnicate")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "frobnicate" in r.stderr
