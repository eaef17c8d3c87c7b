"""Pitt CS1550-style traces: `ADDRESS R|W` lines, the address in 8 bare hex digits.

The virtual-memory project traces of Pitt's CS1550 (and courses that reuse them) hold
lines such as `0041f7a0 R`. They are the text format read with radix 16; this entry
lets detection recognise them, since bare hex is otherwise read as decimal.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from vmsim.trace.base import register_format
from vmsim.trace.inputs import Input
from vmsim.trace.text import TextReader

_LINE = re.compile(rb"^[0-9a-fA-F]{8}[ \t]+[RWrw]$")
SNIFF_LINES = 20
"""Lines of the head that must all have the form (a single line proves little)."""


@register_format("pitt", "Pitt CS1550 style: 8 hex digits then R or W ('0041f7a0 R')")
class PittReader(TextReader):
    """The text reader with hexadecimal addresses."""

    extensions = (".trace", ".pitt")

    def __init__(self, path: str | Path | Input, **options: Any) -> None:
        options.setdefault("radix", 16)
        super().__init__(path, **options)

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """The head's first lines (at least two) are all `XXXXXXXX R|W`."""
        lines = [s.strip() for s in head.split(b"\n")[:-1] if s.strip()][:SNIFF_LINES]
        return len(lines) >= 2 and all(_LINE.match(s) for s in lines)

    def why(self, text: bytes) -> str:
        """The format's syntax."""
        return "not a Pitt trace line ('XXXXXXXX R' or 'XXXXXXXX W', hex address)"
