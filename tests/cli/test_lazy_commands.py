"""The vmsim group imports a command's module only when that command runs."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from vmsim.cli.main import COMMAND_MODULES, cli


def test_command_modules_name_every_command_of_every_module() -> None:
    found = {}
    for module in set(COMMAND_MODULES.values()):
        for command in importlib.import_module(f"vmsim.cli.{module}").COMMANDS:
            found[command.name] = module
    assert found == COMMAND_MODULES
    assert sorted(cli.commands) == sorted(COMMAND_MODULES)


def test_simulate_does_not_import_the_machine(tmp_path: Path) -> None:
    trace = tmp_path / "t.npy"
    np.save(trace, np.arange(100, dtype=np.uint64) << np.uint64(12))
    code = (
        "import sys\n"
        "from vmsim.cli.main import main\n"
        f"status = main(['simulate', {str(trace)!r}, '-f', '4', '--json'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('vmsim.machine', 'vmsim.kernel',"
        " 'vmsim.cli.machine', 'vmsim.cli.run', 'vmsim.hw', 'matplotlib', 'distributed')))\n"
        "print('LOADED', loaded, status)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED [] 0" in r.stdout
