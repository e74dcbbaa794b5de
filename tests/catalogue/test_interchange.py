"""Service-catalogue import and export (issue 5): PTV-shaped JSON in and out without loss, HSDS 3.0 out, nothing
written from a file with any error, the same file twice changes nothing, and no input crashes the import."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polku.catalogue import vocabularies as vocab
from polku.catalogue.interchange import ImportReport, export_services, import_services
from polku.catalogue.models import CostUnit, Service, ServiceClass
from polku.catalogue.ptv import SERVICE_FIELDS
from polku.core.choices import DataCategory
from polku.core.errors import InvalidInput
from polku.organisations.models import Organisation, OrganisationKind
from polku.referrals.models import ReferralStatus

from .. import factories as f

SAMPLE = Path(__file__).parent / "data" / "ptv_sample.json"
ORG_FIELDS = ("name_fi", "name_sv", "name_en", "kind", "business_id", "municipality_code", "active",
              "national_catalogue_id")
CITY, REHAB, NGO = "2901234-7", "2901235-5", "2901236-3"


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text())
    return data


def write(tmp_path: Path, data: Any, name: str = "catalogue.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def services_snapshot() -> list[dict[str, Any]]:
    """Everything Polku stores about each service, with the provider by its Business ID."""
    rows = [{**{name: getattr(s, name) for name in SERVICE_FIELDS}, "provider": s.provider.business_id}
            for s in Service.objects.select_related("provider")]
    return sorted(rows, key=lambda r: (r["national_catalogue_id"], r["name_fi"], r["provider"]))


def organisations_snapshot(business_ids: list[str]) -> list[dict[str, Any]]:
    return [{name: getattr(o, name) for name in ORG_FIELDS}
            for o in Organisation.objects.filter(business_id__in=business_ids).order_by("business_id")]


def rich_catalogue() -> list[Organisation]:
    """Services that between them set every field Polku stores to something other than its default."""
    rehab = f.organisation(OrganisationKind.REHABILITATION_PROVIDER, "Kuntoutus Oy")
    rehab.name_sv, rehab.name_en, rehab.national_catalogue_id = "Rehabilitering Ab", "Rehab Ltd", "ptv-org-1"
    rehab.save()
    ngo = f.organisation(OrganisationKind.NGO, "Yhdistys ry")
    ngo.active, ngo.municipality_code = False, ""
    ngo.save()
    for index, service_class in enumerate(ServiceClass.values):
        categories = DataCategory.values
        f.service(
            rehab if index % 2 else ngo, categories[index % len(categories)],
            name_fi=f"Palvelu {index}", name_sv=f"Tjänst {index}" if index % 3 else "",
            name_en=f"Service {index}" if index % 4 else "",
            description_fi=f"Kuvaus {index}\nToinen rivi. " + "pitkä " * 40 if index % 5 else "",
            description_sv=f"Beskrivning {index}" if index % 2 else "", description_en=f"Description {index}",
            service_class=service_class,
            target_groups=[["long_term_unemployed", "KR1.6"], [], ["young_adrift"], ["KR1", "partial_work_ability"]][
                index % 4],
            languages=[["fi", "sv", "en"], ["fi"], [], ["fi", "other"]][index % 4],
            accessibility="Esteetön sisäänkäynti" if index % 2 else "",
            eligibility_notes=f"Vain työnhakijat {index}" if index % 3 else "",
            municipality_codes=[["091", "049"], [], ["837"]][index % 3],
            unit_cost=Decimal(f"{index * 37}.{index % 10}5"), cost_unit=CostUnit.values[index % 4],
            capacity=None if index % 4 == 0 else index * 3,
            national_catalogue_id="" if index % 3 == 0 else f"ptv-service-{index}",
            active=index % 5 != 0,
        )
    return [rehab, ngo]


# ------------------------------------------------------------------------------------------------------ import


def test_import__ptv_sample__creates_services_and_their_organisations(db: Any) -> None:
    report = import_services(SAMPLE)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert report.organisations_created == 3
    coaching = Service.objects.get(national_catalogue_id="05d2c1c3-92e2-4461-9264-e4739fb514e2")
    assert coaching.provider.business_id == CITY
    assert (coaching.name_fi, coaching.name_sv, coaching.name_en) == (
        "Työnhakuvalmennus", "Jobbsökarträning", "Job search coaching")
    assert coaching.description_fi.startswith("Ryhmävalmennus")  # the description, not the summary
    assert coaching.service_class == ServiceClass.EMPLOYMENT
    assert coaching.data_category == DataCategory.EMPLOYMENT
    assert coaching.municipality_codes == ["091", "049"]
    assert coaching.languages == ["fi", "sv", "en"]
    assert coaching.target_groups == ["KR1"]
    assert coaching.eligibility_notes.startswith("Työttömät")
    trial = Service.objects.get(name_fi="Työkokeilu")
    assert trial.provider.business_id == REHAB  # the one producer, not the responsible city
    assert trial.service_class == ServiceClass.WORK_TRIAL  # the first class that maps
    assert trial.municipality_codes == ["091", "049", "092", "235"]  # the region's municipalities
    assert trial.target_groups == ["KR1", "KR1.6"]
    advice = Service.objects.get(name_fi="Talous- ja velkaneuvonta")
    assert advice.municipality_codes == []  # nationwide
    assert advice.description_fi == "Apua velkojen selvittämiseen."  # only a summary: it is used
    assert advice.service_class == ServiceClass.DEBT_HOUSING
    workshop = Service.objects.get(name_fi="Nuorten taidetyöpaja")
    assert workshop.service_class == ServiceClass.OTHER
    assert workshop.active  # "Modified" is published with a pending draft
    assert ("services[3]", "serviceClasses") in {(w[0], w[1]) for w in report.warnings}
    ngo = Organisation.objects.get(business_id=NGO)
    assert ngo.kind == OrganisationKind.NGO
    assert ngo.national_catalogue_id == "6b0d4fca-a2d0-4177-9668-b5c720fd8441"


def test_import__same_file_twice__changes_nothing(db: Any) -> None:
    import_services(SAMPLE)
    services, orgs = services_snapshot(), organisations_snapshot([CITY, REHAB, NGO])

    report = import_services(SAMPLE)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert (report.organisations_created, report.organisations_linked) == (0, 0)
    assert services_snapshot() == services
    assert organisations_snapshot([CITY, REHAB, NGO]) == orgs


def test_import__one_bad_service__writes_nothing(db: Any, tmp_path: Path) -> None:
    data = sample()
    data["itemList"][2]["polku:unitCost"] = "-5"
    data["itemList"][3]["serviceNames"] = []
    orgs_before = Organisation.objects.count()

    report = import_services(write(tmp_path, data))

    assert {(where, name) for where, name, _ in report.errors} == {
        ("services[2]", "polku:unitCost"), ("services[3]", "serviceNames")}
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert Service.objects.count() == 0
    assert Organisation.objects.count() == orgs_before
    with translation.override("en"):
        assert "nothing was written" in str(report)


def test_import__invalid_model_value__reported_and_nothing_written(db: Any, tmp_path: Path) -> None:
    data = sample()
    data["itemList"][0]["serviceNames"][0]["value"] = "x" * 201  # over name_fi's 200 characters
    data["itemList"][1]["polku:unitCost"] = "1.234"  # three decimals

    report = import_services(write(tmp_path, data))

    assert {(where, name) for where, name, _ in report.errors} == {
        ("services[0]", "serviceNames (name_fi)"), ("services[1]", "polku:unitCost (unit_cost)")}
    assert Service.objects.count() == 0


def test_import__dry_run__counts_but_writes_nothing(db: Any) -> None:
    report = import_services(SAMPLE, dry_run=True)

    assert report.errors == []
    assert (report.created, report.organisations_created) == (4, 3)
    assert Service.objects.count() == 0
    assert not Organisation.objects.filter(business_id__in=[CITY, REHAB, NGO]).exists()
    with translation.override("en"):
        assert "Dry run" in str(report)


def test_import__organisation_known_by_business_id__linked_not_duplicated(db: Any) -> None:
    city = Organisation.objects.create(name_fi="Kaupunki", kind=OrganisationKind.EMPLOYMENT_SERVICES,
                                       business_id=CITY)

    report = import_services(SAMPLE)

    assert report.errors == []
    assert (report.organisations_created, report.organisations_linked) == (2, 1)
    city.refresh_from_db()
    assert city.national_catalogue_id == "a372cf6f-9f0b-48c4-b79c-684a85e927b2"
    assert city.name_fi == "Kaupunki"  # Polku's own organisation data is not overwritten
    assert city.kind == OrganisationKind.EMPLOYMENT_SERVICES
    assert Organisation.objects.filter(business_id=CITY).count() == 1


def test_import__organisation_with_other_ptv_id__refused(db: Any) -> None:
    Organisation.objects.create(name_fi="Kaupunki", kind=OrganisationKind.EMPLOYMENT_SERVICES,
                                business_id=CITY, national_catalogue_id="another-id")

    report = import_services(SAMPLE)

    assert report.errors and all(name == "organizations" for _, name, _ in report.errors)
    assert Service.objects.count() == 0


def test_import__unknown_organisation__refused(db: Any, tmp_path: Path) -> None:
    data = sample()
    del data["organizations"]

    report = import_services(write(tmp_path, data))

    assert len(report.errors) == 3  # one for each organisation
    assert Service.objects.count() == 0


def test_import__plain_ptv_update__keeps_what_only_polku_knows(db: Any, tmp_path: Path) -> None:
    import_services(SAMPLE)
    coaching = Service.objects.get(name_fi="Työnhakuvalmennus")
    coaching.service_class = ServiceClass.TRAINING
    coaching.unit_cost, coaching.capacity, coaching.accessibility = Decimal("12.50"), 7, "Pyörätuoliluiska"
    coaching.target_groups = ["long_term_unemployed", "KR1"]
    coaching.save()
    data = sample()
    data["itemList"][0]["serviceNames"][0]["value"] = "Työnhakuvalmennus 2.0"
    data["itemList"][0]["targetGroups"].append({"code": "KR1.3"})

    report = import_services(write(tmp_path, data))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 3)
    coaching.refresh_from_db()
    assert coaching.name_fi == "Työnhakuvalmennus 2.0"
    assert (coaching.service_class, coaching.unit_cost, coaching.capacity, coaching.accessibility) == (
        ServiceClass.TRAINING, Decimal("12.50"), 7, "Pyörätuoliluiska")
    assert coaching.target_groups == ["long_term_unemployed", "KR1", "KR1.3"]


def test_import__queries_do_not_grow_with_the_number_of_services(db: Any, tmp_path: Path) -> None:
    def file_with(count: int) -> Path:
        data = sample()
        template = data["itemList"][0]
        data["itemList"] = [{**copy.deepcopy(template), "id": f"bulk-{count}-{i}"} for i in range(count)]
        return write(tmp_path, data, f"bulk{count}.json")

    counts = []
    for count in (3, 60):
        with CaptureQueriesContext(connection) as queries:
            report = import_services(file_with(count))
        assert report.errors == [] and report.created == count
        counts.append(len(queries))
    assert counts[1] <= counts[0] + 2  # bulk writes may take another batch


@pytest.mark.parametrize("content", [
    b"", b"{", b"\xff\xfe", b"[1, 2]", b'"text"', b"{}", b'{"services": 5}', b'{"services": [{"serviceNames": 1}]}',
    b'{"services": [{"serviceNames": [{"language": "fi", "value": "\\ud800"}], "organizations": []}]}',
    b'{"services": [{"serviceNames": [{"language": "fi", "value": "a\\u0000b"}]}]}',
    b'{"services": [{"serviceNames": [{"language": "fi", "value": "A"}], "polku:unitCost": NaN}]}',
    b"[" * 100_000,
])
def test_import__malformed_file__errors_not_exceptions(db: Any, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)

    report = import_services(path)

    assert report.errors
    assert Service.objects.count() == 0


def test_import__missing_file__error(db: Any, tmp_path: Path) -> None:
    report = import_services(tmp_path / "nowhere.json")

    assert report.errors and report.errors[0][0].endswith("nowhere.json")


def test_service_class_from_ptv__exact_then_main_class_then_none() -> None:
    assert vocab.service_class_from_ptv(["P10.4", "P10.1"]) == ServiceClass.VOCATIONAL_REHABILITATION
    assert vocab.service_class_from_ptv(["P25.2", "P4.10"]) == ServiceClass.SOCIAL_WORK  # via main class P4
    assert vocab.service_class_from_ptv(["P25.2"]) is None
    assert vocab.service_class_from_ptv([]) is None
    # every class Polku exports as maps back to a class (not necessarily the same: the PTV classes are coarser)
    for polku_class, code in vocab.SERVICE_CLASS_TO_PTV.items():
        if code:
            assert vocab.service_class_from_ptv([code]) is not None, polku_class
            assert code in vocab.PTV_SERVICE_CLASS_NAMES


# ------------------------------------------------------------------------------------------------------ export


def test_round_trip__ptv__loses_nothing_polku_stores(db: Any, tmp_path: Path) -> None:
    orgs = rich_catalogue()
    business_ids = [o.business_id for o in orgs]
    exported = export_services("ptv")
    services, organisations = services_snapshot(), organisations_snapshot(business_ids)
    assert len(services) == len(ServiceClass.values)
    path = write(tmp_path, exported)

    same_db = import_services(path)  # into the catalogue it came from: nothing to do
    assert same_db.errors == []
    assert (same_db.created, same_db.updated, same_db.unchanged) == (0, 0, len(services))

    Service.objects.all().delete()
    Organisation.objects.filter(business_id__in=business_ids).delete()
    report = import_services(path)  # into an empty catalogue: everything comes back

    assert report.errors == []
    assert (report.created, report.organisations_created) == (len(services), len(orgs))
    assert services_snapshot() == services
    assert organisations_snapshot(business_ids) == organisations
    assert export_services("ptv") == exported


def test_export__ptv__shape(db: Any) -> None:
    rich_catalogue()

    data = export_services("ptv")

    assert isinstance(data, dict)
    ids = {o["id"] for o in data["organizations"]} | {o["businessCode"] for o in data["organizations"]}
    for service in data["services"]:
        assert service["serviceNames"][0] == {"type": "Name", "language": "fi", "value": service["serviceNames"][0][
            "value"]}
        assert service["targetGroups"][0]["code"] == "KR1"
        assert service["areaType"] in {"Nationwide", "LimitedType"}
        assert service["publishingStatus"] in {"Published", "Deleted"}
        for entry in service["organizations"]:
            assert entry["roleType"] in {"Responsible", "Producer"}
            assert (entry["organization"]["id"] or entry["organization"]["businessCode"]) in ids
        for summary in (d for d in service["serviceDescriptions"] if d["type"] == "Summary"):
            assert len(summary["value"]) <= 150
        for item in service["serviceClasses"]:
            assert item["uri"] == vocab.SERVICE_CLASS_URI + item["code"]


#: HSDS 3.0 tables: the fields each row must have, and the fields that point to another table's id.
HSDS_REQUIRED = {
    "organization": {"id", "name", "description"},
    "organization_identifier": {"id", "organization_id", "identifier_type", "identifier"},
    "service": {"id", "name", "status", "organization_id"},
    "language": {"id", "service_id", "name"},
    "service_area": {"id", "service_id", "name"},
    "cost_option": {"id", "service_id", "currency", "amount"},
    "unit": {"id", "name"},
    "service_capacity": {"id", "service_id", "unit_id", "available", "maximum", "updated"},
    "taxonomy": {"id", "name", "description"},
    "taxonomy_term": {"id", "name", "description", "taxonomy_id"},
    "attribute": {"id", "link_id", "link_entity", "taxonomy_term_id"},
    "location": {"id"},
    "service_at_location": {"id", "service_id", "location_id"},
}
HSDS_REFERENCES = {
    ("organization_identifier", "organization_id"): "organization",
    ("service", "organization_id"): "organization",
    ("language", "service_id"): "service",
    ("service_area", "service_id"): "service",
    ("cost_option", "service_id"): "service",
    ("service_capacity", "service_id"): "service",
    ("service_capacity", "unit_id"): "unit",
    ("taxonomy_term", "taxonomy_id"): "taxonomy",
    ("attribute", "taxonomy_term_id"): "taxonomy_term",
}


def check_hsds(data: dict[str, Any]) -> None:
    assert data["hsds_version"] == "3.0"
    ids: dict[str, set[str]] = {}
    for table, required in HSDS_REQUIRED.items():
        rows = data[table]
        assert isinstance(rows, list), table
        for row in rows:
            assert required <= row.keys(), (table, required - row.keys())
        ids[table] = {row["id"] for row in rows}
        assert len(ids[table]) == len(rows), f"duplicate ids in {table}"
    for (table, name), target in HSDS_REFERENCES.items():
        for row in data[table]:
            assert row[name] in ids[target], (table, name, row[name])
    for row in data["attribute"]:
        assert row["link_id"] in ids[row["link_entity"]]
    for row in data["service"]:
        assert row["status"] in {"active", "inactive", "defunct", "temporarily closed"}


def test_export__hsds__structure_and_references(db: Any) -> None:
    rehab, _ = rich_catalogue()
    busy = Service.objects.filter(capacity__isnull=False, provider=rehab).first()
    assert busy is not None
    client, sender = f.client(), f.organisation()
    f.referral(client, busy, sender, f.user(), status=ReferralStatus.STARTED)

    data = export_services("hsds")

    assert isinstance(data, dict)
    check_hsds(data)
    assert len(data["service"]) == Service.objects.count()
    by_id = {row["id"]: row for row in data["service"]}
    capacity = next(row for row in data["service_capacity"] if by_id[row["service_id"]]["name"] == busy.name_fi)
    assert (capacity["maximum"], capacity["available"]) == (busy.capacity, busy.capacity - 1)
    identifiers = {(row["identifier_type"], row["identifier"]) for row in data["organization_identifier"]}
    assert ("Y-tunnus", rehab.business_id) in identifiers and ("PTV", "ptv-org-1") in identifiers
    terms = {row["id"]: row for row in data["taxonomy_term"]}
    values = {(terms[a["taxonomy_term_id"]]["code"], a["value"]) for a in data["attribute"] if a["link_id"] == by_id[
        next(i for i, row in by_id.items() if row["name"] == busy.name_fi)]["id"]}
    assert (busy.service_class, None) in values
    assert ("national_catalogue_id", busy.national_catalogue_id) in values
    costs = {row["service_id"]: row for row in data["cost_option"]}
    assert costs[capacity["service_id"]]["amount"] == float(busy.unit_cost)


def test_export__hsds__repeated_list_entries__one_row_each(db: Any) -> None:
    f.service(languages=["fi", "fi"], municipality_codes=["091", "091"], target_groups=["KR1", "KR1", "x", "x"])

    data = export_services("hsds")

    assert isinstance(data, dict)
    check_hsds(data)
    assert (len(data["language"]), len(data["service_area"])) == (1, 1)


def test_export__hsds__empty_catalogue(db: Any) -> None:
    data = export_services("hsds")

    assert isinstance(data, dict)
    check_hsds(data)
    assert data["service"] == []


def test_export__unknown_format__invalid_input(db: Any) -> None:
    with translation.override("en"), pytest.raises(InvalidInput) as raised:
        export_services("csv")

    assert "Unknown export format" in str(raised.value)
    assert "format" in raised.value.errors


# ----------------------------------------------------------------------------------------------------- hypothesis


KEYS = ["id", "services", "organizations", "itemList", "serviceNames", "serviceDescriptions", "language", "value",
        "type", "organization", "roleType", "businessCode", "areas", "areaType", "code", "municipalities",
        "serviceClasses", "targetGroups", "languages", "requirements", "publishingStatus", "polku:unitCost",
        "polku:capacity", "polku:serviceClass", "polku:targetGroups", "polku:costUnit", "organizationNames"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(KEYS),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8),
                                                                     children, max_size=5),
    max_leaves=25,
)


def _slots(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            _slots(item, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            _slots(item, found)
    return found


@st.composite
def mutated_samples(draw: Any) -> Any:
    """The sample file with a few values replaced by random JSON or removed."""
    data = sample()
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data, [])
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(json_values)
    return data


def _import_never_crashes(path: Path, data: Any, dry_run: bool) -> None:
    path.write_text(json.dumps(data))
    before = Service.objects.count()
    report = import_services(path, dry_run=dry_run)
    assert isinstance(report, ImportReport)
    str(report)
    if report.errors or dry_run:
        assert Service.objects.count() == before


HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])


@HYPOTHESIS
@given(data=json_values, dry_run=st.booleans())
def test_import__random_json__never_crashes(db: Any, tmp_path_factory: Any, data: Any, dry_run: bool) -> None:
    _import_never_crashes(tmp_path_factory.mktemp("random") / "in.json", data, dry_run)


@HYPOTHESIS
@given(data=mutated_samples(), dry_run=st.booleans())
def test_import__mutated_sample__never_crashes(db: Any, tmp_path_factory: Any, data: Any, dry_run: bool) -> None:
    _import_never_crashes(tmp_path_factory.mktemp("mutated") / "in.json", data, dry_run)
