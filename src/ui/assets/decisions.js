// Decisions: the filtered list, and one decision's whole path with its review.
import { api, el, meta, pct, ms, pill, kv, errorBox } from "/ui/app.js";

const PAGE = 50;

function select(id, label, options, value) {
  return el("label", {}, label, el("select", { id, name: id },
    el("option", { value: "" }, "any"), options.map((o) => el("option", { value: o, selected: o === value }, o))));
}

export async function renderDecisions(main, params) {
  const m = await meta();
  const q = new URLSearchParams();
  for (const k of ["task", "route", "reason", "model", "since", "offset"]) if (params.get(k)) q.set(k, params.get(k));
  q.set("limit", String(PAGE));
  const data = await api("decisions?" + q);
  const form = el("form", { class: "controls", id: "decision-filters" },
    select("task", "Task", m.tasks.map((t) => t.name), params.get("task")),
    select("route", "Route", m.routes, params.get("route")),
    select("reason", "Reason", m.reasons, params.get("reason")),
    select("model", "Model", m.models, params.get("model")),
    el("label", {}, "Newer than", el("select", { id: "since", name: "since" },
      [["", "all time"], ["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"]]
        .map(([v, t]) => el("option", { value: v, selected: v === (params.get("since") || "") }, t)))),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    location.hash = "decisions/" + p;
  });
  const rows = data.decisions.map((d) => {
    const tr = el("tr", { class: "row", "data-id": d.id, onclick: () => { location.hash = "decision/" + d.id; } },
      el("td", {}, el("a", { href: "#decision/" + d.id }, "#" + d.id)),
      el("td", { class: "mono" }, (d.ts || "").replace("T", " ").slice(0, 19)),
      el("td", {}, d.task),
      el("td", {}, pill(d.route)),
      el("td", {}, d.reason || "—"),
      el("td", {}, d.label || d.macro || "—"),
      el("td", {}, d.confidence === null ? "—" : d.confidence.toFixed(3)),
      el("td", {}, d.model || "—"),
      el("td", {}, ms(d.total_ms)),
      el("td", {}, d.review ? pill(d.review) : "—"));
    return tr;
  });
  const offset = data.offset;
  const pageTo = (o) => { const p = new URLSearchParams(params); p.set("offset", String(o)); location.hash = "decisions/" + p; };
  main.replaceChildren(
    el("h1", {}, "Decisions"), form,
    el("section", { class: "card" },
      el("p", { class: "muted", id: "decision-count" }, `${data.total} decisions match, newest first`),
      rows.length ? el("table", { id: "decision-table" },
        el("thead", {}, el("tr", {}, ["id", "time (UTC)", "task", "route", "reason", "answer", "confidence", "model", "total", "review"].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows)) : el("p", { class: "muted" }, "No decision matches."),
      el("div", { class: "pager" },
        el("button", { class: "secondary", type: "button", disabled: offset === 0, onclick: () => pageTo(Math.max(0, offset - PAGE)) }, "Newer"),
        el("span", { class: "muted" }, `${Math.min(data.total, offset + 1)}–${Math.min(data.total, offset + PAGE)} of ${data.total}`),
        el("button", { class: "secondary", type: "button", disabled: offset + PAGE >= data.total, onclick: () => pageTo(offset + PAGE) }, "Older"))));
}

function step(id, title, kind, timing, ...body) {
  if (timing === "n/a") timing = "";
  return el("div", { class: "step " + kind, "data-step": id },
    el("div", { class: "head" }, el("span", {}, title), el("span", { class: "ms" }, timing || "")), ...body);
}

function bar(fraction) {
  const span = el("span");
  span.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + "%";
  return el("div", { class: "bar" }, span);
}

export function tiersTable(tiers) {
  if (!tiers.length) return el("p", { class: "muted" }, "No model was called.");
  const max = Math.max(1, ...tiers.map((t) => t.latency_ms || 0));
  return el("table", {},
    el("thead", {}, el("tr", {}, ["tier", "model", "outcome", "latency", "", "tokens in/out"].map((h) => el("th", {}, h)))),
    el("tbody", {}, tiers.map((t) => el("tr", {},
      el("td", {}, t.tier_name), el("td", {}, t.model_name),
      el("td", {}, t.ok ? pill("ok", "pass") : pill(typeof t.error === "object" && t.error ? t.error.code : (t.error || "failed"), "fail")),
      el("td", {}, ms(t.latency_ms)), el("td", {}, bar((t.latency_ms || 0) / max)),
      el("td", {}, `${t.prompt_tokens} / ${t.completion_tokens}`)))));
}

export function validatorsList(validators) {
  if (!validators.length) return el("p", { class: "muted" }, "No validator ran (no local answer to check).");
  return el("table", {}, el("tbody", {}, validators.map((v) => el("tr", { "data-validator": v.validator },
    el("td", {}, v.validator), el("td", {}, pill(v.passed ? "pass" : "fail")), el("td", {}, v.reason || ""), el("td", { class: "muted" }, v.detail || "")))));
}

