"""The page in a real browser: rebuilt states, PTE decoding, jumps, views, no errors."""

from __future__ import annotations

import base64
import random
import zlib
from functools import cache
from typing import Any

import pytest
from view_scenarios import SCENARIOS, SHOTS, Recorded, record

from vmsim.report.view.page import page_html, payload


@cache
def recorded(name: str, **extra: Any) -> Recorded:
    """Each scenario is recorded once per session."""
    fn, cfg = SCENARIOS[name]
    return record(fn, **{**cfg, **extra})


def html_of(r: Recorded) -> str:
    return page_html(payload(r.machine, "test"))


def sample_steps(r: Recorded, count: int = 40) -> list[int]:
    """Steps around every snapshot, both ends, and random ones, in random order."""
    n = r.machine.recording.steps
    every = r.machine.recording.every
    steps = {0, n, 1, n - 1}
    for base in range(0, n + 1, every):
        steps |= {base - 1, base, base + 1}
    rng = random.Random(13)
    steps |= {rng.randrange(n + 1) for _ in range(count)}
    out = sorted(s for s in steps if 0 <= s <= n)
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_state_after_seek_equals_the_machines_snapshot(open_page: Any, name: str) -> None:
    r = recorded(name)
    page = open_page(html_of(r))
    assert page.evaluate("vmsim.steps()") == r.machine.recording.steps
    for i in sample_steps(r):
        got = page.evaluate("i => { vmsim.seek(i); return vmsim.state(); }", i)
        assert got == r.truth[i], f"{name}: state at step {i} differs"
    last = min(200, r.machine.recording.steps)
    for i in range(last + 1):  # stepping forward one step at a time
        assert page.evaluate("i => { vmsim.seek(i); return vmsim.step(); }", i) == i
    assert page.evaluate("vmsim.state()") == r.truth[last]
    page.evaluate("vmsim.seek(vmsim.steps())")
    page.screenshot(path=str(SHOTS / f"vmsim-view-{name}.png"), full_page=True)


def test_the_scenarios_do_what_they_say() -> None:
    kinds = {name: set(recorded(name).kinds) for name in SCENARIOS}
    assert "CowCopy" in kinds["fork_cow"]
    assert {"SwapOut", "SwapIn", "Evict"} <= kinds["swap"]
    assert "OomKill" in kinds["oom"]
    heap = recorded("malloc").truth[-1]["processes"]["1"]["heap"]
    assert {c[3] for c in heap["chunks"]} >= {"in use", "tcache", "top"}
    # the 2-entry direct-mapped TLB: pages 0, 2 and 4 share a set, which keeps one
    truth = recorded("tlb").truth
    seen = [{s["tlb"][k][0][0] for s in truth if s["tlb"][k]} for k in range(2)]
    assert max(len(s["tlb"][k]) for s in truth for k in range(2)) == 1
    assert sorted(len(v) for v in seen) == [0, 3]


# x86-64 and RISC-V Sv39 leaf PTE bits, from the architecture manuals (not from vmsim).
ARCH_BITS = {
    "x86_64": ({"P": 0, "W": 1, "U": 2, "A": 5, "D": 6, "COW": 9, "NX": 63}, 12, 40),
    "sv39": ({"P": 0, "R": 1, "W": 2, "X": 3, "U": 4, "A": 6, "D": 7, "COW": 8}, 10, 44),
}


