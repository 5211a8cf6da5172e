"""GET /v1/health (no key needed) and GET /v1/model."""

from __future__ import annotations

import time

from fastapi import APIRouter

from tonewatch import __version__
from tonewatch.api.deps import AuthCaller, State
from tonewatch.api.errors import error_responses
from tonewatch.api.models import Health, ModelInfo, PerspectiveInfo
from tonewatch.api.perspective_map import TW_ATTRIBUTES

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/health", response_model=Health, summary="Liveness and the loaded model")
async def health(state: State) -> Health:
    return Health(
        status="ok",
        model=state.engine.model_id,
        version=__version__,
        uptime_s=round(time.monotonic() - state.started, 3),
        pending_jobs=state.engine.batcher.pending,
        model_calls=state.engine.batcher.batches,
        turns_scored=state.engine.batcher.items,
    )


@router.get(
    "/model",
    response_model=ModelInfo,
    responses=error_responses(401, 403),
    summary="The loaded model's metadata",
)
async def model(state: State, caller: AuthCaller) -> ModelInfo:
    meta = state.engine.classifier.model.meta
    mapping = state.perspective
    attributes = sorted(mapping.attributes) if mapping else []
    return ModelInfo(
        id=state.engine.model_id,
        name=meta["name"],
        version=str(meta["version"]),
        tier=meta["tier"],
        taxonomy_version=str(meta["taxonomy_version"]),
        labels=list(meta["labels"]),
        tones=list(meta["tones"]),
        thresholds=meta["thresholds"],
        languages=state.engine.languages,
        trained_at=meta.get("trained_at"),
        perspective=PerspectiveInfo(
            attributes=attributes + sorted(TW_ATTRIBUTES),
            calibrated=mapping is not None,
            stale=bool(mapping and mapping.stale),
            map_file=mapping.path if mapping else None,
        ),
    )
