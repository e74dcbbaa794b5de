"""``polku impact``: train, score, segment and audit the impact model; list its versions; schedule retraining.

See docs/impact.md. Every run stores a new model version with its data hash, parameters and metrics.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from polku.core.management.common import add_operator_arguments, operator


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("%(option)s must be a date as YYYY-MM-DD, not %(value)r.")
                           % {"option": option, "value": text}) from None


class Progress:
    """Progress lines on standard error with the time elapsed (long runs show where they are)."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        sys.stderr.write(f"[{time.monotonic() - self.started:6.1f}s] {message}\n")
        sys.stderr.flush()

    def dates(self, done: int, total: int) -> None:
        self(_("analysis table: %(done)d/%(total)d reference dates") % {"done": done, "total": total})


class Command(BaseCommand):
    help = "The impact model: train, score, segments, fairness, models, schedule (docs/impact.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="what", required=True,
                                         metavar="{train,score,segments,fairness,effects,models,schedule}")

        def data_options(p: CommandParser) -> None:
            p.add_argument("--data", type=Path, default=None, metavar="FILE",
                           help="an analysis table (CSV or Parquet, docs/analysis-table.md); default: built from "
                           "the database")
            p.add_argument("--step-months", type=int, default=3, metavar="M",
                           help="without --data: reference dates every M months (default 3)")
            p.add_argument("--observed-until", default=None, metavar="DATE",
                           help="without --data: the register data's last day (default: today)")

        train = commands.add_parser("train", help="train the employment-potential model and store a new version")
        data_options(train)
        train.add_argument("--outcome", default="employed_12m", help="outcome column (0/1), default employed_12m")
        train.add_argument("--features", default=None, metavar="COL,COL,...",
                           help="feature columns (default: every column but keys, outcomes and those left out on "
                           "purpose, docs/impact.md)")
        train.add_argument("--test-from", default=None, metavar="DATE",
                           help="first reference date of the out-of-time test cohort (default: the latest fifth)")
        train.add_argument("--members", type=int, default=5, metavar="N",
                           help="bootstrap models for the uncertainty interval (default 5; 0 for none)")
        train.add_argument("--seed", type=int, default=0)
        train.add_argument("--format", choices=["table", "json"], default="table")
        add_operator_arguments(train)

        score = commands.add_parser("score", help="one probability per row of a table")
        score.add_argument("--data", type=Path, required=True, metavar="FILE")
        score.add_argument("--out", type=Path, required=True, metavar="FILE.csv|FILE.parquet")
        score.add_argument("--outcome", default="employed_12m")
        score.add_argument("--version", type=int, default=None, help="model version (default: the latest)")
        score.add_argument("--interval", action="store_true",
                           help="also the 90 %% interval (probability_low, probability_high); about 4 times slower")

        segments = commands.add_parser("segments", help="fit the client segments and store a new version")
        data_options(segments)
        segments.add_argument("--max-segments", type=int, default=9, metavar="K")
        segments.add_argument("--format", choices=["table", "json"], default="table")
        add_operator_arguments(segments)

        fairness = commands.add_parser("fairness", help="audit a model version's fairness and store the report")
        fairness.add_argument("--data", type=Path, default=None, metavar="FILE",
                              help="a table with the outcome (default: the version's test cohort from the database)")
        fairness.add_argument("--outcome", default="employed_12m")
        fairness.add_argument("--version", type=int, default=None)
        fairness.add_argument("--out", type=Path, default=None, metavar="REPORT.md")
        fairness.add_argument("--format", choices=["markdown", "json"], default="markdown")
        add_operator_arguments(fairness)

        effects = commands.add_parser(
            "effects", help="average causal effects of a treatment (each service) on an outcome, docs/effects.md")
        source = effects.add_mutually_exclusive_group(required=True)
        source.add_argument("--data", type=Path, default=None, metavar="FILE", help="any CSV or Parquet table")
        source.add_argument("--from-db", action="store_true",
                            help="the analysis table from the database: each client at the first month end of "
                            "the joint service, treatment service_started_1m, outcome employed_12m")
        effects.add_argument("--treatment", default=None, metavar="COL",
                             help="treatment column: 0/1 or levels (default with --from-db: service_started_1m)")
        effects.add_argument("--outcome", default=None, metavar="COL",
                             help="outcome column, numeric (default with --from-db: employed_12m)")
        effects.add_argument("--covariates", default=None, metavar="COL,COL,...",
                             help="the confounders to adjust for (required with --data; default with --from-db: "
                             "the client's situation at the reference date)")
        effects.add_argument("--control", default=None, metavar="LEVEL",
                             help="the comparison level of the treatment (default: 0/no for a binary one, 'none')")
        effects.add_argument("--by", default=None, metavar="COL", help="also the effects within each value of COL")
        effects.add_argument("--where", default=None, metavar="EXPRESSION",
                             help="keep only the rows matching this pandas query, e.g. \"age >= 25\"")
        effects.add_argument("--estimands", default="ATE,ATT", metavar="ATE,ATT")
        effects.add_argument("--folds", type=int, default=5)
        effects.add_argument("--repetitions", type=int, default=None,
                             help="repeated cross-fitting with new splits (default 11 up to 50,000 rows, 3 up to "
                             "250,000, else 1)")
        effects.add_argument("--alpha", type=float, default=None,
                             help="overlap trimming threshold on the propensity (default: Crump et al.'s rule for "
                             "the ATE, 0.05 for the ATT)")
        effects.add_argument("--seed", type=int, default=0)
        effects.add_argument("--observed-until", default=None, metavar="DATE",
                             help="with --from-db: the register data's last day (default: today)")
        effects.add_argument("--policy", action="store_true",
                             help="also learn an interpretable allocation rule (policy tree) and its value")
        effects.add_argument("--policy-depth", type=int, default=2, metavar="D", help="the rule's depth (1–4)")
        effects.add_argument("--no-client-effects", action="store_true",
                             help="skip the per-client effects (DR-learner) that the client page's suggestions use")
        effects.add_argument("--store", action="store_true", help="store the results for the What works page")
        effects.add_argument("--format", choices=["table", "json", "report"], default="table",
                             help="table (default), json (a list of estimates) or report (every figure, JSON)")
        add_operator_arguments(effects)

        suggest = commands.add_parser(
            "suggest", help="services that may help one client, ranked by the estimated effect on that client")
        suggest.add_argument("--client", type=int, required=True, help="the client's id")
        suggest.add_argument("--as-of", default=None, metavar="DATE", help="the day (default: today)")
        suggest.add_argument("--format", choices=["table", "json"], default="table")
        add_operator_arguments(suggest)

        models = commands.add_parser("models", help="list the stored model versions")
        models.add_argument("--format", choices=["table", "json"], default="table")

        schedule = commands.add_parser("schedule", help="queue the periodic retraining for the worker")
        schedule.add_argument("--now", action="store_true", help="queue one retraining to run now")

    def handle(self, *args: Any, **opts: Any) -> None:
        from polku.impact.potential import TrainingError
        from polku.impact.services import DataError

        with translation.override(opts.get("language") or translation.get_language() or "fi"):
            try:
                getattr(self, "_" + opts["what"])(opts)
            except (TrainingError, DataError) as exc:
                raise CommandError(str(exc)) from exc

    # -- data -------------------------------------------------------------------------------------------------
    def _table(self, opts: dict[str, Any], progress: Progress, actor_name: str) -> tuple[pd.DataFrame, str]:
        from polku.impact.services import database_table, default_reference_dates, read_table

        if opts.get("data") is not None:
            progress(_("reading %(path)s") % {"path": opts["data"]})
            return read_table(opts["data"]), str(opts["data"])
        if not 1 <= opts["step_months"] <= 24:
            raise CommandError(_("--step-months must be between 1 and 24."))
        until = _date(opts.get("observed_until"), "--observed-until")
        dates = default_reference_dates(opts["step_months"], until)
        if not dates:
            raise CommandError(_("The database has no joint-service episodes to learn from."))
        with transaction.atomic():
            table = database_table(dates, observed_until=until, actor_name=actor_name,
                                   user=operator(opts.get("user")), progress=progress.dates)
        return table, f"database ({len(dates)} reference dates {dates[0]}–{dates[-1]})"

    # -- commands ---------------------------------------------------------------------------------------------
    def _train(self, opts: dict[str, Any]) -> None:
        from polku.impact.services import train_and_store

        progress = Progress()
        table, source = self._table(opts, progress, "polku impact train")
        features = [c.strip() for c in opts["features"].split(",") if c.strip()] if opts["features"] else None
        if opts["members"] < 0 or opts["members"] > 50:
            raise CommandError(_("--members must be between 0 and 50."))
        version, metrics = train_and_store(
            table, outcome=opts["outcome"], features=features, data_source=source, trained_by="polku impact train",
            user=operator(opts.get("user")), test_from=_date(opts["test_from"], "--test-from"),
            members=opts["members"], seed=opts["seed"], progress=progress,
        )
        if opts["format"] == "json":
            self.stdout.write(json.dumps({"version": version.version, "outcome": version.outcome,
                                          "data_hash": version.data_hash, "metrics": metrics}, indent=2))
            return
        test = metrics["test"]
        self.stdout.write(_("Stored %(model)s (data %(hash)s…, %(rows)d rows).") % {
            "model": version, "hash": version.data_hash[:12], "rows": version.rows})
        self.stdout.write(_("Out-of-time test from %(date)s: %(n)d rows, AUC %(auc)s, calibration error %(ece)s, "
                            "Brier %(brier)s, observed rate %(rate)s, mean estimate %(mean)s.") % {
            "date": metrics.get("test_from") or _("random persons"), "n": test["n"], "auc": _f(test["auc"]),
            "ece": _f(test["ece"]), "brier": _f(test["brier"]), "rate": _f(test["base_rate"]),
            "mean": _f(test["mean_predicted"])})
        for column, groups in metrics.get("groups", {}).items():
            for value, figures in groups.items():
                self.stdout.write(f"  {column}={value}: n {figures['n']}, AUC {_f(figures['auc'])}, "
                                  f"ECE {_f(figures['ece'])}")

    def _score(self, opts: dict[str, Any]) -> None:
        from polku.impact import registry
        from polku.impact.models import ModelKind
        from polku.impact.services import read_table, score, write_table

        version = registry.get_version(ModelKind.POTENTIAL, opts["outcome"], opts["version"])
        if version is None:
            raise CommandError(_("No trained model for %(outcome)s: run polku impact train first.")
                               % {"outcome": opts["outcome"]})
        progress = Progress()
        table = read_table(opts["data"])
        progress(_("scoring %(rows)d rows with %(model)s") % {"rows": len(table), "model": version})
        started = time.monotonic()
        scored = score(table, version, interval=opts["interval"])
        seconds = time.monotonic() - started
        keys = [c for c in ("person", "reference_date") if c in table.columns]
        out = pd.concat([table[keys].reset_index(drop=True), scored.reset_index(drop=True)], axis=1)
        write_table(out, opts["out"])
        self.stdout.write(_("%(rows)d rows scored with %(model)s in %(seconds).1f s (%(rate)s rows/s) and written "
                            "to %(path)s.") % {"rows": len(out), "model": version, "seconds": seconds,
                                               "rate": f"{len(out) / max(seconds, 1e-9):,.0f}",
                                               "path": opts["out"]})

    def _segments(self, opts: dict[str, Any]) -> None:
        from polku.impact import segments
        from polku.impact.services import train_segments_and_store

        if not 2 <= opts["max_segments"] <= 20:
            raise CommandError(_("--max-segments must be between 2 and 20."))
        progress = Progress()
        table, source = self._table(opts, progress, "polku impact segments")
        version, model = train_segments_and_store(table, data_source=source, trained_by="polku impact segments",
                                                  user=operator(opts.get("user")),
                                                  max_segments=opts["max_segments"], progress=progress)
        summary = segments.segment_summary(model, table)
        threshold = int(settings.POLKU["SMALL_CELL_THRESHOLD"])
        if opts["format"] == "json":
            self.stdout.write(json.dumps({"version": version.version, "metrics": version.metrics,
                                          "segments": summary}, indent=2, default=str, ensure_ascii=False))
            return
        self.stdout.write(_("Stored %(model)s: %(k)d segments chosen by BIC, stability across seeds (adjusted Rand "
                            "index) %(ari).2f.") % {"model": version, "k": model.k, "ari": model.stability_ari})
        employed = _("employed at 12 months")
        for row in summary:
            text = row["description"]
            size = row["n"] if row["n"] is not None else _("fewer than %(k)d") % {"k": threshold}
            self.stdout.write(f"  {row['segment']}. {text['title']} — n {size}, "
                              f"{employed} {_f(row['employed_12m_rate'])}")
            self.stdout.write(f"     {text['summary']}")

    def _fairness(self, opts: dict[str, Any]) -> None:
        from polku.impact import registry
        from polku.impact.models import ModelKind
        from polku.impact.services import audit_version, database_table, read_table

        version = registry.get_version(ModelKind.POTENTIAL, opts["outcome"], opts["version"])
        if version is None:
            raise CommandError(_("No trained model for %(outcome)s: run polku impact train first.")
                               % {"outcome": opts["outcome"]})
        progress = Progress()
        if opts["data"] is not None:
            rows = read_table(opts["data"])
        else:
            test_from = version.metrics.get("test_from")
            span = version.metrics.get("test_reference_dates") or []
            if not test_from or not span:
                raise CommandError(_("This version has no out-of-time test cohort; give --data."))
            from polku.impact.table import month_ends

            dates = month_ends(dt.date.fromisoformat(span[0]), dt.date.fromisoformat(span[1]),
                               int(version.parameters.get("step_months", 3) or 3))
            with transaction.atomic():
                rows = database_table(dates, actor_name="polku impact fairness", user=operator(opts.get("user")),
                                      progress=progress.dates)
        if version.outcome not in rows.columns:
            raise CommandError(_("The table has no outcome column %(outcome)s.") % {"outcome": version.outcome})
        rows = rows[rows[version.outcome].notna()]
        model = registry.load_model(version)
        probability = model.predict(rows, interval=False)["probability"].to_numpy()
        report = audit_version(version, rows, probability)
        if opts["out"] is not None:
            opts["out"].write_text(report.text, encoding="utf-8")
        if opts["format"] == "json":
            self.stdout.write(json.dumps(report.report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(report.text)

    def _effects(self, opts: dict[str, Any]) -> None:
        from polku.impact import effects as fx
        from polku.impact.services import effects_table, read_table, store_effects

        progress = Progress()
        for option, low, high in (("folds", 2, 20), ("repetitions", 1, 50)):
            if opts[option] is not None and not low <= opts[option] <= high:
                raise CommandError(_("--%(option)s must be between %(low)d and %(high)d.")
                                   % {"option": option, "low": low, "high": high})
        if opts["alpha"] is not None and not 0 <= opts["alpha"] < 0.5:
            raise CommandError(_("--alpha must be at least 0 and below 0.5."))
        estimands = [e.strip().upper() for e in opts["estimands"].split(",") if e.strip()]
        if not estimands or any(e not in fx.ESTIMANDS for e in estimands):
            raise CommandError(_("--estimands must list ATE and/or ATT."))
        if opts["data"] is not None:
            table, source = read_table(opts["data"]), str(opts["data"])
            if not opts["treatment"] or not opts["outcome"] or not opts["covariates"]:
                raise CommandError(_("With --data, name --treatment, --outcome and --covariates."))
            covariates = [c.strip() for c in opts["covariates"].split(",") if c.strip()]
        else:
            until = _date(opts.get("observed_until"), "--observed-until")
            with transaction.atomic():
                table, covariates = effects_table(observed_until=until, user=operator(opts.get("user")),
                                                  progress=progress.dates)
            source = "database (first month end of each joint-service episode)"
            if opts["covariates"]:
                covariates = [c.strip() for c in opts["covariates"].split(",") if c.strip()]
        treatment = opts["treatment"] or "service_started_1m"
        outcome = opts["outcome"] or "employed_12m"
        if opts["where"]:
            try:
                table = table.query(opts["where"])
            except Exception as exc:  # pandas raises many kinds for a bad expression
                raise CommandError(_("--where is not a valid condition on the table's columns: %(error)s")
                                   % {"error": exc}) from None
        settings_ = fx.EffectSettings(folds=opts["folds"], repetitions=opts["repetitions"], alpha=opts["alpha"],
                                      seed=opts["seed"])
        progress(_("estimating effects on %(rows)d rows") % {"rows": len(table)})
        try:
            report = fx.estimate_effects(table, treatment, outcome, covariates, control=opts["control"],
                                         by=opts["by"], estimands=estimands, settings=settings_, progress=progress)
        except fx.EffectError as exc:
            raise CommandError(effect_error_message(exc)) from None
        if len(report.nuisances.levels if report.nuisances else []) >= 2 and not opts["no_client_effects"]:
            from polku.impact.heterogeneity import fit_client_effects, summary

            progress(_("per-client effects (DR-learner)"))
            model = fit_client_effects(report, covariates, table)
            used = table.loc[report.encoded[0].index] if report.encoded is not None else table
            report.client_effects = {"summary": summary(model, used), "model": model.as_dict()}
        results = report.results()
        if opts["policy"]:
            from polku.impact.policy import learn_policy

            if not 1 <= opts["policy_depth"] <= 4:
                raise CommandError(_("--policy-depth must be between 1 and 4."))
            progress(_("learning the allocation rule"))
            results["policy"] = learn_policy(report, depth=opts["policy_depth"], seed=opts["seed"]).results()
            report.policy = results["policy"]
        if opts["data"] is None:
            from polku.impact.costs import client_groups, cost_effectiveness, group_rows, service_costs

            progress(_("service costs and the public-finance return"))
            costs = service_costs(until=_date(opts.get("observed_until"), "--observed-until"),
                                  actor_name="polku impact effects", user=operator(opts.get("user")))
            rows_for_costs = [e for e in results["estimates"] if not e["by"]]
            groups = None
            if opts["by"] == "segment":  # costs by segment: the segment of each client with costs, from the design
                rows_for_costs += group_rows(results["estimates"], "segment")
                groups = client_groups(table, "segment", costs["client_id"].unique() if len(costs) else [],
                                       actor_name="polku impact effects", user=operator(opts.get("user")))
            results["costs"] = cost_effectiveness(rows_for_costs, costs, segments=groups)
        if opts["store"]:
            run = store_effects(table, report, data_source=source, user=operator(opts.get("user")),
                                costs=results.get("costs"))
            progress(_("stored as effect run %(id)d") % {"id": run.pk})
        if opts["format"] == "json":
            self.stdout.write(json.dumps([{k: e[k] for k in JSON_KEYS} | {"by": e["by"], "group": e["group"]}
                                          for e in results["estimates"]], indent=2, ensure_ascii=False))
            return
        if opts["format"] == "report":
            printed = dict(results)
            if "client_effects" in printed:  # the model's coefficients are for the client page, not for reading
                printed["client_effects"] = {"summary": printed["client_effects"]["summary"]}
            self.stdout.write(json.dumps(printed, indent=2, ensure_ascii=False, default=str))
            return
        self.stdout.write(_("Effect of %(treatment)s on %(outcome)s against %(control)s: %(rows)d rows used of "
                            "%(all)d.") % {"treatment": treatment, "outcome": outcome,
                                           "control": report.control_level, "rows": report.rows_used,
                                           "all": report.rows})
        for e in results["estimates"]:
            group = f" [{e['by']}={e['group']}]" if e["by"] else ""
            self.stdout.write(
                f"  {e['estimand']} {e['treatment_level']}{group}: {_g(e['estimate'])} "
                f"(95 % {_g(e['ci_low'])} … {_g(e['ci_high'])}), n {e['n_treated']}/{e['n_control']}, "
                + _("trimmed %(n)d") % {"n": e["n_trimmed"]}
                + (", RV " + _g(e["robustness_value"]) if e["robustness_value"] is not None else ""))
        for level, balance in results["balance"].items():
            self.stdout.write("  " + _("%(level)s: largest standardised mean difference %(before)s before, "
                                       "%(after)s after weighting (ATT).") % {
                "level": level, "before": _g(fx.max_abs_smd(balance, "smd_before")),
                "after": _g(fx.max_abs_smd(balance, "smd_after_ATT"))})
        if "client_effects" in results:
            self.stdout.write(_("Per-client effects (DR-learner; the spread of the estimates over the clients):"))
            for item in results["client_effects"]["summary"]:
                self.stdout.write("  " + _("%(level)s: mean %(mean)s, 10th–90th percentile %(p10)s … %(p90)s") % {
                    "level": item["level"], "mean": _g(item["mean"]), "p10": _g(item["p10"]),
                    "p90": _g(item["p90"])})
        if "policy" in results:
            self._print_policy(results["policy"])
        if results.get("costs"):
            self._print_costs(results["costs"])
        for item in results["skipped"]:
            self.stdout.write("  " + _("not estimated: %(what)s") % {"what": json.dumps(item)})

    def _print_costs(self, costs: list[dict[str, Any]]) -> None:
        self.stdout.write(_("Costs (per person who got the service), cost per additional person in work and the "
                            "public-finance return per person with 95 per cent intervals:"))
        for row in costs:
            group = f" [segment={row['segment']}]" if row.get("segment") is not None else ""
            if row.get("suppressed") or row.get("mean_cost_eur") is None:
                self.stdout.write(f"  {row['treatment_level']}{group}: " + _("fewer persons than the small-cell "
                                                                               "threshold; not shown"))
                continue
            high = _eur(row["cost_per_employed_high_eur"]) if row.get("cost_per_employed_bounded") else \
                _("not bounded")
            per_employed = "–" if row.get("cost_per_employed_eur") is None else (
                f"{_eur(row['cost_per_employed_eur'])} € ({_eur(row['cost_per_employed_low_eur'])} … {high})")
            self.stdout.write(f"  {row['treatment_level']}{group}: " + _(
                "%(persons)d persons, mean cost %(cost)s €, per additional person in work %(per)s, return "
                "%(ret)s € (%(low)s … %(high)s)") % {
                "persons": row["treated_with_costs"], "cost": _eur(row["mean_cost_eur"]), "per": per_employed,
                "ret": _eur(row.get("return_per_treated_eur")), "low": _eur(row.get("return_low_eur")),
                "high": _eur(row.get("return_high_eur"))})

    def _print_policy(self, policy: dict[str, Any]) -> None:
        self.stdout.write(_("Allocation rule (a suggestion, never applied):"))
        for leaf in policy["rule"]:
            conditions = " " + _("and") + " "
            self.stdout.write("  " + _("if %(conditions)s: %(service)s (mean effect %(effect)s, %(n)d persons)") % {
                "conditions": conditions.join(leaf["conditions"]) or _("always"), "service": leaf["service"],
                "effect": _g(leaf["mean_reward"]), "n": leaf["persons"]})
        for key, label in (("value", _("value of the rule")), ("current_allocation", _("current allocation")),
                           ("best_single_service", _("best single service for everyone"))):
            item = policy[key]
            self.stdout.write(f"  {label}: {_g(item['value'])} (95 % {_g(item['ci_low'])} … {_g(item['ci_high'])})"
                              + (f" [{item['service']}]" if "service" in item else ""))

    def _suggest(self, opts: dict[str, Any]) -> None:
        from polku.core.errors import AccessDenied
        from polku.impact.selectors import service_suggestions

        user = operator(opts.get("user"))
        if user is None:
            raise CommandError(_("Name the professional who asks with --user: suggestions read the client's "
                                 "data, and the read is logged."))
        day = _date(opts.get("as_of"), "--as-of")
        try:
            found = service_suggestions(actor=user, client_id=opts["client"], today=day)
        except AccessDenied as exc:
            raise CommandError(str(exc)) from None
        if found is None:
            raise CommandError(_("No suggestions: no stored effect run has per-client effects (run polku impact "
                                 "effects --from-db --store), or the client has no open joint-service episode."))
        if opts["format"] == "json":
            classes = [{"service_class": c.service_class, "effect": round(c.effect, 4), "ci_low": round(c.low, 4),
                        "ci_high": round(c.high, 4), "under_way": c.under_way,
                        "reasons": [{"feature": r.feature, "value": r.value,
                                     "contribution": round(r.contribution, 4)} for r in c.reasons]}
                       for c in found.classes]
            services = [{"service": s.service.pk, "name": str(s.service), "provider": str(s.service.provider),
                         "service_class": s.service.service_class, "effect": round(s.effect.effect, 4),
                         "ci_low": round(s.effect.low, 4), "ci_high": round(s.effect.high, 4),
                         "waiting_days": s.waiting_days, "languages": list(s.service.languages or []),
                         "in_client_language": s.in_client_language,
                         "target_groups": list(s.service.target_groups or []),
                         "referral": None if s.referral is None else {
                             "id": s.referral.pk, "status": s.referral.status,
                             "created_at": s.referral.created_at.isoformat()},
                         "already_referred": s.already_referred} for s in found.services]
            self.stdout.write(json.dumps({
                "effect_run": found.run_id, "as_of": found.as_of.isoformat(), "hidden_reasons": found.hidden_reasons,
                "classes": classes, "services": services,
            }, ensure_ascii=False, indent=2))
            return
        self.stdout.write(_("Estimated change in the chance of being in work in 12 months if a service of this kind "
                            "starts now (95 %% interval); suggestions only, never applied:"))
        from polku.catalogue.models import ServiceClass

        names = dict(ServiceClass.choices)
        for c in found.classes:
            self.stdout.write(f"  {names.get(c.service_class, c.service_class)}: {c.effect * 100:+.1f} "
                              f"({c.interval_text})" + (" – " + _("already under way") if c.under_way else ""))
            for r in c.reasons:
                sign = "+" if r.contribution > 0 else "−"
                self.stdout.write(f"      {sign} {r.label}: {r.value}")
        if found.hidden_reasons:
            self.stdout.write("  " + ngettext("%(count)d reason comes from data you may not see.",
                                              "%(count)d reasons come from data you may not see.",
                                              found.hidden_reasons) % {"count": found.hidden_reasons})
        if not found.services:
            self.stdout.write(_("No active service offered in the client's municipality is estimated to help."))
        for i, s in enumerate(found.services, start=1):
            wait = "–" if s.waiting_days is None else f"{s.waiting_days:.0f} d"
            notes = []
            if s.in_client_language is False:
                notes.append(_("not in the client's language"))
            if s.referral is not None:
                notes.append(_("referred %(day)s: %(status)s (referral %(id)d)") % {
                    "day": timezone.localdate(s.referral.created_at).isoformat(),
                    "status": s.referral.get_status_display(), "id": s.referral.pk})
            self.stdout.write(f"{i:>2}. {s.service} – {s.service.provider!s}: {s.effect.effect * 100:+.1f} "
                              f"({s.effect.interval_text}), " + _("waiting time") + f" {wait}"
                              + "".join(f"; {n}" for n in notes))

    def _models(self, opts: dict[str, Any]) -> None:
        from polku.impact.models import ModelVersion

        versions = list(ModelVersion.objects.defer("artifact").order_by("kind", "outcome", "-version"))
        if opts["format"] == "json":
            self.stdout.write(json.dumps([
                {"kind": v.kind, "outcome": v.outcome, "version": v.version, "created_at": v.created_at.isoformat(),
                 "data_source": v.data_source, "data_hash": v.data_hash, "rows": v.rows, "features": v.features,
                 "parameters": v.parameters, "metrics": v.metrics} for v in versions], indent=2, default=str))
            return
        if not versions:
            self.stdout.write(_("No models yet: run polku impact train."))
        for v in versions:
            test = v.metrics.get("test") or {}
            figures = (f"AUC {_f(test.get('auc'))}, ECE {_f(test.get('ece'))}" if test
                       else f"k {v.metrics.get('k')}, ARI {_f(v.metrics.get('stability_ari'))}")
            self.stdout.write(f"{v}  {v.created_at:%Y-%m-%d %H:%M}  {v.rows} rows  {v.data_hash[:12]}  {figures}")

    def _schedule(self, opts: dict[str, Any]) -> None:
        from polku.impact.tasks import retrain_models, schedule_next

        if opts["now"]:
            result = retrain_models.enqueue(False)
            self.stdout.write(_("Retraining queued (%(id)s); `polku worker` runs it.") % {"id": result.id})
            return
        when = schedule_next()
        self.stdout.write(_("Retraining is queued for %(when)s; `polku worker` runs it, and each run queues the "
                            "next.") % {"when": when.strftime("%Y-%m-%d %H:%M")})


JSON_KEYS = ("estimand", "treatment_level", "control_level", "estimate", "ci_low", "ci_high", "n_treated",
             "n_control", "n_trimmed", "estimator")


def effect_error_message(exc: Any) -> str:
    """The translated message of an ``EffectError``."""
    messages = {
        "missing_columns": _("The table has no column(s): %(columns)s."),
        "no_covariates": _("Name at least one covariate (--covariates)."),
        "treatment_in_covariates": _("The treatment and the outcome cannot be covariates."),
        "treatment_is_outcome": _("The treatment and the outcome must be different columns."),
        "outcome_not_numeric": _("The outcome column %(column)s must be numeric; it holds %(value)r."),
        "one_level": _("The treatment column %(column)s has only one value among the usable rows."),
        "control_needed": _("Name the comparison level of %(column)s with --control (its values: %(levels)s)."),
        "unknown_control": _("The comparison level %(control)r is not a value of %(column)s (its values: "
                             "%(levels)s)."),
        "too_many_levels": _("The covariate %(column)s has %(levels)d different values (at most %(limit)d): "
                             "group it first."),
        "unknown_estimand": _("Unknown estimand %(estimand)s: use ATE or ATT."),
    }
    template = messages.get(exc.code)
    return template % exc.params if template else str(exc)


def _g(value: Any) -> str:
    return "–" if value is None else f"{float(value):.4g}"


def _eur(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.0f}".replace(",", "\u202f")


def _f(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"
