"""POST /v1/score and POST /v1/conversations:score: the classify contract over HTTP."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from tonewatch.api.deps import ApiState, AuthCaller, State, charge
from tonewatch.api.errors import ApiError, error_responses
from tonewatch.api.models import (
    ConversationRequest,
    ConversationScoreResponse,
    ScoreRequest,
    ScoreResponse,
)
from tonewatch.classify.pipeline import TurnText
from tonewatch.ingest.langid import UND
from tonewatch.schema import Turn

router = APIRouter(prefix="/v1", tags=["score"])
ERRORS = error_responses(400, 401, 403, 413, 415, 422, 429)


def json_response(body: BaseModel) -> Response:
    """Serialised once by pydantic-core: FastAPI would re-validate the model, build a dict and
    run json.dumps on it (the response model still documents the route)."""
    return Response(content=body.model_dump_json(), media_type="application/json")


def check_turn_count(state: ApiState, count: int, field: str) -> None:
    limit = state.config.api.max_turns_per_request
    if count > limit:
        raise ApiError(
            422,
            "too_many_turns",
            f"{count} turns in one request; the limit is {limit}: split the request",
            field,
        )


def request_lang(state: ApiState, lang: str | None, field: str) -> str:
    """A caller's language code, normalised (``en-GB`` -> ``en``); "" means detect it."""
    if lang is None or lang == "":
        return ""
    code = lang.strip().replace("_", "-").split("-")[0].lower()
    if code == UND:
        return UND
    if code not in state.engine.languages:
        raise ApiError(
            422,
            "unsupported_language",
            f"language {lang!r} is not supported; supported: {', '.join(state.engine.languages)} "
            "(or leave lang out to detect it)",
            field,
        )
    return code


def turn_texts(turns: Sequence[Turn]) -> list[TurnText]:
    # Ingest writes "und" where it could not tell: detect again (short turns stay "und").
    return [TurnText(t.id, t.text, "" if t.lang == UND else t.lang, t.role.value) for t in turns]


@router.post(
    "/score",
    response_model=ScoreResponse,
    responses=ERRORS,
    summary="Score one or many turns",
    description="Twelve red-flag scores, reported flags with evidence spans and tone for "
    "each turn, exactly as `tonewatch classify` writes them.",
)
async def score(body: ScoreRequest, request: Request, state: State, caller: AuthCaller) -> Response:
    check_turn_count(state, len(body.turns), "turns")
    seen: dict[str, int] = {}
    items = []
    for i, turn in enumerate(body.turns):
        if turn.id in seen:
            raise ApiError(
                422,
                "duplicate_id",
                f"id {turn.id!r} repeats turns[{seen[turn.id]}].id",
                f"turns[{i}].id",
            )
        seen[turn.id] = i
        lang = request_lang(state, turn.lang, f"turns[{i}].lang")
        items.append(TurnText(turn.id, turn.text, lang, turn.role.value))
    charge(request, state, caller, len(items))
    results = await state.engine.score_turns(items)
    return json_response(ScoreResponse(model=state.engine.model_id, results=results))


@router.post(
    "/conversations:score",
    response_model=ConversationScoreResponse,
    responses=ERRORS,
    summary="Score every turn of a conversation",
    description="Takes a Conversation as `tonewatch ingest` writes it; staff turns are scored "
    "but never flagged.",
)
async def score_conversation(
    body: ConversationRequest, request: Request, state: State, caller: AuthCaller
) -> Response:
    check_turn_count(state, len(body.turns), "turns")
    charge(request, state, caller, len(body.turns))
    results = await state.engine.score_turns(turn_texts(body.turns))
    return json_response(
        ConversationScoreResponse(
            conversation=body.id, model=state.engine.model_id, results=results
        )
    )
