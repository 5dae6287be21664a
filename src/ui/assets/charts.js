// Hand-written SVG charts: lines over time, stacked bars over time, horizontal stacked
// bars, and the reliability diagram. Each data point is an element with data-point (the
// browser test counts them) and a <title> that the browser shows on hover.
import { el } from "/ui/app.js";

const NS = "http://www.w3.org/2000/svg";
const W = 560, H = 220, M = { l: 58, r: 12, t: 10, b: 28 };
export const PALETTE = ["#2f6fe4", "#e07b24", "#1f9d55", "#c2417a", "#7a5af5", "#12a4b6", "#a0781d", "#d64545", "#56607a"];

function svg(tag, attrs = {}, ...children) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) n.setAttribute(k, String(v));
  for (const c of children) if (c) n.append(c);
  return n;
}
function title(text) { const t = svg("title"); t.textContent = text; return t; }
function label(x, y, text, anchor = "middle") { const t = svg("text", { x, y, "text-anchor": anchor }); t.textContent = text; return t; }

function card(name, sub, body, legend) {
  return el("section", { class: "card chart", "data-chart": name },
    el("h2", {}, name), sub ? el("p", { class: "sub" }, sub) : null, body, legend || null);
}
function legendOf(names) {
  return el("div", { class: "legend" }, names.map((n, i) => {
    const swatch = el("i");
    swatch.style.background = PALETTE[i % PALETTE.length];
    return el("span", {}, swatch, n);
  }));
}
function empty(name, sub, why) { return card(name, sub, el("p", { class: "empty", "data-empty": "1" }, why || "No data in this range yet.")); }

export function timeLabel(seconds, span) {
  const d = new Date(seconds * 1000);
  if (span > 3 * 86400) return (d.getUTCMonth() + 1) + "/" + d.getUTCDate();
  return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// Axes for x in [x0, x1] (seconds) and y in [0, yMax]; returns the scale functions.
function frame(root, x0, x1, yMax, yFormat) {
  const sx = (x) => M.l + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - M.l - M.r);
  const sy = (y) => H - M.b - (y / yMax) * (H - M.t - M.b);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    root.append(svg("line", { class: "gridline", x1: M.l, x2: W - M.r, y1: sy(y), y2: sy(y) }));
    root.append(label(M.l - 6, sy(y) + 3, yFormat(y), "end"));
  }
  root.append(svg("line", { class: "axis", x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
  const span = x1 - x0;
  for (let i = 0; i <= 5; i++) {
    const x = x0 + (span * i) / 5;
    root.append(label(sx(x), H - M.b + 14, timeLabel(x, span)));
  }
  return { sx, sy };
}

// series: [{name, points: [[t, y], ...]}] (null y: a gap).
export function lineChart({ name, sub, series, yFormat = (v) => String(v), yMax, fmt = yFormat }) {
  const all = series.flatMap((s) => s.points.filter((p) => p[1] !== null && p[1] !== undefined));
  if (!all.length) return empty(name, sub);
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const top = yMax !== undefined ? yMax : niceMax(Math.max(...all.map((p) => p[1])));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": name });
  const { sx, sy } = frame(root, x0, x1, top, yFormat);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    let d = "", open = false;
    for (const [x, y] of s.points) {
      if (y === null || y === undefined) { open = false; continue; }
      d += (open ? "L" : "M") + sx(x).toFixed(1) + "," + sy(Math.min(y, top)).toFixed(1);
      open = true;
    }
    root.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
    for (const [x, y] of s.points) {
      if (y === null || y === undefined) continue;
      root.append(svg("circle", { cx: sx(x), cy: sy(Math.min(y, top)), r: 3, fill: color, "data-point": "1" },
        title(`${s.name} · ${new Date(x * 1000).toISOString().slice(0, 16).replace("T", " ")} · ${fmt(y)}`)));
    }
  });
  return card(name, sub, root, series.length > 1 ? legendOf(series.map((s) => s.name)) : null);
}

