"""`vmsim record`: run a program under valgrind lackey, straight into a .vmt file.

valgrind writes its log (lackey's trace included) to a pipe given with --log-fd, so
the program keeps its own stdout and stderr. The pipe is parsed block by block with
the lackey kernel and written as .vmt blocks while the program runs: no text trace
ever reaches the disk. The program's exit status comes back (128 + N if it died of
signal N).

With `trace_children` (valgrind --trace-children=yes) every process image the
program starts (each fork, each exec) is traced too, and each is kept apart in a file
of its own: valgrind sends each image's log over its own connection to a socket vmsim
listens on (--log-socket), and the first line of that log names the pid. The program
itself goes to OUTPUT, every other image to OUTPUT's stem + `.PID.vmt` (a pid that
execs again gets `.PID.2.vmt`, ...). Every file is written through vmsim.output: all
of them appear when the recording is whole, none when it fails or is interrupted.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
class ProcessTrace:
    """The trace of one process image (with --trace-children)."""

    output: str
    pid: int
    command: str
    references: int


@dataclass
class Recording:
    """The outcome of a recording."""

    output: str
    references: int
    exit_status: int
    bad_lines: int
    processes: list[ProcessTrace] = field(default_factory=list)
    """Every process image traced, the program first (with --trace-children)."""


def find_valgrind() -> str:
    """The valgrind executable; RecordError with how to install it if missing."""
    exe = shutil.which("valgrind")
    if exe is None:
        raise RecordError(INSTALL_HINT)
    return exe


class _PipeLackey(LackeyReader):
    """The lackey reader, fed with blocks of valgrind's log instead of a file."""

    def __init__(self, blocks: Iterator[bytes], name: str = "<valgrind pipe>") -> None:
        super().__init__(PipeInput(name, lambda: open(os.devnull, "rb")))  # noqa: SIM115 - never opened
        self._blocks = blocks
        self.skip_bad = True  # valgrind's own messages may interleave; they are counted

    def chunks(self) -> Iterator[TraceChunk]:
        """Parse the log block by block until valgrind closes it."""
        yield from self._parse(self._blocks)


def _fd_blocks(fd: int) -> Iterator[bytes]:
    """Blocks read from a file descriptor (a pipe or a socket) until its end; closes it."""
    with os.fdopen(fd, "rb", buffering=0) as f:
        while True:
            data = f.read(1 << 22)
            if not data:
                return
            yield data


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
    trace_children: bool = False,
) -> Recording:
    """Run `command` under lackey; write its trace to `output` (.vmt); return the outcome.

    The file appears only when the recording is whole: a failure, Ctrl-C, or a program
    that valgrind could not start (no references) leaves nothing at `output`.
    """
    exe = valgrind or find_valgrind()
    check_command(command)
    if trace_children:
        return _record_children(exe, command, Path(output), progress, level)
    writer = VmtWriter(output, has_sizes=True, level=level)  # a bad path fails before the run
    try:
        refs, status, bad = _run(exe, command, writer, progress)
        _check_started(refs, command)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return Recording(str(output), refs, status, bad)


def _check_started(refs: int, command: Sequence[str]) -> None:
    """RecordError if valgrind recorded nothing (it could not start the program)."""
    if refs == 0:
        raise RecordError(
            f"valgrind recorded no references: it could not run {command[0]} (see its message)"
        )


def _status(proc: subprocess.Popen[bytes]) -> int:
    """The exit status of valgrind (128 + N for signal N); Ctrl-C is a KeyboardInterrupt."""
    status = proc.wait()
    if status == -signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C reached valgrind first: the trace is cut short
    return 128 - status if status < 0 else status


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
    reader = _PipeLackey(_fd_blocks(rfd))
    try:
        refs = _copy(reader, writer, progress)
    except BaseException:
        proc.kill()  # it could block on a pipe nobody reads any more
        proc.wait()
        raise
    return refs, _status(proc), reader.stats.bad_lines


def _copy(reader: _PipeLackey, writer: VmtWriter, progress: Callable[[int], None] | None) -> int:
    """Parse reader into writer; return the references."""
    refs = 0
    for ch in reader.chunks():
        writer.write(ch)
        refs += len(ch)
        if progress is not None:
            progress(len(ch))
    return refs


