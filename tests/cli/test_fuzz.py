"""Fuzz every reader and the commands that read traces: corrupt input is a clean error.

hypothesis mutates (flips bits, inserts, deletes, truncates, splices in bytes of
another format) a small valid trace of every format (lackey, din, text, npy, vmt),
plain and compressed (gzip, xz, zstd), then reads it through its reader and through
`vmsim trace info`, `simulate`, `mrc`, `tlb` and `working-set` run in this process.
Either it reads, or it fails with exit status 1 and one stderr line naming the file;
never the internal error (70), never a traceback, never an exception other than a
TraceFormatError naming the file.

VMSIM_FUZZ_EXAMPLES sets the examples per seed file (default 100: 2,000 cases in all);
VMSIM_FUZZ_STATS=path appends one line per test with its outcome counts (long runs).
"""

from __future__ import annotations

import gzip
import json
import lzma
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import zstandard
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmsim.cli.main import main
from vmsim.errors import VmsimError
from vmsim.kinds import MODIFY
from vmsim.trace import Trace, TraceChunk, open_reader
from vmsim.trace.writers import write_trace

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = int(os.environ.get("VMSIM_FUZZ_EXAMPLES", "100"))
FORMATS = {"lackey": ".lackey", "din": ".din", "text": ".txt", "npy": ".npy", "vmt": ".vmt"}
COMPRESSIONS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda b: b,
    "gz": lambda b: gzip.compress(b, mtime=0),
    "xz": lzma.compress,
    "zst": lambda b: zstandard.ZstdCompressor().compress(b),
}
COMMANDS = [
    ["trace", "info"],
    ["simulate", "-p", "lru,fifo,opt", "-f", "2,8"],
    ["mrc"],
    ["tlb", "--entries", "8", "--ways", "2"],
    ["working-set", "--tau", "16"],
]


def _references() -> TraceChunk:
    """60 references of ls, every kind among them, sizes kept."""
    ch = next(Trace(DATA / "ls.lackey.xz").chunks())
    keep = np.r_[np.arange(56), np.flatnonzero(ch.kinds == MODIFY)[:4]]
    return TraceChunk(ch.addresses[keep], ch.kinds[keep], ch.sizes[keep])


def _seeds() -> dict[str, bytes]:
    """'lackey.plain' ... 'vmt.zst' -> the bytes of a valid file."""
    import tempfile

    ref = _references()
    plain = {}
    with tempfile.TemporaryDirectory() as d:
        for fmt, suffix in FORMATS.items():
            path = Path(d) / f"seed{suffix}"
            write_trace([ref], path, count=len(ref), lossy=True)
            plain[fmt] = path.read_bytes()
    return {f"{f}.{c}": z(b) for f, b in plain.items() for c, z in COMPRESSIONS.items()}


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn, seed: str) -> bytes:
    """The seed's bytes after one to four mutations."""
    data = bytearray(SEEDS[seed])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice", "byte"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 32))]
        elif op == "truncate":
            del data[at:]
        elif op == "splice":
            other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
            lo = draw(st.integers(0, len(other)))
            data[at : at + draw(st.integers(0, 64))] = other[lo : lo + draw(st.integers(1, 64))]
    return bytes(data)


OUTCOMES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _stats() -> Iterator[None]:
    """Append the outcome counts to $VMSIM_FUZZ_STATS after the module, if set."""
    yield
    path = os.environ.get("VMSIM_FUZZ_STATS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"examples": EXAMPLES, **OUTCOMES}) + "\n")


def _read_all(path: Path) -> int:
    """References in path through its reader (format detected), or a TraceFormatError."""
    return sum(len(c) for c in open_reader(path).chunks())


def _run(args: list[str]) -> tuple[int, str]:
    """vmsim in this process: (exit status, stderr)."""
    with CliRunner().isolation(input=b"") as streams:
        code = main(args)
        err = streams[1].getvalue().decode()
    return code, err


def _argv(command: list[str], path: Path) -> list[str]:
    """The command line of a command with the trace in its place."""
    at = 2 if command[0] == "trace" else 1
    return [*command[:at], str(path), *command[at:]]


def check(path: Path, command: list[str]) -> None:
    """The reader and one command either read the file or fail cleanly, naming it."""
    try:
        _read_all(path)
        OUTCOMES["reader ok"] += 1
    except VmsimError as exc:
        assert str(path) in str(exc), exc
        assert "\n" not in str(exc), exc
        OUTCOMES["reader error"] += 1
    code, err = _run(_argv(command, path))
    assert code in (0, 1), err
    if code == 1:
        assert err.startswith("vmsim: error: ") and err.count("\n") == 1, err
        assert str(path) in err, err
        OUTCOMES[f"{command[0]} error"] += 1
    else:
        OUTCOMES[f"{command[0]} ok"] += 1


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seeds_are_valid(seed: str, tmp_path: Path) -> None:
    path = tmp_path / f"seed.{seed}"
    path.write_bytes(SEEDS[seed])
    assert _read_all(path) == 60
    for command in COMMANDS:
        code, err = _run(_argv(command, path))
        assert code == 0, err


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_mutations_are_read_or_rejected_cleanly(
    seed: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    counter = [0]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=mutated(seed), command=st.sampled_from(COMMANDS))
    def fuzz(data: bytes, command: list[str]) -> None:
        counter[0] += 1
        path = directory / f"m{counter[0]}.{seed}"
        path.write_bytes(data)
        try:
            check(path, command)
        finally:
            path.unlink()

    fuzz()
    OUTCOMES["cases"] += counter[0]


@pytest.mark.parametrize("data", [b"", b"\n", b"\0" * 100, b"\x93NUMPY", b"VMTRACE\0", b"\x1f\x8b"])
def test_degenerate_files(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "degenerate"
    path.write_bytes(data)
    for command in COMMANDS:
        check(path, command)
    for fmt in FORMATS:
        code, err = _run(["simulate", str(path), "--format", fmt])
        # no line at all is an empty trace in a line format; a headed format needs its header
        empty = data in (b"", b"\n") and fmt in ("lackey", "din", "text")
        if empty:
            assert code == 0, err
        else:
            assert code == 1 and str(path) in err and err.count("\n") == 1, err


CUT_DETECTED = sorted(
    s for s in SEEDS if not s.endswith(".plain") or s.split(".")[0] in ("vmt", "npy")
)
"""Seeds whose every cut is detectable: compressed streams end with a marker, .vmt has
its end block, .npy its length. (A plain text trace cut at a line end is a valid
shorter trace: nothing in those formats says where they end.)"""


@pytest.mark.parametrize("seed", CUT_DETECTED)
def test_every_cut_is_an_error_naming_the_file(seed: str, tmp_path: Path) -> None:
    whole = SEEDS[seed]
    path = tmp_path / f"cut.{seed}"
    for n in range(len(whole)):
        path.write_bytes(whole[:n])
        with pytest.raises(VmsimError) as e:
            _read_all(path)
        assert str(path) in str(e.value), n