@pytest.mark.parametrize("paging", sorted(ARCH_BITS))
def test_a_click_on_a_pte_shows_its_decoded_bits(open_page: Any, paging: str) -> None:
    r = recorded("fork_cow", paging=paging)
    page = open_page(html_of(r))
    n = r.machine.recording.steps
    page.evaluate("n => vmsim.seek(n)", n)
    levels = 4 if paging == "x86_64" else 3
    leaves = page.locator(f'.pte[data-level="{levels - 1}"]')
    assert leaves.count() >= 2
    bits, shift, width = ARCH_BITS[paging]
    for k in range(leaves.count()):
        key = leaves.nth(k).get_attribute("data-k")
        assert key is not None
        _, table, index = key.split(":")
        leaves.nth(k).click()
        pid = str(page.evaluate("vmsim.state().current"))
        raw = int(r.truth[n]["processes"][pid]["tables"][table]["entries"][index], 16)
        shown = {
            td.get_attribute("data-bit"): int(td.inner_text())
            for td in page.locator("#decoded td[data-bit]").all()
        }
        assert shown == {name: (raw >> bit) & 1 for name, bit in bits.items()}
        assert page.locator("#decoded-raw").inner_text() == f"{raw:#x}"
        frame = (raw >> shift) & ((1 << width) - 1)
        assert page.locator("#decoded-frame").inner_text() == f"frame {frame}"
    page.screenshot(path=str(SHOTS / f"vmsim-view-pte-{paging}.png"), full_page=True)


JUMP_KEYS = {
    "f": {"PageFault"},
    "e": {"Evict"},
    "i": {"SwapIn"},
    "c": {"CowCopy"},
    "y": {"Syscall"},
    "x": {"ContextSwitch"},
    "k": {"OomKill"},
}


@pytest.mark.parametrize("name", ["swap", "fork_cow", "oom"])
def test_jumps_land_on_the_next_and_previous_events(open_page: Any, name: str) -> None:
    r = recorded(name)
    page = open_page(html_of(r))
    n = r.machine.recording.steps
    for key, kinds in JUMP_KEYS.items():
        expected = [j + 1 for j, kind in enumerate(r.kinds) if kind in kinds]
        page.evaluate("vmsim.seek(0)")
        landed = []
        for _ in range(len(expected) + 1):
            page.keyboard.press(key)
            step = page.evaluate("vmsim.step()")
            if landed and step == landed[-1]:
                break
            landed.append(step)
        assert landed[: len(expected)] == expected, key
        current = page.evaluate("vmsim.events(vmsim.step() - 1, 1)")
        if expected:
            assert current[0]["kind"] in kinds
        page.evaluate("n => vmsim.seek(n)", n)
        back = []
        for _ in range(len(expected) + 1):
            page.keyboard.press(f"Shift+{key.upper()}")
            step = page.evaluate("vmsim.step()")
            if step == (back[-1] if back else n):
                break
            back.append(step)
        assert back == [s for s in reversed(expected) if s < n], key


def test_views_follow_the_current_event(open_page: Any) -> None:
    r = recorded("fork_cow")
    page = open_page(html_of(r))
    cow = r.kinds.index("CowCopy")
    event = r.machine.recording.events[cow]
    page.evaluate("s => vmsim.seek(s)", cow + 1)
    assert page.locator(f'.frame.touched[data-k="frame:{event.new_ppn}"]').count() == 1
    assert page.locator(f'.frame.touched[data-k="frame:{event.old_ppn}"]').count() == 1
    assert page.locator("#narrative li.cur").inner_text().startswith("copy-on-write")
    hit = r.kinds.index("TlbHit")
    page.evaluate("s => vmsim.seek(s)", hit + 1)
    assert page.locator(".tlbe.flash-hit").count() == 1
    page.screenshot(path=str(SHOTS / "vmsim-view-cow.png"), full_page=True)


def test_a_click_on_a_page_highlights_its_pte_and_frame(open_page: Any) -> None:
    r = recorded("fork_cow")
    page = open_page(html_of(r))
    cow = r.kinds.index("CowCopy")
    page.evaluate("s => vmsim.seek(s)", cow + 4)
    state = r.truth[cow + 4]
    pid = str(state["current"])
    proc = state["processes"][pid]
    va = next(v for v, pte in proc["ptes"].items() if int(pte, 16) & 1)
    frame = (int(proc["ptes"][va], 16) >> 12) & ((1 << 40) - 1)
    page.locator(f'[data-k="page:{pid}:{va}"]').click()
    assert page.locator(f'.frame.hl[data-k="frame:{frame}"]').count() == 1
    assert page.locator(".pte.hl").count() == 1
    assert f"frame {frame} " in page.locator(".pte.hl").inner_text()
    # a shared frame: both PTEs that map it (one per process) are its mappers
    shared = next(p for p, f in enumerate(state["frames"]) if f and len(f["mappers"]) == 2)
    page.locator(f'[data-k="frame:{shared}"]').click()
    mapped = [va for p, va in state["frames"][shared]["mappers"] if str(p) == pid]
    for va in mapped:
        assert page.locator(f'.hl[data-k="page:{pid}:{va}"]').count() == 1
    page.screenshot(path=str(SHOTS / "vmsim-view-highlight.png"), full_page=True)


