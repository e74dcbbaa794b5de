"""Every indicator equals the same figure computed independently from the generator's records.

A seeded synthetic region is generated with its truth. The expected figures are computed here, row by row in plain
Python, from the rows the generator wrote and from its truth files — never through Polku's fact builder or report
code. With the small-cell threshold at 1 nothing is suppressed, so every cell can be compared exactly; the
suppression itself is tested in test_protection.py and, on real reports, below.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from polku.clients.models import Client, EmploymentStatusPeriod, ResidenceChange
from polku.episodes.models import JointServiceEpisode
from polku.indicators import facts
from polku.indicators.services import build_report
from polku.plans.models import PlanVersion
from polku.referrals.models import Referral
from polku.synth.generate import Options, generate

pytestmark = pytest.mark.django_db

START = dt.date(2022, 1, 1)
PERIOD = "2023"
P0, P1 = dt.date(2023, 1, 1), dt.date(2023, 12, 31)
AS_OF = dt.date(2024, 12, 31)
GENDERS = ["woman", "man", "non_binary", "not_stated"]
RURAL_FILE = Path(facts.__file__).parent / "data" / "municipality_groups.csv"


@pytest.fixture
def region(settings: Any, tmp_path: Path) -> Path:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 1, "PSEUDONYM_KEY": "indicator-test"}
    generate(Options(clients=700, seed=31, months=36, start=START, truth_out=tmp_path))
    facts.refresh(AS_OF, triggered_by="test")
    return tmp_path


def _row(report: Any, indicator: str) -> list[Any]:
    """The summary row of an ESF+ indicator as [women, men, non-binary, other/not stated, total]."""
    summary = report.table("esf_summary")
    rows = {key[0]: cells for key, cells in zip(summary.row_keys, summary.cells, strict=True)}
    return [c.value for c in rows[indicator]]


def _defs() -> Any:
    from polku.indicators import definitions

    return definitions


def _by_gender(items: list[str]) -> list[int]:
    counts = Counter(items)
    return [counts[g] for g in GENDERS] + [len(items)]


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _status_on(periods: list[tuple[str, dt.date, dt.date | None]], day: dt.date) -> tuple[str, dt.date] | None:
    covering = [(s, a) for s, a, b in periods if a <= day and (b is None or b >= day) and a <= AS_OF]
    return max(covering, key=lambda p: p[1]) if covering else None


def _records() -> dict[str, Any]:
    clients = {c["id"]: c for c in Client.objects.values()}
    periods: dict[int, list[tuple[str, dt.date, dt.date | None]]] = defaultdict(list)
    for p in EmploymentStatusPeriod.objects.values("client_id", "status", "start_date", "end_date"):
        periods[p["client_id"]].append((p["status"], p["start_date"], p["end_date"]))
    moves: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    for m in ResidenceChange.objects.values("client_id", "moved_on", "from_municipality"):
        moves[m["client_id"]].append((m["moved_on"], m["from_municipality"]))
    episodes = list(JointServiceEpisode.objects.values())
    return {"clients": clients, "periods": periods, "moves": moves, "episodes": episodes}


def test_esf_outputs_equal_the_generators_records(region: Path) -> None:
    rec = _records()
    report = build_report("esf", period=PERIOD, language="en")
    entrants = [e for e in rec["episodes"] if P0 <= e["start_date"] <= P1]
    assert len(entrants) > 100
    gender = {e["id"]: rec["clients"][e["client_id"]]["gender"] for e in entrants}

    # the truth's own entry dates give the same total as the database's episodes
    with (region / "clients.csv").open(encoding="utf-8") as handle:
        truth_entries = [r for r in csv.DictReader(handle) if P0.isoformat() <= r["entry_date"] <= P1.isoformat()]
    assert _row(report, "esf_total")[-1] == len(truth_entries) == len(entrants)
    assert _row(report, "esf_total") == _by_gender(list(gender.values()))

    def expect(pred: Any) -> list[int]:
        return _by_gender([gender[e["id"]] for e in entrants if pred(e, rec["clients"][e["client_id"]])])

    def status(e: dict[str, Any]) -> tuple[str, dt.date] | None:
        return _status_on(rec["periods"][e["client_id"]], e["start_date"])

    def long_term(e: dict[str, Any], c: dict[str, Any]) -> bool:
        s = status(e)
        if s is None or s[0] != "unemployed":
            return False
        need = 365 if _age(c["birth_date"], e["start_date"]) >= 25 else 183
        return (e["start_date"] - s[1]).days >= need

    rural = {r["code"] for r in csv.DictReader(RURAL_FILE.open(encoding="utf-8")) if r["group"] == "rural"}

    def municipality_at_start(e: dict[str, Any], c: dict[str, Any]) -> str:
        later = sorted(m for m in rec["moves"][c["id"]] if m[0] > e["start_date"])
        return later[0][1] if later else c["municipality_code"]

    checks = {
        "esf_unemployed": lambda e, c: (status(e) or ("",))[0] == "unemployed",
        "esf_long_term_unemployed": long_term,
        "esf_inactive": lambda e, c: (status(e) or ("",))[0] in
        ("outside_labour_force", "education", "rehabilitation", "pension"),
        "esf_employed": lambda e, c: (status(e) or ("",))[0] in ("employed_open_market", "subsidised_work"),
        "esf_under_18": lambda e, c: _age(c["birth_date"], e["start_date"]) < 18,
        "esf_age_18_29": lambda e, c: 18 <= _age(c["birth_date"], e["start_date"]) <= 29,
        "esf_age_55_plus": lambda e, c: _age(c["birth_date"], e["start_date"]) >= 55,
        "esf_isced_0_2": lambda e, c: c["education_level"] == "isced_0_2",
        "esf_isced_3_4": lambda e, c: c["education_level"] == "isced_3_4",
        "esf_isced_5_8": lambda e, c: c["education_level"] == "isced_5_8",
        "esf_disability": lambda e, c: c["disability"] == "yes",
        "esf_third_country": lambda e, c: c["third_country_national"] == "yes",
        "esf_foreign_background": lambda e, c: c["foreign_background"] == "yes",
        "esf_minority": lambda e, c: c["minority"] == "yes",
        "esf_homeless": lambda e, c: c["homeless"] == "yes",
        "esf_rural": lambda e, c: municipality_at_start(e, c) in rural,
    }
    nonzero = 0
    for key, pred in checks.items():
        expected = expect(pred)
        assert _row(report, key) == expected, key
        nonzero += expected[-1] > 0
    assert nonzero >= 12  # the region exercises most indicators


def test_esf_results_equal_the_generators_records(region: Path) -> None:
    rec = _records()
    report = build_report("esf", period=PERIOD, language="en")
    leavers = [e for e in rec["episodes"] if e["end_date"] is not None and P0 <= e["end_date"] <= P1]
    assert len(leavers) > 50
    gender = {e["id"]: rec["clients"][e["client_id"]]["gender"] for e in leavers}

    def employed_within(e: dict[str, Any], low: dt.date, high: dt.date) -> bool:
        return any(s in ("employed_open_market", "subsidised_work") and a <= high and (b is None or b >= low)
                   for s, a, b in rec["periods"][e["client_id"]])

    on_leaving = [gender[e["id"]] for e in leavers
                  if employed_within(e, e["end_date"], e["end_date"] + dt.timedelta(days=28))]
    assert _row(report, "esf_employed_on_leaving") == _by_gender(on_leaving)
    six = [e for e in leavers if e["end_date"] + dt.timedelta(days=182) <= AS_OF]
    employed_6m = [gender[e["id"]] for e in six
                   if (_status_on(rec["periods"][e["client_id"]], e["end_date"] + dt.timedelta(days=182))
                       or ("",))[0] in ("employed_open_market", "subsidised_work")]
    assert _row(report, "esf_employed_6m") == _by_gender(employed_6m)
    assert _row(report, "esf_employed_6m")[-1] > 0


def test_joint_service_indicators_equal_the_generators_records(region: Path) -> None:
    rec = _records()
    report = build_report("joint", period=PERIOD, language="en")
    open_eps = [e for e in rec["episodes"]
                if e["start_date"] <= P1 and (e["end_date"] is None or e["end_date"] >= P0)]
    latest: dict[int, dict[str, Any]] = {}
    for e in sorted(open_eps, key=lambda e: e["start_date"]):
        latest[e["client_id"]] = e
    clients = [rec["clients"][c]["gender"] for c in latest]
    assert [c.value for c in report.table("joint_clients").cells[-1]] == _by_gender(clients)

    leavers = [e for e in rec["episodes"] if e["end_date"] is not None and P0 <= e["end_date"] <= P1]
    ends = report.table("joint_ends_by_reason")
    reasons = Counter(e["end_reason"] for e in leavers)
    from polku.episodes.models import EndReason

    for key, cells in zip(ends.row_keys, ends.cells, strict=True):
        if key[-1] in EndReason.values:
            assert cells[-1].value == reasons[key[-1]], key
    assert ends.cells[-1][-1].value == len(leavers)

    first_plan: dict[int, dt.date] = {}
    tz = timezone.get_current_timezone()
    for v in PlanVersion.objects.values("plan__episode_id", "created_at"):
        day = v["created_at"].astimezone(tz).date()
        key = v["plan__episode_id"]
        first_plan[key] = min(first_plan.get(key, day), day)
    waits = [(first_plan[e["id"]] - e["start_date"]).days for e in rec["episodes"]
             if e["id"] in first_plan and P0 <= first_plan[e["id"]] <= P1]
    assert report.table("joint_time_to_plan").cells[-1][-1].value == round(float(statistics.median(waits)), 1)


def test_service_chain_indicators_equal_the_generators_records(region: Path) -> None:
    report = build_report("chain", period=PERIOD, language="en")
    tz = timezone.get_current_timezone()
    waits = [(r["started_at"].astimezone(tz).date() - r["sent_at"].astimezone(tz).date()).days
             for r in Referral.objects.filter(sent_at__isnull=False, started_at__isnull=False).values()
             if P0 <= r["started_at"].astimezone(tz).date() <= P1]
    assert waits
    assert report.table("chain_waiting_by_service").cells[-1][-1].value == round(float(statistics.median(waits)), 1)


def test_the_command_never_prints_a_count_of_1_to_4(region: Path, settings: Any, capsys: Any) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 5}
    report = build_report("all", period=PERIOD, by="age_band", language="en")
    seen = 0
    for table in report.tables():
        if table.kind != "count":
            continue
        for row in table.cells:
            for cell in row:
                if cell.status == "":
                    assert cell.value == 0 or cell.value >= 5, (table.indicator, cell)
                    seen += 1
                else:
                    assert cell.value is None and cell.text in ("<5", "x")
    assert seen > 50
    call_command("indicators", "--period", PERIOD, "--format", "csv", "--language", "en")
    out = capsys.readouterr().out
    for line in csv.DictReader(out.splitlines()):
        if line["Value"] and line["Kind"] == "count":
            assert float(line["Value"]) == 0 or float(line["Value"]) >= 5


def test_plan_share_mapping_time_and_unanswered_referrals(region: Path) -> None:
    rec = _records()
    report = build_report("all", period=PERIOD, language="en")
    tz = timezone.get_current_timezone()
    first_plan: dict[int, dt.date] = {}
    for v in PlanVersion.objects.values("plan__episode_id", "created_at"):
        day = v["created_at"].astimezone(tz).date()
        first_plan[v["plan__episode_id"]] = min(first_plan.get(v["plan__episode_id"], day), day)
    due = [e for e in rec["episodes"] if e["start_date"] <= P1 and e["mapping_period_end"] <= P1
           and (e["end_date"] is None or e["end_date"] >= P0)]
    with_plan = [e for e in due if e["id"] in first_plan and first_plan[e["id"]] <= P1]
    share = report.table("joint_plan_share").cells[-1][-1].value
    assert share == round(100.0 * len(with_plan) / len(due), 1)

    mapping = []
    for e in rec["episodes"]:
        ends = [d for d in (first_plan.get(e["id"]), e["mapping_period_end"],
                            e["end_date"] if e["end_date"] and e["end_date"] <= AS_OF else None) if d is not None]
        ended = min(ends)
        if ended <= AS_OF and P0 <= ended <= P1:
            mapping.append((ended - e["start_date"]).days)
    assert report.table("joint_time_in_mapping").cells[-1][-1].value == round(float(statistics.median(mapping)), 1)

    late = 0
    for r in Referral.objects.filter(sent_at__isnull=False).values():
        sent = r["sent_at"].astimezone(tz).date()
        if not P0 <= sent <= P1:
            continue
        answers = [d.astimezone(tz).date() for d in (r["received_at"], r["decided_at"]) if d is not None]
        answers = [d for d in answers if d <= AS_OF]
        answered = min(answers) if answers else None
        waited = (answered if answered is not None else AS_OF) - sent
        late += waited.days > 14
    assert report.table("chain_unanswered").cells[-1][-1].value == late
