"""`vmsim ostep paging-policy ... --html FILE`: the homework's run as a curves page.

The page shows the run's page faults over time (the reference string replayed under the
policy at the homework's cache size, as the simulator replays it) and the policy's
miss-ratio curve over cache sizes up to the string's distinct pages. Each run reseeds
the random stream as the simulator does, so the curve's point at the homework's size is
the simulator's own answer.
"""

from __future__ import annotations

from typing import Any

from vmsim.errors import VmsimError

CURVE_POINTS = 16
"""Cache sizes on the curve at most (spread from 1 to the distinct pages)."""


def split_html(argv: list[str]) -> tuple[list[str], str | None]:
    """argv without its --html FILE (or --html=FILE), and FILE (None if absent)."""
    out: list[str] = []
    path: str | None = None
    args = iter(argv)
    for a in args:
        if a == "--":
            out.extend([a, *args])
            break
        if a == "--html":
            path = next(args, None)
            if path is None:
                raise VmsimError("ostep: --html needs a FILE")
        elif a.startswith("--html="):
            path = a.partition("=")[2]
        else:
            out.append(a)
    return out, path


def _run(opts: dict[str, Any], cachesize: int, trace: list[bool] | None) -> int:
    """The misses of one run at cachesize, from a fresh seeded stream as the simulator's."""
    from vmsim.ostep import paging_policy as pp

    rng = pp.seeded(pp.to_int(opts["seed"], pp.NAME, "-s"))
    numaddrs = pp.to_int(opts["numaddrs"], pp.NAME, "-n")
    maxpage = pp.to_int(opts["maxpage"], pp.NAME, "-m")
    stream = pp.load_stream(opts, numaddrs, maxpage, rng)
    emit = None if trace is None else (lambda s: trace.append(not s.hit))
    return pp.simulate(stream, opts["policy"], cachesize, rng, opts["clockbits"], emit).misses


def write_paging_policy_page(argv: list[str], path: str) -> None:
    """Write the page of `vmsim ostep paging-policy ARGV` (run already, status 0)."""
    from vmsim.ostep import paging_policy as pp
    from vmsim.ostep.common import parse
    from vmsim.report.view.cli import write_curves
    from vmsim.report.view.curves import timeline

    opts = vars(parse(pp.make_parser(), argv))
    cachesize = pp.to_int(opts["cachesize"], pp.NAME, "-C")
    flags: list[bool] = []
    _run(opts, cachesize, flags)
    rng = pp.seeded(pp.to_int(opts["seed"], pp.NAME, "-s"))
    stream = pp.load_stream(
        opts, pp.to_int(opts["numaddrs"], pp.NAME, "-n"),
        pp.to_int(opts["maxpage"], pp.NAME, "-m"), rng,
    )  # fmt: skip
    distinct = max(1, len(set(stream.pages)))
    step = max(1, -(-distinct // CURVE_POINTS))
    sizes = sorted({*range(1, distinct + 1, step), distinct, max(1, cachesize)})
    points = [(c, float(_run(opts, c, None)), len(stream.pages)) for c in sizes]
    title = f"ostep paging-policy: {opts['policy']}, cache of {cachesize} pages"
    source = opts["addressfile"] or opts["trace"] or ""
    line = timeline(opts["policy"], cachesize, flags)
    write_curves(path, title, source, 0, [(opts["policy"], points)], [line])