// buckets: [{t, values: {key: n}}]: one stacked bar per bucket.
export function stackedBars({ name, sub, buckets, keys }) {
  const totals = buckets.map((b) => keys.reduce((a, k) => a + (b.values[k] || 0), 0));
  if (!totals.some((t) => t > 0)) return empty(name, sub);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": name });
  // Half a bucket of room at each end, so that the first and last bars are whole.
  const step = buckets.length > 1 ? buckets[1].t - buckets[0].t : 1;
  const x0 = buckets[0].t - step / 2, x1 = buckets[buckets.length - 1].t + step / 2;
  const top = Math.max(4, Math.ceil(Math.max(...totals) / 4) * 4);  // counts: four whole-number ticks
  const { sx, sy } = frame(root, x0, x1, top, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)));
  const bw = Math.max(2, ((W - M.l - M.r) / buckets.length) * 0.7);
  buckets.forEach((b) => {
    let acc = 0;
    keys.forEach((k, i) => {
      const v = b.values[k] || 0;
      if (!v) return;
      const yTop = sy(acc + v), yBottom = sy(acc);
      root.append(svg("rect", { x: sx(b.t) - bw / 2, y: yTop, width: bw, height: Math.max(1, yBottom - yTop),
        fill: PALETTE[i % PALETTE.length], "data-point": "1" },
        title(`${k} · ${new Date(b.t * 1000).toISOString().slice(0, 16).replace("T", " ")} · ${v}`)));
      acc += v;
    });
  });
  return card(name, sub, root, legendOf(keys));
}

// rows: [{label, segments: {key: value}}]: horizontal stacked bars, one per row.
export function hBars({ name, sub, rows, keys, fmt = (v) => String(v) }) {
  const totals = rows.map((r) => keys.reduce((a, k) => a + (r.segments[k] || 0), 0));
  if (!totals.some((t) => t > 0)) return empty(name, sub);
  const rowH = 26, left = 150, width = W - left - 60;
  const h = rows.length * rowH + 10;
  const root = svg("svg", { viewBox: `0 0 ${W} ${h}`, role: "img", "aria-label": name });
  const max = Math.max(...totals);
  rows.forEach((r, j) => {
    const y = 5 + j * rowH;
    root.append(label(left - 8, y + 15, r.label, "end"));
    let acc = 0;
    keys.forEach((k, i) => {
      const v = r.segments[k] || 0;
      if (!v) return;
      root.append(svg("rect", { x: left + (acc / max) * width, y: y + 4, width: Math.max(1, (v / max) * width), height: rowH - 10,
        fill: PALETTE[i % PALETTE.length], rx: 2, "data-point": "1" }, title(`${r.label} · ${k} · ${fmt(v)}`)));
      acc += v;
    });
    root.append(label(left + (acc / max) * width + 6, y + 15, fmt(totals[j]), "start"));
  });
  return card(name, sub, root, keys.length > 1 ? legendOf(keys) : null);
}

// bins: [{lo, hi, n, mean_confidence, accuracy}]: accuracy against confidence, the
// diagonal is perfect calibration; a point's area grows with its count.
export function reliabilityDiagram({ name, sub, bins }) {
  const used = bins.filter((b) => b.n > 0);
  if (!used.length) return empty(name, sub, "No reviewed local answers with a confidence yet (label some on the Decisions page).");
  const S = 240, m = 34, pad = 14;
  const root = svg("svg", { viewBox: `0 0 ${S + m + pad} ${S + m + pad}`, role: "img", "aria-label": name, class: "square" });
  const sc = (v) => m + v * S, sy = (v) => S - v * S + pad;
  for (let i = 0; i <= 4; i++) {
    const v = i / 4;
    root.append(svg("line", { class: "gridline", x1: sc(0), x2: sc(1), y1: sy(v), y2: sy(v) }));
    root.append(label(m - 6, sy(v) + 3, v.toFixed(2), "end"));
    root.append(label(sc(v), S + pad + 14, v.toFixed(2)));
  }
  root.append(svg("line", { x1: sc(0), y1: sy(0), x2: sc(1), y2: sy(1), stroke: "#98a2b3", "stroke-dasharray": "4 3" }));
  const maxN = Math.max(...used.map((b) => b.n));
  for (const b of used)
    root.append(svg("circle", { cx: sc(b.mean_confidence), cy: sy(b.accuracy), r: 3 + 7 * Math.sqrt(b.n / maxN),
      fill: PALETTE[0], "fill-opacity": 0.75, "data-point": "1" },
      title(`confidence ${b.lo.toFixed(1)}–${b.hi.toFixed(1)}: mean ${b.mean_confidence.toFixed(2)}, accuracy ${(b.accuracy * 100).toFixed(0)}% of ${b.n}`)));
  root.append(label(sc(0.5), S + pad + 28, "confidence"));
  return card(name, sub, root);
}
