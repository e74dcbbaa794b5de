"""What the data commands (``polku import``, ``polku export``) share."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _


def add_operator_arguments(parser: CommandParser) -> None:
    parser.add_argument("--user", metavar="USERNAME", default=None,
                        help="who runs the command, recorded in the access log (default: the command itself)")
    parser.add_argument("--language", choices=["fi", "sv", "en"], default=None, help="language of the output")


def operator(username: str | None) -> Any:
    """The active user named with ``--user``, or ``None``."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(_("No active user %(name)r.") % {"name": username})
    return user
