"""vmsim run --exact-tlb: every access of a real program through the machine's TLB model.

tlbprog.c has no libc and keeps to registers: its only accesses are its instruction
fetches (one code page) and one byte per page of its bss, so its misses can be worked out
by hand; for a TLB it thrashes, the engine's TLB simulator (engine/tlb.py, a separate
implementation) replays the reference stream the run recorded and must agree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import vmsim
from vmsim.cli.main import main
from vmsim.engine.tlb import TlbConfig, TlbLevel, simulate_tlb
from vmsim.events import TlbHit, TlbMiss

HERE = Path(__file__).parent


def _build(out: Path, *defines: str) -> Path:
    """tlbprog.c, static, without libc."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed (.ci/run installs it)")
    cmd = ["gcc", "-O1", "-static", "-nostdlib", "-fno-pie", "-no-pie", *defines]
    subprocess.run([*cmd, "-o", str(out), str(HERE / "tlbprog.c")], check=True)
    return out


@pytest.fixture(scope="module")
def progs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tlbprog")
    return {
        "load_store": _build(d / "load_store", "-DPAGES=8", "-DPASSES=100"),
        "store_only": _build(d / "store_only", "-DSTORE_ONLY", "-DPAGES=40", "-DPASSES=20"),
    }


@pytest.mark.parametrize(("offset", "hits"), [(4096, 9), (4092, 10)])
def test_a_load_across_a_page_boundary_looks_up_both_pages(
    tmp_path: Path, offset: int, hits: int
) -> None:
    """Worked out by hand (16 entries, fully associative): 8 instruction fetches on one
    code page (1 miss, 7 hits), a store to each of bss pages A and B (2 misses), the load
    (inside B: 1 hit; across A and B: 2 hits, one per page, as on x86), then a store and
    a load of the stack (1 miss, 1 hit)."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed (.ci/run installs it)")
    exe = tmp_path / "cross"
    cmd = ["gcc", "-O1", "-static", "-nostdlib", "-fno-pie", "-no-pie", f"-DOFFSET={offset}"]
    subprocess.run([*cmd, "-o", str(exe), str(HERE / "crossprog.c")], check=True)
    m, p = _exact_run(exe, tlb_entries=16, tlb_ways=0)
    assert p.exit_status == 0
    assert (m.stats.tlb_hit, m.stats.tlb_miss) == (hits, 4)


def _exact_run(program: Path, **machine: object) -> tuple[vmsim.Machine, vmsim.Process]:
    m = vmsim.Machine(**{"memory": "16MiB", **machine})
    m.runtime.exact_tlb = True
    p = m.spawn(program=str(program))
    m.run()
    return m, p


def test_misses_worked_out_by_hand(progs: dict[str, Path]) -> None:
    """16 entries, fully associative, 9 pages in use: only first touches miss.

    The code page misses once. Each bss page misses twice: its load maps the zero page
    (a miss, a walk); its store then copies it to a frame of its own, which flushes the
    entry, and misses again. After that all 9 pages stay cached for the 100 passes.
    """
    m, p = _exact_run(progs["load_store"], tlb_entries=16, tlb_ways=0)
    assert p.exit_status == 0
    assert m.stats.tlb_miss == 1 + 2 * 8
    assert m.stats.walks == m.stats.tlb_miss  # a dirty bit set by a walk would add one
    assert m.stats.tlb_hit > 100 * 8 * 2  # every load and store, and the fetches
    assert m.runtime.tasks[p.pid].cpu.model_faults == 0


def test_misses_equal_the_engines_on_the_recorded_stream(progs: dict[str, Path]) -> None:
    """40 pages cycled through 4 sets of 4: the engine's replay of the stream agrees."""
    m, p = _exact_run(progs["store_only"], tlb_entries=16, tlb_ways=4, record_events=True)
    assert p.exit_status == 0
    stream = [e.va >> 12 for e in m.events if isinstance(e, TlbHit | TlbMiss)]
    got = simulate_tlb([np.array(stream)], TlbConfig(TlbLevel(16, 4), None, 4096))
    assert got.references == m.stats.tlb_hit + m.stats.tlb_miss
    assert got.l1_misses == m.stats.tlb_miss
    assert m.stats.tlb_miss > 20 * 40  # each store misses: 10 pages per set of 4


def test_default_tlb_figures_are_unicorns_fills(progs: dict[str, Path]) -> None:
    """Without --exact-tlb the model sees only the fills: far fewer lookups."""
    m = vmsim.Machine(memory="16MiB", tlb_entries=16, tlb_ways=0)
    p = m.spawn(program=str(progs["load_store"]))
    m.run()
    assert p.exit_status == 0
    assert m.stats.tlb_hit + m.stats.tlb_miss < 100
    assert m.stats.walks == m.runtime.fills + m.stats.pgfault  # a fault walks again


def test_cli_exact_tlb_and_help(progs: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    status = main(["run", "--memory", "16MiB", "--exact-tlb", "--json", str(progs["load_store"])])
    report = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert status == 0
    assert report["vmsim"]["tlb_misses"] > 0 and report["vmsim"]["tlb_hits"] > 1600
    main(["run", "--help"])
    text = " ".join(capfd.readouterr().out.split())
    assert "By default the TLB figures are the fills Unicorn's software TLB asks for" in text
    assert "--exact-tlb" in text
