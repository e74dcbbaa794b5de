"""The staff front page (worklist and caseload), one alert, acting on alerts, and managers' gap overview."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as Browser
from django.utils import timezone

from polku.audit.models import AccessLog
from polku.coordination.models import Alert, AlertEvent, AlertEventKind
from polku.coordination.services import sweep
from polku.organisations.models import StaffRole
from polku.referrals.models import ReferralStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


@pytest.fixture
def swept(joint: Any) -> Any:
    """An unanswered referral to the provider, found by a sweep as of today: an alert for the coordinator (and the
    provider as the other party)."""
    referral = f.referral(joint.client, joint.service, joint.employment, joint.coordinator,
                          status=ReferralStatus.SENT)
    referral.sent_at = timezone.now() - dt.timedelta(days=20)
    referral.save()
    sweep(as_of=timezone.localdate())
    joint.alert = Alert.objects.get(rule="referral_unanswered", client=joint.client, resolved_at__isnull=True)
    joint.manager = f.staff(joint.employment, StaffRole.MANAGER)
    joint.admin = f.staff(joint.employment, StaffRole.ADMINISTRATOR)
    return joint


# -- Front page -----------------------------------------------------------------------------------------------


def test_home__coordinator_sees_their_worklist_and_caseload_and_both_reads_are_logged(swept: Any) -> None:
    before = AccessLog.objects.filter(actor=swept.coordinator, object_type="list").count()
    page = login(swept.coordinator).get("/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="alert-{swept.alert.pk}"' in html
    assert f'href="/clients/{swept.client.pk}/#referrals"' in html  # the action's anchor
    assert f"/alerts/{swept.alert.pk}/" in html
    assert 'role="status"' in html and 'id="worklist-status"' in html
    assert swept.client.last_name in html
    assert "Severity: Medium" in html and "days past due" in html
    # One list row for the worklist, one for the caseload (each client shown once).
    assert AccessLog.objects.filter(actor=swept.coordinator, object_type="list").count() == before + 2


def test_home__caseload_is_paged_and_only_the_page_shown_is_logged(joint: Any) -> None:
    for _ in range(26):
        other = f.client()
        f.episode(other, (joint.employment, joint.coordinator))
        f.consent(other, joint.employment)
    browser = login(joint.coordinator)
    before = AccessLog.objects.count()
    page = browser.get("/")
    assert page.status_code == 200 and "page 1 of 2" in page.content.decode()
    assert AccessLog.objects.count() == before + 25
    second = browser.get("/?page=2")
    assert "page 2 of 2" in second.content.decode()
    assert AccessLog.objects.count() == before + 25 + 2


def test_home__caseload_is_the_readers_own_clients_with_a_way_to_all(joint: Any) -> None:
    colleague = f.staff(joint.employment, StaffRole.COORDINATOR)
    theirs = f.client(last_name="Kollegansa")
    f.episode(theirs, (joint.employment, colleague))
    f.consent(theirs, joint.employment)
    html = login(joint.coordinator).get("/").content.decode()
    assert "1 client you are responsible for" in html
    assert joint.client.last_name in html and "Kollegansa" not in html
    assert 'href="/clients/"' in html  # every client they may see is a search away
    # The colleague's own caseload is theirs alone.
    html = login(colleague).get("/").content.decode()
    assert "Kollegansa" in html and joint.client.last_name not in html


def test_home__without_own_clients_every_visible_client_in_uncounted_pages(joint: Any) -> None:
    # Nobody's responsible person (a colleague new to the team): every client their organisation may see, in name
    # order, 25 a page; not counted (in a region of a million clients the count costs more than the page).
    for n in range(31):
        other = f.client(last_name=f"Aaltonen{n:02d}")
        f.episode(other, (joint.employment, joint.coordinator))
        f.consent(other, joint.employment)
    hidden = f.client(last_name="Aaltonen00a")  # no consent for the organisation: never listed
    f.episode(hidden, (joint.employment, joint.coordinator))
    reader = f.staff(joint.employment, StaffRole.COORDINATOR)
    browser = login(reader)
    html = browser.get("/").content.decode()
    assert "Clients whose data you may see – page 1" in html and "you are responsible for" not in html
    assert "?page=2" in html and "Aaltonen00a" not in html
    assert html.index("Aaltonen00") < html.index("Aaltonen01") < html.index("Aaltonen24")  # 25 a page
    assert "Aaltonen25" not in html
    second = browser.get("/?page=2").content.decode()
    assert "– page 2" in second and "?page=1" in second and "?page=3" not in second
    assert "Aaltonen25" in second and "Aaltonen30" in second and "Aaltonen24" not in second
    assert "Aaltonen25" in browser.get("/?page=9").content.decode()  # past the end: the last page


def test_home__the_outsider_sees_no_alert_of_another_organisation(swept: Any) -> None:
    html = login(swept.outsider).get("/").content.decode()
    assert f'id="alert-{swept.alert.pk}"' not in html and swept.client.last_name not in html


def test_home__manager_sees_counts_and_a_link_to_the_gaps_but_no_client(swept: Any) -> None:
    before = AccessLog.objects.count()
    page = login(swept.manager).get("/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'href="/gaps/"' in html
    assert swept.client.last_name not in html and "/clients/" not in html
    assert AccessLog.objects.count() == before


def test_home__administrator_gets_the_way_to_administration(swept: Any) -> None:
    html = login(swept.admin).get("/").content.decode()
    assert 'href="/administration/"' in html and swept.client.last_name not in html


def test_home__a_client_is_sent_to_their_own_pages(joint: Any) -> None:
    joint.client.user = f.user()
    joint.client.save()
    page = login(joint.client.user).get("/")
    assert page.status_code == 302


# -- One alert ------------------------------------------------------------------------------------------------


def test_alert_detail__the_coordinator_sees_it_with_its_history_and_the_read_is_logged(swept: Any) -> None:
    page = login(swept.coordinator).get(f"/alerts/{swept.alert.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert swept.client.last_name in html and "History" in html and "the daily sweep" in html
    assert f'action="/alerts/{swept.alert.pk}/acknowledge/"' in html
    assert AccessLog.objects.filter(actor=swept.coordinator, client_id=swept.client.pk, object_type="Alert",
                                    allowed=True).exists()


@pytest.mark.parametrize("path", ["/alerts/{pk}/", "/alerts/999999/"])
def test_alert_detail__outsiders_get_not_found(swept: Any, path: str) -> None:
    page = login(swept.outsider).get(path.format(pk=swept.alert.pk))
    assert page.status_code == 404
    assert swept.client.last_name not in page.content.decode()


def test_alert_detail__the_manager_gets_not_found(swept: Any) -> None:
    assert login(swept.manager).get(f"/alerts/{swept.alert.pk}/").status_code == 404


# -- Acting on an alert ---------------------------------------------------------------------------------------


def test_acknowledge__writes_an_event_logs_it_and_redirects_back_with_a_message(swept: Any) -> None:
    browser = login(swept.coordinator)
    page = browser.post(f"/alerts/{swept.alert.pk}/acknowledge/",
                        {"note": "Calling the provider", "next": f"/#alert-{swept.alert.pk}"})
    assert page.status_code == 302 and page["Location"] == f"/#alert-{swept.alert.pk}"
    swept.alert.refresh_from_db()
    assert swept.alert.acknowledged_by == swept.coordinator
    event = AlertEvent.objects.get(alert=swept.alert)
    assert event.kind == AlertEventKind.ACKNOWLEDGED and event.note == "Calling the provider"
    assert AccessLog.objects.filter(actor=swept.coordinator, client_id=swept.client.pk, action="update",
                                    allowed=True).exists()
    html = browser.get("/").content.decode()
    assert "The alert is acknowledged." in html and "Acknowledged by" in html


def test_acknowledge__an_unsafe_next_address_is_not_followed(swept: Any) -> None:
    page = login(swept.coordinator).post(f"/alerts/{swept.alert.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert page["Location"] == f"/alerts/{swept.alert.pk}/"


def test_comment__is_saved_as_an_event(swept: Any) -> None:
    page = login(swept.coordinator).post(f"/alerts/{swept.alert.pk}/comment/", {"note": "Waiting for a call back"})
    assert page.status_code == 302
    assert AlertEvent.objects.get(alert=swept.alert).kind == AlertEventKind.COMMENT


def test_resolve__with_a_note_resolves_and_the_item_leaves_the_worklist(swept: Any) -> None:
    browser = login(swept.coordinator)
    page = browser.post(f"/alerts/{swept.alert.pk}/resolve/", {"note": "Provider answered by phone", "next": "/"})
    assert page.status_code == 302
    swept.alert.refresh_from_db()
    assert swept.alert.resolved_by == swept.coordinator and not swept.alert.is_open
    assert AlertEvent.objects.get(alert=swept.alert).kind == AlertEventKind.RESOLVED
    assert f'id="alert-{swept.alert.pk}"' not in browser.get("/").content.decode()


def test_resolve__without_a_note__error_next_to_the_field_and_nothing_written(swept: Any) -> None:
    page = login(swept.coordinator).post(f"/alerts/{swept.alert.pk}/resolve/", {"note": "  "})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'aria-invalid="true"' in html and f'id="resolve-{swept.alert.pk}-note_error"' in html
    assert f'aria-describedby="resolve-{swept.alert.pk}-note_helptext resolve-{swept.alert.pk}-note_error"' in html
    swept.alert.refresh_from_db()
    assert swept.alert.is_open and not AlertEvent.objects.filter(alert=swept.alert).exists()


def test_comment__too_long__error_and_the_input_is_kept(swept: Any) -> None:
    text = "x" * 2001
    page = login(swept.coordinator).post(f"/alerts/{swept.alert.pk}/comment/", {"note": text})
    assert 'aria-invalid="true"' in page.content.decode() and text in page.content.decode()
    assert not AlertEvent.objects.exists()


@pytest.mark.parametrize("action", ["acknowledge", "comment", "resolve"])
def test_actions__an_outsider_gets_not_found_and_the_refusal_is_logged(swept: Any, action: str) -> None:
    page = login(swept.outsider).post(f"/alerts/{swept.alert.pk}/{action}/", {"note": "Mine now"})
    assert page.status_code == 404
    swept.alert.refresh_from_db()
    assert swept.alert.acknowledged_at is None and swept.alert.is_open
    assert not AlertEvent.objects.exists()
    assert AccessLog.objects.filter(actor=swept.outsider, client_id=swept.client.pk, allowed=False).count() == 1


def test_actions__get_is_not_allowed(swept: Any) -> None:
    assert login(swept.coordinator).get(f"/alerts/{swept.alert.pk}/acknowledge/").status_code == 405


def test_actions__htmx_gets_the_item_and_a_status_message(swept: Any) -> None:
    page = login(swept.coordinator).post(f"/alerts/{swept.alert.pk}/acknowledge/", {"note": ""},
                                         HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith(f'<li class="card worklist-item" id="alert-{swept.alert.pk}"')
    assert 'hx-swap-oob="innerHTML"' in html and "The alert is acknowledged." in html
    assert "Acknowledged by" in html and "autofocus" in html


def test_actions__htmx_error_gets_the_item_with_the_error(swept: Any) -> None:
    page = login(swept.coordinator).post(f"/alerts/{swept.alert.pk}/resolve/", {"note": ""}, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200 and "<html" not in html
    assert 'aria-invalid="true"' in html and "notification--error" in html
    assert Alert.objects.get(pk=swept.alert.pk).is_open


def test_actions__a_resolved_alert_cannot_be_acknowledged(swept: Any) -> None:
    browser = login(swept.coordinator)
    browser.post(f"/alerts/{swept.alert.pk}/resolve/", {"note": "Done"})
    page = browser.post(f"/alerts/{swept.alert.pk}/acknowledge/", {}, follow=True)
    assert page.status_code == 200 and "already resolved" in page.content.decode()
    assert AlertEvent.objects.filter(alert=swept.alert).count() == 1


# -- Gap overview ---------------------------------------------------------------------------------------------


def test_gaps__manager_sees_counts_chart_and_tables_but_no_client(swept: Any, settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 1}
    before = AccessLog.objects.count()
    page = login(swept.manager).get("/gaps/?weeks=4")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "Open alerts by rule" in html and "Referral not answered" in html
    assert swept.client.last_name not in html and swept.client.first_name not in html and "/clients/" not in html
    assert AccessLog.objects.count() == before
    # The trend chart: the gaps line this week holds the open unanswered referral, and its table says so.
    assert "Gaps in the service chain" in html
    table = html.split('id="gap-trend-caption"', 1)[1]
    last_row = table.split("</tbody>", 1)[0].rsplit("<tr>", 1)[1]
    cells = [cell.split(">", 1)[1].split("<", 1)[0] for cell in last_row.split("<td")[1:]]
    assert cells == ["0", "0", "1"], cells  # screening, deadlines, gaps at the last week's end


def test_gaps__small_counts_are_suppressed(swept: Any, settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 5}
    html = login(swept.manager).get("/gaps/").content.decode()
    assert "fewer than 5" in html


def test_gaps__a_coordinator_is_told_it_is_for_managers(swept: Any) -> None:
    page = login(swept.coordinator).get("/gaps/")
    assert page.status_code == 403 and swept.client.last_name not in page.content.decode()


def test_gaps__someone_without_a_staff_role_gets_not_found(db: Any) -> None:
    assert login(f.user()).get("/gaps/").status_code == 404


@pytest.mark.parametrize(("language", "shown"), [("fi", "%-d.%-m.%Y"), ("sv", "%Y-%m-%d"), ("en", "%m/%d/%Y")])
def test_worklist__alert_dates_in_the_readers_format(swept: Any, language: str, shown: str) -> None:
    html = login(swept.coordinator, language).get("/").content.decode()
    since = swept.alert.since
    assert since.strftime(shown) in html
    if language != "sv":
        assert since.isoformat() not in html.split(f'id="alert-{swept.alert.pk}"', 1)[1][:3000]
