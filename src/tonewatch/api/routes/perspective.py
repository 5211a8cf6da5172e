"""POST /v1alpha1/comments:analyze: a drop-in for Perspective's AnalyzeComment.

Same URL path, request and response shapes, ``?key=`` authentication and Google-style errors,
so a Perspective client only changes its base URL. Attribute scores come from the loaded
model through the fitted maps of ``perspective_map``; ``TW_<LABEL>`` attributes expose
tonewatch's own flags. ``*_EXPERIMENTAL`` names (``INSULT_EXPERIMENTAL`` ...) are accepted as
aliases and answered under the name asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request

from tonewatch.api.deps import ApiState, AuthCaller, State, charge
from tonewatch.api.engine import CommentJob, CommentScores
from tonewatch.api.errors import ApiError, google_error_responses
from tonewatch.api.perspective_map import PERSPECTIVE_ATTRIBUTES, TW_ATTRIBUTES, attribute_scores
from tonewatch.api.perspective_schema import (
    AnalyzeCommentRequest,
    AnalyzeCommentResponse,
    AttributeScores,
    Score,
    SpanScore,
)
from tonewatch.ingest.langid import UND

router = APIRouter(prefix="/v1alpha1", tags=["perspective"])

SCORE_TYPES = {None, "PROBABILITY", "SCORE_TYPE_UNSPECIFIED"}


def _language_error(attribute: str, languages: list[str], detected: list[str]) -> ApiError:
    return ApiError(
        400,
        "unsupported_language",
        f"Attribute {attribute} does not support request languages: {','.join(languages)}",
        google_status="INVALID_ARGUMENT",
        details=[
            {
                "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                "languageNotSupportedByAttributeError": {
                    "detectedLanguages": detected,
                    "attribute": attribute,
                },
            }
        ],
    )


def _plain_text(body: AnalyzeCommentRequest) -> str:
    if body.comment.type == "HTML":
        from inscriptis import get_text

        return get_text(body.comment.text)
    return body.comment.text


def _choose_language(
    state: ApiState, body: AnalyzeCommentRequest, detected: str, first_attribute: str
) -> str:
    supported = state.engine.languages
    found = [detected] if detected != UND else []
    if body.languages:
        asked = [code.strip().replace("_", "-").split("-")[0].lower() for code in body.languages]
        usable = [code for code in asked if code in supported]
        if not usable:  # "the text is checked in all of them that are supported"
            raise _language_error(first_attribute, asked, found)
        return usable[0]
    if detected == UND:
        return UND  # too short or mixed to tell: the model scores it language-neutrally
    if detected not in supported:
        raise _language_error(first_attribute, [detected], found)
    return detected


def _canonical(state: ApiState, name: str, language: str) -> str:
    canonical = name.removesuffix("_EXPERIMENTAL") if name not in TW_ATTRIBUTES else name
    if canonical in TW_ATTRIBUTES:
        return canonical
    if canonical not in PERSPECTIVE_ATTRIBUTES:
        raise _language_error(name, [language], [])
    mapping = state.perspective
    if mapping is None or canonical not in mapping.attributes:
        raise ApiError(
            400,
            "not_calibrated",
            f"Attribute {name} has no fitted map for model {state.engine.model_id}; fit one "
            "with `python -m tonewatch.api.calibrate_perspective --model <model>` "
            f"(TW_* attributes need none).",
            google_status="FAILED_PRECONDITION",
        )
    return canonical


def _attribute(
    value: float, spans: list[tuple[int, int]], span_values: np.ndarray, threshold: float | None
) -> AttributeScores | None:
    if threshold is not None and value < threshold:
        return None
    span_scores = None
    if spans:
        span_scores = [
            SpanScore(begin=s, end=e, score=Score(value=round(float(v), 6)))
            for (s, e), v in zip(spans, span_values, strict=True)
            if threshold is None or v >= threshold
        ]
    return AttributeScores(summaryScore=Score(value=round(value, 6)), spanScores=span_scores)


def _response(
    state: ApiState, body: AnalyzeCommentRequest, names: dict[str, str], scores: CommentScores
) -> dict[str, AttributeScores]:
    canonical = sorted(set(names.values()))
    summary = attribute_scores(
        canonical, scores.flags[None, :], scores.tone[None, :], state.perspective
    )
    per_span: dict[str, Any] = {}
    if scores.spans:
        per_span = attribute_scores(
            canonical, scores.span_flags, scores.span_tone, state.perspective
        )
    out = {}
    for name, attribute in names.items():
        threshold = body.requestedAttributes[name].scoreThreshold
        result = _attribute(
            float(summary[attribute][0]),
            scores.spans,
            per_span.get(attribute, np.zeros(0)),
            threshold,
        )
        if result is not None:
            out[name] = result
    return out


@router.post(
    "/comments:analyze",
    response_model=AnalyzeCommentResponse,
    response_model_exclude_none=True,
    responses=google_error_responses(400, 403, 413, 415, 429),
    summary="Perspective-compatible AnalyzeComment",
    description="Request and response as Perspective's v1alpha1 `comments:analyze`. "
    "Attributes: " + ", ".join(PERSPECTIVE_ATTRIBUTES) + " (calibrated maps of tonewatch "
    "scores, see docs/api.md) and tonewatch's flags " + ", ".join(TW_ATTRIBUTES) + ".",
)
async def analyze(
    body: AnalyzeCommentRequest, request: Request, state: State, caller: AuthCaller
) -> AnalyzeCommentResponse:
    text = _plain_text(body)
    if not text.strip():
        raise ApiError(400, "empty_comment", "Comment must be non-empty.")
    size, limit = len(text.encode("utf-8")), state.config.api.max_comment_bytes
    if size > limit:
        raise ApiError(
            400, "comment_too_long", f"Comment text too long: {size} bytes, the limit is {limit}."
        )
    if not body.requestedAttributes:
        raise ApiError(400, "no_attributes", "At least one requested attribute must be specified.")
    for name, params in body.requestedAttributes.items():
        if params.scoreType not in SCORE_TYPES:
            raise ApiError(
                400,
                "unsupported_score_type",
                f"Score type {params.scoreType} is not supported for {name}; use PROBABILITY.",
            )
    detected = state.engine.detect(text)
    language = _choose_language(state, body, detected, next(iter(body.requestedAttributes)))
    names = {name: _canonical(state, name, language) for name in body.requestedAttributes}
    charge(request, state, caller, 1)
    job = CommentJob(text, language, spans=bool(body.spanAnnotations))
    (scores,) = await state.engine.score_comments([job])
    return AnalyzeCommentResponse(
        attributeScores=_response(state, body, names, scores),
        languages=[language],
        detectedLanguages=[detected] if detected != UND else [],
        clientToken=body.clientToken,
    )
