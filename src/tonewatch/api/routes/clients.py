"""POST /v1/clients:report: conversations in, one ClientReport per client key out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tonewatch.aggregate import aggregate
from tonewatch.api.deps import AuthCaller, State, charge
from tonewatch.api.errors import error_responses
from tonewatch.api.models import ClientsReportRequest, ClientsReportResponse
from tonewatch.api.routes.score import check_turn_count, turn_texts

router = APIRouter(prefix="/v1", tags=["clients"])


@router.post(
    "/clients:report",
    response_model=ClientsReportResponse,
    responses=error_responses(400, 401, 403, 413, 415, 422, 429),
    summary="Per-client pattern reports",
    description="Classifies every turn of the posted conversations and folds them per client "
    "key: flag counts, incident vs pattern per family, trend, behavioural signals, risk and "
    "cited evidence (the elements of `clients.json`).",
)
async def clients_report(
    body: ClientsReportRequest, request: Request, state: State, caller: AuthCaller
) -> ClientsReportResponse:
    turns = [turn for conversation in body.conversations for turn in conversation.turns]
    check_turn_count(state, len(turns), "conversations")
    charge(request, state, caller, len(turns))
    results = await state.engine.score_turns(turn_texts(turns))
    pairs, start = [], 0
    for conversation in body.conversations:
        pairs.append((conversation, results[start : start + len(conversation.turns)]))
        start += len(conversation.turns)
    reports = await run_in_threadpool(aggregate, pairs, state.config.aggregate, as_of=body.as_of)
    return ClientsReportResponse(
        model=state.engine.model_id,
        conversations=len(body.conversations),
        turns=len(turns),
        clients=reports,
    )
