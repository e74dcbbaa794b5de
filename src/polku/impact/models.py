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


class EffectRun(models.Model):
    """One run of ``polku impact effects`` (or of the monthly retraining) whose results were stored: average effects
    of each service with their intervals, overlap, balance, sensitivity, effects by segment and costs.

    ``results`` follows the JSON shape documented in docs/effects.md (``estimates``, ``overlap``, ``balance``,
    ``segments``, ``costs``). Only aggregates are stored, never a row of the data."""

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    data_source = models.CharField(_("data"), max_length=300)
    data_hash = models.CharField(_("data hash (SHA-256)"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"))
    treatment = models.CharField(_("treatment"), max_length=100)
    outcome = models.CharField(_("outcome"), max_length=100)
    control_level = models.CharField(_("comparison level"), max_length=100)
    settings = models.JSONField(_("settings"), default=dict)
    results = models.JSONField(_("results"), default=dict)

    class Meta:
        verbose_name = _("effect estimate run")
        verbose_name_plural = _("effect estimate runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.treatment} → {self.outcome} {self.created_at:%Y-%m-%d %H:%M}"


class ContractDesign(models.TextChoices):
    KOTO = "koto", _("Share of the public-finance difference against a randomised control group (Koto-SIB)")
    SIB = "sib", _("Percentage of wage sums above a model's prediction (Employment SIB)")


class OutcomeContract(models.Model):
    """An outcome-based contract (docs/contracts.md): who counts (``cohort_rule``), the outcome and its baseline
    (by ``design``), the share or percentages per unit of outcome, and the cap. Payments are computed by
    ``polku contracts compute`` and stored as :class:`ContractPayment` rows with their evidence."""

    name = models.SlugField(_("name"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    design = models.CharField(_("design"), max_length=8, choices=ContractDesign.choices)
    share = models.DecimalField(_("share of the difference"), max_digits=5, decimal_places=4, default=0.5,
                                help_text=_("Koto design: the share of the difference paid (0–1)."))
    rates = models.JSONField(_("percentages"), default=dict, blank=True,
                             help_text=_("Employment SIB design: the percentage of wage sums by age, education and "
                                         "unemployment duration."))
    basis = models.CharField(_("basis"), max_length=8, default="total",
                             help_text=_("Employment SIB design: a percentage of the whole wage sum (total) or of the "
                                         "part above the prediction (excess)."))
    cap_eur = models.DecimalField(_("cap (EUR)"), max_digits=14, decimal_places=2, null=True, blank=True)
    cohort_rule = models.JSONField(_("cohort rule"), default=list, blank=True)
    cohort_start = models.DateField(_("cohort from"), null=True, blank=True)
    cohort_end = models.DateField(_("cohort to"), null=True, blank=True)
    programme_classes = models.JSONField(_("programme services"), default=list, blank=True)
    follow_up_months = models.PositiveIntegerField(_("follow-up (months)"), default=12)
    seed = models.IntegerField(_("seed"), default=0)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))

    class Meta:
        verbose_name = _("outcome-based contract")
        verbose_name_plural = _("outcome-based contracts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContractPayment(models.Model):
    """One computation of what a contract owes: the amount, the evidence behind every figure, the SHA-256 of the
    participant table it was computed from, and who computed it and when. Computing again from the same data gives
    the same amount and evidence."""

    contract = models.ForeignKey(OutcomeContract, on_delete=models.PROTECT, related_name="payments",
                                 verbose_name=_("contract"))
    number = models.PositiveIntegerField(_("number"))
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("computed by"))
    data_source = models.CharField(_("data"), max_length=300)
    data_hash = models.CharField(_("data hash (SHA-256)"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"))
    amount_eur = models.DecimalField(_("payment (EUR)"), max_digits=14, decimal_places=2)
    uncapped_eur = models.DecimalField(_("before the cap (EUR)"), max_digits=14, decimal_places=2)
    capped = models.BooleanField(_("capped"), default=False)
    evidence = models.JSONField(_("evidence"), default=dict)

    class Meta:
        verbose_name = _("contract payment")
        verbose_name_plural = _("contract payments")
        ordering = ["contract_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="impact_contract_payment_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} #{self.number}: {self.amount_eur} €"
