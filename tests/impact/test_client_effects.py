"""Per-client effects (issue 8, item 2): the DR-learner recovers a known heterogeneous effect with honest intervals,
its stored model gives the same answers after a round trip, the command stores it, and the client page and
``polku impact suggest`` rank the services offered to a client by it (checked against the access policy, logged)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from polku.impact import effects as fx
from polku.impact.heterogeneity import ClientEffectModel, choose_alpha, fit_client_effects
from polku.impact.models import EffectRun


def _known_effects(n: int = 8000, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Coaching is given by need and helps more the higher the need (+0.10 + 0.08 × need on the probability
    scale); training is given at random and has no effect. Returns the table and each row's true coaching effect."""
    rng = np.random.default_rng(seed)
    need = rng.normal(size=n)
    age = rng.integers(20, 60, n).astype(float)
    region = rng.choice(["north", "south"], n)
    logits = np.stack([np.zeros(n), -0.8 + 0.7 * need, np.full(n, -1.2)], axis=1)
    choice = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    coaching_effect = 0.10 + 0.08 * need
    base = np.clip(0.40 - 0.06 * need + 0.002 * (age - 40), 0.05, 0.95)
    p = np.clip(base + np.where(choice == 1, coaching_effect, 0.0), 0.0, 1.0)
    frame = pd.DataFrame({"service": np.array(["none", "coaching", "training"])[choice],
                          "employed": (rng.random(n) < p).astype(int), "need": need, "age": age, "region": region})
    # the truth is on the probability scale, so the clipping at 0 and 1 is part of it
    true_coaching = np.clip(base + coaching_effect, 0, 1) - base
    return frame, true_coaching


@pytest.fixture(scope="module")
def known() -> tuple[pd.DataFrame, np.ndarray, fx.EffectReport, ClientEffectModel]:
    frame, truth = _known_effects()
    report = fx.estimate_effects(frame, "service", "employed", ["need", "age", "region"], control="none",
                                 estimands=("ATE",), settings=fx.EffectSettings(repetitions=1))
    return frame, truth, report, fit_client_effects(report, ["need", "age", "region"], frame)


@pytest.mark.model_metrics
def test_the_dr_learner_recovers_a_heterogeneous_effect(known: Any) -> None:
    """Each row's estimated coaching effect follows the true one (which grows with need): its error is well below
    that of giving everybody the average effect, most 95 % intervals contain the truth, need is the main reason,
    and the service with no effect gets about zero for everybody."""
    frame, truth, _report, model = known
    predicted = model.predict(frame)
    coaching = predicted[predicted["level"] == "coaching"].sort_values("row")
    estimate = coaching["effect"].to_numpy()
    pehe = float(np.sqrt(np.mean((estimate - truth) ** 2)))
    constant = float(np.sqrt(np.mean((truth - truth.mean()) ** 2)))
    assert pehe < 0.5 * constant, (pehe, constant)
    assert np.corrcoef(estimate, truth)[0, 1] > 0.9
    covered = (coaching["low"].to_numpy() <= truth) & (truth <= coaching["high"].to_numpy())
    assert covered.mean() >= 0.8, covered.mean()
    high_need = frame.index[frame["need"] > 1.5][0]
    parts = model.contributions(frame.loc[[high_need]], "coaching").drop("_base")
    assert parts.abs().idxmax() == "need" and parts["need"] > 0.05
    training = predicted[predicted["level"] == "training"]["effect"].to_numpy()
    assert np.abs(training).max() < 0.06, np.abs(training).max()


@pytest.mark.model_metrics
def test_the_stored_model_gives_the_same_effects_and_takes_new_rows(known: Any) -> None:
    frame, _truth, _report, model = known
    again = ClientEffectModel.from_dict(json.loads(json.dumps(model.as_dict())))
    pd.testing.assert_frame_equal(model.predict(frame.head(50)), again.predict(frame.head(50)))
    # one new row, a region never seen and no recorded need: still finite effects and intervals
    row = pd.DataFrame({"need": [np.nan], "age": [33.0], "region": ["east"]})
    one = again.predict(row)
    assert len(one) == 2 and np.isfinite(one[["effect", "low", "high"]].to_numpy()).all()
    assert (one["low"] <= one["effect"]).all() and (one["effect"] <= one["high"]).all()


@pytest.mark.model_metrics
def test_the_penalty_keeps_noise_from_looking_like_heterogeneity() -> None:
    """Pure noise around a constant: the one-standard-error rule picks the strongest penalty offered."""
    rng = np.random.default_rng(0)
    design = rng.normal(size=(3000, 20))
    target = 0.1 + rng.standard_t(2, size=3000)
    assert choose_alpha(design, target) >= 1e5


