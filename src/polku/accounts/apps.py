from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "polku.accounts"
    label = "accounts"
    verbose_name = _("Accounts and API tokens")

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the sign-in receiver
