"""Employment partners of the synthetic region: employers, openings, public contracts with employment clauses,
the joint-service clients' job preferences and placements — and the **true fit** between clients and openings.

Everything here draws from its own random streams (``[seed, 7, 0]`` for the employers, openings and contracts;
``[seed, 7, 1, chunk]`` for a chunk's job preferences and placements), so the rest of the region is exactly what
it was without it. See docs/synthetic-region.md, "Employment partners".

Each joint-service client with an episode open at the window's end has a *true* job family and *true* skills
(from segment, sex, education and language), a true physical and cognitive capacity (0–3, from the work-ability
score and the barriers) and true accommodation needs. Only part of it is recorded in Polku (``JobPreferences``:
about 60 % of the true skills, now and then a skill the client does not have; most of the accommodation needs),
so matching works on noisy data. :func:`true_fit` is the generator's own judgement of how well an opening suits
a client; it never uses Polku's matching rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from polku.clients.models import EmploymentStatusPeriod
from polku.core.identity import make_business_id
from polku.organisations.models import Organisation
from polku.partners.models import Employer, JobPreferences, Opening, Placement, PublicContract, Skill
from polku.partners.services import ensure_skills

from . import params as P
from .tables import Rows
from .writer import next_ids

#: The tables this module writes (explicit ids; bulk loaded with the rest).
MODELS: list[Any] = [
    Employer,
    Opening,
    Opening.skills.through,
    PublicContract,
    JobPreferences,
    JobPreferences.skills.through,
    Placement,
]
STREAM = 7  # the random streams' tag: [seed, STREAM, 0] and [seed, STREAM, 1, chunk]
UTC_OFFSET_HOURS = 2
CENTRES = Path(__file__).resolve().parent.parent / "partners" / "data" / "municipalities.csv"


@dataclass(frozen=True)
class Family:
    """A job family: the skills its jobs ask for, its usual demands (physical, cognitive; 0–3) and titles."""

    code: str
    skills: tuple[str, ...]
    physical: int
    cognitive: int
    titles: tuple[str, ...]
    employer_word: str


FAMILIES: tuple[Family, ...] = (
    Family("cleaning_property", ("cleaning", "laundry", "property-maintenance", "snow-clearing",
                                 "reception-and-caretaking", "gardening", "occupational-safety-card"), 2, 1,
           ("Siivooja", "Kiinteistönhoitaja", "Laitoshuoltaja", "Pesulatyöntekijä"), "Siivous- ja kiinteistöpalvelu"),
    Family("warehouse_logistics", ("warehouse-work", "order-picking", "forklift-driving", "packing", "delivery-work",
                                   "moving-work", "driving-licence-c", "occupational-safety-card"), 3, 1,
           ("Varastotyöntekijä", "Keräilijä", "Trukinkuljettaja", "Lähetti"), "Logistiikka"),
    Family("kitchen_food", ("kitchen-work", "cooking", "dishwashing", "serving", "food-hygiene", "hygiene-passport",
                            "alcohol-serving-passport"), 2, 1,
           ("Keittiöapulainen", "Kokki", "Tarjoilija", "Astianpesijä"), "Ravintola"),
    Family("care", ("care-assistance", "outdoor-and-errand-help", "childcare-assistance", "first-aid",
                    "hygiene-passport"), 2, 2,
           ("Hoiva-avustaja", "Ulkoiluavustaja", "Lastenhoitoapulainen", "Asiointiavustaja"), "Hoivapalvelu"),
    Family("office_it", ("basic-it", "office-tasks", "data-entry", "mail-handling", "reception-and-caretaking",
                         "english-basic", "swedish-basic"), 0, 2,
           ("Toimistoavustaja", "Tallentaja", "Postittaja", "Vahtimestari"), "Toimistopalvelu"),
    Family("retail_service", ("customer-service", "cashier-work", "shelf-stocking", "sales-work",
                              "second-hand-goods"), 1, 2,
           ("Myyjä", "Kassatyöntekijä", "Hyllyttäjä", "Asiakaspalvelija"), "Kauppa"),
    Family("construction_woodwork", ("construction-labouring", "woodwork", "metalwork", "welding", "painting",
                                     "assembly", "hot-work-card", "occupational-safety-card"), 3, 2,
           ("Rakennusapulainen", "Puuseppä", "Hitsaaja", "Maalari", "Kokoonpanija"), "Rakennus ja puutyö"),
    Family("recycling_environment", ("recycling-sorting", "second-hand-goods", "green-area-maintenance",
                                     "forestry-work", "gardening", "bicycle-repair", "car-washing", "sewing"), 2, 1,
           ("Kierrätystyöntekijä", "Viheralueiden hoitaja", "Metsuri", "Polkupyöräkorjaaja", "Ompelija"),
           "Kierrätys ja ympäristö"),
)
FAMILY_CODES = tuple(f.code for f in FAMILIES)
#: Segment × family weights of a client's true job family (segments in params.SEGMENTS order).
FAMILY_WEIGHTS = np.array([
    [1.0, 1.2, 0.8, 0.8, 1.2, 1.2, 1.0, 0.6],  # job_ready
    [1.2, 0.6, 0.8, 0.8, 1.2, 1.0, 0.5, 1.2],  # partial_work_ability
    [1.0, 1.0, 1.0, 0.5, 0.6, 0.8, 1.0, 1.4],  # mental_health_substance
    [0.8, 1.4, 1.2, 0.6, 0.8, 1.4, 0.8, 1.0],  # young_adrift
    [1.8, 1.2, 1.6, 1.0, 0.4, 0.6, 0.8, 0.8],  # migrant_language
    [1.0, 0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0],  # older_job_seeker
])
MALE_WEIGHTS = np.array([0.7, 1.5, 0.9, 0.4, 0.9, 0.9, 2.0, 1.1])
FEMALE_WEIGHTS = np.array([1.3, 0.6, 1.2, 1.8, 1.1, 1.2, 0.3, 0.9])
EDUCATION_WEIGHTS = np.array([  # ISCED 0–2, 3–4, 5–8
    [1.2, 1.0, 1.0, 0.9, 0.4, 0.9, 1.0, 1.2],
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    [0.6, 0.7, 0.7, 1.0, 2.5, 1.1, 0.7, 0.8],
])

EMPLOYER_KINDS = ("social_enterprise", "intermediate", "association", "public", "private")
#: Shares of employer kinds; every 20th employer is of the intermediate labour market (kind 1).
EMPLOYER_SHARES = (0.25, 0.0, 0.15, 0.15, 0.40)
INTERMEDIATE_EVERY = 20
#: Opening kinds (supported, subsidised, open market) by employer kind.
OPENING_KINDS = ("supported", "subsidised", "open_market")
OPENING_KIND_BY_EMPLOYER = np.array([
    [0.35, 0.45, 0.20],
    [0.70, 0.30, 0.00],
    [0.30, 0.50, 0.20],
    [0.00, 0.40, 0.60],
    [0.00, 0.15, 0.85],
])
#: Probability that an opening of each kind can make each accommodation (bits 1…128; remote work apart).
ACCOMMODATION_PROB = (0.55, 0.30, 0.12)
FLAGS = (1, 2, 4, 8, 16, 32, 64, 128)
REMOTE = 64
LANGUAGES = ("fi", "sv", "en", "any")
LANGUAGE_SHARES = (0.85, 0.05, 0.03, 0.07)
HOURS_BY_KIND = ((10, 15, 20, 25, 30), (20, 25, 30, 37), (20, 25, 30, 37, 40))
MISSIONS = (
    "Työllistämme osatyökykyisiä ja pitkään työttömänä olleita.",
    "Tarjoamme työtä ja polun avoimille työmarkkinoille niille, joiden on vaikea saada töitä.",
    "Kierrätämme tavaraa ja työllistämme samalla paikallisia työnhakijoita.",
    "Tuotamme palveluja kunnille ja työllistämme vammaisia ja vajaakuntoisia.",
)
NAME_WORDS = ("Aalto", "Kivi", "Koivu", "Lumo", "Kaisla", "Tammi", "Vire", "Sointu", "Lähde", "Kajo", "Pihlaja",
              "Tyyni", "Ruska", "Verso", "Kuusi", "Havu", "Virta", "Ilo", "Karhu", "Saari", "Metsä", "Ahjo", "Aura",
              "Hiisi", "Kallio", "Lehto", "Niitty", "Paju", "Sara", "Uoma")
PUBLIC_UNITS = ("tilapalvelut", "ruokapalvelut", "kunnossapito", "kirjasto", "liikuntapalvelut")
TARGET_GROUPS = ("long_term_unemployed", "partial_work_ability", "young", "older", "foreign_background",
                 "joint_service")
#: Shares of job-preference details (*assumptions*, docs/synthetic-region.md).
SKILL_RECORDED = 0.6
SPURIOUS_SKILL = 0.15
ACCOMMODATION_RECORDED = 0.85
PLACEMENT_SHARE = {"subsidised_work": 0.7, "employed_open_market": 0.5}


@dataclass
class Partners:
    """What the chunks need from the employers and contracts, and the counters that hand out ids."""

    window: Any
    next_id: dict[str, int]
    skill_codes: list[str]
    skill_ids: np.ndarray  # aligned with skill_codes
    employer_ids: np.ndarray
    employer_kind: np.ndarray  # index into EMPLOYER_KINDS
    contract_ids: np.ndarray
    contract_supplier: np.ndarray  # index into employer_ids
    contract_start: np.ndarray  # day offsets
    contract_end: np.ndarray
    recorders: np.ndarray  # user ids of the coordinators
    #: How many more hires each contract's supplier makes under its clause (drawn around what the clause asks,
    #: 40–140 %, so some contracts fall behind and some exceed it); used up chunk by chunk.
    contract_quota: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    counts: dict[str, int] = field(default_factory=dict)

    def ids(self, model: Any, count: int) -> np.ndarray:
        table = model._meta.db_table
        start = self.next_id[table]
        self.next_id[table] = start + count
        return np.arange(start, start + count, dtype=np.int64)

    def skill_index(self, codes: tuple[str, ...]) -> np.ndarray:
        known = {c: i for i, c in enumerate(self.skill_codes)}
        return np.array([known[c] for c in codes if c in known], dtype=np.int64)


def _stamps(window: Any, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    seconds = (8 - UTC_OFFSET_HOURS) * 3600 + rng.integers(0, 8 * 3600, len(days))
    return window.date(days).astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def _dates(window: Any, days: np.ndarray) -> np.ndarray:
    return window.date(days).astype(object)


def _pick(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One index per row of a matrix of (not necessarily normalised) probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= cumulative[:, -1:]
    return (rng.random(len(probabilities))[:, None] > cumulative).sum(axis=1)


def _business_ids(rng: np.random.Generator, count: int) -> list[str]:
    """Valid business IDs from a range the region's organisations never use (2000000–2999999), unique."""
    taken = set(Employer.objects.values_list("business_id", flat=True)) | set(
        Organisation.objects.values_list("business_id", flat=True))
    out: list[str] = []
    while len(out) < count:
        for number in rng.integers(2_000_000, 3_000_000, size=count - len(out) + 16):
            code = make_business_id(f"{int(number):07d}")
            if code and code not in taken:
                taken.add(code)
                out.append(code)
                if len(out) == count:
                    break
    return out


