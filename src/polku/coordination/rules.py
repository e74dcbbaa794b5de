"""The coordination rules: each a named, documented, configurable, set-based check over the whole client base.

A rule is a function from a :class:`Context` (the as-of day and the rule's thresholds) to one queryset whose
rows are the gaps it finds, with the columns of :data:`CANDIDATE_COLUMNS`. The sweep (``services.sweep``)
runs every enabled rule's query as ``INSERT INTO … SELECT`` into the working table, so no client's row ever
passes through Python. docs/coordination.md describes every rule in words; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Count,
    DateField,
    Exists,
    F,
    Field,
    Func,
    IntegerField,
    Lookup,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.related import ForeignObject
from django.db.models.functions import Cast, Coalesce, Greatest, TruncDate
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from polku.assessments.models import Assessment, AssessmentAnswer, Instrument
from polku.clients.models import (
    Benefit,
    BenefitPeriod,
    Client,
    ClientContact,
    Consent,
    EmploymentStatus,
    EmploymentStatusPeriod,
    ResidenceChange,
)
from polku.core.choices import DataCategory
from polku.core.dates import add_months
from polku.core.errors import InvalidInput
from polku.episodes.models import OPEN_STATUSES as OPEN_EPISODE
from polku.episodes.models import EpisodeParticipant, JointServiceEpisode
from polku.organisations.models import Organisation, OrganisationKind, ServiceArea
from polku.plans.models import Plan, PlanReview, ReviewTrigger, Step, StepStatus
from polku.referrals.models import OPEN_STATUSES as OPEN_REFERRAL
from polku.referrals.models import Referral, ReferralStatus

#: The columns every rule's query yields, in the working table's order (``AlertCandidate``).
CANDIDATE_COLUMNS = (
    "rule",
    "client_id",
    "episode_id",
    "object_type",
    "object_id",
    "since",
    "due_on",
    "severity",
    "responsible_organisation_id",
    "responsible_person_id",
    "counterpart_organisation_id",
    "service_id",
    "category",
)


@Field.register_lookup
class AnyOf(Lookup):
    """``column = ANY('{1,2,...}'::bigint[])`` (``field__any_of=[1, 2, ...]``; PostgreSQL only, the incremental
    sweep's scope). The ids are written into the statement as one constant array, never as a parameter: the
    planner then knows how many there are, looks them up by index where that pays, and otherwise tests rows
    against a hash of the array (a parameter array is searched from end to end for every row). They are
    whole numbers by construction (``int``), so nothing from outside reaches the SQL."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return [int(i) for i in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY({array_literal(self.rhs)})", list(lhs_params)


def array_literal(ids: Any) -> str:
    """A constant array of whole numbers for SQL text (see :class:`AnyOf`)."""
    return "'{" + ",".join(str(int(i)) for i in ids) + "}'::bigint[]"


ForeignObject.register_lookup(AnyOf)


@dataclass(frozen=True)
class Context:
    """What a rule's query needs: the as-of day, the rule's effective thresholds and severity."""

    as_of: dt.date
    params: Mapping[str, int]
    severity: int
    #: Incremental sweep: the clients it evaluates (None: everybody).
    scope: tuple[int, ...] | None = None

    def day_start(self, day: dt.date) -> dt.datetime:
        """The first moment of ``day`` in Finnish time (timestamps are compared against these)."""
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())

    def days_ago(self, days: int) -> dt.date:
        return self.as_of - dt.timedelta(days=days)

    def on_or_before(self, days: int) -> dt.datetime:
        """Timestamps whose local date is on or before ``as_of - days`` are below this."""
        return self.day_start(self.days_ago(days) + dt.timedelta(days=1))


@dataclass(frozen=True)
class Rule:
    code: str
    group: str  # screening | deadline | gap
    title: Promise
    description: Promise
    action: str
    object_type: str
    category: str  # the data category the alert's details belong to (refined per row for some rules)
    severity: int
    query: Callable[[Context], QuerySet[Any]]
    params: Mapping[str, int] = field(default_factory=dict)