# --- the command ------------------------------------------------------------------------------------------------


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("impact", *args, stdout=out, language="en")
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_stores_the_per_client_model(tmp_path: Path) -> None:
    frame, _truth = _known_effects(n=3000)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    common = ["effects", "--data", str(path), "--treatment", "service", "--outcome", "employed", "--covariates",
              "need,age,region", "--repetitions", "1", "--estimands", "ATE"]
    text = _run(*common, "--store")
    assert "Per-client effects (DR-learner" in text and "coaching: mean" in text
    stored = EffectRun.objects.get().results["client_effects"]
    assert {s["level"] for s in stored["summary"]} == {"coaching", "training"}
    model = ClientEffectModel.from_dict(stored["model"])
    assert model.covariates == ["need", "age", "region"] and {m.level for m in model.levels} == {"coaching",
                                                                                                 "training"}
    report = json.loads(_run(*common, "--format", "report"))
    assert "summary" in report["client_effects"] and "model" not in report["client_effects"]
    skipped = json.loads(_run(*common, "--format", "report", "--no-client-effects"))
    assert "client_effects" not in skipped


# --- the client page and `polku impact suggest` -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_client_page_and_the_command_suggest_services_ranked_by_the_clients_effect(client: Any) -> None:
    """A small region whose history ends last month and a stored effect run of the database design: for a client's
    coordinator, services are ranked by the client's estimated effect (each read logged), the page shows them with
    a referral link, the command prints the same ranking, and a user without access gets neither."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from polku.audit.models import AccessLog
    from polku.core.choices import DataCategory
    from polku.core.errors import AccessDenied
    from polku.episodes.models import EpisodeParticipant
    from polku.impact.selectors import service_suggestions
    from polku.synth.generate import Options, generate

    today = timezone.localdate()
    generate(Options(clients=1500, seed=8, months=36, start=dt.date(today.year - 3, today.month, 1)))
    _run("effects", "--from-db", "--repetitions", "1", "--estimands", "ATE", "--store")
    participant = (EpisodeParticipant.objects.filter(episode__end_date__isnull=True, left_on__isnull=True,
                                                     responsible_person__isnull=False)
                   .select_related("responsible_person__user", "episode").order_by("episode__client_id").first())
    assert participant is not None
    client_id, user = participant.episode.client_id, participant.responsible_person.user

    def reads() -> int:
        return AccessLog.objects.filter(actor=user, client_id=client_id, category=DataCategory.EMPLOYMENT,
                                        allowed=True).count()

    before = reads()
    found = service_suggestions(actor=user, client_id=client_id)
    assert reads() == before + 1
    assert found is not None and found.classes
    order = [(s.effect.under_way, -s.effect.effect) for s in found.services]
    assert order == sorted(order) and all(s.effect.effect > 0 for s in found.services)
    assert all(-1 <= c.low <= c.effect <= c.high <= 1 for c in found.classes)

    client.force_login(user)
    page = client.get(f"/clients/{client_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="suggested-services"' in page and 'id="suggested-kinds"' in page
    if found.services:
        first = found.services[0].service
        assert f"/clients/{client_id}/referrals/new/?service={first.pk}" in page

    # Within a kind of service, those in the client's language come first.
    for a, b in zip(found.services, found.services[1:], strict=False):
        if a.effect.effect == b.effect.effect and a.in_client_language is False:
            assert b.in_client_language is False

    printed = json.loads(_run("suggest", "--client", str(client_id), "--user", user.username, "--format", "json"))
    assert [c["service_class"] for c in printed["classes"]] == [c.service_class for c in found.classes]
    assert [s["service"] for s in printed["services"]] == [s.service.pk for s in found.services]
    assert "suggestions only, never applied" in _run("suggest", "--client", str(client_id), "--user", user.username)
    with pytest.raises(CommandError, match="--user"):
        _run("suggest", "--client", str(client_id))

    # The client's referral to a suggested service: a draft or an open one is followed up, not made again; a
    # declined one can be made again. The page, the command and the API all say so.
    from polku.referrals.models import Referral, ReferralStatus
    from polku.referrals.services import referral_create

    assert found.services, "the region's client has services estimated to help"
    first = found.services[0].service
    referral = referral_create(actor=user, client_id=client_id, service_id=first.pk)
    again = service_suggestions(actor=user, client_id=client_id)
    assert again is not None
    marked = next(s for s in again.services if s.service.pk == first.pk)
    assert marked.referral.pk == referral.pk and marked.already_referred
    assert not any(s.already_referred for s in again.services if s.service.pk != first.pk)
    # Its kind is now under way: the kinds table says so and that kind's services go after the other kinds'.
    kind = next(c for c in again.classes if c.service_class == first.service_class)
    assert kind.under_way
    flags = [s.effect.under_way for s in again.services]
    assert flags == sorted(flags)
    page = client.get(f"/clients/{client_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page[page.index(f'id="suggested-service-{first.pk}"'):]
    row = row[:row.index("</tr>")]
    assert f"/referrals/{referral.pk}/" in row and "Draft" in row
    assert "already under way" in page[page.index('id="suggested-kinds"'):page.index('id="suggested-services-table"')]
    assert f"referrals/new/?service={first.pk}" not in row
    printed = json.loads(_run("suggest", "--client", str(client_id), "--user", user.username, "--format", "json"))
    listed = next(s for s in printed["services"] if s["service"] == first.pk)
    assert listed["referral"]["id"] == referral.pk and listed["already_referred"] is True
    Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.DECLINED)
    page = client.get(f"/clients/{client_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page[page.index(f'id="suggested-service-{first.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "Declined" in row and f"referrals/new/?service={first.pk}" in row

    # The API gives the same ranking to the coordinator; its read is logged.
    before = reads()
    answer = client.get(f"/api/v1/clients/{client_id}/suggested-services", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["available"] is True and reads() == before + 1
    assert [s["service"] for s in body["services"]] == [s.service.pk for s in found.services]
    assert [c["service_class"] for c in body["classes"]] == [c.service_class for c in found.classes]
    assert next(s for s in body["services"] if s["service"] == first.pk)["referral"]["status"] == "declined"
    assert client.get(f"/api/v1/clients/{client_id}/suggested-services?as_of=not-a-date").status_code == 422

    outsider = get_user_model().objects.create_user("outsider-no-staff", password="x" * 20)
    with pytest.raises(AccessDenied):
        service_suggestions(actor=outsider, client_id=client_id)
    assert AccessLog.objects.filter(actor=outsider, client_id=client_id, allowed=False).exists()
    with pytest.raises(CommandError):
        _run("suggest", "--client", str(client_id), "--user", outsider.username)
    client.force_login(outsider)
    assert client.get(f"/api/v1/clients/{client_id}/suggested-services").status_code == 404


def test_repetitions_follow_the_size_of_the_data() -> None:
    """Many repetitions of the cross-fitting where they are cheap, one where a single fit takes minutes."""
    settings = fx.EffectSettings()
    assert [settings.repetitions_for(n) for n in (1_000, 50_000, 50_001, 250_000, 250_001, 1_000_000)] == [
        11, 11, 3, 3, 1, 1]
    assert fx.EffectSettings(repetitions=5).repetitions_for(1_000_000) == 5


def test_a_service_is_in_the_clients_language_only_when_both_are_known() -> None:
    from types import SimpleNamespace

    from polku.impact.selectors import _in_language

    def service(*codes: str) -> Any:
        return SimpleNamespace(languages=list(codes))

    assert _in_language(service("fi", "sv"), "sv") is True
    assert _in_language(service("FI"), "fi") is True
    assert _in_language(service("fi"), "en") is False
    assert _in_language(service(), "fi") is None
    assert _in_language(service("fi"), "other") is None
    assert _in_language(service("fi"), "") is None


def test_suggestions_are_ordered_by_kind_under_way_effect_language_and_wait() -> None:
    from types import SimpleNamespace

    from polku.impact.selectors import ClassEffect, SuggestedService, suggestion_order

    strong, weak, running = (ClassEffect("a", 0.10, 0.0, 0.2, []), ClassEffect("b", 0.05, 0.0, 0.1, []),
                             ClassEffect("c", 0.30, 0.1, 0.5, [], under_way=True))

    def item(pk: int, effect: ClassEffect, wait: float | None, language: bool | None) -> SuggestedService:
        return SuggestedService(SimpleNamespace(pk=pk), effect, wait, language)

    items = [item(1, running, 5, True), item(2, weak, 1, True), item(3, strong, 40, False), item(4, strong, 90, True),
             item(5, strong, None, None), item(6, strong, 10, None)]
    assert [i.service.pk for i in sorted(items, key=suggestion_order)] == [6, 4, 5, 3, 2, 1]
