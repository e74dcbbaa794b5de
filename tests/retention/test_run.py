"""The retention run: what expires and what never does, anonymised rows hold no direct identifier, a dry run
writes nothing, a second run changes nothing, the settings override the defaults, and the run is logged."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models

from polku.audit.models import AccessLog
from polku.clients.models import Client, ClientContact
from polku.coordination.models import Alert
from polku.episodes.models import JointServiceEpisode
from polku.plans.models import PlanVersion
from polku.referrals.models import Referral
from polku.retention import services
from polku.retention.checksum import checksums
from polku.retention.models import RetentionRuleResult, RetentionRun
from polku.retention.rules import ANONYMISED_PREFIX, PLACEHOLDER, effective_rules
from polku.retention.services import run_retention

from .conftest import TODAY, Region, at, database_text, years_ago

pytestmark = pytest.mark.django_db

@pytest.fixture(autouse=True)
def _english() -> Any:
    """The assertions read the English messages (the tests otherwise run in Finnish)."""
    from django.utils import translation

    with translation.override("en"):
        yield



def _outcome(result: Any, code: str) -> Any:
    return next(o for o in result.outcomes if o.rule.code == code)


def test_expired_clients_are_anonymised_and_the_others_untouched(region: Region) -> None:
    kept_before = {p.client.pk: (p.client.personal_identity_code, p.client.last_name, p.client.phone)
                   for p in region.kept_people}
    result = run_retention(TODAY, triggered_by="test")
    record = _outcome(result, "client_record")
    assert record.expired == 2
    assert record.cutoff == years_ago(10)
    for person in region.expired_people:
        client = Client.objects.get(pk=person.client.pk)
        assert client.personal_identity_code == f"{ANONYMISED_PREFIX}{client.pk}"
        assert (client.first_name, client.last_name, client.phone, client.email, client.address) == \
            ("", PLACEHOLDER, "", "", "")
        assert client.user_id is None
        # The statistics' raw material stays: dates, statuses, categories.
        assert client.birth_date == person.client.birth_date
        assert client.municipality_code == person.client.municipality_code
        assert JointServiceEpisode.objects.get(pk=person.episode.pk).end_date == person.episode.end_date
    for pk, before in kept_before.items():
        client = Client.objects.get(pk=pk)
        assert (client.personal_identity_code, client.last_name, client.phone) == before
    assert ClientContact.objects.filter(client=region.recent.client, summary__contains=region.recent.secret).exists()


def test_no_direct_identifier_of_an_anonymised_client_remains_anywhere(region: Region) -> None:
    text = database_text()
    for person in region.expired_people + region.kept_people:
        for value in person.identifiers:
            if value:
                assert value in text
    run_retention(TODAY)
    text = database_text()
    for person in region.expired_people:
        for value in person.identifiers:
            if value:
                assert value not in text, value
        assert Client.objects.get(pk=person.client.pk).user_id is None
    # The portal account of the full record is emptied and cannot sign in.
    account = get_user_model().objects.get(username__startswith="anonymised-")
    assert (account.first_name, account.last_name, account.email, account.is_active) == ("", "", "", False)
    assert not account.has_usable_password()
    for person in region.kept_people:
        assert person.client.personal_identity_code in text and person.secret in text


def test_dry_run_writes_nothing(region: Region) -> None:
    before = checksums()
    result = run_retention(TODAY, dry_run=True)
    assert checksums() == before
    assert result.run is None and not RetentionRun.objects.exists()
    record = _outcome(result, "client_record")
    assert record.expired == 2
    assert record.rows["clients.client"] == 2
    assert record.rows["plans.planversion"] == 1
    # What the dry run counts is what the real run then does.
    real = _outcome(run_retention(TODAY), "client_record")
    assert real.expired == record.expired
    assert real.rows == record.rows


def test_a_second_run_changes_nothing(region: Region) -> None:
    first = run_retention(TODAY)
    assert _outcome(first, "client_record").changed > 0
    after_first = checksums()
    second = run_retention(TODAY)
    assert _outcome(second, "client_record").expired == 0
    assert _outcome(second, "client_record").changed == 0
    assert _outcome(second, "resolved_alert").changed == 0
    after_second = checksums()
    changed = {t for t in after_first if after_first[t] != after_second[t]}
    assert changed == {"retention_retentionrun", "retention_retentionruleresult"}  # only the new log rows


def test_the_run_is_logged_per_rule(region: Region) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.fi", "x" * 12)
    result = run_retention(TODAY, triggered_by="test", user=admin)
    run = RetentionRun.objects.get()
    assert run == result.run
    assert (run.as_of, run.triggered_by, run.user, run.expired) == (TODAY, "test", admin, 2 + 2)
    assert run.finished_at is not None
    by_rule = {r.rule: r for r in RetentionRuleResult.objects.filter(run=run)}
    assert set(by_rule) == {"client_record", "resolved_alert", "access_log"}
    assert by_rule["client_record"].rows["clients.client"] == 2
    assert by_rule["client_record"].action == "anonymise"
    assert by_rule["resolved_alert"].rows["coordination.alert"] == 2


def test_resolved_alerts_past_their_period_are_deleted(region: Region) -> None:
    # The fixture's alerts were resolved on the day each episode ended: 11 and 5 years ago (never, when open).
    assert Alert.objects.filter(resolved_at__lt=at(years_ago(2))).count() == 2
    run_retention(TODAY)
    assert not Alert.objects.filter(resolved_at__lt=at(years_ago(2))).exists()
    assert list(Alert.objects.values_list("client_id", "resolved_at")) == [(region.open_episode.client.pk, None)]


def test_the_access_log_is_counted_never_deleted(region: Region) -> None:
    AccessLog.objects.create(at=at(years_ago(13)), client=region.expired.client, category="employment",
                             action="view", purpose="test", allowed=True, reason="consent")
    AccessLog.objects.create(at=at(years_ago(1)), client=region.expired.client, category="employment",
                             action="view", purpose="test", allowed=True, reason="consent")
    result = run_retention(TODAY)
    log = _outcome(result, "access_log")
    assert (log.expired, log.changed) == (1, 0)
    assert AccessLog.objects.count() == 2
    assert services.prune_access_log(effective_rules()["access_log"], TODAY) == 1


def test_settings_override_the_period_and_the_action(region: Region, settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "RETENTION": {"client_record": {"years": 12}}}
    assert _outcome(run_retention(TODAY, dry_run=True), "client_record").expired == 0
    settings.POLKU = {**settings.POLKU, "RETENTION": {"client_record": {"years": 4, "action": "delete"},
                                                      "resolved_alert": {"enabled": False}}}
    result = run_retention(TODAY)
    assert "resolved_alert" not in {o.rule.code for o in result.outcomes}
    record = _outcome(result, "client_record")
    # 4 years: the client closed 5 years ago expires too; deleted, with everything that cascades.
    assert record.expired == 3
    gone = [region.expired.client.pk, region.expired_plain.client.pk, region.recent.client.pk]
    assert not Client.objects.filter(pk__in=gone).exists()
    assert not PlanVersion.objects.filter(plan__episode__client__in=gone).exists()
    assert not Referral.objects.filter(client__in=gone).exists()
    assert record.rows["clients.client"] == 3
    for person in region.kept_people[1:]:
        assert Client.objects.filter(pk=person.client.pk).exists()
    # The access log is not touched by the deletion (it refers to the client by id only).
    assert AccessLog.objects.count() == 0 or AccessLog.objects.filter(client_id__in=gone).exists()


def test_moving_from_anonymising_to_deleting_deletes_the_anonymised(region: Region, settings: Any) -> None:
    run_retention(TODAY)
    assert Client.objects.filter(personal_identity_code__startswith=ANONYMISED_PREFIX).count() == 2
    settings.POLKU = {**settings.POLKU, "RETENTION": {"client_record": {"action": "delete"}}}
    assert _outcome(run_retention(TODAY), "client_record").expired == 2
    assert not Client.objects.filter(personal_identity_code__startswith=ANONYMISED_PREFIX).exists()
    assert Client.objects.count() == 4


def test_invalid_settings_are_refused(settings: Any) -> None:
    from polku.core.errors import InvalidInput
    from polku.retention.checks import check_retention_settings

    with pytest.raises(InvalidInput, match="unknown retention rule"):
        effective_rules({"clients": {"years": 3}})
    with pytest.raises(InvalidInput, match="action must be one of"):
        effective_rules({"access_log": {"action": "delete"}})
    with pytest.raises(InvalidInput, match="years must be"):
        effective_rules({"client_record": {"years": 0}})
    settings.POLKU = {**settings.POLKU, "RETENTION": {"client_record": {"years": "ten"}}}
    assert [e.id for e in check_retention_settings()] == ["polku.E020"]


def test_every_free_text_field_of_a_client_record_is_covered() -> None:
    """A model tied to a client that gains a free-text field must be added to ``services.FREE_TEXT``."""
    from django.apps import apps

    covered = {(model, name) for model, _path, values in services.FREE_TEXT for name in values}
    owners = {"clients.client", "episodes.jointserviceepisode", "plans.plan", "plans.planversion", "plans.goal",
              "referrals.referral", "assessments.jointassessment", "coordination.alert"}
    missing = []
    for model in apps.get_models():
        if model is Client or model._meta.label_lower.startswith(("audit.", "indicators.", "retention.")):
            continue
        linked = any(isinstance(fld, models.ForeignKey | models.OneToOneField)
                     and fld.related_model._meta.label_lower in owners  # type: ignore[union-attr]
                     for fld in model._meta.fields)
        if not linked:
            continue
        for fld in model._meta.fields:
            free_text = isinstance(fld, models.TextField) or (
                isinstance(fld, models.CharField) and not fld.choices and (fld.max_length or 0) > 100)
            if free_text and (model, fld.name) not in covered:
                missing.append(f"{model._meta.label}.{fld.name}")
    assert missing == []


def test_a_future_day_is_refused_except_in_a_dry_run(region: Region) -> None:
    from polku.core.errors import DomainError

    with pytest.raises(DomainError):
        run_retention(TODAY + dt.timedelta(days=1))
    # A dry run previews: six years on, the client who left five years ago has expired too.
    later = TODAY.replace(year=TODAY.year + 6)
    assert _outcome(run_retention(later, dry_run=True), "client_record").expired == 3


def test_command_table_json_and_history(region: Region) -> None:
    out = StringIO()
    call_command("retention", "run", "--dry-run", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["dry_run"] is True and data["run"] is None
    assert {r["rule"]: r["expired"] for r in data["rules"]}["client_record"] == 2
    assert not RetentionRun.objects.exists()
    out, err = StringIO(), StringIO()
    call_command("retention", "run", "--language", "en", stdout=out, stderr=err)
    assert "client_record" in out.getvalue() and "anonymise" in out.getvalue()
    assert "retention client_record" in err.getvalue()  # the progress line
    run = RetentionRun.objects.get()
    assert run.triggered_by.startswith("command")
    out = StringIO()
    call_command("retention", "history", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())[0]["rules"]["client_record"]["expired"] == 2
    out = StringIO()
    call_command("retention", "rules", "--format", "json", stdout=out)
    assert {r["rule"]: r["years"] for r in json.loads(out.getvalue())}["client_record"] == 10


def test_the_nightly_task_runs_and_queues_the_next_night_once(region: Region) -> None:
    from django.utils import timezone

    from polku.retention import tasks

    result = tasks.nightly_retention.call(None, True)
    assert {r["rule"]: r["expired"] for r in result["rules"]}["client_record"] == 2
    assert RetentionRun.objects.get().triggered_by == "task"
    queued = list(tasks.queued_runs())
    assert len(queued) == 1 and timezone.localtime(queued[0].run_after).hour == 4
    out = StringIO()
    call_command("retention", "schedule", stdout=out)
    assert tasks.queued_runs().count() == 1, "scheduling again does not double the nightly run"


def test_the_admin_shows_the_log_read_only(region: Region, client: Any) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.fi", "x" * 12)
    run_retention(TODAY, user=admin)
    client.force_login(admin)
    run = RetentionRun.objects.get()
    listing = client.get("/admin/retention/retentionrun/")
    assert listing.status_code == 200
    page = client.get(f"/admin/retention/retentionrun/{run.pk}/change/")
    assert page.status_code == 200 and b"client_record" in page.content
    assert client.get("/admin/retention/retentionrun/add/").status_code == 403
    assert client.post(f"/admin/retention/retentionrun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RetentionRun.objects.filter(pk=run.pk).exists()


def test_the_checksum_sees_any_change(region: Region) -> None:
    before = checksums()
    Client.objects.filter(pk=region.recent.client.pk).update(phone="+358 40 000 0000")
    after = checksums()
    assert {t for t in before if before[t] != after[t]} == {"clients_client"}
    assert after["clients_client"]["rows"] == before["clients_client"]["rows"]


