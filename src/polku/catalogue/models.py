"""The service catalogue: services of every provider, compatible in spirit with the national catalogue (PTV)."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from polku.core.choices import DataCategory
from polku.core.translation import localized


class ServiceClass(models.TextChoices):
    EMPLOYMENT = "employment", _("Employment service")
    WORK_TRIAL = "work_trial", _("Work trial")
    WAGE_SUBSIDY = "wage_subsidy", _("Wage subsidy")
    TRAINING = "training", _("Training and education")
    REHABILITATIVE_WORK = "rehabilitative_work", _("Rehabilitative work activity")
    SOCIAL_REHABILITATION = "social_rehabilitation", _("Social rehabilitation")
    VOCATIONAL_REHABILITATION = "vocational_rehabilitation", _("Vocational rehabilitation")
    HEALTH = "health", _("Health service")
    MENTAL_HEALTH_SUBSTANCE = "mental_health_substance", _("Mental health and substance abuse service")
    SOCIAL_WORK = "social_work", _("Social work")
    DEBT_HOUSING = "debt_housing", _("Debt and housing advice")
    LOW_THRESHOLD = "low_threshold", _("Low-threshold activity")
    OTHER = "other", _("Other")


class CostUnit(models.TextChoices):
    PER_DAY = "day", _("per day")
    PER_MONTH = "month", _("per month")
    PER_SERVICE = "service", _("per service")
    PER_HOUR = "hour", _("per hour")


class Service(models.Model):
    """A service that a provider offers and that clients can be referred to."""

    provider = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                                 related_name="services", verbose_name=_("provider"))
    name_fi = models.CharField(_("name (Finnish)"), max_length=200)
    name_sv = models.CharField(_("name (Swedish)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_fi = models.TextField(_("description (Finnish)"), blank=True)
    description_sv = models.TextField(_("description (Swedish)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    service_class = models.CharField(_("service class"), max_length=32, choices=ServiceClass.choices)
    data_category = models.CharField(
        _("data category"), max_length=16, choices=DataCategory.choices, default=DataCategory.EMPLOYMENT,
        help_text=_("The category of client data that a referral to this service carries."),
    )
    target_groups = models.JSONField(_("target groups"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    accessibility = models.TextField(_("accessibility"), blank=True)
    eligibility_notes = models.TextField(_("eligibility"), blank=True)
    municipality_codes = models.JSONField(_("municipalities served"), default=list, blank=True)
    unit_cost = models.DecimalField(_("unit cost (EUR)"), max_digits=10, decimal_places=2, default=0,
                                    validators=[MinValueValidator(0)])
    cost_unit = models.CharField(_("cost unit"), max_length=8, choices=CostUnit.choices,
                                 default=CostUnit.PER_SERVICE)
    capacity = models.PositiveIntegerField(_("capacity (clients at a time)"), null=True, blank=True)
    national_catalogue_id = models.CharField(_("national service catalogue ID"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name_fi"]

    def __str__(self) -> str:
        return localized(self, "name")
