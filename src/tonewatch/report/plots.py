"""Timeline plot per client: flagged turns per week, stacked by family, over client traffic.

Drawn with matplotlib's object API (no pyplot state, no GUI backend) as SVG text to inline in
the page: no image files, no server, no network. One figure is reused for every client
(building axes and ticks dominates the cost of a small plot); text stays text
(``svg.fonttype = "none"``) so the page's own fonts render it. Settings apply through
``rc_context`` only, leaving the process's matplotlib defaults alone. The plot carries no
message text, only dates and counts.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from typing import Any

from tonewatch.aggregate import WeekRow
from tonewatch.aggregate.counts import FAMILIES

# Colour-blind-safe (Okabe-Ito), one per family in FAMILIES order.
FAMILY_COLOURS = {
    "abuse": "#D55E00",
    "leverage": "#CC79A7",
    "demands": "#E69F00",
    "honesty": "#009E73",
    "payment": "#0072B2",
    "cooperation": "#56B4E9",
}
TRAFFIC_COLOUR = "#555555"
_BAR = 0.7
_SVG_START = re.compile(r"<svg\b")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)  # RDF boilerplate, not needed
_RC = {"svg.fonttype": "none", "svg.hashsalt": "tonewatch", "font.size": 8}


@functools.cache
def _canvas() -> tuple[Any, Any, Any, Any]:
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7.2, 2.3), dpi=100)
    figure.subplots_adjust(left=0.06, right=0.99, top=0.95, bottom=0.16)
    axes = figure.add_subplot()
    bars = PolyCollection([], linewidths=0)
    axes.add_collection(bars)
    (traffic,) = axes.plot([], [], color=TRAFFIC_COLOUR, linewidth=1.2, marker="o", markersize=2.5)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of turns
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes, bars, traffic


def _tick_labels(weeks: Sequence[WeekRow]) -> tuple[list[int], list[str]]:
    step = max(1, -(-len(weeks) // 12))  # at most ~12 labels
    ticks = list(range(0, len(weeks), step))
    return ticks, [weeks[i].week.strftime("%d %b") for i in ticks]


def _stacks(weeks: Sequence[WeekRow]) -> tuple[list[list[tuple[float, float]]], list[str], int]:
    polygons, colours, top = [], [], 0
    for x, row in enumerate(weeks):
        bottom = 0
        for family in FAMILIES:
            height = row.flagged[family]
            if height:
                left, right = x - _BAR / 2, x + _BAR / 2
                polygons.append(
                    [
                        (left, bottom),
                        (right, bottom),
                        (right, bottom + height),
                        (left, bottom + height),
                    ]
                )
                colours.append(FAMILY_COLOURS[family])
                bottom += height
        top = max(top, bottom, row.turns)
    return polygons, colours, top


def timeline_svg(weeks: Sequence[WeekRow]) -> str:
    """An ``<svg>`` element (no XML prologue) for the client's weeks; "" without weeks."""
    if not weeks:
        return ""
    from matplotlib import rc_context

    with rc_context(_RC):
        figure, axes, bars, traffic = _canvas()
        polygons, colours, top = _stacks(weeks)
        bars.set_verts(polygons)
        bars.set_facecolors(colours or ["none"])
        traffic.set_data(range(len(weeks)), [row.turns for row in weeks])
        axes.set_xlim(-0.6, len(weeks) - 0.4)
        axes.set_ylim(0, max(1, top) * 1.12)
        axes.set_xticks(*_tick_labels(weeks))
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _METADATA.sub("", buffer.getvalue(), count=1)
    start = _SVG_START.search(svg)
    return svg[start.start() :] if start else svg
