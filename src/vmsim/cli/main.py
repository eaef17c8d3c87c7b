"""Entry point of the `vmsim` command: the group, global options and error handling.

Commands live in one module per area (machine.py, engine.py, ostep.py); each exposes
COMMANDS, a list of click commands. The group imports a module only when one of its
commands runs (COMMAND_MODULES names them), so `vmsim simulate` never loads the
machine, and heavy imports (NumPy, Numba) happen inside commands. A user never sees
a bare traceback: vmsim errors become one line on stderr and exit status 1; anything
else is reported as an internal error (set VMSIM_DEBUG=1 to see its traceback).
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import traceback
from typing import Any

import click

from vmsim import __version__
from vmsim.cli.common import GC_THRESHOLD, load_numpy
from vmsim.errors import VmsimError

EXIT_ERROR = 1
EXIT_INTERNAL = 70


COMMAND_MODULES = {
    "demo": "machine",
    "simulate": "engine",
    "mrc": "engine",
    "tlb": "engine",
    "working-set": "engine",
    "policies": "engine",
    "trace": "engine",
    "record": "engine",
    "replay": "replay",
    "ostep": "ostep",
    "run": "run",
    "sweep": "sweep",
}
"""Command name -> the module of vmsim.cli that defines it (in its COMMANDS)."""

NUMPY_FREE = {"ostep", "run"}
"""Command modules that do not import NumPy (the textbook mode stays light; a real
program's run needs none, and `vmsim run --html` calls load_numpy itself)."""


class LazyGroup(click.Group):
    """A click group that imports a command's module on first use of the command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loaded: set[str] = set()
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        """Every command (this imports every command module)."""
        for module in sorted(set(COMMAND_MODULES.values())):
            self._load(module)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = dict(value)

    def _load(self, module: str) -> None:
        """Import vmsim.cli.<module> and add its commands."""
        if module in self._loaded:
            return
        self._loaded.add(module)
        if module not in NUMPY_FREE:
            load_numpy()
        for command in importlib.import_module(f"vmsim.cli.{module}").COMMANDS:
            self._commands[command.name or ""] = command

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing only its own module."""
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None:
            self._load(module)
        return self._commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, sorted (without importing them)."""
        return sorted(set(COMMAND_MODULES) | set(self._commands))


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="vmsim")
def cli() -> None:
    """vmsim: a virtual-memory system you can run, look inside and measure."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return (and, as a script, exit with) the exit status."""
    try:
        status = cli.main(args=argv, prog_name="vmsim", standalone_mode=False)
        return status if isinstance(status, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("vmsim: aborted", err=True)
        return 130
    except VmsimError as exc:
        click.echo(f"vmsim: error: {exc}", err=True)
        return EXIT_ERROR
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("vmsim: interrupted", err=True)
        return 130
    except Exception as exc:
        if os.environ.get("VMSIM_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"vmsim: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in vmsim; run again with VMSIM_DEBUG=1 for the details.",
            err=True,
        )
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point.

    The cyclic collector runs every GC_THRESHOLD allocations, not every 700: importing
    NumPy, Numba and a command's modules then takes no collection at all (the process
    is the command's, so its settings are vmsim's to choose). Before the interpreter
    exits, every object goes to the collector's permanent generation, so its last
    collections at shutdown have nothing to walk (the process is ending; outputs are
    closed by then): 20-50 ms of every command (Numba's objects).
    """
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    entry()
