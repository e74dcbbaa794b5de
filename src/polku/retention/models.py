"""The retention job's own log: every run of ``polku retention run`` (or the nightly task), who or what started
it, the day it counted from, and per rule how many records had expired and what was done to them.

A run that only looked (``--dry-run``) writes nothing, this log included.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RetentionRun(models.Model):
    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    triggered_by = models.CharField(_("triggered by"), max_length=100, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=_("started by"))
    expired = models.PositiveIntegerField(_("records expired"), default=0)
    changed = models.PositiveIntegerField(_("rows changed or deleted"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.started_at:%Y-%m-%d %H:%M})"


class RetentionRuleResult(models.Model):
    """What one rule did in one run: the cut-off day, how many records had expired, how many rows of each table
    were anonymised or deleted (``rows``, table label to count)."""

    run = models.ForeignKey(RetentionRun, on_delete=models.CASCADE, related_name="results", verbose_name=_("run"))
    rule = models.CharField(_("rule"), max_length=40)
    action = models.CharField(_("action"), max_length=16)
    years = models.PositiveSmallIntegerField(_("years kept"))
    cutoff = models.DateField(_("expired if the anchor is before"))
    expired = models.PositiveIntegerField(_("records expired"), default=0)
    changed = models.PositiveIntegerField(_("rows changed or deleted"), default=0)
    rows = models.JSONField(_("rows by table"), default=dict, blank=True)

    class Meta:
        verbose_name = _("retention rule result")
        verbose_name_plural = _("retention rule results")
        ordering = ["run_id", "id"]

    def __str__(self) -> str:
        return f"{self.rule}: {self.expired}"
