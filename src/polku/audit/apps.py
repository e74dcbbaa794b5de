from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "polku.audit"
    label = "audit"
    verbose_name = _("Access log")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import guards

        connection_created.connect(guards.register_sqlite_function, dispatch_uid="polku.audit.guards")
        guards.patch_flush()
