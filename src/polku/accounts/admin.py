from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]


@admin.action(description=_("Reset two-step verification (the user sets up the app again)"), permissions=["change"])
def reset_two_factor(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """For a lost phone: remove the selected users' authenticator devices (``polku accounts reset-2fa`` does the
    same for one user)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    deleted, _rows = TOTPDevice.objects.filter(user__in=queryset).delete()
    modeladmin.message_user(request, ngettext("Removed %(count)d two-step verification device.",
                                              "Removed %(count)d two-step verification devices.", deleted)
                            % {"count": deleted}, messages.SUCCESS)


_user_admin = admin.site._registry.get(get_user_model())
if _user_admin is not None:
    _user_admin.actions = [*(_user_admin.actions or []), reset_two_factor]
