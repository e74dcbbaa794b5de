from django.contrib import admin

from .models import Instrument, InstrumentItem


class InstrumentItemInline(admin.TabularInline):
    model = InstrumentItem
    extra = 0


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fi", "data_category", "scoring_rule", "placeholder"]
    inlines = [InstrumentItemInline]
