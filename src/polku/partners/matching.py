"""Matching clients to openings (docs/partners.md, "Matching").

**Hard constraints** — an opening is never suggested when any of these fails:

1. it is open, has a place left and starts within :data:`START_WITHIN_DAYS` days;
2. its working language is one the client works in (or it accepts any language);
3. its hours a week are within the client's range;
4. its municipality is within the client's longest commute (great-circle distance between municipality centres,
   data/municipalities.csv; with either centre unknown, only the client's own municipality qualifies) — unless
   the opening offers remote work and the client needs it;
5. its physical and cognitive demands are within what the client can take: the latest work-ability score (0–10)
   limits physical demands (0–3 → light, 4–6 → moderate, 7–10 → any), the life-situation mapping's mental-health
   severity limits cognitive demands (3 → light, 2 → moderate); with no assessment, no limit is assumed;
6. the employer can make every accommodation the client needs;
7. it is of a kind the client wants (when the client has said).

The same rules are written twice: as one SQL filter (:func:`feasible_openings`, used for the ranking, fast on
50,000 openings) and as a plain function (:func:`violations`, used to explain and in the tests, which check that
the two agree on random clients and openings).

**Ranking** of the feasible openings (a score 0–1, decision support: the coordinator and the client decide):
0.45 × the share of the opening's required skills the client has, 0.20 × closeness (1 − distance / longest
commute), 0.10 × how well the hours fit the client's range, 0.15 × the kind of job (supported jobs first for a
work-ability score of 5 or less, open-market first above it), 0.10 × the margin between the demands and what the
client can take. Each suggestion comes with its reasons and what is missing (skills a training step could give).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Accommodation, Opening, OpeningKind, OpeningStatus

DATA = Path(__file__).parent / "data"
START_WITHIN_DAYS = 120
WEIGHTS = {"skills": 0.45, "commute": 0.20, "hours": 0.10, "kind": 0.15, "margin": 0.10}
WORK_ABILITY_INSTRUMENT = "work-ability-score"
LIFE_SITUATION_INSTRUMENT = "life-situation"
MENTAL_HEALTH_ITEM = "mental_health"
ANY_LANGUAGE = "any"


@cache
def municipality_centres() -> dict[str, tuple[float, float]]:
    """Municipality code → (latitude, longitude) of its centre (data/municipalities.csv)."""
    path = DATA / "municipalities.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: (float(row["latitude"]), float(row["longitude"])) for row in csv.DictReader(handle)
                if row.get("latitude") and row.get("longitude")}


def distance_km(a: str, b: str) -> float | None:
    """Great-circle distance between two municipalities' centres; 0 for the same one; None when unknown."""
    if a == b:
        return 0.0
    centres = municipality_centres()
    if a not in centres or b not in centres:
        return None
    (lat1, lon1), (lat2, lon2) = centres[a], centres[b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def reachable(origin: str, max_km: float) -> dict[str, float]:
    """Municipalities within ``max_km`` of ``origin`` (itself always) with their distances."""
    out = {origin: 0.0}
    for code in municipality_centres():
        d = distance_km(origin, code)
        if d is not None and d <= max_km:
            out[code] = d
    return out


def physical_limit(work_ability: float | None) -> int:
    if work_ability is None:
        return 3
    return 1 if work_ability <= 3 else 2 if work_ability <= 6 else 3


def cognitive_limit(mental_health: int | None) -> int:
    if mental_health is None:
        return 3
    return 1 if mental_health >= 3 else 2 if mental_health == 2 else 3


@dataclass(frozen=True)
class ClientProfile:
    """What matching knows of a client: where they live, their wishes and needs, and their limits."""

    client_id: int
    municipality: str
    hours_min: int = 0
    hours_max: int = 40
    max_commute_km: int = 30
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("fi",)
    accommodations_needed: int = 0
    skills: frozenset[int] = frozenset()
    work_ability: float | None = None
    mental_health: int | None = None

    @property
    def max_physical(self) -> int:
        return physical_limit(self.work_ability)

    @property
    def max_cognitive(self) -> int:
        return cognitive_limit(self.mental_health)


@dataclass(frozen=True)
class OpeningFacts:
    """The attributes of an opening that the constraints look at (so the plain function needs no database)."""

    id: int
    status: str
    places: int
    places_taken: int
    start_date: dt.date
    language: str
    hours_per_week: int
    municipality_code: str
    physical_demand: int
    cognitive_demand: int
    accommodations: int
    kind: str
    skills: frozenset[int] = frozenset()
    created_at: dt.datetime | None = None

    @classmethod
    def of(cls, opening: Opening, skills: Iterable[int] | None = None) -> OpeningFacts:
        return cls(opening.pk, opening.status, opening.places, opening.places_taken, opening.start_date,
                   opening.language, opening.hours_per_week, opening.municipality_code, opening.physical_demand,
                   opening.cognitive_demand, opening.accommodations, opening.kind,
                   frozenset(skills if skills is not None else opening.skills.values_list("pk", flat=True)),
                   opening.created_at)


REMOTE = int(Accommodation.REMOTE_WORK)


def violations(profile: ClientProfile, opening: OpeningFacts, today: dt.date) -> list[str]:
    """The hard constraints ``opening`` fails for ``profile`` (codes; empty when it may be suggested)."""
    out = []
    if opening.status != OpeningStatus.OPEN or opening.places_taken >= opening.places:
        out.append("not_open")
    if opening.start_date > today + dt.timedelta(days=START_WITHIN_DAYS):
        out.append("starts_too_late")
    if opening.language != ANY_LANGUAGE and opening.language not in profile.languages:
        out.append("language")
    if not profile.hours_min <= opening.hours_per_week <= profile.hours_max:
        out.append("hours")
    remote = bool(profile.accommodations_needed & REMOTE) and bool(opening.accommodations & REMOTE)
    d = distance_km(profile.municipality, opening.municipality_code)
    if not remote and (d is None or d > profile.max_commute_km):
        out.append("commute")
    if opening.physical_demand > profile.max_physical:
        out.append("physical")
    if opening.cognitive_demand > profile.max_cognitive:
        out.append("cognitive")
    if opening.accommodations & profile.accommodations_needed != profile.accommodations_needed:
        out.append("accommodations")
    if profile.kinds and opening.kind not in profile.kinds:
        out.append("kind")
    return out


def feasible_openings(profile: ClientProfile, today: dt.date | None = None) -> QuerySet[Opening]:
    """Every opening that passes the hard constraints, as one SQL filter (see the module's rules)."""
    day = today or timezone.localdate()
    near = reachable(profile.municipality, profile.max_commute_km)
    place = Q(municipality_code__in=list(near))
    if profile.accommodations_needed & REMOTE:
        place |= Q(remote=REMOTE)
    qs = (Opening.objects.filter(status=OpeningStatus.OPEN, places_taken__lt=F("places"),
                                 start_date__lte=day + dt.timedelta(days=START_WITHIN_DAYS),
                                 hours_per_week__gte=profile.hours_min, hours_per_week__lte=profile.hours_max,
                                 physical_demand__lte=profile.max_physical,
                                 cognitive_demand__lte=profile.max_cognitive)
          .filter(Q(language=ANY_LANGUAGE) | Q(language__in=list(profile.languages)))
          .annotate(needed=F("accommodations").bitand(profile.accommodations_needed),
                    remote=F("accommodations").bitand(REMOTE))
          .filter(needed=profile.accommodations_needed)
          .filter(place))
    if profile.kinds:
        qs = qs.filter(kind__in=list(profile.kinds))
    return qs


@dataclass
class Match:
    """A suggested opening with its score, distance, reasons and what is missing."""

    opening: Opening
    score: float
    distance_km: float | None
    parts: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    missing_skills: list[int] = field(default_factory=list)


def score_parts(profile: ClientProfile, opening: OpeningFacts) -> tuple[dict[str, float], float | None]:
    d = distance_km(profile.municipality, opening.municipality_code)
    required = opening.skills
    skills = len(required & profile.skills) / len(required) if required else 1.0
    commute = 1.0 if d is None else max(0.0, 1.0 - d / max(profile.max_commute_km, 1))
    target = (profile.hours_min + profile.hours_max) / 2
    spread = max(profile.hours_max - profile.hours_min, 10)
    hours = max(0.0, 1.0 - abs(opening.hours_per_week - target) / spread)
    low_ability = profile.work_ability is not None and profile.work_ability <= 5
    order = ([OpeningKind.SUPPORTED, OpeningKind.SUBSIDISED, OpeningKind.OPEN_MARKET] if low_ability
             else [OpeningKind.OPEN_MARKET, OpeningKind.SUBSIDISED, OpeningKind.SUPPORTED])
    kind = 1.0 - 0.2 * order.index(OpeningKind(opening.kind)) if opening.kind in OpeningKind.values else 0.5
    margin = ((profile.max_physical - opening.physical_demand) + (profile.max_cognitive - opening.cognitive_demand)) / 6
    return {"skills": skills, "commute": commute, "hours": hours, "kind": kind, "margin": max(0.0, margin)}, d


def score(parts: dict[str, float]) -> float:
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()), 4)


