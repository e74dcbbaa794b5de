"""Vocabularies shared by several bounded contexts."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataCategory(models.TextChoices):
    """Categories of a client's data. Consent is given, and access decided, per category.

    ``BASIC`` is the client's identity and contact details, the joint-service episode and the plan's frame:
    what every party in the joint service needs in order to work with the client at all.
    """

    BASIC = "basic", _("Basic and contact details")
    EMPLOYMENT = "employment", _("Employment")
    SOCIAL = "social", _("Social welfare")
    HEALTH = "health", _("Health")
    BENEFITS = "benefits", _("Benefits (Kela)")
    REHABILITATION = "rehabilitation", _("Rehabilitation")


class Language(models.TextChoices):
    FINNISH = "fi", _("Finnish")
    SWEDISH = "sv", _("Swedish")
    ENGLISH = "en", _("English")
    OTHER = "other", _("Other")


class YesNoNotStated(models.TextChoices):
    """A self-declared background fact: the client may always decline to say."""

    YES = "yes", _("Yes")
    NO = "no", _("No")
    NOT_STATED = "not_stated", _("Not stated")
