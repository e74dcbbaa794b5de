"""Pseudonymised analytics never hold a direct identifier: neither the analysis table export nor the indicator
facts have an identifying column, and no identity code, name, phone, email or address of the generated clients
appears anywhere in the exported file or in the fact tables. After a retention run they are still computed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

from polku.clients.models import Client
from polku.indicators.models import AssessmentChangeFact, ParticipationFact, ReferralFact
from polku.synth.generate import Options, generate

pytestmark = pytest.mark.django_db

START = dt.date(2022, 1, 1)
AS_OF = dt.date(2024, 12, 31)
IDENTIFYING = {"personal_identity_code", "identity_code", "hetu", "first_name", "last_name", "name", "phone",
               "email", "address", "client", "client_id", "birth_date", "user", "user_id"}


@pytest.fixture
def region(settings: Any) -> list[tuple[str, ...]]:
    settings.POLKU = {**settings.POLKU, "PSEUDONYM_KEY": "retention-test-key"}
    generate(Options(clients=300, seed=5, months=36, start=START))
    # The generator leaves contact details empty; give every client distinctive ones (one UPDATE).
    pk = Cast("id", CharField())
    Client.objects.update(phone=Concat(Value("+358 50 77"), pk), email=Concat(Value("henkilo"), pk,
                                                                             Value("@esimerkki.fi")),
                          address=Concat(Value("Tunnistekatu "), pk))
    return list(Client.objects.values_list("personal_identity_code", "first_name", "last_name", "phone", "email",
                                           "address"))


def _assert_absent(text: str, people: list[tuple[str, ...]]) -> None:
    for code, first, last, phone, email, address in people:
        assert code not in text
        assert phone not in text and email not in text and address not in text
        # Names are common words on their own; as whole cells they must not appear.
        assert f",{last}," not in text and f",{first}," not in text and f"{first} {last}" not in text


def test_the_analysis_table_export_has_no_direct_identifier(region: list[tuple[str, ...]], tmp_path: Path) -> None:
    out = tmp_path / "analysis.csv"
    call_command("export", "analysis-table", "--as-of", AS_OF.isoformat(), "--history", "2", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    table = pd.read_csv(out, dtype=str)
    assert len(table) > 100
    assert not IDENTIFYING & {c.lower() for c in table.columns}
    _assert_absent(text, region)
    # The pseudonym is a keyed hash, not anything of the person's own.
    assert table["person"].str.fullmatch(r"[0-9a-f]{32}").all()


def _fact_text(model: Any) -> tuple[list[str], str]:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        columns = [c[0] for c in cursor.description]
        return columns, "\n".join(",".join(str(v) for v in row) for row in cursor.fetchall())


def test_the_indicator_facts_have_no_direct_identifier(region: list[tuple[str, ...]]) -> None:
    call_command("indicators", "refresh", "--as-of", AS_OF.isoformat(), verbosity=0)
    assert ParticipationFact.objects.count() > 50
    client_ids = set(Client.objects.values_list("pk", flat=True))
    for model in (ParticipationFact, AssessmentChangeFact, ReferralFact):
        columns, text = _fact_text(model)
        assert not IDENTIFYING & {c.lower() for c in columns}, model
        _assert_absent("," + text.replace("\n", ",\n,") + ",", region)
    # ``person`` is a 60-bit keyed hash, not the client's id.
    persons = set(ParticipationFact.objects.values_list("person", flat=True))
    assert not persons & client_ids


def test_the_facts_are_the_same_after_the_records_are_anonymised(region: list[tuple[str, ...]]) -> None:
    from polku.retention.services import anonymise_clients

    call_command("indicators", "refresh", "--as-of", AS_OF.isoformat(), verbosity=0)
    columns = [f.name for f in ParticipationFact._meta.fields if f.name != "id"]
    before = sorted(ParticipationFact.objects.values_list(*columns))
    anonymise_clients(list(Client.objects.values_list("pk", flat=True)))
    assert not Client.objects.exclude(personal_identity_code__startswith="#").exists()
    call_command("indicators", "refresh", "--as-of", AS_OF.isoformat(), verbosity=0)
    assert sorted(ParticipationFact.objects.values_list(*columns)) == before
