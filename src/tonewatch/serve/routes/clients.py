"""The client list (ranked by risk, filtered, paginated) and a client's page."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tonewatch.aggregate.counts import FAMILIES
from tonewatch.schema import LABELS
from tonewatch.serve.deps import CurrentUser, DbSession, State
from tonewatch.serve.pages import CHANNELS, VERDICTS, render, timeline
from tonewatch.serve.store.queries import ClientFilter, client_page, evidence_turns, list_clients

router = APIRouter()
Text = Annotated[str, Query(max_length=200)]


def _date(value: str, name: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{name}: {value!r} is not a date (YYYY-MM-DD); ignored")
        return None


def _choice(value: str, allowed: tuple[str, ...], name: str, problems: list[str]) -> str | None:
    if value and value not in allowed:
        problems.append(f"{name}: {value!r} is not one of {', '.join(allowed)}; ignored")
        return None
    return value or None


@router.get("/")
def home(_user: CurrentUser) -> RedirectResponse:
    return RedirectResponse("/clients", status_code=303)


@router.get("/clients", response_class=HTMLResponse)
def clients(
    request: Request,
    state: State,
    db: DbSession,
    _user: CurrentUser,
    lang: Text = "",
    flag: Text = "",
    family: Text = "",
    channel: Text = "",
    since: Text = "",
    until: Text = "",
    verdict: Text = "",
    review: Text = "",
    q: Text = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    problems: list[str] = []
    languages = tuple(state.config.ingest.languages) + ("und",)
    filters = ClientFilter(
        lang=_choice(lang, languages, "language", problems),
        flag=_choice(flag, LABELS, "flag", problems),
        family=_choice(family, FAMILIES, "family", problems),
        channel=_choice(channel, CHANNELS, "channel", problems),
        since=_date(since, "from", problems),
        until=_date(until, "to", problems),
        verdict=_choice(verdict, VERDICTS, "verdict", problems),
        review=_choice(review, ("open",), "review", problems),
        q=q.strip() or None,
    )
    found = list_clients(db, filters, page, state.config.serve.page_size)
    return render(
        request,
        "clients.html",
        {"page": found, "filters": filters, "languages": languages, "problems": problems},
    )


@router.get("/clients/{client_id}", response_class=HTMLResponse)
def client(
    request: Request,
    db: DbSession,
    _user: CurrentUser,
    client_id: int,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    found = client_page(db, client_id, page, 50)
    if found is None:
        raise HTTPException(404, f"client {client_id} does not exist")
    row, conversations = found
    evidence = evidence_turns(db, row.detail.get("evidence", []))
    return render(
        request,
        "client.html",
        {"client": row, "report": row.report, "detail": row.detail, "page": conversations,
         "evidence": evidence},
    )  # fmt: skip


@router.get("/clients/{client_id}/timeline.svg")
def client_timeline(db: DbSession, _user: CurrentUser, client_id: int) -> Response:
    found = client_page(db, client_id, 1, 1)
    if found is None or not found[0].detail.get("weeks"):
        raise HTTPException(404, "no timeline for this client")
    return Response(
        timeline(found[0].detail["weeks"]),
        media_type="image/svg+xml",
        headers={"cache-control": "private, max-age=60"},
    )
