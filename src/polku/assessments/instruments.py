"""Instruments shipped with Polku. Sources and the status of each item's wording are in docs/domain.md.

Only wording that is public is shipped; instruments whose item wording is licensed are shipped as
*placeholders* (structure and scoring only, ``placeholder=True``) until a licence holder loads the wording.
"""

from __future__ import annotations

from typing import Any

WORK_ABILITY_SCORE: dict[str, Any] = {
    "code": "work-ability-score",
    "name_fi": "Työkykypistemäärä (nykyinen työkyky 0–10)",
    "name_sv": "Arbetsförmågepoäng (nuvarande arbetsförmåga 0–10)",
    "name_en": "Work Ability Score (current work ability 0–10)",
    "description_fi": "Työkykyindeksin ensimmäinen kysymys: nykyinen työkyky verrattuna elinaikaiseen parhaaseen.",
    "description_sv": "Arbetsförmågeindexets första fråga: nuvarande arbetsförmåga jämfört med livstidens bästa.",
    "description_en": "The first item of the Work Ability Index: current work ability compared with the "
    "lifetime best.",
    "data_category": "health",
    "scoring_rule": "sum",
    "higher_is_better": True,
    "placeholder": False,
    # Jääskeläinen et al. 2016 (docs/domain.md §5): poor 0–5, moderate 6–7, good/excellent 8–10.
    "bands": [
        {"code": "poor", "min": 0, "max": 5, "label_fi": "Heikko", "label_sv": "Dålig", "label_en": "Poor"},
        {"code": "moderate", "min": 6, "max": 7, "label_fi": "Kohtalainen", "label_sv": "Måttlig",
         "label_en": "Moderate"},
        {"code": "good", "min": 8, "max": 10, "label_fi": "Hyvä tai erinomainen", "label_sv": "God eller utmärkt",
         "label_en": "Good or excellent"},
    ],
    "source": "Work Ability Index, item 1 (Ilmarinen 2007; Finnish Institute of Occupational Health). "
    "See docs/domain.md.",
    "items": [
        {
            "code": "was", "position": 1, "domain": "work_ability", "scale_min": 0, "scale_max": 10,
            # fi and en: the published wording (docs/domain.md §5); sv: Polku's translation.
            "text_fi": "Oletetaan, että työkykysi on parhaimmillaan saanut 10 pistettä. Minkä pistemäärän antaisit "
            "nykyiselle työkyvyllesi?",
            "text_sv": "Anta att din arbetsförmåga när den var som bäst fick 10 poäng. Hur många poäng skulle du "
            "ge din nuvarande arbetsförmåga?",
            "text_en": "Assuming that your work ability at its best has a value of 10 points, how many points "
            "would you give your current work ability?",
            "scale_labels": {"0": "0", "10": "10"},
        }
    ],
}

def _wai_item(code: str, position: int, low: int, high: int, fi: str, sv: str, en: str) -> dict[str, Any]:
    marker = {"fi": "[Paikanpitäjä: lisensoitu sanamuoto] ", "sv": "[Platshållare: licensierad formulering] ",
              "en": "[Placeholder: licensed wording] "}
    return {"code": code, "position": position, "domain": "work_ability", "scale_min": low, "scale_max": high,
            "text_fi": marker["fi"] + fi, "text_sv": marker["sv"] + sv, "text_en": marker["en"] + en,
            "scale_labels": {}}


#: The Work Ability Index: structure, scales and bands are public (docs/domain.md §5); the questionnaire's
#: wording is FIOH's and its licence is not confirmed, so the items carry only what they measure.
WORK_ABILITY_INDEX: dict[str, Any] = {
    "code": "work-ability-index",
    "name_fi": "Työkykyindeksi (paikanpitäjä)",
    "name_sv": "Arbetsförmågeindex (platshållare)",
    "name_en": "Work Ability Index (placeholder)",
    "description_fi": "Seitsemän osiota, pisteet 7–49. Kysymysten sanamuoto on Työterveyslaitoksen.",
    "description_sv": "Sju delar, poäng 7–49. Frågornas formulering tillhör Arbetshälsoinstitutet.",
    "description_en": "Seven items, score 7–49. The questionnaire wording belongs to the Finnish Institute of "
    "Occupational Health.",
    "data_category": "health",
    "scoring_rule": "sum",
    "higher_is_better": True,
    "placeholder": True,
    "bands": [
        {"code": "poor", "min": 7, "max": 27, "label_fi": "Huono", "label_sv": "Dålig", "label_en": "Poor"},
        {"code": "moderate", "min": 28, "max": 36, "label_fi": "Kohtalainen", "label_sv": "Måttlig",
         "label_en": "Moderate"},
        {"code": "good", "min": 37, "max": 43, "label_fi": "Hyvä", "label_sv": "God", "label_en": "Good"},
        {"code": "excellent", "min": 44, "max": 49, "label_fi": "Erinomainen", "label_sv": "Utmärkt",
         "label_en": "Excellent"},
    ],
    "source": "Tuomi, Ilmarinen et al., Work Ability Index, FIOH 1998. See docs/domain.md §5.",
    "items": [
        _wai_item("wai1", 1, 0, 10, "Nykyinen työkyky verrattuna elinaikaiseen parhaaseen",
                  "Nuvarande arbetsförmåga jämfört med livstidens bästa",
                  "Current work ability compared with the lifetime best"),
        _wai_item("wai2", 2, 2, 10, "Työkyky suhteessa työn vaatimuksiin",
                  "Arbetsförmåga i förhållande till arbetets krav", "Work ability in relation to job demands"),
        _wai_item("wai3", 3, 1, 7, "Lääkärin toteamat sairaudet", "Diagnostiserade sjukdomar",
                  "Number of current diseases diagnosed by a physician"),
        _wai_item("wai4", 4, 1, 6, "Sairauksien arvioitu haitta työssä", "Uppskattad nedsättning i arbetet",
                  "Estimated work impairment due to diseases"),
        _wai_item("wai5", 5, 1, 5, "Sairauspoissaolot viimeisen vuoden aikana",
                  "Sjukfrånvaro under det senaste året", "Sick leave during the past year"),
        _wai_item("wai6", 6, 1, 7, "Oma ennuste työkyvystä kahden vuoden kuluttua",
                  "Egen prognos för arbetsförmågan om två år", "Own prognosis of work ability two years from now"),
        _wai_item("wai7", 7, 1, 4, "Psyykkiset voimavarat", "Psykiska resurser", "Mental resources"),
    ],
}

