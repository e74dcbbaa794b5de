"""Reading the impact model's results: one client's estimate (checked against the access policy and logged like
any other read of the client's data), the client's own segment, and the managers' overview (aggregates only)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext as _

from polku.access.policy import authorize, client_of, decide, staff_of
from polku.audit.models import AccessAction
from polku.coordination.selectors import AGGREGATE_ROLES
from polku.core.choices import DataCategory
from polku.core.dates import add_months
from polku.core.errors import AccessDenied

from . import registry
from .explain import Reason, reasons
from .models import EstimateOverride, FairnessReport, ModelKind, ModelVersion
from .table import build_table, month_ends

logger = logging.getLogger(__name__)

#: The outcome the client page shows.
PAGE_OUTCOME = "employed_12m"
#: The trajectory's step between reference dates.
TRAJECTORY_STEP_MONTHS = 3


@functools.lru_cache(maxsize=8)
def _load(version_id: int, signature: str) -> Any:
    """A stored model, loaded once per process (keyed by its signature, so a changed row is loaded again)."""
    return registry.load_model(ModelVersion.objects.get(pk=version_id))


def loaded(version: ModelVersion) -> Any:
    return _load(version.pk, version.signature)


@dataclass
class EstimatePoint:
    reference_date: dt.date
    probability: float
    low: float | None
    high: float | None


@dataclass
class ClientEstimate:
    """What the client page shows: the estimate now with its interval and reasons, its trend, the segment."""

    version: ModelVersion
    as_of: dt.date
    probability: float
    low: float | None
    high: float | None
    average: float
    reasons: list[Reason]
    hidden_reasons: int
    trajectory: list[EstimatePoint]
    segment: dict[str, Any] | None
    overrides: list[EstimateOverride] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(self.probability * 100)

    @property
    def interval_text(self) -> str:
        if self.low is None or self.high is None:
            return ""
        return _("%(low)d–%(high)d %%") % {"low": round(self.low * 100), "high": round(self.high * 100)}


def client_rows(client_id: int, today: dt.date) -> pd.DataFrame:
    """The client's analysis-table rows: every ``TRAJECTORY_STEP_MONTHS`` months of their joint service, and
    today (the table holds a row only where an episode was open)."""
    from polku.episodes.models import JointServiceEpisode

    first = JointServiceEpisode.objects.filter(client_id=client_id).order_by("start_date").values_list(
        "start_date", flat=True).first()
    if first is None:
        return build_table([], client_ids=[client_id], keep_client_id=True)
    dates = month_ends(first, today, TRAJECTORY_STEP_MONTHS)
    dates.append(today)
    return build_table(dates, client_ids=[client_id], keep_client_id=True, observed_until=today)


def usable_latest(kind: str, outcome: str = "") -> tuple[ModelVersion, Any] | None:
    """The latest version of a model and the model itself; ``None`` when there is none or its stored artifact is
    refused (changed outside Polku: the pages then show no estimate rather than fail, and the log says why)."""
    version = registry.latest(kind, outcome)
    if version is None:
        return None
    try:
        return version, loaded(version)
    except registry.ArtifactRefused:
        logger.error("%s: the stored model was refused (its signature does not match); not used", version)
        return None


def _scored(client_id: int, today: dt.date) -> tuple[ModelVersion, Any, pd.DataFrame, pd.DataFrame] | None:
    found = usable_latest(ModelKind.POTENTIAL, PAGE_OUTCOME)
    if found is None:
        return None
    version, model = found
    rows = client_rows(client_id, today)
    if not len(rows):
        return version, model, rows, pd.DataFrame()
    return version, model, rows, model.predict(rows)


def current_estimate(client_id: int, today: dt.date | None = None) -> tuple[ModelVersion, float] | None:
    """The latest model's estimate for the client today, unchecked: for services that have already authorised
    the request (recording a disagreement stores the estimate it disagrees with)."""
    scored = _scored(client_id, today or timezone.localdate())
    if scored is None or not len(scored[3]):
        return None
    version, _model, rows, predicted = scored
    latest = rows["reference_date"].to_numpy().argmax()
    return version, float(predicted["probability"].iloc[latest])


def client_estimate(*, actor: Any, client_id: int, today: dt.date | None = None) -> ClientEstimate | None:
    """The client's employment potential for the client page, or ``None`` when no model is trained yet or the
    client has no open episode. Raises :class:`AccessDenied` unless the actor may see the client's employment
    data (the estimate is employment data); reasons from categories the actor may not see are counted, not
    shown, and each category shown is logged."""
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW,
              purpose=_("View the employment potential estimate"))
    today = today or timezone.localdate()
    scored = _scored(client_id, today)
    if scored is None:
        return None
    version, model, rows, predicted = scored
    if not len(rows) or rows["reference_date"].max() != today.isoformat():
        return None
    order = np.argsort(rows["reference_date"].to_numpy())
    rows, predicted = rows.iloc[order], predicted.iloc[order]
    latest_row = rows.iloc[[-1]]
    contributions = model.contributions(latest_row).iloc[0]
    found = reasons(contributions, latest_row.iloc[0])
    shown, hidden = _visible_reasons(actor, client_id, found)
    trajectory = [
        EstimatePoint(dt.date.fromisoformat(str(r)), float(p), _opt(lo), _opt(hi))
        for r, p, lo, hi in zip(rows["reference_date"], predicted["probability"],
                                predicted.get("probability_low", pd.Series([None] * len(rows))),
                                predicted.get("probability_high", pd.Series([None] * len(rows))), strict=True)
    ]
    last = predicted.iloc[-1]
    return ClientEstimate(
        version=version, as_of=today, probability=float(last["probability"]),
        low=_opt(last.get("probability_low")), high=_opt(last.get("probability_high")),
        average=float(getattr(model, "threshold", 0.0)), reasons=shown, hidden_reasons=hidden,
        trajectory=trajectory, segment=_segment_of(latest_row, for_client=False),
        overrides=list(EstimateOverride.objects.filter(client_id=client_id).select_related(
            "recorded_by", "organisation", "model_version")[:20]),
    )


def _opt(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if np.isnan(number) else number


def _visible_reasons(actor: Any, client_id: int, found: list[Reason]) -> tuple[list[Reason], int]:
    allowed: dict[str, bool] = {}
    for reason in found:
        if reason.category not in allowed:
            allowed[reason.category] = decide(actor, client_id, reason.category, AccessAction.VIEW).allowed
    for category, ok in allowed.items():
        if ok and category != DataCategory.EMPLOYMENT:  # the estimate's own read is already logged
            authorize(actor, client_id, category, AccessAction.VIEW,
                      purpose=_("View the reasons for the employment potential estimate"))
    shown = [r for r in found if allowed[r.category]]
    return shown, len(found) - len(shown)


def _segment_of(row: pd.DataFrame, *, for_client: bool) -> dict[str, Any] | None:
    found = usable_latest(ModelKind.SEGMENTS)
    if found is None or not len(row):
        return None
    from . import segments

    version, model = found
    assigned = segments.assign(model, row).iloc[0]
    number = int(assigned["segment"])
    return {"number": number, "probability": float(assigned["segment_probability"]), "version": version.version,
            **segments.describe(model, number, for_client=for_client)}


def own_segment(*, actor: Any, today: dt.date | None = None) -> dict[str, Any] | None:
    """For the client themself: the plain-language description of the group they are in, or ``None``."""
    client = client_of(actor)
    if client is None:
        raise AccessDenied(_("Only clients have a segment of their own."), code="not_client")
    authorize(actor, client, DataCategory.BASIC, AccessAction.VIEW, purpose=_("View my group's description"))
    if registry.latest(ModelKind.SEGMENTS) is None:
        return None
    today = today or timezone.localdate()
    rows = client_rows(client.pk, today)
    rows = rows[rows["reference_date"] == today.isoformat()]
    return _segment_of(rows, for_client=True)


def may_see_overview(actor: Any) -> bool:
    staff = staff_of(actor)
    return (staff is not None and staff.role in AGGREGATE_ROLES) or bool(getattr(actor, "is_superuser", False))


@dataclass
class ImpactOverview:
    potential: ModelVersion | None
    segments: ModelVersion | None
    fairness: FairnessReport | None
    versions: list[ModelVersion]


def impact_overview(*, actor: Any) -> ImpactOverview:
    """For managers and administrators: the latest models, their validation figures, the segments and the latest
    fairness report. Aggregates only, small cells suppressed where they were computed."""
    if not may_see_overview(actor):
        raise AccessDenied(_("Only managers and administrators see the impact model's overview."), code="role")
    potential = registry.latest(ModelKind.POTENTIAL, PAGE_OUTCOME)
    fairness = None
    if potential is not None:
        fairness = FairnessReport.objects.filter(model_version=potential).first()
    versions = list(ModelVersion.objects.defer("artifact").order_by("-created_at", "-id")[:20])
    return ImpactOverview(potential, registry.latest(ModelKind.SEGMENTS), fairness, versions)


def training_window(observed_until: dt.date) -> tuple[dt.date, dt.date] | None:
    """From the first episode's start to ``observed_until``."""
    from polku.episodes.models import JointServiceEpisode

    first = JointServiceEpisode.objects.order_by("start_date").values_list("start_date", flat=True).first()
    if first is None:
        return None
    return add_months(first, 1), observed_until


