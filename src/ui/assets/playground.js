// The playground: a maintainer request or a pasted log routed by the real router, each
// stage shown as its server-sent event arrives; for a macro, its plan, approval and run.
import { api, el, meta, ms, pill, kv, errorBox, token, ApiError } from "/ui/app.js";
import { tiersTable, validatorsList } from "/ui/decisions.js";

const SAMPLES = {
  "CI log": "npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/left-padder - Not found\nnpm ERR! A complete log of this run can be found in /home/runner/.npm/_logs/debug.log\nError: Process completed with exit code 1.",
  "Build failure": "src/widget.c:57:9: error: 'count' undeclared (first use in this function)\nmake: *** [Makefile:12: widget.o] Error 1",
  "Maintainer request": "Summarise why the last CI run of acme/widgets failed",
};

// Reads a text/event-stream body: calls onEvent(name, data) per event as it arrives.
async function readEvents(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

function card(stage, kind, title, elapsed, ...body) {
  return el("div", { class: "step " + kind, "data-stage": stage },
    el("div", { class: "head" }, el("span", {}, title), el("span", { class: "ms" }, elapsed === undefined ? "" : "at " + ms(elapsed))), ...body);
}

function stageCard(ev) {
  const d = ev.decision || {};
  switch (ev.stage) {
    case "screen":
      return card("screen", d.hard_stop || ev.escalate_now ? "up" : "ok", "Screened: gates and hard stops", ev.elapsed_ms,
        kv([["task", ev.task || "(none: unknown task)"],
          ["hard stop", d.hard_stop ? `${d.hard_stop.category} · ${d.hard_stop.rule} · “${d.hard_stop.matched}”` : "no match"],
          ["next", ev.escalate_now ? "a rule sends it up: " + (d.reason || "") : (ev.local_pending ? "ask the local model" : "decided")]]));
    case "local":
      return card("local", "ok", "Local answer", ev.elapsed_ms,
        ev.reduced_input !== undefined ? el("div", {}, el("h3", {}, "reduced input (what the model read)"), el("pre", { "data-reduced": "1" }, ev.reduced_input)) : null,
        kv([["answer", d.label || d.macro || ev.local_answer_text || "—"],
          ["confidence", d.confidence === null || d.confidence === undefined ? "—" : d.confidence.toFixed(3)],
          ["schema", d.local_json_valid ? "valid" : "invalid"]]),
        tiersTable(d.tiers || []));
    case "validate":
      return card("validate", ev.escalates ? "up" : "ok", ev.escalates ? "Validated: escalate (" + (d.reason || "") + ")" : "Validated: accept locally", ev.elapsed_ms,
        validatorsList(d.validators || []));
    case "escalating":
      return card("escalating", "up", "Escalation packet sent up", ev.elapsed_ms, el("pre", { id: "packet" }, JSON.stringify(ev.packet, null, 2)));
    case "escalate":
      return card("escalate", d.frontier_ok ? "ok" : "bad", d.frontier_ok ? "Frontier answered" : "No tier above answered", ev.elapsed_ms,
        tiersTable(d.tiers || []));
    case "decision":
      return card("decision", d.route === "local" ? "ok" : "up", "Decision: " + d.route + (d.reason ? " (" + d.reason + ")" : ""), d.total_ms,
        kv([["answer", d.macro ? `macro ${d.macro} ${JSON.stringify(d.args || {})}` : (d.label || d.answer_text || "—")],
          ["confidence", d.confidence === null || d.confidence === undefined ? "—" : d.confidence.toFixed(3)],
          ["request", d.request_id]]),
        ev.error ? errorBox(new ApiError(0, ev.error)) : null);
    default:
      return card(ev.stage, "", ev.stage, ev.elapsed_ms);
  }
}

function runView(out, body) {
  const r = body.run || {};
  const trace = (r.trace || []).map((t) => el("tr", {}, el("td", {}, t.step), el("td", {}, t.kind), el("td", {}, t.irreversible ? pill("irreversible", "frontier") : ""),
    el("td", {}, t.method ? `${t.method} ${t.url}` : ""), el("td", {}, t.outcome), el("td", {}, t.detail || "")));
  return el("div", { class: "step " + (body.status === "ok" ? "ok" : "up"), "data-stage": "run-" + body.status },
    el("div", { class: "head" }, el("span", {}, `Macro ${r.macro || ""}: ${body.status}`), el("span", { class: "ms" }, r.ms !== undefined ? ms(r.ms) : "")),
    kv([["arguments", JSON.stringify(r.args || {})], ["irreversible steps", (r.irreversible_steps || []).join(", ") || "none"],
      ["error", r.error ? `${r.error.reason}: ${r.error.message}` : null]]),
    trace.length ? el("table", {}, el("tbody", {}, trace)) : null,
    r.result !== undefined && r.result !== null ? el("pre", {}, JSON.stringify(r.result, null, 2)) : null);
}

async function runMacro(out, first) {
  const show = (body) => out.append(runView(out, body));
  try {
    const plan = await api("playground/run", { method: "POST", body: { ...first, dry_run: true } });
    if (plan.decision) out.append(stageCard({ stage: "decision", decision: plan.decision }));
    if (!plan.run) return out.append(el("p", { class: "muted" }, "No macro was chosen: " + plan.status));
    out.append(el("h3", {}, "plan (dry run: nothing written)"));
    show(plan);
    const macro = plan.run.macro, args = plan.run.args;
    const approve = el("button", { type: "button", id: "approve-run" }, "Approve and run");
    approve.addEventListener("click", async () => {
      approve.disabled = true;
      try {
        let r = await api("playground/run", { method: "POST", body: { macro, args } });
        if (r.status === "approval_required") {
          // The user's click is the approval: the token approves exactly this macro and these arguments.
          out.append(el("h3", {}, "approval required: approved"));
          show(r);
          r = await api("playground/run", { method: "POST", body: { macro, args, approval_token: r.approval_token } });
        }
        out.append(el("h3", {}, "run"));
        show(r);
      } catch (e) { out.append(errorBox(e)); }
    });
    out.append(approve);
  } catch (e) { out.append(errorBox(e)); }
}

export async function renderPlayground(main) {
  const m = await meta();
  const routeTask = m.tasks.find((t) => t.kind === "route_macro");
  const taskSel = el("select", { id: "pg-task" }, el("option", { value: "" }, "auto (keyword classifier)"),
    m.tasks.map((t) => el("option", { value: t.name }, `${t.name} (${t.kind})`)));
  const input = el("textarea", { id: "pg-input", placeholder: "Paste a CI log, or type a maintainer request…" });
  const out = el("div", { class: "steps", id: "pg-steps" });
  const go = el("button", { type: "submit", id: "pg-route" }, "Route");
  const macroBtn = el("button", { type: "button", class: "secondary", id: "pg-macro", disabled: !routeTask }, "Plan a macro");
  const form = el("form", { id: "pg-form" },
    el("div", { class: "controls" }, el("label", {}, "Task", taskSel),
      Object.keys(SAMPLES).map((k) => el("button", { type: "button", class: "secondary", onclick: () => { input.value = SAMPLES[k]; } }, k))),
    input, el("div", { class: "controls" }, go, macroBtn,
      el("span", { class: "muted" }, "Each stage appears as the router finishes it.")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    go.disabled = true;
    out.dataset.done = "";
    try {
      const res = await fetch("/ui/api/playground/route", {
        method: "POST", credentials: "omit", cache: "no-store",
        headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify({ task: taskSel.value, input: input.value }),
      });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      await readEvents(res, (name, data) => {
        if (name === "start") out.append(el("p", { class: "muted" }, `request ${data.request_id} · task ${data.task || "(unknown)"}`));
        else if (name === "stage") out.append(stageCard(data));
        else if (name === "error") out.append(errorBox(new ApiError(0, data)));
        if (name === "stage" && data.stage === "decision" && data.decision.macro)
          out.append(el("button", { type: "button", class: "secondary", onclick: () => runMacro(out, { macro: data.decision.macro, args: data.decision.args }) },
            "Plan macro " + data.decision.macro));
      });
    } catch (e) {
      out.append(errorBox(e));
    }
    out.dataset.done = "1";
    go.disabled = false;
  });
  macroBtn.addEventListener("click", async () => {
    out.replaceChildren();
    out.dataset.done = "";
    await runMacro(out, { request: input.value });
    out.dataset.done = "1";
  });
  main.replaceChildren(el("h1", {}, "Playground"),
    el("p", { class: "muted" }, "The policy's own local model does the work here; what it decides is audited like any other request."),
    el("div", { class: "two" }, el("section", { class: "card" }, form), out));
}
