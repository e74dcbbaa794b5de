"""The impact model's work: building the analysis table from the database (logged), reading an analyst's own
table, training and storing models with their fairness audit, scoring, and recording a professional's
disagreement with an estimate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from polku.access.policy import authorize, client_data_service, staff_of
from polku.audit.models import AccessAction
from polku.audit.services import log_system_access
from polku.core.choices import DataCategory
from polku.core.errors import InvalidInput

from . import registry
from .models import EstimateOverride, ModelKind, ModelVersion, OverrideDirection
from .potential import HORIZONS, PotentialModel, TrainingError, nan_to_none, train_potential
from .selectors import current_estimate, training_window
from .table import CATEGORIES, GROUP_COLUMNS, build_table, load_sources, month_ends

ANALYSIS_PURPOSE = gettext_lazy("Statistics and the impact model: pseudonymised analysis table")
REASON_MAX = 2000


class DataError(ValueError):
    """An analyst's table cannot be read or lacks what the command needs."""


def read_table(path: Path) -> pd.DataFrame:
    """An analysis table from CSV or Parquet (by the file's suffix)."""
    if not path.exists():
        raise DataError(_("No such file: %(path)s") % {"path": path})
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            table = pd.read_parquet(path)
        elif path.suffix.lower() in {".csv", ".txt"}:
            table = pd.read_csv(path, dtype={"person": str, "reference_date": str, "municipality_code": str})
        else:
            raise DataError(_("The file must be .csv or .parquet: %(path)s") % {"path": path})
    except DataError:
        raise
    except Exception as exc:
        raise DataError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}) from exc
    if not len(table):
        raise DataError(_("The table %(path)s has no rows.") % {"path": path})
    return table


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet (by suffix) through a temporary file, so a failure never leaves half a file."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise DataError(_("The output must be .csv or .parquet: %(path)s") % {"path": path})
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        if suffix == ".csv":
            table.to_csv(temporary, index=False)
        else:
            table.to_parquet(temporary, index=False)
        temporary.replace(path)
    finally:
        if temporary.exists():
            temporary.unlink()


def database_table(
    reference_dates: Sequence[dt.date], *, observed_until: dt.date | None = None, actor_name: str,
    user: Any = None, progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """The analysis table from the database, with one access-log row per client and category read (the
    client's log shows that their data was processed into pseudonymised statistics, when and by what)."""
    sources = load_sources()
    table = build_table(reference_dates, observed_until=observed_until, sources=sources, progress=progress)
    client_ids = sources.client_ids.tolist()
    for category in CATEGORIES:
        log_system_access(client_ids=client_ids, category=category, action=AccessAction.EXPORT,
                          purpose=ANALYSIS_PURPOSE, actor_name=actor_name, user=user)
    return table


def default_reference_dates(step_months: int = 3, observed_until: dt.date | None = None) -> list[dt.date]:
    until = observed_until or timezone.localdate()
    window = training_window(until)
    if window is None:
        return []
    return month_ends(window[0], window[1], step_months)


def _fairness_frame(rows: pd.DataFrame, probability: np.ndarray) -> pd.DataFrame:
    frame = rows[[c for c in (*GROUP_COLUMNS, "person") if c in rows.columns]].copy()
    frame["probability"] = probability
    return frame


def overrides_frame(version: ModelVersion | None = None) -> pd.DataFrame:
    """Recorded disagreements with the group attributes of the client then (sex, age band, background,
    language), for the fairness report."""
    from .table import age_band

    query = EstimateOverride.objects.all()
    if version is not None:
        query = query.filter(model_version__kind=version.kind, model_version__outcome=version.outcome)
    rows = list(query.values_list("direction", "recorded_at", "client__legal_sex", "client__birth_date",
                                  "client__foreign_background", "client__preferred_language"))
    if not rows:
        return pd.DataFrame(columns=["direction", *GROUP_COLUMNS])
    direction, at, sex, birth, background, language = zip(*rows, strict=True)
    ages = np.array([(a.date() - b).days // 365.25 for a, b in zip(at, birth, strict=True)])
    languages = np.array(language, dtype=object)
    return pd.DataFrame({
        "direction": direction, "sex": sex, "age_band": age_band(ages), "foreign_background": background,
        "language": np.where(np.isin(languages, ["fi", "sv", "en"]), languages, "other"),
    })


def audit_version(version: ModelVersion, evaluation_rows: pd.DataFrame, probability: np.ndarray) -> Any:
    """Run the fairness audit on the test cohort's estimates and store the report with the version."""
    from . import fairness

    outcome = version.outcome
    frame = _fairness_frame(evaluation_rows, probability)
    frame[outcome] = evaluation_rows[outcome].to_numpy()
    result = fairness.audit(frame, outcome=outcome, probability="probability",
                            threshold=version.metrics.get("threshold"), overrides=overrides_frame(version))
    text = fairness.report_markdown(result, model_label=str(version))
    return fairness.store_report(version, result, text)


def train_and_store(
    table: pd.DataFrame, *, outcome: str, features: Sequence[str] | None, data_source: str, trained_by: str,
    user: Any = None, test_from: dt.date | None = None, members: int = 5, seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[ModelVersion, dict[str, Any]]:
    """Validate out of time, train the production model, store it as a new version with its fairness report."""
    if outcome not in HORIZONS and outcome not in table.columns:
        raise TrainingError(f"the table has no outcome column {outcome!r}")
    model, metrics, evaluation = train_potential(table, outcome, features=features, test_from=test_from,
                                                 members=members, seed=seed, progress=progress)
    metrics = nan_to_none(metrics)
    version = registry.save_model(
        kind=ModelKind.POTENTIAL, obj=model, outcome=outcome, data_source=data_source,
        data_hash=registry.data_hash(table), rows=len(table), features=model.features,
        parameters={"members": members, "seed": seed, "test_from": metrics.get("test_from"),
                    "lightgbm": _plain(getattr(model.booster, "params", {}))},
        metrics=metrics, trained_by=trained_by, user=user,
    )
    labelled = table[table[outcome].notna()]
    if metrics.get("test_from") and "reference_date" in labelled:
        test_rows = labelled[pd.to_datetime(labelled["reference_date"]).dt.date
                             >= dt.date.fromisoformat(metrics["test_from"])]
    else:
        test_rows = labelled
    if len(test_rows) and all(c in test_rows for c in GROUP_COLUMNS):
        probability = evaluation.predict(test_rows, interval=False)["probability"].to_numpy()
        audit_version(version, test_rows, probability)
    return version, metrics


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool)) or v is None}


def train_segments_and_store(
    table: pd.DataFrame, *, data_source: str, trained_by: str, user: Any = None, max_segments: int = 9,
    seeds: Sequence[int] = (0, 1, 2), progress: Callable[[str], None] | None = None,
) -> tuple[ModelVersion, Any]:
    from . import segments

    model = segments.fit_segments(table, max_segments=max_segments, seeds=tuple(seeds), progress=progress)
    metrics = nan_to_none({
        "k": model.k, "bic": {str(k): float(v) for k, v in model.bic.items()},
        "stability_ari": float(model.stability_ari), "profiles": _json_ready(model.profiles),
    })
    version = registry.save_model(
        kind=ModelKind.SEGMENTS, obj=model, data_source=data_source, data_hash=registry.data_hash(table),
        rows=len(table), features=list(model.features), parameters={"max_segments": max_segments,
                                                                     "seeds": list(seeds)},
        metrics=metrics, trained_by=trained_by, user=user,
    )
    return version, model


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def score(table: pd.DataFrame, version: ModelVersion, *, interval: bool = False) -> pd.DataFrame:
    """One probability per row (with ``interval`` also its 90 % interval), in the table's order."""
    model: PotentialModel = registry.load_model(version)
    return model.predict(table, interval=interval)


@client_data_service
def record_override(*, actor: Any, client_id: int, direction: str, reason: str) -> EstimateOverride:
    """Record that the professional disagrees with the client's current estimate, and why. Changes nothing else:
    the estimate stays as the model gave it, and the fairness report counts the disagreement."""
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.CREATE,
              purpose=_("Record a disagreement with the employment potential estimate"))
    errors: dict[str, list[str]] = {}
    if direction not in OverrideDirection.values:
        errors["direction"] = [_("Choose how you disagree.")]
    text = (reason or "").strip()
    if not text:
        errors["reason"] = [_("Say why you disagree.")]
    elif len(text) > REASON_MAX:
        errors["reason"] = [_("At most %(count)d characters.") % {"count": REASON_MAX}]
    if errors:
        raise InvalidInput(_("The disagreement was not recorded."), errors=errors)
    found = current_estimate(client_id)
    if found is None:
        raise InvalidInput(_("There is no estimate for this client to disagree with."), errors={},
                           code="no_estimate")
    version, probability = found
    staff = staff_of(actor)
    assert staff is not None  # authorize allowed a staff member's write
    return EstimateOverride.objects.create(client_id=client_id, model_version=version, estimate=probability,
                                           direction=direction, reason=text, recorded_by=actor,
                                           organisation_id=staff.organisation_id)