LIFE_SITUATION_AREAS: list[tuple[str, str, str, str]] = [
    ("physical_health", "Fyysinen terveys ja toimintakyky", "Fysisk hälsa och funktionsförmåga",
     "Physical health and functioning"),
    ("mental_health", "Mielenterveys ja jaksaminen", "Psykisk hälsa och ork", "Mental health and coping"),
    ("substance_use", "Päihteiden käyttö", "Användning av rusmedel", "Substance use"),
    ("housing", "Asuminen", "Boende", "Housing"),
    ("debt", "Raha-asiat ja velat", "Ekonomi och skulder", "Money and debts"),
    ("skills_language", "Osaaminen ja kielitaito", "Kompetens och språkkunskaper", "Skills and language"),
    ("caring_duties", "Hoivavastuut", "Omsorgsansvar", "Caring duties"),
    ("motivation", "Voimavarat ja motivaatio", "Resurser och motivation", "Resources and motivation"),
]

LIFE_SITUATION_SCALE = {
    "0": {"fi": "ei lainkaan", "sv": "inte alls", "en": "not at all"},
    "1": {"fi": "vähän", "sv": "lite", "en": "a little"},
    "2": {"fi": "selvästi", "sv": "tydligt", "en": "clearly"},
    "3": {"fi": "hyvin paljon", "sv": "mycket", "en": "very much"},
}

#: Polku's own life-situation mapping: how much each area currently stands in the way of work or study
#: (0 not at all, 1 a little, 2 clearly, 3 very much). Not a validated scale; its wording is Polku's own.
LIFE_SITUATION: dict[str, Any] = {
    "code": "life-situation",
    "name_fi": "Elämäntilanteen kartoitus (Polku)",
    "name_sv": "Kartläggning av livssituationen (Polku)",
    "name_en": "Life situation mapping (Polku)",
    "description_fi": "Kuinka paljon kukin elämänalue on nyt esteenä työlle tai opiskelulle.",
    "description_sv": "Hur mycket varje livsområde just nu hindrar arbete eller studier.",
    "description_en": "How much each area of life currently stands in the way of work or study.",
    "data_category": "social",
    "scoring_rule": "sum",
    "higher_is_better": False,
    "placeholder": False,
    "bands": [
        {"code": "low", "min": 0, "max": 4, "label_fi": "Vähän esteitä", "label_sv": "Få hinder",
         "label_en": "Few barriers"},
        {"code": "moderate", "min": 5, "max": 10, "label_fi": "Jonkin verran esteitä", "label_sv": "En del hinder",
         "label_en": "Some barriers"},
        {"code": "high", "min": 11, "max": 24, "label_fi": "Paljon esteitä", "label_sv": "Många hinder",
         "label_en": "Many barriers"},
    ],
    "source": "Polku's own checklist of the barrier areas named in the joint-service literature; not validated.",
    "items": [
        {"code": code, "position": position, "domain": "life_situation", "scale_min": 0, "scale_max": 3,
         "text_fi": f"{fi}: kuinka paljon tämä on nyt esteenä työlle tai opiskelulle?",
         "text_sv": f"{sv}: hur mycket hindrar detta arbete eller studier just nu?",
         "text_en": f"{en}: how much does this stand in the way of work or study now?",
         "scale_labels": LIFE_SITUATION_SCALE}
        for position, (code, fi, sv, en) in enumerate(LIFE_SITUATION_AREAS, start=1)
    ],
}

INSTRUMENTS: list[dict[str, Any]] = [WORK_ABILITY_SCORE, WORK_ABILITY_INDEX, LIFE_SITUATION]


def sync_instruments(instrument_model: Any, item_model: Any) -> None:
    """Create or update the shipped instruments (idempotent). Takes the models so migrations can use it."""
    for spec in INSTRUMENTS:
        fields = {k: v for k, v in spec.items() if k not in {"code", "items"}}
        instrument, _created = instrument_model.objects.update_or_create(code=spec["code"], defaults=fields)
        for item in spec["items"]:
            item_fields = {k: v for k, v in item.items() if k != "code"}
            item_model.objects.update_or_create(instrument=instrument, code=item["code"], defaults=item_fields)
