"""Layering: trace imports neither engine nor the machine; engine imports no machine layer."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import importlib, sys
importlib.import_module({module!r})
bad = sorted(m for m in sys.modules if m.startswith({forbidden!r}))
assert not bad, bad
"""


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        (
            "vmsim.trace",
            ("vmsim.engine", "vmsim.hw", "vmsim.kernel", "vmsim.libc", "vmsim.report", "vmsim.cli"),
        ),
        (
            "vmsim.engine.api",
            ("vmsim.hw", "vmsim.kernel", "vmsim.libc", "vmsim.report", "vmsim.cli"),
        ),
        ("vmsim.cli.engine", ("numpy", "numba", "vmsim.engine", "vmsim.trace")),
    ],
)
def test_imports_stay_in_their_layer(module: str, forbidden: tuple[str, ...]) -> None:
    code = CHECK.format(module=module, forbidden=forbidden)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