class AddDays(Func):
    """``date + n`` days, as a date, on PostgreSQL and SQLite alike."""

    output_field = DateField()

    def __init__(self, expression: Any, days: int) -> None:
        super().__init__(expression)
        self.days = int(days)

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        if connection.vendor == "sqlite":
            extra["template"] = f"date(%(expressions)s, '{self.days:+d} days')"
        else:
            extra["template"] = f"(%(expressions)s + {self.days})"
        return super().as_sql(compiler, connection, **extra)


def _const(value: Any, output: Any = None) -> Value:
    return Value(value, output_field=output) if output is not None else Value(value)


def _open_episode_of(client_ref: str = "client_id") -> Subquery:
    return Subquery(
        JointServiceEpisode.objects.filter(client_id=OuterRef(client_ref), status__in=OPEN_EPISODE).values("pk")[:1]
    )


def _employed_on(day: dt.date, client_ref: str = "client_id") -> Exists:
    return Exists(
        EmploymentStatusPeriod.objects.filter(
            client_id=OuterRef(client_ref), status=EmploymentStatus.EMPLOYED_OPEN_MARKET, start_date__lte=day
        ).filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
    )


def _has_plan(episode_ref: str = "pk") -> Exists:
    return Exists(Plan.objects.filter(episode_id=OuterRef(episode_ref), current_version__gte=1))


def _rows(
    qs: QuerySet[Any], ctx: Context, rule: str, object_type: str, *, client: Any, episode: Any, object_id: Any,
    since: Any, due_on: Any, category: Any = None, counterpart: Any = None, service: Any = None,
    responsible_organisation: Any = None,
) -> QuerySet[Any]:
    """Shape a rule's queryset into the candidate columns (all as aliased annotations, in order)."""
    null_int = Cast(Value(None), output_field=BigIntegerField())
    columns = {
        "c_rule": _const(rule),
        "c_client_id": client,
        "c_episode_id": episode if episode is not None else null_int,
        "c_object_type": _const(object_type),
        "c_object_id": object_id,
        "c_since": since,
        "c_due_on": due_on,
        "c_severity": _const(ctx.severity, IntegerField()),
        "c_responsible_organisation_id": responsible_organisation if responsible_organisation is not None
        else null_int,
        "c_responsible_person_id": null_int,
        "c_counterpart_organisation_id": counterpart if counterpart is not None else null_int,
        "c_service_id": service if service is not None else null_int,
        "c_category": category if category is not None else _const(DataCategory.BASIC),
    }
    if ctx.scope is not None:
        qs = qs.alias(c_scope_client=client).filter(c_scope_client__any_of=ctx.scope)
    return qs.order_by().values(**columns)


# -- Screening ----------------------------------------------------------------------------------------------