# --- suggested services (issue 8: per-client effects) -------------------------------------------------------------

#: The design whose per-client effects the client page uses: its treatment levels are the catalogue's service classes.
SUGGESTION_TREATMENT = "service_started_1m"
#: A reason must move the client's estimated effect at least this much (half a percentage point) to be shown.
MIN_EFFECT_CONTRIBUTION = 0.005
#: At most this many services are suggested.
SUGGESTIONS = 8


@dataclass
class ClassEffect:
    """The estimated effect on this client of starting a service of one class now, against no service."""

    service_class: str
    effect: float
    low: float
    high: float
    reasons: list[Reason]
    under_way: bool = False  # the client already has a draft or an open referral to a service of this class

    @property
    def points(self) -> float:
        return round(self.effect * 100, 1)

    @property
    def interval_text(self) -> str:
        def signed(value: float) -> str:  # with the minus sign, as in the What works tables
            return f"{value * 100:+.1f}".replace("-", "\u2212")

        return _("%(low)s … %(high)s percentage points") % {"low": signed(self.low), "high": signed(self.high)}

    @property
    def clear(self) -> bool:
        """The interval lies above zero."""
        return self.low > 0


@dataclass
class SuggestedService:
    """One service of a kind estimated to help, with what the coordinator needs to judge it: the waiting time,
    whether it is offered in the client's preferred language, and the client's latest referral to it (among the
    referrals the reader's organisation may see), if any."""

    service: Any  # catalogue Service, with its waiting time
    effect: ClassEffect
    waiting_days: float | None
    in_client_language: bool | None = None  # None: the client's language is not one a service lists
    referral: Any = None  # the client's latest visible referral to this service

    @property
    def already_referred(self) -> bool:
        """A draft or an open referral exists (sent, received, accepted, on the waiting list or started): follow it
        up instead of referring again."""
        return self.referral is not None and _referral_pending(self.referral)


