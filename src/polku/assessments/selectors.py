"""Reads of instruments, assessments and joint assessments.

Instruments are not client data: any signed-in user may read them. An assessment is data of its instrument's
category (health, social, ...) and a joint assessment's section of its area's category; each read of a client's
data is checked by the access policy and written to the access log, one row per category shown. A list shows
only the categories the reader may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from polku.access.policy import Purpose, authorize, decide
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied

from .models import (
    AREA_DATA_CATEGORY,
    Assessment,
    Disagreement,
    Instrument,
    JointAssessment,
    JointAssessmentSection,
)


def _denied() -> AccessDenied:
    return AccessDenied(_("You do not have access to this client's data."), code="not_found")


def instruments() -> QuerySet[Instrument]:
    """Every instrument with its items (not client data)."""
    return Instrument.objects.prefetch_related("items")


def instrument_get(*, code: str) -> Instrument | None:
    return instruments().filter(code=code).first()


def visible_categories(actor: Any, client_id: int) -> list[str]:
    """The data categories of the client that the actor may see now (not logged: deciding what to show)."""
    return [c for c in DataCategory.values if decide(actor, client_id, c, AccessAction.VIEW)]


def _with_content(qs: QuerySet[Assessment]) -> QuerySet[Assessment]:
    return qs.select_related("instrument", "assessed_by", "organisation").prefetch_related("answers__item")


def assessments_for_client(
    *, actor: Any, client_id: int, instrument_code: str | None = None, purpose: Purpose | None = None
) -> QuerySet[Assessment]:
    """A client's assessments of the categories the actor may see, with their answers.

    That the list is read is logged as a read of the client's basic data (refused as "not found" when the actor
    may not see the client at all); the caller logs the categories of the rows it shows
    (:func:`log_assessments_shown`)."""
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.VIEW, purpose=purpose or _("List assessments"))
    qs = Assessment.objects.filter(client_id=client_id,
                                   instrument__data_category__in=visible_categories(actor, client_id))
    if instrument_code is not None:
        qs = qs.filter(instrument__code=instrument_code)
    return _with_content(qs)


def log_assessments_shown(*, actor: Any, client_id: int, assessments: Iterable[Assessment],
                          purpose: Purpose | None = None) -> None:
    """Log the read of the assessments shown: one access-log row per data category among them."""
    for category in sorted({a.instrument.data_category for a in assessments}):
        authorize(actor, client_id, category, AccessAction.VIEW, purpose=purpose or _("View assessments"))


def assessment_get(*, actor: Any, assessment_id: int, purpose: Purpose | None = None) -> Assessment:
    """One assessment with its answers, checked against its instrument's data category and logged."""
    assessment = _with_content(Assessment.objects.filter(pk=assessment_id)).first()
    if assessment is None:
        raise _denied()
    authorize(actor, assessment.client_id, assessment.instrument.data_category, AccessAction.VIEW,
              purpose=purpose or _("View an assessment"), obj=assessment)
    return assessment


@dataclass
class JointAssessmentView:
    """A joint assessment as one reader sees it: the frame, the disagreements and the sections of the areas whose
    data category the reader may see."""

    joint: JointAssessment
    sections: list[JointAssessmentSection] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.joint.pk)

    @property
    def episode_id(self) -> int:
        return int(self.joint.episode_id)

    @property
    def client_id(self) -> int:
        return int(self.joint.episode.client_id)

    @property
    def held_on(self) -> Any:
        return self.joint.held_on

    @property
    def client_view(self) -> str:
        return self.joint.client_view

    @property
    def summary(self) -> str:
        return self.joint.summary

    @property
    def created_at(self) -> Any:
        return self.joint.created_at


def joint_assessment_get(
    *, actor: Any, joint_assessment_id: int, purpose: Purpose | None = None
) -> JointAssessmentView:
    """A joint assessment: its frame and disagreements (employment data, as the joint assessment's frame is) and
    the sections the actor may see, one access-log row per category shown."""
    joint = JointAssessment.objects.select_related("episode").filter(pk=joint_assessment_id).first()
    if joint is None:
        raise _denied()
    purpose = purpose or _("View a joint assessment")
    client_id = joint.episode.client_id
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW, purpose=purpose, obj=joint)
    allowed = set(visible_categories(actor, client_id))
    sections = [s for s in joint.sections.select_related("assessor__user").order_by("pk")
                if AREA_DATA_CATEGORY[s.area] in allowed]
    for category in sorted({AREA_DATA_CATEGORY[s.area] for s in sections} - {DataCategory.EMPLOYMENT}):
        authorize(actor, client_id, category, AccessAction.VIEW, purpose=purpose, obj=joint)
    return JointAssessmentView(joint, sections, list(joint.disagreements.order_by("pk")))


def joint_assessments_for_client(
    *, actor: Any, client_id: int, purpose: Purpose | None = None
) -> QuerySet[JointAssessment]:
    """The frames of a client's joint assessments (employment data, as a joint assessment's frame is), newest
    first, with their episode; checked and logged once (refused as "not found" like a missing client)."""
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW,
              purpose=purpose or _("List joint assessments"))
    return JointAssessment.objects.filter(episode__client_id=client_id).select_related("episode").order_by(
        "-held_on", "-pk"
    )


__all__ = [
    "JointAssessmentView",
    "assessment_get",
    "assessments_for_client",
    "instrument_get",
    "instruments",
    "joint_assessment_get",
    "joint_assessments_for_client",
    "log_assessments_shown",
    "visible_categories",
]
