"""Organisations taking part in the joint service, their units and their staff."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from polku.core.choices import DataCategory
from polku.core.identity import validate_business_id
from polku.core.translation import localized


class OrganisationKind(models.TextChoices):
    EMPLOYMENT_SERVICES = "employment_services", _("Employment services")
    SOCIAL_SERVICES = "social_services", _("Social services")
    HEALTH_SERVICES = "health_services", _("Health services")
    KELA = "kela", _("Kela")
    REHABILITATION_PROVIDER = "rehabilitation_provider", _("Rehabilitation provider")
    NGO = "ngo", _("Non-governmental organisation")
    SOCIAL_ENTERPRISE = "social_enterprise", _("Social enterprise")
    EDUCATION_PROVIDER = "education_provider", _("Education provider")
    EMPLOYER = "employer", _("Employer")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    """An organisation: an authority that is a party to the joint service, or a provider or employer."""

    name_fi = models.CharField(_("name (Finnish)"), max_length=200)
    name_sv = models.CharField(_("name (Swedish)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices)
    business_id = models.CharField(
        _("business ID"), max_length=9, unique=True, validators=[validate_business_id],
        help_text=_("Finnish Business ID (Y-tunnus), e.g. 0246246-0."),
    )
    municipality_code = models.CharField(
        _("municipality code"), max_length=3, blank=True,
        help_text=_("Statistics Finland municipality code of the head office."),
    )
    national_catalogue_id = models.CharField(
        _("national service catalogue ID"), max_length=64, blank=True,
        help_text=_("The organisation's ID in the national service catalogue (PTV), if it has one."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name_fi"]
        constraints = [
            models.UniqueConstraint(fields=["national_catalogue_id"], condition=~models.Q(national_catalogue_id=""),
                                    name="one_organisation_per_national_catalogue_id")
        ]

    def __str__(self) -> str:
        return localized(self, "name")

    @property
    def is_joint_service_party(self) -> bool:
        """Employment authority, wellbeing services county (social, health) and Kela are the statutory parties."""
        return self.kind in {
            OrganisationKind.EMPLOYMENT_SERVICES,
            OrganisationKind.SOCIAL_SERVICES,
            OrganisationKind.HEALTH_SERVICES,
            OrganisationKind.KELA,
        }


class ServiceArea(models.Model):
    """A municipality whose residents this organisation serves. For an employment authority
    (*työllisyysalue*) these are the municipalities of its employment area: it is the statutory authority of
    the registered job seekers living there, and a client who moves out of them needs a hand-over."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="service_area",
                                     verbose_name=_("organisation"))
    municipality_code = models.CharField(_("municipality code"), max_length=3)

    class Meta:
        verbose_name = _("service-area municipality")
        verbose_name_plural = _("service area")
        ordering = ["organisation_id", "municipality_code"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "municipality_code"], name="one_area_row_per_municipality")
        ]
        indexes = [models.Index(fields=["municipality_code", "organisation"])]

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.municipality_code}"


class Unit(models.Model):
    """A unit (office, team, service point) of an organisation."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="units",
                                     verbose_name=_("organisation"))
    name_fi = models.CharField(_("name (Finnish)"), max_length=200)
    name_sv = models.CharField(_("name (Swedish)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    municipality_code = models.CharField(_("municipality code"), max_length=3, blank=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["organisation_id", "name_fi"]

    def __str__(self) -> str:
        return localized(self, "name")


class StaffRole(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    SOCIAL_WORKER = "social_worker", _("Social worker")
    HEALTH_PROFESSIONAL = "health_professional", _("Health professional")
    KELA_EXPERT = "kela_expert", _("Kela expert")
    PROVIDER_WORKER = "provider_worker", _("Service provider worker")
    MANAGER = "manager", _("Manager or analyst")
    ADMINISTRATOR = "administrator", _("Administrator")
    #: Hankintojen vastuuhenkilö: follows the employment clauses of the organisation's own public contracts.
    PROCUREMENT_OFFICER = "procurement_officer", _("Procurement officer")


# Which data categories each role's work task needs (need-to-know). The access policy also requires an active
# client relationship of the organisation and the client's consent; see polku.access.policy.
ROLE_DATA_CATEGORIES: dict[str, frozenset[str]] = {
    StaffRole.COORDINATOR: frozenset(
        {DataCategory.BASIC, DataCategory.EMPLOYMENT, DataCategory.BENEFITS, DataCategory.REHABILITATION}
    ),
    StaffRole.SOCIAL_WORKER: frozenset(
        {DataCategory.BASIC, DataCategory.EMPLOYMENT, DataCategory.SOCIAL, DataCategory.BENEFITS,
         DataCategory.REHABILITATION}
    ),
    StaffRole.HEALTH_PROFESSIONAL: frozenset(
        {DataCategory.BASIC, DataCategory.EMPLOYMENT, DataCategory.HEALTH, DataCategory.REHABILITATION}
    ),
    StaffRole.KELA_EXPERT: frozenset(
        {DataCategory.BASIC, DataCategory.EMPLOYMENT, DataCategory.BENEFITS, DataCategory.REHABILITATION}
    ),
    StaffRole.PROVIDER_WORKER: frozenset({DataCategory.BASIC, DataCategory.REHABILITATION}),
    # Managers and administrators see aggregates and pseudonymised data only, never a client's own data.
    StaffRole.MANAGER: frozenset(),
    StaffRole.ADMINISTRATOR: frozenset(),
    # A procurement officer follows contracts and aggregate fulfilment, never a client's data.
    StaffRole.PROCUREMENT_OFFICER: frozenset(),
}

#: Roles whose work is with clients themselves (their worklist, client search, referrals, job openings).
CLIENT_WORK_ROLES: frozenset[str] = frozenset(role for role, categories in ROLE_DATA_CATEGORIES.items() if categories)


class StaffMember(models.Model):
    """A person working in an organisation, with one role that decides what their work task needs to see."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff",
                                verbose_name=_("user account"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="staff",
                                     verbose_name=_("organisation"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="staff",
                             verbose_name=_("unit"))
    role = models.CharField(_("role"), max_length=32, choices=StaffRole.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["organisation_id", "user__last_name", "user__first_name"]

    def __str__(self) -> str:
        full_name = self.user.get_full_name() or self.user.get_username()
        return f"{full_name} ({self.organisation})"

    @property
    def data_categories(self) -> frozenset[str]:
        return ROLE_DATA_CATEGORIES.get(self.role, frozenset())
