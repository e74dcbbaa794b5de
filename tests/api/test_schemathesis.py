"""Property-based tests of the whole API against its own OpenAPI document (schemathesis).

Every operation is called with generated requests, valid and invalid, as a coordinator who has real data to
see: no answer may be a server error, and every answer must match the document (status code, content type,
body schema). The number of examples per operation is bounded so the suite stays fast; raise it with
``POLKU_SCHEMATHESIS_EXAMPLES``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from polku.accounts.services import token_create
from polku.wsgi import application

EXAMPLES = int(os.environ.get("POLKU_SCHEMATHESIS_EXAMPLES", "15"))


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Any:
    """Requests go straight to the WSGI application, which closes the database connection after each one; in a
    test that would close the test's own transaction. Django's test client switches this off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(joint: Any) -> dict[str, str]:
    _token, secret = token_create(username=joint.coordinator.get_username())
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_openapi_document(case: Any, bearer: dict[str, str]) -> None:
    case.call_and_validate(
        headers=bearer,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
