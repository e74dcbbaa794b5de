"""Referrals from one organisation to a service, as a state machine with a timestamp for every transition."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    RECEIVED = "received", _("Received")
    ACCEPTED = "accepted", _("Accepted")
    WAITLISTED = "waitlisted", _("On the waiting list")
    DECLINED = "declined", _("Declined")
    STARTED = "started", _("Started")
    COMPLETED = "completed", _("Completed")
    INTERRUPTED = "interrupted", _("Interrupted")
    CANCELLED = "cancelled", _("Cancelled")


# States in which the receiving organisation has an open client relationship through the referral.
OPEN_STATUSES = frozenset(
    {ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED, ReferralStatus.WAITLISTED,
     ReferralStatus.STARTED}
)


class Referral(models.Model):
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="referrals",
                               verbose_name=_("client"))
    episode = models.ForeignKey("episodes.JointServiceEpisode", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="referrals", verbose_name=_("episode"))
    service = models.ForeignKey("catalogue.Service", on_delete=models.PROTECT, related_name="referrals",
                                verbose_name=_("service"))
    sending_organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                                             related_name="referrals_sent",
                                             verbose_name=_("sending organisation"))
    receiving_organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                                               related_name="referrals_received",
                                               verbose_name=_("receiving organisation"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    status = models.CharField(_("status"), max_length=16, choices=ReferralStatus.choices,
                              default=ReferralStatus.DRAFT)
    reason_for_referral = models.TextField(_("why the client is referred"), blank=True)
    status_reason = models.TextField(_("reason for the latest status"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["receiving_organisation", "status"]),
            models.Index(fields=["client", "status"]),
            models.Index(fields=["client", "sent_at"]),
            # The lists of sent and received referrals, newest first (referral_list pages walk these).
            models.Index(fields=["sending_organisation", "-sent_at", "-created_at", "-id"], name="referral_sent_order"),
            models.Index(fields=["receiving_organisation", "-sent_at", "-created_at", "-id"],
                         name="referral_received_order"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} → {self.service_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ReferralTransition(models.Model):
    """One state change of a referral: who, when, from, to, and why."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="transitions",
                                 verbose_name=_("referral"))
    from_status = models.CharField(_("from"), max_length=16, choices=ReferralStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=ReferralStatus.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                           verbose_name=_("by"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("referral transition")
        verbose_name_plural = _("referral transitions")
        ordering = ["referral_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status} → {self.to_status}"
