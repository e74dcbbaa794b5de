"""The impact model's pages: the employment-potential section of the client page (with recorded disagreements),
the managers' overview at ``/impact/`` and the client's own group in the portal."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client as Browser
from django.utils import timezone
from django.utils.html import escape

from polku.audit.guards import unguarded
from polku.audit.models import AccessLog
from polku.clients.models import Client
from polku.core.choices import DataCategory
from polku.impact import selectors as impact_selectors
from polku.impact.models import EstimateOverride, ModelKind, ModelVersion, OverrideDirection
from polku.impact.services import train_and_store
from polku.impact.table import build_table, month_ends
from polku.organisations.models import StaffRole
from polku.referrals.models import ReferralStatus
from polku.synth.generate import Options, generate
from tests import factories as f

#: Big enough that the model learns something (its leaves need 500 rows) and the audit shows some groups, small
#: enough that the module trains both models in about half a minute.
CLIENTS = 2000
MONTHS = 36
SEED = 5
ESTIMATE_PURPOSE = "View the employment potential estimate"
REASONS_PURPOSE = "View the reasons for the employment potential estimate"


@dataclass
class Trained:
    potential: ModelVersion
    segments: ModelVersion | None
    seconds: float


def _train_segments(table: Any) -> ModelVersion | None:
    try:
        from polku.impact import segments  # noqa: F401 - being written; the section shows without it
        from polku.impact.services import train_segments_and_store
    except ImportError:
        return None
    version, _model = train_segments_and_store(table, data_source="test", trained_by="test", max_segments=4,
                                               seeds=(0,))
    return version


@pytest.fixture(scope="module")
def trained(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Trained]:
    """A small synthetic region with both models trained on it, once for this module, inside a transaction that
    is rolled back afterwards (each test's own transaction nests inside it)."""
    started = time.monotonic()
    today = timezone.localdate()
    start = dt.date(today.year - MONTHS // 12, today.month, 1)
    with django_db_blocker.unblock(), transaction.atomic():
        generate(Options(clients=CLIENTS, months=MONTHS, seed=SEED, start=start))
        table = build_table(month_ends(start, today, 1), observed_until=today)
        potential, _metrics = train_and_store(table, outcome="employed_12m", features=None, data_source="test",
                                              trained_by="test", members=2)
        segments = _train_segments(table)
        yield Trained(potential, segments, time.monotonic() - started)
        transaction.set_rollback(True)


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def page(user: Any, client_id: int) -> tuple[int, str]:
    response = login(user).get(f"/clients/{client_id}/")
    return response.status_code, response.content.decode()


def section(html: str) -> str:
    """The employment-potential section of the client page."""
    start = html.index('id="employment-potential-section"')
    return html[start:html.index("</section>", start)]


HTMX = {"HTTP_HX_REQUEST": "true"}


# --- the client page ---------------------------------------------------------------------------------------------


def test_client_page__coordinator_sees_the_estimate_and_each_category_read_is_logged(trained: Trained,
                                                                                    joint: Any) -> None:
    status, html = page(joint.coordinator, joint.client.pk)
    assert status == 200
    part = section(html)
    estimate = impact_selectors.client_estimate(actor=joint.social_worker, client_id=joint.client.pk)
    assert estimate is not None
    assert f"About {estimate.percent} in 100 clients in a similar situation found work on the open market within " \
           "12 months." in part
    assert estimate.low is not None and estimate.high is not None
    assert f"between {round(estimate.low * 100)} and {round(estimate.high * 100)} in 100 (a 90 per cent range)" in part
    assert f"about {round(estimate.average * 100)} in 100 of all clients" in part
    assert "decides nothing" in part
    assert 'id="estimate-trend-caption"' in part and "<svg" in part  # the trend chart with its table
    assert f"version {trained.potential.version}" in part
    if trained.segments is not None:
        assert estimate.segment is not None and escape(estimate.segment["title"]) in part
        assert estimate.segment["needs"] and all(escape(need) in part for need in estimate.segment["needs"])
    assert 'href="#employment-potential"' in html  # the in-page navigation

    rows = AccessLog.objects.filter(actor=joint.coordinator, client_id=joint.client.pk, allowed=True)
    assert rows.filter(category=DataCategory.EMPLOYMENT, purpose=ESTIMATE_PURPOSE).count() == 1
    mine = impact_selectors.client_estimate(actor=joint.coordinator, client_id=joint.client.pk)
    assert mine is not None
    for reason in mine.reasons:
        assert reason.label in part and reason.direction in part
    shown = {r.category for r in mine.reasons} - {DataCategory.EMPLOYMENT}
    for category in (DataCategory.SOCIAL, DataCategory.HEALTH, DataCategory.BENEFITS, DataCategory.REHABILITATION,
                     DataCategory.BASIC):
        logged = rows.filter(category=category, purpose=REASONS_PURPOSE).exists()
        assert logged == (category in shown), category
    if mine.hidden_reasons:
        assert 'id="estimate-hidden-reasons"' in part
    else:
        assert 'id="estimate-hidden-reasons"' not in part


def _life_situation(joint: Any, value: int) -> None:
    """A life-situation mapping (social data) with every area at ``value``: its obstacles are reasons."""
    from polku.assessments.models import Instrument
    from polku.assessments.services import assessment_record

    items = list(Instrument.objects.get(code="life-situation").items.values_list("code", flat=True))
    assessment_record(actor=joint.social_worker, client_id=joint.client.pk, instrument_code="life-situation",
                      answers=dict.fromkeys(items, value), assessed_on=timezone.localdate() - dt.timedelta(days=7))


def test_client_page__reasons_from_data_one_may_not_see_are_counted_not_shown(trained: Trained,
                                                                             joint: Any) -> None:
    """The coordinator may not see social data: a reason from it is only counted, never shown or logged."""
    from polku.access.policy import decide
    from polku.audit.models import AccessAction

    _life_situation(joint, 3)
    social = impact_selectors.client_estimate(actor=joint.social_worker, client_id=joint.client.pk)
    assert social is not None
    with unguarded():  # the log is append-only; the test empties or ages its own rows
        AccessLog.objects.all().delete()
    _status, html = page(joint.coordinator, joint.client.pk)
    part = section(html)
    coordinator = impact_selectors.client_estimate(actor=joint.coordinator, client_id=joint.client.pk)
    assert coordinator is not None
    # Both readers are told about the same reasons: each sees some and is told how many others there are.
    assert len(coordinator.reasons) + coordinator.hidden_reasons == len(social.reasons) + social.hidden_reasons
    may_see = {c: decide(joint.coordinator, joint.client.pk, c, AccessAction.VIEW).allowed
               for c in DataCategory.values}
    assert not may_see[DataCategory.SOCIAL]
    assert all(may_see[r.category] for r in coordinator.reasons)
    hidden_social = [r for r in social.reasons if r.category == DataCategory.SOCIAL]
    assert hidden_social  # the mapping's obstacles move the estimate
    for reason in hidden_social:
        assert reason.label not in part
    assert coordinator.hidden_reasons >= len(hidden_social)
    note = part.split('id="estimate-hidden-reasons">', 1)[1].split("</p>", 1)[0]
    if coordinator.hidden_reasons == 1:
        assert note == "One more reason comes from data you may not see, so it is not shown."
    else:
        assert note == f"{coordinator.hidden_reasons} more reasons come from data you may not see, so they are " \
                       "not shown."
    assert not AccessLog.objects.filter(actor=joint.coordinator, category=DataCategory.SOCIAL).exists()


def test_client_page__a_role_without_employment_access_sees_the_page_without_the_estimate(trained: Trained,
                                                                                        joint: Any) -> None:
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator, status=ReferralStatus.SENT)
    status, html = page(joint.provider_worker, joint.client.pk)
    assert status == 200
    part = section(html)
    assert "You may not see this part." in part
    assert "in 100 clients" not in html and "estimate-trend" not in html and "Record a disagreement" not in html
    assert not AccessLog.objects.filter(actor=joint.provider_worker, category=DataCategory.EMPLOYMENT).exists()


def test_client_page__a_client_one_may_not_see_is_still_not_found(trained: Trained, joint: Any) -> None:
    status, html = page(joint.outsider, joint.client.pk)
    assert status == 404 and joint.client.last_name not in html
    assert not AccessLog.objects.filter(actor=joint.outsider, allowed=True).exists()


def test_client_page__without_a_model_the_section_says_so(joint: Any) -> None:
    ModelVersion.objects.all().delete()  # within this test's transaction
    status, html = page(joint.coordinator, joint.client.pk)
    assert status == 200
    assert "has not been trained yet" in section(html)
    assert not AccessLog.objects.filter(actor=joint.coordinator, purpose=ESTIMATE_PURPOSE).exists()


# --- recording a disagreement ----------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_disagree__bad_input_writes_nothing_and_shows_the_field_errors(trained: Trained, joint: Any,
                                                                       htmx: bool) -> None:
    url = f"/clients/{joint.client.pk}/estimate/disagree/"
    response = login(joint.coordinator).post(url, {"disagree-direction": "", "disagree-reason": "  "},
                                             **(HTMX if htmx else {}))
    html = response.content.decode()
    assert response.status_code == 200
    assert not EstimateOverride.objects.exists()
    part = section(html)
    assert 'aria-invalid="true"' in part
    assert 'id="id_disagree-reason_error"' in part and 'id="id_disagree-direction_error"' in part
    assert ("<html" in html) is not htmx  # htmx gets the section alone


