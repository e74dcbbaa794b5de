"""Organisations and the service catalogue in the API: filters, details, waiting times as suppressed aggregates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from polku.catalogue.models import ServiceClass
from polku.organisations.models import OrganisationKind, ServiceArea, Unit
from polku.referrals.models import Referral, ReferralStatus
from tests import factories as f

# -- Organisations --------------------------------------------------------------------------------------------


def test_organisations__filters_by_kind_municipality_and_active(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    closed = f.organisation(OrganisationKind.NGO, "Lakannut ry")
    closed.active = False
    closed.municipality_code = "837"
    closed.save()
    ServiceArea.objects.create(organisation=joint.employment, municipality_code="092")

    r = api.get("/organisations")
    assert r.status_code == 200
    assert {o["id"] for o in r.json()["items"]} >= {joint.employment.pk, joint.provider.pk, closed.pk}

    kinds = api.get("/organisations", kind="rehabilitation_provider").json()["items"]
    assert [o["id"] for o in kinds] == [joint.provider.pk]
    assert kinds[0]["kind"] == "rehabilitation_provider" and kinds[0]["kind_label"]

    assert [o["id"] for o in api.get("/organisations", active="false").json()["items"]] == [closed.pk]
    assert closed.pk not in [o["id"] for o in api.get("/organisations", active="true").json()["items"]]

    # head office in 837, or 092 in the service area
    assert [o["id"] for o in api.get("/organisations", municipality_code="837").json()["items"]] == [closed.pk]
    assert [o["id"] for o in api.get("/organisations", municipality_code="092").json()["items"]] == [
        joint.employment.pk]

    assert api.get("/organisations", kind="bank").status_code == 422
    assert api.get("/organisations", municipality_code="91").status_code == 422


def test_organisation_detail__service_area_and_units(joint: Any, api_as: Any) -> None:
    ServiceArea.objects.create(organisation=joint.employment, municipality_code="092")
    ServiceArea.objects.create(organisation=joint.employment, municipality_code="049")
    unit = Unit.objects.create(organisation=joint.employment, name_fi="Keskustan toimipiste", name_sv="Centrum",
                               municipality_code="091")
    api = api_as(joint.provider_worker)  # any signed-in user
    r = api.get(f"/organisations/{joint.employment.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["service_area"] == ["049", "092"]
    assert body["units"] == [{"id": unit.pk, "name": "Keskustan toimipiste",
                              "names": {"fi": "Keskustan toimipiste", "sv": "Centrum", "en": ""},
                              "municipality_code": "091"}]
    assert body["business_id"] == joint.employment.business_id
    assert api_as(joint.provider_worker, language="sv").get(
        f"/organisations/{joint.employment.pk}").json()["units"][0]["name"] == "Centrum"
    missing = api.get("/organisations/987654321")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_organisations__pages_by_cursor(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    seen, cursor = [], None
    while True:
        r = api.get("/organisations", limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [o["id"] for o in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 4


def test_organisations__need_authentication(client: Any, db: Any) -> None:
    assert client.get("/api/v1/organisations").status_code == 401
    assert client.get("/api/v1/services").status_code == 401


# -- Services: search ------------------------------------------------------------------------------------------


def _ids(r: Any) -> list[int]:
    assert r.status_code == 200, r.content
    return [s["id"] for s in r.json()["items"]]


def test_services__search_filters(joint: Any, api_as: Any) -> None:
    other = f.organisation(OrganisationKind.NGO, "Järjestö ry")
    debt = f.service(other, "social", name_fi="Velkaneuvonta", service_class=ServiceClass.DEBT_HOUSING,
                     description_sv="Skuldrådgivning för alla", languages=["fi", "sv"], municipality_codes=["091"],
                     target_groups=["long_term_unemployed", "KR1.3"], accessibility="Esteetön sisäänkäynti, pyörätuoli")
    trial = f.service(joint.provider, name_fi="Työkokeilu", eligibility_notes="Vain osatyökykyisille",
                      languages=["fi"], municipality_codes=["092", "049"], target_groups=["KR1"])
    nationwide = f.service(joint.provider, name_fi="Verkkovalmennus", languages=["en"], municipality_codes=[])
    closed = f.service(other, name_fi="Lopetettu", active=False, municipality_codes=["091"])
    api = api_as(joint.coordinator)
    everything = set(_ids(api.get("/services")))
    assert {debt.pk, trial.pk, nationwide.pk, closed.pk, joint.service.pk} == everything

    # the need: free text in any language's name, description or eligibility; case-insensitive (SQLite folds
    # the case of ASCII letters only)
    assert _ids(api.get("/services", q="skuldråd")) == [debt.pk]
    assert _ids(api.get("/services", q="VAIN OSAT")) == [trial.pk]
    assert _ids(api.get("/services", service_class="debt_housing")) == [debt.pk]
    assert _ids(api.get("/services", q="velka", service_class="work_trial")) == []

    # JSON lists: exact elements, not substrings
    assert _ids(api.get("/services", target_group="KR1")) == [trial.pk]
    assert _ids(api.get("/services", target_group="KR1.3")) == [debt.pk]
    assert _ids(api.get("/services", target_group="long_term_unemployed")) == [debt.pk]
    assert _ids(api.get("/services", language="sv")) == [debt.pk]
    assert set(_ids(api.get("/services", language="fi"))) == {debt.pk, trial.pk}

    # a municipality: the services listing it, and those serving the whole country (an empty list)
    assert set(_ids(api.get("/services", municipality_code="049"))) == {trial.pk, nationwide.pk, joint.service.pk}
    assert set(_ids(api.get("/services", municipality_code="091", active="true"))) == {
        debt.pk, nationwide.pk, joint.service.pk}
    assert set(_ids(api.get("/services", municipality_code="091", active="false"))) == {closed.pk}

    assert _ids(api.get("/services", accessibility="pyörätuoli")) == [debt.pk]
    assert _ids(api.get("/services", has_accessibility="true")) == [debt.pk]
    assert debt.pk not in _ids(api.get("/services", has_accessibility="false"))
    assert set(_ids(api.get("/services", provider_id=other.pk))) == {debt.pk, closed.pk}


def test_services__bad_filters_are_422(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    for params in ({"service_class": "magic"}, {"municipality_code": "1"}, {"language": "suomi"},
                   {"target_group": "a b"}, {"q": "x" * 101}, {"q": "a\x00"}, {"provider_id": 0},
                   {"sort": "name"}, {"limit": 201}):
        r = api.get("/services", **params)
        assert r.status_code == 422, params
        assert r["Content-Type"] == "application/problem+json"


def test_service_detail(joint: Any, api_as: Any) -> None:
    api = api_as(joint.provider_worker)
    r = api.get(f"/services/{joint.service.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["provider"] == {"id": joint.provider.pk, "name": "Kuntoutus Oy"}
    assert body["service_class"] == "work_trial" and body["service_class_label"]
    assert body["waiting_days"] is None and body["waiting_basis"] == 0
    assert api.get("/services/987654321").status_code == 404


# -- Services: waiting times -----------------------------------------------------------------------------------


def _referrals(joint: Any, service: Any, n: int, *, status: str = ReferralStatus.WAITLISTED, sent_days_ago: float,
               started_days_ago: float | None = None) -> None:
    now = timezone.now()
    for _ in range(n):
        r = f.referral(joint.client, service, joint.employment, joint.coordinator, status=status)
        Referral.objects.filter(pk=r.pk).update(
            sent_at=now - dt.timedelta(days=sent_days_ago),
            started_at=None if started_days_ago is None else now - dt.timedelta(days=started_days_ago))


def test_services__sorted_by_waiting_time_with_small_counts_suppressed(joint: Any, api_as: Any) -> None:
    provider = joint.provider
    slow = f.service(provider, name_fi="Hidas")
    fast = f.service(provider, name_fi="Nopea")
    few = f.service(provider, name_fi="Harvoin")
    old = f.service(provider, name_fi="Vanha")
    # slow: five waiting for ten days → 10.0
    _referrals(joint, slow, 3, status=ReferralStatus.WAITLISTED, sent_days_ago=10)
    _referrals(joint, slow, 2, status=ReferralStatus.RECEIVED, sent_days_ago=10)
    # fast: three waiting two days, two started within the window after four days → (3·2 + 2·4) / 5 = 2.8
    _referrals(joint, fast, 3, status=ReferralStatus.SENT, sent_days_ago=2)
    _referrals(joint, fast, 2, status=ReferralStatus.STARTED, sent_days_ago=30, started_days_ago=26)
    # ... and what does not count: declined, cancelled, drafts never sent
    _referrals(joint, fast, 3, status=ReferralStatus.DECLINED, sent_days_ago=400)
    _referrals(joint, fast, 1, status=ReferralStatus.CANCELLED, sent_days_ago=300)
    f.referral(joint.client, fast, joint.employment, joint.coordinator, status=ReferralStatus.DRAFT)
    # few: four waiting a day: the shortest wait, but too few referrals to show
    _referrals(joint, few, 4, status=ReferralStatus.ACCEPTED, sent_days_ago=1)
    # old: five completed waits long ago (outside the window) and one waiting: based on one referral only
    _referrals(joint, old, 5, status=ReferralStatus.COMPLETED, sent_days_ago=400, started_days_ago=390)
    _referrals(joint, old, 1, status=ReferralStatus.WAITLISTED, sent_days_ago=0.5)

    api = api_as(joint.coordinator)
    r = api.get("/services", sort="waiting_time", provider_id=provider.pk)
    items = r.json()["items"]
    assert [s["id"] for s in items] == [fast.pk, slow.pk, *sorted([joint.service.pk, few.pk, old.pk])]
    by_id = {s["id"]: s for s in items}
    assert by_id[fast.pk]["waiting_days"] == 2.8 and by_id[fast.pk]["waiting_basis"] == 5
    assert by_id[slow.pk]["waiting_days"] == 10.0 and by_id[slow.pk]["waiting_basis"] == 5
    assert by_id[few.pk]["waiting_days"] is None and by_id[few.pk]["waiting_basis"] is None
    assert by_id[old.pk]["waiting_days"] is None and by_id[old.pk]["waiting_basis"] is None
    assert by_id[joint.service.pk]["waiting_days"] is None and by_id[joint.service.pk]["waiting_basis"] == 0

    # the same figures in the plain list and the detail
    assert {s["id"]: s["waiting_days"] for s in api.get("/services").json()["items"]}[fast.pk] == 2.8
    assert api.get(f"/services/{slow.pk}").json()["waiting_days"] == 10.0

    # only aggregates: nothing about a client or a referral is in the answer
    text = r.content.decode()
    assert joint.client.last_name not in text and joint.client.personal_identity_code not in text
    assert not {"client", "client_id", "referrals"} & set(items[0])

    # positional cursor pages give the same order
    seen, cursor = [], None
    while True:
        page = api.get("/services", sort="waiting_time", provider_id=provider.pk, limit=2,
                       **({"cursor": cursor} if cursor else {})).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [s["id"] for s in items]


def test_services__threshold_follows_the_setting(joint: Any, api_as: Any, settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 3}
    svc = f.service(joint.provider)
    _referrals(joint, svc, 3, sent_days_ago=6)
    body = api_as(joint.coordinator).get(f"/services/{svc.pk}").json()
    assert body["waiting_days"] == 6.0 and body["waiting_basis"] == 3


def test_services__waiting_times_cost_the_same_queries_for_many_services(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    api.get("/services")  # warm up (token look-up paths, content types)
    with CaptureQueriesContext(connection) as one:
        api.get("/services", sort="waiting_time")
    for i in range(8):
        svc = f.service(joint.provider)
        _referrals(joint, svc, 5, sent_days_ago=i + 1)
    with CaptureQueriesContext(connection) as nine:
        r = api.get("/services", sort="waiting_time")
    assert len(r.json()["items"]) == 9
    assert len(nine.captured_queries) == len(one.captured_queries)
