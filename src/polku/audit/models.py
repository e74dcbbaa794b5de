"""The access log: who did what to which client's data, of which category, when and why.

Every read and write of a client's data writes one row, including refused attempts, so that the client can
see who has processed their data and why (Client Data Act 703/2023). Rows are only ever added.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.core.choices import DataCategory


class AppendOnlyError(RuntimeError):
    """Raised on an attempt to change or delete an access-log entry (or its seal): the log is append-only for
    every role, administrators included (docs/security.md, "Tamper-evident access log")."""


class AppendOnlyQuerySet(models.QuerySet):
    """``update()`` and ``delete()`` refuse: rows of these tables are only ever added.

    :func:`polku.audit.guards.unguarded` lifts this for whole-database maintenance (flush, the demo's wipe) and
    for tests that clean up after themselves."""

    def update(self, **kwargs: object) -> int:
        _refuse(self.model, "update")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse(self.model, "delete")
        return super().delete()

    def bulk_update(self, objs: object, fields: object, batch_size: int | None = None) -> int:
        _refuse(self.model, "update")  # before Django opens its transaction for the updates
        return super().bulk_update(objs, fields, batch_size)  # type: ignore[arg-type]

    def _raw_delete(self, using: str | None) -> int:
        _refuse(self.model, "delete")
        return super()._raw_delete(using)


def _refuse(model: type[models.Model], operation: str) -> None:
    from .guards import suspended

    if not suspended():
        raise AppendOnlyError(f"{model._meta.label}: {operation} refused, the access log is append-only")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            _refuse(type(self), "update")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        _refuse(type(self), "delete")
        return super().delete(*args, **kwargs)  # type: ignore[arg-type]


class AccessAction(models.TextChoices):
    VIEW = "view", _("Viewed")
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    MANAGE_CONSENT = "manage_consent", _("Recorded or revoked consent")
    EXPORT = "export", _("Exported")


class AccessLog(AppendOnlyModel):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # No single-column indexes on actor and client: the (actor, at) and (client, at) indexes serve those look-ups,
    # and every index is written on every logged read.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                              db_index=False, null=True, related_name="+", verbose_name=_("who"))
    actor_name = models.CharField(_("name"), max_length=300, blank=True)
    actor_organisation = models.ForeignKey("organisations.Organisation", on_delete=models.DO_NOTHING,
                                           db_constraint=False, null=True, related_name="+",
                                           verbose_name=_("organisation"))
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    client = models.ForeignKey("clients.Client", on_delete=models.DO_NOTHING, db_constraint=False,
                               db_index=False, related_name="+", verbose_name=_("client"))
    category = models.CharField(_("data category"), max_length=16, choices=DataCategory.choices)
    action = models.CharField(_("action"), max_length=16, choices=AccessAction.choices)
    purpose = models.CharField(_("purpose"), max_length=300)
    object_type = models.CharField(_("record type"), max_length=64, blank=True)
    object_id = models.CharField(_("record"), max_length=64, blank=True)
    allowed = models.BooleanField(_("allowed"))
    reason = models.CharField(_("decision"), max_length=64)

    class Meta:
        verbose_name = _("access-log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["client", "at"]),
            models.Index(fields=["actor", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.category} {self.client_id}"


# The hash chain over the access log (docs/security.md, "Tamper-evident access log"). The chain lives beside the
# log rather than in it: sealing then only inserts (no second version of every log row, no index updates on the
# log's three indexes) and the log itself never needs an UPDATE, so its guard can refuse every UPDATE.


class AccessLogSeal(AppendOnlyModel):
    """One link of the chain: the entry at ``position`` and its hashes.

    ``content_hash`` = SHA-256 of the entry's canonical serialisation (polku.audit.chain.canonical);
    ``chain_hash`` = SHA-256(previous link's ``chain_hash`` || ``content_hash``), the first link's previous
    hash being 32 zero bytes (or the hash of the newest retention checkpoint)."""

    position = models.BigIntegerField(_("position"), primary_key=True)
    entry_id = models.BigIntegerField(_("entry"), unique=True)
    content_hash = models.BinaryField(_("content hash"), max_length=32)
    chain_hash = models.BinaryField(_("chain hash"), max_length=32)

    class Meta:
        verbose_name = _("access-log seal")
        verbose_name_plural = _("access-log seals")

    def __str__(self) -> str:
        return f"{self.position}:{bytes(self.chain_hash).hex()}"


class SealRun(AppendOnlyModel):
    """One sealing transaction: which positions it sealed, when, and up to which entry id it looked."""

    started_at = models.DateTimeField(_("pass started"))
    sealed_at = models.DateTimeField(_("sealed"))
    first_position = models.BigIntegerField(_("first position"))
    last_position = models.BigIntegerField(_("last position"))
    max_entry_id = models.BigIntegerField(_("highest entry id seen"))
    full = models.BooleanField(_("full sweep"), default=False)

    class Meta:
        verbose_name = _("sealing run")
        verbose_name_plural = _("sealing runs")
        indexes = [models.Index(fields=["sealed_at"])]

    def __str__(self) -> str:
        return f"{self.sealed_at:%Y-%m-%d %H:%M:%S} {self.first_position}-{self.last_position}"


class ChainHead(models.Model):
    """The newest link (one row, ``pk = 1``); its row lock serialises sealers, never the writers of the log."""

    position = models.BigIntegerField(_("position"), default=0)
    chain_hash = models.BinaryField(_("chain hash"), max_length=32, default=bytes(32))
    sealed_at = models.DateTimeField(_("sealed"), null=True, blank=True)
    full_sweep_at = models.DateTimeField(_("last full sweep"), null=True, blank=True)

    class Meta:
        verbose_name = _("access-log chain head")
        verbose_name_plural = _("access-log chain head")

    def __str__(self) -> str:
        return f"{self.position}:{bytes(self.chain_hash).hex()}"


class ChainCheckpoint(AppendOnlyModel):
    """Retention hook: "the entries up to ``position`` were deleted under the retention rule; the link at
    ``position`` had ``chain_hash``". Verification starts after the newest checkpoint. Written only by the
    retention job (not built yet), in the same transaction as the deletion."""

    position = models.BigIntegerField(_("position"), unique=True)
    chain_hash = models.BinaryField(_("chain hash"), max_length=32)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    entries = models.BigIntegerField(_("entries removed"), default=0)
    rule = models.CharField(_("retention rule"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("access-log retention checkpoint")
        verbose_name_plural = _("access-log retention checkpoints")

    def __str__(self) -> str:
        return f"{self.position}:{bytes(self.chain_hash).hex()}"