def _reasons(profile: ClientProfile, facts: OpeningFacts, parts: dict[str, float], d: float | None) -> list[str]:
    out = []
    required = len(facts.skills)
    have = len(facts.skills & profile.skills)
    if not required:
        out.append(_("No particular skills required"))
    elif have == required:
        out.append(_("Has all the skills the job needs"))
    else:
        out.append(ngettext("Has %(have)d of the %(n)d skill the job needs",
                            "Has %(have)d of the %(n)d skills the job needs", required) % {"have": have,
                                                                                            "n": required})
    if d == 0:
        out.append(_("In the client's own municipality"))
    elif d is not None:
        out.append(_("About %(km)d km from home") % {"km": round(d)})
    else:
        out.append(_("Remote work"))
    if parts["hours"] >= 0.8:
        out.append(_("The hours fit the client's wish (%(h)d h a week)") % {"h": facts.hours_per_week})
    if facts.kind == OpeningKind.SUPPORTED:
        out.append(_("A supported job, with help at work and a path to the open market"))
    if profile.accommodations_needed:
        out.append(_("The employer can make the adjustments the client needs"))
    return out


#: How many of the best openings by the database's score are re-scored exactly in Python (a margin over ``limit``
#: for floating-point differences between the two; the score is the same formula).
SHORTLIST = 50


