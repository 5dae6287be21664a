// The dashboard: the six metrics over time, escalations by reason per task, latency per
// stage, cost and saving, the reliability diagram and argument drift.
import { api, el, meta, pct, ms, usd } from "/ui/app.js";
import { lineChart, stackedBars, hBars, reliabilityDiagram } from "/ui/charts.js";

const RANGES = [["1h", "last hour"], ["24h", "last 24 hours"], ["7d", "last 7 days"], ["30d", "last 30 days"]];

function keysOf(objects) {
  const keys = new Set();
  for (const o of objects) for (const k of Object.keys(o || {})) keys.add(k);
  return [...keys].sort();
}

function tile(k, v, id) { return el("div", { class: "card tile", "data-metric": id }, el("div", { class: "v" }, v), el("div", { class: "k" }, k)); }

export async function renderDashboard(main, params) {
  const m = await meta();
  const since = params.get("since") || "24h";
  const task = params.get("task") || "";
  const q = new URLSearchParams({ since });
  if (task) q.set("task", task);
  const data = await api("dashboard?" + q);
  const t = data.totals, s = data.series;
  const go = (p) => { location.hash = "dashboard/" + new URLSearchParams(p); };

  const sinceSel = el("select", { id: "dash-since", onchange: (e) => go({ since: e.target.value, task }) },
    RANGES.map(([v, label]) => el("option", { value: v, selected: v === since }, label)));
  const taskSel = el("select", { id: "dash-task", onchange: (e) => go({ since, task: e.target.value }) },
    el("option", { value: "" }, "all tasks"), m.tasks.map((x) => el("option", { value: x.name, selected: x.name === task }, x.name)));

  const tiles = el("div", { class: "tiles" },
    tile("decisions", t.decisions, "decisions"),
    tile("local acceptance", pct(t.local_acceptance), "local_acceptance"),
    tile("local defect rate (reviewed)", pct(t.defect_rate) + " of " + t.reviewed_local, "defect_rate"),
    tile("frontier fallback p95", ms(t.fallback_latency_ms.p95), "fallback_p95"),
    tile("cost per successful task", usd(t.cost_per_successful_task), "cost_per_task"),
    tile("saving vs all-frontier", usd(t.saving_usd), "saving"));

  const pts = (f) => s.map((b) => [b.start, f(b)]);
  const tasks = keysOf(s.map((b) => b.escalation_rate));
  const reasons = keysOf(s.map((b) => b.failure_reasons));
  const charts = [
    lineChart({ name: "Local acceptance rate", sub: "share of decisions answered by the local tier",
      series: [{ name: "local acceptance", points: pts((b) => b.local_acceptance) }], yMax: 1, yFormat: (v) => (v * 100).toFixed(0) + "%", fmt: pct }),
    lineChart({ name: "Escalation rate by task", sub: "share of each task's decisions sent above the local tier",
      series: tasks.map((k) => ({ name: k, points: pts((b) => (k in b.escalation_rate ? b.escalation_rate[k] : null)) })),
      yMax: 1, yFormat: (v) => (v * 100).toFixed(0) + "%", fmt: pct }),
    stackedBars({ name: "Validation failure reasons", sub: "failed validator verdicts per bucket, by reason",
      buckets: s.map((b) => ({ t: b.start, values: b.failure_reasons })), keys: reasons }),
    lineChart({ name: "Local answer defect rate", sub: "defects among reviewed local answers",
      series: [{ name: "defect rate", points: pts((b) => b.defect_rate) }], yMax: 1, yFormat: (v) => (v * 100).toFixed(0) + "%", fmt: pct }),
    lineChart({ name: "Frontier fallback latency", sub: "whole-decision time of answers the frontier gave",
      series: [{ name: "p50", points: pts((b) => b.fallback_p50_ms) }, { name: "p95", points: pts((b) => b.fallback_p95_ms) }],
      yFormat: (v) => ms(v), fmt: ms }),
    lineChart({ name: "Cost per successful task", sub: "US dollars (priced tokens and local seconds) per successful task",
      series: [{ name: "cost per successful task", points: pts((b) => b.cost_per_successful_task) }], yFormat: (v) => usd(v), fmt: usd }),
    lineChart({ name: "Cost and saving", sub: "cost against the all-frontier estimate, per bucket",
      series: [{ name: "cost", points: pts((b) => b.cost) }, { name: "all-frontier estimate", points: pts((b) => b.all_frontier_cost) },
        { name: "saving", points: pts((b) => b.saving) }], yFormat: (v) => usd(v), fmt: usd }),
  ];

  const byTask = data.escalations_by_task;
  const escReasons = keysOf(Object.values(byTask));
  charts.push(hBars({ name: "Escalations by reason per task", sub: "decisions sent up, by the reason stated",
    rows: Object.keys(byTask).sort().map((k) => ({ label: k || "(no task)", segments: byTask[k] })), keys: escReasons }));
  const stages = data.stages;
  charts.push(hBars({ name: "Latency per stage", sub: "mean and p95 of each stage's milliseconds",
    rows: Object.keys(stages).map((k) => ({ label: k, segments: { mean: stages[k].mean, "p95 beyond mean": Math.max(0, stages[k].p95 - stages[k].mean) } })),
    keys: ["mean", "p95 beyond mean"], fmt: (v) => ms(v) }));
  const rel = data.reliability;
  charts.push(reliabilityDiagram({ name: "Reliability diagram",
    sub: `reviewed local answers: accuracy against confidence (n ${rel.n}, ECE ${rel.ece.toFixed(3)}, Brier ${rel.brier.toFixed(3)})`, bins: rel.bins }));
  const drift = data.drift;
  const driftSeries = drift.map((d) => ({ name: `${d.macro}.${d.argument}${d.flagged ? " (drift)" : ""}`,
    points: d.windows.map((w) => [Date.parse(w.start) / 1000, w.score == null ? 0 : w.score]) }));
  charts.push(lineChart({ name: "Argument drift", sub: "Jensen–Shannon divergence of each macro argument's values against the first window (flagged above 0.1)",
    series: driftSeries, yMax: 1, yFormat: (v) => v.toFixed(2), fmt: (v) => v.toFixed(3) }));

  main.replaceChildren(
    el("h1", {}, "Dashboard"),
    el("div", { class: "controls" }, el("label", {}, "Range", sinceSel), el("label", {}, "Task", taskSel),
      el("span", { class: "muted" }, `buckets of ${Math.round(data.bucket_seconds / 60)} min · routed decisions from the store`)),
    tiles,
    el("div", { class: "grid" }, charts));
}
