"""Every example of the README runs as written: its Python blocks, and its shell lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()


def _blocks(lang: str) -> list[str]:
    """The README's fenced code blocks in one language."""
    return re.findall(rf"```{lang}\n(.*?)```", TEXT, flags=re.S)


@pytest.fixture
def readme_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch directory that looks like the repository's root (tests/data is there)."""
    (tmp_path / "tests").symlink_to(README.parent / "tests")
    (tmp_path / "examples").symlink_to(README.parent / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_examples_run(readme_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _blocks("python")
    assert len(blocks) == 4
    namespace: dict[str, object] = {}
    first_flt = []
    for i, block in enumerate(blocks):  # one session: later blocks use earlier names
        exec(compile(block, f"README.md, python block {i + 1}", "exec"), namespace)
        first_flt.append(namespace["p"].stats.min_flt)  # type: ignore[attr-defined]
    assert first_flt[0] >= 1  # the store of the first example faulted
    assert namespace["stats"].faults == 32  # type: ignore[attr-defined]
    assert "page fault" in capsys.readouterr().out
    assert (readme_dir / "data.bin").stat().st_size == 8192


def test_the_kinds_encoding_is_explained() -> None:
    from vmsim.kinds import AccessKind

    for k in AccessKind:
        assert f"`{k.letter}` = {k.value}" in TEXT


def _shell_lines() -> list[str]:
    """Every command line of the sh blocks, but `make` targets (they run this suite)."""
    lines = [ln for b in _blocks("sh") for ln in b.splitlines() if ln.strip()]
    return [ln for ln in lines if not ln.startswith("make ")]


def test_shell_examples_run(readme_dir: Path) -> None:
    lines = _shell_lines()
    assert len(lines) >= 12 and all(ln.startswith(("vmsim ", "g++ ")) for ln in lines)
    bin_dir = readme_dir / "bin"  # `vmsim` is this Python's vmsim, with these sources
    bin_dir.mkdir()
    (bin_dir / "vmsim").write_text(f'#!/bin/sh\nexec {sys.executable} -m vmsim.cli.main "$@"\n')
    (bin_dir / "vmsim").chmod(0o755)
    src = str(README.parent / "src")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": src}
    for line in lines:
        r = subprocess.run(
            ["bash", "-c", line], capture_output=True, text=True, env=env, check=False
        )
        assert r.returncode == 0, f"{line}\n{r.stderr}"
        assert "Traceback" not in r.stderr
    for made in ("ls.vmt", "mrc.png", "replay.png"):
        assert (readme_dir / made).stat().st_size > 0
