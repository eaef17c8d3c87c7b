"""The vmsim command and Python's cyclic collector: less often during a run, nothing to walk
at exit, and an in-process caller's settings left as they were."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from vmsim.cli.common import GC_THRESHOLD
from vmsim.cli.run import collecting_less


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector settings, restored afterwards."""
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


@pytest.mark.usefixtures("collector")
def test_a_run_collects_less_and_restores_the_collector() -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    with collecting_less():
        assert gc.get_threshold() == (GC_THRESHOLD, 10, 10)
        assert gc.get_freeze_count() > 0  # what existed before is not walked again
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("collector")
def test_a_callers_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    with collecting_less():
        pass
    assert gc.get_freeze_count() == frozen


def test_the_console_script_freezes_everything_before_exit() -> None:
    code = (
        "import gc, sys\n"
        "from vmsim.cli import main as m\n"
        "sys.argv = ['vmsim', 'policies']\n"
        "try:\n"
        "    m.entry()\n"
        "except SystemExit as exc:\n"
        "    print(exc.code, gc.get_freeze_count() > 1000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[-2] == "0 True"


def test_the_console_script_collects_less_from_its_start() -> None:
    code = (
        "import gc, sys\n"
        "from vmsim.cli import main as m\n"
        "m.main = lambda: print(gc.get_threshold()) or 0\n"
        "try:\n"
        "    m.entry()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str((GC_THRESHOLD, 10, 10))