def test_the_heap_view_shows_every_chunk(open_page: Any) -> None:
    r = recorded("malloc")
    page = open_page(html_of(r))
    n = r.machine.recording.steps
    page.evaluate("n => vmsim.seek(n)", n)
    chunks = r.truth[n]["processes"]["1"]["heap"]["chunks"]
    assert page.locator(".chunk").count() == len(chunks)
    assert page.locator(".chunk.inuse").count() == sum(1 for c in chunks if c[2])
    assert "tcache" in page.locator(".bins").inner_text()
    page.screenshot(path=str(SHOTS / "vmsim-view-heap.png"), full_page=True)


def test_the_page_is_self_contained() -> None:
    html = html_of(recorded("tlb"))
    lower = html.lower()
    for needle in ("http://", "https://", "<link", "src=", "fetch(", "xmlhttprequest", "import("):
        assert needle not in lower, needle


def test_views_count_what_the_state_holds(open_page: Any) -> None:
    """Address space, frames, swap slots and charts against the true state at the end."""
    r = recorded("swap")
    page = open_page(html_of(r))
    n = r.machine.recording.steps
    page.evaluate("n => vmsim.seek(n)", n)
    state = r.truth[n]
    ptes = [int(v, 16) for v in state["processes"]["1"]["ptes"].values()]
    swapped = sum(1 for v in ptes if v and not v & 1)  # x86-64: P is bit 0
    assert swapped > 0
    assert page.locator("#space .cell.pg-swapped").count() == swapped
    used = sum(1 for f in state["frames"] if f is not None)
    assert page.locator("#frames .frame:not(.fr-free)").count() == used
    free = page.locator("#frames .fr-free").evaluate_all(
        "els => els.reduce((n, el) => n + Number(el.dataset.n), 0)"
    )
    assert free == len(state["frames"]) - used
    assert page.locator(".slot.used").count() == len(state["swap"])
    free_slots = page.locator("#swap .slot:not(.used)").evaluate_all(
        "els => els.reduce((n, el) => n + Number(el.dataset.n), 0)"
    )
    assert free_slots == r.machine.kernel.swap.nslots - len(state["swap"])
    caption = page.locator(".chart figcaption").first.inner_text()
    assert caption.startswith(f"page faults (pgfault): {state['counters']['pgfault']} ")


def test_a_click_on_a_cached_page_highlights_its_tlb_entry(open_page: Any) -> None:
    r = recorded("tlb")
    page = open_page(html_of(r))
    fill = max(i for i, k in enumerate(r.kinds) if k == "TlbFill")
    page.evaluate("s => vmsim.seek(s)", fill + 1)
    state = r.truth[fill + 1]
    ((vpn, ppn, _, _),) = [e for ways in state["tlb"] for e in ways]
    page.locator(f'[data-k="page:1:{vpn << 12}"]').click()
    assert page.locator(".tlbe.hl").count() == 1
    assert f"→ frame {ppn}" in page.locator(".tlbe.hl").inner_text()


def test_hovering_a_page_highlights_its_pte_frame_and_tlb_entry(open_page: Any) -> None:
    r = recorded("tlb")
    page = open_page(html_of(r))
    fill = max(i for i, k in enumerate(r.kinds) if k == "TlbFill")
    page.evaluate("s => vmsim.seek(s)", fill + 1)
    state = r.truth[fill + 1]
    ((vpn, ppn, _, _),) = [e for ways in state["tlb"] for e in ways]
    page.locator(f'[data-k="page:1:{vpn << 12}"]').hover()
    assert page.locator(".pte.hl").count() == 1
    assert f"frame {ppn} " in page.locator(".pte.hl").inner_text()
    assert page.locator(f'.frame.hl[data-k="frame:{ppn}"]').count() == 1
    assert page.locator(".tlbe.hl").count() == 1
    page.locator("header").hover()  # the pointer leaves: nothing stays highlighted
    assert page.locator(".hl").count() == 0