def _json(values: list[list[str]]) -> np.ndarray:
    return np.array([json.dumps(v) for v in values], dtype=object)


def _mask_from_bits(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.int64) * np.array(FLAGS, dtype=np.int64)).sum(axis=1)


def prepare(seed: int, clients: int, window: Any, region: Any, recorders: np.ndarray,
            truth: Any) -> tuple[Partners, list[Rows]]:
    """Skills, employers, openings and contracts of a region of ``clients`` clients (their own random stream)."""
    ensure_skills()
    skills = list(Skill.objects.order_by("code").values_list("code", "pk"))
    rng = np.random.default_rng([seed, STREAM, 0])
    end_day = window.end_day
    weights = np.array([m[2] for m in P.MUNICIPALITIES], dtype=float)
    weights /= weights.sum()
    codes = np.array([m[0] for m in P.MUNICIPALITIES], dtype=object)
    names = np.array([m[1] for m in P.MUNICIPALITIES], dtype=object)
    p = Partners(window, next_ids(MODELS), [c for c, _ in skills], np.array([pk for _, pk in skills], np.int64),
                 np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                 np.zeros(0, np.int64), np.zeros(0, np.int64), recorders)
    rows: list[Rows] = []

    # Employers ----------------------------------------------------------------------------------------------
    n = max(10, round(clients / 100))
    shares = np.array(EMPLOYER_SHARES) / sum(EMPLOYER_SHARES)
    kind = rng.choice(len(EMPLOYER_KINDS), size=n, p=shares)
    kind[::INTERMEDIATE_EVERY] = EMPLOYER_KINDS.index("intermediate")  # one per 20 employers, at least one
    main_family = rng.integers(0, len(FAMILIES), size=n)
    municipality = rng.choice(len(P.MUNICIPALITIES), size=n, p=weights)
    word = rng.integers(0, len(NAME_WORDS), size=n)
    unit = rng.integers(0, len(PUBLIC_UNITS), size=n)
    mark = (kind == 0) & (rng.random(n) < 0.6)
    share = np.round(rng.uniform(50, 100, n), 0)
    share_known = mark | ((kind == 0) & (rng.random(n) < 0.5)) | (kind == 1)
    share = np.where(mark | (kind == 1), share, np.round(rng.uniform(20, 100, n), 0))
    mission_index = rng.integers(0, len(MISSIONS), size=n)
    with_mission = (kind <= 1) | ((kind == 2) & (rng.random(n) < 0.5))
    employer_names = []
    for i in range(n):
        family_word = FAMILIES[main_family[i]].employer_word
        k = EMPLOYER_KINDS[kind[i]]
        if k == "public":
            employer_names.append(f"{names[municipality[i]]}, {PUBLIC_UNITS[unit[i]]}")
        elif k == "association":
            employer_names.append(f"{family_word}yhdistys {NAME_WORDS[word[i]]} ry")
        elif k == "intermediate":
            employer_names.append(f"Työkeskus {NAME_WORDS[word[i]]}")
        elif k == "social_enterprise":
            employer_names.append(f"{family_word} {NAME_WORDS[word[i]]} Osk" if i % 3 == 0
                                  else f"{family_word} {NAME_WORDS[word[i]]} Oy")
        else:
            employer_names.append(f"{family_word} {NAME_WORDS[word[i]]} Oy")
    p.employer_ids = p.ids(Employer, n)
    p.employer_kind = kind
    created_day = np.full(n, max(0, end_day - 720)) + rng.integers(0, 360, n)
    rows.append(Rows(Employer, {
        "id": p.employer_ids,
        "name": np.array(employer_names, dtype=object),
        "business_id": np.array(_business_ids(rng, n), dtype=object),
        "kind": np.array(EMPLOYER_KINDS, dtype=object)[kind],
        "municipality_code": codes[municipality],
        "mission": np.where(with_mission, np.array(MISSIONS, dtype=object)[mission_index], "").astype(object),
        "profit_share_for_mission": np.array([float(s) if k else None for s, k in zip(share, share_known,
                                                                                      strict=True)], dtype=object),
        "social_enterprise_mark": mark,
        "organisation_id": np.full(n, None, dtype=object),
        "created_at": _stamps(window, created_day, rng),
    }))

    # Openings -----------------------------------------------------------------------------------------------
    m = max(10, round(clients / 20))
    employer = rng.integers(0, n, size=m)
    family = np.where(rng.random(m) < 0.7, main_family[employer], rng.integers(0, len(FAMILIES), size=m))
    o_kind = _pick(rng, OPENING_KIND_BY_EMPLOYER[kind[employer]])
    own_place = rng.random(m) < 0.8
    o_municipality = np.where(own_place, municipality[employer], rng.choice(len(P.MUNICIPALITIES), size=m, p=weights))
    hours = np.array([HOURS_BY_KIND[k][j % len(HOURS_BY_KIND[k])] for k, j in
                      zip(o_kind, rng.integers(0, 60, size=m), strict=True)], dtype=np.int64)
    base = np.array([[f.physical, f.cognitive] for f in FAMILIES])[family]
    shift = rng.choice([-1, 0, 0, 1], size=(m, 2))
    demands = np.clip(base + shift - (o_kind == 0)[:, None].astype(np.int64), 0, 3)
    acc_p = np.array(ACCOMMODATION_PROB)[o_kind]
    bits = rng.random((m, len(FLAGS))) < acc_p[:, None]
    remote_p = np.where(family == FAMILY_CODES.index("office_it"), 0.4, 0.02)
    bits[:, FLAGS.index(REMOTE)] = rng.random(m) < remote_p
    accommodations = _mask_from_bits(bits)
    language = rng.choice(len(LANGUAGES), size=m, p=LANGUAGE_SHARES)
    start_day = end_day + rng.integers(-60, 91, size=m)
    places = rng.choice([1, 1, 1, 2, 2, 3], size=m)
    status = rng.choice(3, size=m, p=[0.85, 0.10, 0.05])  # open, filled, closed
    taken = np.where(status == 1, places, np.where(status == 0, np.minimum(rng.choice([0, 0, 0, 1], size=m),
                                                                            places - 1), 0))
    created = _stamps(window, end_day - rng.integers(0, 120, size=m), rng)
    title_pick = rng.integers(0, 10, size=m)
    titles = np.array([FAMILIES[f].titles[t % len(FAMILIES[f].titles)] for f, t in zip(family, title_pick,
                                                                                          strict=True)], dtype=object)
    opening_ids = p.ids(Opening, m)
    rows.append(Rows(Opening, {
        "id": opening_ids,
        "employer_id": p.employer_ids[employer],
        "title": titles,
        "kind": np.array(OPENING_KINDS, dtype=object)[o_kind],
        "tasks": np.full(m, "", dtype=object),
        "hours_per_week": hours,
        "municipality_code": codes[o_municipality],
        "physical_demand": demands[:, 0],
        "cognitive_demand": demands[:, 1],
        "accommodations": accommodations,
        "language": np.array(LANGUAGES, dtype=object)[language],
        "start_date": _dates(window, start_day),
        "places": places,
        "places_taken": taken,
        "status": np.array(["open", "filled", "closed"], dtype=object)[status],
        "created_at": created,
        "version": np.ones(m, np.int64),
    }))
    # Required skills: 0–4 of the family's skills, now and then a general one.
    count = rng.choice(5, size=m, p=[0.10, 0.25, 0.30, 0.20, 0.15])
    generic = p.skill_index(("driving-licence-b", "finnish-b1", "teamwork", "first-aid"))
    required: list[np.ndarray] = []
    pools = [p.skill_index(f.skills) for f in FAMILIES]
    for i in range(m):
        pool = pools[family[i]]
        chosen = rng.permutation(pool)[: count[i]]
        if generic.size and rng.random() < 0.2:
            chosen = np.union1d(chosen, [generic[rng.integers(0, generic.size)]])
        required.append(np.unique(chosen))
    o_index = np.repeat(np.arange(m), [r.size for r in required])
    s_index = np.concatenate(required).astype(np.int64) if required else np.zeros(0, np.int64)
    rows.append(Rows(Opening.skills.through, {
        "id": p.ids(Opening.skills.through, o_index.size),
        "opening_id": opening_ids[o_index],
        "skill_id": p.skill_ids[s_index],
    }))
    truth.add_openings(zip(
        opening_ids, np.array(FAMILY_CODES, dtype=object)[family],
        ["|".join(p.skill_codes[s] for s in r) for r in required],
        demands[:, 0], demands[:, 1], accommodations, np.array(LANGUAGES, dtype=object)[language], hours,
        codes[o_municipality], strict=True))

    # Public contracts with employment clauses ----------------------------------------------------------------
    c = max(3, round(clients * 4 / 10_000))
    procurers = [region.organisations[key].pk for key in ("employment", "social", "health")]
    procurer = np.array(procurers, np.int64)[rng.integers(0, len(procurers), size=c)]
    supplier_pool = np.nonzero(np.isin(kind, [0, 1, 4]))[0]
    supplier = supplier_pool[rng.integers(0, supplier_pool.size, size=c)]
    length = rng.integers(180, 1096, size=c)
    length = np.minimum(length, end_day)
    c_start = rng.integers(0, np.maximum(end_day - length, 1) + 1)
    c_end = np.minimum(c_start + length, end_day)
    by_months = rng.random(c) < 0.3
    hires = np.where(by_months, 0, rng.integers(2, 21, size=c))
    months = np.where(by_months, rng.integers(12, 121, size=c), 0).astype(float)
    value = np.round(np.exp(rng.uniform(np.log(50_000), np.log(2_000_000), size=c)), 2)
    groups = [sorted(rng.choice(TARGET_GROUPS[:5], size=rng.integers(1, 4), replace=False).tolist())
              for _ in range(c)]
    contract_ids = p.ids(PublicContract, c)
    subjects = ("Kiinteistöjen siivouspalvelut", "Ateriapalvelut", "Viheralueiden hoito", "Kierrätyspalvelut",
                "Kuljetus- ja logistiikkapalvelut", "Pienkorjaukset ja kunnossapito")
    rows.append(Rows(PublicContract, {
        "id": contract_ids,
        "reference": np.array([f"HANKINTA-{_dates(window, np.array([d]))[0].year}-{cid:05d}"
                               for d, cid in zip(c_start, contract_ids, strict=True)], dtype=object),
        "title": np.array([subjects[i % len(subjects)] for i in rng.integers(0, 60, size=c)], dtype=object),
        "procurer_id": procurer,
        "supplier_id": p.employer_ids[supplier],
        "start_date": _dates(window, c_start),
        "end_date": _dates(window, c_end),
        "value_eur": value,
        "required_hires": hires,
        "required_months": months,
        "target_groups": _json(groups),
        "created_at": _stamps(window, c_start, rng),
    }))
    p.contract_ids, p.contract_supplier, p.contract_start, p.contract_end = contract_ids, supplier, c_start, c_end
    asked = np.where(by_months, np.ceil(months / 6), hires).astype(float)  # a hire is about six months of work
    p.contract_quota = np.maximum(0, np.round(asked * rng.uniform(0.4, 1.4, size=c))).astype(np.int64)
    return p, rows


