from django.contrib import admin

from .models import Organisation, StaffMember, Unit


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name_fi", "kind", "business_id", "municipality_code", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name_fi", "name_sv", "name_en", "business_id", "national_catalogue_id"]
    inlines = [UnitInline]


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "unit", "role", "active"]
    list_filter = ["role", "organisation", "active"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    raw_id_fields = ["user"]
