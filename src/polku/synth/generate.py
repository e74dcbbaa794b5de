"""``polku synth``: fill the database with a synthetic region and write its truth apart."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from polku.assessments.instruments import sync_instruments
from polku.assessments.models import Instrument, InstrumentItem
from polku.clients.models import Client
from polku.core.dates import add_months
from polku.organisations.models import Organisation

from . import params as P
from . import partners
from .names import NameBook
from .region import Region, ensure_region
from .seekers import build_job_seekers, job_seekers_between
from .simulate import Window, region_habits, simulate_chunk
from .tables import MODELS, Context, build
from .truth import TruthWriter
from .writer import analyze, bulk_load, next_ids, reset_sequences, write

CHUNK = 20_000  # clients simulated at once; fixed, so that a seed always gives the same region


class SynthError(ValueError):
    """Arguments that cannot make a region; nothing was written."""


@dataclass
class Options:
    clients: int
    seed: int = 1
    months: int = 36
    start: dt.date | None = None
    hidden_confounding: float = 0.0
    truth_out: Path | None = None
    mode: str = "new"  # new | append | replace

    def window(self, today: dt.date) -> Window:
        start = self.start or add_months(today.replace(day=1), -self.months)
        return Window(start.replace(day=1), self.months)


def parse_start(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SynthError(f"--start must be a date as YYYY-MM-DD, not {text!r}") from None


def validate(options: Options, today: dt.date) -> Window:
    if options.clients < 1:
        raise SynthError("--clients must be a positive whole number")
    if options.clients > 5_000_000:
        raise SynthError("--clients may be at most 5,000,000")
    if not 1 <= options.months <= 120:
        raise SynthError("--months must be between 1 and 120")
    if not 0 <= options.hidden_confounding <= 5:
        raise SynthError("--hidden-confounding must be between 0 and 5")
    if options.seed < 0:
        raise SynthError("--seed must not be negative")
    window = options.window(today)
    if window.date(window.end_day).astype(object) > today:
        raise SynthError("the history would reach past today; choose an earlier --start or fewer --months")
    if window.start.year < 1950:
        raise SynthError("--start must be in 1950 or later")
    has_data = Organisation.objects.exists() or Client.objects.exists()
    if has_data and options.mode == "new":
        raise SynthError("the database already has data: add --append to add clients to it or --replace to replace it")
    return window


def _instruments() -> dict[str, tuple[int, list[int]]]:
    if Instrument.objects.filter(code__in=["work-ability-score", "life-situation"]).count() != 2:
        sync_instruments(Instrument, InstrumentItem)  # shipped by a migration; restore if someone removed them
    out = {}
    for code in ("work-ability-score", "life-situation"):
        instrument = Instrument.objects.get(code=code)
        out[code] = (instrument.pk, list(instrument.items.order_by("position").values_list("pk", flat=True)))
    return out


def _pairs(members: list[Any]) -> np.ndarray:
    return np.array([(m.pk, m.user_id) for m in members], dtype=np.int64).reshape(-1, 2)


def _context(region: Region, window: Window, names: NameBook) -> Context:
    variants = max(len(per_type) for per_type in region.services)
    table = np.zeros((len(region.services), variants, 2), dtype=np.int64)
    for t, per_type in enumerate(region.services):
        for v in range(variants):
            service = per_type[v % len(per_type)]
            table[t, v] = (service.pk, service.provider_id)
    receivers = {org: np.array([m.user_id for m in members]) for org, members in region.provider_workers.items()}
    for key in ("social", "health"):  # the wellbeing county handles referrals to its own services
        org = region.organisations[key]
        pool = region.social_workers if key == "social" else region.health_professionals
        receivers[org.pk] = np.array([m.user_id for m in pool])
    birth_counts: dict[tuple[int, bool], int] = {}
    existing = set(Client.objects.values_list("personal_identity_code", flat=True))
    return Context(
        window=window,
        next_id=next_ids(MODELS),
        birth_counts=birth_counts,
        existing_codes=existing,
        employment_org=region.organisations["employment"].pk,
        social_org=region.organisations["social"].pk,
        health_org=region.organisations["health"].pk,
        kela_org=region.organisations["kela"].pk,
        coordinators=_pairs(region.coordinators),
        social_workers=_pairs(region.social_workers),
        health_professionals=_pairs(region.health_professionals),
        kela_experts=_pairs(region.kela_experts),
        receivers=receivers,
        service_table=table,
        instruments=_instruments(),
        names=names,
    )


def wipe() -> None:
    """Remove every client, organisation and staff account (for ``--replace``), set-based."""
    from django.apps import apps

    keep = {"assessments.instrument", "assessments.instrumentitem"}  # reference data shipped by migrations
    models = [  # with the tables of many-to-many fields (job preferences' and openings' skills)
        m
        for m in apps.get_models(include_auto_created=True)
        if m.__module__.startswith("polku.") and m._meta.label_lower not in keep
    ]
    user_model = get_user_model()
    staff_user_ids = list(user_model.objects.filter(staff__isnull=False).values_list("pk", flat=True)) + list(
        user_model.objects.filter(client__isnull=False).values_list("pk", flat=True)
    )
    from polku.audit.guards import unguarded  # the access log is append-only; a wipe empties the whole database

    with unguarded(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks may stand in TRUNCATE's way
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        else:
            for model in _child_first(models):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
    for start in range(0, len(staff_user_ids), 5000):
        user_model.objects.filter(pk__in=staff_user_ids[start : start + 5000]).delete()


def _child_first(models: list[Any]) -> list[Any]:
    """Models ordered so that every model comes before the models it refers to."""
    ordered: list[Any] = []
    remaining = list(models)
    while remaining:
        for model in remaining:
            referrers = [
                m
                for m in remaining
                if m is not model and any(getattr(f, "related_model", None) is model for f in m._meta.concrete_fields)
            ]
            if not referrers:
                ordered.append(model)
                remaining.remove(model)
                break
        else:  # a cycle (none today): fall back to the given order
            ordered += remaining
            break
    return ordered


def generate(
    options: Options, *, progress: Callable[[int], None] | None = None, notify: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Build the region. Raises :class:`SynthError` (before writing anything) on bad options."""
    today = timezone.localdate()
    window = validate(options, today)
    started = time.monotonic()
    names = NameBook()
    with transaction.atomic():
        if options.mode == "replace":
            wipe()
        region = ensure_region(seed=options.seed, clients=options.clients)
        ctx = _context(region, window, names)
        habits = region_habits(np.random.default_rng([options.seed, 0]))
        services_per_type = [len(s) for s in region.services]
        truth = TruthWriter(options.truth_out, window)
        counts: dict[str, int] = {}
        with bulk_load(MODELS + partners.MODELS):
            # Employment partners (employers, openings, contracts) come from their own random stream, so the
            # rest of the region is what it was without them; job preferences and placements follow per chunk.
            employment, partner_rows = partners.prepare(
                options.seed, options.clients, window, region, ctx.coordinators[:, 1], truth
            )
            _count(partner_rows, counts)
            _generate_chunks(options, window, ctx, habits, services_per_type, truth, counts, progress, employment)
            if notify:
                notify("building indexes and checking every reference...")
        reset_sequences(MODELS + partners.MODELS)
        if notify:
            notify("committing...")
    analyze(MODELS + partners.MODELS)
    parameters = {
        "clients": options.clients,
        "seed": options.seed,
        "months": options.months,
        "start": window.start.isoformat(),
        "end": window.date(window.end_day).astype(str),
        "hidden_confounding": options.hidden_confounding,
        "mode": options.mode,
        "database": connection.vendor,
        "segments": list(P.SEGMENT_CODES),
    }
    summary = truth.close(parameters)
    summary["rows"] = counts
    summary["seconds"] = round(time.monotonic() - started, 2)
    return summary