@dataclass
class ServiceSuggestions:
    run_id: int
    run_created_at: dt.datetime
    as_of: dt.date
    services: list[SuggestedService]
    classes: list[ClassEffect]
    hidden_reasons: int


def suggestion_run() -> tuple[Any, Any] | None:
    """The latest stored effect run of the database design that has per-client effects, and its model."""
    from .heterogeneity import ClientEffectModel
    from .models import EffectRun

    for run in EffectRun.objects.filter(treatment=SUGGESTION_TREATMENT).order_by("-created_at", "-id")[:5]:
        stored = (run.results or {}).get("client_effects") or {}
        if stored.get("model"):
            try:
                return run, ClientEffectModel.from_dict(stored["model"])
            except (KeyError, TypeError, ValueError):
                logger.error("effect run %s: its per-client model cannot be read; not used", run.pk)
    return None


def _effect_reasons(model: Any, row: pd.DataFrame, level: str, *, top: int = 3) -> list[Reason]:
    return reasons(model.contributions(row, level), row.iloc[0], top=top, minimum=MIN_EFFECT_CONTRIBUTION)


def service_suggestions(*, actor: Any, client_id: int, today: dt.date | None = None) -> ServiceSuggestions | None:
    """Services that may help this client find work: the active services offered in the client's municipality
    whose service class is estimated to raise this client's chance of work, ranked by that estimated effect (the
    DR-learner of the latest stored effect run, polku.impact.heterogeneity) with its 95 % interval and the main
    reasons. ``None`` when no run with per-client effects is stored or the client has no open joint-service
    episode today.

    A suggestion is decision support: nothing is applied. Raises :class:`AccessDenied` unless the actor may see
    the client's employment data; reasons from categories the actor may not see are counted, not shown, and each
    category shown is logged (as for the employment potential)."""
    from polku.access.policy import deny
    from polku.catalogue.selectors import service_search, waiting_days
    from polku.clients.models import Client

    if client_of(actor) is not None:
        raise deny(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW, purpose=_("View suggested services"),
                   message=_("Suggested services are shown to the professionals who work with the client."),
                   code="staff_only")
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW,
              purpose=_("View suggested services"))
    found = suggestion_run()
    if found is None:
        return None
    run, model = found
    today = today or timezone.localdate()
    # Only today's row (not the trajectory's): the effect is for starting a service now.
    rows = build_table([today], client_ids=[client_id], keep_client_id=True, observed_until=today)
    row = rows[rows["reference_date"] == today.isoformat()] if len(rows) else rows
    if not len(row):
        return None
    row = row.iloc[[-1]].reset_index(drop=True)
    predicted = model.predict(row)
    classes = [ClassEffect(str(p.level), float(p.effect), max(float(p.low), -1.0), min(float(p.high), 1.0),
                           _effect_reasons(model, row, str(p.level)))
               for p in predicted.itertuples()]
    classes.sort(key=lambda c: (-c.effect, c.service_class))
    found_reasons = [r for c in classes for r in c.reasons]
    allowed: dict[str, bool] = {}
    for reason in found_reasons:
        if reason.category not in allowed:
            allowed[reason.category] = decide(actor, client_id, reason.category, AccessAction.VIEW).allowed
    for category, ok in allowed.items():
        if ok and category != DataCategory.EMPLOYMENT:
            authorize(actor, client_id, category, AccessAction.VIEW,
                      purpose=_("View the reasons for suggested services"))
    hidden = 0
    for c in classes:
        shown = [r for r in c.reasons if allowed[r.category]]
        hidden += len(c.reasons) - len(shown)
        c.reasons = shown
    by_class = {c.service_class: c for c in classes}
    municipality, language = Client.objects.filter(pk=client_id).values_list(
        "municipality_code", "preferred_language").first() or ("", "")
    services = list(service_search(municipality_code=municipality, active=True).filter(
        service_class__in=list(by_class)).select_related("provider"))
    referrals = _client_referrals(actor, client_id)
    for referral in referrals:
        if _referral_pending(referral) and referral.service.service_class in by_class:
            by_class[referral.service.service_class].under_way = True
    suggested = [SuggestedService(s, by_class[s.service_class], waiting_days(getattr(s, "waiting_days", None)),
                                  _in_language(s, language))
                 for s in services if by_class[s.service_class].effect > 0]
    suggested.sort(key=suggestion_order)
    chosen = suggested[:SUGGESTIONS]
    latest: dict[int, Any] = {}
    for referral in referrals:  # newest first
        latest.setdefault(referral.service_id, referral)
    for item in chosen:
        item.referral = latest.get(item.service.pk)
    return ServiceSuggestions(run.pk, run.created_at, today, chosen, classes, hidden)


