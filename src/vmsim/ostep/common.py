"""What the six OSTEP simulators share: optparse flags, k/m/g sizes, the seeded stream, errors.

Each simulator module exposes `run(argv) -> int`: it parses `argv` exactly as the
original's optparse parser does (short and long forms, `--opt=value`, `-ovalue`,
prefixes of long options, `-h`), prints exactly what the original prints to stdout,
and returns the original's exit status. Where the original dies with a Python
traceback or loops forever, `run` prints what the original would have printed up to
that point and raises `OstepError` (the `vmsim` command turns it into one line on
stderr and exit status 1, the status of a Python traceback).
"""

from __future__ import annotations

import optparse
import random
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from vmsim.errors import VmsimError


class OstepError(VmsimError):
    """Where an original OSTEP simulator crashes or hangs: what went wrong, and where."""

    def __init__(self, simulator: str, message: str) -> None:
        self.simulator = simulator
        super().__init__(f"ostep {simulator}: {message}")


class ParserExit(Exception):
    """optparse finished the run itself (`-h`, or a usage error): exit with `status`."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(status)


class OstepOptionParser(optparse.OptionParser):
    """optparse, with the original script's name, that returns instead of exiting."""

    def __init__(self, script: str) -> None:
        super().__init__(prog=script)

    def exit(self, status: int = 0, msg: str | None = None) -> NoReturn:
        """Write msg to stderr like optparse, then stop the run with `status`."""
        if msg:
            sys.stderr.write(msg)
        raise ParserExit(status)


def parse(parser: optparse.OptionParser, argv: list[str]) -> optparse.Values:
    """Parse argv (positional arguments are ignored, as the originals ignore them)."""
    options, _ = parser.parse_args(list(argv))
    return options


_SUFFIXES = {"k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30}
"""The originals' size suffixes, compared as they compare them: `lastchar == 'k' or 'K'`."""


def convert(size: str, simulator: str, option: str) -> int:
    """A size as the originals read it: decimal, optionally followed by k/K, m/M or g/G.

    The originals die with a traceback on anything else (`0x100`, `4kb`, an empty
    string); this raises OstepError naming the option instead.
    """
    scale = _SUFFIXES.get(size[-1:], 1)  # the literal characters: "\u212a".lower() is "k"
    digits = size[:-1] if scale != 1 else size
    try:
        return int(digits) * scale
    except ValueError:
        raise OstepError(
            simulator,
            f"option {option}: invalid size {size!r} "
            "(a decimal integer, optionally followed by k, m or g)",
        ) from None


def to_int(text: str, simulator: str, what: str) -> int:
    """int(text) as the originals call it; OstepError naming `what` where they crash."""
    try:
        return int(text)
    except ValueError:
        raise OstepError(simulator, f"{what}: invalid integer {text!r}") from None


def seeded(seed: int) -> random.Random:
    """The originals' one global stream: random.seed(seed) (version 1 and 2 agree on ints)."""
    return random.Random(seed)


class Printer:
    """Lines to stdout, buffered (up to about `limit` characters): flush() before leaving."""

    def __init__(self, limit: int = 1 << 20) -> None:
        self._buf: list[str] = []
        self._size = 0
        self._limit = limit

    def __call__(self, *parts: object) -> None:
        """Print parts like print(*parts): separated by spaces, ended by a newline."""
        line = " ".join(map(str, parts)) if len(parts) != 1 else str(parts[0])
        self._buf.append(line)
        self._size += len(line) + 1
        if self._size >= self._limit:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines to sys.stdout."""
        if self._buf:
            text = "\n".join(self._buf) + "\n"
            self._buf.clear()
            self._size = 0
            sys.stdout.write(text)
        sys.stdout.flush()


def run_simulator(
    make_parser: Callable[[], optparse.OptionParser],
    simulate: Callable[[dict[str, Any], Printer], int],
    argv: list[str],
) -> int:
    """Parse argv with the simulator's parser, run it, flush its output; the exit status."""
    try:
        o = parse(make_parser(), argv)
    except ParserExit as e:
        return e.status
    out = Printer()
    try:
        return simulate(vars(o), out)
    finally:
        out.flush()
