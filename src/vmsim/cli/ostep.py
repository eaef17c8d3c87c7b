"""`vmsim ostep`: the six OSTEP homework simulators, byte for byte."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
