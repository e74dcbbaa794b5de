"""The clients part of the API: caseload, registration, reads, ETag-guarded updates, consents, periods."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from polku.audit.models import AccessLog
from polku.clients.models import Client, Consent, EmploymentStatusPeriod
from tests import factories as f


def test_caseload__lists_own_clients_only_and_logs_each_read(joint: Any, api_as: Any) -> None:
    stranger = f.client()
    r = api_as(joint.coordinator).get("/clients")
    assert r.status_code == 200
    ids = [c["id"] for c in r.json()["items"]]
    assert ids == [joint.client.pk]
    assert stranger.pk not in ids
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, object_type="list").count() == 1


def test_caseload__cursor_pages_without_gaps(joint: Any, api_as: Any) -> None:
    extra = []
    for _ in range(4):
        c = f.client()
        f.episode(c, (joint.employment, joint.coordinator))
        f.consent_all(c, joint.employment)
        extra.append(c.pk)
    api = api_as(joint.coordinator)
    seen, cursor = [], None
    while True:
        r = api.get("/clients", limit=2, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200
        seen += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([joint.client.pk, *extra])


def test_bad_cursor_and_limit__problem_json(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    r = api.get("/clients", cursor="@@not-a-cursor")
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert "cursor" in r.json()["errors"]
    assert api.get("/clients", limit=0).status_code == 422


def test_get_client__outsider_gets_the_same_404_as_for_a_missing_client(joint: Any, api_as: Any) -> None:
    outsider = api_as(joint.outsider)
    hidden = outsider.get(f"/clients/{joint.client.pk}")
    missing = outsider.get("/clients/987654321")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    # the refused read is logged as refused, the allowed one as allowed
    assert AccessLog.objects.filter(actor=joint.outsider, client=joint.client, allowed=False).exists()
    assert api_as(joint.coordinator).get(f"/clients/{joint.client.pk}").status_code == 200
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, allowed=True).exists()


def test_get_client__without_consent_is_404(joint: Any, api_as: Any) -> None:
    Consent.objects.filter(client=joint.client, organisation=joint.employment).delete()
    assert api_as(joint.coordinator).get(f"/clients/{joint.client.pk}").status_code == 404


def test_update_client__etag_if_match_and_stale_write_412(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    r = api.get(f"/clients/{joint.client.pk}")
    tag = r["ETag"]
    assert api.patch(f"/clients/{joint.client.pk}", {"phone": "0401234567"}).status_code == 428
    ok = api.patch(f"/clients/{joint.client.pk}", {"phone": "0401234567"}, **{"If-Match": tag})
    assert ok.status_code == 200 and ok["ETag"] != tag
    stale = api.patch(f"/clients/{joint.client.pk}", {"phone": "0509999999"}, **{"If-Match": tag})
    assert stale.status_code == 412
    joint.client.refresh_from_db()
    assert joint.client.phone == "0401234567"


def test_register_client__creates_and_bad_input_writes_nothing(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    body = {"personal_identity_code": "010190-900P", "first_name": "Aino", "last_name": "Testi",
            "municipality_code": "091",
            "consents": [{"organisation_id": joint.employment.pk, "category": "employment", "purpose": "joint"}]}
    before = Client.objects.count()
    bad = api.post("/clients", {**body, "personal_identity_code": "010190-900X"})
    assert bad.status_code == 422 and "personal_identity_code" in bad.json()["errors"]
    assert Client.objects.count() == before
    nul = api.post("/clients", {**body, "first_name": "A\x00"})
    assert nul.status_code == 422
    r = api.post("/clients", body)
    assert r.status_code == 201, r.content
    assert Client.objects.count() == before + 1
    again = api.post("/clients", body)
    assert again.status_code == 422 and again.json()["code"] == "already_registered"


def test_detail_is_translated_by_accept_language(joint: Any, api_as: Any) -> None:
    english = api_as(joint.outsider, language="en").get("/clients/1").json()["detail"]
    finnish = api_as(joint.outsider, language="fi").get("/clients/1").json()["detail"]
    swedish = api_as(joint.outsider, language="sv").get("/clients/1").json()["detail"]
    assert len({english, finnish, swedish}) == 3


def test_consents_and_periods(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    r = api.get(f"/clients/{joint.client.pk}/consents")
    assert r.status_code == 200
    mine = [c for c in r.json()["items"] if c["organisation_id"] == joint.employment.pk]
    social = next(c["id"] for c in mine if c["category"] == "social")
    revoked = api.post(f"/clients/{joint.client.pk}/consents/{social}/revoke", {"reason": "asked"})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert Consent.objects.get(pk=social).revoked_at is not None
    again = api.post(f"/clients/{joint.client.pk}/consents/{social}/revoke", {})
    assert again.status_code == 422 and again.json()["code"] == "already_revoked"
    employment = next(c["id"] for c in mine if c["category"] == "employment")
    assert api_as(joint.outsider).post(
        f"/clients/{joint.client.pk}/consents/{employment}/revoke", {}).status_code == 404
    assert Consent.objects.get(pk=employment).revoked_at is None
    p = api.post(f"/clients/{joint.client.pk}/employment-periods",
                 {"status": "unemployed", "start_date": str(timezone.localdate() - dt.timedelta(days=30))})
    assert p.status_code == 201, p.content
    assert EmploymentStatusPeriod.objects.filter(client=joint.client, pk=p.json()["id"]).exists()
    listed = api.get(f"/clients/{joint.client.pk}/employment-periods").json()["items"]
    assert [x["id"] for x in listed] == [p.json()["id"]]
    before = EmploymentStatusPeriod.objects.count()
    future = api.post(f"/clients/{joint.client.pk}/employment-periods",
                      {"status": "unemployed", "start_date": "2999-01-01"})
    assert future.status_code == 422 and "start_date" in future.json()["errors"]
    assert EmploymentStatusPeriod.objects.count() == before
    assert api_as(joint.outsider).get(f"/clients/{joint.client.pk}/employment-periods").status_code == 404


def test_unauthenticated_and_bad_token_401(joint: Any, client: Any) -> None:
    assert client.get("/api/v1/clients").status_code == 401
    r = client.get("/api/v1/clients", HTTP_AUTHORIZATION="Bearer polku_wrong")
    assert r.status_code == 401 and r["WWW-Authenticate"].startswith("Bearer")
