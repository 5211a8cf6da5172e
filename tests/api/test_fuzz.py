"""schemathesis against the served OpenAPI spec: generated valid and invalid requests to every
operation never get a server error, and every answer matches the documented schema (status
code, content type, body).

Invalid requests are sent too, but not checked with ``negative_data_rejection``: pydantic's lax
mode accepts ``false`` or ``"3"`` for an integer, as FastAPI apps do by default.
(``schemathesis.pytest.from_fixture`` does not run under pytest 9, so each operation's
hypothesis strategy is driven here directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    ("/v1/score", "POST"),
    ("/v1/conversations:score", "POST"),
    ("/v1/clients:report", "POST"),
    ("/v1/health", "GET"),
    ("/v1/model", "GET"),
    ("/v1alpha1/comments:analyze", "POST"),
]
CASES = [
    (path, method, mode)
    for path, method in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (path == "/v1/health" and mode is GenerationMode.NEGATIVE)  # it takes no input
]


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_fuzz_covers_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    served = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        served.add((operation.path, operation.method.upper()))
    assert served == set(OPERATIONS)


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_fuzz_openapi_no_server_error(
    api_schema: schemathesis.BaseSchema,
    api_key: str,
    path: str,
    method: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": api_key}, checks=CHECKS)

    exercise()