def screening_due(ctx: Context) -> QuerySet[Any]:
    """Clients unemployed today, not in (or recently in) the joint service, who meet any screening criterion.

    Shaped for a base of a million: cheap set filters first (the municipality has employment services, an
    unemployed period today, no recent episode), then the criteria as index look-ups per remaining client in
    the order of cost (a criterion met skips the rest), so the big assessment tables are never scanned whole."""
    p = ctx.params
    day = ctx.as_of
    unemployed_now = EmploymentStatusPeriod.objects.filter(
        client_id=OuterRef("pk"), status=EmploymentStatus.UNEMPLOYED, start_date__lte=day
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
    in_or_recently_in = JointServiceEpisode.objects.filter(client_id=OuterRef("pk")).filter(
        Q(status__in=OPEN_EPISODE) | Q(end_date__gt=ctx.days_ago(p["reassess_after_days"]))
    )
    age_25 = _years_before(day, 25)
    subsidy = (
        _scoped(BenefitPeriod.objects.filter(benefit=Benefit.LABOUR_MARKET_SUBSIDY, start_date__lte=day), ctx)
        .order_by()
        .values("client_id")
        .annotate(total=Sum("paid_days"))
        .filter(total__gte=p["subsidy_days"])
        .values("client_id")
    )
    oldest = ctx.days_ago(p["assessment_max_age_days"])
    instruments: dict[str, int] = dict(
        Instrument.objects.filter(code__in=["work-ability-score", "life-situation"]).values_list("code", "pk")
    )

    def latest(code: str, column: str) -> Subquery:
        """A column of the client's latest assessment with the instrument (as of the day); none (the criterion
        cannot be met) where the region has no such instrument."""
        return Subquery(
            Assessment.objects.filter(client_id=OuterRef("pk"), instrument_id=instruments.get(code, 0),
                                      assessed_on__lte=day)
            .order_by("-assessed_on", "-pk")
            .values(column)[:1]
        )

    barrier_areas = Subquery(
        AssessmentAnswer.objects.filter(
            assessment_id=OuterRef("latest_life_situation"), value__gte=p["barrier_severity_min"]
        )
        .order_by()
        .values("assessment_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    employment_areas = ServiceArea.objects.filter(
        organisation__kind=OrganisationKind.EMPLOYMENT_SERVICES, organisation__active=True
    )
    qs = (
        _scoped(Client.objects.all(), ctx, "pk")
        .filter(municipality_code__in=employment_areas.values("municipality_code"))
        .annotate(unemployed_since=Subquery(unemployed_now.order_by("start_date").values("start_date")[:1]))
        .filter(unemployed_since__isnull=False)
        .exclude(Exists(in_or_recently_in))
        .alias(
            work_ability_on=latest("work-ability-score", "assessed_on"),
            work_ability=latest("work-ability-score", "score"),
            latest_life_situation=latest("life-situation", "pk"),
            life_situation_on=latest("life-situation", "assessed_on"),
            barrier_areas=barrier_areas,
        )
        .filter(
            Q(birth_date__lte=age_25, unemployed_since__lte=add_months(day, -p["unemployed_months_25_plus"]))
            | Q(birth_date__gt=age_25, unemployed_since__lte=add_months(day, -p["unemployed_months_under_25"]))
            | Q(pk__in=subsidy)
            | Q(work_ability_on__gte=oldest, work_ability__lte=p["work_ability_max"])
            | Q(life_situation_on__gte=oldest, barrier_areas__gte=p["barrier_areas_min"])
        )
        .annotate(
            responsible=Subquery(
                employment_areas.filter(municipality_code=OuterRef("municipality_code"))
                .order_by("organisation_id")
                .values("organisation_id")[:1]
            )
        )
    )
    return _rows(
        qs, ctx, "screening_due", "client", client=F("pk"), episode=None, object_id=F("pk"),
        since=F("unemployed_since"), due_on=F("unemployed_since"), category=_const(DataCategory.EMPLOYMENT),
        responsible_organisation=F("responsible"),
    )


def _years_before(day: dt.date, years: int) -> dt.date:
    """The birth date on or before which a person is ``years`` old on ``day`` (29 February → 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# -- Deadlines ----------------------------------------------------------------------------------------------


def _scoped(qs: QuerySet[Any], ctx: Context, client_field: str = "client_id") -> QuerySet[Any]:
    """In an incremental sweep, only the rows of the clients in the sweep's scope. Applied to the sets a rule
    builds inside its query too, so the database never builds them for the whole client base."""
    if ctx.scope is None:
        return qs
    return qs.filter(**{f"{client_field}__any_of": ctx.scope})


def _open_episodes(ctx: Context | None = None) -> QuerySet[JointServiceEpisode]:
    qs = JointServiceEpisode.objects.filter(status__in=OPEN_EPISODE)
    return _scoped(qs, ctx) if ctx is not None else qs


def mapping_period_ending(ctx: Context) -> QuerySet[Any]:
    last = ctx.as_of + dt.timedelta(days=ctx.params["days_before"])
    qs = _open_episodes(ctx).exclude(_has_plan()).filter(mapping_period_end__gte=ctx.as_of,
                                                         mapping_period_end__lte=last)
    return _rows(qs, ctx, "mapping_period_ending", "episode", client=F("client_id"), episode=F("pk"),
                 object_id=F("pk"), since=F("mapping_period_end"), due_on=F("mapping_period_end"))


def plan_missing_after_mapping(ctx: Context) -> QuerySet[Any]:
    qs = _open_episodes(ctx).exclude(_has_plan()).filter(mapping_period_end__lt=ctx.as_of)
    return _rows(qs, ctx, "plan_missing_after_mapping", "episode", client=F("client_id"), episode=F("pk"),
                 object_id=F("pk"), since=F("mapping_period_end"), due_on=F("mapping_period_end"))


def _plans_of_open_episodes(ctx: Context) -> QuerySet[Plan]:
    return _scoped(Plan.objects.filter(episode__status__in=OPEN_EPISODE, current_version__gte=1), ctx,
                   "episode__client_id")


def plan_review_due(ctx: Context) -> QuerySet[Any]:
    last = ctx.as_of + dt.timedelta(days=ctx.params["days_before"])
    qs = _plans_of_open_episodes(ctx).filter(next_review_due__gte=ctx.as_of, next_review_due__lte=last)
    return _rows(qs, ctx, "plan_review_due", "plan", client=F("episode__client_id"), episode=F("episode_id"),
                 object_id=F("pk"), since=F("next_review_due"), due_on=F("next_review_due"))


def plan_review_overdue(ctx: Context) -> QuerySet[Any]:
    qs = _plans_of_open_episodes(ctx).filter(next_review_due__lt=ctx.as_of)
    return _rows(qs, ctx, "plan_review_overdue", "plan", client=F("episode__client_id"), episode=F("episode_id"),
                 object_id=F("pk"), since=F("next_review_due"), due_on=F("next_review_due"))


def review_requested(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    qs = PlanReview.objects.filter(
        trigger=ReviewTrigger.CLIENT_REQUEST, held_on__isnull=True, plan__episode__status__in=OPEN_EPISODE,
        requested_at__lt=ctx.on_or_before(days),
    ).annotate(requested_on=TruncDate("requested_at"))
    return _rows(qs, ctx, "review_requested", "review", client=F("plan__episode__client_id"),
                 episode=F("plan__episode_id"), object_id=F("pk"), since=F("requested_on"),
                 due_on=AddDays(F("requested_on"), days))


# -- Gaps in the service chain ------------------------------------------------------------------------------


def _referral_columns(qs: QuerySet[Any], ctx: Context, rule: str, since: str, days: int, **extra: Any) -> Any:
    return _rows(
        qs.annotate(since_day=TruncDate(since)), ctx, rule, "referral", client=F("client_id"),
        episode=extra.pop("episode", Coalesce(_open_episode_of(), F("episode_id"))), object_id=F("pk"),
        since=F("since_day"),
        due_on=AddDays(F("since_day"), days), category=F("service__data_category"),
        counterpart=F("receiving_organisation_id"), service=F("service_id"), **extra,
    )


def referral_unanswered(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    qs = Referral.objects.filter(
        status__in=[ReferralStatus.SENT, ReferralStatus.RECEIVED], sent_at__lt=ctx.on_or_before(days)
    )
    return _referral_columns(qs, ctx, "referral_unanswered", "sent_at", days)


def referral_waitlisted(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    qs = Referral.objects.filter(status=ReferralStatus.WAITLISTED, decided_at__lt=ctx.on_or_before(days))
    return _referral_columns(qs, ctx, "referral_waitlisted", "decided_at", days)


def _latest_referrals(ctx: Context, *, many: bool) -> QuerySet[Referral]:
    """Each client's latest sent referral, for clients with an open episode who are not employed.

    Two shapes of the same set, for speed at a million clients: where the rule's statuses are common
    (``many``: most referrals end completed or interrupted) the latest referral is looked up once per open
    episode; where they are rare (declined) the few referrals with the status are checked for a newer one."""
    if many:
        latest = Subquery(
            Referral.objects.filter(client_id=OuterRef("client_id"), sent_at__isnull=False)
            .order_by("-sent_at", "-pk")
            .values("pk")[:1]
        )
        qs = Referral.objects.filter(pk__in=_open_episodes(ctx).annotate(latest=latest).values("latest"))
    else:
        newer = Referral.objects.filter(client_id=OuterRef("client_id"), sent_at__isnull=False).filter(
            Q(sent_at__gt=OuterRef("sent_at")) | Q(sent_at=OuterRef("sent_at"), pk__gt=OuterRef("pk"))
        )
        qs = _scoped(Referral.objects.filter(sent_at__isnull=False), ctx).exclude(Exists(newer))
    return (
        qs.annotate(open_episode=_open_episode_of())
        .filter(open_episode__isnull=False)
        .exclude(_employed_on(ctx.as_of))
    )


def service_ended_no_next_step(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    qs = _latest_referrals(ctx, many=True).filter(
        status__in=[ReferralStatus.COMPLETED, ReferralStatus.INTERRUPTED], ended_at__lt=ctx.on_or_before(days)
    )
    return _referral_columns(qs, ctx, "service_ended_no_next_step", "ended_at", days, episode=F("open_episode"))


def declined_no_alternative(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    qs = _latest_referrals(ctx, many=False).filter(
        status=ReferralStatus.DECLINED, decided_at__lt=ctx.on_or_before(days)
    )
    return _referral_columns(qs, ctx, "declined_no_alternative", "decided_at", days, episode=F("open_episode"))


_EPOCH = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def no_active_service(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    open_referral = Referral.objects.filter(client_id=OuterRef("client_id"), status__in=OPEN_REFERRAL)
    step_under_way = Step.objects.filter(
        goal__plan_version__plan__episode_id=OuterRef("pk"),
        goal__plan_version__number=F("goal__plan_version__plan__current_version"),
        status=StepStatus.IN_PROGRESS,
    )
    last_referral_activity = (
        Referral.objects.filter(client_id=OuterRef("client_id"))
        .order_by()
        .values("client_id")
        .annotate(
            last=TruncDate(
                Greatest(
                    Coalesce(Max("sent_at"), Value(_EPOCH)),
                    Coalesce(Max("decided_at"), Value(_EPOCH)),
                    Coalesce(Max("ended_at"), Value(_EPOCH)),
                )
            )
        )
        .values("last")
    )
    qs = (
        _open_episodes(ctx)
        .exclude(Exists(open_referral))
        .exclude(Exists(step_under_way))
        .exclude(_employed_on(ctx.as_of))
        .annotate(last_activity=Greatest(F("start_date"), Coalesce(Subquery(last_referral_activity), F("start_date"))))
        .filter(last_activity__lte=ctx.days_ago(days))
    )
    return _rows(qs, ctx, "no_active_service", "episode", client=F("client_id"), episode=F("pk"),
                 object_id=F("pk"), since=F("last_activity"), due_on=AddDays(F("last_activity"), days))


def plan_step_overdue(ctx: Context) -> QuerySet[Any]:
    grace = ctx.params["grace_days"]
    qs = Step.objects.filter(
        status__in=[StepStatus.PLANNED, StepStatus.IN_PROGRESS],
        due_date__lt=ctx.days_ago(grace),
        goal__plan_version__number=F("goal__plan_version__plan__current_version"),
        goal__plan_version__plan__episode__status__in=OPEN_EPISODE,
    )
    return _rows(qs, ctx, "plan_step_overdue", "step", client=F("goal__plan_version__plan__episode__client_id"),
                 episode=F("goal__plan_version__plan__episode_id"), object_id=F("pk"), since=F("due_date"),
                 due_on=AddDays(F("due_date"), grace + 1))


def client_not_contacted(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    last_contact = Subquery(
        ClientContact.objects.filter(client_id=OuterRef("client_id"), at__lt=ctx.on_or_before(0))
        .order_by("-at")
        .annotate(day=TruncDate("at"))
        .values("day")[:1]
    )
    qs = (
        _open_episodes(ctx)
        .annotate(last_contact=Greatest(F("start_date"), Coalesce(last_contact, F("start_date"))))
        .filter(last_contact__lte=ctx.days_ago(days))
    )
    return _rows(qs, ctx, "client_not_contacted", "episode", client=F("client_id"), episode=F("pk"),
                 object_id=F("pk"), since=F("last_contact"), due_on=AddDays(F("last_contact"), days))


def consent_lapsing(ctx: Context) -> QuerySet[Any]:
    days = ctx.params["days"]
    tomorrow = ctx.day_start(ctx.as_of + dt.timedelta(days=1))
    continues = Consent.objects.filter(
        client_id=OuterRef("client_id"), organisation_id=OuterRef("organisation_id"), category=OuterRef("category"),
        revoked_at__isnull=True, valid_from__lte=OuterRef("valid_to"),
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=OuterRef("valid_to")))
    qs = (
        Consent.objects.filter(
            revoked_at__isnull=True, valid_from__lt=tomorrow, valid_to__gte=tomorrow,
            valid_to__lt=ctx.day_start(ctx.as_of + dt.timedelta(days=days + 1)),
        )
        .exclude(Exists(continues))
        .annotate(open_episode=_open_episode_of(), ends_on=TruncDate("valid_to"))
        .filter(open_episode__isnull=False)
    )
    return _rows(qs, ctx, "consent_lapsing", "consent", client=F("client_id"), episode=F("open_episode"),
                 object_id=F("pk"), since=F("ends_on"), due_on=F("ends_on"), category=F("category"),
                 counterpart=F("organisation_id"))


def moved_without_handover(ctx: Context) -> QuerySet[Any]:
    """Open episodes with an employment services participant none of whose service areas covers the client's
    municipality today; since the later of the episode's start and the client's last move."""
    days = ctx.params["days"]
    employment_with_area = Organisation.objects.filter(
        kind=OrganisationKind.EMPLOYMENT_SERVICES, service_area__isnull=False
    ).values("pk")
    with_employment = _scoped(EpisodeParticipant.objects.filter(
        left_on__isnull=True, organisation_id__in=employment_with_area
    ), ctx, "episode__client_id").values("episode_id")
    covering = ServiceArea.objects.filter(
        municipality_code=OuterRef(OuterRef("client__municipality_code")),
        organisation__kind=OrganisationKind.EMPLOYMENT_SERVICES,
    ).values("organisation_id")
    covered = EpisodeParticipant.objects.filter(
        episode_id=OuterRef("pk"), left_on__isnull=True, organisation_id__in=covering
    )
    last_move = Subquery(
        ResidenceChange.objects.filter(client_id=OuterRef("client_id"), moved_on__lte=ctx.as_of)
        .order_by("-moved_on", "-pk")
        .values("moved_on")[:1]
    )
    qs = (
        _open_episodes(ctx)
        .filter(pk__in=with_employment)
        .exclude(Exists(covered))
        .annotate(moved_on=Greatest(F("start_date"), Coalesce(last_move, F("start_date"))))
        .filter(moved_on__lte=ctx.days_ago(days))
    )
    return _rows(qs, ctx, "moved_without_handover", "episode", client=F("client_id"), episode=F("pk"),
                 object_id=F("pk"), since=F("moved_on"), due_on=AddDays(F("moved_on"), days))


# -- The registry -------------------------------------------------------------------------------------------

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "screening_due", "screening", _("Should be referred to the joint service"),
            _("Long unemployed or with signs of a need for coordinated services, but not in the joint service."),
            "refer_to_joint_service", "client", DataCategory.EMPLOYMENT, 2, screening_due,
            {"subsidy_days": 300, "unemployed_months_25_plus": 12, "unemployed_months_under_25": 6,
             "work_ability_max": 5, "barrier_areas_min": 3, "barrier_severity_min": 2,
             "assessment_max_age_days": 365, "reassess_after_days": 365},
        ),
        Rule(
            "mapping_period_ending", "deadline", _("Mapping period ending without a plan"),
            _("The mapping period ends soon and the multi-sector employment plan has not been made."),
            "open_plan", "episode", DataCategory.BASIC, 2, mapping_period_ending, {"days_before": 14},
        ),
        Rule(
            "plan_missing_after_mapping", "deadline", _("No plan after the mapping period"),
            _("The mapping period has ended and there is still no multi-sector employment plan."),
            "open_plan", "episode", DataCategory.BASIC, 3, plan_missing_after_mapping,
        ),
        Rule(
            "plan_review_due", "deadline", _("Plan review coming due"),
            _("The plan's follow-up review is due soon."),
            "review_plan", "plan", DataCategory.BASIC, 1, plan_review_due, {"days_before": 30},
        ),
        Rule(
            "plan_review_overdue", "deadline", _("Plan review overdue"),
            _("The plan has not been reviewed by its due date."),
            "review_plan", "plan", DataCategory.BASIC, 3, plan_review_overdue,
        ),
        Rule(
            "review_requested", "deadline", _("The client asked for a plan review"),
            _("The client asked for the plan to be reviewed and the review has not been held."),
            "review_plan", "review", DataCategory.BASIC, 3, review_requested, {"days": 14},
        ),
        Rule(
            "referral_unanswered", "gap", _("Referral not answered"),
            _("A referral has had no answer (accepted, waitlisted or declined)."),
            "chase_referral", "referral", DataCategory.BASIC, 2, referral_unanswered, {"days": 14},
        ),
        Rule(
            "referral_waitlisted", "gap", _("Long on a waiting list"),
            _("The client has waited a long time on a service's waiting list."),
            "chase_referral", "referral", DataCategory.BASIC, 2, referral_waitlisted, {"days": 30},
        ),
        Rule(
            "service_ended_no_next_step", "gap", _("Service ended, no next step"),
            _("A service ended or was interrupted and nothing has followed it."),
            "pick_next_service", "referral", DataCategory.BASIC, 3, service_ended_no_next_step, {"days": 30},
        ),
        Rule(
            "declined_no_alternative", "gap", _("Referral declined, no alternative"),
            _("A referral was declined and no other service has been found."),
            "pick_next_service", "referral", DataCategory.BASIC, 3, declined_no_alternative, {"days": 14},
        ),
        Rule(
            "no_active_service", "gap", _("No service under way"),
            _("Nothing is under way for the client: no service, no pending referral, no step in progress."),
            "pick_next_service", "episode", DataCategory.BASIC, 2, no_active_service, {"days": 30},
        ),
        Rule(
            "plan_step_overdue", "gap", _("Plan step past its due date"),
            _("A step of the plan is past its due date and not done."),
            "open_plan", "step", DataCategory.BASIC, 1, plan_step_overdue, {"grace_days": 0},
        ),
        Rule(
            "client_not_contacted", "gap", _("No contact with the client"),
            _("Nobody has been in contact with the client for a long time."),
            "contact_client", "episode", DataCategory.BASIC, 2, client_not_contacted, {"days": 60},
        ),
        Rule(
            "consent_lapsing", "gap", _("Consent about to lapse"),
            _("A consent ends soon; without it the joint work with that organisation stops."),
            "renew_consent", "consent", DataCategory.BASIC, 2, consent_lapsing, {"days": 30},
        ),
        Rule(
            "moved_without_handover", "gap", _("Moved away without a hand-over"),
            _("The client moved outside the area of the employment services taking part, and nobody took over."),
            "hand_over", "episode", DataCategory.BASIC, 3, moved_without_handover, {"days": 14},
        ),
    )
}

ACTIONS: dict[str, Promise] = {
    "refer_to_joint_service": _("Refer to the joint service"),
    "open_plan": _("Open the plan"),
    "review_plan": _("Review the plan"),
    "chase_referral": _("Chase the referral"),
    "pick_next_service": _("Pick the next service"),
    "contact_client": _("Contact the client"),
    "renew_consent": _("Renew the consent"),
    "hand_over": _("Hand over"),
}

GROUPS: dict[str, Promise] = {
    "screening": _("Screening"),
    "deadline": _("Deadlines"),
    "gap": _("Gaps in the service chain"),
}


# -- Settings -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectiveRule:
    rule: Rule
    enabled: bool
    params: Mapping[str, int]
    severity: int

    def context(self, as_of: dt.date, *, scope: tuple[int, ...] | None = None) -> Context:
        return Context(as_of=as_of, params=self.params, severity=self.severity, scope=scope)


def validate_rule_settings(code: str, params: Mapping[str, Any], severity: Any = None) -> dict[str, int]:
    """Check one rule's thresholds; return them as whole numbers or raise :class:`InvalidInput`, naming each
    problem in the user's language."""
    rule = RULES.get(code)
    if rule is None:
        raise InvalidInput(
            _("Unknown rule “%(rule)s”. The rules are: %(rules)s.") % {"rule": code, "rules": ", ".join(RULES)},
            errors={"rule": [str(_("Unknown rule."))]},
        )
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    if not isinstance(params, Mapping):
        raise InvalidInput(_("The thresholds must be given as names and whole numbers."),
                           errors={"params": [str(_("Not a set of thresholds."))]})
    for key, value in params.items():
        if key not in rule.params:
            known = ", ".join(rule.params) or _("none")
            errors.setdefault(str(key), []).append(
                str(_("Rule %(rule)s has no threshold “%(key)s” (it has: %(known)s)."))
                % {"rule": code, "key": key, "known": known}
            )
            continue
        number = _whole_number(value)
        if number is None:
            errors.setdefault(key, []).append(
                str(_("%(key)s must be a whole number, not “%(value)s”.")) % {"key": key, "value": value}
            )
        elif number < 0:
            errors.setdefault(key, []).append(
                str(_("%(key)s cannot be negative (got %(value)s).")) % {"key": key, "value": number}
            )
        elif number > 100_000:
            errors.setdefault(key, []).append(
                str(_("%(key)s is too large (at most 100000).")) % {"key": key}
            )
        else:
            clean[key] = number
    if severity is not None and _whole_number(severity) not in (1, 2, 3):
        errors.setdefault("severity", []).append(str(_("Severity is 1 (low), 2 (medium) or 3 (high).")))
    if errors:
        raise InvalidInput(_("The rule settings were not saved: %(problems)s")
                           % {"problems": "; ".join(str(m) for ms in errors.values() for m in ms)}, errors=errors)
    return clean


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def effective_rules() -> list[EffectiveRule]:
    """Every rule with this region's settings: the code's defaults, then ``POLKU["RULES"]`` in settings, then
    the rule settings saved in the database (admin or ``polku rules set``)."""
    from .models import RuleSetting

    from_settings: Any = settings.POLKU.get("RULES", {})
    if not isinstance(from_settings, Mapping):  # reported by the start-up check (polku.E001)
        from_settings = {}
    saved = {s.rule: s for s in RuleSetting.objects.all()}
    out = []
    for code, rule in RULES.items():
        params = dict(rule.params)
        configured = dict(from_settings.get(code, {}))
        enabled = bool(configured.pop("enabled", True))
        severity = int(configured.pop("severity", rule.severity))
        params.update(validate_rule_settings(code, configured))
        row = saved.get(code)
        if row is not None:
            enabled = row.enabled
            severity = row.severity or severity
            params.update({k: int(v) for k, v in row.params.items() if k in rule.params})
        out.append(EffectiveRule(rule, enabled, params, severity))
    return out
