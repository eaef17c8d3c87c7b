/* vmsim page, app: the timeline, selection and cross-highlighting, window.vmsim. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const shown = new Map();

  /** Set an element's HTML, skipping the DOM work when it is what the element already shows. */
  function setHtml(id, html) {
    if (shown.get(id) !== html) {
      shown.set(id, html);
      $(id).innerHTML = html;
    }
  }
  const JUMPS = [
    { name: "fault", key: "f", kinds: ["PageFault"] },
    { name: "eviction", key: "e", kinds: ["Evict"] },
    { name: "swap-in", key: "i", kinds: ["SwapIn"] },
    { name: "COW copy", key: "c", kinds: ["CowCopy"] },
    { name: "syscall", key: "y", kinds: ["Syscall"] },
    { name: "context switch", key: "x", kinds: ["ContextSwitch"] },
    { name: "OOM kill", key: "k", kinds: ["OomKill"] },
  ];
  const TOP_LEVEL = new Set(["Access", "Syscall", "LibcCall", "ContextSwitch", "ProcessExit", "StackFrame"]);
  const app = { rec: null, meta: null, series: null, sel: null, hover: null, pte: null, proc: "", timer: null };

  /** The pid the views follow: the chosen one, else the current event's, else the CPU's. */
  function viewPid(st, ev) {
    if (app.proc && st.processes[app.proc]) {
      return app.proc;
    }
    if (ev && ev.pid !== undefined && st.processes[String(ev.pid)]) {
      return String(ev.pid);
    }
    if (st.current && st.processes[String(st.current)]) {
      return String(st.current);
    }
    const pids = Object.keys(st.processes);
    return pids.length ? pids[pids.length - 1] : "";
  }

  /** Physical addresses of the PTEs the latest walk of pid read (within the last 64 events). */
  function walkedPtes(pid) {
    const out = new Set();
    const rec = app.rec;
    for (let j = rec.step - 1; j >= Math.max(0, rec.step - 64); j--) {
      const e = rec.event(j);
      if (e.kind === "Walk" && String(e.pid) === pid) {
        for (const s of e.steps) {
          out.add(s[1]);
        }
        app.walkVa = e.va;
        break;
      }
    }
    return out;
  }

  /** Frames the current event names (ppn, old_ppn, new_ppn fields). */
  function touchedFrames(ev) {
    const out = new Set();
    if (ev) {
      for (const f of ["ppn", "old_ppn", "new_ppn"]) {
        if (typeof ev[f] === "number") {
          out.add(ev[f]);
        }
      }
    }
    return out;
  }

  /** Chunk addresses the current C library call works on (its pointer argument and result). */
  function activeChunks(ev) {
    const out = new Set();
    if (ev && ev.kind === "LibcCall") {
      const ptrs = (String(ev.args).match(/0x[0-9a-f]+/g) || []).map((h) => parseInt(h, 16));
      ptrs.push(ev.result);
      for (const p of ptrs) {
        if (p) {
          out.add(p - 16);
        }
      }
    }
    return out;
  }

  /** What the TLB flashes for the current event: a hit, a miss or a fill of one VPN. */
  function tlbFlash(st, ev) {
    if (!ev || !["TlbHit", "TlbMiss", "TlbFill"].includes(ev.kind)) {
      return null;
    }
    const p = st.processes[String(ev.pid)];
    const kind = ev.kind === "TlbHit" ? "hit" : ev.kind === "TlbMiss" ? "miss" : "fill";
    return { kind, vpn: Math.floor(ev.va / 2 ** app.meta.page_shift), asid: p ? p.asid : 0 };
  }

  /** The leaf PTE key (pte:table:index) of va in process pid, or null. */
  function pteKeyOf(st, pid, va) {
    const p = st.processes[pid];
    if (!p) {
      return null;
    }
    const split = vmcore.splitVa(app.meta, va).fields;
    let table = p.root;
    for (const f of split) {
      const t = p.tables[String(table)];
      const raw = t && t.entries[String(f.index)];
      if (!raw) {
        return null;
      }
      if (f.level === app.meta.levels - 1) {
        return `pte:${table}:${f.index}`;
      }
      const d = vmcore.decodePte(app.meta, raw);
      if (!d.present) {
        return null;
      }
      table = d.frame;
    }
    return null;
  }

  /** Every key that belongs to one page: its PTE, frame, TLB entry and swap slot. */
  function pageKeys(st, pid, va, out) {
    out.add(`page:${pid}:${va}`);
    const p = st.processes[pid];
    const raw = p && p.ptes[String(va)];
    const pk = pteKeyOf(st, pid, va);
    if (pk) {
      out.add(pk);
    }
    if (!raw) {
      return out;
    }
    const d = vmcore.decodePte(app.meta, raw);
    if (d.present) {
      out.add(`frame:${d.frame}`);
    } else {
      out.add(`slot:${d.slot}`);
    }
    const vpn = Math.floor(va / 2 ** app.meta.page_shift);
    st.tlb.forEach((entries, s) => entries.forEach((e, w) => {
      if (e[0] === vpn && e[2] === p.asid) {
        out.add(`tlb:${s}:${w}`);
      }
    }));
    return out;
  }

  /** The keys related to a selected key (see views.js for the key forms). */
  function related(st, key) {
    const out = new Set([key]);
    const part = key.split(":");
    if (part[0] === "page") {
      pageKeys(st, part[1], Number(part[2]), out);
    } else if (part[0] === "pte") {
      for (const [pid, p] of Object.entries(st.processes)) {
        for (const va of Object.keys(p.ptes)) {
          if (pteKeyOf(st, pid, Number(va)) === key) {
            pageKeys(st, pid, Number(va), out);
          }
        }
      }
    } else if (part[0] === "frame") {
      const f = st.frames[Number(part[1])];
      if (f) {
        for (const [pid, va] of f.mappers) {
          pageKeys(st, String(pid), va, out);
        }
        if (f.swap) {
          out.add(`slot:${f.swap}`);
        }
      }
      st.tlb.forEach((entries, s) => entries.forEach((e, w) => {
        if (e[1] === Number(part[1])) {
          out.add(`tlb:${s}:${w}`);
        }
      }));
    } else if (part[0] === "slot") {
      const u = st.swap[part[1]];
      if (u) {
        for (const [pid, va] of u.users) {
          pageKeys(st, String(pid), va, out);
        }
        if (u.frame !== null) {
          out.add(`frame:${u.frame}`);
        }
      }
    } else if (part[0] === "tlb") {
      const e = st.tlb[Number(part[1])][Number(part[2])];
      if (e) {
        out.add(`frame:${e[1]}`);
        for (const [pid, p] of Object.entries(st.processes)) {
          if (p.asid === e[2] && (app.meta.asid_bits || String(st.current) === pid)) {
            pageKeys(st, pid, e[0] * 2 ** app.meta.page_shift, out);
          }
        }
      }
    }
    return out;
  }

  /** Mark what the pointer is over (else the selection) and everything related to it. */
  function highlight() {
    for (const el of document.querySelectorAll(".hl")) {
      el.classList.remove("hl");
    }
    const key = app.hover || app.sel;
    if (!key) {
      return;
    }
    for (const k of related(app.rec.state, key)) {
      for (const el of document.querySelectorAll(`[data-k="${k}"]`)) {
        el.classList.add("hl");
      }
    }
  }

  /** Scroll panel id (not the page) so that el sits in its middle. */
  function centre(id, el) {
    const panel = $(id);
    if (el) {
      panel.scrollTop = el.offsetTop - panel.clientHeight / 2;
    }
  }

  /** The event log around the current step, current event marked; a click jumps. */
  function narrative() {
    const rec = app.rec;
    const cur = rec.step - 1;
    let out = "";
    for (const e of rec.eventsAt(Math.max(0, cur - 30), 61)) {
      const cls = (TOP_LEVEL.has(e.kind) ? "top" : "sub") + (e.index === cur ? " cur" : "");
      out += `<li class="${cls}" data-i="${e.index}" value="${e.index}">${vmviews.esc(e.text)}</li>`;
    }
    setHtml("narrative", out || "<li>No events were recorded.</li>");
    requestAnimationFrame(() => {
      centre("p-narrative", document.querySelector("#narrative .cur"));
      const walked = document.querySelectorAll("#tables .pte.walk");
      centre("p-tables", walked.length ? walked[walked.length - 1] : null);
    });
  }

  /** Redraw every view for the current step. */
  function render() {
    const rec = app.rec;
    const st = rec.state;
    const meta = app.meta;
    const ev = rec.step > 0 ? rec.event(rec.step - 1) : null;
    $("scrubber").value = String(rec.step);
    $("stepno").textContent = `step ${rec.step} / ${rec.n}`;
    setHtml("now", ev ? `<b>event ${ev.index} · ${vmviews.esc(ev.kind)}</b>: ${vmviews.esc(ev.text)}` : "<b>step 0</b>: the start of the recording");
    const pid = viewPid(st, ev);
    const procSel = $("proc");
    const opts = ["<option value=\"\">follow the CPU</option>"].concat(Object.values(st.processes).map((p) => `<option value="${p.pid}"${String(p.pid) === app.proc ? " selected" : ""}>pid ${p.pid} ${vmviews.esc(p.name)} (${p.state})</option>`));
    const optsHtml = opts.join("");
    if (shown.get("proc") !== optsHtml) {
      shown.set("proc", optsHtml);
      procSel.innerHTML = optsHtml;
    }
    narrative();
    setHtml("space", vmviews.space(meta, st, pid));
    app.walkVa = null;
    const walked = walkedPtes(pid);
    setHtml("tables", vmviews.tables(meta, st, pid, walked));
    setHtml("vasplit", vmviews.vaSplit(meta, app.walkVa));
    if (app.pte) {
      const [table, index] = app.pte;
      const p = st.processes[pid];
      const t = p && p.tables[String(table)];
      const raw = t && t.entries[String(index)];
      setHtml("decode", raw ? vmviews.decode(meta, raw, `[${index}] of the table in frame ${table}`) : "<p>That PTE is gone at this step.</p>");
    } else {
      setHtml("decode", "<p>Click a PTE to decode its bits.</p>");
    }
    setHtml("tlb", vmviews.tlb(meta, st, tlbFlash(st, ev)));
    setHtml("frames", vmviews.frames(meta, st, touchedFrames(ev)));
    setHtml("swap", vmviews.swap(meta, st));
    setHtml("heap", vmviews.heap(meta, st, pid, activeChunks(ev)));
    const s = app.series;
    setHtml("charts", [
      vmviews.chart("page faults (pgfault)", s.steps, s.pgfault, rec.step, rec.n),
      vmviews.chart("TLB misses", s.steps, s.tlb_miss, rec.step, rec.n),
      vmviews.chart("swap I/O (pswpin + pswpout)", s.steps, s.swap, rec.step, rec.n),
      vmviews.chart("resident pages (rss, all processes)", s.steps, s.rss, rec.step, rec.n),
    ].join(""));
    highlight();
  }

  /** Go to step i and redraw. */
  function go(i) {
    app.rec.seek(i);
    render();
    return app.rec.step;
  }

  /** Jump to the next (dir 1) or previous (dir -1) event of a JUMPS entry; the step, or -1. */
  function jump(name, dir) {
    const j = JUMPS.find((x) => x.name === name);
    const rec = app.rec;
    const to = dir > 0 ? rec.nextOf(j.kinds, rec.step) : rec.prevOf(j.kinds, rec.step);
    if (to >= 0) {
      go(to);
    }
    return to;
  }

  function play() {
    if (app.timer) {
      clearInterval(app.timer);
      app.timer = null;
      $("play").textContent = "▶ play";
      return;
    }
    const rate = Number($("speed").value);
    const per = Math.max(1, Math.round(rate / 50));
    $("play").textContent = "⏸ pause";
    app.timer = setInterval(() => {
      if (app.rec.step >= app.rec.n) {
        play();
        return;
      }
      go(app.rec.step + per);
    }, Math.max(20, 1000 / rate));
  }

  function onKey(e) {
    if (e.target.tagName === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) {
      return;
    }
    const rec = app.rec;
    const keys = { ArrowRight: () => go(rec.step + 1), ArrowLeft: () => go(rec.step - 1), " ": play, Home: () => go(0), End: () => go(rec.n) };
    if (keys[e.key]) {
      keys[e.key]();
      e.preventDefault();
      return;
    }
    const j = JUMPS.find((x) => x.key === e.key.toLowerCase());
    if (j) {
      jump(j.name, e.key === j.key ? 1 : -1);
      e.preventDefault();
    }
  }

  function onClick(e) {
    const li = e.target.closest("#narrative li[data-i]");
    if (li) {
      go(Number(li.dataset.i) + 1);
      return;
    }
    const el = e.target.closest("[data-k]");
    if (!el) {
      return;
    }
    app.sel = el.dataset.k;
    if (app.sel.startsWith("pte:")) {
      const [, table, index] = app.sel.split(":");
      app.pte = [Number(table), Number(index)];
    }
    render();
  }

  function wire() {
    $("back").addEventListener("click", () => go(app.rec.step - 1));
    $("fwd").addEventListener("click", () => go(app.rec.step + 1));
    $("play").addEventListener("click", play);
    $("scrubber").addEventListener("input", (e) => go(Number(e.target.value)));
    $("proc").addEventListener("change", (e) => {
      app.proc = e.target.value;
      render();
    });
    setHtml("jumps", JUMPS.map((j) => `<span class="jump"><button data-jump="${j.name}" data-dir="-1" title="previous ${j.name} (${j.key.toUpperCase()})">◀</button>${j.name}<button data-jump="${j.name}" data-dir="1" title="next ${j.name} (${j.key})">▶</button></span>`).join(""));
    $("jumps").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-jump]");
      if (b) {
        jump(b.dataset.jump, Number(b.dataset.dir));
      }
    });
    document.addEventListener("keydown", onKey);
    const main = document.querySelector("main");
    main.addEventListener("click", onClick);
    main.addEventListener("mouseover", (e) => {
      const el = e.target.closest("[data-k]");
      const key = el ? el.dataset.k : null;
      if (key !== app.hover) {
        app.hover = key;
        highlight();
      }
    });
    main.addEventListener("mouseleave", () => {
      app.hover = null;
      highlight();
    });
  }

  async function start() {
    const rec = new vmcore.Recording($("vmsim-data").textContent);
    const data = rec.header;
    app.rec = rec;
    app.meta = data.meta;
    app.series = rec.series();
    document.title = data.title;
    $("title").textContent = data.title;
    const m = data.meta;
    $("machine").textContent = `${m.format}, ${m.nframes} frames of ${2 ** m.page_shift} bytes, ${m.nslots} swap slots, TLB ${m.tlb_sets}×${m.tlb_ways}, policy ${m.policy}` + (data.first_event ? ` · events from ${data.first_event}` : "");
    $("scrubber").max = String(rec.n);
    setHtml("legend", vmviews.legend(JUMPS));
    wire();
    // warm the seek and draw paths on a mid-run state (the browser compiles them on first
    // use), so the user's first jump costs what the later ones do; then show step 0
    rec.seek(Math.floor(rec.n / 2));
    render();
    rec.seek(0);
    render();
    $("status").textContent = `${rec.n} events`;
    document.body.dataset.ready = "1";
  }

  const ready = start();
  window.vmsim = {
    ready,
    steps: () => app.rec.steps(),
    seek: (i) => go(i),
    step: () => app.rec.step,
    state: () => vmcore.copyJson(app.rec.state),
    events: (i, n) => app.rec.eventsAt(i, n),
    jump,
    jumps: JUMPS.map((j) => ({ name: j.name, key: j.key, kinds: j.kinds })),
  };
})();
