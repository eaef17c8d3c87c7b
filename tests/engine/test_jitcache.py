"""Numba's cache loaded lightly: a warm start runs cached kernels without the registries."""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from vmsim.jitcache import NRT_FILE

CODE = """
import sys
import numpy as np
import vmsim
trace = sys.argv[1] if len(sys.argv) > 1 else np.array([1, 2, 3, 1, 4, 1, 2])
r = vmsim.simulate(trace, "lru", 3)
heavy = sorted(m for m in sys.modules if m in ("numba.typed.typeddict", "numba.np.linalg"))
print("RESULT", r.misses, heavy)
"""


def _trace(kind: str, tmp_path: Path) -> list[str]:
    """CODE's argument: none (a page array), or a file of the same pages."""
    pages = [1, 2, 3, 1, 4, 1, 2]
    if kind == "array":
        return []
    if kind == "oracle":
        path = tmp_path / "t.oracleGeneral"
        path.write_bytes(b"".join(struct.pack("<IQIq", 0, p, 1, -1) for p in pages))
    else:
        path = tmp_path / "t.lackey"
        path.write_text("".join(f" L {p << 12:08x},4\n" for p in pages))
    return [str(path)]


@pytest.mark.parametrize("kind", ["array", "oracle", "lackey"])
def test_a_warm_start_loads_the_cache_without_the_registries(kind: str, tmp_path: Path) -> None:
    """A page array, and two files whose readers have Numba functions of their own."""
    args = _trace(kind, tmp_path)
    runs = [
        subprocess.run(
            [sys.executable, "-c", CODE, *args], capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    assert "RESULT 5 " in runs[0].stdout  # the first run may compile (then it loads everything)
    assert "RESULT 5 []" in runs[1].stdout


YAML_CODE = """
import sys
import vmsim.engine.simulate
import numba
loaded = "yaml" in sys.modules
import yaml
print("RESULT", loaded, numba.config.BOUNDSCHECK)
"""


@pytest.mark.parametrize("config", [False, True])
def test_numba_loads_without_pyyaml_unless_its_config_file_is_there(
    config: bool, tmp_path: Path
) -> None:
    """PyYAML is Numba's only for .numba_config.yaml: hidden while Numba loads when there is
    none (and importable afterwards), read as ever when there is one."""
    if config:
        (tmp_path / ".numba_config.yaml").write_text("boundscheck: 1\n")
    run = subprocess.run(
        [sys.executable, "-c", YAML_CODE], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert run.stdout.split() == (
        ["RESULT", "True", "1"] if config else ["RESULT", "False", "None"]
    )


NRT_CODE = """
import numpy as np
from numba import njit
from numba.core.runtime import nrtdynmod
from vmsim.jitcache import load_cache_lightly
compiled = []
original = nrtdynmod.create_nrt_module
nrtdynmod.create_nrt_module = lambda ctx: compiled.append(1) or original(ctx)
load_cache_lightly()

@njit
def total(n):
    return np.arange(n).sum()  # allocates and counts references: the runtime's functions

print("RESULT", total(10), len(compiled))
"""


def test_numbas_runtime_loads_from_its_machine_code_once_stored(tmp_path: Path) -> None:
    """The first process compiles the runtime module and stores it; the next ones load it; a
    file that is not this runtime's (garbage, another key) is compiled again and replaced."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def run() -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", NRT_CODE], env=env, capture_output=True, text=True, check=True
        )
        return out.stdout.split()

    assert run() == ["RESULT", "45", "1"]
    (stored,) = tmp_path.rglob(NRT_FILE)
    assert run() == ["RESULT", "45", "0"]
    stored.write_bytes(b"not a pickle")
    assert run() == ["RESULT", "45", "1"]
    assert run() == ["RESULT", "45", "0"]
    key, state = pickle.loads(stored.read_bytes())
    stored.write_bytes(pickle.dumps((("another numba", *key[1:]), state)))
    assert run() == ["RESULT", "45", "1"]
    assert pickle.loads(stored.read_bytes())[0] == key
