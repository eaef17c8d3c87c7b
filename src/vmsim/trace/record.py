"""`vmsim record`: run a program under valgrind lackey, straight into a .vmt file.

valgrind writes its log (lackey's trace included) to a pipe given with --log-fd, so
the program keeps its own stdout and stderr. The pipe is parsed block by block with
the lackey kernel and written as .vmt blocks while the program runs: no text trace
ever reaches the disk. The program's exit status comes back (128 + N if it died of
signal N).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vmsim.errors import VmsimError
from vmsim.trace.base import TraceChunk
from vmsim.trace.inputs import PipeInput
from vmsim.trace.lackey import LackeyReader
from vmsim.trace.vmt import VmtWriter

INSTALL_HINT = (
    "valgrind is not installed (needed to record a trace): install it with "
    "'sudo apt-get install valgrind' (Debian/Ubuntu), 'sudo dnf install valgrind' "
    "(Fedora) or 'brew install valgrind' (macOS, Intel only)"
)


class RecordError(VmsimError):
    """Recording could not start or its output was not a lackey trace."""


@dataclass
class Recording:
    """The outcome of a recording."""

    output: str
    references: int
    exit_status: int
    bad_lines: int


def find_valgrind() -> str:
    """The valgrind executable; RecordError with how to install it if missing."""
    exe = shutil.which("valgrind")
    if exe is None:
        raise RecordError(INSTALL_HINT)
    return exe


class _PipeLackey(LackeyReader):
    """The lackey reader, fed from an open pipe instead of a file."""

    def __init__(self, fd: int) -> None:
        super().__init__(PipeInput("<valgrind pipe>", lambda: os.fdopen(fd, "rb")))
        self._fd = fd

    def chunks(self) -> Iterator[TraceChunk]:
        """Parse the pipe block by block until valgrind closes it."""
        with os.fdopen(self._fd, "rb", buffering=0) as f:

            def blocks() -> Iterator[bytes]:
                while True:
                    data = f.read(1 << 22)
                    if not data:
                        return
                    yield data

            yield from self._parse(blocks())


def check_command(command: Sequence[str]) -> str:
    """The program `command` runs, resolved on PATH; RecordError if it cannot be run."""
    if not command:
        raise RecordError("no command to record: vmsim record -o out.vmt -- CMD ARGS...")
    prog = command[0]
    found = shutil.which(prog)
    if found is not None:
        return found
    if os.sep in prog and os.path.exists(prog):
        raise RecordError(f"cannot run {prog}: not an executable file")
    where = "no such file" if os.sep in prog else "not found on PATH"
    raise RecordError(f"cannot run {prog}: {where}")


def record(
    command: Sequence[str],
    output: str | Path,
    *,
    progress: Callable[[int], None] | None = None,
    level: int = 9,
    valgrind: str | None = None,
) -> Recording:
    """Run `command` under lackey; write its trace to `output` (.vmt); return the outcome.

    The file appears only when the recording is whole: a failure, Ctrl-C, or a program
    that valgrind could not start (no references) leaves nothing at `output`.
    """
    exe = valgrind or find_valgrind()
    check_command(command)
    writer = VmtWriter(output, has_sizes=True, level=level)  # a bad path fails before the run
    try:
        refs, status, bad = _run(exe, command, writer, progress)
    except BaseException:
        writer.abort()
        raise
    if refs == 0:
        writer.abort()
        raise RecordError(
            f"valgrind recorded no references: it could not run {command[0]} (see its message)"
        )
    writer.close()
    return Recording(str(output), refs, status, bad)


def _run(
    exe: str,
    command: Sequence[str],
    writer: VmtWriter,
    progress: Callable[[int], None] | None,
) -> tuple[int, int, int]:
    """Run valgrind, stream its trace into writer; (references, exit status, bad lines)."""
    rfd, wfd = os.pipe()
    args = [exe, "--tool=lackey", "--trace-mem=yes", f"--log-fd={wfd}", *command]
    try:
        proc = subprocess.Popen(args, pass_fds=(wfd,))
    except OSError as exc:
        os.close(rfd)
        raise RecordError(f"cannot run valgrind: {exc}") from None
    finally:
        os.close(wfd)
    reader = _PipeLackey(rfd)
    reader.skip_bad = True  # valgrind's own messages may interleave; they are counted
    refs = 0
    try:
        for ch in reader.chunks():
            writer.write(ch)
            refs += len(ch)
            if progress is not None:
                progress(len(ch))
    except BaseException:
        proc.kill()  # it could block on a pipe nobody reads any more
        proc.wait()
        raise
    status = proc.wait()
    if status == -signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C reached valgrind first: the trace is cut short
    if status < 0:
        status = 128 - status
    return refs, status, reader.stats.bad_lines
