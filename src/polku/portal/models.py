"""The client portal's own data: the messages between a client and the professionals of their joint service."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: The longest message a client or a professional can send (characters).
MESSAGE_MAX_LENGTH = 4000


class MessageKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    PLAN_CHANGE = "plan_change", _("Proposal to change the plan")


class ClientMessage(models.Model):
    """One message in the thread between a client and the professionals of their joint service.

    The thread is the client's (basic data): the client writes in the portal, and staff who may see the client's
    basic data read and answer it. A proposal to change the plan is a message of its own kind."""

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="messages",
                               verbose_name=_("client"))
    episode = models.ForeignKey("episodes.JointServiceEpisode", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="messages", verbose_name=_("episode"))
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("sender"))
    sender_organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="+", verbose_name=_("organisation"))
    from_client = models.BooleanField(_("from the client"))
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    body = models.TextField(_("message"), validators=[MaxLengthValidator(MESSAGE_MAX_LENGTH)])
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["client_id", "created_at", "id"]
        indexes = [models.Index(fields=["client", "created_at"])]

    def __str__(self) -> str:
        return f"{self.client_id} {self.created_at:%Y-%m-%d %H:%M} {'client' if self.from_client else 'staff'}"
