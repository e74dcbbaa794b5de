"""Alerts about people falling between services, the sweeps that maintain them and the rules' settings.

An :class:`Alert` is one gap or deadline of one client, found by one rule, about one record (a referral, a
plan, a consent, ...). The sweep (``services.sweep``) opens alerts for new gaps and resolves them when the gap is
gone; people acknowledge and comment on them (:class:`AlertEvent`). At most one open alert exists per rule,
client and record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Severity(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


class RuleSetting(models.Model):
    """This region's settings for one rule, overriding the defaults in code (``rules.RULES``)."""

    rule = models.CharField(_("rule"), max_length=40, unique=True)
    enabled = models.BooleanField(_("in use"), default=True)
    params = models.JSONField(_("thresholds"), default=dict, blank=True)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices, null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("rule setting")
        verbose_name_plural = _("rule settings")
        ordering = ["rule"]

    def __str__(self) -> str:
        return self.rule


class SweepRun(models.Model):
    """One evaluation of every rule over the whole client base."""

    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    opened = models.PositiveIntegerField(_("opened"), default=0)
    resolved = models.PositiveIntegerField(_("resolved"), default=0)
    open_total = models.PositiveIntegerField(_("open after the sweep"), default=0)
    counts = models.JSONField(_("open alerts by rule"), default=dict)
    triggered_by = models.CharField(_("triggered by"), max_length=100, blank=True)
    incremental = models.BooleanField(
        _("incremental"), default=False,
        help_text=_("Only the clients whose data changed or whose next threshold came due were evaluated."),
    )
    clients_evaluated = models.PositiveIntegerField(_("clients evaluated"), null=True, blank=True,
                                                    help_text=_("Empty when everybody was evaluated."))

    class Meta:
        verbose_name = _("sweep")
        verbose_name_plural = _("sweeps")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.started_at:%Y-%m-%d %H:%M})"


