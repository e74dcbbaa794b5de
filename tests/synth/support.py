"""Helpers shared by the synthetic-region tests."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

from polku.assessments.models import Assessment
from polku.clients.models import Client, EmploymentStatusPeriod
from polku.episodes.models import JointServiceEpisode
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
    ):
        for row in values:
            digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