def _count(rows: list[Any], counts: dict[str, int]) -> None:
    """Write the rows and count them per table."""
    for table_rows in rows:
        table = table_rows.model._meta.db_table
        counts[table] = counts.get(table, 0) + write(table_rows)


def _generate_chunks(
    options: Options,
    window: Window,
    ctx: Context,
    habits: np.ndarray,
    services_per_type: list[int],
    truth: TruthWriter,
    counts: dict[str, int],
    progress: Callable[[int], None] | None,
    employment: partners.Partners | None = None,
) -> None:
    for index, start in enumerate(range(0, options.clients, CHUNK)):
        size = min(CHUNK, options.clients - start)
        rng = np.random.default_rng([options.seed, 1, index])
        aux = np.random.default_rng([options.seed, 2, index])
        history = simulate_chunk(rng, size, window, habits, services_per_type, options.hidden_confounding, aux)
        rows, chunk_truth = build(ctx, history, rng, aux)
        seeker_rng = np.random.default_rng([options.seed, 3, index])
        seeker_rows, seeker_truth = build_job_seekers(ctx, job_seekers_between(start, start + size), seeker_rng)
        for table_rows in rows + seeker_rows:
            table = table_rows.model._meta.db_table
            counts[table] = counts.get(table, 0) + write(table_rows)
        truth.add(history, chunk_truth, seeker_truth)
        if employment is not None:
            partner_rng = np.random.default_rng([options.seed, partners.STREAM, 1, index])
            partner_rows, job_truth = partners.build_chunk(
                employment, history, rows, chunk_truth, seeker_rows, partner_rng
            )
            _count(partner_rows, counts)
            truth.add_job_clients(job_truth)
        if progress:
            progress(size)
