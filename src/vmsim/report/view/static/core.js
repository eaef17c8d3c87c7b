/* vmsim page, core: load the recording, rebuild the state at any step, decode PTEs.
 * No DOM here except reading the inline data. The state has the shape of
 * Machine.snapshot() (report/view/snapshot.py); applyOps is the one place where a
 * recorded delta changes it (its Python twin is record.apply_ops). */
"use strict";

const vmcore = (() => {
  /** Inflate the gzip+base64 payload of the page with the browser's own DecompressionStream. */
  async function loadPayload(text) {
    const bin = atob(text.trim());
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }

  /** A deep copy of JSON data (much faster than structuredClone for small values). */
  function copyJson(v) {
    if (v === null || typeof v !== "object") {
      return v;
    }
    if (Array.isArray(v)) {
      const a = new Array(v.length);
      for (let k = 0; k < v.length; k++) {
        a[k] = copyJson(v[k]);
      }
      return a;
    }
    const o = {};
    for (const k in v) {
      o[k] = copyJson(v[k]);
    }
    return o;
  }

  /** Apply one delta (a list of [path, value] sets and [path] deletes) to state, in place. */
  function applyOps(state, ops) {
    for (const op of ops) {
      const path = op[0];
      if (path.length === 0) {
        state = copyJson(op[1]);
        continue;
      }
      let node = state;
      for (let k = 0; k < path.length - 1; k++) {
        node = node[path[k]];
      }
      const last = path[path.length - 1];
      if (op.length === 1) {
        delete node[last];
      } else {
        node[last] = copyJson(op[1]);
      }
    }
    return state;
  }

  /** A recording: a header line, then one line per chunk [snapshot, events, deltas, columns]
   * (columns: each changing counter's increment per step, or null; see page.py _columns). */
  class Recording {
    constructor(text) {
      let nl = text.indexOf("\n");
      const header = JSON.parse(nl < 0 ? text : text.slice(0, nl));
      this.header = header;
      this.meta = header.meta;
      this.every = header.every;
      this.n = header.n;
      this.kindNames = header.kinds.map((k) => k[0]);
      this.kindFields = header.kinds.map((k) => k[1]);
      this.lines = [];
      while (nl >= 0) {
        const next = text.indexOf("\n", nl + 1);
        this.lines.push(text.slice(nl + 1, next < 0 ? text.length : next));
        nl = next;
      }
      this.parsed = new Map();
      this.step = -1;
      this.state = null;
    }

    /** Chunk c parsed: {snapshot, events, deltas} (the last few stay parsed). */
    chunk(c) {
      let got = this.parsed.get(c);
      if (!got) {
        const [snapshot, events, deltas, columns] = JSON.parse(this.lines[c]);
        got = { snapshot, events: eventRows(events), deltas, totals: columns && runningTotals(snapshot.counters, columns) };
        if (this.parsed.size >= 8) {
          this.parsed.delete(this.parsed.keys().next().value);
        }
        this.parsed.set(c, got);
      }
      return got;
    }

    /** The step count: valid steps are 0 .. n (step i is the state before event i). */
    steps() {
      return this.n;
    }

    /** Rebuild the state at step i: its chunk's snapshot, then that chunk's deltas. */
    seek(i) {
      i = Math.max(0, Math.min(this.n, Math.floor(i)));
      const c = Math.floor(i / this.every);
      const base = c * this.every;
      const ch = this.chunk(c);
      let from = this.step;
      if (this.state === null || from > i || from < base) {
        this.state = copyJson(ch.snapshot);
        from = base;
      }
      for (let s = from; s < i; s++) {
        this.state = applyOps(this.state, ch.deltas[s - base]);
      }
      if (ch.totals) {
        const counters = {};
        for (const name in ch.snapshot.counters) {
          const t = ch.totals[name];
          counters[name] = t ? t[i - base] : ch.snapshot.counters[name];
        }
        this.state.counters = counters;
      }
      this.step = i;
      return i;
    }

    /** Event i as an object: index, kind, text and its fields by name. */
    event(i) {
      const e = this.chunk(Math.floor(i / this.every)).events[i % this.every];
      const out = { index: i, kind: this.kindNames[e[0]], text: e[1] };
      this.kindFields[e[0]].forEach((name, k) => {
        out[name] = e[k + 2];
      });
      return out;
    }

    /** Events i .. i + n - 1 (clipped to the recording). */
    eventsAt(i, n) {
      const out = [];
      for (let k = Math.max(0, i); k < Math.min(this.n, i + n); k++) {
        out.push(this.event(k));
      }
      return out;
    }

    /** The step after the next event of one of these kinds (-1 if none): event j is at step j+1. */
    nextOf(kinds, step) {
      let best = -1;
      for (const kind of kinds) {
        const list = this.header.jumps[kind] || [];
        const j = firstAtLeast(list, step);
        if (j < list.length && (best < 0 || list[j] < best)) {
          best = list[j];
        }
      }
      return best < 0 ? -1 : best + 1;
    }

    /** The step after the previous event of these kinds before the current one (-1 if none). */
    prevOf(kinds, step) {
      let best = -1;
      for (const kind of kinds) {
        const list = this.header.jumps[kind] || [];
        const j = firstAtLeast(list, step - 1) - 1;
        if (j >= 0 && list[j] > best) {
          best = list[j];
        }
      }
      return best < 0 ? -1 : best + 1;
    }

    /** The counters the charts plot, sampled by the recorder (header.series). */
    series() {
      return this.header.series;
    }
  }

  /** Events as rows [kind, sentence, fields...] from a chunk's columns (page.py event_columns). */
  function eventRows([kinds, texts, columns]) {
    const rows = kinds.map((k, j) => [k, texts[j]]);
    const at = {};
    kinds.forEach((k, j) => {
      (at[k] = at[k] || []).push(j);
    });
    for (const [kind, cols] of Object.entries(columns)) {
      const idx = at[kind];
      for (const [delta, values] of cols) {
        let v = 0;
        for (let n = 0; n < idx.length; n++) {
          v = delta ? v + values[n] : values[n];
          rows[idx[n]].push(v);
        }
      }
    }
    return rows;
  }

  /** Each counter's value at every step of a chunk: its snapshot value plus the increments. */
  function runningTotals(start, columns) {
    const out = {};
    for (const [name, inc] of Object.entries(columns)) {
      const t = new Array(inc.length + 1);
      t[0] = start[name];
      for (let j = 0; j < inc.length; j++) {
        t[j + 1] = t[j] + inc[j];
      }
      out[name] = t;
    }
    return out;
  }

  /** Index of the first element >= x in a sorted array. */
  function firstAtLeast(list, x) {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid] < x) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** The bits of a raw PTE (hex string) for the machine's format: name -> 0/1, frame. */
  function decodePte(meta, raw) {
    const v = BigInt(raw);
    const bits = [];
    for (const [name, info] of Object.entries(meta.bits)) {
      bits.push({ name, label: info.label, bit: info.bit, set: Number((v >> BigInt(info.bit)) & 1n) });
    }
    bits.sort((a, b) => a.bit - b.bit);
    const field = Number((v >> BigInt(meta.ppn_shift)) & ((1n << BigInt(meta.ppn_bits)) - 1n));
    const present = Number((v >> BigInt(meta.bits.P.bit)) & 1n) === 1;
    return { raw, bits, present, frame: present ? field : null, slot: present ? null : field };
  }

  /** The index fields and offset of a virtual address: [{level, bits, index}], offset. */
  function splitVa(meta, va) {
    const v = BigInt(va);
    const fields = [];
    let shift = meta.page_shift;
    for (let l = meta.levels - 1; l >= 0; l--) {
      const b = meta.level_bits[l];
      fields.unshift({ level: l, bits: b, shift, index: Number((v >> BigInt(shift)) & ((1n << BigInt(b)) - 1n)) });
      shift += b;
    }
    return { fields, offset: Number(v & ((1n << BigInt(meta.page_shift)) - 1n)) };
  }

  return { loadPayload, copyJson, applyOps, Recording, decodePte, splitVa };
})();
