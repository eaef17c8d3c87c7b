"""What the kernel tests share: building a small C program with the host's compiler."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from toolcheck import require


def build_c_program(tmp_path_factory: pytest.TempPathFactory, source: str) -> Path:
    """Compile `source` (C) with gcc -O0 into a fresh directory; return the executable.

    Without a compiler the test is skipped, except in CI (CI=true), where .ci/run installs
    one: there a missing compiler is a failure, never a silent skip.
    """
    cc = shutil.which("gcc") or shutil.which("cc")
    require(cc, "a C compiler (gcc)")
    assert cc is not None
    d = tmp_path_factory.mktemp("elf")
    (d / "prog.c").write_text(source)
    subprocess.run([cc, "-O0", "-o", str(d / "prog"), str(d / "prog.c")], check=True)
    return d / "prog"


@pytest.fixture(scope="session")
def build_c() -> object:
    """build_c_program, for module fixtures that compile their own program."""
    return build_c_program