def test_disagree__without_javascript_records_one_and_lists_it(trained: Trained, joint: Any) -> None:
    browser = login(joint.coordinator)
    url = f"/clients/{joint.client.pk}/estimate/disagree/"
    response = browser.post(url, {"disagree-direction": OverrideDirection.TOO_LOW,
                                  "disagree-reason": "Starts a work trial next week."})
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{joint.client.pk}/#employment-potential"
    override = EstimateOverride.objects.get()
    current = impact_selectors.current_estimate(joint.client.pk)
    assert current is not None
    assert override.direction == OverrideDirection.TOO_LOW and override.recorded_by == joint.coordinator
    assert override.model_version == trained.potential and override.estimate == pytest.approx(current[1])
    html = browser.get(response["Location"]).content.decode()
    assert "Your disagreement is recorded." in html
    part = section(html)
    assert f'id="override-{override.pk}"' in part and "Starts a work trial next week." in part
    assert "The estimate is too low" in part


def test_disagree__with_htmx_answers_the_section_with_the_message(trained: Trained, joint: Any) -> None:
    response = login(joint.coordinator).post(
        f"/clients/{joint.client.pk}/estimate/disagree/",
        {"disagree-direction": OverrideDirection.TOO_HIGH, "disagree-reason": "Health has got worse."}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'role="status"' in html and "Your disagreement is recorded." in html
    assert "Health has got worse." in html and EstimateOverride.objects.count() == 1
    assert 'aria-invalid' not in html  # a fresh form


@pytest.mark.parametrize("who", ["outsider", "provider_worker"])
def test_disagree__someone_who_may_not_see_gets_not_found_and_nothing_is_written(trained: Trained, joint: Any,
                                                                                who: str) -> None:
    response = login(getattr(joint, who)).post(f"/clients/{joint.client.pk}/estimate/disagree/",
                                               {"disagree-direction": "too_low", "disagree-reason": "x"})
    assert response.status_code == 404 and not EstimateOverride.objects.exists()


# --- the managers' overview ------------------------------------------------------------------------------------


def test_impact__manager_sees_figures_but_no_client(trained: Trained, joint: Any) -> None:
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    before = AccessLog.objects.count()
    response = login(manager).get("/impact/")
    html = response.content.decode()
    assert response.status_code == 200
    test = trained.potential.metrics["test"]
    assert f"{test['auc']:.3f}" in html.split('id="validation-auc"', 1)[1][:40]
    assert f"{test['ece']:.3f}" in html.split('id="validation-ece"', 1)[1][:40]
    span = trained.potential.metrics["test_reference_dates"]
    first = dt.date.fromisoformat(span[0])
    assert first.strftime("%m/%d/%Y") in html  # the out-of-time test period, in the reader's format
    assert "Model fairness by sex" in html and "<svg" in html  # the fairness chart
    report = trained.potential.fairness_reports.get().report
    for name in report["groupings"]:
        assert f'id="fairness-table-{name.replace("+", "-").replace("_", "-")}"' in html, name
    if any(cell["suppressed"] for g in report["groupings"].values() for cell in g["cells"]):
        assert "not shown" in html
    assert 'id="model-versions"' in html and "Employment potential" in html
    assert "/clients/" not in html and AccessLog.objects.count() == before
    codes = Client.objects.values_list("personal_identity_code", "first_name", "last_name")
    assert codes.count() > CLIENTS
    for code, first_name, last_name in codes:
        assert code not in html and f"{first_name} {last_name}" not in html
    assert 'href="/impact/"' in html and 'aria-current="page"' in html


def test_impact__groupings_in_reading_order_whatever_order_the_database_keeps(trained: Trained, joint: Any) -> None:
    """PostgreSQL's jsonb does not keep the audit's key order: the page orders the groupings itself (the single
    attributes with their charts first, then the combinations, folded)."""
    report = trained.potential.fairness_reports.get()
    report.report = {**report.report, "groupings": dict(reversed(list(report.report["groupings"].items())))}
    report.save()
    html = login(f.staff(joint.employment, StaffRole.MANAGER)).get("/impact/").content.decode()
    positions = [html.index(f'id="fairness-table-{key}"') for key in
                 ("sex", "age-band", "foreign-background", "language", "sex-foreign-background", "sex-age-band",
                  "foreign-background-age-band", "sex-language")]
    assert positions == sorted(positions)
    assert html.index('id="fairness-table-language"') < html.index('id="combined-heading"') < positions[4]
    assert html.count('id="combined-heading"') == 1


def test_impact__segments_table_with_small_cells_suppressed(trained: Trained, joint: Any, settings: Any) -> None:
    if trained.segments is None:
        pytest.skip("polku.impact.segments is not there yet")
    from polku.impact import segments

    manager = f.staff(joint.employment, StaffRole.MANAGER)
    html = login(manager).get("/impact/").content.decode()
    model = impact_selectors.loaded(trained.segments)
    for number in range(1, int(trained.segments.metrics["k"]) + 1):
        assert escape(segments.describe(model, number)["title"]) in html
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 10 ** 9}
    html = login(manager).get("/impact/").content.decode()
    table = html.split('id="segments-heading"', 1)[1].split("</table>", 1)[0]
    k = int(trained.segments.metrics["k"])
    assert table.count("fewer than 1000000000") == k and table.count("not shown") == 2 * k  # share, in work


