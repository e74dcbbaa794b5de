"""Administration of employers, openings, public contracts and the skills vocabulary (no client data here:
job preferences, proposals and placements are client data and go through the services, access-checked and
logged)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Accommodation, Employer, Opening, PublicContract, Skill, TargetGroup


class OpeningForm(forms.ModelForm):
    """The accommodations as checkboxes (stored as flags)."""

    accommodation_flags = forms.TypedMultipleChoiceField(
        label=_("accommodations possible"), choices=Accommodation.choices, coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Opening
        fields = ["employer", "title", "kind", "tasks", "hours_per_week", "municipality_code", "physical_demand",
                  "cognitive_demand", "language", "skills", "start_date", "places", "places_taken", "status",
                  "created_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mask = self.instance.accommodations if self.instance and self.instance.pk else 0
        self.fields["accommodation_flags"].initial = [a.value for a in Accommodation if mask & a.value]

    def save(self, commit: bool = True) -> Any:
        mask = 0
        for flag in self.cleaned_data.get("accommodation_flags") or []:
            mask |= int(flag)
        self.instance.accommodations = mask
        return super().save(commit)


class ContractForm(forms.ModelForm):
    target_groups = forms.MultipleChoiceField(label=_("target groups"), choices=TargetGroup.choices,
                                              required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = PublicContract
        fields = ["reference", "title", "procurer", "supplier", "start_date", "end_date", "value_eur",
                  "required_hires", "required_months", "target_groups", "created_at"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["code", "label_fi", "label_sv", "label_en", "esco_uri"]
    search_fields = ["code", "label_fi", "label_sv", "label_en"]


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ["name", "business_id", "kind", "municipality_code", "social_enterprise_mark"]
    list_filter = ["kind", "social_enterprise_mark"]
    search_fields = ["name", "business_id"]


@admin.register(Opening)
class OpeningAdmin(admin.ModelAdmin):
    form = OpeningForm
    list_display = ["title", "employer", "kind", "hours_per_week", "municipality_code", "status", "places",
                    "places_taken", "start_date"]
    list_filter = ["kind", "status", "language"]
    search_fields = ["title", "employer__name"]
    filter_horizontal = ["skills"]
    autocomplete_fields = ["employer"]


@admin.register(PublicContract)
class PublicContractAdmin(admin.ModelAdmin):
    form = ContractForm
    list_display = ["reference", "title", "procurer", "supplier", "start_date", "end_date", "required_hires",
                    "required_months"]
    search_fields = ["reference", "title", "supplier__name"]
    autocomplete_fields = ["supplier"]
