"""Jinja2 environment for the pages: autoescaped, with the filters the templates use.

Message text is hostile input (anyone can email a support desk), so every value reaches the
page escaped by Jinja's autoescape; the only markup built in Python is the ``<mark>`` around
evidence spans, whose segments are escaped one by one (``highlight``). Pages also carry a
Content-Security-Policy that forbids scripts and remote loads, should anything slip through.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from tonewatch.report.plots import FAMILY_COLOURS
from tonewatch.schema import FAMILY_OF

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def client_slug(client: str) -> str:
    """A file name for the client's page: readable ASCII prefix plus a hash (keys may be
    addresses, phone numbers or names in any script; the hash keeps them distinct)."""
    readable = _UNSAFE.sub("-", client.lower()).strip("-.")[:40] or "client"
    return f"{readable}-{hashlib.sha1(client.encode()).hexdigest()[:8]}"


def highlight(text: str, spans: Sequence[tuple[int, int, str]]) -> Markup:
    """``text`` escaped, with each evidence span wrapped in ``<mark>`` (overlaps merged)."""
    merged: list[list] = []
    for start, end, label in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end:
            continue
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].add(label)
        else:
            merged.append([start, end, {label}])
    out, cursor = [], 0
    for start, end, labels in merged:
        out.append(escape(text[cursor:start]))
        names = ", ".join(sorted(label.replace("_", " ") for label in labels))
        family = FAMILY_OF.get(sorted(labels)[0], "abuse")
        out.append(
            Markup('<mark class="f-{}" title="{}">{}</mark>').format(
                family, names, escape(text[start:end])
            )
        )
        cursor = end
    out.append(escape(text[cursor:]))
    return Markup("").join(out)


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A timestamp as the client saw it, with its UTC offset."""
    if value is None:
        return "—"
    offset = value.strftime("%z")
    return (
        f"{value.strftime(fmt)} (UTC{offset[:3]}:{offset[3:]})" if offset else value.strftime(fmt)
    )


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def label_name(label: str) -> str:
    return str(label).replace("_", " ")


def md(text: object) -> str:
    """Text safe inside Markdown: specials backslash-escaped, HTML neutralised, one line."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(_MD_SPECIAL.sub(r"\\\1", text).split())


def code(text: object) -> str:
    """Text safe inside a Markdown code span."""
    return " ".join(str(text).replace("`", "'").split())


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tonewatch.report", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when, day=day, num=num, label=label_name, highlight=highlight, md=md, code=code
    )
    env.globals.update(CSP=CSP, FAMILY_COLOURS=FAMILY_COLOURS, slug=client_slug)
    return env
