"""Everything Polku holds about one person, for the right of access (GDPR Article 15; Client Data Act 703/2023).

:func:`client_data_export` gathers the client record and every record about the client, as plain JSON-ready
data: one query per table (plus one per kind of name shown, such as organisations and people), never one per row.
It does not decide who may have the copy and writes no access-log row; its caller does both (``polku export
client`` logs the export as an ``export`` of the client's data).

Each record is given with all its stored fields. Dates and times are ISO 8601 text, decimals text. A field with a
fixed set of codes also has ``<field>_label``, the code's name in the active language. A reference to an
organisation, a person, a service or an assessment instrument is ``{"id": …, "name": …}``; references between the
client's own records keep their ``<field>_id``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext

from polku.assessments.models import (
    Assessment,
    AssessmentAnswer,
    Disagreement,
    Instrument,
    InstrumentItem,
    JointAssessment,
    JointAssessmentSection,
)
from polku.audit.models import AccessLog
from polku.catalogue.models import Service
from polku.coordination.models import Alert, AlertEvent
from polku.core.translation import localized
from polku.episodes.models import EpisodeParticipant, JointServiceEpisode
from polku.organisations.models import Organisation, StaffMember
from polku.plans.models import Goal, Plan, PlanReview, PlanSignoff, PlanVersion, Step
from polku.referrals.models import Referral, ReferralTransition

from .models import BenefitPeriod, Client, ClientContact, Consent, EmploymentStatusPeriod, ResidenceChange

EXPORT_FORMAT = "polku-client-data"
EXPORT_VERSION = 1


def _user_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def _name_lookups() -> dict[type[models.Model], Callable[[set[Any]], dict[Any, str]]]:
    """For each kind of referenced record shown by name: ids → names, in one query."""
    user_model = get_user_model()

    def organisations(ids: set[Any]) -> dict[Any, str]:
        return {o.pk: localized(o, "name") for o in Organisation.objects.filter(pk__in=ids)}

    def users(ids: set[Any]) -> dict[Any, str]:
        return {u.pk: _user_name(u) for u in user_model.objects.filter(pk__in=ids)}

    def staff(ids: set[Any]) -> dict[Any, str]:
        return {s.pk: f"{_user_name(s.user)} ({localized(s.organisation, 'name')})"
                for s in StaffMember.objects.filter(pk__in=ids).select_related("user", "organisation")}

    def services(ids: set[Any]) -> dict[Any, str]:
        return {s.pk: localized(s, "name") for s in Service.objects.filter(pk__in=ids)}

    def instruments(ids: set[Any]) -> dict[Any, str]:
        return {i.pk: localized(i, "name") for i in Instrument.objects.filter(pk__in=ids)}

    def items(ids: set[Any]) -> dict[Any, str]:
        return {i.pk: f"{i.code}: {localized(i, 'text')}" for i in InstrumentItem.objects.filter(pk__in=ids)}

    return {Organisation: organisations, user_model: users, StaffMember: staff, Service: services,
            Instrument: instruments, InstrumentItem: items}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


class _Collector:
    """Reads tables into plain rows and fills in the names of referenced records afterwards, one query per
    kind of record."""

    def __init__(self) -> None:
        self.lookups = _name_lookups()
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.patches: list[tuple[dict[str, Any], str, type[models.Model], Any]] = []

    def rows(self, queryset: models.QuerySet[Any]) -> list[dict[str, Any]]:
        model = queryset.model
        fields = list(model._meta.concrete_fields)
        out = []
        for stored in queryset.values(*[f.attname for f in fields]):
            row: dict[str, Any] = {}
            for f in fields:
                value = stored[f.attname]
                related = f.related_model if f.is_relation else None
                if related is not None and related in self.lookups:
                    row[f.name] = None
                    if value is not None:
                        self.wanted[related].add(value)
                        self.patches.append((row, f.name, related, value))
                    continue
                row[f.attname] = _plain(value)
                if f.choices and value not in (None, ""):
                    row[f"{f.attname}_label"] = str(dict(f.flatchoices).get(value, value))
            out.append(row)
        return out

    def resolve(self) -> None:
        names = {model: self.lookups[model](ids) for model, ids in self.wanted.items()}
        for row, name, model, pk in self.patches:
            row[name] = {"id": pk, "name": names[model].get(pk)}


def _by(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def client_data_export(client: Client) -> dict[str, Any]:
    """Everything Polku holds about ``client`` as JSON-serialisable data (see the module's documentation).

    Sections: ``client``, ``portal_account`` (the client's login, if any), ``consents``, ``employment_periods``,
    ``benefit_periods``, ``contacts``, ``residence_changes``, ``episodes`` (with ``participants``), ``plans``
    (with every ``versions`` entry's ``goals`` and their ``steps``, the ``signoffs``, and the plan's ``reviews``),
    ``assessments`` (with ``answers``), ``joint_assessments`` (with ``sections`` and ``disagreements``),
    ``referrals`` (with ``transitions``), ``alerts`` (with ``events``), ``messages`` (the portal's messages) and
    ``access_log``.
    """
    c = _Collector()
    cid = client.pk
    client_rows = c.rows(Client.objects.filter(pk=cid))
    consents = c.rows(Consent.objects.filter(client_id=cid).order_by("valid_from", "pk"))
    employment = c.rows(EmploymentStatusPeriod.objects.filter(client_id=cid).order_by("start_date", "pk"))
    benefits = c.rows(BenefitPeriod.objects.filter(client_id=cid).order_by("start_date", "pk"))
    contacts = c.rows(ClientContact.objects.filter(client_id=cid).order_by("at", "pk"))
    moves = c.rows(ResidenceChange.objects.filter(client_id=cid).order_by("moved_on", "pk"))

    episodes = c.rows(JointServiceEpisode.objects.filter(client_id=cid).order_by("start_date", "pk"))
    participants = _by(c.rows(EpisodeParticipant.objects.filter(episode__client_id=cid).order_by("joined_on", "pk")),
                       "episode_id")
    for episode in episodes:
        episode["participants"] = participants.get(episode["id"], [])

    plans = c.rows(Plan.objects.filter(episode__client_id=cid).order_by("created_at", "pk"))
    versions = _by(c.rows(PlanVersion.objects.filter(plan__episode__client_id=cid).order_by("number", "pk")),
                   "plan_id")
    goals = _by(c.rows(Goal.objects.filter(plan_version__plan__episode__client_id=cid).order_by("position", "pk")),
                "plan_version_id")
    steps = _by(c.rows(Step.objects.filter(goal__plan_version__plan__episode__client_id=cid)
                       .order_by("position", "pk")), "goal_id")
    signoffs = _by(c.rows(PlanSignoff.objects.filter(plan_version__plan__episode__client_id=cid)
                          .order_by("signed_at", "pk")), "plan_version_id")
    reviews = _by(c.rows(PlanReview.objects.filter(plan__episode__client_id=cid).order_by("requested_at", "pk")),
                  "plan_id")
    for plan in plans:
        plan["versions"] = versions.get(plan["id"], [])
        plan["reviews"] = reviews.get(plan["id"], [])
        for version in plan["versions"]:
            version["goals"] = goals.get(version["id"], [])
            version["signoffs"] = signoffs.get(version["id"], [])
            for goal in version["goals"]:
                goal["steps"] = steps.get(goal["id"], [])

    assessments = c.rows(Assessment.objects.filter(client_id=cid).order_by("assessed_on", "pk"))
    answers = _by(c.rows(AssessmentAnswer.objects.filter(assessment__client_id=cid).order_by("assessment_id", "pk")),
                  "assessment_id")
    for assessment in assessments:
        assessment["answers"] = answers.get(assessment["id"], [])
    joint = c.rows(JointAssessment.objects.filter(episode__client_id=cid).order_by("held_on", "pk"))
    sections = _by(c.rows(JointAssessmentSection.objects.filter(joint_assessment__episode__client_id=cid)
                          .order_by("pk")), "joint_assessment_id")
    disagreements = _by(c.rows(Disagreement.objects.filter(joint_assessment__episode__client_id=cid)
                               .order_by("pk")), "joint_assessment_id")
    for assessment in joint:
        assessment["sections"] = sections.get(assessment["id"], [])
        assessment["disagreements"] = disagreements.get(assessment["id"], [])

    referrals = c.rows(Referral.objects.filter(client_id=cid).order_by("created_at", "pk"))
    transitions = _by(c.rows(ReferralTransition.objects.filter(referral__client_id=cid).order_by("at", "pk")),
                      "referral_id")
    for referral in referrals:
        referral["transitions"] = transitions.get(referral["id"], [])

    alerts = c.rows(Alert.objects.filter(client_id=cid).order_by("opened_at", "pk"))
    events = _by(c.rows(AlertEvent.objects.filter(alert__client_id=cid).order_by("at", "pk")), "alert_id")
    for alert in alerts:
        alert["events"] = events.get(alert["id"], [])

    from polku.portal.models import ClientMessage  # the portal's messages between the client and the professionals

    messages = c.rows(ClientMessage.objects.filter(client_id=cid).order_by("created_at", "pk"))

    access_log = c.rows(AccessLog.objects.filter(client_id=cid).order_by("at", "pk"))
    for entry in access_log:
        entry["purpose_text"] = gettext(entry["purpose"]) if entry["purpose"] else ""

    account = None
    if client.user_id is not None:
        account = next(iter(get_user_model().objects.filter(pk=client.user_id).values(
            "username", "first_name", "last_name", "email", "is_active", "date_joined", "last_login")), None)

    c.resolve()
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "generated_at": timezone.now().isoformat(),
        "language": translation.get_language(),
        "client": client_rows[0] if client_rows else None,
        "portal_account": {k: _plain(v) for k, v in account.items()} if account else None,
        "consents": consents,
        "employment_periods": employment,
        "benefit_periods": benefits,
        "contacts": contacts,
        "residence_changes": moves,
        "episodes": episodes,
        "plans": plans,
        "assessments": assessments,
        "joint_assessments": joint,
        "referrals": referrals,
        "alerts": alerts,
        "messages": messages,
        "access_log": access_log,
    }
