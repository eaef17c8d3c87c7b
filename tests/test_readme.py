"""The README's first two Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(capsys: object) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    exec(compile(blocks[0] + blocks[1], "README.md", "exec"), namespace)
    p = namespace["p"]
    assert p.stats.min_flt >= 1  # type: ignore[attr-defined]
    assert namespace["ptr"] and namespace["obj"] and namespace["buf"]
    assert "page fault" in capsys.readouterr().out  # type: ignore[attr-defined]
