"""Reads of joint-service episodes. Each read is checked by the access policy and written to the access log.

An episode and its participants are basic data (docs/access-control.md): whoever may see the client's basic
details sees the client's episodes, open and closed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from polku.access.policy import Purpose, authorize, visible_clients
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied

from .models import JointServiceEpisode


def _with_participants(qs: QuerySet[JointServiceEpisode]) -> QuerySet[JointServiceEpisode]:
    return qs.prefetch_related("participants__organisation", "participants__responsible_person__user")


def episodes_visible_to(
    actor: Any, *, client_id: int | None = None, status: str | None = None, purpose: Purpose | None = None
) -> QuerySet[JointServiceEpisode]:
    """The episodes of the clients whose basic data the actor may see (for a client, their own).

    With ``client_id`` this is a read of that one client: checked and logged here (refused as "not found" when
    the actor may not see the client). Without it, the caller logs the rows it shows (``log_list_access``)."""
    if client_id is not None:
        authorize(actor, client_id, DataCategory.BASIC, AccessAction.VIEW,
                  purpose=purpose or _("View joint-service episodes"))
        qs = JointServiceEpisode.objects.filter(client_id=client_id)
    else:
        qs = JointServiceEpisode.objects.filter(client_id__in=visible_clients(actor, DataCategory.BASIC).values("pk"))
    if status is not None:
        qs = qs.filter(status=status)
    return _with_participants(qs)


def episode_get(*, actor: Any, episode_id: int, purpose: Purpose | None = None) -> JointServiceEpisode:
    """One episode with its participants, checked and logged. An episode that does not exist and one of a client
    the actor may not see are refused alike (shown as "not found")."""
    episode = _with_participants(JointServiceEpisode.objects.filter(pk=episode_id)).first()
    if episode is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    authorize(actor, episode.client_id, DataCategory.BASIC, AccessAction.VIEW,
              purpose=purpose or _("View a joint-service episode"), obj=episode)
    return episode


__all__ = ["episode_get", "episodes_visible_to"]
