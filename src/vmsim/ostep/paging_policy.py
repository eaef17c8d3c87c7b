"""OSTEP `vm-beyondphys-policy/paging-policy.py`: page replacement over a reference string.

The stream: `-f` file (one int per line) first, else the `-a` list, else `-n` pages
int(maxpage * r). Memory is a list: a hit leaves it alone (LRU and MRU move the page
to the right end); a miss appends, after evicting a victim when `C` pages are
resident. The victims come from the policy registry: FIFO -> fifo, LRU -> lru,
MRU -> mru, OPT -> opt, RAND -> random, CLOCK -> ostep-clock, UNOPT -> unopt; the
one seeded stream that made the references also drives RAND and CLOCK.

Beyond the original (both hidden from `-h`, whose text stays the original's):
`--trace FILE` reads the references from any trace file the engine reads, and
`--json` prints the results as one JSON object. Runs without a trace (`-N`) count
through `vmsim.ostep.replay` (heaps for OPT and UNOPT), so a million references take
seconds where the original needs hours.
"""

# ruff: noqa: UP031  (printf formats are the original's, kept for byte-exact output)

from __future__ import annotations

import json
import optparse
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vmsim.ostep import replay
from vmsim.ostep.common import (
    OstepError,
    OstepOptionParser,
    Printer,
    run_simulator,
    seeded,
    to_int,
)
from vmsim.policies import make_policy
from vmsim.policies.reference import ReferenceBits

NAME = "paging-policy"
REGISTRY = {
    "FIFO": "fifo",
    "LRU": "lru",
    "MRU": "mru",
    "OPT": "opt",
    "UNOPT": "unopt",
    "RAND": "random",
    "CLOCK": "ostep-clock",
}
SIDES = {
    "FIFO": ("FirstIn", "Lastin "),
    "LRU": ("LRU", "MRU"),
    "MRU": ("LRU", "MRU"),
}


def make_parser() -> OstepOptionParser:
    """The original's flags, defaults and help, in its order (plus two hidden extensions)."""
    p = OstepOptionParser("paging-policy.py")
    add = p.add_option
    add(
        "-a",
        "--addresses",
        default="-1",
        help="a set of comma-separated pages to access; -1 means randomly generate",
        action="store",
        type="string",
        dest="addresses",
    )
    add(
        "-f",
        "--addressfile",
        default="",
        help="a file with a bunch of addresses in it",
        action="store",
        type="string",
        dest="addressfile",
    )
    add(
        "-n",
        "--numaddrs",
        default="10",
        help="if -a (--addresses) is -1, this is the number of addrs to generate",
        action="store",
        type="string",
        dest="numaddrs",
    )
    add(
        "-p",
        "--policy",
        default="FIFO",
        help="replacement policy: FIFO, LRU, OPT, UNOPT, RAND, CLOCK",
        action="store",
        type="string",
        dest="policy",
    )
    add(
        "-b",
        "--clockbits",
        default=2,
        help="for CLOCK policy, how many clock bits to use",
        action="store",
        type="int",
        dest="clockbits",
    )
    add(
        "-C",
        "--cachesize",
        default="3",
        help="size of the page cache, in pages",
        action="store",
        type="string",
        dest="cachesize",
    )
    add(
        "-m",
        "--maxpage",
        default="10",
        help="if randomly generating page accesses, this is the max page number",
        action="store",
        type="string",
        dest="maxpage",
    )
    add(
        "-s",
        "--seed",
        default="0",
        help="random number seed",
        action="store",
        type="string",
        dest="seed",
    )
    add(
        "-N",
        "--notrace",
        default=False,
        help="do not print out a detailed trace",
        action="store_true",
        dest="notrace",
    )
    add(
        "-c",
        "--compute",
        default=False,
        help="compute answers for me",
        action="store_true",
        dest="solve",
    )
    add(
        "--trace",
        default="",
        help=optparse.SUPPRESS_HELP,
        action="store",
        type="string",
        dest="trace",
    )
    add("--json", default=False, help=optparse.SUPPRESS_HELP, action="store_true", dest="json")
    return p


@dataclass
class Stream:
    """The reference string: pages[:bad] parse; pages[bad] (if any) is where int() fails."""

    pages: list[int]
    total: int
    bad: int | None = None
    bad_text: str = ""

    def crash(self) -> OstepError:
        """The error for the reference that is not an integer."""
        return OstepError(NAME, f"reference {self.bad}: invalid page number {self.bad_text!r}")


