"""DESIGN.md's layering: each package imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vmsim"
BASE = {"config", "errors", "stats", "events", "kinds", "output"}
ALLOWED = {
    "hw": BASE | {"hw"},
    "kernel": BASE | {"hw", "kernel", "policies"},
    "libc": BASE | {"hw", "kernel", "libc"},
    "policies": BASE | {"policies"},
    "trace": BASE | {"trace"},
    "engine": BASE | {"policies", "trace", "engine"},
    "ostep": BASE | {"ostep", "policies", "libc", "hw", "trace", "engine"},
}


def _vmsim_imports(path: Path) -> set[str]:
    """First components under vmsim of every import in a module (lazy ones included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "vmsim" and len(parts) > 1:
                out.add(parts[1])
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_downward(package: str) -> None:
    bad = {}
    for path in (SRC / package).rglob("*.py"):
        extra = _vmsim_imports(path) - ALLOWED[package]
        if extra:
            bad[str(path.relative_to(SRC))] = sorted(extra)
    assert not bad, f"imports crossing DESIGN.md's layers: {bad}"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_alone(package: str) -> None:
    import subprocess
    import sys

    code = f"import vmsim.{package}, sys; print(*(m for m in sys.modules if m[:6] == 'vmsim.'))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[1] for m in r.stdout.split()}
    assert loaded <= ALLOWED[package] | {package}, loaded - ALLOWED[package]
