"""The access log: who did what to which client's data, of which category, when and why.

Every read and write of a client's data writes one row, including refused attempts, so that the client can
see who has processed their data and why (Client Data Act 703/2023). Rows are only ever added.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.core.choices import DataCategory


class AccessAction(models.TextChoices):
    VIEW = "view", _("Viewed")
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    MANAGE_CONSENT = "manage_consent", _("Recorded or revoked consent")
    EXPORT = "export", _("Exported")


class AccessLog(models.Model):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # No single-column indexes on actor and client: the (actor, at) and (client, at) indexes serve those look-ups,
    # and every index is written on every logged read.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                              db_index=False, null=True, related_name="+", verbose_name=_("who"))
    actor_name = models.CharField(_("name"), max_length=300, blank=True)
    actor_organisation = models.ForeignKey("organisations.Organisation", on_delete=models.DO_NOTHING,
                                           db_constraint=False, null=True, related_name="+",
                                           verbose_name=_("organisation"))
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    client = models.ForeignKey("clients.Client", on_delete=models.DO_NOTHING, db_constraint=False,
                               db_index=False, related_name="+", verbose_name=_("client"))
    category = models.CharField(_("data category"), max_length=16, choices=DataCategory.choices)
    action = models.CharField(_("action"), max_length=16, choices=AccessAction.choices)
    purpose = models.CharField(_("purpose"), max_length=300)
    object_type = models.CharField(_("record type"), max_length=64, blank=True)
    object_id = models.CharField(_("record"), max_length=64, blank=True)
    allowed = models.BooleanField(_("allowed"))
    reason = models.CharField(_("decision"), max_length=64)

    class Meta:
        verbose_name = _("access-log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["client", "at"]),
            models.Index(fields=["actor", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.category} {self.client_id}"
