"use strict";
// One call: facts, transcript (live while the call runs), per-turn latency bars, the recording
// with both channels, analysis, cost, tool calls and webhook deliveries; "End call" while live.
(() => {
  const { el } = SB;
  const WHO = { user: "Caller", assistant: "Agent", tool: "Tool" };

  const facts = (c) => el("div", { class: "facts" },
    [["Persona", c.persona], ["Tenant", c.tenant || "–"], ["Transport", c.transport],
      ["Caller", c.caller_number || c.room || "–"], ["Called", c.called_number || "–"],
      ["Started", SB.fmtTime(c.started_at)],
      ["Duration", c.active ? SB.fmtDuration(Date.now() / 1000 - c.started_at) : SB.fmtDuration(c.duration_secs)],
      ["End reason", c.end_reason || "–"], ["Cost", SB.fmtCost(c.cost)],
      ["V2V p50 / p95", c.v2v_p50_ms === null ? "–" : SB.fmtMs(c.v2v_p50_ms) + " / " + SB.fmtMs(c.v2v_p95_ms)],
      ["First greeting", SB.fmtMs((c.latency || {}).first_greeting_ms)], ["Host", c.host || "–"],
    ].map(([k, v]) => el("div", {}, el("span", {}, k), v)));

  const transcript = (c) => {
    if (!c.transcript.length) return el("p", { class: "empty" }, c.active ? "Waiting for the first turn…" : "No transcript.");
    const t0 = c.answered_at || c.started_at;
    return el("div", { id: "transcript" }, c.transcript.map((t) => el("div", {
      class: "turn " + t.role, "data-role": t.role, "data-interrupted": t.interrupted ? "true" : "false",
    },
    el("span", { class: "at" }, t.started_at && t0 ? SB.fmtDuration(Math.max(0, t.started_at - t0)) : ""),
    el("span", { class: "who" }, WHO[t.role] || t.role),
    el("span", { class: "text" }, t.text, t.interrupted ? el("span", { class: "interrupted", title: "the caller cut this turn short" }, "interrupted") : null),
    )));
  };

  const latencyBars = (c) => {
    const rows = c.turn_metrics;
    if (!rows.length) return el("p", { class: "empty" }, "No answered turns yet.");
    const max = Math.max(...rows.map((r) => r.total || 0), 1);
    return el("div", { id: "latency-bars" },
      rows.map((r) => el("div", { class: "lat-row", "data-turn": r.turn },
        el("span", { class: "label" }, "Turn " + r.turn),
        el("div", { class: "track" }, el("div", { class: "bar", style: `width:${(100 * (r.total || 0)) / max}%` },
          SB.STAGES.filter(([key]) => r[key] > 0).map(([key, label, color]) => el("div", {
            class: "seg", "data-stage": key, title: `${label} ${Math.round(r[key])} ms`,
            style: `width:${(100 * r[key]) / (r.total || 1)}%;background:${color}`,
          })))),
        el("span", { class: "total" }, SB.fmtMs(r.total)))),
      el("div", { class: "legend" }, SB.STAGES.map(([, label, color]) => el("span", {}, el("i", { style: "background:" + color }), label))));
  };

  // Caller on the left channel, agent on the right: the checkboxes route each through WebAudio.
  const recording = (c, state) => {
    if (!c.recording) return el("p", { class: "empty" }, c.active ? "The recording is ready when the call ends." : "Not recorded.");
    if (state.audioBox && state.audioBox.dataset.url === c.recording.url) return state.audioBox;
    const audio = el("audio", { id: "recording", controls: true, preload: "auto", src: c.recording.url });
    let gains = null;
    const route = () => {
      if (!gains) {
        const ctx = new AudioContext();
        const split = ctx.createChannelSplitter(2);
        const merge = ctx.createChannelMerger(2);
        ctx.createMediaElementSource(audio).connect(split);
        gains = [ctx.createGain(), ctx.createGain()];
        gains.forEach((g, i) => { split.connect(g, i); g.connect(merge, 0, 0); g.connect(merge, 0, 1); });
        merge.connect(ctx.destination);
      }
      gains[0].gain.value = box.querySelector("#ch-caller").checked ? 1 : 0;
      gains[1].gain.value = box.querySelector("#ch-agent").checked ? 1 : 0;
    };
    const box = el("div", { "data-url": c.recording.url }, audio,
      el("div", { class: "channels" },
        el("label", {}, el("input", { type: "checkbox", id: "ch-caller", checked: true, onchange: route }), " Caller (left)"),
        el("label", {}, el("input", { type: "checkbox", id: "ch-agent", checked: true, onchange: route }), " Agent (right)"),
        el("span", { class: "muted" }, `${c.recording.channels} ch · ${c.recording.sample_rate} Hz · ${SB.fmtDuration(c.recording.duration_secs)}`)));
    state.audioBox = box;
    return box;
  };

  const analysis = (c) => {
    if (!c.analysis) return el("p", { class: "empty" }, c.active ? "After the call." : "No analysis (yet).");
    return el("dl", { id: "analysis" }, Object.entries(c.analysis).flatMap(([k, v]) => [
      el("dt", {}, k.replace(/_/g, " ")),
      el("dd", {}, Array.isArray(v) ? (v.length ? el("ul", {}, v.map((x) => el("li", {}, x))) : "–") : String(v)),
    ]));
  };

  const cost = (c) => {
    if (!c.cost) return el("p", { class: "empty" }, "No estimate.");
    return el("table", { id: "cost" },
      el("tr", {}, el("th", {}, "Item"), el("th", { class: "num" }, "Quantity"), el("th", { class: "num" }, "Amount")),
      Object.entries(c.cost.items || {}).map(([name, item]) => el("tr", {},
        el("td", {}, name.replace(/_/g, " ")), el("td", { class: "num" }, `${item.quantity} ${item.unit}${item.quantity === 1 ? "" : "s"}`),
        el("td", { class: "num" }, SB.fmtCost({ total: item.amount, currency: c.cost.currency })))),
      el("tr", {}, el("th", {}, "Total"), el("td", {}), el("th", { class: "num" }, SB.fmtCost(c.cost))));
  };

  const tools = (c) => {
    if (c.tool_calls === null) return el("p", { class: "empty" }, "Tool calls are shown while the host running the call still remembers it.");
    if (!c.tool_calls.length) return el("p", { class: "empty" }, "No tool calls.");
    return el("table", { id: "tool-calls" },
      el("tr", {}, el("th", {}, "Tool"), el("th", {}, "Arguments"), el("th", {}, "Result")),
      c.tool_calls.map((t) => el("tr", {}, el("td", {}, t.name), el("td", {}, el("pre", {}, t.arguments || "")),
        el("td", {}, el("pre", {}, t.result === null ? "–" : t.result)))));
  };

  const webhooks = (c) => {
    if (!c.webhooks.length) return el("p", { class: "empty" }, "No webhook events.");
    return el("table", { id: "webhooks" },
      el("tr", {}, ["Event", "URL", "Status", "Attempts", "Last error", "Delivered"].map((h) => el("th", {}, h))),
      c.webhooks.map((w) => el("tr", { "data-event": w.type },
        el("td", {}, w.type), el("td", {}, w.url), el("td", {}, SB.badge(w.status)),
        el("td", { class: "num" }, w.attempts), el("td", {}, w.last_error || "–"),
        el("td", {}, SB.fmtTime(w.delivered_at)))));
  };

  SB.views.call = (view, id) => {
    const state = { audioBox: null, settled: 0 };
    const head = el("h1", {}, el("a", { href: "#/calls" }, "Calls"), "›", el("span", { id: "call-id" }, id));
    const body = el("div", {});
    view.append(head, body);
    const endButton = el("button", { id: "end-call", class: "danger", type: "button", onclick: async () => {
      endButton.disabled = true;
      endButton.textContent = "Ending…";
      try { await SB.api("/calls/" + encodeURIComponent(id) + "/end", { method: "POST" }); } catch (e) { SB.showError(e); endButton.disabled = false; }
    } }, "End call");
    const refresh = async () => {
      const c = await SB.api("/calls/" + encodeURIComponent(id));
      // Finished: keep polling a little for the post-call work (recording, analysis, webhooks).
      const done = c.analysis && c.recording && !c.webhooks.some((w) => w.status === "pending");
      if (!c.active && (++state.settled > 20 || done)) clearInterval(SB.timer);
      head.replaceChildren(el("a", { href: "#/calls" }, "Calls"), "›", el("span", { id: "call-id" }, id),
        SB.badge(c.status), ...(c.active ? [endButton] : []));
      body.replaceChildren(
        el("div", { class: "card" }, facts(c)),
        el("div", { class: "grid" },
          SB.card("Transcript", transcript(c)),
          SB.card("Latency per turn", latencyBars(c))),
        SB.card("Recording", recording(c, state)),
        el("div", { class: "grid" },
          SB.card("Analysis", analysis(c)),
          SB.card("Cost", cost(c))),
        SB.card("Tool calls", tools(c)),
        SB.card("Webhook deliveries", webhooks(c)),
      );
    };
    SB.poll(refresh, 1000);
  };
})();
