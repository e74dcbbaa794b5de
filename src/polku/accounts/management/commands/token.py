from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polku.accounts.services import token_create, token_revoke
from polku.core.errors import DomainError


class Command(BaseCommand):
    help = "Create or revoke API tokens: token create USERNAME [--expires DAYS] | token revoke PREFIX"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--expires", type=int, default=None, metavar="DAYS", help="valid for DAYS days")
        create.add_argument("--name", default="", help="what the token is for")
        revoke = sub.add_parser("revoke", help="revoke tokens by their prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "create":
                token, secret = token_create(username=options["username"], expires_in_days=options["expires"],
                                             name=options["name"])
                self.stdout.write(secret)
                expiry = token.expires_at.isoformat() if token.expires_at else "never"
                self.stderr.write(f"Token {token.prefix}… for {token.user.get_username()}, expires: {expiry}. "
                                  "It is shown only once.")
            else:
                count = token_revoke(prefix=options["prefix"])
                self.stdout.write(f"Revoked {count} token(s).")
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
