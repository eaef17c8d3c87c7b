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
    return JSON.parse(await new Response(stream).text());
  }

  /** Apply one delta (a list of [path, value] sets and [path] deletes) to state, in place. */
  function applyOps(state, ops) {
    for (const op of ops) {
      const path = op[0];
      if (path.length === 0) {
        state = structuredClone(op[1]);
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
        const v = op[1];
        node[last] = v !== null && typeof v === "object" ? structuredClone(v) : v;
      }
    }
    return state;
  }

  /** A recording: events, deltas and snapshots, with the state at the current step. */
  class Recording {
    constructor(data) {
      this.data = data;
      this.meta = data.meta;
      this.every = data.every;
      this.kindNames = data.kinds.map((k) => k[0]);
      this.kindFields = data.kinds.map((k) => k[1]);
      this.events = data.events;
      this.deltas = data.deltas;
      this.snapshots = data.snapshots;
      this.n = this.events.length;
      this.step = -1;
      this.state = null;
      this.byKind = new Map();
      this.events.forEach((e, i) => {
        const name = this.kindNames[e[0]];
        if (!this.byKind.has(name)) {
          this.byKind.set(name, []);
        }
        this.byKind.get(name).push(i);
      });
    }

    /** The step count: valid steps are 0 .. n (step i is the state before event i). */
    steps() {
      return this.n;
    }

    /** Rebuild the state at step i: the nearest snapshot at or before it, then deltas. */
    seek(i) {
      i = Math.max(0, Math.min(this.n, Math.floor(i)));
      if (this.state !== null && i >= this.step && i - this.step < this.every) {
        for (let s = this.step; s < i; s++) {
          this.state = applyOps(this.state, this.deltas[s]);
        }
      } else {
        let lo = 0;
        let hi = this.snapshots.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (this.snapshots[mid][0] <= i) {
            lo = mid;
          } else {
            hi = mid - 1;
          }
        }
        const [base, snap] = this.snapshots[lo];
        this.state = structuredClone(snap);
        for (let s = base; s < i; s++) {
          this.state = applyOps(this.state, this.deltas[s]);
        }
      }
      this.step = i;
      return i;
    }

    /** Event i as an object: index, kind, text and its fields by name. */
    event(i) {
      const e = this.events[i];
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
        const list = this.byKind.get(kind) || [];
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
        const list = this.byKind.get(kind) || [];
        const j = firstAtLeast(list, step - 1) - 1;
        if (j >= 0 && list[j] > best) {
          best = list[j];
        }
      }
      return best < 0 ? -1 : best + 1;
    }

    /** Counter series sampled at up to `points` steps, in one pass over the deltas. */
    series(points) {
      const n = this.n;
      const every = Math.max(1, Math.ceil((n + 1) / points));
      const snap = this.snapshots[0][1];
      const counters = Object.assign({}, snap.counters);
      const rss = {};
      for (const [pid, p] of Object.entries(snap.processes)) {
        rss[pid] = p.stats.rss;
      }
      const out = { steps: [], pgfault: [], tlb_miss: [], swap: [], rss: [] };
      const sample = (s) => {
        out.steps.push(s);
        out.pgfault.push(counters.pgfault);
        out.tlb_miss.push(counters.tlb_miss);
        out.swap.push(counters.pswpin + counters.pswpout);
        out.rss.push(Object.values(rss).reduce((a, b) => a + b, 0));
      };
      sample(0);
      for (let s = 0; s < n; s++) {
        for (const op of this.deltas[s]) {
          trackOp(op, counters, rss);
        }
        if ((s + 1) % every === 0 || s + 1 === n) {
          sample(s + 1);
        }
      }
      return out;
    }
  }

  /** Follow one delta operation in the counters and per-process rss the charts plot. */
  function trackOp(op, counters, rss) {
    const p = op[0];
    if (p[0] === "counters") {
      if (p.length === 2 && op.length === 2) {
        counters[p[1]] = op[1];
      } else if (p.length === 1) {
        Object.assign(counters, op[1]);
      }
    } else if (p[0] === "processes" && p.length >= 2) {
      if (op.length === 1 && p.length === 2) {
        delete rss[p[1]];
      } else if (p.length === 2) {
        rss[p[1]] = op[1].stats.rss;
      } else if (p.length === 3 && p[2] === "stats") {
        rss[p[1]] = op[1].rss;
      } else if (p.length === 4 && p[2] === "stats" && p[3] === "rss") {
        rss[p[1]] = op[1];
      }
    } else if (p.length === 0) {
      Object.assign(counters, op[1].counters);
    }
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

  return { loadPayload, applyOps, Recording, decodePte, splitVa };
})();