class Alert(models.Model):
    """A gap in a client's service chain or a deadline coming due, and who should act on it."""

    rule = models.CharField(_("rule"), max_length=40)
    # The four foreign keys that lead an index of Meta.indexes get no index of their own: one less index to
    # write for every alert the sweep opens or resolves.
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="alerts",
                               verbose_name=_("client"), db_index=False)
    episode = models.ForeignKey("episodes.JointServiceEpisode", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="alerts", verbose_name=_("episode"))
    object_type = models.CharField(_("record type"), max_length=16)
    object_id = models.BigIntegerField(_("record"))
    since = models.DateField(_("since"))
    due_on = models.DateField(_("due"), help_text=_("The day the situation became an alert, or the deadline."))
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices)
    vulnerability = models.PositiveSmallIntegerField(_("vulnerability"), default=0)
    responsible_organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("responsible organisation"), db_index=False,
    )
    responsible_person = models.ForeignKey(
        "organisations.StaffMember", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts",
        verbose_name=_("responsible person"), db_index=False,
    )
    counterpart_organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("other organisation"), db_index=False,
    )
    service = models.ForeignKey("catalogue.Service", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+", verbose_name=_("service"))
    category = models.CharField(_("data category"), max_length=16)
    # Foreign keys never looked up from this side have no index of their own either: every index is written for
    # each alert opened, and the sweep opens thousands a day.
    opened_run = models.ForeignKey(SweepRun, on_delete=models.SET_NULL, null=True, related_name="opened_alerts",
                                   db_index=False)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    opened_as_of = models.DateField(_("opened as of"))
    resolved_run = models.ForeignKey(SweepRun, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="resolved_alerts", db_index=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_as_of = models.DateField(_("resolved as of"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("resolved by"), db_index=False,
                                    help_text=_("Who resolved the alert by hand; empty when the sweep resolved it."))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+", verbose_name=_("acknowledged by"), db_index=False)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-severity", "since", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "client", "object_type", "object_id"], condition=Q(resolved_at__isnull=True),
                name="one_open_alert_per_gap",
            )
        ]
        indexes = [
            models.Index(fields=["responsible_organisation", "resolved_at"]),
            models.Index(fields=["responsible_person", "resolved_at"]),
            models.Index(fields=["counterpart_organisation", "resolved_at"]),
            models.Index(fields=["client", "resolved_at"]),
            # The worklist's three buckets, each walked in its order until a page is full (selectors.worklist).
            *(models.Index(fields=[who, "-severity", "due_on", "-vulnerability", "id"],
                           condition=Q(resolved_at__isnull=True), name=f"alert_worklist_{short}")
              for who, short in (("responsible_person", "person"), ("responsible_organisation", "org"),
                                 ("counterpart_organisation", "other"))),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.client_id} {self.object_type}:{self.object_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertEventKind(models.TextChoices):
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    COMMENT = "comment", _("Comment")
    RESOLVED = "resolved", _("Resolved by hand")


class AlertEvent(models.Model):
    """What a person did about an alert: acknowledged, commented or resolved it by hand (opening, and resolving
    when the gap is gone, are the sweep's, kept on the alert itself)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events", verbose_name=_("alert"))
    kind = models.CharField(_("what"), max_length=16, choices=AlertEventKind.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                           verbose_name=_("by"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")
        ordering = ["alert_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} {self.at:%Y-%m-%d}"


class AlertCandidate(models.Model):
    """Working table of one sweep: every gap the rules found, before it is compared with the open alerts.
    Filled by the sweep's transaction, or by its helper connections (``parallel.py``) in theirs; emptied by the
    next sweep; read by nothing else."""

    rule = models.CharField(max_length=40)
    client_id = models.BigIntegerField()
    episode_id = models.BigIntegerField(null=True)
    object_type = models.CharField(max_length=16)
    object_id = models.BigIntegerField()
    since = models.DateField()
    due_on = models.DateField()
    severity = models.PositiveSmallIntegerField()
    responsible_organisation_id = models.BigIntegerField(null=True)
    responsible_person_id = models.BigIntegerField(null=True)
    counterpart_organisation_id = models.BigIntegerField(null=True)
    service_id = models.BigIntegerField(null=True)
    category = models.CharField(max_length=16)

    class Meta:
        indexes = [models.Index(fields=["rule", "client_id", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.rule} {self.client_id} {self.object_type}:{self.object_id}"


class ChangedClient(models.Model):
    """A client whose data changed since the last sweep. Written by database triggers (PostgreSQL; migration
    0005) on every table the rules read, so no write path can forget it; emptied by the sweep that takes it up.
    Not a foreign key: a deleted client's row is simply found to have nothing left."""

    client_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return str(self.client_id)


class ClientWake(models.Model):
    """The first day after the last sweep on which the passage of time alone could change a client's alerts
    (a threshold crossed: a referral unanswered long enough, a birthday, a deadline coming due). Days before it
    the client is left alone by an incremental sweep unless their data changed (:class:`ChangedClient`)."""

    client_id = models.BigIntegerField(primary_key=True)
    next_on = models.DateField(db_index=True)

    def __str__(self) -> str:
        return f"{self.client_id} {self.next_on}"


class WakeStage(models.Model):
    """Working table of one sweep that runs on helper connections (``parallel.py``): each evaluated client's
    candidate wake-up days, written by the helpers, taken into :class:`ClientWake` by the sweep's transaction."""

    client_id = models.BigIntegerField()
    next_on = models.DateField()

    def __str__(self) -> str:
        return f"{self.client_id} {self.next_on}"


class ClientVulnerability(models.Model):
    """Working table of one sweep: the vulnerability (0–6) of each client it evaluates, computed once per client
    and joined to the gaps found when alerts are opened and refreshed."""

    client_id = models.BigIntegerField(primary_key=True)
    vulnerability = models.PositiveSmallIntegerField()

    def __str__(self) -> str:
        return f"{self.client_id} {self.vulnerability}"


class EpisodeCoordinator(models.Model):
    """Working table of one sweep: the coordinator of each episode of the clients it evaluates (the responsible
    person of the participating employment services, else of any participating organisation, the earliest to
    join), who gets the episode's alerts."""

    episode_id = models.BigIntegerField(primary_key=True)
    organisation_id = models.BigIntegerField()
    person_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.episode_id} {self.organisation_id} {self.person_id}"


class SweepState(models.Model):
    """What the incremental sweep needs to know about the last one (a single row, id 1). A missing row, or
    ``full_needed``, means the next sweep evaluates everybody: written by the triggers when something every
    client depends on changes (organisations, service areas, instruments, services, rule settings) or a table
    is truncated."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    full_needed = models.BooleanField(default=True)
    last_as_of = models.DateField(null=True, blank=True)
    rules_fingerprint = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"last {self.last_as_of}, full needed: {self.full_needed}"


class SweepScope(models.Model):
    """Working table of one incremental sweep: the clients it evaluates (changed, or due to wake)."""

    client_id = models.BigIntegerField(primary_key=True)
    changed = models.BooleanField(default=False)  # their data changed (else only their wake-up day came)

    def __str__(self) -> str:
        return str(self.client_id)
