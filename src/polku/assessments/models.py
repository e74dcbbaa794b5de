"""Structured assessments against instruments, and the joint assessment of the parties.

An :class:`Instrument` holds items, their scales and a scoring rule; an :class:`Assessment` is one set of
answers by a professional or by the client, so repeated assessments show change over time. A
:class:`JointAssessment` has a section per profession (each with its named assessor) and records where the
professionals or the client disagree.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.core.choices import DataCategory
from polku.core.translation import localized


class ScoringRule(models.TextChoices):
    SUM = "sum", _("Sum of item values")
    MEAN = "mean", _("Mean of item values")
    SCALED_0_100 = "scaled_0_100", _("Sum rescaled to 0–100")
    NONE = "none", _("No total score")


class Instrument(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_fi = models.CharField(_("name (Finnish)"), max_length=200)
    name_sv = models.CharField(_("name (Swedish)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_fi = models.TextField(_("description (Finnish)"), blank=True)
    description_sv = models.TextField(_("description (Swedish)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    data_category = models.CharField(_("data category"), max_length=16, choices=DataCategory.choices)
    scoring_rule = models.CharField(_("scoring rule"), max_length=16, choices=ScoringRule.choices)
    bands = models.JSONField(
        _("score bands"), default=list, blank=True,
        help_text=_('List of {"code", "min", "max", "label_fi", "label_sv", "label_en"}.'),
    )
    higher_is_better = models.BooleanField(_("a higher score is better"), default=True)
    placeholder = models.BooleanField(
        _("placeholder"), default=False,
        help_text=_("The item wording is not public; this instrument only holds the structure."),
    )
    source = models.TextField(_("source"), blank=True)

    class Meta:
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        ordering = ["code"]

    def __str__(self) -> str:
        return localized(self, "name")


class InstrumentItem(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="items",
                                   verbose_name=_("instrument"))
    code = models.CharField(_("code"), max_length=32)
    position = models.PositiveSmallIntegerField(_("position"))
    domain = models.CharField(_("domain"), max_length=64, blank=True)
    text_fi = models.TextField(_("text (Finnish)"))
    text_sv = models.TextField(_("text (Swedish)"), blank=True)
    text_en = models.TextField(_("text (English)"), blank=True)
    scale_min = models.IntegerField(_("lowest value"))
    scale_max = models.IntegerField(_("highest value"))
    scale_labels = models.JSONField(_("scale labels"), default=dict, blank=True)

    class Meta:
        verbose_name = _("instrument item")
        verbose_name_plural = _("instrument items")
        ordering = ["instrument_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "code"], name="unique_item_code"),
            models.CheckConstraint(condition=models.Q(scale_max__gt=models.F("scale_min")),
                                   name="item_scale_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id}:{self.code}"


class Respondent(models.TextChoices):
    PROFESSIONAL = "professional", _("Professional")
    CLIENT = "client", _("Client (self-assessment)")


class Assessment(models.Model):
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="assessments",
                               verbose_name=_("client"))
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="assessments",
                                   verbose_name=_("instrument"))
    episode = models.ForeignKey("episodes.JointServiceEpisode", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="assessments", verbose_name=_("episode"))
    joint_assessment = models.ForeignKey("JointAssessment", on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="instrument_assessments",
                                         verbose_name=_("joint assessment"))
    respondent = models.CharField(_("respondent"), max_length=16, choices=Respondent.choices)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+", verbose_name=_("organisation"))
    assessed_on = models.DateField(_("date"))
    score = models.DecimalField(_("score"), max_digits=7, decimal_places=2, null=True, blank=True)
    band = models.CharField(_("band"), max_length=32, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["client_id", "instrument_id", "assessed_on", "id"]
        indexes = [models.Index(fields=["client", "instrument", "assessed_on"])]

    def __str__(self) -> str:
        return f"{self.client_id} {self.instrument_id} {self.assessed_on}: {self.score}"


class AssessmentAnswer(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="answers",
                                   verbose_name=_("assessment"))
    item = models.ForeignKey(InstrumentItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("item"))
    value = models.IntegerField(_("value"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["assessment", "item"], name="one_answer_per_item")]

    def __str__(self) -> str:
        return f"{self.item_id}={self.value}"


class AssessmentArea(models.TextChoices):
    """The professions' sections of a joint assessment and the data category each holds."""

    EMPLOYMENT = "employment", _("Employment")
    SOCIAL = "social", _("Social welfare")
    HEALTH = "health", _("Health")
    KELA_REHABILITATION = "kela_rehabilitation", _("Kela and rehabilitation")


AREA_DATA_CATEGORY: dict[str, str] = {
    AssessmentArea.EMPLOYMENT: DataCategory.EMPLOYMENT,
    AssessmentArea.SOCIAL: DataCategory.SOCIAL,
    AssessmentArea.HEALTH: DataCategory.HEALTH,
    AssessmentArea.KELA_REHABILITATION: DataCategory.REHABILITATION,
}


class JointAssessment(models.Model):
    """The parties' joint assessment of the client's service needs (during the mapping period)."""

    episode = models.ForeignKey("episodes.JointServiceEpisode", on_delete=models.CASCADE,
                                related_name="joint_assessments", verbose_name=_("episode"))
    held_on = models.DateField(_("held on"))
    client_view = models.TextField(_("the client's own view"), blank=True)
    summary = models.TextField(_("summary of service needs"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("joint assessment")
        verbose_name_plural = _("joint assessments")
        ordering = ["episode_id", "held_on"]

    def __str__(self) -> str:
        return f"{self.episode_id} {self.held_on}"


class JointAssessmentSection(models.Model):
    joint_assessment = models.ForeignKey(JointAssessment, on_delete=models.CASCADE, related_name="sections",
                                         verbose_name=_("joint assessment"))
    area = models.CharField(_("area"), max_length=24, choices=AssessmentArea.choices)
    assessor = models.ForeignKey("organisations.StaffMember", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("assessor"))
    findings = models.TextField(_("findings"))
    service_needs = models.TextField(_("service needs"), blank=True)

    class Meta:
        verbose_name = _("joint assessment section")
        verbose_name_plural = _("joint assessment sections")
        constraints = [
            models.UniqueConstraint(fields=["joint_assessment", "area"], name="one_section_per_area")
        ]

    def __str__(self) -> str:
        return f"{self.joint_assessment_id} {self.area}"

    @property
    def data_category(self) -> str:
        return AREA_DATA_CATEGORY[self.area]


class Disagreement(models.Model):
    """A point on which the professionals, or a professional and the client, see things differently."""

    joint_assessment = models.ForeignKey(JointAssessment, on_delete=models.CASCADE,
                                         related_name="disagreements", verbose_name=_("joint assessment"))
    topic = models.CharField(_("topic"), max_length=300)
    areas = models.JSONField(_("areas involved"), default=list)
    involves_client = models.BooleanField(_("the client disagrees"), default=False)
    positions = models.TextField(_("the differing views"))
    resolution = models.TextField(_("how it was resolved"), blank=True)

    class Meta:
        verbose_name = _("disagreement")
        verbose_name_plural = _("disagreements")

    def __str__(self) -> str:
        return self.topic
