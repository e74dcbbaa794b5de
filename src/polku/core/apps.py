from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "polku.core"
    label = "core"
    verbose_name = "Polku core"
