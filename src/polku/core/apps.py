from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "polku.core"
    label = "core"
    verbose_name = "Polku core"

    def ready(self) -> None:
        # One access-log row per read per request: the policy's request scope follows Django's request signals,
        # connected here so that the very first request of a process has it too.
        from polku.access import policy

        policy.connect_request_scope()