@dataclass
class Step:
    """One reference of a traced run."""

    page: int
    hit: bool
    victim: int | None
    memory: list[int]
    hits: int
    misses: int


@dataclass
class Result:
    """Counts of a run."""

    hits: int = 0
    misses: int = 0


def run(argv: list[str]) -> int:
    """Run paging-policy.py with argv; return its exit status."""
    return run_simulator(make_parser, _simulate, argv)


def _simulate(opts: dict[str, Any], out: Printer) -> int:
    """Everything after option parsing."""
    if not opts["json"]:
        for key in ("addresses", "addressfile", "numaddrs", "policy", "clockbits",
                    "cachesize", "maxpage", "seed", "notrace"):  # fmt: skip
            out("ARG " + key, opts[key])
        out("")
    numaddrs = to_int(opts["numaddrs"], NAME, "-n")
    cachesize = to_int(opts["cachesize"], NAME, "-C")
    seed = to_int(opts["seed"], NAME, "-s")
    maxpage = to_int(opts["maxpage"], NAME, "-m")
    policy, notrace, clockbits = opts["policy"], opts["notrace"], opts["clockbits"]
    rng = seeded(seed)
    stream = load_stream(opts, numaddrs, maxpage, rng)
    if opts["json"]:
        return _json(opts, stream, cachesize, seed, rng, out)
    if not opts["solve"]:
        out(
            "Assuming a replacement policy of %s, and a cache of size %d pages,"
            % (policy, cachesize)
        )
        out("figure out whether each of the following page references hit or miss")
        out("in the page cache.")
        out("")
        for page in stream.pages:
            out("Access: %d  Hit/Miss?  State of Memory?" % page)
        if stream.bad is not None:
            raise stream.crash()
        out("")
        return 0
    if not notrace:
        out("Solving...")
        out("")
    if policy not in REGISTRY:
        out("Policy %s is not yet implemented" % policy)
        return 1
    emit = None if notrace else _line_printer(policy, out)
    res = simulate(stream, policy, cachesize, rng, clockbits, emit)
    out("")
    if res.hits + res.misses == 0:
        raise OstepError(NAME, "no references: the hit rate of an empty run is undefined")
    out(
        "FINALSTATS hits %d   misses %d   hitrate %.2f"
        % (res.hits, res.misses, (100.0 * float(res.hits)) / (float(res.hits) + float(res.misses)))
    )
    out("")
    return 0


def _json(
    opts: dict[str, Any],
    stream: Stream,
    cachesize: int,
    seed: int,
    rng: random.Random,
    out: Printer,
) -> int:
    """--json: the run's results (and its steps unless -N) as one JSON object."""
    policy = opts["policy"]
    if policy not in REGISTRY:
        raise OstepError(NAME, f"-p {policy}: the policy must be one of {', '.join(REGISTRY)}")
    steps: list[Step] = []
    emit = None if opts["notrace"] else steps.append
    res = simulate(stream, policy, cachesize, rng, opts["clockbits"], emit)
    total = res.hits + res.misses
    doc: dict[str, Any] = {
        "simulator": NAME,
        "policy": policy,
        "registry_policy": REGISTRY[policy],
        "cachesize": cachesize,
        "clockbits": opts["clockbits"],
        "seed": seed,
        "references": total,
        "hits": res.hits,
        "misses": res.misses,
        "hitrate": round(100.0 * res.hits / total, 6) if total else None,
    }
    if emit is not None:
        doc["steps"] = [
            {"page": s.page, "hit": s.hit, "victim": s.victim, "memory": s.memory} for s in steps
        ]
    out(json.dumps(doc))
    return 0


def load_stream(opts: dict[str, Any], numaddrs: int, maxpage: int, rng: random.Random) -> Stream:
    """The reference string, from --trace, -f, -a or the seeded stream (in that order)."""
    if opts["trace"]:
        return _trace_stream(opts["trace"])
    if opts["addressfile"]:
        return _file_stream(opts["addressfile"])
    if opts["addresses"] != "-1":
        texts = opts["addresses"].split(",")
        pages: list[int] = []
        for i, text in enumerate(texts):
            try:
                pages.append(int(text))
            except ValueError:
                return Stream(pages, len(texts), i, text)
        return Stream(pages, len(texts))
    rnd = rng.random
    return Stream([int(maxpage * rnd()) for _ in range(numaddrs)], max(numaddrs, 0))