def test_impact__a_coordinator_is_told_it_is_for_managers(trained: Trained, joint: Any) -> None:
    response = login(joint.coordinator).get("/impact/")
    html = response.content.decode()
    assert response.status_code == 403 and "AUC" not in html
    assert 'href="/impact/"' not in login(joint.coordinator).get("/").content.decode()


def test_impact__someone_without_a_staff_role_gets_not_found(db: Any) -> None:
    assert login(f.user()).get("/impact/").status_code == 404


def test_impact__without_models_it_says_how_to_train(db: Any) -> None:
    ModelVersion.objects.all().delete()  # within this test's transaction
    manager = f.staff(f.organisation(), StaffRole.ADMINISTRATOR)
    response = login(manager).get("/impact/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="impact-no-model"' in html and "polku impact train" in html and "polku impact segments" in html


# --- the portal ------------------------------------------------------------------------------------------------


def _portal_client(joint: Any) -> Any:
    joint.client.user = f.user()
    joint.client.save()
    return joint.client.user


def test_portal__the_client_sees_their_own_group_and_nothing_of_others(trained: Trained, joint: Any) -> None:
    if trained.segments is None:
        pytest.skip("polku.impact.segments is not there yet")
    user = _portal_client(joint)
    other = f.client()
    f.episode(other, (joint.employment, joint.coordinator))
    response = login(user).get("/me/")
    html = response.content.decode()
    assert response.status_code == 200
    group = impact_selectors.own_segment(actor=user)
    assert group is not None
    assert "Your group" in html and escape(group["title"]) in html and escape(group["summary"]) in html
    assert other.last_name not in html and other.personal_identity_code not in html
    assert not AccessLog.objects.filter(client_id=other.pk).exists()


def test_portal__no_group_section_without_a_segments_model(trained: Trained, joint: Any) -> None:
    ModelVersion.objects.filter(kind=ModelKind.SEGMENTS).delete()
    response = login(_portal_client(joint)).get("/me/")
    assert response.status_code == 200 and "Your group" not in response.content.decode()
