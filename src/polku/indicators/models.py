"""Pre-aggregated, pseudonymised facts the indicators are counted from (docs/indicators.md, "Freshness").

``polku indicators refresh`` (and the scheduled task) rebuilds them from the client records in one set-based
pass; every report says when they were computed. They hold no direct identifier: ``person`` is a keyed hash of
the client (HMAC with ``POLKU["PSEUDONYM_KEY"]``), kept only to count distinct people.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FactRefresh(models.Model):
    """One rebuild of the facts: when it ran, up to which day the records were read, and how many rows."""

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    as_of = models.DateField(_("records read up to"))
    participations = models.PositiveIntegerField(_("participations"), default=0)
    assessments = models.PositiveIntegerField(_("assessment changes"), default=0)
    referrals = models.PositiveIntegerField(_("referrals"), default=0)
    triggered_by = models.CharField(_("triggered by"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("indicator refresh")
        verbose_name_plural = _("indicator refreshes")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.participations})"


class ParticipationFact(models.Model):
    """One joint-service episode (a *participation* in ESF+ terms) with what the indicators count about it.

    Characteristics are as they stood when the episode started (age, municipality, labour-market status); the
    results are the situation on leaving (within four weeks of the end) and six and twelve months after it,
    empty while that day has not passed on ``FactRefresh.as_of``.
    """

    person = models.BigIntegerField(_("person (pseudonym)"))
    episode = models.BigIntegerField(_("episode"), unique=True)
    start_date = models.DateField(_("start date"))
    mapping_end = models.DateField(_("end of mapping period"))
    plan_date = models.DateField(_("first plan"), null=True, blank=True)
    days_to_plan = models.IntegerField(_("days from the start to the first plan"), null=True, blank=True)
    mapping_ended_on = models.DateField(_("mapping period ended"), null=True, blank=True)
    mapping_days = models.IntegerField(_("days in the mapping period"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=24, blank=True)
    gender = models.CharField(_("gender"), max_length=16)
    age = models.PositiveSmallIntegerField(_("age at start"))
    language = models.CharField(_("language"), max_length=8)
    education = models.CharField(_("education"), max_length=16)
    foreign_background = models.CharField(_("foreign background"), max_length=16)
    third_country = models.CharField(_("third-country national"), max_length=16)
    minority = models.CharField(_("minority"), max_length=16)
    disability = models.CharField(_("disability"), max_length=16)
    homeless = models.CharField(_("homeless"), max_length=16)
    municipality = models.CharField(_("municipality at start"), max_length=3)
    area = models.CharField(_("urban or rural"), max_length=16)
    segment = models.CharField(_("segment"), max_length=32, blank=True)
    status_at_start = models.CharField(_("labour-market status at start"), max_length=24, blank=True)
    long_term_unemployed = models.BooleanField(_("long-term unemployed at start"), default=False)
    employed_on_leaving = models.BooleanField(_("employed on leaving"), null=True)
    education_on_leaving = models.BooleanField(_("in education or training on leaving"), null=True)
    job_searching_on_leaving = models.BooleanField(_("job searching on leaving"), null=True)
    qualification_on_leaving = models.BooleanField(_("gained a qualification"), null=True)
    status_6m = models.CharField(_("status 6 months after the end"), max_length=24, blank=True)
    status_12m = models.CharField(_("status 12 months after the end"), max_length=24, blank=True)
    better_situation_6m = models.BooleanField(_("better labour-market situation 6 months after"), null=True)

    class Meta:
        verbose_name = _("participation fact")
        verbose_name_plural = _("participation facts")
        indexes = [models.Index(fields=["start_date"]), models.Index(fields=["end_date"]),
                   models.Index(fields=["plan_date"]), models.Index(fields=["mapping_ended_on"]),
                   models.Index(fields=["person", "start_date"])]

    def __str__(self) -> str:
        return str(self.episode)


class AssessmentChangeFact(models.Model):
    """A person's first and latest score on one instrument within one episode (assessment change)."""

    person = models.BigIntegerField(_("person (pseudonym)"))
    episode = models.BigIntegerField(_("episode"))
    instrument = models.CharField(_("instrument"), max_length=64)
    gender = models.CharField(_("gender"), max_length=16)
    first_on = models.DateField(_("first assessed"))
    last_on = models.DateField(_("latest assessed"))
    first_score = models.FloatField(_("first score"))
    last_score = models.FloatField(_("latest score"))
    improved = models.BooleanField(_("improved"))

    class Meta:
        verbose_name = _("assessment change")
        verbose_name_plural = _("assessment changes")
        indexes = [models.Index(fields=["last_on"])]
        constraints = [models.UniqueConstraint(fields=["episode", "instrument"], name="indicators_one_change")]

    def __str__(self) -> str:
        return f"{self.episode} {self.instrument}"


class ReferralFact(models.Model):
    """One sent referral: to which service and provider, when it was answered and started, and the person's
    gender (service-chain indicators: waiting times, unanswered referrals)."""

    referral = models.BigIntegerField(_("referral"), unique=True)
    person = models.BigIntegerField(_("person (pseudonym)"))
    gender = models.CharField(_("gender"), max_length=16)
    service = models.BigIntegerField(_("service"))
    provider = models.BigIntegerField(_("provider"))
    sent_on = models.DateField(_("sent"))
    answered_on = models.DateField(_("answered"), null=True, blank=True)
    started_on = models.DateField(_("started"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16)
    waiting_days = models.IntegerField(_("days from sending to the start"), null=True, blank=True)
    answer_days = models.IntegerField(_("days from sending to the answer"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral fact")
        verbose_name_plural = _("referral facts")
        indexes = [models.Index(fields=["sent_on"]), models.Index(fields=["started_on"])]

    def __str__(self) -> str:
        return str(self.referral)
