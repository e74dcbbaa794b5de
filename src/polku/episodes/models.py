"""The client's period in the multi-sector joint service (*monialainen yhteispalvelu*)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EpisodeStatus(models.TextChoices):
    MAPPING = "mapping", _("Mapping period")  # kartoitusjakso: the parties assess the needs together
    ACTIVE = "active", _("Plan in progress")
    CLOSED = "closed", _("Closed")


class EndReason(models.TextChoices):
    EMPLOYED = "employed", _("Employed")
    ORDINARY_EMPLOYMENT_SERVICES = "ordinary_services", _("Back to ordinary employment services")
    EDUCATION = "education", _("Education")
    RETIRED = "retired", _("Retired")
    MOVED_AWAY = "moved_away", _("Moved away")
    NOT_REACHED = "not_reached", _("Not reached")
    CLIENT_CHOICE = "client_choice", _("Client's own choice")
    NO_CHANGE = "no_change", _("No change achieved")
    OTHER = "other", _("Other")


OPEN_STATUSES = (EpisodeStatus.MAPPING, EpisodeStatus.ACTIVE)


class JointServiceEpisode(models.Model):
    """One period of multi-sector joint service for a client.

    The employment authority, the wellbeing services county and Kela assess the need together during the
    mapping period (default three months from the start), agree one multi-sector employment plan, and follow
    it through. A client has at most one open episode.
    """

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="episodes",
                               verbose_name=_("client"))
    status = models.CharField(_("status"), max_length=16, choices=EpisodeStatus.choices,
                              default=EpisodeStatus.MAPPING)
    start_date = models.DateField(_("start date"))
    mapping_period_end = models.DateField(_("end of mapping period"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=24, choices=EndReason.choices, blank=True)
    end_notes = models.TextField(_("notes on the end"), blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("opened by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("joint-service episode")
        verbose_name_plural = _("joint-service episodes")
        ordering = ["client_id", "-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"], condition=~Q(status="closed"), name="one_open_episode_per_client"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="episode_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.start_date}"

    @property
    def is_open(self) -> bool:
        return self.status != EpisodeStatus.CLOSED


class EpisodeParticipant(models.Model):
    """An organisation taking part in an episode, with its named responsible person."""

    episode = models.ForeignKey(JointServiceEpisode, on_delete=models.CASCADE, related_name="participants",
                                verbose_name=_("episode"))
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                                     related_name="episode_participations", verbose_name=_("organisation"))
    responsible_person = models.ForeignKey("organisations.StaffMember", on_delete=models.PROTECT,
                                           related_name="responsibilities",
                                           verbose_name=_("responsible person"))
    joined_on = models.DateField(_("joined"), default=timezone.localdate)
    left_on = models.DateField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("participating organisation")
        verbose_name_plural = _("participating organisations")
        constraints = [
            models.UniqueConstraint(fields=["episode", "organisation"], name="one_participation_per_org")
        ]
        indexes = [models.Index(fields=["organisation", "episode"])]

    def __str__(self) -> str:
        return f"{self.organisation} / {self.responsible_person}"
