"use strict";
// The calls console: a tiny hash router, the API helper and formatting shared by the views.
// Every value from the API goes into the page as text (textContent), never as HTML.
const SB = (window.SB = { views: {}, timer: null, route: null });

SB.STAGES = [
  ["end_of_turn", "End of turn", "#8e6cd8"],
  ["stt", "STT", "#2f9e8f"],
  ["llm", "LLM", "#1f6feb"],
  ["tts", "TTS", "#e08a1e"],
  ["tool", "Tool", "#c2417d"],
  ["own", "Own", "#7a8494"],
];

// el("td", {class: "num", title: "x"}, "text", childNode, ...): a DOM node, text kept as text.
SB.el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

SB.svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

// The console's JSON API. The login cookie goes along; the header marks a console request.
SB.api = async (path, options = {}) => {
  const res = await fetch("/console/api" + path, {
    credentials: "same-origin",
    ...options,
    headers: { "X-Switchboard-Console": "1", ...(options.headers || {}) },
  });
  if (res.status === 401) {
    location.reload(); // the sign-in form
    throw new Error("signed out");
  }
  if (!res.ok) {
    let detail = await res.text();
    try { detail = JSON.parse(detail).detail || detail; } catch (e) { /* plain text */ }
    throw new Error("HTTP " + res.status + ": " + detail);
  }
  return res.status === 204 ? null : res.json();
};

SB.fmtTime = (epoch) => {
  if (!epoch) return "–";
  const d = new Date(epoch * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
};
SB.fmtDuration = (secs) => {
  if (secs === null || secs === undefined) return "–";
  const s = Math.round(secs);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
};
SB.fmtMs = (ms) => (ms === null || ms === undefined ? "–" : Math.round(ms) + " ms");
SB.fmtCost = (cost) => {
  if (!cost || cost.total === undefined || cost.total === null) return "–";
  const digits = cost.total < 0.1 ? 4 : 2;
  return (cost.currency === "USD" ? "$" : (cost.currency || "") + " ") + cost.total.toFixed(digits);
};
SB.badge = (status) => SB.el("span", { class: "badge " + status, "data-status": status },
  status === "active" ? "live" : status);
SB.card = (title, ...children) => SB.el("section", { class: "card" }, SB.el("h2", {}, title), ...children);

// Run fn now and every ms until the route changes (never two at once).
SB.poll = (fn, ms) => {
  let busy = false;
  const route = SB.route;
  const tick = async () => {
    if (busy || route !== SB.route) return;
    busy = true;
    try {
      await fn();
      $updated().textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      if (route === SB.route) SB.showError(e);
    } finally { busy = false; }
  };
  tick();
  SB.timer = setInterval(tick, ms);
};
const $updated = () => document.getElementById("updated");

SB.showError = (error) => {
  let box = document.getElementById("error");
  if (!box) {
    box = SB.el("p", { id: "error", class: "error", role: "alert" });
    document.getElementById("view").prepend(box);
  }
  box.textContent = String(error.message || error);
};

SB.go = () => {
  clearInterval(SB.timer);
  const hash = location.hash || "#/calls";
  SB.route = hash + ":" + Date.now();
  const view = document.getElementById("view");
  view.replaceChildren();
  const [, name, id] = hash.match(/^#\/([a-z]+)(?:\/(.+))?/) || [null, "calls", null];
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("on", a.dataset.nav === (name === "call" ? "calls" : name));
  }
  if (name === "calls" && id) SB.views.call(view, decodeURIComponent(id));
  else if (name === "fleet") SB.views.fleet(view);
  else SB.views.calls(view);
};

SB.start = () => {
  window.addEventListener("hashchange", SB.go);
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("/console/logout", { method: "POST", credentials: "same-origin" });
    location.reload();
  });
  SB.go();
};
