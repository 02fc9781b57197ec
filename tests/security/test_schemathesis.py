"""schemathesis against the API's own OpenAPI document (security.md S18).

The document is loaded from the running app (``/api/v1/openapi.json`` over WSGI, with a valid
API key), and schemathesis generates requests for every operation from it: valid ones
(positive mode) and ones that break the schema (negative mode). Each reply goes through
schemathesis's checks: no server error, a status the document declares, a body matching the
declared schema, declared content types and headers, and (negative mode) invalid data refused.
Path parameters are sometimes real rows (a campaign and an instrument version) so the
operations are exercised past their 404s.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from surveys.instrument import Instrument
from tests.security.conftest import SLOW_EXAMPLES
from tests.webapp.conftest import add_campaign
from tests.webapp.test_auth_support import add_api_key
from webapp.api.openapi import PREFIX

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def rejected_or_too_large(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's ``negative_data_rejection``, counting a 413 (a body over the size limit,
    which the document declares) as a rejection too."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


NEGATIVE_CHECKS = [*CHECKS, rejected_or_too_large, ignored_auth]


def load_schema(app: Flask, key: str) -> Any:
    return schemathesis.openapi.from_wsgi(
        f"{PREFIX}/openapi.json", app, headers={"Authorization": f"Bearer {key}"}
    )


def run_operations(
    app: Flask, engine: Engine, instrument: Instrument, mode: GenerationMode, examples: int
) -> set[str]:
    """Every operation of the document, ``examples`` cases each; the operations run."""
    campaign = add_campaign(engine, instrument, "st-open")
    key = add_api_key(engine)
    schema = load_schema(app, key)
    real = {"key": st.sampled_from([campaign, instrument.key]), "version": st.just(1)}
    ran: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        run_operation(operation, mode, examples, key, real)
        ran.add(f"{operation.method.upper()} {operation.path}")
    return ran


def run_operation(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    key: str,
    real: dict[str, st.SearchStrategy[Any]],
) -> None:
    """``examples`` generated cases of one operation, each called and checked."""
    checks = NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else CHECKS
    names = [parameter.name for parameter in operation.path_parameters]
    posting = operation.method.upper() == "POST"

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any, data: st.DataObject) -> None:
        if names and mode is GenerationMode.POSITIVE and data.draw(st.booleans()):
            case.path_parameters = {
                **(case.path_parameters or {}),
                **{name: data.draw(real[name]) for name in names if name in real},
            }
        headers = {"Authorization": f"Bearer {key}"}
        if posting and mode is GenerationMode.POSITIVE:
            headers["Idempotency-Key"] = data.draw(st.uuids()).hex
        case.call_and_validate(headers=headers, checks=checks)

    check()


def test_every_operation_conforms(
    roomy_app: Flask, roomy_engine: Engine, mixed: Instrument
) -> None:
    ran = run_operations(roomy_app, roomy_engine, mixed, GenerationMode.POSITIVE, 40)
    assert "POST /campaigns/{key}/responses" in ran
    assert len(ran) >= 6, ran


def test_invalid_requests_are_refused_as_documented(
    roomy_app: Flask, roomy_engine: Engine, mixed: Instrument
) -> None:
    run_operations(roomy_app, roomy_engine, mixed, GenerationMode.NEGATIVE, 25)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_many_examples(
    roomy_app: Flask, roomy_engine: Engine, mixed: Instrument, mode: GenerationMode
) -> None:
    run_operations(roomy_app, roomy_engine, mixed, mode, SLOW_EXAMPLES)
