"""Perspective's AnalyzeComment request and response, field for field (camelCase as on the wire).

Source: the v1alpha1 ``comments:analyze`` reference of the Perspective (Comment Analyzer) API.
Fields tonewatch accepts but does not use (``context``, ``sessionId``, ``communityId``,
``doNotStore``) are accepted so existing clients work unchanged; nothing is ever stored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tonewatch.api.models import RequestModel


class TextEntry(RequestModel):
    text: str = Field(description="UTF-8 text.")
    type: Literal["PLAIN_TEXT", "HTML", "TEXT_TYPE_UNSPECIFIED"] | None = Field(
        None, description="HTML is converted to text; span offsets refer to that text."
    )


class AttributeParameters(RequestModel):
    scoreType: str | None = Field(None, description="Only PROBABILITY is supported.")
    scoreThreshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Scores below this are left out of the response."
    )


class AnalyzeCommentRequest(RequestModel):
    comment: TextEntry
    requestedAttributes: dict[str, AttributeParameters] = Field(
        description="Attribute name -> options ({} for defaults).",
        examples=[{"TOXICITY": {}, "TW_LEGAL_THREAT": {}}],
    )
    languages: list[str] | None = Field(
        None, description="ISO 639-1 / BCP-47 codes; detected when absent."
    )
    spanAnnotations: bool | None = Field(None, description="Also score each sentence.")
    doNotStore: bool | None = Field(None, description="Accepted; tonewatch never stores text.")
    clientToken: str | None = Field(None, description="Echoed in the response.")
    sessionId: str | None = None
    communityId: str | None = None
    context: dict[str, Any] | None = Field(None, description="Accepted and ignored.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "comment": {"text": "What kind of idiot name is foo?"},
                    "languages": ["en"],
                    "requestedAttributes": {"TOXICITY": {}},
                }
            ]
        }
    )


class Score(BaseModel):
    value: float = Field(ge=0.0, le=1.0)
    type: Literal["PROBABILITY"] = "PROBABILITY"


class SpanScore(BaseModel):
    begin: int = Field(ge=0, description="Character offset (code points) where the span starts.")
    end: int = Field(ge=0, description="Character offset just past the span.")
    score: Score


class AttributeScores(BaseModel):
    summaryScore: Score
    spanScores: list[SpanScore] | None = None


class AnalyzeCommentResponse(BaseModel):
    attributeScores: dict[str, AttributeScores]
    languages: list[str] = Field(description="The language the comment was scored in.")
    detectedLanguages: list[str] | None = Field(
        None, description="What language identification found (empty when unsure)."
    )
    clientToken: str | None = None
