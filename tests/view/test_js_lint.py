"""A small lint of the page's JavaScript (run by `make test`): syntax, strictness, no network."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from vmsim.report.view.page import SCRIPTS

STATIC = resources.files("vmsim.report.view") / "static"
ALL_SCRIPTS = sorted(p.name for p in STATIC.iterdir() if p.name.endswith(".js"))

FORBIDDEN = {
    r"\bfetch\s*\(": "a network fetch",
    r"XMLHttpRequest|WebSocket|EventSource|sendBeacon": "a network API",
    r"\bimport\s*\(|^\s*import\s": "a module import (the page is one file)",
    r"https?://": "a URL",
    r"\beval\s*\(|new Function": "eval",
    r"\bvar\s": "var (use const or let)",
    r"console\.log": "a debugging print",
    r"[^=!<>]==[^=]|!=[^=]": "loose equality (use === and !==)",
}


def _source(name: str) -> str:
    return (STATIC / name).read_text("utf-8")


def test_the_page_inlines_every_script_it_ships() -> None:
    assert set(ALL_SCRIPTS) == {*SCRIPTS, "curves.js"}


@pytest.mark.parametrize("name", ALL_SCRIPTS)
def test_script_follows_the_rules(name: str) -> None:
    src = _source(name)
    assert '"use strict";' in src.split("\n\n")[0] + src[:400], f"{name}: no 'use strict'"
    problems = []
    for n, line in enumerate(src.splitlines(), 1):
        code = re.sub(r'"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|//.*$', '""', line)
        if line != line.rstrip():
            problems.append(f"{name}:{n}: trailing whitespace")
        for pattern, what in FORBIDDEN.items():
            if re.search(pattern, code):
                problems.append(f"{name}:{n}: {what}")
    assert not problems, "\n".join(problems)


def test_scripts_parse_in_the_browser(browser_context: Any) -> None:
    page = browser_context.new_page()
    page.goto("about:blank")
    for name in ALL_SCRIPTS:
        err = page.evaluate(
            "src => { try { new Function(src); return ''; } catch (e) { return String(e); } }",
            _source(name),
        )
        assert err == "", f"{name}: {err}"
    page.close()
