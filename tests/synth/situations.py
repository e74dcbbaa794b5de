"""Every situation of docs/coordination.md read back from the database, in plain Python, for checking the
generator's truth (gaps.csv) against the data it wrote.

This is test code, independent of the generator's arrays and of the coordination engine: it reads the rows as
Polku stores them and applies the documented definitions (local dates in Europe/Helsinki; "open episode" is
status mapping or active; "employed" is the employment-status period covering the day being employed on the open
market). Like gaps.csv it lists every record *in* a situation on the day, whatever the rule's threshold: the
since-day says how long it has lasted, or the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from polku.assessments.models import Assessment, AssessmentAnswer
from polku.clients.models import BenefitPeriod, Client, ClientContact, Consent, EmploymentStatusPeriod, ResidenceChange
from polku.core.dates import add_months
from polku.episodes.models import EpisodeParticipant, JointServiceEpisode
from polku.organisations.models import OrganisationKind, ServiceArea
from polku.plans.models import Plan, PlanReview, PlanVersion, Step
from polku.referrals.models import Referral, ReferralTransition

HELSINKI = ZoneInfo("Europe/Helsinki")
OPEN_REFERRAL = {"sent", "received", "accepted", "waitlisted", "started"}
Key = tuple[int, str, int, dt.date]


def local(moment: Any) -> dt.date:
    return moment.astimezone(HELSINKI).date()


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _latest(rows: Iterable[tuple[Any, ...]]) -> dict[int, tuple[Any, ...]]:
    """Per client (first column), the row with the greatest remaining columns."""
    out: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        if row[0] not in out or row[1:] > out[row[0]][1:]:
            out[row[0]] = row
    return out


def situations(as_of: dt.date) -> dict[str, set[Key]]:
    e = as_of
    out: dict[str, set[Key]] = defaultdict(set)
    episodes = list(JointServiceEpisode.objects.values_list("pk", "client_id", "status", "start_date",
                                                            "mapping_period_end", "end_date"))
    open_episode = {client: (pk, start, mapping_end) for pk, client, status, start, mapping_end, _end in episodes
                    if status in ("mapping", "active")}
    covering: dict[int, list[tuple[str, dt.date]]] = defaultdict(list)
    for client, status, start, end in EmploymentStatusPeriod.objects.values_list("client_id", "status",
                                                                                "start_date", "end_date"):
        if start <= e and (end is None or end >= e):
            covering[client].append((status, start))
    assert all(len(v) == 1 for v in covering.values()), "one employment-status period covers the day"
    employed = {c for c, [(status, _s)] in covering.items() if status == "employed_open_market"}
    active = {c for c in open_episode if c not in employed}

    # screening_due (default criteria)
    recently_closed = {client for _pk, client, status, _s, _m, end in episodes  # in the last 365 days: after e - 365
                       if status == "closed" and end is not None and end > e - dt.timedelta(days=365)}
    areas_served = set(ServiceArea.objects.filter(organisation__kind=OrganisationKind.EMPLOYMENT_SERVICES)
                       .values_list("municipality_code", flat=True))
    subsidy: dict[int, int] = defaultdict(int)
    for client, days in BenefitPeriod.objects.filter(benefit="labour_market_subsidy").values_list("client_id",
                                                                                                    "paid_days"):
        subsidy[client] += days
    latest_was = _latest(Assessment.objects.filter(instrument__code="work-ability-score").values_list(
        "client_id", "assessed_on", "pk", "score"))
    latest_life = _latest(Assessment.objects.filter(instrument__code="life-situation").values_list(
        "client_id", "assessed_on", "pk"))
    areas: dict[int, int] = defaultdict(int)
    for assessment, value in AssessmentAnswer.objects.filter(
        assessment_id__in=[row[2] for row in latest_life.values()]
    ).values_list("assessment_id", "value"):
        areas[assessment] += value >= 2
    for client, birth, municipality in Client.objects.values_list("pk", "birth_date", "municipality_code"):
        if client in open_episode or client in recently_closed or not covering.get(client):
            continue
        if municipality not in areas_served:  # nobody's statutory job seeker here
            continue
        [(status, since)] = covering[client]
        if status != "unemployed":
            continue
        months = 6 if age_on(birth, e) < 25 else 12
        was = latest_was.get(client)
        life = latest_life.get(client)
        if (
            subsidy[client] >= 300
            or since <= add_months(e, -months)
            or (was is not None and (e - was[1]).days <= 365 and was[3] <= 5)
            or (life is not None and (e - life[1]).days <= 365 and areas[life[2]] >= 3)
        ):
            out["screening_due"].add((client, "client", client, since))

    # Deadlines of the episode and its plan
    plans = {episode: (pk, due, version) for pk, episode, due, version in Plan.objects.values_list(
        "pk", "episode_id", "next_review_due", "current_version")}
    for client, (episode, _start, mapping_end) in open_episode.items():
        if episode not in plans:
            kind = "mapping_period_ending" if mapping_end >= e else "plan_missing_after_mapping"
            out[kind].add((client, "episode", episode, mapping_end))
        else:
            plan, due, _version = plans[episode]
            assert due is not None  # every generated plan has its next review date
            out["plan_review_due" if due >= e else "plan_review_overdue"].add((client, "plan", plan, due))
    for pk, client, requested in PlanReview.objects.filter(trigger="client_request", held_on__isnull=True
                                                           ).values_list("pk", "plan__episode__client_id",
                                                                         "requested_at"):
        out["review_requested"].add((client, "review", pk, local(requested)))

    # Referrals
    waitlisted_on = {ref: local(at) for ref, at in ReferralTransition.objects.filter(to_status="waitlisted")
                     .values_list("referral_id", "at")}
    referrals = list(Referral.objects.values_list("pk", "client_id", "status", "sent_at", "decided_at",
                                                  "ended_at"))
    latest_referral = _latest((client, sent, pk, status, decided, ended)
                              for pk, client, status, sent, decided, ended in referrals)
    last_activity = {client: start for client, (_pk, start, _m) in open_episode.items()}
    has_open: set[int] = set()
    for pk, client, status, sent, decided, ended in referrals:
        if status in ("sent", "received"):
            out["referral_unanswered"].add((client, "referral", pk, local(sent)))
        if status == "waitlisted":
            out["referral_waitlisted"].add((client, "referral", pk, waitlisted_on[pk]))
        if status in OPEN_REFERRAL:
            has_open.add(client)
        if client in last_activity:
            for moment in (sent, decided, ended):
                if moment is not None:
                    last_activity[client] = max(last_activity[client], local(moment))
    for client, (_c, _sent, pk, status, decided, ended) in latest_referral.items():
        if client in active and status in ("completed", "interrupted"):
            out["service_ended_no_next_step"].add((client, "referral", pk, local(ended)))
        if client in active and status == "declined":
            out["declined_no_alternative"].add((client, "referral", pk, local(decided)))

    # Steps of the plans' current versions
    current = {pk for pk, number, current_version in PlanVersion.objects.values_list(
        "pk", "number", "plan__current_version") if number == current_version}
    for pk, version, client, status, due in Step.objects.values_list(
        "pk", "goal__plan_version_id", "goal__plan_version__plan__episode__client_id", "status", "due_date"
    ):
        if status == "in_progress":
            has_open.add(client)
        steps_on = status in ("planned", "in_progress") and client in open_episode and version in current
        if steps_on and due is not None and due < e:
            out["plan_step_overdue"].add((client, "step", pk, due))
    for client in active - has_open:
        out["no_active_service"].add((client, "episode", open_episode[client][0], last_activity[client]))

    # Contacts
    latest_contact: dict[int, dt.date] = {}
    for client, at in ClientContact.objects.values_list("client_id", "at"):
        if local(at) <= e:
            latest_contact[client] = max(latest_contact.get(client, local(at)), local(at))
    for client, (episode, start, _m) in open_episode.items():
        out["client_not_contacted"].add((client, "episode", episode, max(start, latest_contact.get(client, start))))

    # Consents in force that end after the day with nothing of the same organisation and category after them
    consents = list(Consent.objects.filter(client_id__in=open_episode).values_list(
        "pk", "client_id", "organisation_id", "category", "valid_from", "valid_to", "revoked_at"))
    in_force = [c for c in consents
                if local(c[4]) <= e and (c[6] is None or local(c[6]) > e) and (c[5] is None or local(c[5]) > e)]
    for pk, client, organisation, category, _from, valid_to, _revoked in in_force:
        if valid_to is None:
            continue
        continues = any(o == organisation and c == category and other != pk and (to is None or to > valid_to)
                        for other, c_client, o, c, _f, to, _r in in_force if c_client == client)
        if not continues:
            out["consent_lapsing"].add((client, "consent", pk, local(valid_to)))

    # Moved out of the area of every participating employment-services organisation
    area: dict[int, set[str]] = defaultdict(set)
    for organisation, code in ServiceArea.objects.values_list("organisation_id", "municipality_code"):
        area[organisation].add(code)
    served: dict[int, set[str]] = defaultdict(set)
    for episode, organisation in EpisodeParticipant.objects.filter(
        organisation__kind=OrganisationKind.EMPLOYMENT_SERVICES
    ).values_list("episode_id", "organisation_id"):
        served[episode] |= area[organisation]
    moved = dict(ResidenceChange.objects.order_by("moved_on").values_list("client_id", "moved_on"))  # the latest
    for client, municipality in Client.objects.filter(pk__in=open_episode).values_list("pk", "municipality_code"):
        episode = open_episode[client][0]
        if municipality not in served[episode]:
            out["moved_without_handover"].add((client, "episode", episode, moved[client]))
    return out
