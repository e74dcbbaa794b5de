"""The bounded schemathesis run of CI (tests/api/test_schemathesis.py) covers the whole API, and a second bounded
run reaches the services with real ids.

The CI run generates path ids at random, so most requests about a record end in 404 before any service runs; this
module's run puts the ids of the ``joint`` fixture's records (the client, the episode, the service, the
organisations) in the path, as the coordinator who may see them, so that reads and writes go through the access
policy and the services: no 5xx and answers as documented. The benchmark (bench/api_fuzz_bench.py) does the same
with a large budget on a seeded region.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from polku.accounts.services import token_create
from polku.wsgi import application
from tests.api import test_schemathesis as ci

from .routes import api_operations

EXAMPLES = int(os.environ.get("POLKU_SCHEMATHESIS_REAL_ID_EXAMPLES", "5"))
_keep_test_connection = ci._keep_test_connection


def test_ci_fuzzing__every_documented_operation_is_generated() -> None:
    """schemathesis reads every operation of the document (none is left out as unreadable), and the document has
    every operation of the API (``include_in_schema=False`` aliases apart)."""
    operations, unreadable = [], []
    for result in ci.schema.get_all_operations():
        if isinstance(result, Ok):
            operations.append(result.ok().label)
        else:
            unreadable.append(result.err())
    assert unreadable == []
    documented = {f"{method} {path}" for method, path, _op in api_operations()}
    assert set(operations) == documented
    assert len(operations) >= 70


def test_ci_fuzzing__checks_include_no_server_error() -> None:
    import inspect

    assert "not_a_server_error" in inspect.getsource(ci.test_api_conforms_to_its_openapi_document)


@pytest.fixture
def real(joint: Any) -> dict[str, Any]:
    _token, secret = token_create(username=joint.coordinator.get_username())
    return {"headers": {"Authorization": f"Bearer {secret}"},
            "ids": {"client_id": joint.client.pk, "episode_id": joint.episode.pk, "service_id": joint.service.pk,
                    "organisation_id": joint.employment.pk}}


real_schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
real_schema.config.phases.coverage.enabled = False  # CI's run covers the edge cases; here: the services, quickly


@real_schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_with_real_ids__no_server_error_and_as_documented(case: Any, real: dict[str, Any]) -> None:
    for name in list(case.path_parameters or {}):
        if name in real["ids"]:
            case.path_parameters[name] = real["ids"][name]
    case.call_and_validate(
        headers=real["headers"],
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
