"""The two-factor and password-confirmation forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

_CODE_ATTRS = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": "8",
               "spellcheck": "false", "autocapitalize": "off", "class": "input--code"}


class CodeField(forms.CharField):
    """A six-digit code from an authenticator app; spaces are ignored."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Code from the authenticator app"))
        kwargs.setdefault("help_text", _("Six digits. The code changes every 30 seconds."))
        super().__init__(widget=forms.TextInput(attrs=dict(_CODE_ATTRS)),
                         validators=[RegexValidator(r"^[0-9]{6}$", _("Enter the six digits of the code."))],
                         **kwargs)

    def to_python(self, value: Any) -> str:
        return "".join(str(super().to_python(value)).split())


class CodeForm(forms.Form):
    token = CodeField()


class ConfirmForm(forms.Form):
    """Password and, for a user who needs a second factor, a code; either part is left out when it does not
    apply (a single sign-on user has no password here)."""

    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    token = CodeField()

    def __init__(self, *args: Any, with_password: bool, with_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_password:
            del self.fields["password"]
        if not with_code:
            del self.fields["token"]
