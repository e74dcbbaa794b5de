"""The portal's forms. Errors are shown next to their field, and the field says so to assistive technology."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from polku.core.choices import DataCategory
from polku.core.translation import localized

from .models import MESSAGE_MAX_LENGTH

#: Categories a client can give a consent for (basic details come with any consent).
CONSENT_CATEGORIES = [(value, label) for value, label in DataCategory.choices if value != DataCategory.BASIC]


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Write in your own words. The professionals of your joint service read it."),
        error_messages={"required": _("Write a message."),
                        "max_length": _("The message is too long: at most %(limit_value)d characters.")},
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"), max_length=MESSAGE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write a message."),
                        "max_length": _("The message is too long: at most %(limit_value)d characters.")},
    )


class PlanChangeForm(forms.Form):
    body = forms.CharField(
        label=_("What would you like to change in your plan?"), max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("We send this to the professionals and ask them to look at your plan with you."),
        error_messages={"required": _("Write what you would like to change."),
                        "max_length": _("The message is too long: at most %(limit_value)d characters.")},
    )


class ConsentGrantForm(forms.Form):
    organisation = forms.TypedChoiceField(label=_("Who may see it"), coerce=int,
                                          error_messages={"required": _("Choose an organisation.")})
    category = forms.ChoiceField(label=_("Which information"), choices=CONSENT_CATEGORIES,
                                 error_messages={"required": _("Choose which information.")})
    purpose = forms.CharField(label=_("What for"), max_length=300,
                              help_text=_("For example: to plan my services together."),
                              error_messages={"required": _("Say what the consent is for.")})

    def __init__(self, *args: Any, organisations: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        kwargs.setdefault("prefix", "grant")
        super().__init__(*args, **kwargs)
        organisation: Any = self.fields["organisation"]
        organisation.choices = [("", _("Choose…")), *[(o.pk, str(o)) for o in organisations]]
        category: Any = self.fields["category"]
        category.choices = [("", _("Choose…")), *CONSENT_CATEGORIES]
        if not self.is_bound:
            self.initial.setdefault("purpose", _("Multi-sector joint service"))


class ConsentRevokeForm(forms.Form):
    reason = forms.CharField(label=_("Why (you do not have to say)"), max_length=300, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))


class SelfAssessmentForm(forms.Form):
    """One choice (radio buttons in a fieldset) per item of the instrument, with the item's own scale labels."""

    def __init__(self, *args: Any, instrument: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "self")
        super().__init__(*args, **kwargs)
        self.items = list(instrument.items.all()) if instrument is not None else []
        for item in self.items:
            choices = []
            for value in range(item.scale_min, item.scale_max + 1):
                label = (item.scale_labels or {}).get(str(value))
                if isinstance(label, dict):
                    text = localized(_Labels(label), "text")
                    choices.append((str(value), f"{value} – {text}" if text else str(value)))
                else:
                    choices.append((str(value), str(label or value)))
            self.fields[item.code] = forms.TypedChoiceField(
                label=localized(item, "text"), choices=choices, coerce=int, widget=forms.RadioSelect,
                error_messages={"required": _("Choose one answer.")},
            )

    def answers(self) -> dict[str, int]:
        return {item.code: self.cleaned_data[item.code] for item in self.items}


class _Labels:
    """A scale label ``{"fi": …, "sv": …, "en": …}`` as an object for :func:`localized`."""

    def __init__(self, labels: dict[str, str]) -> None:
        for code, text in labels.items():
            setattr(self, f"text_{code}", text)


class LogFilterForm(forms.Form):
    own = forms.BooleanField(label=_("Show also my own visits"), required=False)
