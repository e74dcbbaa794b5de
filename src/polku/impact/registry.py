"""Storing and loading trained models: each run is a new version with its data hash, parameters and metrics.

The fitted model is pickled (joblib) and signed with an HMAC of the secret key; a stored artifact whose
signature does not match is refused (someone with database access cannot slip a changed model, or code, in).
"""

from __future__ import annotations

import hashlib
import hmac
import io
from typing import Any

import joblib
import pandas as pd
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from .models import ModelVersion


class ArtifactRefused(Exception):
    """The stored model's signature does not match: it was changed outside Polku."""


def _signature(blob: bytes) -> str:
    key = hmac.new(settings.SECRET_KEY.encode(), b"polku-model-artifact", hashlib.sha256).digest()
    return hmac.new(key, blob, hashlib.sha256).hexdigest()


def data_hash(table: pd.DataFrame) -> str:
    """SHA-256 of the table's content (column names, then rows as pandas hashes them), independent of the file
    format it came in."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, table.columns)).encode())
    if len(table):
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def save_model(
    *, kind: str, obj: Any, outcome: str = "", data_source: str, data_hash: str, rows: int,
    features: list[str], parameters: dict[str, Any], metrics: dict[str, Any], trained_by: str = "",
    user: Any = None,
) -> ModelVersion:
    """Store ``obj`` as the next version of (kind, outcome)."""
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=3)
    blob = buffer.getvalue()
    for _attempt in range(3):  # two trainings finishing at once: the later one takes the next number
        try:
            with transaction.atomic():
                latest = ModelVersion.objects.filter(kind=kind, outcome=outcome).aggregate(v=Max("version"))["v"]
                return ModelVersion.objects.create(
                    kind=kind, outcome=outcome, version=(latest or 0) + 1, data_source=data_source[:300],
                    data_hash=data_hash, rows=rows, features=features, parameters=parameters, metrics=metrics,
                    artifact=blob, signature=_signature(blob), trained_by=trained_by[:100],
                    created_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError:
            continue
    raise IntegrityError("could not number the model version")


def load_model(version: ModelVersion) -> Any:
    blob = bytes(version.artifact)
    if not hmac.compare_digest(_signature(blob), version.signature):
        raise ArtifactRefused(f"{version}: the stored model's signature does not match")
    return joblib.load(io.BytesIO(blob))


def latest(kind: str, outcome: str = "") -> ModelVersion | None:
    return ModelVersion.objects.filter(kind=kind, outcome=outcome).order_by("-version").first()


def get_version(kind: str, outcome: str, version: int | None) -> ModelVersion | None:
    if version is None:
        return latest(kind, outcome)
    return ModelVersion.objects.filter(kind=kind, outcome=outcome, version=version).first()
