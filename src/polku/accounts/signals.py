"""Every sign-in (password form, single sign-on, ``Client.force_login`` in tests) starts the session's clocks."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import reauth


@receiver(user_logged_in, dispatch_uid="polku.accounts.mark_signed_in")
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and getattr(request, "session", None) is not None:
        reauth.mark_signed_in(request)
