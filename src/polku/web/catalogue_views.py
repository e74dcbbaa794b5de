"""The service catalogue for professionals: search with filters and each service's current waiting time (an
aggregate, suppressed below the small-cell threshold by the selector), and one service's details.

The catalogue is public data about services; no client data is read here, so nothing is written to the access
log. Staff who can refer get a link to the referral form with the service preselected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce, Lower, NullIf
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _

from polku.access.policy import staff_of
from polku.catalogue import selectors
from polku.catalogue.models import Service, ServiceClass
from polku.clients.selectors import caseload_page
from polku.core.translation import localized
from polku.organisations.models import CLIENT_WORK_ROLES

from .forms import is_htmx

PAGE_SIZE = 25
SHORT_LIST = 3  # municipalities named in a row of the results; the rest are counted

#: Roles whose work includes referring clients (every staff role with access to clients' basic data).
REFERRING_ROLES = CLIENT_WORK_ROLES

#: Names of the target groups used in the catalogue: Polku's own client segments and the national catalogue's
#: (PTV) target groups. A code not listed is shown as it is.
TARGET_GROUP_LABELS: dict[str, Any] = {
    "long_term_unemployed": _("Long-term unemployed people"),
    "partial_work_ability": _("People with partial work ability"),
    "job_ready": _("People ready to work"),
    "mental_health_substance": _("People with mental health or substance use problems"),
    "young_adrift": _("Young people without work or a study place"),
    "migrant_language": _("Immigrants learning the language"),
    "older_job_seeker": _("Older job seekers"),
    "KR1": _("Citizens"),
    "KR1.1": _("Older people"),
    "KR1.2": _("Children and families with children"),
    "KR1.3": _("Young people"),
    "KR1.4": _("People with a long-term illness"),
    "KR1.5": _("Finns living abroad"),
    "KR1.6": _("People with disabilities"),
    "KR2": _("Businesses and organisations"),
}


def municipality_names() -> dict[str, str]:
    """Names of the municipalities Polku knows (Statistics Finland codes; names are the same in every language
    that Polku offers, apart from a few Swedish forms not listed here)."""
    from polku.synth.params import MUNICIPALITIES, OUTSIDE_MUNICIPALITIES

    return {str(m[0]): str(m[1]) for m in (*MUNICIPALITIES, *OUTSIDE_MUNICIPALITIES)}


def language_name(code: str) -> str:
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


def target_group_name(code: str) -> str:
    return str(TARGET_GROUP_LABELS.get(code, code))


def can_refer(user: Any) -> bool:
    staff = staff_of(user)
    return staff is not None and staff.role in REFERRING_ROLES


def set_choices(form: forms.Form, name: str, choices: list[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class ServiceSearchForm(forms.Form):
    q = forms.CharField(label=_("What does the client need?"), max_length=100, required=False,
                        help_text=_("Words in the service's name, description or eligibility."))
    service_class = forms.ChoiceField(label=_("Service class"), required=False)
    target_group = forms.ChoiceField(label=_("Target group"), required=False)
    language = forms.ChoiceField(label=_("Language of the service"), required=False)
    municipality = forms.ChoiceField(label=_("Municipality"), required=False,
                                     help_text=_("Services in this municipality or in the whole country."))
    accessibility = forms.CharField(label=_("Accessibility"), max_length=100, required=False,
                                    help_text=_("Words in the accessibility information, e.g. a lift."))
    has_accessibility = forms.BooleanField(label=_("Only services with accessibility information"),
                                           required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False,
                             choices=[("name", _("Name")), ("waiting_time", _("Shortest waiting time"))])
    client = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, options: dict[str, list[tuple[str, str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anything = [("", _("Any"))]
        set_choices(self, "service_class", [*anything, *ServiceClass.choices])
        set_choices(self, "target_group", [*anything, *options["target_groups"]])
        set_choices(self, "language", [*anything, *options["languages"]])
        set_choices(self, "municipality", [*anything, *options["municipalities"]])


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """The target groups, languages and municipalities that the active services of the catalogue list (one
    query over the catalogue, which is small)."""
    groups: set[str] = set()
    languages: set[str] = set()
    municipalities: set[str] = set()
    for target_groups, langs, codes in Service.objects.filter(active=True).values_list(
        "target_groups", "languages", "municipality_codes"
    ):
        groups.update(str(g) for g in target_groups or [] if isinstance(g, str))
        languages.update(str(code) for code in langs or [] if isinstance(code, str))
        municipalities.update(str(code) for code in codes or [] if isinstance(code, str))
    names = municipality_names()
    return {
        "target_groups": sorted(((g, target_group_name(g)) for g in groups), key=lambda item: item[1].lower()),
        "languages": sorted(((code, language_name(code)) for code in languages), key=lambda item: item[1].lower()),
        "municipalities": sorted(
            ((code, f"{names[code]} ({code})" if code in names else code) for code in municipalities),
            key=lambda item: item[1].lower(),
        ),
    }


def by_name(queryset: QuerySet[Service]) -> QuerySet[Service]:
    """Alphabetically by the name in the current language (falling back to the Finnish name)."""
    language = (get_language() or "fi")[:2]
    field = f"name_{language}" if language in ("fi", "sv", "en") else "name_fi"
    return queryset.order_by(Lower(Coalesce(NullIf(F(field), Value("")), F("name_fi"))), "pk")


@dataclass
class ServiceRow:
    """What a search result or the detail page shows of a service."""

    service: Service
    name: str
    description: str
    provider: str
    languages: list[str]
    municipalities: list[str]
    target_groups: list[str]
    waiting_days: float | None
    waiting_basis: int | None

    @property
    def municipalities_short(self) -> list[str]:
        return self.municipalities[:SHORT_LIST]

    @property
    def municipalities_more(self) -> int:
        return max(len(self.municipalities) - SHORT_LIST, 0)

    @property
    def waiting_whole_days(self) -> int | None:
        return None if self.waiting_days is None else round(self.waiting_days)


def service_row(service: Service, names: dict[str, str] | None = None) -> ServiceRow:
    names = municipality_names() if names is None else names
    codes = [str(c) for c in service.municipality_codes or []]
    return ServiceRow(
        service=service,
        name=localized(service, "name"),
        description=localized(service, "description"),
        provider=str(service.provider),
        languages=[language_name(str(code)) for code in service.languages or []],
        municipalities=[names.get(code, code) for code in codes],
        target_groups=[target_group_name(str(g)) for g in service.target_groups or []],
        waiting_days=selectors.waiting_days(getattr(service, "waiting_days", None)),
        waiting_basis=getattr(service, "waiting_basis", None),
    )


def _search_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "q": data.get("q") or None,
        "service_class": data.get("service_class") or None,
        "target_group": data.get("target_group") or None,
        "language": data.get("language") or None,
        "municipality_code": data.get("municipality") or None,
        "accessibility": data.get("accessibility") or None,
        "has_accessibility": True if data.get("has_accessibility") else None,
        "active": True,
    }


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    form = ServiceSearchForm(request.GET or None, options=filter_options())
    rows: list[ServiceRow] = []
    page = None
    querystring = ""
    client_id = None
    if form.is_bound and not form.is_valid():
        results = None
    else:
        data = form.cleaned_data if form.is_bound else {}
        client_id = data.get("client")
        queryset = selectors.service_search(**_search_kwargs(data))
        queryset = selectors.by_waiting_time(queryset) if data.get("sort") == "waiting_time" else by_name(queryset)
        page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
        names = municipality_names()
        rows = [service_row(service, names) for service in page.object_list]
        results = page.paginator.count
        querystring = urlencode({str(k): str(v) for k, v in request.GET.items() if k != "page" and v})
    context = {
        "form": form, "rows": rows, "page": page, "results": results, "querystring": querystring,
        "client_id": client_id, "can_refer": can_refer(request.user),
        "threshold": selectors.small_cell_threshold(),
    }
    if is_htmx(request):
        return render(request, "web/catalogue/_results.html", context)
    return render(request, "web/catalogue/list.html", context, status=400 if form.is_bound and form.errors else 200)


def _client_param(request: HttpRequest) -> int | None:
    value = request.GET.get("client", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


@login_required
def service_detail(request: HttpRequest, service_id: int) -> HttpResponse:
    service = selectors.service_get(service_id=service_id)
    client_id = _client_param(request)
    refer_url = None
    if service.active and can_refer(request.user):
        if client_id is not None:
            refer_url = reverse("web:referral_new", args=[client_id]) + "?" + urlencode({"service": service.pk})
        else:
            refer_url = reverse("web:service_refer", args=[service.pk])
    return render(request, "web/catalogue/detail.html", {
        "row": service_row(service), "service": service, "refer_url": refer_url, "client_id": client_id,
        "threshold": selectors.small_cell_threshold(),
    })


class ChooseClientForm(forms.Form):
    client = forms.TypedChoiceField(label=_("Client"), coerce=int)

    def __init__(self, *args: Any, clients: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "client", [("", _("Choose a client")), *((c.pk, str(c)) for c in clients)])


@login_required
def service_refer(request: HttpRequest, service_id: int) -> HttpResponse:
    """"Refer a client to this service" without a client in view: choose one from the caseload (a logged list
    read), then go on to the referral form with the service preselected."""
    if not can_refer(request.user):
        raise Http404
    service = selectors.service_get(service_id=service_id)
    if not service.active:
        raise Http404
    chosen = _client_param(request)
    if chosen is not None:
        return redirect(reverse("web:referral_new", args=[chosen]) + "?" + urlencode({"service": service.pk}))
    clients = list(caseload_page(actor=request.user))
    form = ChooseClientForm(clients=clients)
    return render(request, "web/catalogue/refer.html",
                  {"service": service, "name": localized(service, "name"), "form": form, "clients": clients})


urlpatterns = [
    path("services/", service_list, name="services"),
    path("services/<int:service_id>/", service_detail, name="service_detail"),
    path("services/<int:service_id>/refer/", service_refer, name="service_refer"),
]
