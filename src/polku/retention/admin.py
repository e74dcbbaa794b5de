from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import RetentionRuleResult, RetentionRun


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RetentionRuleResultInline(ReadOnly, admin.TabularInline):
    model = RetentionRuleResult
    fields = ("rule", "action", "years", "cutoff", "expired", "changed", "rows")
    readonly_fields = fields
    extra = 0


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnly, admin.ModelAdmin):
    """The retention job's log, read-only: who or what ran it, when, and what each rule did."""

    list_display = ["as_of", "started_at", "finished_at", "triggered_by", "user", "expired", "changed", "seconds"]
    list_filter = ["triggered_by"]
    date_hierarchy = "started_at"
    readonly_fields = ["as_of", "started_at", "finished_at", "triggered_by", "user", "expired", "changed",
                       "seconds"]
    inlines = [RetentionRuleResultInline]
