/* vmsim curves page: miss ratio against memory for each policy, values on hover; for
 * replays (simulate), page faults over time. */
"use strict";

(() => {
  const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
  const SHAPES = ["circle", "square", "diamond", "triangle"];
  const data = JSON.parse(document.getElementById("curves-data").textContent);
  const W = 900;
  const H = 480;
  const M = { left: 70, right: 200, top: 20, bottom: 60 };

  /** Bytes as KiB, MiB or GiB. */
  function bytes(n) {
    const units = [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]];
    for (const [u, s] of units) {
      if (n >= s) {
        return `${(n / s).toFixed(n % s ? 1 : 0)} ${u}`;
      }
    }
    return `${n} B`;
  }

  /** " (the bytes of n frames)", or nothing when pages have no size (OSTEP's homework). */
  function sized(n) {
    return data.page_size ? ` (${bytes(n * data.page_size)})` : "";
  }

  /** The smallest 1, 2 or 5 times a power of ten that is >= x (the top of the y axis). */
  function niceCeiling(x) {
    const p = 10 ** Math.floor(Math.log10(x));
    for (const m of [1, 2, 5, 10]) {
      if (m * p >= x) {
        return Math.min(1, m * p);
      }
    }
    return 1;
  }

  /** One point's marker (a shape per curve, so colour is not the only cue). */
  function marker(shape, x, y, colour) {
    if (shape === "square") {
      return `<rect x="${x - 4}" y="${y - 4}" width="8" height="8" fill="${colour}"/>`;
    }
    if (shape === "diamond") {
      return `<polygon points="${x},${y - 5} ${x + 5},${y} ${x},${y + 5} ${x - 5},${y}" fill="${colour}"/>`;
    }
    if (shape === "triangle") {
      return `<polygon points="${x},${y - 5} ${x + 5},${y + 4} ${x - 5},${y + 4}" fill="${colour}"/>`;
    }
    return `<circle cx="${x}" cy="${y}" r="4" fill="${colour}"/>`;
  }

  const all = data.series.flatMap((s) => s.frames);
  const maxX = Math.max(1, ...all);
  const minX = Math.max(1, Math.min(...all));
  const logX = maxX / minX > 50;
  const sx = (f) => M.left + (W - M.left - M.right) * (logX ? Math.log(f / minX) / Math.log(maxX / minX || 2) : f / maxX);
  const ratios = data.series.flatMap((s) => s.misses.map((m) => (s.references ? m / s.references : 0)));
  const top = niceCeiling(Math.max(1e-6, ...ratios) * 1.05);
  const sy = (r) => M.top + (H - M.top - M.bottom) * (1 - r / top);
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="miss-ratio curves">`;
  for (let k = 0; k <= 10; k++) {
    const y = sy((top * k) / 10);
    const label = ((top * k) / 10).toPrecision(2);
    svg += `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${M.left - 8}" y="${y + 4}" text-anchor="end" font-size="12">${label}</text>`;
  }
  const ticks = [...new Set(all)].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(ticks.length / 10));
  ticks.filter((_, k) => k % step === 0).forEach((f) => {
    svg += `<text x="${sx(f)}" y="${H - M.bottom + 18}" text-anchor="middle" font-size="12">${f}</text>`;
  });
  svg += `<text x="${(W - M.right + M.left) / 2}" y="${H - 15}" text-anchor="middle" font-size="13">memory (${data.page_size ? "frames of " + bytes(data.page_size) : "pages"}${logX ? ", log scale" : ""})</text>`;
  svg += `<text x="18" y="${H / 2}" transform="rotate(-90 18 ${H / 2})" text-anchor="middle" font-size="13">miss ratio</text>`;
  data.series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length];
    const shape = SHAPES[k % SHAPES.length];
    const pts = s.frames.map((f, j) => [sx(f), sy(s.references ? s.misses[j] / s.references : 0)]);
    svg += `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map((p) => p.join(",")).join(" ")}"/>`;
    pts.forEach(([x, y], j) => {
      svg += `<g class="pt" data-s="${k}" data-j="${j}">${marker(shape, x, y, colour)}<circle cx="${x}" cy="${y}" r="9" fill="transparent"/></g>`;
    });
    const ly = M.top + 20 + k * 22;
    svg += `<g class="legend">${marker(shape, W - M.right + 20, ly - 4, colour)}<text x="${W - M.right + 32}" y="${ly}">${s.name}</text></g>`;
  });
  document.getElementById("chart").innerHTML = svg + "</svg>";
  document.getElementById("chart").addEventListener("mouseover", (e) => {
    const g = e.target.closest(".pt");
    if (!g) {
      return;
    }
    const s = data.series[Number(g.dataset.s)];
    const j = Number(g.dataset.j);
    const ratio = s.references ? s.misses[j] / s.references : 0;
    document.getElementById("hover").textContent = `${s.name}: ${s.frames[j]} frames${sized(s.frames[j])}, ${Math.round(s.misses[j])} misses of ${s.references}, miss ratio ${ratio.toFixed(6)}`;
  });
  /** Page faults over time: cumulative misses against references, one line per policy. */
  function timelineChart(lines) {
    const maxR = Math.max(1, ...lines.flatMap((t) => t.refs));
    const maxM = Math.max(1, ...lines.flatMap((t) => t.misses));
    const tx = (r) => M.left + (W - M.left - M.right) * (r / maxR);
    const ty = (m) => M.top + (H - M.top - M.bottom) * (1 - m / maxM);
    let out = `<h2>Page faults over time (${lines[0].frames} frames${sized(lines[0].frames)})</h2>`;
    out += `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="page faults over time">`;
    for (let k = 0; k <= 5; k++) {
      const y = ty((maxM * k) / 5);
      out += `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${M.left - 8}" y="${y + 4}" text-anchor="end" font-size="12">${Math.round((maxM * k) / 5)}</text>`;
      out += `<text x="${tx((maxR * k) / 5)}" y="${H - M.bottom + 18}" text-anchor="middle" font-size="12">${Math.round((maxR * k) / 5)}</text>`;
    }
    out += `<text x="${(W - M.right + M.left) / 2}" y="${H - 15}" text-anchor="middle" font-size="13">references</text>`;
    out += `<text x="18" y="${H / 2}" transform="rotate(-90 18 ${H / 2})" text-anchor="middle" font-size="13">page faults so far</text>`;
    lines.forEach((t, k) => {
      const colour = COLOURS[k % COLOURS.length];
      const dash = ["", "6 3", "2 3", "8 3 2 3"][k % 4];
      const pts = t.refs.map((r, j) => `${tx(r)},${ty(t.misses[j])}`).join(" ");
      out += `<polyline class="tl" data-s="${k}" fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}" points="${pts}"/>`;
      const ly = M.top + 20 + k * 22;
      out += `<g class="legend"><line x1="${W - M.right + 12}" x2="${W - M.right + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}"/><text x="${W - M.right + 36}" y="${ly}">${t.name}: ${t.misses[t.misses.length - 1]}</text></g>`;
    });
    return out + "</svg>";
  }

  if (data.timelines.length) {
    document.getElementById("timeline").innerHTML = timelineChart(data.timelines);
  }
  window.vmsimCurves = { series: () => data.series, timelines: () => data.timelines, ready: true };
  document.body.dataset.ready = "1";
})();
