"""The multi-sector employment plan (*monialainen työllistymissuunnitelma*), its versions, goals and steps.

The plan is co-owned: every participating organisation's responsible person and the client sign off a version.
Each change of content is a new, immutable version; a stale edit (made from an older version) is refused, so
concurrent edits never silently overwrite each other.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Plan(models.Model):
    episode = models.OneToOneField("episodes.JointServiceEpisode", on_delete=models.CASCADE,
                                   related_name="plan", verbose_name=_("episode"))
    current_version = models.PositiveIntegerField(_("current version"), default=0)
    next_review_due = models.DateField(_("next review due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("multi-sector plan")
        verbose_name_plural = _("multi-sector plans")

    def __str__(self) -> str:
        return f"{self.episode} v{self.current_version}"


class PlanVersion(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions", verbose_name=_("plan"))
    number = models.PositiveIntegerField(_("version number"))
    employment_goal = models.TextField(_("employment goal"))
    rehabilitative_work_goal = models.TextField(
        _("goal of rehabilitative work activity"), blank=True,
        help_text=_("Only if the plan includes rehabilitative work activity."),
    )
    follow_up = models.TextField(_("how progress is followed up"), blank=True)
    change_summary = models.TextField(_("what changed"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        ordering = ["plan_id", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="unique_plan_version_number")]

    def __str__(self) -> str:
        return f"{self.plan_id} v{self.number}"


class GoalArea(models.TextChoices):
    EMPLOYMENT = "employment", _("Employment")
    EDUCATION = "education", _("Education and skills")
    SOCIAL = "social", _("Social situation")
    HEALTH = "health", _("Health and work ability")
    REHABILITATION = "rehabilitation", _("Rehabilitation")
    HOUSING_AND_MONEY = "housing_money", _("Housing and money")


class Goal(models.Model):
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="goals",
                                     verbose_name=_("plan version"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    area = models.CharField(_("area"), max_length=16, choices=GoalArea.choices)
    title = models.CharField(_("goal"), max_length=300)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["plan_version_id", "position", "id"]

    def __str__(self) -> str:
        return self.title


class StepKind(models.TextChoices):
    ACTION = "action", _("Action")
    SERVICE = "service", _("Service")


class StepStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Step(models.Model):
    """An action or a service towards a goal, owned by one organisation (or by the client)."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="steps", verbose_name=_("goal"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=StepKind.choices, default=StepKind.ACTION)
    description = models.CharField(_("description"), max_length=500)
    service = models.ForeignKey("catalogue.Service", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="plan_steps", verbose_name=_("service"))
    owner_organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                                           null=True, blank=True, related_name="plan_steps",
                                           verbose_name=_("responsible organisation"))
    owned_by_client = models.BooleanField(_("the client's own step"), default=False)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=StepStatus.choices,
                              default=StepStatus.PLANNED)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["goal_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner_organisation__isnull=False) | Q(owned_by_client=True),
                name="step_has_an_owner",
            ),
            models.CheckConstraint(
                condition=~Q(kind="service") | Q(service__isnull=False),
                name="service_step_names_service",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class SignoffParty(models.TextChoices):
    ORGANISATION = "organisation", _("Participating organisation")
    CLIENT = "client", _("Client")


class PlanSignoff(models.Model):
    """A party's agreement to a plan version: an organisation's responsible person, or the client."""

    plan_version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="signoffs",
                                     verbose_name=_("plan version"))
    party = models.CharField(_("party"), max_length=16, choices=SignoffParty.choices)
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+", verbose_name=_("organisation"))
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("signed by"))
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)

    class Meta:
        verbose_name = _("plan sign-off")
        verbose_name_plural = _("plan sign-offs")
        constraints = [
            models.UniqueConstraint(fields=["plan_version", "organisation"],
                                    condition=Q(party="organisation"), name="one_signoff_per_org"),
            models.UniqueConstraint(fields=["plan_version"], condition=Q(party="client"),
                                    name="one_client_signoff"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_version} {self.party} {self.organisation_id or ''}"


class ReviewTrigger(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled review")
    CLIENT_REQUEST = "client_request", _("The client asked")
    CHANGED_NEEDS = "changed_needs", _("Needs changed")


class PlanReview(models.Model):
    """A review of the plan (at least every six months by default, and whenever the client asks)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("plan"))
    trigger = models.CharField(_("reason for review"), max_length=16, choices=ReviewTrigger.choices)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    held_on = models.DateField(_("held on"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("reviewed by"))
    notes = models.TextField(_("notes"), blank=True)
    resulting_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+", verbose_name=_("resulting version"))

    class Meta:
        verbose_name = _("plan review")
        verbose_name_plural = _("plan reviews")
        ordering = ["plan_id", "-requested_at"]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.trigger} {self.held_on or ''}"