def _columns(rows: list[Rows], model: Any) -> list[dict[str, Any]]:
    return [r.columns for r in rows if r.model is model]


def build_chunk(p: Partners, h: Any, rows: list[Rows], truth: dict[str, Any], seeker_rows: list[Rows],
                rng: np.random.Generator) -> tuple[list[Rows], list[tuple[Any, ...]]]:
    """A chunk's job preferences (for the clients whose episode is open at the window's end) and placements
    (a sample of its subsidised-work and open-market status periods that start in the window), and the true job
    profiles of those clients (rows of job_clients.csv)."""
    from polku.clients.models import Client

    w = p.window
    pop = h.pop
    n = len(pop.segment)
    out: list[Rows] = []
    client = _columns(rows, Client)[0]
    language = client["preferred_language"]
    sev = pop.severity
    mental = sev[:, P.B["mental_health"]]
    physical = sev[:, P.B["physical_health"]]
    skills_barrier = sev[:, P.B["skills_language"]]

    # True job family and skills ----------------------------------------------------------------------------
    weights = FAMILY_WEIGHTS[pop.segment] * np.where(pop.male[:, None], MALE_WEIGHTS, FEMALE_WEIGHTS)
    weights = weights * EDUCATION_WEIGHTS[pop.education]
    family = _pick(rng, weights)
    n_skills = len(p.skill_codes)
    true = np.zeros((n, n_skills), bool)
    count = rng.integers(1, 5, size=n)
    keys = rng.random((n, n_skills))
    for f, fam in enumerate(FAMILIES):
        pool = p.skill_index(fam.skills)
        who = np.nonzero(family == f)[0]
        if not pool.size or not who.size:
            continue
        rank = np.argsort(keys[np.ix_(who, pool)], axis=1)
        for j in range(min(4, pool.size)):
            sel = count[who] > j
            true[who[sel], pool[rank[sel, j]]] = True
    other = rng.integers(0, len(FAMILIES), size=n)
    cross = rng.random(n) < 0.25
    pick = rng.random(n)
    for f, fam in enumerate(FAMILIES):
        pool = p.skill_index(fam.skills)
        who = np.nonzero(cross & (other == f))[0]
        if pool.size and who.size:
            true[who, pool[(pick[who] * pool.size).astype(np.int64)]] = True
    foreign = pop.foreign
    native_fi = (language == "fi") & ~foreign
    generic = {
        "teamwork": rng.random(n) < 0.5,
        "driving-licence-b": rng.random(n) < np.where((pop.segment == 3) | foreign, 0.3, 0.6),
        "first-aid": rng.random(n) < 0.2,
        "english-basic": rng.random(n) < np.where(pop.education == 2, 0.7, 0.3),
        "finnish-b1": native_fi | ((language == "sv") & (rng.random(n) < 0.6)) | (foreign & (rng.random(n) < 0.25)),
        "finnish-a2": foreign & (rng.random(n) < 0.5),
        "swedish-basic": (language == "sv") | (rng.random(n) < 0.15),
    }
    for code, has in generic.items():
        index = p.skill_index((code,))
        if index.size:
            true[has, index[0]] = True

    # True capacity and needs ---------------------------------------------------------------------------------
    was = pop.was
    cap_physical = np.where(was >= 7, 3, np.where(was >= 4, 2, np.where(was >= 2, 1, 0)))
    cap_physical = cap_physical - ((physical >= 2) & (rng.random(n) < 0.5))
    cap_physical = np.clip(cap_physical + np.where(rng.random(n) < 0.15, rng.choice([-1, 1], size=n), 0), 0, 3)
    cap_cognitive = 3 - mental - ((skills_barrier >= 3) & (rng.random(n) < 0.5))
    cap_cognitive = np.clip(cap_cognitive + np.where(rng.random(n) < 0.10, rng.choice([-1, 1], size=n), 0), 0, 3)
    low = was <= 4
    need_p = np.stack([
        np.where(mental >= 2, 0.4, 0.05),  # flexible hours
        np.where(low, 0.5, 0.08),  # reduced hours
        np.where(physical >= 2, 0.2, 0.01),  # accessible premises
        np.where(mental >= 2, 0.3, 0.03),  # quiet workspace
        np.where((mental >= 2) | (pop.segment == 3) | (skills_barrier >= 3), 0.15, 0.02),  # job coach
        np.where(physical >= 2, 0.15, 0.01),  # adapted equipment
        np.full(n, 0.02),  # remote work
        np.where(skills_barrier >= 2, 0.2, 0.03),  # longer induction
    ], axis=1)
    need_bits = rng.random((n, len(FLAGS))) < need_p
    true_needs = _mask_from_bits(need_bits)
    recorded_needs = _mask_from_bits(need_bits & (rng.random((n, len(FLAGS))) < ACCOMMODATION_RECORDED))

    # Wishes: hours, commute, kinds, languages -----------------------------------------------------------------
    hours_max = np.where(low | (cap_physical <= 1), rng.choice([20, 25, 30], size=n), rng.choice([30, 37, 40], size=n))
    hours_min = np.minimum(rng.choice([0, 0, 10, 20], size=n), hours_max - 10)
    commute = rng.choice([10, 15, 20, 30, 40, 50, 60], size=n, p=[0.1, 0.1, 0.2, 0.25, 0.15, 0.1, 0.1])
    kinds_roll = rng.random(n)
    kinds: list[list[str]] = []
    for i in range(n):
        if kinds_roll[i] < 0.65:
            kinds.append([])
        elif was[i] <= 5:
            kinds.append(["subsidised", "supported"] if kinds_roll[i] < 0.85 else ["supported"])
        else:
            kinds.append(["open_market"] if kinds_roll[i] < 0.8 else ["open_market", "subsidised"])
    bilingual = rng.random(n)
    languages: list[list[str]] = []
    for i in range(n):
        lang = language[i]
        if lang == "fi":
            languages.append(["fi"])
        elif lang == "sv":
            languages.append(["fi", "sv"] if bilingual[i] < 0.6 else ["sv"])
        elif lang == "en":
            languages.append(["en", "fi"] if bilingual[i] < 0.3 else ["en"])
        else:
            languages.append(["fi"] if bilingual[i] < 0.5 else ["en"])

    # Recorded skills: part of the true ones, now and then one the client does not have --------------------------
    recorded = true & (rng.random((n, n_skills)) < SKILL_RECORDED)
    fb1 = p.skill_index(("finnish-b1",))
    if fb1.size:  # the obvious is seldom written down
        recorded[native_fi, fb1[0]] = true[native_fi, fb1[0]] & (rng.random(int(native_fi.sum())) < 0.3)
    spurious = np.nonzero(rng.random(n) < SPURIOUS_SKILL)[0]
    recorded[spurious, rng.integers(0, n_skills, size=spurious.size)] = True

    # Job preferences for the clients whose episode is open at the window's end --------------------------------
    open_episode = np.nonzero(truth["status"] != "closed")[0]
    k = open_episode.size
    pref_ids = p.ids(JobPreferences, k)
    client_ids = truth["client_ids"]
    coordinator = p.recorders[rng.integers(0, p.recorders.size, size=k)] if p.recorders.size else np.full(k, None)
    updated = _stamps(w, np.maximum(w.end_day - rng.integers(0, 180, size=k), 0), rng)
    out.append(Rows(JobPreferences, {
        "id": pref_ids,
        "client_id": client_ids[open_episode],
        "hours_min": hours_min[open_episode],
        "hours_max": hours_max[open_episode],
        "max_commute_km": commute[open_episode],
        "kinds": _json([kinds[i] for i in open_episode]),
        "languages": _json([languages[i] for i in open_episode]),
        "accommodations_needed": recorded_needs[open_episode],
        "notes": np.full(k, "", dtype=object),
        "updated_at": updated,
        "updated_by_id": coordinator,
        "version": np.ones(k, np.int64),
    }))
    pi, si = np.nonzero(recorded[open_episode])
    out.append(Rows(JobPreferences.skills.through, {
        "id": p.ids(JobPreferences.skills.through, pi.size),
        "jobpreferences_id": pref_ids[pi],
        "skill_id": p.skill_ids[si],
    }))
    municipality = client["municipality_code"]
    job_truth = [
        (int(client_ids[i]), FAMILY_CODES[family[i]], "|".join(p.skill_codes[s] for s in np.nonzero(true[i])[0]),
         int(cap_physical[i]), int(cap_cognitive[i]), int(true_needs[i]), "|".join(languages[i]),
         int(hours_min[i]), int(hours_max[i]), int(commute[i]), municipality[i])
        for i in open_episode
    ]

    # Placements: existing status periods that start in the window ---------------------------------------------
    out += _placements(p, rows, seeker_rows, h, rng)
    return out, job_truth


