from django.contrib import admin

from .models import Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name_fi", "provider", "service_class", "unit_cost", "cost_unit", "capacity", "active"]
    list_filter = ["service_class", "active", "provider"]
    search_fields = ["name_fi", "name_sv", "name_en", "national_catalogue_id"]
