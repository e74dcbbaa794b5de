"""Clients of the joint service, their consents and their employment-status history."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.core.choices import DataCategory, Language, YesNoNotStated
from polku.core.identity import validate_hetu

municipality_code_validator = RegexValidator(
    r"\A[0-9]{3}\Z", _("A municipality code is three digits (Statistics Finland), for example 091.")
)


class LegalSex(models.TextChoices):
    """Legal sex as derived from the identity code (odd individual number: male)."""

    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Gender(models.TextChoices):
    """Gender as the person states it; ESF+ reports break down by women, men and non-binary."""

    WOMAN = "woman", _("Woman")
    MAN = "man", _("Man")
    NON_BINARY = "non_binary", _("Non-binary")
    NOT_STATED = "not_stated", _("Not stated")


class EducationLevel(models.TextChoices):
    """Highest completed education as ISCED 2011 groups used by ESF+."""

    ISCED_0_2 = "isced_0_2", _("Primary or lower secondary (ISCED 0–2)")
    ISCED_3_4 = "isced_3_4", _("Upper secondary or post-secondary (ISCED 3–4)")
    ISCED_5_8 = "isced_5_8", _("Tertiary (ISCED 5–8)")
    NOT_STATED = "not_stated", _("Not stated")


class Client(models.Model):
    """A person in (or referred to) the multi-sector joint service.

    The identity code (*henkilötunnus*) is validated; date of birth and legal sex are derived from it.
    Background fields are optional and self-declared; each has "not stated".
    """

    personal_identity_code = models.CharField(
        _("personal identity code"), max_length=11, unique=True, validators=[validate_hetu]
    )
    birth_date = models.DateField(_("date of birth"), editable=False)
    legal_sex = models.CharField(_("legal sex"), max_length=8, choices=LegalSex.choices, editable=False)
    gender = models.CharField(_("gender"), max_length=16, choices=Gender.choices, default=Gender.NOT_STATED)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.FINNISH
    )
    municipality_code = models.CharField(
        _("municipality of residence"), max_length=3, validators=[municipality_code_validator]
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    education_level = models.CharField(
        _("education level"), max_length=16, choices=EducationLevel.choices, default=EducationLevel.NOT_STATED
    )
    foreign_background = models.CharField(
        _("foreign background"), max_length=16, choices=YesNoNotStated.choices, default=YesNoNotStated.NOT_STATED
    )
    third_country_national = models.CharField(
        _("third-country national"), max_length=16, choices=YesNoNotStated.choices,
        default=YesNoNotStated.NOT_STATED,
    )
    minority = models.CharField(
        _("minority (including Roma)"), max_length=16, choices=YesNoNotStated.choices,
        default=YesNoNotStated.NOT_STATED,
    )
    disability = models.CharField(
        _("disability"), max_length=16, choices=YesNoNotStated.choices, default=YesNoNotStated.NOT_STATED
    )
    homeless = models.CharField(
        _("homeless or excluded from housing"), max_length=16, choices=YesNoNotStated.choices,
        default=YesNoNotStated.NOT_STATED,
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="client",
        verbose_name=_("portal account"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["last_name", "first_name", "id"]
        # Lists in name order (the caseload) walk this index and stop when the page is full.
        indexes = [models.Index(fields=["last_name", "first_name", "id"], name="client_name_order")]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ConsentMethod(models.TextChoices):
    IN_PERSON = "in_person", _("In person, recorded by staff")
    SIGNED_FORM = "signed_form", _("Signed form")
    ELECTRONIC = "electronic", _("Electronically by the client")
    PHONE = "phone", _("By phone, recorded by staff")


class ConsentQuerySet(models.QuerySet["Consent"]):
    def active_on(self, moment: object | None = None) -> ConsentQuerySet:
        """Consents in force at ``moment`` (default now): started, not ended, not revoked."""
        now = moment or timezone.now()
        return self.filter(
            Q(valid_from__lte=now), Q(valid_to__isnull=True) | Q(valid_to__gt=now), revoked_at__isnull=True
        )


class Consent(models.Model):
    """The client's permission for one organisation to process one category of their data for a purpose.

    Time-bounded and revocable; revoking takes effect at once (the access policy reads this table on every
    request).
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents",
                               verbose_name=_("client"))
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                                     related_name="consents", verbose_name=_("organisation"))
    category = models.CharField(_("data category"), max_length=16, choices=DataCategory.choices)
    purpose = models.CharField(_("purpose"), max_length=300)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    method = models.CharField(_("how it was given"), max_length=16, choices=ConsentMethod.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("revoked by"))
    revoke_reason = models.CharField(_("reason for revoking"), max_length=300, blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["client_id", "organisation_id", "category", "-valid_from"]
        indexes = [models.Index(fields=["client", "organisation", "category"])]

    def __str__(self) -> str:
        return f"{self.client_id} → {self.organisation_id}: {self.category}"

    def clean(self) -> None:
        if self.valid_to is not None and self.valid_from is not None and self.valid_to <= self.valid_from:
            raise ValidationError({"valid_to": _("The end of a consent must be after its start.")})

    def is_active(self, moment: object | None = None) -> bool:
        now = moment or timezone.now()
        return (
            self.revoked_at is None
            and self.valid_from <= now  # type: ignore[operator]
            and (self.valid_to is None or self.valid_to > now)  # type: ignore[operator]
        )


class EmploymentStatus(models.TextChoices):
    EMPLOYED_OPEN_MARKET = "employed_open_market", _("Employed on the open market")
    SUBSIDISED_WORK = "subsidised_work", _("Subsidised work")
    EDUCATION = "education", _("Education")
    REHABILITATION = "rehabilitation", _("Rehabilitation")
    UNEMPLOYED = "unemployed", _("Unemployed")
    OUTSIDE_LABOUR_FORCE = "outside_labour_force", _("Outside the labour force")
    PENSION = "pension", _("Pension")


class EmploymentStatusPeriod(models.Model):
    """A period in one labour-market status (from a register or recorded by staff)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="employment_periods",
                               verbose_name=_("client"))
    status = models.CharField(_("status"), max_length=24, choices=EmploymentStatus.choices)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("employment-status period")
        verbose_name_plural = _("employment-status periods")
        ordering = ["client_id", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="employment_period_end_after_start",
            ),
            # The natural key of a period: register imports match on it, so importing again changes nothing.
            models.UniqueConstraint(fields=["client", "status", "start_date"],
                                    name="one_employment_period_per_status_start"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.status} {self.start_date}–{self.end_date or ''}"

    def clean(self) -> None:
        if self.end_date is not None and self.start_date is not None and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("A period cannot end before it starts.")})


class ContactChannel(models.TextChoices):
    MEETING = "meeting", _("Meeting in person")
    PHONE = "phone", _("Phone call")
    VIDEO = "video", _("Video call")
    MESSAGE = "message", _("Message")
    HOME_VISIT = "home_visit", _("Home visit")


class ClientContact(models.Model):
    """A contact with the client (*yhteydenotto*): a meeting, call or message in which staff and the client
    actually reached each other. The coordination engine's "not contacted" rule reads these."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("client"))
    episode = models.ForeignKey("episodes.JointServiceEpisode", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="contacts", verbose_name=_("episode"))
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organisation"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("recorded by"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=16, choices=ContactChannel.choices)
    summary = models.TextField(_("summary"), blank=True)

    class Meta:
        verbose_name = _("contact with the client")
        verbose_name_plural = _("contacts with the client")
        ordering = ["client_id", "-at"]
        indexes = [models.Index(fields=["client", "at"])]

    def __str__(self) -> str:
        return f"{self.client_id} {self.channel} {self.at:%Y-%m-%d}"


class ResidenceChange(models.Model):
    """The client moved from one municipality to another (from the population register or told by the
    client). ``Client.municipality_code`` holds the current municipality; this keeps when it changed."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="residence_changes",
                               verbose_name=_("client"))
    from_municipality = models.CharField(_("moved from"), max_length=3, validators=[municipality_code_validator])
    to_municipality = models.CharField(_("moved to"), max_length=3, validators=[municipality_code_validator])
    moved_on = models.DateField(_("moved on"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("change of residence")
        verbose_name_plural = _("changes of residence")
        ordering = ["client_id", "-moved_on"]
        indexes = [models.Index(fields=["client", "moved_on"])]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.from_municipality} → {self.to_municipality} {self.moved_on}"


class Benefit(models.TextChoices):
    LABOUR_MARKET_SUBSIDY = "labour_market_subsidy", _("Labour market subsidy")
    BASIC_UNEMPLOYMENT_ALLOWANCE = "basic_unemployment", _("Basic unemployment allowance")
    EARNINGS_RELATED_ALLOWANCE = "earnings_related", _("Earnings-related unemployment allowance")
    REHABILITATION_ALLOWANCE = "rehabilitation", _("Rehabilitation allowance")
    SICKNESS_ALLOWANCE = "sickness", _("Sickness allowance")


class BenefitPeriod(models.Model):
    """A period for which a benefit was paid (from Kela's or an unemployment fund's register), with the number
    of days paid. Labour market subsidy (*työmarkkinatuki*) is paid five days a week; the days paid for
    unemployment are what the screening rule counts."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="benefit_periods",
                               verbose_name=_("client"))
    benefit = models.CharField(_("benefit"), max_length=24, choices=Benefit.choices)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"), null=True, blank=True)
    paid_days = models.PositiveIntegerField(_("days paid"))
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("benefit period")
        verbose_name_plural = _("benefit periods")
        ordering = ["client_id", "start_date"]
        indexes = [models.Index(fields=["client", "benefit"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="benefit_period_end_after_start",
            ),
            # The natural key of a period: register imports match on it, so importing again changes nothing.
            models.UniqueConstraint(fields=["client", "benefit", "start_date"],
                                    name="one_benefit_period_per_benefit_start"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.benefit} {self.start_date}–{self.end_date or ''} ({self.paid_days})"
