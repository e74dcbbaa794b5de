"""The access log in the API: staff see only their own actions, a client only their own log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext

from polku.audit.guards import unguarded
from polku.audit.models import AccessLog
from tests import factories as f


def _read_by_both(joint: Any, api_as: Any) -> None:
    assert api_as(joint.coordinator).get(f"/clients/{joint.client.pk}").status_code == 200
    assert api_as(joint.social_worker).get(f"/clients/{joint.client.pk}").status_code == 200
    assert api_as(joint.outsider).get(f"/clients/{joint.client.pk}").status_code == 404  # a refusal, logged


def _all(api: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        r = api.get(path, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.content
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


def test_mine__only_the_callers_own_rows(joint: Any, api_as: Any) -> None:
    _read_by_both(joint, api_as)
    other_client = f.client()
    f.episode(other_client, (joint.employment, joint.coordinator))
    f.consent_all(other_client, joint.employment)
    api_as(joint.coordinator).get(f"/clients/{other_client.pk}")

    mine = _all(api_as(joint.coordinator), "/access-log/mine", limit=1)
    expected = list(AccessLog.objects.filter(actor=joint.coordinator).order_by("-pk").values_list("pk", flat=True))
    assert [e["id"] for e in mine] == expected  # newest first, every page
    assert {e["client_id"] for e in mine} == {joint.client.pk, other_client.pk}
    others = set(AccessLog.objects.exclude(actor=joint.coordinator).values_list("pk", flat=True))
    assert others  # the social worker's and the outsider's rows exist ...
    assert not others & {e["id"] for e in mine}  # ... and are never shown

    refused = _all(api_as(joint.outsider), "/access-log/mine")
    assert [(e["client_id"], e["allowed"]) for e in refused] == [(joint.client.pk, False)]
    assert refused[0]["actor_organisation"]["id"] != joint.employment.pk


def test_mine__filters(joint: Any, api_as: Any) -> None:
    _read_by_both(joint, api_as)
    api = api_as(joint.coordinator)
    other_client = f.client()
    f.episode(other_client, (joint.employment, joint.coordinator))
    f.consent_all(other_client, joint.employment)
    api.get(f"/clients/{other_client.pk}")
    api.patch(f"/clients/{other_client.pk}", {"phone": "0401234567"},
              **{"If-Match": api.get(f"/clients/{other_client.pk}")["ETag"]})
    old = AccessLog.objects.filter(actor=joint.coordinator, client=joint.client).get()
    aged = timezone.now() - dt.timedelta(days=40)
    with unguarded():  # the log is append-only; the test empties or ages its own rows
        AccessLog.objects.filter(pk=old.pk).update(at=aged)

    by_client = _all(api, "/access-log/mine", client_id=other_client.pk)
    assert by_client and {e["client_id"] for e in by_client} == {other_client.pk}
    updates = _all(api, "/access-log/mine", action="update")
    assert updates and {e["action"] for e in updates} == {"update"}
    assert [e["client_id"] for e in updates] == [other_client.pk]

    day = timezone.localtime(aged).date()  # not today minus 40: a change of daylight saving time lies between
    assert [e["id"] for e in _all(api, "/access-log/mine", since=str(day), until=str(day))] == [old.pk]
    assert old.pk not in [e["id"] for e in _all(api, "/access-log/mine", since=str(day + dt.timedelta(days=1)))]
    assert [e["id"] for e in _all(api, "/access-log/mine", until=str(day))] == [old.pk]
    assert _all(api, "/access-log/mine", since=str(timezone.localdate()), until=str(day)) == []

    for params in ({"action": "delete"}, {"since": "yesterday"}, {"client_id": 0}, {"until": "0001-01-01"}):
        assert api.get("/access-log/mine", **params).status_code == 422, params


def test_client_log__the_client_sees_their_own_log(joint: Any, api_as: Any) -> None:
    _read_by_both(joint, api_as)
    joint.client.user = f.user()
    joint.client.save()
    other_client = f.client()
    f.episode(other_client, (joint.employment, joint.coordinator))
    f.consent_all(other_client, joint.employment)
    api_as(joint.coordinator).get(f"/clients/{other_client.pk}")

    api = api_as(joint.client.user)
    log = _all(api, f"/access-log/client/{joint.client.pk}", limit=2)
    expected = list(AccessLog.objects.filter(client=joint.client).order_by("-pk").values_list("pk", flat=True))
    assert [e["id"] for e in log] == expected
    assert {e["client_id"] for e in log} == {joint.client.pk}
    assert {e["allowed"] for e in log} == {True, False}  # the outsider's refused attempt is shown too
    assert {e["actor_organisation"]["id"] for e in log if e["actor_organisation"]} >= {
        joint.employment.pk, joint.social.pk}
    # the purpose is shown in the reader's language (the log stores the English source text)
    stored = {row.pk: row.purpose for row in AccessLog.objects.filter(client=joint.client)}
    for language in ("fi", "en"):
        entries = _all(api_as(joint.client.user, language=language), f"/access-log/client/{joint.client.pk}")
        with translation.override(language):
            assert {e["id"]: e["purpose"] for e in entries} == {pk: gettext(p) for pk, p in stored.items()}
    assert all(e["action_label"] and e["category_label"] for e in log)

    # viewing one's own log is not logged
    assert AccessLog.objects.filter(client=joint.client).count() == len(expected)
    assert [e["action"] for e in _all(api, f"/access-log/client/{joint.client.pk}", action="view")]


def test_client_log__anyone_else_gets_404(joint: Any, api_as: Any) -> None:
    _read_by_both(joint, api_as)
    joint.client.user = f.user()
    joint.client.save()
    other_client = f.client()
    other_client.user = f.user()
    other_client.save()
    # another client, the client's own coordinator, an outsider: all the same 404 as for no such client
    for who in (other_client.user, joint.coordinator, joint.social_worker, joint.outsider, f.user()):
        r = api_as(who).get(f"/access-log/client/{joint.client.pk}")
        assert r.status_code == 404 and r.json()["code"] == "not_found", who
    missing = api_as(joint.client.user).get("/access-log/client/987654321")
    assert missing.status_code == 404
    # and the other client reads their own (empty) log
    assert _all(api_as(other_client.user), f"/access-log/client/{other_client.pk}") == []
