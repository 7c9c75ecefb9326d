"""PNG plots for docs/benchmarks.md, drawn from the raw numbers the areas recorded: search
latency against corpus size, the gateway's overhead distribution, and RSS and p99 over the
soak. Each plot is linked under its area."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

from ._harness import Area, p95_of


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _finish(fig: Any, ax: Any, path: Path, title: str, xlabel: str) -> None:
    """A log-x plot against its target line: labels, legend, file."""
    ax.set_xscale("log")
    ax.set_xlabel(f"{xlabel}, log scale")
    ax.set_title(title)
    ax.legend()
    _save(fig, path)


def _rag(area: Area, path: Path) -> bool:
    sizes = sorted(int(k.rsplit("_", 1)[1]) for k in area.raw if k.startswith("search_ms_"))
    if not sizes:
        return False
    data = [area.raw[f"search_ms_{s}"] for s in sizes]
    p50 = [statistics.median(d) for d in data]
    p95 = [p95_of(d) for d in data]  # as the RAG table computes them
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(sizes, p50, marker="o", label="p50")
    ax.plot(sizes, p95, marker="o", label="p95")
    ax.axhline(25, color="grey", linestyle="--", label="target p95 at 100k (25 ms)")
    ax.set_ylabel("search over HTTP (ms)")
    _finish(fig, ax, path, "RAG search latency against corpus size", "chunks in the workspace")
    return True


def _gateway(area: Area, path: Path) -> bool:
    series = {k: v for k, v in area.raw.items() if k.startswith("overhead ") and v}
    if not series:
        return False
    low = max(0.01, min(min(v) for v in series.values()))
    high = max(max(v) for v in series.values())
    bins = list(np.logspace(np.log10(low), np.log10(high), 50))  # even widths on a log axis
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in sorted(series.items()):
        ax.hist(values, bins=bins, alpha=0.6, label=name.removeprefix("overhead "))
    ax.axvline(1, color="grey", linestyle="--", label="target (1 ms)")
    ax.set_ylabel("requests")
    _finish(fig, ax, path, "Provider gateway overhead distribution", "X-Vibe-Overhead-Ms (ms)")
    return True


def _soak(area: Area, path: Path) -> bool:
    rss, p99 = area.raw.get("rss_mib"), area.raw.get("p99_ms")
    if not rss or not p99:
        return False
    start = min(rss[0][0], p99[0][0])
    fig, left = plt.subplots(figsize=(7, 4))
    left.plot([t - start for t, _ in rss], [v for _, v in rss], color="tab:blue", label="API RSS")
    left.set_xlabel("seconds into the soak")
    left.set_ylabel("API RSS (MiB)", color="tab:blue")
    right = left.twinx()
    right.plot([t - start for t, _ in p99], [v for _, v in p99], color="tab:red", label="p99")
    right.set_ylabel("p99 latency, all requests (ms)", color="tab:red")
    left.set_title("Soak: RSS and p99 over time")
    _save(fig, path)
    return True


PLOTS = {
    "RAG": ("rag-latency-vs-corpus.png", _rag),
    "Provider gateway": ("gateway-overhead.png", _gateway),
    "Soak": ("soak-rss-p99.png", _soak),
}


def render(areas: list[Area], folder: Path) -> list[Path]:
    """Draw what the areas' raw numbers allow; link each plot as a note of its area."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for area in areas:
        for prefix, (name, draw) in PLOTS.items():
            if area.title.startswith(prefix) and draw(area, folder / name):
                link = f"![{area.title}]({folder.name}/{name})"
                if link not in area.notes:  # a kept area has its link from the last report
                    area.notes.append(link)
                written.append(folder / name)
    return written
