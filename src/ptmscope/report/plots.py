"""The report's charts: matplotlib figures rendered to inline SVG (no pyplot, so no GUI backend and no
global figure state; no network).

Every function takes plain data and returns the ``<svg>`` element as text, so the HTML report carries its
charts inside itself. Text stays text in the SVG (``svg.fonttype = none``): smaller files, and the browser
renders labels with the page's own fonts.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from .tables import human_count

DOMAIN_COLOURS = {"NLP": "#4e79a7", "CV": "#f28e2b", "Audio": "#59a14f", "Multimodal": "#b07aa1", "RL": "#e15759",
                  "Tabular": "#76b7b2", "Other": "#9c755f", "(unknown)": "#bab0ac"}
EXTRA_COLOURS = ("#edc948", "#ff9da7", "#86bcb6", "#d37295", "#a0cbe8", "#8cd17d")
SEVERITY_COLOURS = {"critical": "#8b1a1a", "high": "#d64545", "medium": "#f0a030", "low": "#9fb8d0"}
VERDICT_COLOURS = {"compatible": "#3b7dd8", "incompatible": "#d64545", "unknown": "#b8b8b8"}
HUB_COLOURS = {"huggingface": "#f2b705", "pytorch_hub": "#ee4c2c"}
INK = "#333333"

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none", "svg.hashsalt": "ptmscope", "font.family": "sans-serif", "font.size": 10,
    "axes.edgecolor": "#888888", "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK,
    "axes.spines.top": False, "axes.spines.right": False}


def colour_for(domain: str, index: int = 0) -> str:
    return DOMAIN_COLOURS.get(domain, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.index("<svg")
    # The RDF metadata block names vocabularies by URL; the report should reference no outside address.
    svg = re.sub(r"<metadata>.*?</metadata>", "", text[start:], flags=re.DOTALL)
    return svg.replace("<svg", '<svg class="chart" role="img"', 1)


def _figure(width: float, height: float, *, panels: bool = False) -> Figure:
    # Single-axes charts are cropped by bbox_inches="tight" alone; a layout engine only pays for itself
    # (about half the rendering time) where panels must not overlap.
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained" if panels else None)


def hbar(labels: Sequence[str], values: Sequence[float], *, xlabel: str, percent: bool = True,
         annotations: Sequence[str] | None = None, colour: str = "#4e79a7") -> str:
    """Horizontal bars, first label on top (shares of models with each field, and the like)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(8.5, 0.3 * len(labels) + 0.9)
        ax = fig.add_subplot()
        y = list(range(len(labels)))
        ax.barh(y, values, color=colour, height=0.7)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        top = max([*values, 1e-9])
        if percent:
            ax.set_xlim(0, 100 * 1.12)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}%"))
        else:
            ax.set_xlim(0, top * 1.15)
        notes = annotations or [f"{v:.1f}%" if percent else f"{v:,.0f}" for v in values]
        for yi, value, note in zip(y, values, notes, strict=True):
            ax.text(value + (100 if percent else top) * 0.01, yi, note, va="center", fontsize=8, color=INK)
        return _svg(fig)


def shares_per_hub(data: Mapping[str, Sequence[tuple[str, float, int]]], *, xlabel: str,
                   totals: Mapping[str, int] | None = None) -> str:
    """One panel per hub: the share of each domain (bars), with the count beside each bar. ``totals`` gives
    each panel's count where the bars overlap (a repository loading two domains), else the bars add up."""
    hubs = list(data)
    rows = max(len(v) for v in data.values())
    with matplotlib.rc_context(_RC):
        fig = _figure(4.8 * len(hubs), 0.32 * rows + 1.2, panels=True)
        axes = fig.subplots(1, len(hubs), squeeze=False)[0]
        for ax, hub in zip(axes, hubs, strict=True):
            items = data[hub]
            y = list(range(len(items)))
            ax.barh(y, [p for _, p, _ in items], color=[colour_for(d, i) for i, (d, _, _) in enumerate(items)],
                    height=0.7)
            ax.set_yticks(y, [d for d, _, _ in items])
            ax.set_ylim(rows - 0.5, -0.5)  # the same bar thickness in every panel, first domain on top
            ax.set_xlim(0, 118)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}%"))
            total = totals[hub] if totals is not None else sum(n for _, _, n in items)
            ax.set_title(f"{hub} ({total:,})", fontsize=10, color=INK)
            ax.set_xlabel(xlabel)
            for yi, (_, share, n) in zip(y, items, strict=True):
                ax.text(share + 1.5, yi, f"{share:.1f}% ({n:,})", va="center", fontsize=8, color=INK)
        return _svg(fig)


def _period_ticks(ax: object, periods: Sequence[str]) -> None:
    step = max(1, len(periods) // 12)
    ticks = list(range(0, len(periods), step))
    ax.set_xticks(ticks, [periods[i] for i in ticks], rotation=45, ha="right")  # type: ignore[attr-defined]


def _legend_above(ax: Any, entries: int) -> None:
    # Above the axes, so it never hides a bar or a line however the data falls.
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), frameon=False, fontsize=8, ncols=min(8, max(entries, 1)))


