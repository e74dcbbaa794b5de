"""Helpers shared by the synthetic-region tests."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

from polku.assessments.models import Assessment
from polku.clients.models import BenefitPeriod, Client, ClientContact, Consent, EmploymentStatusPeriod, ResidenceChange
from polku.episodes.models import JointServiceEpisode
from polku.plans.models import PlanReview, Step
from polku.referrals.models import Referral

START = dt.date(2023, 1, 1)


class Rollback(Exception):
    """Raised to roll a generated region back."""


def fingerprint() -> str:
    """A digest of the generated rows that do not depend on the database's own ids or clocks."""
    digest = hashlib.sha256()
    for values in (
        Client.objects.order_by("personal_identity_code").values_list(
            "personal_identity_code", "first_name", "last_name", "gender", "municipality_code", "education_level"
        ),
        JointServiceEpisode.objects.order_by("client__personal_identity_code").values_list(
            "client__personal_identity_code", "status", "start_date", "end_date", "end_reason"
        ),
        Referral.objects.order_by("client__personal_identity_code", "sent_at").values_list(
            "client__personal_identity_code", "service__national_catalogue_id", "status", "sent_at", "ended_at"
        ),
        Assessment.objects.order_by("client__personal_identity_code", "instrument__code", "assessed_on").values_list(
            "client__personal_identity_code", "instrument__code", "assessed_on", "score"
        ),
        EmploymentStatusPeriod.objects.order_by("client__personal_identity_code", "start_date").values_list(
            "client__personal_identity_code", "status", "start_date", "end_date"
        ),
        BenefitPeriod.objects.order_by("client__personal_identity_code", "start_date").values_list(
            "client__personal_identity_code", "benefit", "start_date", "end_date", "paid_days"
        ),
        ClientContact.objects.order_by("client__personal_identity_code", "at").values_list(
            "client__personal_identity_code", "at", "channel", "organisation__business_id"
        ),
        ResidenceChange.objects.order_by("client__personal_identity_code", "moved_on").values_list(
            "client__personal_identity_code", "from_municipality", "to_municipality", "moved_on"
        ),
        Consent.objects.order_by("client__personal_identity_code", "organisation__business_id", "category",
                                 "valid_from").values_list(
            "client__personal_identity_code", "organisation__business_id", "category", "valid_from", "valid_to",
            "revoked_at",
        ),
        PlanReview.objects.order_by(
            "plan__episode__client__personal_identity_code", "requested_at", "trigger"
        ).values_list("plan__episode__client__personal_identity_code", "trigger", "requested_at", "held_on"),
        Step.objects.order_by(
            "goal__plan_version__plan__episode__client__personal_identity_code", "goal__plan_version__number",
            "goal__position",
        ).values_list(
            "goal__plan_version__plan__episode__client__personal_identity_code", "goal__plan_version__number",
            "goal__position", "owned_by_client", "status", "due_date",
        ),
    ):
        for row in values:
            digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
