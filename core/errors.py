"""Domain exceptions of the application shell. The error handlers map them to HTTP answers:
422 validation, 409 conflict, 403 forbidden, 404 not found, 429 too many attempts."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "domain_error"
    default_message = "Begäran kunde inte genomföras."

    def __init__(self, message: str | None = None, errors: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.errors = errors or {}


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation_failed"
    default_message = "Uppgifterna är inte giltiga. Rätta de markerade fälten."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "Ändringen krockar med befintliga uppgifter."


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"
    default_message = "Du har inte behörighet till detta."


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Det du söker finns inte, eller så har du inte behörighet att se det."


class LoginThrottled(DomainError):
    status_code = 429
    code = "too_many_attempts"
    default_message = "För många misslyckade inloggningsförsök."
