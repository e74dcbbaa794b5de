"""The impact model's registry (every trained model, versioned, with its data hash, parameters and metrics),
its fairness reports, and the professionals' recorded disagreements with an estimate."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ModelKind(models.TextChoices):
    POTENTIAL = "potential", _("Employment potential")
    SEGMENTS = "segments", _("Client segments")


class ModelVersion(models.Model):
    """One trained model. ``artifact`` is the fitted model itself (signed with the secret key, so a changed
    artifact is refused when loaded); ``metrics`` are its out-of-time validation figures."""

    kind = models.CharField(_("kind"), max_length=16, choices=ModelKind.choices)
    outcome = models.CharField(_("outcome"), max_length=64, blank=True)
    version = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    trained_by = models.CharField(_("trained by"), max_length=100, blank=True,
                                  help_text=_("the command or task that trained it"))
    data_source = models.CharField(_("data"), max_length=300)
    data_hash = models.CharField(_("data hash (SHA-256)"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"))
    features = models.JSONField(_("features"), default=list)
    parameters = models.JSONField(_("parameters"), default=dict)
    metrics = models.JSONField(_("metrics"), default=dict)
    artifact = models.BinaryField(_("model"))
    signature = models.CharField(_("signature"), max_length=64)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["kind", "outcome", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "outcome", "version"], name="impact_model_version_unique"),
        ]

    def __str__(self) -> str:
        name = f"{self.kind} {self.outcome}".strip()
        return f"{name} v{self.version}"


class FairnessReport(models.Model):
    """A fairness audit of one model version (fairlearn's metrics by group, small cells suppressed), as written
    at ``created_at``: the figures (``report``) and the text (Markdown, in ``language``)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="fairness_reports",
                                      verbose_name=_("model version"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    report = models.JSONField(_("figures"), default=dict)
    text = models.TextField(_("report"), blank=True)

    class Meta:
        verbose_name = _("fairness report")
        verbose_name_plural = _("fairness reports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_version} {self.created_at:%Y-%m-%d %H:%M}"


class OverrideDirection(models.TextChoices):
    TOO_HIGH = "too_high", _("The estimate is too high")
    TOO_LOW = "too_low", _("The estimate is too low")
    OTHER = "other", _("Other disagreement")


class EstimateOverride(models.Model):
    """A professional's recorded disagreement with an employment-potential estimate, and why. It changes nothing
    automatically; the fairness report counts them by group."""

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="estimate_overrides",
                               verbose_name=_("client"))
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="overrides",
                                      verbose_name=_("model version"))
    estimate = models.FloatField(_("estimate shown"))
    direction = models.CharField(_("disagreement"), max_length=16, choices=OverrideDirection.choices)
    reason = models.TextField(_("why"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organisation"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("disagreement with an estimate")
        verbose_name_plural = _("disagreements with estimates")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["client", "recorded_at"])]

    def __str__(self) -> str:
        return f"{self.client_id} {self.direction} {self.recorded_at:%Y-%m-%d}"