def suggestion_order(item: SuggestedService) -> tuple[Any, ...]:
    """Kinds the client already has under way last (the estimate is for starting one now); then by estimated
    effect; within a kind (the same effect), those known not to be in the client's language last, then the
    shortest wait."""
    wait = item.waiting_days if item.waiting_days is not None else math.inf
    return (item.effect.under_way, -item.effect.effect, item.in_client_language is False, wait, item.service.pk)


def _in_language(service: Any, language: str) -> bool | None:
    """Whether the service lists the client's preferred language (None when the client's language is "other" or
    the service lists no languages: not known)."""
    listed = [str(code).lower() for code in (service.languages or []) if isinstance(code, str)]
    if not language or language == "other" or not listed:
        return None
    return language.lower() in listed


def _referral_pending(referral: Any) -> bool:
    from polku.referrals.models import ReferralStatus

    return bool(referral.is_open or referral.status == ReferralStatus.DRAFT)


def _client_referrals(actor: Any, client_id: int) -> list[Any]:
    """The client's referrals that the actor's organisation sent or receives (the referral selector's rules), newest
    first, with their services. One query; checked and logged as a read of the client's basic data (nothing is
    read, and nothing returned, when the policy does not allow it)."""
    from polku.referrals.selectors import referrals_visible_to

    if not decide(actor, client_id, DataCategory.BASIC, AccessAction.VIEW).allowed:
        return []
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.VIEW,
              purpose=_("View the client's referrals to suggested services"))
    return list(referrals_visible_to(actor, client_id=client_id).select_related("service").order_by(
        "-created_at", "-pk"))


