/* vmsim page, views: each panel as HTML built from the state at the current step.
 * Every selectable thing carries data-k (its key: page:pid:va, pte:table:index,
 * frame:ppn, slot:n, tlb:set:way, chunk:pid:addr); app.js highlights related keys. */
"use strict";

const vmviews = (() => {
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]);
  const hex = (n) => "0x" + Number(n).toString(16);
  const MAX_PAGES = 512;

  const PAGE_STATES = {
    untouched: ["·", "not touched"],
    zero: ["0", "zero page"],
    present: ["P", "present, clean"],
    dirty: ["D", "present, dirty"],
    swapped: ["S", "swapped out"],
    cow: ["C", "copy-on-write shared"],
    file: ["F", "file-backed"],
  };
  const PURPOSES = {
    pagetable: ["T", "page table"],
    anon: ["A", "anonymous"],
    zero: ["0", "zero page"],
    file: ["F", "file"],
    shm: ["M", "shared memory"],
    cow: ["C", "copy-on-write copy"],
  };

  /** The state of one page of a process, from its PTE, frame and VMA. */
  function pageState(meta, st, vma, pte) {
    if (pte === undefined) {
      return "untouched";
    }
    const d = vmcore.decodePte(meta, pte);
    if (!d.present) {
      return "swapped";
    }
    const frame = st.frames[d.frame];
    if (d.frame === meta.zero_ppn) {
      return "zero";
    }
    const bit = (n) => (meta.bits[n] ? d.bits.find((b) => b.name === n).set : 0);
    if (bit("COW") || (frame && frame.refcount > 1 && frame.mappers.length > 1 && !bit("W"))) {
      return "cow";
    }
    if (vma[3] === "file" || vma[3] === "shm" || (frame && frame.file)) {
      return "file";
    }
    return bit("D") || (frame && frame.dirty) ? "dirty" : "present";
  }

  /** The address-space map of process pid: its VMAs and a cell per page. */
  function space(meta, st, pid) {
    const p = st.processes[pid];
    if (!p) {
      return "<p>No process.</p>";
    }
    const ps = 2 ** meta.page_shift;
    let out = `<p>pid ${p.pid} <b>${esc(p.name)}</b> (${esc(p.state)}) rss ${p.stats.rss} swap ${p.stats.swap} faults ${p.stats.min_flt}+${p.stats.maj_flt}</p>`;
    let drawn = 0;
    for (const vma of p.vmas) {
      const [start, end, prot, kind, shared, name] = vma;
      const npages = Math.round((end - start) / ps);
      out += `<div class="vma"><div class="vmahead">${hex(start)}–${hex(end)} <b>${esc(prot)}${shared ? "s" : "p"}</b> ${esc(kind)} ${esc(name)} (${npages} pages)</div><div class="cells">`;
      let vas;
      if (npages <= 256) {
        vas = Array.from({ length: npages }, (_, k) => start + k * ps);
      } else {
        vas = Object.keys(p.ptes).map(Number).filter((va) => va >= start && va < end).sort((a, b) => a - b);
      }
      let hidden = 0;
      for (const va of vas) {
        if (drawn >= MAX_PAGES) {
          hidden++;
          continue;
        }
        drawn++;
        const s = pageState(meta, st, vma, p.ptes[String(va)]);
        const [label, title] = PAGE_STATES[s];
        out += `<span class="cell pg-${s}" data-k="page:${pid}:${va}" title="${hex(va)}: ${title}">${label}</span>`;
      }
      if (npages > 256) {
        out += `<span class="note">${npages - vas.length} untouched pages not drawn</span>`;
      }
      if (hidden) {
        out += `<span class="note">${hidden} more pages not drawn</span>`;
      }
      out += "</div></div>";
    }
    return out;
  }

  /** One line of decoding for a PTE in the tree. */
  function shortPte(meta, raw, level) {
    const d = vmcore.decodePte(meta, raw);
    if (!d.present) {
      return `swap slot ${d.slot}`;
    }
    const flags = d.bits.filter((b) => b.set).map((b) => b.label).join(" ");
    return level < meta.levels - 1 ? `→ table ${d.frame} ${flags}` : `frame ${d.frame} ${flags}`;
  }

  /** The page-table tree of process pid from its root; the walked PTEs get class "walk". */
  function tables(meta, st, pid, walked) {
    const p = st.processes[pid];
    if (!p || !p.tables[String(p.root)]) {
      return "<p>No page table.</p>";
    }
    const ps = 2 ** meta.page_shift;
    let out = "";
    const visit = (ppn) => {
      const t = p.tables[String(ppn)];
      if (!t) {
        return;
      }
      out += `<div class="ptable lvl${t.level}"><div class="pthead">level ${t.level} table in frame ${ppn}</div>`;
      const idx = Object.keys(t.entries).map(Number).sort((a, b) => a - b);
      for (const i of idx) {
        const raw = t.entries[String(i)];
        const pa = ppn * ps + i * meta.pte_size;
        const cls = walked.has(pa) ? " walk" : "";
        out += `<div class="pte${cls}" data-k="pte:${ppn}:${i}" data-raw="${raw}" data-level="${t.level}"><span class="idx">[${i}]</span> <code>${raw}</code> ${esc(shortPte(meta, raw, t.level))}</div>`;
      }
      out += "</div>";
      if (t.level < meta.levels - 1) {
        for (const i of idx) {
          const d = vmcore.decodePte(meta, t.entries[String(i)]);
          if (d.present) {
            visit(d.frame);
          }
        }
      }
    };
    visit(p.root);
    return out;
  }

  /** The decoded bits of one PTE: raw value, each bit of the format, frame or slot. */
  function decode(meta, raw, where) {
    const d = vmcore.decodePte(meta, raw);
    let out = `<div class="decoded" id="decoded"><b>PTE ${esc(where)}</b> raw <code id="decoded-raw">${raw}</code><table><tr>`;
    for (const b of d.bits) {
      out += `<th title="bit ${b.bit}">${esc(b.label)}<br><small>bit ${b.bit}</small></th>`;
    }
    out += "</tr><tr>";
    for (const b of d.bits) {
      out += `<td class="bit${b.set}" data-bit="${esc(b.name)}">${b.set}</td>`;
    }
    out += "</tr></table>";
    out += d.present ? `<span id="decoded-frame">frame ${d.frame}</span>` : `<span id="decoded-frame">not present: swap slot ${d.slot}</span>`;
    return out + "</div>";
  }

  /** The virtual address split into its index fields and page offset. */
  function vaSplit(meta, va) {
    if (va === null || va === undefined) {
      return "";
    }
    const s = vmcore.splitVa(meta, va);
    let out = `<div class="vasplit">VA <code>${hex(va)}</code> = `;
    for (const f of s.fields) {
      out += `<span class="vafield lvl${f.level}" title="${f.bits} bits">L${f.level} index ${f.index}</span> `;
    }
    return out + `<span class="vafield off">offset ${hex(s.offset)}</span></div>`;
  }

  /** The TLB: a row per set, a cell per way (VPN, frame, ASID, recency: 0 = most recent). */
  function tlb(meta, st, flash) {
    if (!meta.tlb_sets) {
      return "<p>No TLB on this machine.</p>";
    }
    let out = "<table class=\"tlb\"><tr><th>set</th>";
    for (let w = 0; w < meta.tlb_ways; w++) {
      out += `<th>way ${w}</th>`;
    }
    out += "</tr>";
    st.tlb.forEach((entries, s) => {
      out += `<tr><th>${s}</th>`;
      for (let w = 0; w < meta.tlb_ways; w++) {
        const e = entries[w];
        if (!e) {
          out += "<td class=\"empty\">—</td>";
          continue;
        }
        const [vpn, ppn, asid] = e;
        const f = flash && flash.vpn === vpn && flash.asid === asid ? ` flash-${flash.kind}` : "";
        out += `<td class="tlbe${f}" data-k="tlb:${s}:${w}" title="recency ${entries.length - 1 - w} (0 = most recent)">VPN ${hex(vpn)}<br>→ frame ${ppn}<br>ASID ${asid} · r${entries.length - 1 - w}</td>`;
      }
      out += "</tr>";
    });
    return out + "</table>";
  }

  const FREE_RUN = 8;

  /** Physical memory: a cell per frame by purpose, with refcount and a dirty mark; a run of
   * FREE_RUN or more free frames is one cell (a machine of many MiB stays readable). */
  function frames(meta, st, touched) {
    let out = "<div class=\"cells\">";
    const all = st.frames;
    for (let ppn = 0; ppn < all.length; ppn++) {
      const f = all[ppn];
      if (f === null) {
        let end = ppn;
        while (end + 1 < all.length && all[end + 1] === null) {
          end++;
        }
        if (end - ppn + 1 >= FREE_RUN) {
          out += `<span class="frame fr-free run" data-n="${end - ppn + 1}" title="frames ${ppn}–${end}: free">${ppn}–${end}<br>free</span>`;
        } else {
          for (let q = ppn; q <= end; q++) {
            out += `<span class="frame fr-free" data-n="1" data-k="frame:${q}" title="frame ${q}: free">${q}<br>free</span>`;
          }
        }
        ppn = end;
        continue;
      }
      const [label, name] = PURPOSES[f.purpose] || ["?", f.purpose];
      const owners = f.table_of !== null ? `page table of pid ${f.table_of}` : f.mappers.map((m) => `pid ${m[0]} @ ${hex(m[1])}`).join(", ");
      const t = touched.has(ppn) ? " touched" : "";
      out += `<span class="frame fr-${esc(f.purpose)}${t}" data-k="frame:${ppn}" title="frame ${ppn}: ${esc(name)}, refcount ${f.refcount}${f.dirty ? ", dirty" : ""}${f.swap ? ", swap cache slot " + f.swap : ""}; ${esc(owners)}">${ppn}<br>${label}${f.refcount > 1 ? "×" + f.refcount : ""}${f.dirty ? " D" : ""}</span>`;
    }
    return out + "</div>";
  }

  /** Swap slots: used ones with the pages that hold them; a run of FREE_RUN free slots is one cell. */
  function swap(meta, st) {
    if (!meta.nslots) {
      return "<p>No swap on this machine.</p>";
    }
    let out = "<div class=\"cells\">";
    for (let s = 1; s <= meta.nslots; s++) {
      const u = st.swap[String(s)];
      if (!u) {
        let end = s;
        while (end + 1 <= meta.nslots && !st.swap[String(end + 1)]) {
          end++;
        }
        if (end - s + 1 >= FREE_RUN) {
          out += `<span class="slot run" data-n="${end - s + 1}" title="slots ${s}–${end}: free">${s}–${end}<br>free</span>`;
        } else {
          for (let q = s; q <= end; q++) {
            out += `<span class="slot" data-n="1" data-k="slot:${q}" title="slot ${q}: free">${q}</span>`;
          }
        }
        s = end;
      } else {
        const users = u.users.map((x) => `pid ${x[0]} @ ${hex(x[1])}`).join(", ");
        out += `<span class="slot used" data-k="slot:${s}" title="slot ${s}: ${esc(users)}${u.frame !== null ? "; cached in frame " + u.frame : ""}">${s}<br>S</span>`;
      }
    }
    return out + "</div>";
  }

  /** The heap of process pid: chunks in address order, then the bins. */
  function heap(meta, st, pid, active) {
    const p = st.processes[pid];
    if (!p || !p.heap) {
      return "<p>No malloc heap of vmsim's C library in this process (it has not called malloc, or it is a real program, whose own C library's heap is not shown).</p>";
    }
    if (p.heap.error) {
      return `<p>${esc(p.heap.allocator)}: ${esc(p.heap.error)}</p>`;
    }
    const chunks = p.heap.chunks;
    if (!chunks.length) {
      return "<p>The heap is empty.</p>";
    }
    let out = "<div class=\"chunks\">";
    const bins = {};
    for (const [addr, size, inUse, where] of chunks) {
      const w = Math.max(3, Math.min(40, Math.log2(size) * 3));
      const cls = inUse ? "inuse" : where === "top" ? "top" : "free";
      const a = active.has(addr) ? " active" : "";
      out += `<span class="chunk ${cls}${a}" style="flex-grow:${w}" data-k="chunk:${pid}:${addr}" title="${hex(addr)} size ${size} ${esc(where)}">${size}<br><small>${esc(where)}</small></span>`;
      if (!inUse) {
        (bins[where] = bins[where] || []).push(`${hex(addr)} (${size})`);
      }
    }
    out += "</div><p>Free chunks by where they wait (bins, tcache, top):</p><ul class=\"bins\">";
    for (const [where, list] of Object.entries(bins)) {
      out += `<li><b>${esc(where)}</b>: ${list.join(", ")}</li>`;
    }
    return out + "</ul>";
  }

  const LINES = new WeakMap();

  /** A small line chart (SVG) with the current step marked (each line's points built once). */
  function chart(title, xs, ys, step, n) {
    const W = 260;
    const H = 70;
    const maxY = Math.max(1, ...ys);
    const maxX = Math.max(1, n);
    let pts = LINES.get(ys);
    if (pts === undefined) {
      pts = xs.map((x, k) => `${((x / maxX) * W).toFixed(1)},${(H - (ys[k] / maxY) * (H - 4)).toFixed(1)}`).join(" ");
      LINES.set(ys, pts);
    }
    const cx = ((step / maxX) * W).toFixed(1);
    let cur = ys[0];
    for (let k = 0; k < xs.length && xs[k] <= step; k++) {
      cur = ys[k];
    }
    return `<figure class="chart"><figcaption>${esc(title)}: ${cur} (max ${maxY})</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}"><polyline points="${pts}" fill="none" stroke="#0072B2" stroke-width="2"/><line x1="${cx}" x2="${cx}" y1="0" y2="${H}" stroke="#D55E00" stroke-width="2"/></svg></figure>`;
  }

  /** The legend of colours and letters, and the keyboard shortcuts. */
  function legend(jumps) {
    let out = "<div class=\"cells\">";
    for (const [s, [label, title]] of Object.entries(PAGE_STATES)) {
      out += `<span class="cell pg-${s}">${label}</span> ${esc(title)} `;
    }
    out += "</div><div class=\"cells\">";
    for (const [p, [label, title]] of Object.entries(PURPOSES)) {
      out += `<span class="frame fr-${p}">${label}</span> ${esc(title)} `;
    }
    out += "</div><p>Keys: ← → step, space play/pause, Home/End, ";
    out += jumps.map((j) => `${j.key}/${j.key.toUpperCase()} next/previous ${esc(j.name)}`).join(", ");
    return out + ". Point at or click a page, frame, PTE, TLB entry or slot to see what belongs to it.</p>";
  }

  return { space, tables, decode, vaSplit, tlb, frames, swap, heap, chart, legend, esc, hex };
})();