BANNER = re.compile(rb"^==(\d+)== ")
COMMAND_LINE = re.compile(rb"^==\d+== Command: (.*)$", re.M)


@dataclass
class _Image:
    """One traced process image: its writer, and what its thread saw."""

    pid: int
    command: str
    output: Path
    writer: VmtWriter
    references: int = 0
    bad_lines: int = 0
    error: BaseException | None = None


class _Children:
    """The socket valgrind's traced images connect to; one thread and one file per image."""

    def __init__(self, output: Path, level: int, progress: Callable[[int], None] | None) -> None:
        self.output = output
        self.level = level
        self.progress = progress
        self.images: list[_Image] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)  # accept() wakes up to see `stop`
        self.stop = threading.Event()
        self.port = int(self.server.getsockname()[1])
        self.acceptor = threading.Thread(target=self._accept, name="vmsim-record", daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        """Accept connections until `stop` is set."""
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self.lock:
                self.threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        """Read one image's log: learn its pid from the banner, stream it into its file."""
        blocks = _fd_blocks(conn.detach())
        first = b""
        for data in blocks:
            first += data
            if COMMAND_LINE.search(first) or len(first) > 1 << 16:
                break
        m = BANNER.match(first)
        pid = int(m.group(1)) if m else 0
        cm = COMMAND_LINE.search(first)
        cmd = cm.group(1).decode("utf-8", "replace") if cm else "?"
        image = self._image(pid, cmd)
        reader = _PipeLackey(_chain(first, blocks), f"<valgrind log of pid {pid}>")
        try:
            image.references = _copy(reader, image.writer, self.progress)
        except BaseException as exc:  # handed to the main thread
            image.error = exc
        image.bad_lines = reader.stats.bad_lines

    def _image(self, pid: int, command: str) -> _Image:
        """A new image with its writer: the first is OUTPUT, the others STEM.PID[.K].vmt."""
        with self.lock:
            if not self.images:
                path = self.output
            else:
                again = sum(1 for i in self.images[1:] if i.pid == pid)
                tag = f"{pid}" if again == 0 else f"{pid}.{again + 1}"
                path = self.output.with_name(f"{self.output.stem}.{tag}{self.output.suffix}")
            image = _Image(pid, command, path, VmtWriter(path, has_sizes=True, level=self.level))
            self.images.append(image)
            return image

    def finish(self) -> None:
        """Stop accepting; wait for every image's log to end."""
        self.stop.set()
        self.acceptor.join()
        self.server.close()
        with self.lock:
            threads = list(self.threads)
        for t in threads:
            t.join()

    def abort(self) -> None:
        """Remove every file (nothing reaches the destinations)."""
        self.stop.set()
        for image in self.images:
            image.writer.abort()


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """first, then the blocks of rest."""
    if first:
        yield first
    yield from rest


def _record_children(
    exe: str,
    command: Sequence[str],
    output: Path,
    progress: Callable[[int], None] | None,
    level: int,
) -> Recording:
    """record() with --trace-children: one .vmt per process image."""
    VmtWriter(output, level=level).abort()  # a bad path fails before the run
    kids = _Children(output, level, progress)
    args = [exe, "--tool=lackey", "--trace-mem=yes", "--trace-children=yes",
            f"--log-socket=127.0.0.1:{kids.port}", *command]  # fmt: skip
    try:
        try:
            proc = subprocess.Popen(args)
        except OSError as exc:
            raise RecordError(f"cannot run valgrind: {exc}") from None
        try:
            status = _status(proc)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        kids.finish()
        for image in kids.images:
            if image.error is not None:
                raise image.error
        _check_started(kids.images[0].references if kids.images else 0, command)
    except BaseException:
        kids.abort()
        raise
    for image in kids.images:
        image.writer.close()
    procs = [ProcessTrace(str(i.output), i.pid, i.command, i.references) for i in kids.images]
    return Recording(
        str(output),
        sum(p.references for p in procs),
        status,
        sum(i.bad_lines for i in kids.images),
        procs,
    )
