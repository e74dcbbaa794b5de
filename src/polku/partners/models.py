"""Employment partners: employers (social enterprises, the intermediate labour market, public and private),
their openings, public contracts with employment clauses, proposals of clients to openings and placements.

See docs/partners.md. Skills are a controlled vocabulary (:class:`Skill`, a documented subset in the spirit of the
ESCO classification); work demands are graded 0–3 and accommodations are flags of :class:`Accommodation`, so that
a client's limits and needs can be checked against an opening as hard constraints in one query.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.clients.models import municipality_code_validator
from polku.core.identity import validate_business_id


class Skill(models.Model):
    """A skill of the controlled vocabulary (data/skills.json; docs/partners.md)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    label_fi = models.CharField(_("name (Finnish)"), max_length=200)
    label_sv = models.CharField(_("name (Swedish)"), max_length=200)
    label_en = models.CharField(_("name (English)"), max_length=200)
    esco_uri = models.URLField(_("ESCO concept"), blank=True)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class EmployerKind(models.TextChoices):
    SOCIAL_ENTERPRISE = "social_enterprise", _("Social enterprise")
    INTERMEDIATE_LABOUR_MARKET = "intermediate", _("Intermediate labour market (supported jobs)")
    ASSOCIATION = "association", _("Association or foundation")
    PUBLIC = "public", _("Public employer")
    PRIVATE = "private", _("Private company")


class Employer(models.Model):
    """An employer. A social enterprise (yhteiskunnallinen yritys) pursues a social mission with its business and
    uses most of its profit for it; the Social Enterprise mark is granted to those that show it."""

    name = models.CharField(_("name"), max_length=200)
    business_id = models.CharField(_("business ID"), max_length=9, unique=True, validators=[validate_business_id])
    kind = models.CharField(_("kind"), max_length=24, choices=EmployerKind.choices)
    municipality_code = models.CharField(_("municipality code"), max_length=3,
                                         validators=[municipality_code_validator])
    mission = models.TextField(_("social mission"), blank=True)
    profit_share_for_mission = models.DecimalField(
        _("share of profit used for the mission (%)"), max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)])
    social_enterprise_mark = models.BooleanField(_("has the Social Enterprise mark"), default=False)
    organisation = models.OneToOneField("organisations.Organisation", on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="employer", verbose_name=_("organisation in Polku"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OpeningKind(models.TextChoices):
    SUPPORTED = "supported", _("Supported job")
    SUBSIDISED = "subsidised", _("Subsidised job (wage subsidy)")
    OPEN_MARKET = "open_market", _("Open-market job")


class Accommodation(models.IntegerChoices):
    """Adjustments of work, each one bit of a mask (what a client needs, what an opening can offer)."""

    FLEXIBLE_HOURS = 1, _("Flexible working hours")
    REDUCED_HOURS = 2, _("Part-time or reduced hours")
    ACCESSIBLE_PREMISES = 4, _("Accessible premises")
    QUIET_WORKSPACE = 8, _("Quiet workspace")
    JOB_COACH = 16, _("Job coach at work")
    ADAPTED_EQUIPMENT = 32, _("Adapted tools or equipment")
    REMOTE_WORK = 64, _("Remote work possible")
    EXTRA_TRAINING = 128, _("Longer induction")


class Demand(models.IntegerChoices):
    NONE = 0, _("None")
    LIGHT = 1, _("Light")
    MODERATE = 2, _("Moderate")
    HEAVY = 3, _("Heavy")


class WorkLanguage(models.TextChoices):
    FINNISH = "fi", _("Finnish")
    SWEDISH = "sv", _("Swedish")
    ENGLISH = "en", _("English")
    ANY = "any", _("Any language")


class OpeningStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FILLED = "filled", _("Filled")
    CLOSED = "closed", _("Closed")


class Opening(models.Model):
    """A job opening: supported, subsidised or on the open market, with what it demands and what it can adapt."""

    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="openings",
                                 verbose_name=_("employer"))
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=OpeningKind.choices)
    tasks = models.TextField(_("tasks"), blank=True)
    hours_per_week = models.PositiveSmallIntegerField(_("hours a week"),
                                                      validators=[MinValueValidator(1), MaxValueValidator(60)])
    municipality_code = models.CharField(_("municipality code"), max_length=3,
                                         validators=[municipality_code_validator])
    physical_demand = models.PositiveSmallIntegerField(_("physical demands"), choices=Demand.choices)
    cognitive_demand = models.PositiveSmallIntegerField(_("cognitive demands"), choices=Demand.choices)
    accommodations = models.PositiveIntegerField(_("accommodations possible"), default=0,
                                                 help_text=_("Flags of the accommodations the employer can make."))
    language = models.CharField(_("working language"), max_length=8, choices=WorkLanguage.choices)
    skills = models.ManyToManyField(Skill, related_name="openings", blank=True, verbose_name=_("required skills"))
    start_date = models.DateField(_("start date"))
    places = models.PositiveSmallIntegerField(_("places"), default=1, validators=[MinValueValidator(1)])
    places_taken = models.PositiveSmallIntegerField(_("places taken"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=OpeningStatus.choices, default=OpeningStatus.OPEN)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("opening")
        verbose_name_plural = _("openings")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "language", "hours_per_week"]),
                   models.Index(fields=["municipality_code"])]
        constraints = [models.CheckConstraint(condition=Q(places_taken__lte=models.F("places")),
                                              name="opening_places_taken_le_places")]

    def __str__(self) -> str:
        return f"{self.title} ({self.employer})"


