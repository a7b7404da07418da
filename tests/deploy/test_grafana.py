"""deploy/grafana/switchboard.json queries only metrics (and labels) the launcher exposes.

Each panel query's metric is looked up in ``launcher.metrics.LauncherMetrics``: the labels the
query uses are set on it (a wrong label name raises), then the registry is rendered as
``/metrics`` renders it and the query's sample names must be in that text. A renamed metric or
label fails here, not silently on a dashboard.
"""

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from launcher.metrics import LauncherMetrics
from launcher.pooled_metrics import LAUNCHER_OWN, PREFIX, WORKER_PREFIX

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "switchboard.json"
METRIC = re.compile(r"\bswitchboard_[a-z0-9_]+")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
# What a dashboard must show (issue 12): calls, refusals, latency, recall misses, webhook
# backlog, failovers, loop lag.
REQUIRED = {
    "switchboard_calls_refused_total",
    "switchboard_webhook_backlog",
    "switchboard_calls_started_total",
    "switchboard_calls_ended_total",
    "switchboard_voice_to_voice_seconds_bucket",
    "switchboard_turn_stage_seconds_bucket",
    "switchboard_memory_recall_misses_total",
    "switchboard_failovers_total",
    "switchboard_event_loop_lag_max_seconds",
}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _targets(dashboard: dict) -> list[tuple[str, dict]]:
    return [
        (panel["title"], target)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def _wrappers(metrics: LauncherMetrics) -> dict:
    """Family name → (the metric object, its type), for every metric LauncherMetrics holds."""
    out = {}
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if describe is not None and value is not metrics.registry:
            [family] = describe()
            out[family.name] = (value, family.type)
    return out


def _family(sample: str, types: dict[str, str]) -> tuple[str, bool]:
    """The LauncherMetrics family a query's sample name belongs to, and whether it is the
    ``switchboard_worker_*`` copy the launcher's ``/metrics`` adds for calls in workers."""
    worker = sample.startswith(WORKER_PREFIX)
    name = PREFIX + sample[len(WORKER_PREFIX) :] if worker else sample
    for family, kind in types.items():
        if any(name == family + suffix for suffix in SUFFIXES[kind]):
            assert not worker or family in LAUNCHER_OWN, f"{sample}: no worker copy of {family}"
            return family, worker
    raise AssertionError(f"{sample} is not a sample of any LauncherMetrics family")


def test_dashboard_is_a_grafana_dashboard():
    dashboard = _dashboard()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "switchboard"
    for title, target in _targets(dashboard):
        assert target["datasource"]["uid"] == "${datasource}", title
        assert target["expr"].count("(") == target["expr"].count(")"), title
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource"}


async def test_every_query_uses_metrics_and_labels_the_launcher_exposes():
    metrics = LauncherMetrics()
    wrappers = _wrappers(metrics)
    types = {name: kind for name, (_, kind) in wrappers.items()}
    used_samples: set[str] = set()
    for title, target in _targets(_dashboard()):
        expr = target["expr"]
        samples = set(METRIC.findall(expr))
        families = {_family(sample, types) for sample in samples}
        assert len(families) == 1, (title, expr)  # one family per query keeps this check exact
        [(family, worker)] = families
        wrapper, kind = wrappers[family]
        labels = {label.strip() for group in BY.findall(expr) for label in group.split(",")}
        labels |= set(MATCHER.findall(expr)) | set(LEGEND.findall(target.get("legendFormat", "")))
        labels -= {"", "le" if kind == "histogram" else "", "worker" if worker else ""}
        # Setting the query's labels on the metric: a label it does not have raises ValueError
        # (and so does a labelled metric whose query names none of its labels).
        child = wrapper.labels(**dict.fromkeys(labels, "x")) if labels else wrapper
        if kind == "histogram":
            child.observe(0.1)
        elif kind == "counter":
            child.inc()
        used_samples |= {PREFIX + s[len(WORKER_PREFIX) :] if worker else s for s in samples}
    rendered = {
        sample.name
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }
    assert used_samples <= rendered, used_samples - rendered
    assert REQUIRED <= used_samples, REQUIRED - used_samples
