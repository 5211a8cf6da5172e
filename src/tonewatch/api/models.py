"""Request and response bodies of the /v1 API; responses reuse ``tonewatch.schema``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tonewatch.schema import ClientReport, Conversation, Role, TurnResult


def _find_surrogate(value: Any, path: str = "") -> str | None:
    """The path of the first string holding an unpaired surrogate (JSON allows ``"\\ud800"``;
    UTF-8 and every downstream library do not)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_surrogate(key, path) or _find_surrogate(
                item, f"{path}.{key}" if path else str(key)
            )
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_surrogate(item, f"{path}[{i}]")
            if found:
                return found
    return None


class RequestModel(BaseModel):
    """Base of every request body: unknown fields and invalid Unicode are refused."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = _find_surrogate(data)
        if where is not None:
            raise ValueError(f"{where}: text holds an unpaired UTF-16 surrogate (invalid Unicode)")
        return data


Lang = str  # ISO 639-1 code of a supported language, or "und"


class TurnIn(RequestModel):
    id: str = Field(min_length=1, max_length=256, description="Your id; echoed in the result.")
    text: str = Field(description="The turn's text (one message of one speaker).")
    lang: Lang | None = Field(
        None, description="ISO 639-1 code; detected when absent.", examples=["en"]
    )
    role: Role = Field(Role.client, description="Staff (agent) turns are scored, never flagged.")


class ScoreRequest(RequestModel):
    turns: list[TurnIn] = Field(min_length=1, description="One or many turns, scored in order.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"turns": [{"id": "t1", "text": "My lawyer will be in touch.", "lang": "en"}]}
            ]
        }
    )


class ScoreResponse(BaseModel):
    model: str = Field(description="Model id, name@version.")
    results: list[TurnResult] = Field(description="One result per turn, in request order.")


class ConversationScoreResponse(BaseModel):
    conversation: str
    model: str
    results: list[TurnResult]


class ClientsReportRequest(RequestModel):
    conversations: list[Conversation] = Field(
        min_length=1, description="Conversations as `tonewatch ingest` writes them."
    )
    as_of: datetime | None = Field(
        None,
        description="Moment open silences are measured to (timezone-aware); default: "
        "the latest timestamp seen.",
    )


class ClientsReportResponse(BaseModel):
    model: str
    conversations: int
    turns: int
    clients: list[ClientReport] = Field(description="One report per client key, riskiest first.")


class Health(BaseModel):
    status: Literal["ok"]
    model: str
    version: str
    uptime_s: float
    pending_jobs: int = Field(description="Requests waiting for the model.")
    model_calls: int = Field(description="Batched model calls since start.")
    turns_scored: int = Field(description="Turns scored in those calls.")


class PerspectiveInfo(BaseModel):
    attributes: list[str] = Field(description="Attributes /v1alpha1/comments:analyze accepts.")
    calibrated: bool = Field(description="Whether a fitted map exists for the loaded model.")
    stale: bool = Field(
        False, description="The map was fitted on an earlier training run of this model."
    )
    map_file: str | None = None


class ModelInfo(BaseModel):
    id: str
    name: str
    version: str
    tier: str
    taxonomy_version: str
    labels: list[str]
    tones: list[str]
    thresholds: dict[str, float]
    languages: list[str] = Field(description="Languages requests may name.")
    trained_at: str | None = None
    perspective: PerspectiveInfo


class ConversationRequest(Conversation):
    """A Conversation (``tonewatch.schema``) posted for scoring."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        return RequestModel._valid_unicode(data)
