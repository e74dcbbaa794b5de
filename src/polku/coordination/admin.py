from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from polku.core.errors import InvalidInput

from .models import RuleSetting, SweepRun
from .rules import RULES, validate_rule_settings


class RuleSettingForm(forms.ModelForm):
    rule = forms.ChoiceField(choices=[(code, f"{code}: {rule.title}") for code, rule in RULES.items()])

    class Meta:
        model = RuleSetting
        fields = ["rule", "enabled", "params", "severity"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["params"] = validate_rule_settings(data.get("rule", ""), data.get("params") or {},
                                                    data.get("severity"))
        except InvalidInput as exc:
            raise ValidationError({"params" if key != "severity" else "severity": msgs
                                   for key, msgs in exc.errors.items()} or str(exc)) from exc
        return data


@admin.register(RuleSetting)
class RuleSettingAdmin(admin.ModelAdmin):
    """This region's thresholds for the coordination rules (the defaults are in docs/coordination.md)."""

    form = RuleSettingForm
    list_display = ["rule", "enabled", "severity", "params", "updated_at", "updated_by"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SweepRun)
class SweepRunAdmin(admin.ModelAdmin):
    """Read-only record of the sweeps (alerts about clients are not in the admin: they are client data)."""

    list_display = ["as_of", "started_at", "finished_at", "incremental", "clients_evaluated", "opened", "resolved",
                    "open_total", "triggered_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