def _file_stream(path: str) -> Stream:
    """-f: one integer per line; the original dies on any other line."""
    try:
        with open(path) as fd:
            lines = list(fd)
    except OSError as e:
        raise OstepError(NAME, f"-f {path}: cannot read the address file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise OstepError(NAME, f"-f {path}: not a text file ({e.reason})") from None
    pages = []
    for lineno, line in enumerate(lines, 1):
        try:
            pages.append(int(line))
        except ValueError:
            raise OstepError(NAME, f"{path}:{lineno}: not a page number: {line!r}") from None
    return Stream(pages, len(pages))


def _trace_stream(path: str) -> Stream:
    """--trace: the page numbers (4 KiB pages) of any trace file the engine reads."""
    from vmsim.engine.api import open_trace

    pages = open_trace(path).pages(12).tolist()
    return Stream(pages, len(pages))


def _line_printer(policy: str, out: Printer) -> Callable[[Step], None]:
    """The original's per-reference line."""
    left, right = SIDES.get(policy, ("Left ", "Right"))

    def emit(s: Step) -> None:
        out(
            "Access: %d  %s %s -> %12s <- %s Replaced:%s [Hits:%d Misses:%d]"
            % (
                s.page,
                "HIT " if s.hit else "MISS",
                left,
                s.memory,
                right,
                "-" if s.victim is None or s.victim == -1 else s.victim,  # the original's vfunc
                s.hits,
                s.misses,
            )
        )

    return emit


def simulate(
    stream: Stream,
    policy: str,
    cachesize: int,
    rng: random.Random,
    clockbits: int = 2,
    emit: Callable[[Step], None] | None = None,
) -> Result:
    """Replay the stream under an OSTEP policy name; step by step when emit is given."""
    if emit is None and stream.bad is None and cachesize != 0:
        if policy in ("OPT", "UNOPT"):
            ids, npages = replay.dense_ids(stream.pages)
            nxt = replay.next_uses(ids, stream.total)
            count = replay.count_opt if policy == "OPT" else replay.count_unopt
            misses = count(ids, nxt, npages, cachesize)
            return Result(len(ids) - misses, misses)
        if policy == "RAND":
            misses = replay.count_rand(stream.pages, cachesize, rng.random)
            return Result(len(stream.pages) - misses, misses)
    return step_replay(stream, policy, cachesize, rng, clockbits, emit)


def make_ostep_policy(policy: str, rng: random.Random, clockbits: int) -> Any:
    """The registry policy behind an OSTEP policy name, sharing the seeded stream."""
    name = REGISTRY[policy]
    if name == "random":
        return make_policy(name, rng=rng)
    if name == "ostep-clock":
        return make_policy(name, rng=rng, clockbits=clockbits)
    return make_policy(name)


def step_replay(
    stream: Stream,
    policy: str,
    cachesize: int,
    rng: random.Random,
    clockbits: int = 2,
    emit: Callable[[Step], None] | None = None,
) -> Result:
    """The reference-by-reference replay through the registry policy (the original's loop)."""
    pol = make_ostep_policy(policy, rng, clockbits)
    pages = stream.pages
    future = pol.needs_future
    nxt = replay.next_uses(replay.dense_ids(pages)[0], stream.total) if future else []
    bits = ReferenceBits(has_future=future)
    res = Result()
    count = 0
    for t, page in enumerate(pages):
        bits.now = t
        victim = None
        hit = page in pol
        if hit:
            res.hits += 1
            if pol.uses_access_hook:
                pol.on_access(page, False)
        else:
            res.misses += 1
            if count == cachesize:
                victim = _evict(pol, bits, stream, t)
            else:
                count += 1
            pol.on_map(page)
        if future:
            bits.next_uses[page] = nxt[t]
        if emit is not None:
            emit(Step(page, hit, victim, pol.resident(), res.hits, res.misses))
    if stream.bad is not None:
        raise stream.crash()
    return res


def _evict(pol: Any, bits: ReferenceBits, stream: Stream, t: int) -> int:
    """The victim of a miss at time t with a full cache; OstepError where the original dies."""
    if len(pol) == 0:
        raise OstepError(
            NAME, "-C 0: a cache of 0 pages cannot take the first miss (the original crashes)"
        )
    if pol.needs_future and stream.bad is not None:
        for key in pol.resident():
            if bits.next_uses[key] == stream.total:
                raise OstepError(
                    NAME,
                    f"reference {stream.bad}: invalid page number {stream.bad_text!r} "
                    f"(read while looking for the next use of page {key} at reference {t})",
                )
    victim: int = pol.victim(bits)
    return victim
