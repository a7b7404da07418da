"""PNG plots of a run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

_COLORS = {"launcher": "tab:red", "doubles": "tab:blue", "bench": "tab:green"}


def _latency_panel(ax: Axes, rows: list[dict[str, Any]]) -> None:
    v2v = [r["voice_to_voice_secs"] * 1000 for r in rows]
    over = [r["overhead_secs"] * 1000 for r in rows]
    if not rows:
        ax.set_title("no answered turns")
        return
    bins = 30
    ax.hist(v2v, bins=bins, alpha=0.6, label="voice-to-voice", color="tab:purple")
    ax.hist(over, bins=bins, alpha=0.6, label="overhead", color="tab:orange")
    for values, color in ((v2v, "tab:purple"), (over, "tab:orange")):
        for q, style in ((50, "-"), (95, "--")):
            ax.axvline(sorted(values)[min(len(values) - 1, int(len(values) * q / 100))],
                       color=color, linestyle=style, linewidth=1)
    ax.set_xlabel("ms per caller turn (solid p50, dashed p95)")
    ax.set_ylabel("turns")
    ax.set_title("Voice-to-voice and overhead")
    ax.legend(fontsize=8)


def _cpu_panel(ax: Axes, samples: list[dict[str, Any]], cpus: int) -> None:
    t = [s["t"] for s in samples]
    for name, color in _COLORS.items():
        ax.plot(t, [s.get(name, {}).get("cpu", float("nan")) for s in samples],
                label=name, color=color, linewidth=1)
    ax.plot(t, [s["system_cpu"] * cpus for s in samples], label="machine", color="gray",
            linewidth=1, linestyle=":")
    ax.axhline(100, color="black", linewidth=0.5)
    ax.set_xlabel("s")
    ax.set_ylabel("CPU % (100 = one core)")
    ax.set_title("CPU by process")
    ax.legend(fontsize=8)


def _rss_panel(ax: Axes, samples: list[dict[str, Any]], scrapes: list[dict[str, Any]]) -> None:
    ax.plot([s["t"] for s in samples],
            [s.get("launcher", {}).get("rss_mb", float("nan")) for s in samples],
            color="tab:red", label="launcher RSS")
    ax.set_xlabel("s")
    ax.set_ylabel("MB")
    ax.set_title("Launcher RSS and active calls")
    twin = ax.twinx()
    twin.step([s["t"] for s in scrapes], [s["active_calls"] or 0 for s in scrapes],
              color="gray", where="post", label="active calls")
    twin.set_ylabel("active calls")
    ax.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)


def _lag_panel(ax: Axes, scrapes: list[dict[str, Any]]) -> None:
    ax.plot([s["t"] for s in scrapes], [(s["lag_max"] or 0) * 1000 for s in scrapes],
            color="tab:red", marker=".", linewidth=1)
    ax.set_xlabel("s")
    ax.set_ylabel("ms")
    ax.set_title("Launcher event-loop lag (max per 1 s scrape)")


def plot_calls(data: dict[str, Any], path: Path) -> Path:
    """Four panels: latency histogram, CPU, RSS + active calls, loop lag.

    Args:
        data: The run's JSON document (as written by ``bench calls``).
        path: Where to write the PNG.

    Returns:
        ``path``.
    """
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    samples, scrapes = data["timeline"]["samples"], data["timeline"]["scrapes"]
    _latency_panel(axes[0][0], data["turns_detail"])
    _cpu_panel(axes[0][1], samples, int(data["machine"]["cpus"] or 1))
    _rss_panel(axes[1][0], samples, scrapes)
    _lag_panel(axes[1][1], scrapes)
    fig.suptitle(f"Switchboard: {data['calls']} calls x {data['turns']} turns "
                 f"({data['transport']}) {data['timestamp']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_sequential(data: dict[str, Any], path: Path) -> Path:
    """Launcher RSS after each sequential call, with the growth target drawn in."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    rss = data["rss_after_call_mb"]
    ax.plot(range(1, len(rss) + 1), rss, marker=".", color="tab:red", label="after call")
    start = data["summary"]["rss_start_mb"]
    ax.axhline(start, color="gray", linestyle=":", label="before the first call")
    ax.axhline(start + data["summary"]["target_growth_mb"], color="black", linestyle="--",
               linewidth=0.8, label="target growth")
    ax.set_xlabel("calls completed")
    ax.set_ylabel("launcher RSS (MB)")
    ax.set_title(f"Launcher RSS over {len(rss)} sequential calls {data['timestamp']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
