"""Parameters of the synthetic region: the population's latent segments, barriers, services and their true
effects. Figures and their sources are in docs/synthetic-region.md; values marked *assumption* there are the
generator's own choices.

Everything here is plain data, so the truth the generator knows is inspectable and documented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BARRIERS = (
    "physical_health",
    "mental_health",
    "substance_use",
    "housing",
    "debt",
    "skills_language",
    "caring_duties",
    "motivation",
)
B = {name: index for index, name in enumerate(BARRIERS)}


@dataclass(frozen=True)
class Segment:
    """A latent client segment: who is in it and how their barriers and chances are distributed."""

    code: str
    share: float
    age_mean: float
    age_sd: float
    age_min: int
    age_max: int
    male: float
    education: tuple[float, float, float]  # ISCED 0–2, 3–4, 5–8
    foreign_background: float
    disability: float
    barrier_prob: dict[str, float]
    was_mean: float  # work ability score 0–10
    unemployed_months_median: float
    base_logodds: float  # monthly log-odds of open-market employment before other terms


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        "job_ready",
        0.22,
        44,
        10,
        25,
        64,
        0.58,
        (0.22, 0.53, 0.25),
        0.03,
        0.03,
        {"skills_language": 0.45, "motivation": 0.15, "debt": 0.25},
        7.5,
        16,
        -3.0,
    ),
    Segment(
        "partial_work_ability",
        0.22,
        53,
        7,
        30,
        64,
        0.56,
        (0.35, 0.55, 0.10),
        0.03,
        0.20,
        {"physical_health": 0.85, "mental_health": 0.30, "motivation": 0.20, "debt": 0.25, "skills_language": 0.45},
        4.5,
        30,
        -4.0,
    ),
    Segment(
        "mental_health_substance",
        0.15,
        41,
        10,
        20,
        64,
        0.66,
        (0.42, 0.50, 0.08),
        0.03,
        0.08,
        {
            "mental_health": 0.85,
            "substance_use": 0.55,
            "housing": 0.12,
            "debt": 0.55,
            "motivation": 0.45,
            "physical_health": 0.30,
            "skills_language": 0.35,
        },
        4.5,
        34,
        -4.4,
    ),
    Segment(
        "young_adrift",
        0.08,
        25,
        3.2,
        18,
        29,
        0.62,
        (0.65, 0.33, 0.02),
        0.05,
        0.05,
        {"motivation": 0.55, "skills_language": 0.60, "mental_health": 0.40, "housing": 0.10, "debt": 0.25},
        6.5,
        14,
        -3.2,
    ),
    Segment(
        "migrant_language",
        0.07,
        40,
        9,
        20,
        64,
        0.50,
        (0.35, 0.35, 0.30),
        0.97,
        0.03,
        {"skills_language": 0.90, "caring_duties": 0.40, "housing": 0.06, "debt": 0.15},
        7.0,
        20,
        -3.5,
    ),
    Segment(
        "older_job_seeker",
        0.26,
        59.5,
        2.5,
        55,
        64,
        0.57,
        (0.30, 0.52, 0.18),
        0.03,
        0.06,
        {"physical_health": 0.35, "skills_language": 0.50, "motivation": 0.25, "debt": 0.20},
        6.0,
        36,
        -4.2,
    ),
)

SEGMENT_CODES = tuple(s.code for s in SEGMENTS)

#: Swedish speakers among those without a foreign background. Central Finland's real share is about 0.2 %; the
#: region uses 2 % on purpose, so that Swedish-speaking clients (and the Swedish UI) are exercised.
SWEDISH_SPEAKERS = 0.02

#: Coefficients of the monthly employment log-odds (the truth's outcome model).
OUTCOME = {
    "barrier_severity": -0.12,  # per point of total barrier severity (0–24)
    "work_ability": 0.12,  # per point of WAS above 5
    "age_over_50": -0.04,  # per year over 50
    "log_unemployment_years": -0.30,
    "isced_5_8": 0.30,
    "isced_0_2": -0.20,
    "hidden": 0.70,  # × hidden confounding strength × u
}
#: Monthly probability that an open-market job ends.
JOB_LOSS = 0.015


@dataclass(frozen=True)
class ServiceType:
    """A kind of service with its true effect on the monthly employment log-odds.

    ``effect_during`` applies while the service runs, ``effect_after`` for ``after_months`` after it ends. The
    ``*_if`` dicts add to the effect when a barrier is present (heterogeneity); ``segment_effect`` adds by
    segment. ``need`` and ``segment_need`` drive who is referred (assignment by need); ``hidden_need``
    multiplies the hidden confounder.
    """

    code: str
    service_class: str
    provider_kind: str
    data_category: str
    names: tuple[str, str, str]
    duration_months: int
    unit_cost: int
    cost_unit: str
    capacity_per_1000: int
    mean_wait_days: int
    status_during: str  # employment status while the service runs
    effect_during: float
    effect_after: float
    after_months: int = 12
    effect_if: dict[str, float] = field(default_factory=dict)
    segment_effect: dict[str, float] = field(default_factory=dict)
    base_need: float = -2.0
    need: dict[str, float] = field(default_factory=dict)
    segment_need: dict[str, float] = field(default_factory=dict)
    hidden_need: float = 0.0


SERVICE_TYPES: tuple[ServiceType, ...] = (
    ServiceType(
        "wage_subsidy",
        "wage_subsidy",
        "social_enterprise",
        "employment",
        ("Palkkatukityö", "Lönesubventionerat arbete", "Wage-subsidised work"),
        8,
        1400,
        "month",
        25,
        35,
        "subsidised_work",
        -0.4,
        0.9,
        12,
        {"mental_health": -0.5, "substance_use": -0.6},
        {"job_ready": 0.4, "migrant_language": 0.2},
        -2.2,
        {"physical_health": -0.4, "mental_health": -0.6, "substance_use": -0.8, "motivation": -0.5},
        {"job_ready": 1.0, "migrant_language": 0.3},
        0.8,
    ),
    ServiceType(
        "labour_training",
        "training",
        "education_provider",
        "employment",
        ("Työvoimakoulutus", "Arbetskraftsutbildning", "Labour market training"),
        5,
        75,
        "day",
        30,
        45,
        "education",
        -0.6,
        0.5,
        12,
        {"skills_language": 0.5},
        {"young_adrift": 0.3, "older_job_seeker": -0.4},
        -2.3,
        {"skills_language": 0.8, "substance_use": -0.7},
        {"migrant_language": 0.8, "young_adrift": 0.5, "job_ready": 0.2},
        0.6,
    ),
    ServiceType(
        "work_trial",
        "work_trial",
        "rehabilitation_provider",
        "rehabilitation",
        ("Työkokeilu", "Arbetsprövning", "Work trial"),
        4,
        60,
        "day",
        25,
        30,
        "rehabilitation",
        0.0,
        0.3,
        9,
        {},
        {},
        -2.4,
        {"motivation": 0.3, "physical_health": 0.2},
        {"young_adrift": 0.4, "partial_work_ability": 0.3},
        0.2,
    ),
    ServiceType(
        "vocational_rehabilitation",
        "vocational_rehabilitation",
        "rehabilitation_provider",
        "rehabilitation",
        ("Ammatillinen kuntoutus", "Yrkesinriktad rehabilitering", "Vocational rehabilitation"),
        6,
        110,
        "day",
        15,
        60,
        "rehabilitation",
        -0.3,
        0.2,
        12,
        {"physical_health": 0.7},
        {"partial_work_ability": 0.2},
        -2.6,
        {"physical_health": 1.2, "mental_health": 0.4},
        {"partial_work_ability": 1.0},
        0.0,
    ),
    ServiceType(
        "rehabilitative_work",
        "rehabilitative_work",
        "ngo",
        "rehabilitation",
        ("Kuntouttava työtoiminta", "Arbetsverksamhet i rehabiliteringssyfte", "Rehabilitative work activity"),
        8,
        50,
        "day",
        45,
        20,
        "unemployed",
        -1.0,
        0.05,
        6,
        {},
        {},
        -2.0,
        {"motivation": 0.8, "mental_health": 0.6, "substance_use": 0.6, "housing": 0.3},
        {"mental_health_substance": 0.8, "young_adrift": 0.5, "job_ready": -1.0},
        -0.8,
    ),
    ServiceType(
        "low_threshold",
        "low_threshold",
        "ngo",
        "rehabilitation",
        ("Matalan kynnyksen toiminta", "Lågtröskelverksamhet", "Low-threshold activity"),
        6,
        5,
        "day",
        60,
        5,
        "unemployed",
        0.0,
        0.0,
        0,
        {},
        {},
        -2.6,
        {"substance_use": 0.6, "housing": 0.5, "motivation": 0.4},
        {"mental_health_substance": 0.8},
        -0.3,
    ),
    ServiceType(
        "health_check",
        "health",
        "health_services",
        "health",
        ("Työttömän terveystarkastus", "Hälsokontroll för arbetslösa", "Health check for the unemployed"),
        1,
        250,
        "service",
        60,
        25,
        "unemployed",
        0.0,
        0.0,
        12,
        {"physical_health": 0.3, "mental_health": 0.25},
        {},
        -1.8,
        {"physical_health": 0.7, "mental_health": 0.6, "substance_use": 0.4},
        {"partial_work_ability": 0.5},
        0.0,
    ),
    ServiceType(
        "debt_advice",
        "debt_housing",
        "social_services",
        "social",
        ("Talous- ja velkaneuvonta", "Ekonomi- och skuldrådgivning", "Financial and debt advice"),
        2,
        120,
        "service",
        30,
        40,
        "unemployed",
        0.0,
        0.0,
        0,
        {},
        {},
        -2.8,
        {"debt": 1.4, "housing": 0.4},
        {},
        0.0,
    ),
    ServiceType(
        "social_rehabilitation",
        "social_rehabilitation",
        "social_services",
        "social",
        ("Sosiaalinen kuntoutus", "Social rehabilitering", "Social rehabilitation"),
        6,
        40,
        "day",
        25,
        30,
        "unemployed",
        -0.2,
        0.15,
        9,
        {"mental_health": 0.2},
        {},
        -2.7,
        {"mental_health": 0.7, "substance_use": 0.5, "motivation": 0.5, "housing": 0.3},
        {"mental_health_substance": 0.6},
        -0.2,
    ),
)
SERVICE_CODES = tuple(s.code for s in SERVICE_TYPES)

#: Municipalities of the region (Statistics Finland codes) and their weights (working-age population share).
MUNICIPALITIES: tuple[tuple[str, str, float, bool], ...] = (
    # code, name, population (docs/synthetic-region-sources.md: Jyväskylä 2023, Äänekoski 2018, others 2009;
    # Viitasaari an assumption), rural (outside the three towns)
    ("179", "Jyväskylä", 147746, False),
    ("182", "Jämsä", 22419, False),
    ("992", "Äänekoski", 18971, False),
    ("410", "Laukaa", 18487, True),
    ("249", "Keuruu", 10526, True),
    ("729", "Saarijärvi", 10320, True),
    ("500", "Muurame", 9518, True),
    ("931", "Viitasaari", 6500, True),
    ("077", "Hankasalmi", 5443, True),
    ("172", "Joutsa", 4926, True),
    ("601", "Pihtipudas", 4415, True),
    ("226", "Karstula", 4385, True),
    ("592", "Petäjävesi", 4100, True),
    ("892", "Uurainen", 3580, True),
    ("275", "Konnevesi", 2908, True),
    ("850", "Toivakka", 2464, True),
    ("495", "Multia", 1831, True),
    ("256", "Kinnula", 1777, True),
    ("216", "Kannonkoski", 1547, True),
    ("312", "Kyyjärvi", 1476, True),
    ("265", "Kivijärvi", 1314, True),
    ("435", "Luhanka", 781, True),
)

#: Other episode ends per month (besides employment) and their reasons.
OTHER_END_MONTHLY = 0.025
OTHER_END_REASONS = (
    ("ordinary_services", 0.40),
    ("education", 0.12),
    ("moved_away", 0.07),
    ("not_reached", 0.07),
    ("client_choice", 0.07),
    ("no_change", 0.17),
    ("retired", 0.10),
)

#: Process quality: how often things fall through (each creates a true gap).
REFERRAL_UNANSWERED = 0.05
REFERRAL_DECLINED = 0.08
SERVICE_INTERRUPTED = 0.12
NO_NEXT_STEP_AFTER_SERVICE = 0.25
REVIEW_MISSED = 0.22
PLAN_LATE = 0.12
CONSENT_TIME_LIMITED = 0.30
CONSENT_REVOKED = 0.03

#: The region's documented targets (docs/synthetic-region.md): value and tolerance. Tests check a generated
#: region of 5,000 clients against them from the data as Polku stores it.
TARGETS: dict[str, tuple[float, float]] = {
    "men": (0.59, 0.03),
    "age_under_25": (0.045, 0.03),
    "age_25_29": (0.07, 0.03),
    "age_30_49": (0.38, 0.04),
    "age_50_54": (0.13, 0.04),
    "age_55_64": (0.38, 0.04),
    "education_basic": (0.30, 0.05),
    "education_upper_secondary": (0.50, 0.05),
    "education_tertiary": (0.20, 0.05),
    "foreign_background": (0.08, 0.03),
    "swedish_speaking": (0.02, 0.01),
    "unemployed_over_2_years": (0.50, 0.06),
    "reduced_work_ability": (0.50, 0.06),
    "substance_use": (0.15, 0.05),
    "debt": (0.30, 0.05),
    "housing": (0.035, 0.03),
    "skills_language": (0.50, 0.10),
    "caring_duties": (0.075, 0.03),
    "motivation": (0.25, 0.05),
    "employed_12_months_after_entry": (0.14, 0.04),
}

#: Municipalities outside the region that movers go to (Statistics Finland codes) and their weights (roughly the
#: working-age population). None is in Central Finland, so a client living there is outside the service area of
#: the region's employment-services organisation.
OUTSIDE_MUNICIPALITIES: tuple[tuple[str, str, float], ...] = (
    ("091", "Helsinki", 680),
    ("049", "Espoo", 310),
    ("092", "Vantaa", 245),
    ("837", "Tampere", 255),
    ("853", "Turku", 200),
    ("564", "Oulu", 215),
    ("398", "Lahti", 120),
    ("297", "Kuopio", 125),
    ("167", "Joensuu", 78),
    ("743", "Seinäjoki", 65),
)

#: Moves (*assumption*; intermunicipal migration in Finland is about 5 % of the population a year): a client
#: in the joint service moves at this yearly rate; this share of moves leaves the region. Most who leave are
#: handed over (the episode closes as "moved_away" 1–6 weeks after the move); the rest stay open.
MOVE_YEARLY = 0.06
MOVE_OUT_OF_REGION = 0.45
MOVE_HANDOVER = 0.75

#: Contacts with the client (*assumption*): a meeting, call or message every 6–8 weeks on average, at irregular
#: intervals; some clients drop out of touch part-way (their contacts stop).
CONTACT_MEAN_DAYS = 49
CONTACT_LOST_TOUCH = 0.12
CONTACT_CHANNELS = (("meeting", 0.40), ("phone", 0.35), ("message", 0.15), ("video", 0.07), ("home_visit", 0.03))

#: Reviews the client asks for (*assumption*): the share of plans with such a request, how many of those are
#: forgotten (never held), and the delay of the rest.
CLIENT_REQUESTED_REVIEW = 0.30
REQUESTED_REVIEW_FORGOTTEN = 0.12
#: Share of the planned steps of a plan's current version that are in progress.
STEP_IN_PROGRESS = 0.30

#: Benefits paid for unemployment (*assumption*): labour market subsidy for most long-term unemployed, the
#: rest earnings-related or basic unemployment allowance. Paid five days a week.
BENEFIT_SHARES = (("labour_market_subsidy", 0.80), ("earnings_related", 0.12), ("basic_unemployment", 0.08))

#: Registered job seekers who are not in the joint service, as a share of the joint-service clients: the
#: population the screening rule looks at (*assumption*). ``--clients N`` adds ``round(N × share)`` of them.
JOB_SEEKER_SHARE = 0.25
#: Their employment status at the window's end: unemployed, employed on the open market, in education.
JOB_SEEKER_STATUS = (0.78, 0.16, 0.06)
#: Share under 25, and the shares with a recent work-ability score and life-situation mapping.
JOB_SEEKER_UNDER_25 = 0.16
JOB_SEEKER_WAS = 0.35
JOB_SEEKER_LIFE = 0.30
#: Benefits of job seekers (*assumption*): under 25 mostly labour market subsidy (no work history).
JOB_SEEKER_BENEFIT_SHARES = (("labour_market_subsidy", 0.55), ("earnings_related", 0.35), ("basic_unemployment", 0.10))

#: Every municipality a client can live in: the region's first, then those outside it.
MUNICIPALITY_CODES = tuple(m[0] for m in MUNICIPALITIES) + tuple(m[0] for m in OUTSIDE_MUNICIPALITIES)

#: Share of the time-limited consents of open episodes that are renewed before they end (*assumption*).
CONSENT_RENEWED = 0.35
