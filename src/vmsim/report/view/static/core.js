/* vmsim page, core: load the recording, rebuild the state at any step, decode PTEs.
 * No DOM here except reading the inline data. The state has the shape of
 * Machine.snapshot() (report/view/snapshot.py); applyOps is the one place where a
 * recorded delta changes it (its Python twin is record.apply_ops). */
"use strict";

const vmcore = (() => {
  const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
  const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
  const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

  /** A canonical Huffman code from code lengths: the count per length and the symbols in order. */
  function huffman(lengths) {
    const count = new Uint16Array(16);
    const offs = new Uint16Array(16);
    const sym = new Uint16Array(lengths.length);
    for (const l of lengths) {
      count[l]++;
    }
    count[0] = 0;
    for (let l = 1; l < 16; l++) {
      offs[l] = offs[l - 1] + count[l - 1];
    }
    lengths.forEach((l, i) => {
      if (l) {
        sym[offs[l]++] = i;
      }
    });
    return { count, sym };
  }

  const FIXED = (() => {
    const l = new Array(288).fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    return [huffman(l), huffman(new Array(30).fill(5))];
  })();

  /** Inflate raw deflate data (RFC 1951), synchronously: a seek inflates the one chunk it needs. */
  function inflate(src, size) {
    let out = new Uint8Array(size || src.length * 4 + 64);
    let op = 0;
    let ip = 0;
    let buf = 0;
    let cnt = 0;
    const bits = (n) => {
      while (cnt < n) {
        if (ip >= src.length) {
          throw new Error("inflate: the data ends early");
        }
        buf |= src[ip++] << cnt;
        cnt += 8;
      }
      const v = buf & ((1 << n) - 1);
      buf >>>= n;
      cnt -= n;
      return v;
    };
    const room = (n) => {
      if (op + n > out.length) {
        const bigger = new Uint8Array(Math.max(out.length * 2, op + n));
        bigger.set(out);
        out = bigger;
      }
    };
    const decode = (h) => {
      let code = 0;
      let first = 0;
      let index = 0;
      for (let len = 1; len < 16; len++) {
        code |= bits(1);
        const c = h.count[len];
        if (code - c < first) {
          return h.sym[index + (code - first)];
        }
        index += c;
        first = (first + c) << 1;
        code <<= 1;
      }
      throw new Error("inflate: a bad code");
    };
    let last = 0;
    while (!last) {
      last = bits(1);
      const type = bits(2);
      if (type === 0) {
        buf = 0;
        cnt = 0;
        const len = src[ip] | (src[ip + 1] << 8);
        ip += 4;
        room(len);
        out.set(src.subarray(ip, ip + len), op);
        ip += len;
        op += len;
        continue;
      }
      let lit;
      let dist;
      if (type === 1) {
        [lit, dist] = FIXED;
      } else if (type === 2) {
        const nlen = bits(5) + 257;
        const ndist = bits(5) + 1;
        const ncode = bits(4) + 4;
        const cl = new Array(19).fill(0);
        for (let i = 0; i < ncode; i++) {
          cl[CLEN_ORDER[i]] = bits(3);
        }
        const clh = huffman(cl);
        const lens = [];
        while (lens.length < nlen + ndist) {
          const sym = decode(clh);
          if (sym < 16) {
            lens.push(sym);
          } else {
            const [v, n] = sym === 16 ? [lens[lens.length - 1], 3 + bits(2)] : [0, sym === 17 ? 3 + bits(3) : 11 + bits(7)];
            for (let k = 0; k < n; k++) {
              lens.push(v);
            }
          }
        }
        lit = huffman(lens.slice(0, nlen));
        dist = huffman(lens.slice(nlen));
      } else {
        throw new Error("inflate: a bad block type");
      }
      for (;;) {
        let sym = decode(lit);
        if (sym < 256) {
          room(1);
          out[op++] = sym;
        } else if (sym === 256) {
          break;
        } else {
          sym -= 257;
          const len = LBASE[sym] + bits(LEXT[sym]);
          const ds = decode(dist);
          const back = DBASE[ds] + bits(DEXT[ds]);
          room(len);
          for (let k = 0; k < len; k++, op++) {
            out[op] = out[op - back];
          }
        }
      }
    }
    return out.subarray(0, op);
  }

  /** One part of the page's data: base64 of raw deflate of UTF-8 JSON text, parsed. */
  function part(b64, size) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return JSON.parse(new TextDecoder().decode(inflate(bytes, size)));
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

  /** A recording: the page's data is parts separated by commas, each page.py `_part`: the
   * header, then one per chunk [snapshot, events, deltas, columns] (columns: each changing
   * counter's increment per step, or null; see page.py _columns). A chunk is inflated and
   * parsed when a seek first needs it, so opening costs the header alone. */
  class Recording {
    constructor(text) {
      this.parts = text.trim().split(",");
      const header = part(this.parts[0]);
      this.header = header;
      this.meta = header.meta;
      this.every = header.every;
      this.n = header.n;
      this.sizes = header.sizes;
      this.kindNames = header.kinds.map((k) => k[0]);
      this.kindFields = header.kinds.map((k) => k[1]);
      this.parsed = new Map();
      this.step = -1;
      this.state = null;
    }

    /** Chunk c parsed: {snapshot, events, deltas} (the last few stay parsed). */
    chunk(c) {
      let got = this.parsed.get(c);
      if (!got) {
        const [snapshot, events, deltas, columns] = part(this.parts[c + 1], this.sizes[c]);
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

  return { inflate, copyJson, applyOps, Recording, decodePte, splitVa };
})();
