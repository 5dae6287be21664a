// The ladder UI: sign-in (token in sessionStorage, sent as a Bearer header), the API
// helper, small DOM helpers, and the hash router over the three pages.
import { renderDashboard } from "/ui/dashboard.js";
import { renderDecisions, renderDecision } from "/ui/decisions.js";
import { renderPlayground } from "/ui/playground.js";

const TOKEN_KEY = "ladder.token";

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || ("HTTP " + status));
    this.status = status;
    this.code = e.code || "";
    this.param = e.param || "";
  }
}

// fetch() against /ui/api with the token; JSON in and out. A 401 sends the user to sign in.
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { "Authorization": "Bearer " + token() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/ui/api/" + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", cache: "no-store", redirect: "error",
  });
  if (raw && res.ok) return res;
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (res.status === 401) { sessionStorage.removeItem(TOKEN_KEY); route(); }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// el("div", {class: "x", onclick: fn}, child, "text", ...): an element; text is never HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function pct(v) { return v === null || v === undefined ? "n/a" : (v * 100).toFixed(1) + "%"; }
export function ms(v) { return v === null || v === undefined || v < 0 ? "n/a" : (v >= 1000 ? (v / 1000).toFixed(2) + " s" : v.toFixed(1) + " ms"); }
export function usd(v) { return v === null || v === undefined ? "n/a" : "$" + (Math.abs(v) < 0.01 && v !== 0 ? v.toFixed(5) : v.toFixed(3)); }
export function pill(text, kind) { return el("span", { class: "pill " + (kind || text || "") }, text === null || text === undefined ? "none" : text); }
export function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "—" : v));
  return dl;
}
export function errorBox(e) { return el("p", { class: "error", "data-error": e.code || "error" }, e.message || String(e)); }

let metaCache = null;
export async function meta() {
  if (!metaCache) metaCache = await api("meta");
  return metaCache;
}

function showSignin(main) {
  const t = document.getElementById("signin-template").content.cloneNode(true);
  main.replaceChildren(t);
  const form = document.getElementById("signin-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = document.getElementById("signin-token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, value);
    metaCache = null;
    try {
      await meta();
      route();
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      const p = document.getElementById("signin-error");
      p.textContent = e.message;
      p.hidden = false;
    }
  });
}

export async function route() {
  const main = document.getElementById("main");
  const hash = location.hash.replace(/^#/, "") || "dashboard";
  const [page, arg] = hash.split("/");
  document.getElementById("signout").hidden = !token();
  for (const a of document.querySelectorAll("header nav a"))
    a.classList.toggle("active", a.dataset.page === (page === "decision" ? "decisions" : page));
  if (!token()) return showSignin(main);
  main.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  main.dataset.page = page;
  main.dataset.ready = "";
  try {
    if (page === "decisions") await renderDecisions(main, new URLSearchParams(arg || ""));
    else if (page === "decision") await renderDecision(main, arg);
    else if (page === "playground") await renderPlayground(main);
    else await renderDashboard(main, new URLSearchParams(arg || ""));
  } catch (e) {
    main.replaceChildren(errorBox(e));
  }
  main.dataset.ready = "1";
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    metaCache = null;
    route();
  });
  route();
});
