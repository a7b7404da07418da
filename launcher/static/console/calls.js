"use strict";
// The calls list: live and finished calls, filterable by persona, tenant, status and date.
(() => {
  const { el } = SB;
  const filters = { persona: "", tenant: "", status: "", since: "", until: "" };
  let personas = null;

  // A table of call rows (also used by the fleet view for the active calls).
  SB.callsTable = (rows) => {
    if (!rows.length) return el("p", { class: "empty" }, "No calls match.");
    const head = ["Started", "Persona", "Tenant", "Transport", "Caller", "Status", "Duration",
      "End reason", "Cost", "V2V p50"];
    const numeric = new Set(["Duration", "Cost", "V2V p50"]);
    return el("table", { id: "calls-table" },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { class: numeric.has(h) ? "num" : null }, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {
        class: "call-row", "data-call-id": r.call_id, "data-status": r.status,
        onclick: () => { location.hash = "#/calls/" + encodeURIComponent(r.call_id); },
      },
      el("td", {}, el("a", { href: "#/calls/" + encodeURIComponent(r.call_id) }, SB.fmtTime(r.started_at))),
      el("td", {}, r.persona),
      el("td", {}, r.tenant || "–"),
      el("td", {}, r.transport),
      el("td", {}, r.caller_number || r.room || "–"),
      el("td", {}, SB.badge(r.status)),
      el("td", { class: "num" }, r.active ? SB.fmtDuration(Date.now() / 1000 - r.started_at) : SB.fmtDuration(r.duration_secs)),
      el("td", {}, r.end_reason || "–"),
      el("td", { class: "num" }, SB.fmtCost(r.cost)),
      el("td", { class: "num" }, SB.fmtMs(r.v2v_p50_ms)),
      ))));
  };

  const query = () => {
    const q = new URLSearchParams();
    for (const name of ["persona", "tenant", "status"]) if (filters[name]) q.set(name, filters[name]);
    // Dates are the operator's local days.
    if (filters.since) q.set("since", new Date(filters.since + "T00:00").toISOString());
    if (filters.until) {
      const end = new Date(filters.until + "T00:00");
      end.setDate(end.getDate() + 1);
      q.set("until", end.toISOString());
    }
    q.set("limit", "200");
    return "?" + q.toString();
  };

  const filterBar = (refresh) => {
    const input = (name, attrs) => el("input", {
      ...attrs, id: "filter-" + name, value: filters[name],
      onchange: (e) => { filters[name] = e.target.value.trim(); refresh(); },
    });
    const select = (name, options) => {
      const node = el("select", {
        id: "filter-" + name,
        onchange: (e) => { filters[name] = e.target.value; refresh(); },
      }, options.map(([value, label]) => el("option", { value, selected: value === filters[name] }, label)));
      return node;
    };
    const personaOptions = [["", "any"], ...(personas || []).map((p) => [p, p])];
    return el("div", { class: "card filters" },
      el("label", {}, "Persona", select("persona", personaOptions)),
      el("label", {}, "Tenant", input("tenant", { type: "text", placeholder: "any", size: 12 })),
      el("label", {}, "Status", select("status", [["", "any"], ["active", "live"], ["ended", "ended"], ["failed", "failed"]])),
      el("label", {}, "From", input("since", { type: "date" })),
      el("label", {}, "To", input("until", { type: "date" })),
    );
  };

  SB.views.calls = async (view) => {
    if (personas === null) {
      try { personas = (await (await fetch("/personas")).json()).map((p) => p.name); } catch (e) { personas = []; }
    }
    const list = el("div", { class: "card", id: "calls" });
    const refresh = async () => { list.replaceChildren(SB.callsTable(await SB.api("/calls" + query()))); };
    view.append(el("h1", {}, "Calls"), filterBar(() => refresh().catch(SB.showError)), list);
    SB.poll(refresh, 3000);
  };
})();
