from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polku.accounts.twofactor import reset


class Command(BaseCommand):
    help = "Accounts: accounts reset-2fa USERNAME removes the user's two-factor devices (they enrol again)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reset_2fa = sub.add_parser("reset-2fa", help="remove a user's authenticator devices (a lost phone)")
        reset_2fa.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        try:
            count = reset(username)
        except LookupError as exc:
            raise CommandError(f"No user with the username {username!r}.") from exc
        self.stdout.write(f"Removed {count} two-factor device(s) of {username}; they set up the app again at their "
                          "next sign-in.")