# --- causal effects (issue 8) -----------------------------------------------------------------------------------

#: The entry landmark of ``effects_table``: a client's first reference date falls within this many days of the
#: start of the joint service.
ENTRY_DAYS = 31


def effects_table(*, observed_until: dt.date | None = None, user: Any = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The rows and covariates of the database's effect estimate: each client at the first month end of the joint
    service (not employed then), the service class started in the next 31 days (``service_started_1m``: the
    treatment, ``none`` if none) and employment 12 months later; the covariates are the client's situation on that
    day (the potential model's default features). Adds ``segment`` when a segment model is stored, for ``--by``.
    Reads are logged like every analysis-table build."""
    from .potential import default_features
    from .selectors import usable_latest
    from .table import OUTCOMES

    until = observed_until or timezone.localdate()
    dates = default_reference_dates(1, until)
    table = database_table(dates, observed_until=until, actor_name="polku impact effects", user=user,
                           progress=progress) if dates else pd.DataFrame()
    if not len(table):
        raise DataError(_("The database has no joint-service episodes to learn from."))
    rows = table[(table["days_in_service"] < ENTRY_DAYS) & (table["employed_now"] == 0)
                 & table["service_started_1m"].notna() & table["employed_12m"].notna()].copy()
    if not len(rows):
        raise DataError(_("No client's first 12 months in the joint service are observed yet."))
    covariates = [c for c in default_features(rows) if c not in OUTCOMES]
    found = usable_latest(ModelKind.SEGMENTS)
    if found is not None:
        from . import segments

        rows["segment"] = segments.assign(found[1], rows)["segment"].astype(str)
    return rows.reset_index(drop=True), covariates


def store_effects(table: pd.DataFrame, report: Any, *, data_source: str, user: Any = None,
                  costs: list[dict[str, Any]] | None = None) -> Any:
    """Store an effect estimate's aggregates (never a row) for the What works page."""
    from .models import EffectRun

    results = report.results()
    results["costs"] = costs or []
    return EffectRun.objects.create(
        created_by=user if getattr(user, "pk", None) else None, data_source=data_source[:300],
        data_hash=registry.data_hash(table), rows=report.rows, treatment=report.treatment, outcome=report.outcome,
        control_level=report.control_level, settings=report.settings.as_dict(), results=_json_ready(results),
    )
