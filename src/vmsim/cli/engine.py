"""Commands of the trace-driven engine (simulate, mrc, tlb, trace, record)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