def _placements(p: Partners, rows: list[Rows], seeker_rows: list[Rows], h: Any,
                rng: np.random.Generator) -> list[Rows]:
    from polku.clients.models import Client

    w = p.window
    start = np.datetime64(w.start, "D")
    parts = []
    for group, joint in ((rows, True), (seeker_rows, False)):
        clients = _columns(group, Client)
        if not clients:
            continue
        client = clients[0]
        index = {int(cid): i for i, cid in enumerate(client["id"])}
        for periods in _columns(group, EmploymentStatusPeriod):
            status = np.asarray(periods["status"])
            day = (np.array(periods["start_date"], dtype="datetime64[D]") - start).astype(np.int64)
            sel = np.isin(status, list(PLACEMENT_SHARE)) & (day >= 0) & (day <= w.end_day)
            for row in np.nonzero(sel)[0].tolist():
                ci = index[int(periods["client_id"][row])]
                parts.append((int(periods["id"][row]), int(periods["client_id"][row]), str(status[row]),
                              int(day[row]), periods["end_date"][row], joint, ci, client["birth_date"][ci],
                              client["foreign_background"][ci] == "yes"))
    if not parts:
        return []
    m = len(parts)
    status = np.array([x[2] for x in parts], dtype=object)
    keep = rng.random(m) < np.array([PLACEMENT_SHARE[s] for s in status])
    chosen = [parts[k] for k in np.nonzero(keep)[0].tolist()]
    if not chosen:
        return []
    m = len(chosen)
    status = np.array([x[2] for x in chosen], dtype=object)
    day = np.array([x[3] for x in chosen], np.int64)
    subsidised = status == "subsidised_work"
    kind = p.employer_kind
    # Employers by kind: subsidised work mostly with social enterprises, the intermediate labour market and
    # associations; open-market work mostly with private and public employers.
    w_sub = np.array([0.35, 0.20, 0.30, 0.10, 0.05])[kind]
    w_open = np.array([0.12, 0.0, 0.03, 0.15, 0.70])[kind]
    w_sub, w_open = (x + 1e-3 if x.sum() == 0 else x for x in (w_sub, w_open))
    employer = np.where(subsidised, rng.choice(kind.size, size=m, p=w_sub / w_sub.sum()),
                        rng.choice(kind.size, size=m, p=w_open / w_open.sum()))
    contract = np.full(m, -1, np.int64)
    roll = rng.random(m)
    which = rng.random(m)
    for i in range(m):
        active = np.nonzero((p.contract_start <= day[i]) & (day[i] <= p.contract_end)
                            & (p.contract_quota > 0))[0]
        if active.size and roll[i] < 0.35:  # hired under a contract's employment clause, while it still hires
            c = active[int(which[i] * active.size)]
            employer[i], contract[i] = p.contract_supplier[c], c
            p.contract_quota[c] -= 1
        else:
            own = active[p.contract_supplier[active] == employer[i]]
            if own.size:
                contract[i] = own[0]
                p.contract_quota[own[0]] -= 1
    emp_kind = kind[employer]
    placement_kind = np.where(~subsidised, "open_market",
                              np.where((emp_kind == 1) | ((emp_kind == 0) & (rng.random(m) < 0.4)), "supported",
                                       "subsidised")).astype(object)
    pop = h.pop
    groups = []
    for i, x in enumerate(chosen):
        start_date = w.date(day[i]).astype(object)
        age = (start_date - x[7]).days / 365.25
        g = []
        if x[5]:
            g.append("joint_service")
            if pop.unemployed_months[x[6]] >= 12:
                g.append("long_term_unemployed")
            if pop.was[x[6]] <= 5 or pop.severity[x[6], P.B["physical_health"]] >= 2 \
                    or pop.severity[x[6], P.B["mental_health"]] >= 2:
                g.append("partial_work_ability")
        if age < 30:
            g.append("young")
        if age >= 55:
            g.append("older")
        if x[8]:
            g.append("foreign_background")
        groups.append(sorted(g))
    recorders = p.recorders[rng.integers(0, p.recorders.size, size=m)]
    return [Rows(Placement, {
        "id": p.ids(Placement, m),
        "client_id": np.array([x[1] for x in chosen], np.int64),
        "employer_id": p.employer_ids[employer],
        "opening_id": np.full(m, None, dtype=object),
        "contract_id": np.array([int(p.contract_ids[c]) if c >= 0 else None for c in contract], dtype=object),
        "kind": placement_kind,
        "start_date": _dates(w, day),
        "end_date": np.array([x[4] for x in chosen], dtype=object),
        "hours_per_week": rng.choice([20, 25, 30, 37], size=m),
        "target_groups": _json(groups),
        "status_period_id": np.array([x[0] for x in chosen], np.int64),
        "recorded_by_id": recorders,
        "created_at": _stamps(w, day, rng),
        "version": np.ones(m, np.int64),
    })]


