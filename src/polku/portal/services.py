"""Writes of the client portal: messages between a client and the professionals, and the client's proposal to
change the plan. Each is one transaction, checked by the access policy and written to the access log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import authorize, client_data_service, client_of, deny, staff_of
from polku.audit.models import AccessAction
from polku.clients.models import Client
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied
from polku.core.validation import require, validated
from polku.episodes.models import OPEN_STATUSES, JointServiceEpisode

from .models import MESSAGE_MAX_LENGTH, ClientMessage, MessageKind


def _denied() -> AccessDenied:
    return AccessDenied(_("You do not have access to this client's data."), code="not_found")


def _open_episode_id(client_id: int) -> int | None:
    return (JointServiceEpisode.objects.filter(client_id=client_id, status__in=OPEN_STATUSES)
            .values_list("pk", flat=True).first())


def _clean_body(body: str) -> str:
    text = (body or "").strip()
    require(bool(text), "body", _("Write a message."))
    require(len(text) <= MESSAGE_MAX_LENGTH, "body",
            _("The message is too long: at most %(max)s characters.") % {"max": MESSAGE_MAX_LENGTH})
    return text


def _create(*, actor: Any, client_id: int, body: str, from_client: bool, kind: str) -> ClientMessage:
    staff = staff_of(actor)
    message = ClientMessage(
        client_id=client_id, episode_id=_open_episode_id(client_id), sender=actor,
        sender_organisation_id=staff.organisation_id if staff and not from_client else None,
        from_client=from_client, kind=kind, body=body, created_at=timezone.now(),
    )
    validated(message)
    message.save()
    return message


@client_data_service
def message_send(*, actor: Any, client_id: int, body: str, kind: str = MessageKind.MESSAGE) -> ClientMessage:
    """The client writes to the professionals of their joint service (their own thread only)."""
    if not Client.objects.filter(pk=client_id).exists():
        raise _denied()
    purpose = _("Client's message to the joint service")
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.CREATE, purpose=purpose)
    if client_of(actor) is None:
        raise deny(actor, client_id, DataCategory.BASIC, AccessAction.CREATE, purpose=purpose,
                   message=_("Only the client writes in their own portal; professionals reply."), code="role")
    require(kind in MessageKind.values, "kind", _("Unknown kind of message."))
    return _create(actor=actor, client_id=client_id, body=_clean_body(body), from_client=True, kind=kind)


@client_data_service
def message_reply(*, actor: Any, client_id: int, body: str) -> ClientMessage:
    """A professional who may see the client's basic data answers the client's thread."""
    if not Client.objects.filter(pk=client_id).exists():
        raise _denied()
    purpose = _("Reply to the client's message")
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.CREATE, purpose=purpose)
    if staff_of(actor) is None:
        raise deny(actor, client_id, DataCategory.BASIC, AccessAction.CREATE, purpose=purpose,
                   message=_("Only professionals reply to a client's messages."), code="role")
    return _create(actor=actor, client_id=client_id, body=_clean_body(body), from_client=False,
                   kind=MessageKind.MESSAGE)


@dataclass
class Thread:
    client: Client
    messages: list[ClientMessage]


@client_data_service
def message_thread_open(*, actor: Any, client_id: int, purpose: Any = None) -> Thread:
    """Read the client's message thread (one logged read) and mark the other side's unread messages read: the
    client's opening marks the professionals' replies read, a professional's opening the client's messages."""
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise _denied()
    authorize(actor, client, DataCategory.BASIC, AccessAction.VIEW,
              purpose=purpose or _("Read the client's messages"), obj=client)
    is_client = client_of(actor) is not None
    ClientMessage.objects.filter(client_id=client_id, from_client=not is_client, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    messages = list(ClientMessage.objects.filter(client_id=client_id)
                    .select_related("sender", "sender_organisation").order_by("created_at", "pk"))
    return Thread(client=client, messages=messages)


@client_data_service
def plan_change_propose(*, actor: Any, plan_id: int, body: str) -> ClientMessage:
    """The client proposes a change to their plan: a message of the kind "plan change" to the professionals and a
    request to review the plan (``plans.services.plan_request_review``, the client's request), both or neither."""
    from polku.plans.models import Plan
    from polku.plans.services import plan_request_review

    plan = Plan.objects.select_related("episode").filter(pk=plan_id).first()
    if plan is None:
        raise _denied()
    # message_send checks and logs that this is the client themself (a professional or another client is refused)
    message = message_send(actor=actor, client_id=plan.episode.client_id, body=body, kind=MessageKind.PLAN_CHANGE)
    plan_request_review(actor=actor, plan_id=plan.pk, notes=message.body)
    return message


__all__ = ["Thread", "message_reply", "message_send", "message_thread_open", "plan_change_propose"]
