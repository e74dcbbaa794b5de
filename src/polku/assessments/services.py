"""Recording assessments (by a professional or by the client) and the parties' joint assessment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import authorize, client_data_service, client_of, deny, staff_of
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput
from polku.core.validation import require, require_date
from polku.episodes.models import JointServiceEpisode

from .models import (
    AREA_DATA_CATEGORY,
    Assessment,
    AssessmentAnswer,
    AssessmentArea,
    Disagreement,
    Instrument,
    JointAssessment,
    JointAssessmentSection,
    Respondent,
)
from .scoring import band_for, score


def _denied() -> AccessDenied:
    return AccessDenied(_("You do not have access to this client's data."), code="not_found")


@client_data_service
def assessment_record(
    *,
    actor: Any,
    client_id: int,
    instrument_code: str,
    answers: Mapping[str, int],
    assessed_on: dt.date | None = None,
    episode_id: int | None = None,
    joint_assessment_id: int | None = None,
    notes: str = "",
) -> Assessment:
    """Record one completed instrument. Every item must be answered within its scale.

    A client's own answers are a self-assessment; a professional's answers are recorded for their organisation.
    """
    instrument = Instrument.objects.filter(code=instrument_code).first()
    require(instrument is not None, "instrument", _("No such instrument."))
    assert instrument is not None
    authorize(actor, client_id, instrument.data_category, AccessAction.CREATE,
              purpose=_("Record an assessment"))
    items = list(instrument.items.all())
    errors: dict[str, list[str]] = {}
    for item in items:
        value = answers.get(item.code)
        if value is None:
            errors[item.code] = [str(_("Answer this item."))]
        elif isinstance(value, bool) or not isinstance(value, int) or not item.scale_min <= value <= item.scale_max:
            errors[item.code] = [str(_("Give a whole number from %(low)s to %(high)s.")
                                     % {"low": item.scale_min, "high": item.scale_max})]
    for code in set(answers) - {item.code for item in items}:
        errors[code] = [str(_("This instrument has no such item."))]
    if errors:
        raise InvalidInput(_("Some answers are missing or out of range."), errors=errors)
    day = require_date(assessed_on or timezone.localdate(), "assessed_on")
    require(day <= timezone.localdate(), "assessed_on", _("An assessment cannot be dated in the future."))
    if episode_id is not None:
        require(JointServiceEpisode.objects.filter(pk=episode_id, client_id=client_id).exists(), "episode",
                _("The episode is not this client's."))
    if joint_assessment_id is not None:
        joint = JointAssessment.objects.filter(pk=joint_assessment_id, episode__client_id=client_id)
        if episode_id is not None:
            joint = joint.filter(episode_id=episode_id)
        require(joint.exists(), "joint_assessment", _("The joint assessment is not this client's."))
    staff = staff_of(actor)
    total = score(instrument.scoring_rule, [answers[i.code] for i in items],
                  [(i.scale_min, i.scale_max) for i in items])
    assessment = Assessment.objects.create(
        client_id=client_id, instrument=instrument, episode_id=episode_id, joint_assessment_id=joint_assessment_id,
        respondent=Respondent.CLIENT if client_of(actor) is not None else Respondent.PROFESSIONAL,
        assessed_by=actor, organisation_id=staff.organisation_id if staff else None, assessed_on=day,
        score=total, band=band_for(total, instrument.bands), notes=notes.strip(),
    )
    AssessmentAnswer.objects.bulk_create(
        AssessmentAnswer(assessment=assessment, item=item, value=answers[item.code]) for item in items
    )
    return assessment


@client_data_service
def joint_assessment_open(
    *, actor: Any, episode_id: int, held_on: dt.date, client_view: str = "", summary: str = ""
) -> JointAssessment:
    """Start the record of a joint assessment meeting of the parties and the client."""
    episode = JointServiceEpisode.objects.filter(pk=episode_id).first()
    if episode is None:
        raise _denied()
    authorize(actor, episode.client_id, DataCategory.EMPLOYMENT, AccessAction.CREATE,
              purpose=_("Joint assessment"), obj=episode)
    if staff_of(actor) is None:  # the parties' meeting record: a client gives their view in it, not opens it
        raise deny(actor, episode.client_id, DataCategory.EMPLOYMENT, AccessAction.CREATE,
                   purpose=_("Joint assessment"), obj=episode, code="role",
                   message=_("Only the professionals of the joint service record a joint assessment."))
    if not episode.is_open:
        raise IllegalTransition(_("The episode is closed."), code="episode_closed")
    require_date(held_on, "held_on")
    require(held_on <= timezone.localdate(), "held_on", _("A joint assessment cannot be dated in the future."))
    return JointAssessment.objects.create(episode=episode, held_on=held_on, client_view=client_view.strip(),
                                          summary=summary.strip(), created_by=actor)


@client_data_service
def joint_assessment_add_section(
    *, actor: Any, joint_assessment_id: int, area: str, findings: str, service_needs: str = ""
) -> JointAssessmentSection:
    """A professional writes their own profession's section; the actor is its named assessor and must be
    allowed that area's data category (health findings only by a health professional, and so on)."""
    joint = JointAssessment.objects.select_related("episode").filter(pk=joint_assessment_id).first()
    if joint is None:
        raise _denied()
    require(area in AssessmentArea.values, "area", _("Choose the area of the section."))
    category = AREA_DATA_CATEGORY[area]
    authorize(actor, joint.episode.client_id, category, AccessAction.CREATE, purpose=_("Joint assessment"), obj=joint)
    staff = staff_of(actor)
    if staff is None:
        raise deny(actor, joint.episode.client_id, category, AccessAction.CREATE, purpose=_("Joint assessment"),
                   message=_("Only professionals write a section."), code="role", obj=joint)
    require(bool(findings.strip()), "findings", _("Write the findings."))
    if joint.sections.filter(area=area).exists():
        raise InvalidInput(_("This area already has a section."), errors={"area": [str(_("Already written."))]})
    return JointAssessmentSection.objects.create(joint_assessment=joint, area=area, assessor=staff,
                                                 findings=findings.strip(), service_needs=service_needs.strip())


@client_data_service
def disagreement_record(
    *, actor: Any, joint_assessment_id: int, topic: str, positions: str, areas: Sequence[str] = (),
    involves_client: bool = False,
) -> Disagreement:
    """Record where the professionals, or the client, see the need differently."""
    joint = JointAssessment.objects.select_related("episode").filter(pk=joint_assessment_id).first()
    if joint is None:
        raise _denied()
    authorize(actor, joint.episode.client_id, DataCategory.EMPLOYMENT, AccessAction.CREATE,
              purpose=_("Joint assessment"), obj=joint)
    require(bool(topic.strip()), "topic", _("Say what the disagreement is about."))
    require(bool(positions.strip()), "positions", _("Describe the differing views."))
    bad = [a for a in areas if a not in AssessmentArea.values]
    require(not bad, "areas", _("Unknown area."))
    require(involves_client or len(set(areas)) >= 2, "areas",
            _("A disagreement is between at least two areas, or with the client."))
    return Disagreement.objects.create(joint_assessment=joint, topic=topic.strip(), positions=positions.strip(),
                                       areas=list(areas), involves_client=involves_client)