# The truth --------------------------------------------------------------------------------------------------------

JOB_CLIENT_COLUMNS = ("client_id", "true_family", "true_skills", "capacity_physical", "capacity_cognitive",
                      "accommodations_needed", "languages", "hours_min", "hours_max", "max_commute_km",
                      "municipality_code")
OPENING_COLUMNS = ("opening_id", "family", "skills", "physical_demand", "cognitive_demand", "accommodations",
                   "language", "hours_per_week", "municipality_code")
#: Coefficients of the true fit's log-odds (docs/synthetic-region.md, "Employment partners").
FIT = {
    "intercept": -1.0,
    "coverage": 2.5,  # share of the opening's required skills the client truly has (0.75 when none required)
    "same_family": 1.5,  # the opening is in the client's true job family
    "distance": -1.5,  # per longest commute travelled (distance / longest commute, at most 3; 0 remote)
    "demand_excess": -2.5,  # per point of physical or cognitive demand above the client's true capacity
    "accommodation_missing": -3.0,  # the client truly needs an adjustment the employer cannot make
    "language": -4.0,  # the working language is not one of the client's
    "hours": -1.0,  # the hours are outside the client's range
}
NO_SKILLS_COVERAGE = 0.75


def _codes(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(value.split("|")) if value else set()
    return set(value)


def true_fit(client_row: Mapping[str, Any], opening_row: Mapping[str, Any], distance_km: float | None) -> float:
    """The generator's known fit (0–1) of an opening for a client: a logistic of the terms in :data:`FIT`.

    ``client_row`` is a row of job_clients.csv and ``opening_row`` one of openings.csv (as read by
    :func:`read_truth`, or straight from :class:`csv.DictReader`); ``distance_km`` is the distance between the
    client's and the opening's municipalities (None when unknown: counted as three longest commutes). It uses
    what is truly so of the client (skills, job family, capacity, needs), not what Polku has recorded, and none
    of Polku's matching rules."""
    required = _codes(opening_row["skills"])
    skills = _codes(client_row["true_skills"])
    coverage = len(required & skills) / len(required) if required else NO_SKILLS_COVERAGE
    same_family = opening_row["family"] == client_row["true_family"]
    needs, offered = int(client_row["accommodations_needed"]), int(opening_row["accommodations"])
    remote = bool(needs & REMOTE) and bool(offered & REMOTE)
    reach = max(int(client_row["max_commute_km"]), 1)
    travel = 0.0 if remote else 3.0 if distance_km is None else min(distance_km / reach, 3.0)
    excess = max(0, int(opening_row["physical_demand"]) - int(client_row["capacity_physical"])) + max(
        0, int(opening_row["cognitive_demand"]) - int(client_row["capacity_cognitive"]))
    missing = needs & ~offered != 0
    language = opening_row["language"]
    speaks = language == "any" or language in _codes(client_row["languages"])
    hours_ok = int(client_row["hours_min"]) <= int(opening_row["hours_per_week"]) <= int(client_row["hours_max"])
    z = (FIT["intercept"] + FIT["coverage"] * coverage + FIT["same_family"] * same_family
         + FIT["distance"] * travel + FIT["demand_excess"] * excess + FIT["accommodation_missing"] * missing
         + FIT["language"] * (not speaks) + FIT["hours"] * (not hours_ok))
    return 1.0 / (1.0 + math.exp(-z))


def read_truth(directory: Path) -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    """job_clients.csv and openings.csv of a truth directory, keyed by client and opening id."""
    with (directory / "job_clients.csv").open(encoding="utf-8") as handle:
        clients = {int(r["client_id"]): r for r in csv.DictReader(handle)}
    with (directory / "openings.csv").open(encoding="utf-8") as handle:
        openings = {int(r["opening_id"]): r for r in csv.DictReader(handle)}
    return clients, openings


@cache
def _centres() -> dict[str, tuple[float, float]]:
    with CENTRES.open(encoding="utf-8") as handle:
        return {r["code"]: (float(r["latitude"]), float(r["longitude"])) for r in csv.DictReader(handle)
                if r.get("latitude") and r.get("longitude")}


def centre_distance_km(a: str, b: str) -> float | None:
    """Great-circle distance between two municipalities' centres (0 for the same; None when unknown)."""
    if a == b:
        return 0.0
    centres = _centres()
    if a not in centres or b not in centres:
        return None
    (lat1, lon1), (lat2, lon2) = centres[a], centres[b]
    h = (math.sin(math.radians(lat2 - lat1) / 2) ** 2
         + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def as_of(window: Any) -> dt.date:
    """The window's last day (the day the openings and preferences describe)."""
    return window.date(window.end_day).astype(object)