class JobPreferences(models.Model):
    """What the client wants and needs from work, recorded with the client in the plan's work: hours, how far to
    travel, which kinds of jobs, the client's skills and languages, the accommodations needed. Employment data."""

    client = models.OneToOneField("clients.Client", on_delete=models.CASCADE, related_name="job_preferences",
                                  verbose_name=_("client"))
    hours_min = models.PositiveSmallIntegerField(_("at least hours a week"), default=0)
    hours_max = models.PositiveSmallIntegerField(_("at most hours a week"), default=40,
                                                 validators=[MaxValueValidator(60)])
    max_commute_km = models.PositiveSmallIntegerField(_("longest commute (km)"), default=30)
    kinds = models.JSONField(_("kinds of job wanted"), default=list, blank=True)
    languages = models.JSONField(_("working languages"), default=list, blank=True)
    accommodations_needed = models.PositiveIntegerField(_("accommodations needed"), default=0)
    skills = models.ManyToManyField(Skill, related_name="+", blank=True, verbose_name=_("skills"))
    notes = models.TextField(_("notes"), blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"))
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("job preferences")
        verbose_name_plural = _("job preferences")
        constraints = [models.CheckConstraint(condition=Q(hours_min__lte=models.F("hours_max")),
                                              name="job_preferences_hours_order")]

    def __str__(self) -> str:
        return f"{self.client_id}"


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed to the employer")
    INTERVIEW = "interview", _("Invited to an interview")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


#: The employer's answers the coordinator records, and the withdrawal: which status may follow which. Accepted,
#: declined and withdrawn are final (an accepted proposal goes on as a placement).
PROPOSAL_TRANSITIONS: dict[str, frozenset[str]] = {
    ProposalStatus.PROPOSED: frozenset({ProposalStatus.INTERVIEW, ProposalStatus.ACCEPTED, ProposalStatus.DECLINED,
                                        ProposalStatus.WITHDRAWN}),
    ProposalStatus.INTERVIEW: frozenset({ProposalStatus.ACCEPTED, ProposalStatus.DECLINED,
                                         ProposalStatus.WITHDRAWN}),
    ProposalStatus.ACCEPTED: frozenset(),
    ProposalStatus.DECLINED: frozenset(),
    ProposalStatus.WITHDRAWN: frozenset(),
}


class Proposal(models.Model):
    """A coordinator proposes a client to an opening, only with the client's agreement (recorded here)."""

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="job_proposals",
                               verbose_name=_("client"))
    opening = models.ForeignKey(Opening, on_delete=models.CASCADE, related_name="proposals",
                                verbose_name=_("opening"))
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("proposed by"))
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organisation"))
    client_agreed_on = models.DateField(_("the client agreed on"))
    status = models.CharField(_("status"), max_length=16, choices=ProposalStatus.choices,
                              default=ProposalStatus.PROPOSED)
    score = models.FloatField(_("fit score when proposed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    status_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+", verbose_name=_("status changed by"))

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [models.UniqueConstraint(fields=["client", "opening"], name="one_proposal_per_opening")]

    def __str__(self) -> str:
        return f"{self.client_id} → {self.opening_id}"


class TargetGroup(models.TextChoices):
    LONG_TERM_UNEMPLOYED = "long_term_unemployed", _("Long-term unemployed")
    PARTIAL_WORK_ABILITY = "partial_work_ability", _("Partial work ability")
    YOUNG = "young", _("Young people under 30")
    OLDER = "older", _("People aged 55 or over")
    FOREIGN_BACKGROUND = "foreign_background", _("People with a foreign background")
    JOINT_SERVICE = "joint_service", _("Clients of the joint service")


class PublicContract(models.Model):
    """A public contract with an employment clause (työllistämisehto): the supplier undertakes to hire people
    of the target groups for so many hires or employment months during the contract."""

    reference = models.CharField(_("reference"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    procurer = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="contracts",
                                 verbose_name=_("procuring organisation"))
    supplier = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="contracts",
                                 verbose_name=_("supplier"))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    value_eur = models.DecimalField(_("value (EUR)"), max_digits=14, decimal_places=2,
                                    validators=[MinValueValidator(0)])
    required_hires = models.PositiveIntegerField(_("hires required"), default=0)
    required_months = models.DecimalField(_("employment months required"), max_digits=8, decimal_places=1,
                                          default=0, validators=[MinValueValidator(0)])
    target_groups = models.JSONField(_("target groups"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("public contract")
        verbose_name_plural = _("public contracts")
        ordering = ["-start_date", "reference"]
        constraints = [models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")),
                                              name="contract_period_order")]

    def __str__(self) -> str:
        return self.reference


class Placement(models.Model):
    """A client placed in work with an employer (through an opening, under a contract's clause or both). Each
    placement is also an employment-status period of the client, so outcomes and indicators see it."""

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="placements",
                               verbose_name=_("client"))
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="placements",
                                 verbose_name=_("employer"))
    opening = models.ForeignKey(Opening, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="placements", verbose_name=_("opening"))
    contract = models.ForeignKey(PublicContract, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="placements", verbose_name=_("public contract"))
    kind = models.CharField(_("kind"), max_length=16, choices=OpeningKind.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    hours_per_week = models.PositiveSmallIntegerField(_("hours a week"), validators=[MaxValueValidator(60)])
    target_groups = models.JSONField(_("target groups the person belongs to"), default=list, blank=True)
    status_period = models.OneToOneField("clients.EmploymentStatusPeriod", on_delete=models.SET_NULL, null=True,
                                         blank=True, related_name="placement", verbose_name=_("status period"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        ordering = ["-start_date", "-id"]
        indexes = [models.Index(fields=["contract", "start_date"])]
        constraints = [models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F(
            "start_date")), name="placement_period_order")]

    def __str__(self) -> str:
        return f"{self.client_id} @ {self.employer_id}"