# --- outcome-based contracts (docs/contracts.md) ------------------------------------------------------------------


@dataclass
class ContractSummary:
    """An outcome-based contract and its latest stored payment (``None``: not computed yet)."""

    contract: Any
    latest: Any = None


@dataclass
class ContractDetail:
    """An outcome-based contract and its stored payments, newest first, with their evidence."""

    contract: Any
    payments: list[Any] = field(default_factory=list)


def _require_overview(actor: Any) -> None:
    if not may_see_overview(actor):
        raise AccessDenied(_("Only managers and administrators see the outcome-based contracts."), code="role")


def outcome_contracts(*, actor: Any) -> list[ContractSummary]:
    """For managers and administrators: every outcome-based contract, by name, with its latest payment (its
    evidence not loaded). Two queries; aggregates only, nothing is written."""
    from .models import ContractPayment, OutcomeContract

    _require_overview(actor)
    contracts = list(OutcomeContract.objects.order_by("name"))
    latest: dict[int, Any] = {}
    for payment in (ContractPayment.objects.filter(contract__in=contracts).defer("evidence")
                    .select_related("computed_by").order_by("contract_id", "-number")):
        latest.setdefault(payment.contract_id, payment)
    return [ContractSummary(contract, latest.get(contract.pk)) for contract in contracts]


def outcome_contract(*, actor: Any, name: str) -> ContractDetail | None:
    """For managers and administrators: the contract called ``name`` and its payments, newest first (``None``:
    no such contract). Aggregates only, nothing is written."""
    from .models import OutcomeContract

    _require_overview(actor)
    contract = OutcomeContract.objects.filter(name=name).first()
    if contract is None:
        return None
    return ContractDetail(contract, list(contract.payments.select_related("computed_by").order_by("-number")))