def stacked_over_time(periods: Sequence[str], series: Mapping[str, Sequence[float]], *, ylabel: str) -> str:
    """Stacked bars per period, one colour per series (models created per domain)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(10.5, 4.0)
        ax = fig.add_subplot()
        x = list(range(len(periods)))
        bottom = [0.0] * len(periods)
        for i, (name, values) in enumerate(series.items()):
            ax.bar(x, values, bottom=bottom, color=colour_for(name, i), label=name, width=0.85)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        _period_ticks(ax, periods)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        _legend_above(ax, len(series))
        ax.set_ylim(0, max([*bottom, 1]) * 1.05)
        return _svg(fig)


def lines_over_time(periods: Sequence[str], series: Mapping[str, Sequence[float | None]], *, ylabel: str,
                    log: bool = False) -> str:
    """One line per series over the periods; a missing value breaks the line (no model of that kind then)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(10.5, 4.0)
        ax = fig.add_subplot()
        x = list(range(len(periods)))
        for i, (name, values) in enumerate(series.items()):
            ys = [float("nan") if v is None else v for v in values]
            ax.plot(x, ys, marker="o", markersize=3.5, linewidth=1.6, color=colour_for(name, i), label=name)
        _period_ticks(ax, periods)
        if log:
            ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: human_count(v)))
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        _legend_above(ax, len(series))
        return _svg(fig)


def severity_bars(groups: Sequence[str], counts: Mapping[str, Sequence[float]], *, xlabel: str) -> str:
    """Horizontal stacked bars per group, one segment per severity (worst first)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(9, 0.4 * len(groups) + 1.2)
        ax = fig.add_subplot()
        y = list(range(len(groups)))
        left = [0.0] * len(groups)
        for severity, values in counts.items():
            ax.barh(y, values, left=left, color=SEVERITY_COLOURS.get(severity, "#999999"), label=severity,
                    height=0.65)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(y, groups)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, fontsize=8, ncols=len(counts))
        ax.set_xlim(0, max([*left, 1e-9]) * 1.1)
        return _svg(fig)


def sankey(flows: Sequence[tuple[str, str, str, int]], *, left_title: str, right_title: str) -> str:
    """A two-column flow diagram drawn with patches (not matplotlib.sankey, which draws one-node flows):
    nodes are stacked rectangles sized by their total, each flow a band between its two nodes, coloured by
    ``flows[i][2]`` (a verdict). Flows are (left, right, verdict, weight)."""
    left: dict[str, int] = {}
    right: dict[str, int] = {}
    for a, b, _, n in flows:
        left[a] = left.get(a, 0) + n
        right[b] = right.get(b, 0) + n
    total = sum(left.values())
    gap = total * 0.025
    nodes = max(len(left), len(right))
    height = total + gap * (nodes - 1)

    def place(sizes: dict[str, int]) -> dict[str, float]:
        # Top-down, biggest first; the column is centred when it has fewer nodes than the other.
        names = sorted(sizes, key=lambda k: (-sizes[k], k))
        y = height - (height - (sum(sizes.values()) + gap * (len(names) - 1))) / 2
        tops = {}
        for name in names:
            tops[name] = y
            y -= sizes[name] + gap
        return tops

    ltop, rtop = place(left), place(right)
    lnext, rnext = dict(ltop), dict(rtop)
    x0, x1, w = 0.0, 1.0, 0.04
    with matplotlib.rc_context(_RC):
        fig = _figure(10.5, max(3.0, 0.42 * nodes + 1.0))
        ax = fig.add_subplot()
        order = sorted(flows, key=lambda f: (-left[f[0]], f[0], -right[f[1]], f[1]))
        for a, b, verdict, n in order:
            ya, yb = lnext[a], rnext[b]
            lnext[a] -= n
            rnext[b] -= n
            xa, xb = x0 + w, x1 - w
            mid = (xa + xb) / 2
            verts = [(xa, ya), (mid, ya), (mid, yb), (xb, yb), (xb, yb - n), (mid, yb - n), (mid, ya - n),
                     (xa, ya - n), (xa, ya)]
            codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO, MplPath.CURVE4,
                     MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
            ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=VERDICT_COLOURS.get(verdict, "#b8b8b8"),
                                   alpha=0.55, edgecolor="none"))
        for tops, sizes, x, align, dx in ((ltop, left, x0, "right", -0.01), (rtop, right, x1 - w, "left", w + 0.01)):
            for name, top in tops.items():
                ax.add_patch(Rectangle((x, top - sizes[name]), w, sizes[name], facecolor="#555555"))
                ax.text(x + dx, top - sizes[name] / 2, f"{name} ({sizes[name]:,})", ha=align, va="center",
                        fontsize=8.5, color=INK)
        ax.text(x0 + w / 2, height + gap * 1.2, left_title, ha="center", va="bottom", fontsize=9.5, weight="bold")
        ax.text(x1 - w / 2, height + gap * 1.2, right_title, ha="center", va="bottom", fontsize=9.5, weight="bold")
        for verdict, colour in VERDICT_COLOURS.items():
            ax.add_patch(Rectangle((0, 0), 0, 0, facecolor=colour, alpha=0.55, label=verdict))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.01), frameon=False, fontsize=8, ncols=3)
        ax.set_xlim(-0.45, 1.45)
        ax.set_ylim(-gap, height + gap * 3)
        ax.axis("off")
        return _svg(fig)
