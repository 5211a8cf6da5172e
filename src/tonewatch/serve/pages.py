"""Jinja2 templates of the review UI: autoescaped, strict, with the report's helpers.

Message text, names, subjects and file names are hostile input. They reach the page only
through autoescaping; the one piece of markup built in Python is the ``<mark>`` around
evidence spans (``tonewatch.report.html.highlight``, which escapes every segment).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from tonewatch.aggregate import WeekRow
from tonewatch.aggregate.counts import FAMILIES
from tonewatch.report.html import highlight, label_name, num, when
from tonewatch.schema import FAMILY_OF, LABELS, TONES
from tonewatch.serve.store import models as m
from tonewatch.serve.store.convert import local_time, valid_spans

CHANNELS = ("email", "chat", "call")
VERDICTS = ("pattern", "incident", "none")
_plot_lock = threading.Lock()  # the report's plot reuses one matplotlib figure


def turn_html(turn: m.Turn, flags: Sequence[m.Flag]) -> Markup:
    """The turn's text, escaped, with the spans of its standing flags marked."""
    spans = [
        (s, e, f.label)
        for f in flags
        if f.status != "rejected"
        for s, e in valid_spans(turn.text, f.evidence)
    ]
    return highlight(turn.text, spans)


def turn_time(turn: m.Turn) -> str:
    return when(local_time(turn.at, turn.utc_offset))


def utc_day(value: datetime | date | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def utc_minute(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def timeline(weeks: list[list[Any]]) -> str:
    from tonewatch.report.plots import timeline_svg

    rows = [WeekRow(date.fromisoformat(w), turns, flagged) for w, turns, flagged in weeks]
    with _plot_lock:
        svg = timeline_svg(rows)
    if svg and "xmlns=" not in svg[:200]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return svg


@functools.cache
def label_options(exclude: str = "") -> Markup:
    """The ``<option>``s of a label select (built once: a page has one per flag and turn)."""
    return Markup("").join(
        Markup('<option value="{}">{}</option>').format(label, label_name(label))
        for label in LABELS
        if label != exclude
    )


@functools.cache
def tone_options(current: str | None) -> Markup:
    blank = Markup('<option value="" selected disabled>tone…</option>') if not current else ""
    return blank + Markup("").join(
        Markup('<option value="{0}"{1}>{0}</option>').format(
            tone, Markup(" selected") if tone == current else ""
        )
        for tone in TONES
    )


def top_scores(scores: dict[str, float] | None, n: int = 3) -> list[tuple[str, float]]:
    return sorted((scores or {}).items(), key=lambda kv: -kv[1])[:n]


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tonewatch.serve", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the package: no stat() of the file per render (the conversation
        # page includes _turn.html once per turn, and each include checked the file again).
        auto_reload=False,
    )
    env.filters.update(
        label=label_name,
        num=num,
        turn_time=turn_time,
        day=utc_day,
        minute=utc_minute,
        top_scores=top_scores,
    )
    env.globals.update(
        LABELS=LABELS,
        TONES=TONES,
        FAMILIES=FAMILIES,
        FAMILY_OF=FAMILY_OF,
        CHANNELS=CHANNELS,
        VERDICTS=VERDICTS,
        turn_html=turn_html,
        label_options=label_options,
        tone_options=tone_options,
    )
    return env


@functools.cache
def templates() -> Jinja2Templates:
    return Jinja2Templates(env=environment())


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A page; the template sees ``user`` and ``csrf`` of the request's login, if any."""
    login: m.LoginSession | None = getattr(request.state, "login", None)
    base = {"user": login.user if login else None, "csrf": login.csrf if login else ""}
    return templates().TemplateResponse(request, name, {**base, **context}, status_code=status_code)
