"""Timeline plot per client: flagged turns per week, stacked by family, over client traffic.

Drawn with matplotlib's object API (no pyplot state, no GUI backend) as SVG text to inline in
the page: no image files, no server, no network. One figure is reused for every client
(building axes and ticks dominates the cost of a small plot); text stays text
(``svg.fonttype = "none"``) so the page's own fonts render it. The SVG settings apply
during each savefig only, leaving the process's matplotlib defaults alone. The plot carries no
message text, only dates and counts.
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
MAX_X_LABELS = 8
MAX_Y_LABELS = 4
_SVG_START = re.compile(r"<svg\b")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)  # RDF boilerplate, not needed
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "tonewatch"}  # text as text; stable ids
_FONT_SIZE = 8


@dataclass(frozen=True, slots=True)
class _Canvas:
    """One figure drawn over and over: artists are updated, never rebuilt."""

    figure: Any
    axes: Any
    bars: Any
    traffic: Any
    grid: Any
    x_labels: list[Any]
    y_labels: list[Any]


@functools.cache
def _canvas() -> _Canvas:
    # The axes' own tick machinery (a Tick object of five artists per tick, label-overlap
    # checks) is most of the cost of a small plot; the few labels and grid lines a weekly
    # timeline needs are drawn as plain artists instead, about 4x faster.
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 2.3), dpi=100)
    axes = figure.add_axes((0.055, 0.14, 0.935, 0.82))
    axes.set_axis_off()
    grid = LineCollection([], colors="#dddddd", linewidths=0.6, zorder=0)
    bars = PolyCollection([], linewidths=0, zorder=1)
    axes.add_collection(grid)
    axes.add_collection(bars)
    axes.axhline(0, color="#333333", linewidth=0.8, zorder=2)
    (traffic,) = axes.plot(
        [], [], color=TRAFFIC_COLOUR, linewidth=1.2, marker="o", markersize=2.5, zorder=3
    )
    x_labels = [
        axes.text(
            0,
            -0.03,
            "",
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=_FONT_SIZE,
        )
        for _ in range(MAX_X_LABELS)
    ]
    y_labels = [
        axes.text(
            -0.008,
            0,
            "",
            transform=axes.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=_FONT_SIZE,
        )
        for _ in range(MAX_Y_LABELS + 1)
    ]
    return _Canvas(figure, axes, bars, traffic, grid, x_labels, y_labels)


Series = tuple[tuple[Any, ...], ...]  # per week: (monday, client turns, *flagged per family)


@contextlib.contextmanager
def _svg_settings() -> Iterator[None]:
    """The SVG settings for one savefig, then the process's own back (``rc_context`` would
    copy and re-validate every rcParam on each plot: a quarter of a small plot's cost)."""
    from matplotlib import rcParams

    saved = {key: rcParams[key] for key in _SVG_RC}
    rcParams.update(_SVG_RC)
    try:
        yield
    finally:
        rcParams.update(saved)


def _y_ticks(top: int) -> list[int]:
    """Round integer ticks (steps 1, 2, 5, 10, 20, ...) from 0 to at least ``top``."""
    for exponent in itertools.count():
        for mantissa in (1, 2, 5):
            step = mantissa * 10**exponent
            if -(-top // step) <= MAX_Y_LABELS:
                return list(range(0, top + step, step))
    raise AssertionError("unreachable")  # pragma: no cover


def _label(texts: list[Any], positions: list[tuple[float, str]], axis: str) -> None:
    for text, position in zip(
        texts, positions + [None] * (len(texts) - len(positions)), strict=True
    ):
        text.set_visible(position is not None)
        if position is not None:
            value, label = position
            text.set_text(label)
            text.set_x(value) if axis == "x" else text.set_y(value)


def _stacks(series: Series) -> tuple[list[list[tuple[float, float]]], list[str], int]:
    polygons, colours, top = [], [], 0
    for x, (_, turns, *flagged) in enumerate(series):
        bottom = 0
        for family, height in zip(FAMILIES, flagged, strict=True):
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
        top = max(top, bottom, turns)
    return polygons, colours, top


def timeline_svg(weeks: Sequence[WeekRow]) -> str:
    """An ``<svg>`` element (no XML prologue) for the client's weeks; "" without weeks."""
    if not weeks:
        return ""
    return _timeline_svg(
        tuple((row.week, row.turns, *(row.flagged[f] for f in FAMILIES)) for row in weeks)
    )


@functools.lru_cache(maxsize=1024)
def _timeline_svg(series: Series) -> str:
    """Memoised on the plotted values: clients with the same weekly counts share a plot."""
    with _svg_settings():
        canvas = _canvas()
        polygons, colours, top = _stacks(series)
        canvas.bars.set_verts(polygons)
        canvas.bars.set_facecolors(colours or ["none"])
        canvas.traffic.set_data(range(len(series)), [turns for _, turns, *_ in series])
        ticks = _y_ticks(max(1, top))
        right = len(series) - 0.4
        canvas.axes.set_xlim(-0.6, right)
        canvas.axes.set_ylim(0, ticks[-1] * 1.06)
        canvas.grid.set_segments([[(-0.6, y), (right, y)] for y in ticks[1:]])
        _label(canvas.y_labels, [(y, str(y)) for y in ticks], "y")
        step = max(1, -(-len(series) // MAX_X_LABELS))
        weeks = [(x, series[x][0].strftime("%d %b")) for x in range(0, len(series), step)]
        _label(canvas.x_labels, weeks, "x")
        buffer = io.StringIO()
        canvas.figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _METADATA.sub("", buffer.getvalue(), count=1)
    start = _SVG_START.search(svg)
    return svg[start.start() :] if start else svg