def score_expression(profile: ClientProfile) -> Any:
    """The ranking score (see the module's weights) as one SQL expression over a feasible opening, so that the
    database picks the shortlist without sending every feasible opening to Python."""
    near = reachable(profile.municipality, profile.max_commute_km)
    span = max(profile.max_commute_km, 1)
    commute = Case(*[When(municipality_code=code, then=Value(max(0.0, 1.0 - d / span))) for code, d in near.items()],
                   default=Value(1.0), output_field=FloatField())
    target = (profile.hours_min + profile.hours_max) / 2
    spread = float(max(profile.hours_max - profile.hours_min, 10))
    hours = Greatest(Value(0.0), Value(1.0) - Abs(F("hours_per_week") - Value(target)) / Value(spread),
                     output_field=FloatField())
    low_ability = profile.work_ability is not None and profile.work_ability <= 5
    order = ([OpeningKind.SUPPORTED, OpeningKind.SUBSIDISED, OpeningKind.OPEN_MARKET] if low_ability
             else [OpeningKind.OPEN_MARKET, OpeningKind.SUBSIDISED, OpeningKind.SUPPORTED])
    kind = Case(*[When(kind=k, then=Value(1.0 - 0.2 * i)) for i, k in enumerate(order)], default=Value(0.5),
                output_field=FloatField())
    margin = ExpressionWrapper(
        (Value(profile.max_physical + profile.max_cognitive) - F("physical_demand") - F("cognitive_demand"))
        / Value(6.0), output_field=FloatField())
    skills = Case(When(skill_total=0, then=Value(1.0)),
                  default=ExpressionWrapper(F("skill_have") * Value(1.0) / F("skill_total"), output_field=FloatField()),
                  output_field=FloatField())
    return (Value(WEIGHTS["skills"]) * skills + Value(WEIGHTS["commute"]) * commute
            + Value(WEIGHTS["hours"]) * hours + Value(WEIGHTS["kind"]) * kind + Value(WEIGHTS["margin"]) * margin)


