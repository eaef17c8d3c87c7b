"""vmsim.output: all-or-nothing writes that never overwrite an input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vmsim.output import (
    OutputError,
    atomic_output,
    atomic_path,
    atomic_text_output,
    ensure_not_input,
)


def test_success_renames_into_place(tmp_path: Path) -> None:
    dst = tmp_path / "out.bin"
    with atomic_output(dst) as f:
        f.write(b"abc")
        assert not dst.exists()
    assert dst.read_bytes() == b"abc"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_failure_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    dst = tmp_path / "out.txt"
    dst.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_text_output(dst) as f:
        f.write("half")
        raise KeyboardInterrupt
    assert dst.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failure_leaves_nothing_when_new(tmp_path: Path) -> None:
    dst = tmp_path / "plot.png"
    with pytest.raises(RuntimeError), atomic_path(dst, ".png") as tmp:
        Path(tmp).write_bytes(b"x")
        raise RuntimeError
    assert os.listdir(tmp_path) == []


def test_keeps_permissions_of_existing_file(tmp_path: Path) -> None:
    dst = tmp_path / "out.csv"
    dst.write_text("a")
    dst.chmod(0o640)
    with atomic_text_output(dst) as f:
        f.write("b")
    assert dst.stat().st_mode & 0o777 == 0o640


def test_unwritable_directory_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="nowhere"), atomic_output(tmp_path / "nowhere" / "x"):
        pass


def test_directory_destination_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory"), atomic_output(tmp_path):
        pass


def test_same_file_is_refused_also_through_a_link(tmp_path: Path) -> None:
    src = tmp_path / "s.vmt"
    src.write_bytes(b"data")
    link = tmp_path / "link.vmt"
    link.symlink_to(src)
    with pytest.raises(OutputError, match="refusing to overwrite"):
        ensure_not_input(link, src)
    ensure_not_input(tmp_path / "other.vmt", src)  # a new file is fine
    assert src.read_bytes() == b"data"