export async function renderDecision(main, idText) {
  const d = await api("decisions/" + encodeURIComponent(idText));
  const p = d.path, s = d.summary;
  const sc = p.screen, loc = p.local, esc = p.escalation, st = p.stages_ms || {};
  const steps = el("div", { class: "steps", id: "decision-path" },
    step("screen", "Screen: gates and hard stops", sc.hard_stop ? "up" : "ok", ms((sc.gates_ms || 0) + (sc.hard_stop_scan_ms || 0)),
      kv([["gates", ms(sc.gates_ms)], ["hard-stop scan", ms(sc.hard_stop_scan_ms)],
        ["hard stop", sc.hard_stop ? `${sc.hard_stop.category} · rule ${sc.hard_stop.rule_id} · in ${sc.hard_stop.where} · “${sc.hard_stop.matched}”` : "no match"],
        ["went to the local tier", sc.local_ran ? "yes" : "no"]])),
    step("reduce", "Reduced input", p.reduce ? "ok" : "", "",
      p.reduce ? kv([["original", `${p.reduce.original_bytes} bytes, ${p.reduce.original_lines} lines`],
        ["reduced to", `${p.reduce.reduced_bytes} bytes (~${p.reduce.reduced_tokens} tokens), ${p.reduce.kept_lines} lines kept, ${p.reduce.decisive_lines} decisive`],
        ["digest", p.reduce.reduced_sha256]]) : el("p", { class: "muted" }, "This task reads its input whole."),
      el("h3", {}, "input preview (redacted)"), el("pre", {}, s.preview || "")),
    step("local", "Local answer", loc.tries.length ? (s.route === "local" ? "ok" : "up") : "", ms(st.local),
      loc.tries.length ? el("div", {},
        kv([["answer", loc.label || loc.macro || "—"], ["arguments", loc.args && Object.keys(loc.args).length ? JSON.stringify(loc.args) : "—"],
          ["confidence", loc.confidence === null ? "—" : el("span", {}, loc.confidence.toFixed(3) + " ", bar(loc.confidence))],
          ["measured (before calibration)", loc.measured_confidence === null ? "—" : loc.measured_confidence.toFixed(3)],
          ["schema", loc.json_valid ? "valid" : "invalid"]]),
        el("h3", {}, "local tiers tried"),
        el("table", {}, el("tbody", {}, loc.tries.map((t) => el("tr", {}, el("td", {}, t.tier_name), el("td", {}, t.accepted ? pill("accepted", "pass") : pill(t.reason, "fail")),
          el("td", {}, t.confidence === undefined ? "" : t.confidence.toFixed(3)), el("td", {}, t.label || t.macro || "")))))) :
        el("p", { class: "muted" }, "The local tier was not asked.")),
    step("validators", "Validators", p.validators.some((v) => !v.passed) ? "bad" : "ok", ms(st.validate), validatorsList(p.validators)),
    step("tiers", "Tiers tried", "", ms(p.total_ms), tiersTable(p.tiers)),
    step("escalation", "Escalation", esc.escalated ? "up" : "ok", ms(st.frontier ?? st.escalate),
      esc.escalated ? el("div", {}, kv([["reason", esc.reason], ["detail", esc.detail], ["frontier answered", esc.frontier_ok ? "yes" : "no"],
        ["frontier error", esc.frontier_error]]),
        el("h3", {}, "escalation packet"), el("pre", { id: "escalation-packet" }, JSON.stringify(esc.packet, null, 2))) :
        el("p", { class: "muted" }, "Answered locally: nothing went up.")));

  const note = el("textarea", { id: "review-note", maxlength: 4000, placeholder: "why (optional)" });
  note.style.minHeight = "60px";
  if (d.review) note.value = d.review.note || "";
  const status = el("p", { class: "muted", id: "review-status" }, d.review ? `reviewed: ${d.review.label}` : "not reviewed");
  const label = async (which) => {
    try {
      const r = await api(`decisions/${d.id}/review`, { method: "POST", body: { label: which, note: note.value } });
      status.textContent = `reviewed: ${r.review.label}`;
      status.dataset.label = r.review.label;
    } catch (e) { status.replaceChildren(errorBox(e)); }
  };
  const review = el("section", { class: "card review", id: "review" }, el("h2", {}, "Review"),
    el("p", { class: "muted" }, "Same as ladder review label ID accept|defect --note."), note,
    el("div", { class: "buttons" },
      el("button", { class: "good", type: "button", id: "review-accept", onclick: () => label("accept") }, "Accept"),
      el("button", { class: "bad", type: "button", id: "review-defect", onclick: () => label("defect") }, "Defect")), status);

  main.replaceChildren(
    el("p", {}, el("a", { href: "#decisions" }, "← Decisions")),
    el("h1", {}, `Decision #${d.id} `, pill(s.route)),
    el("p", { class: "muted" }, `${s.ts} · task ${s.task} · request ${d.record.request_id || ""} · ${ms(p.total_ms)} in all`),
    el("div", { class: "two" }, steps,
      el("div", { class: "steps" },
        el("section", { class: "card" }, el("h2", {}, "Answer"), kv([["route", s.route], ["reason", s.reason], ["answer", s.label || s.macro || "—"], ["model", s.model]])),
        review,
        el("section", { class: "card" }, el("h2", {}, "Audit record"), el("pre", {}, JSON.stringify(d.record, null, 2))))));
}
