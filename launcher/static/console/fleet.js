"use strict";
// The fleet: hosts and slots, calls per host, the calls active now, and per-stage latency over
// the last hour (stage p50s stacked per 5-minute bucket), drawn as inline SVG.
(() => {
  const { el, svg } = SB;

  const stat = (label, value, id) => el("div", { class: "card" },
    el("div", { class: "muted" }, label), el("div", { id, style: "font-size:26px;font-weight:700" }, value));

  // One bar per host: active calls over its slots, and how many calls it took in the hour.
  const hostsChart = (f) => {
    const hosts = f.hosts.map((h) => ({ ...h, hour: f.calls_last_hour.per_host[h.host_id] || 0 }));
    for (const [id, n] of Object.entries(f.calls_last_hour.per_host)) {
      if (!hosts.some((h) => h.host_id === id)) hosts.push({ host_id: id, active: 0, capacity: 0, hour: n, gone: true });
    }
    const width = 520, row = 34, left = 150, right = 130;
    const scale = Math.max(1, ...hosts.map((h) => Math.max(h.capacity, h.active)));
    const plot = width - left - right;
    return svg("svg", { id: "hosts-chart", viewBox: `0 0 ${width} ${hosts.length * row + 8}`, width: "100%", role: "img",
      "aria-label": "active calls and slots per host" },
    hosts.map((h, i) => {
      const y = i * row + 6;
      return svg("g", { "data-host": h.host_id },
        svg("text", { x: 0, y: y + 15 }, (h.host_id === f.this_host ? "★ " : "") + h.host_id),
        svg("rect", { x: left, y, width: (plot * h.capacity) / scale, height: 20, rx: 3, fill: "#e4e7ec" }),
        svg("rect", { x: left, y, width: (plot * h.active) / scale, height: 20, rx: 3, fill: h.draining ? "#e08a1e" : "#1f6feb" }),
        svg("text", { x: left + plot + 8, y: y + 15 },
          h.gone ? `gone · ${h.hour} in the hour` : `${h.active}/${h.capacity} · ${h.hour} in the hour${h.draining ? " · draining" : ""}`));
    }));
  };

  // A round axis maximum: 1, 2 or 5 times a power of ten.
  const niceMax = (v) => {
    const p = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
  };

  // Per 5-minute bucket: the p50 of each stage stacked (where a typical turn's time went), with
  // the voice-to-voice p50 and p95 of the bucket as ticks.
  const latencyChart = (lat) => {
    const width = 1080, height = 260, left = 56, right = 12, top = 12, bottom = 28;
    const n = lat.buckets.length;
    const slot = (width - left - right) / n;
    const stacked = (b) => SB.STAGES.reduce((sum, [key]) => sum + (b[key].p50 || 0), 0);
    const peak = Math.max(100, ...lat.buckets.flatMap((b) => [stacked(b), b.total.p95 || 0]));
    const top_ms = niceMax(peak * 1.05);
    const y = (ms) => top + (height - top - bottom) * (1 - ms / top_ms);
    const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => svg("g", {},
      svg("line", { x1: left, x2: width - right, y1: y(top_ms * f), y2: y(top_ms * f), stroke: "#e3e6eb" }),
      svg("text", { x: left - 6, y: y(top_ms * f) + 4, "text-anchor": "end" }, Math.round(top_ms * f) + " ms")));
    const columns = lat.buckets.map((b, i) => {
      const x = left + i * slot + slot * 0.2, w = slot * 0.6;
      const label = new Date(b.t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      let base = 0;
      const segs = SB.STAGES.filter(([key]) => b[key].p50 > 0).map(([key, name, color]) => {
        const ms = b[key].p50;
        const rect = svg("rect", { x, y: y(base + ms), width: w, height: y(base) - y(base + ms), fill: color, "data-stage": key },
          svg("title", {}, `${label} ${name} p50 ${Math.round(ms)} ms`));
        base += ms;
        return rect;
      });
      const tick = (ms, dash, what) => (ms === null ? null : svg("line", {
        x1: x - 4, x2: x + w + 4, y1: y(ms), y2: y(ms), stroke: "#1d2330", "stroke-width": 2, "stroke-dasharray": dash,
      }, svg("title", {}, `${label} voice-to-voice ${what} ${Math.round(ms)} ms (${b.turns} turns)`)));
      return svg("g", { "data-bucket": b.t, "data-turns": b.turns }, segs,
        tick(b.total.p50, "none", "p50"), tick(b.total.p95, "4 3", "p95"),
        i % 2 === 0 ? svg("text", { x: x + w / 2, y: height - 8, "text-anchor": "middle" }, label) : null);
    });
    return el("div", {},
      svg("svg", { id: "latency-chart", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
        "aria-label": "per-stage latency over the last hour" }, grid, columns),
      el("div", { class: "legend" }, SB.STAGES.map(([, label, color]) => el("span", {}, el("i", { style: "background:" + color }), label)),
        el("span", {}, "━ voice-to-voice p50"), el("span", {}, "┅ p95")));
  };

  const overallTable = (lat) => el("table", { id: "stage-table" },
    el("tr", {}, el("th", {}, "Stage"), el("th", { class: "num" }, "p50"), el("th", { class: "num" }, "p95")),
    [...SB.STAGES, ["total", "Voice-to-voice"]].map(([key, label]) => el("tr", {},
      el("td", {}, label), el("td", { class: "num" }, SB.fmtMs(lat.overall[key].p50)),
      el("td", { class: "num" }, SB.fmtMs(lat.overall[key].p95)))));

  SB.views.fleet = (view) => {
    const body = el("div", {});
    view.append(el("h1", {}, "Fleet"), body);
    SB.poll(async () => {
      const f = await SB.api("/fleet");
      body.replaceChildren(
        el("div", { class: "grid", style: "grid-template-columns:repeat(4,1fr);margin-bottom:16px" },
          stat("Active calls", f.calls, "stat-active"), stat("Free slots", Math.max(0, f.slots - f.calls), "stat-slots"),
          stat("Hosts", f.hosts.length, "stat-hosts"), stat("Calls in the last hour", f.calls_last_hour.total, "stat-hour")),
        el("div", { class: "grid" },
          SB.card("Calls per host", hostsChart(f)),
          SB.card(`Stages over the last hour (${f.latency.overall.turns} turns)`, overallTable(f.latency))),
        SB.card("Per-stage latency, last hour (p50 per stage per 5 minutes)", latencyChart(f.latency)),
        SB.card("Active calls", SB.callsTable(f.active_calls)),
      );
    }, 5000);
  };
})();
