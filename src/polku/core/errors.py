"""Errors that business rules raise. Each carries a translated, user-facing message and a stable code."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """A rule of the domain refused the request; nothing was written."""

    code = "domain_error"

    def __init__(self, message: Any, *, code: str | None = None, params: dict[str, Any] | None = None):
        self.message = message
        self.params = params or {}
        if code:
            self.code = code
        super().__init__(str(message))

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


class InvalidInput(DomainError):
    """The data given does not pass validation. ``errors`` maps field names to messages."""

    code = "invalid"

    def __init__(self, message: Any, *, errors: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.errors = errors or {}

    @classmethod
    def from_validation_error(cls, exc: ValidationError, message: Any) -> InvalidInput:
        if hasattr(exc, "error_dict"):
            errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        else:
            errors = {"__all__": [str(m) for m in exc.messages]}
        return cls(message, errors=errors)


class AccessDenied(DomainError):
    """The access policy does not allow this user to do this to this client's data."""

    code = "access_denied"
    log_entry: dict[str, Any] | None = None  # what the access log records about the refusal
    logged = False


class IllegalTransition(DomainError):
    """A state machine refused a transition."""

    code = "illegal_transition"


class VersionConflict(DomainError):
    """Someone else changed the object after the caller read it (optimistic concurrency)."""

    code = "version_conflict"

    def __init__(self, message: Any, *, current_version: int, code: str | None = None):
        super().__init__(message, code=code)
        self.current_version = current_version
