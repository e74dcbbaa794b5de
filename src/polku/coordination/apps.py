from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoordinationConfig(AppConfig):
    name = "polku.coordination"
    verbose_name = _("Coordination")

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the start-up check