def test_hovering_a_shared_frame_highlights_every_pte_that_maps_it(open_page: Any) -> None:
    r = recorded("fork_cow")
    page = open_page(html_of(r))
    fork = r.kinds.index("CowCopy")  # before the copy, parent and child share the frames
    page.evaluate("s => vmsim.seek(s)", fork)
    state = r.truth[fork]
    pid = str(state["current"])
    shared = next(p for p, f in enumerate(state["frames"]) if f and len(f["mappers"]) == 2)
    page.locator(f'[data-k="frame:{shared}"]').hover()
    mine = [va for p, va in state["frames"][shared]["mappers"] if str(p) == pid]
    assert page.locator(".pte.hl").count() == len(mine)
    for va in mine:
        assert page.locator(f'.cell.hl[data-k="page:{pid}:{va}"]').count() == 1
    page.screenshot(path=str(SHOTS / "vmsim-view-hover.png"), full_page=True)


def test_play_advances_at_the_chosen_speed_and_pause_stops(open_page: Any) -> None:
    r = recorded("swap")
    n = r.machine.recording.steps
    page = open_page(html_of(r))
    assert n > 300  # seconds of play at this speed: time to pause before the end
    page.select_option("#speed", "100")  # 100 steps/s: 2 steps every 20 ms
    page.locator("#play").click()
    page.wait_for_function("() => vmsim.step() >= 6")
    page.locator("#play").click()
    assert page.locator("#play").inner_text().endswith("play")
    stopped = page.evaluate("vmsim.step()")
    assert stopped % 2 == 0 and 0 < stopped < n
    page.wait_for_timeout(200)  # ten ticks of the timer, had it kept running
    assert page.evaluate("vmsim.step()") == stopped
    page.keyboard.press(" ")  # space plays on, to the end, where it stops by itself
    page.wait_for_function("() => vmsim.step() === vmsim.steps()")
    page.wait_for_function("() => document.getElementById('play').textContent.endsWith('play')")


def test_keys_step_and_go_to_either_end(open_page: Any) -> None:
    r = recorded("fork_cow")
    n = r.machine.recording.steps
    page = open_page(html_of(r))
    expect = {"End": n, "ArrowLeft": n - 1, "Home": 0, "ArrowRight": 1}
    for key, step in expect.items():
        page.keyboard.press(key)
        assert page.evaluate("vmsim.step()") == step, key
        assert page.locator("#stepno").inner_text() == f"step {step} / {n}"


@pytest.mark.parametrize(
    ("level", "strategy"),
    [(0, zlib.Z_DEFAULT_STRATEGY), (6, zlib.Z_FIXED), (9, zlib.Z_DEFAULT_STRATEGY)],
    ids=["stored", "fixed", "dynamic"],
)
def test_the_pages_inflate_undoes_zlibs_deflate(open_page: Any, level: int, strategy: int) -> None:
    """Every block type (stored, fixed and dynamic Huffman codes), over several blocks."""
    rng = random.Random(level)
    words = [bytes(rng.choice(b"abcdefgh{}[],:0123456789") for _ in range(rng.randrange(1, 9)))
             for _ in range(300)]  # fmt: skip
    data = b"".join(rng.choice(words) for _ in range(60_000)) + rng.randbytes(70_000)
    z = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    packed = base64.b64encode(z.compress(data) + z.flush()).decode()
    page = open_page(html_of(recorded("tlb")))
    got = page.evaluate(
        """b64 => {
            const bin = atob(b64);
            const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
            const out = vmcore.inflate(bytes, 0);
            let s = "";
            for (let i = 0; i < out.length; i += 4096) {
                s += String.fromCharCode(...out.subarray(i, i + 4096));
            }
            return btoa(s);
        }""",
        packed,
    )
    assert base64.b64decode(got) == data
