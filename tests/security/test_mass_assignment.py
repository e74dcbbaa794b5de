"""Mass assignment (issue 11, item 2): a create or update body with fields the caller must not set — ids, the
owner, the organisation, the creator, the status, the version, another organisation's client — changes none of
them.

API: every write operation of the OpenAPI document declares a closed body (``additionalProperties: false``) without
such fields (except where the field is the operation's purpose: a step's status, the consenting organisation),
and a request that sends them anyway is refused (422, each such field named in ``errors``) with nothing written.
A valid body naming another organisation's client is refused as not found. UI: the forms take only their
declared fields.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client as Browser

from polku.audit.models import AccessLog
from polku.clients.models import Client, Consent
from polku.episodes.models import JointServiceEpisode
from polku.plans.models import Plan
from polku.referrals.models import Referral
from tests import factories as f
from tests.api.conftest import Api

from .routes import api_operations, api_schema

#: Fields no create or update body may carry: the server sets them.
PROTECTED = ["id", "pk", "created_by", "created_by_id", "created_at", "updated_at", "version", "owner",
             "owner_organisation", "organisation", "sending_organisation_id", "receiving_organisation_id",
             "user", "user_id", "actor", "status", "signed_by", "responsible_organisation_id", "is_staff",
             "is_superuser", "personal_identity_code_hash"]
#: Where a protected name is the operation's purpose.
ALLOWED = {("POST", "/api/v1/plans/steps/{step_id}/status"): {"status"},
           ("POST", "/api/v1/clients/{client_id}/employment-periods"): {"status"}}


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    body = operation.get("requestBody")
    if not body:
        return None
    schema = body["content"]["application/json"]["schema"]
    components = api_schema()["components"]["schemas"]
    refs = [schema, *schema.get("anyOf", [])]
    for candidate in refs:
        if "$ref" in candidate:
            resolved: dict[str, Any] = components[candidate["$ref"].rsplit("/", 1)[1]]
            return resolved
    return None


WRITES = [(method, path, _body_schema(operation)) for method, path, operation in api_operations()
          if method in ("POST", "PUT", "PATCH")]
WITH_BODY = [(m, p, s) for m, p, s in WRITES if s is not None]


@pytest.mark.parametrize(("method", "path", "schema"), WITH_BODY, ids=[f"{m} {p}" for m, p, _s in WITH_BODY])
def test_mass_assignment__body_schema_is_closed_and_has_no_server_fields(method: str, path: str,
                                                                         schema: dict[str, Any]) -> None:
    assert schema.get("additionalProperties") is False
    allowed = ALLOWED.get((method, path), set())
    assert set(schema.get("properties", {})) & (set(PROTECTED) - allowed) == set()


def _snapshot() -> tuple[Any, ...]:
    return (
        sorted(Client.objects.values_list("id", "first_name", "last_name", "user_id")),
        sorted(Consent.objects.values_list("id", "organisation_id", "revoked_at")),
        sorted(JointServiceEpisode.objects.values_list("id", "status")),
        sorted(Plan.objects.values_list("id")),
        sorted(Referral.objects.values_list("id", "status", "version", "sending_organisation_id")),
        AccessLog.objects.filter(action__in=["create", "update"], allowed=True).count(),
    )


@pytest.mark.parametrize(("method", "path", "schema"), WITH_BODY, ids=[f"{m} {p}" for m, p, _s in WITH_BODY])
def test_mass_assignment__extra_fields_refused_and_nothing_written(joint: Any, method: str, path: str,
                                                                  schema: dict[str, Any]) -> None:
    allowed = ALLOWED.get((method, path), set()) | set(schema.get("properties", {}))
    extras = {name: value for name, value in {
        "id": 999_999, "pk": 999_999, "created_by": joint.outsider.pk, "created_by_id": joint.outsider.pk,
        "organisation": joint.social.pk, "sending_organisation_id": joint.social.pk, "owner": joint.outsider.pk,
        "status": "completed", "version": 99, "user": joint.outsider.pk, "is_superuser": True,
    }.items() if name not in allowed}
    values = {"client_id": joint.client.pk, "episode_id": joint.episode.pk}
    url = re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path).removeprefix("/api/v1")
    api = Api(joint.coordinator)
    before = _snapshot()

    response = getattr(api, method.lower())(url, extras, **{"If-Match": "*"})

    assert response.status_code in (404, 422), response.content[:300]
    if response.status_code == 422:
        errors = response.json().get("errors", {})
        assert set(extras) <= {key.split(".")[-1] for key in errors}, errors
    assert _snapshot() == before


def test_mass_assignment__valid_referral_with_extras__refused_whole(joint: Any) -> None:
    """A body that would be accepted, plus the server's fields: refused as a whole, no referral written."""
    api = Api(joint.coordinator)
    body = {"client_id": joint.client.pk, "service_id": joint.service.pk, "reason_for_referral": "tarve"}
    before = Referral.objects.count()
    for name, value in [("status", "accepted"), ("sending_organisation_id", joint.social.pk), ("version", 7),
                        ("created_by", joint.outsider.pk), ("id", 424242)]:
        refused = api.post("/referrals", {**body, name: value})
        assert refused.status_code == 422 and name in refused.json()["errors"]
    assert Referral.objects.count() == before
    accepted = api.post("/referrals", body)
    assert accepted.status_code == 201, accepted.content
    made = Referral.objects.get(pk=accepted.json()["id"])
    assert (made.status, made.sending_organisation_id, made.created_by_id, made.version) == (
        "draft", joint.employment.pk, joint.coordinator.pk, 1)


def test_mass_assignment__another_organisations_client__not_found(joint: Any) -> None:
    """The ids in a body are checked like those in the path: a client of another organisation is not found."""
    stranger = f.client()
    api = Api(joint.coordinator)
    before = _snapshot()
    assert api.post("/referrals", {"client_id": stranger.pk, "service_id": joint.service.pk}).status_code == 404
    assert api.post("/episodes", {"client_id": stranger.pk}).status_code in (403, 404)
    assert api.post(f"/clients/{stranger.pk}/consents", {"organisation_id": joint.employment.pk,
                                                         "category": "employment", "purpose": "x"}).status_code == 404
    assert _snapshot() == before


def test_mass_assignment__ui_client_registration_takes_only_its_fields(joint: Any) -> None:
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(joint.coordinator)
    response = browser.post("/clients/new/", {
        "personal_identity_code": "010190-900P", "first_name": "Aino", "last_name": "Testi",
        "municipality_code": "091", "gender": "not_stated", "preferred_language": "fi", "categories": ["employment"],
        "purpose": "joint service", "consent_method": "in_person",
        "id": "999999", "user": str(joint.outsider.pk), "created_by": str(joint.outsider.pk), "is_superuser": "1",
    })
    assert response.status_code == 302, response.content[:500]
    made = Client.objects.get(personal_identity_code="010190-900P")
    assert made.pk != 999_999 and made.user_id is None
    assert set(Consent.objects.filter(client=made).values_list("organisation_id", flat=True)) == {
        joint.employment.pk}