def rank_openings(profile: ClientProfile, *, limit: int = 10, today: dt.date | None = None) -> list[Match]:
    """The ``limit`` best feasible openings for the client, best first (ties: the earlier start, then id).

    The database scores every feasible opening and returns the best :data:`SHORTLIST` (one query); those are
    re-scored exactly here, with their reasons."""
    from .models import Opening as OpeningModel

    day = today or timezone.localdate()
    shortlist = max(SHORTLIST, limit * 3)
    through = OpeningModel.skills.through

    def counted(extra: Q) -> Any:  # a correlated count per opening (index look-ups, no grouping of the whole set)
        rows = (through.objects.filter(Q(opening_id=OuterRef("pk")) & extra).order_by().values("opening_id")
                .annotate(n=Count("skill_id")).values("n"))  # type: ignore[misc]  # stubs miss the annotation
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    have = counted(Q(skill_id__in=list(profile.skills))) if profile.skills else Value(0)
    qs = (feasible_openings(profile, day)
          .annotate(skill_total=counted(Q()), skill_have=have)
          .annotate(fit=score_expression(profile))
          .order_by("-fit", "start_date", "id"))
    rows = list(qs.values_list(
        "id", "status", "places", "places_taken", "start_date", "language", "hours_per_week", "municipality_code",
        "physical_demand", "cognitive_demand", "accommodations", "kind")[:shortlist])
    if not rows:
        return []
    skills: dict[int, set[int]] = {}
    for opening_id, skill_id in through.objects.filter(opening_id__in=[r[0] for r in rows]).values_list(
            "opening_id", "skill_id"):
        skills.setdefault(opening_id, set()).add(skill_id)
    scored = []
    for r in rows:
        facts = OpeningFacts(*r, skills=frozenset(skills.get(r[0], ())))
        parts, d = score_parts(profile, facts)
        scored.append((score(parts), facts, parts, d))
    scored.sort(key=lambda t: (-t[0], t[1].start_date, t[1].id))
    best = scored[:limit]
    openings = OpeningModel.objects.select_related("employer").in_bulk([t[1].id for t in best])
    return [Match(openings[f.id], s, d, parts, _reasons(profile, f, parts, d),
                  sorted(f.skills - profile.skills)) for s, f, parts, d in best]


def naive_baseline(profile: ClientProfile, *, limit: int = 10) -> list[int]:
    """The baseline matching is measured against: open openings in the client's municipality, most recent first."""
    return list(Opening.objects.filter(status=OpeningStatus.OPEN, places_taken__lt=F("places"),
                                       municipality_code=profile.municipality)
                .order_by("-created_at", "-id").values_list("id", flat=True)[:limit])


def profile_of(client: Any) -> ClientProfile:
    """The client's matching profile from their job preferences and latest assessments (not logged here: the
    caller has authorised the read of the client's employment data)."""
    return profiles_of([client])[client.pk]


def profiles_of(clients: Iterable[Any]) -> dict[int, ClientProfile]:
    """Matching profiles of many clients at once: four queries whatever their number (not logged here)."""
    from polku.assessments.models import Assessment, AssessmentAnswer

    from .models import JobPreferences

    by_id = {c.pk: c for c in clients}
    ids = list(by_id)
    prefs = {p.client_id: p for p in JobPreferences.objects.filter(client_id__in=ids)}
    skills: dict[int, set[int]] = {}
    for client_id, skill_id in JobPreferences.skills.through.objects.filter(
            jobpreferences__client_id__in=ids).values_list("jobpreferences__client_id", "skill_id"):
        skills.setdefault(client_id, set()).add(skill_id)
    was: dict[int, float] = {}
    for client_id, score_value in (Assessment.objects.filter(client_id__in=ids, score__isnull=False,
                                                             instrument__code=WORK_ABILITY_INSTRUMENT)
                                   .order_by("client_id", "-assessed_on", "-id").values_list("client_id", "score")):
        if score_value is not None:
            was.setdefault(client_id, float(score_value))
    mental: dict[int, int] = {}
    for client_id, value in (AssessmentAnswer.objects.filter(
            assessment__client_id__in=ids, assessment__instrument__code=LIFE_SITUATION_INSTRUMENT,
            item__code=MENTAL_HEALTH_ITEM)
            .order_by("assessment__client_id", "-assessment__assessed_on", "-assessment_id")
            .values_list("assessment__client_id", "value")):
        mental.setdefault(client_id, int(value))
    out = {}
    for client_id, client in by_id.items():
        base: dict[str, Any] = {
            "client_id": client_id, "municipality": client.municipality_code, "work_ability": was.get(client_id),
            "mental_health": mental.get(client_id),
            "languages": (client.preferred_language,) if client.preferred_language in ("fi", "sv", "en") else (),
        }
        p = prefs.get(client_id)
        if p is None:
            out[client_id] = ClientProfile(**base)
            continue
        base["languages"] = tuple(p.languages) or base["languages"]
        out[client_id] = ClientProfile(**base, hours_min=p.hours_min, hours_max=p.hours_max,
                                       max_commute_km=p.max_commute_km, kinds=tuple(p.kinds),
                                       accommodations_needed=p.accommodations_needed,
                                       skills=frozenset(skills.get(client_id, ())))
    return out
