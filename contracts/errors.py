"""Domain errors of contracts."""

from __future__ import annotations

from core.errors import Conflict, NotFound, ValidationFailed


class IndexValueNotFound(NotFound):
    default_message = "Indexvärdet finns inte."


class IndexValueMissing(ValidationFailed):
    """Indexation asked for an index and year that has no value in the register."""

    default_message = "Det finns inget indexvärde för det valda indexet och året."


class IndexRevisionRefused(Conflict):
    code = "index_revision_refused"
    default_message = "Indexvärdet kan inte ändras på det sättet."


class VersionNotFound(NotFound):
    default_message = "Avtalsversionen finns inte, eller så har du inte behörighet att se den."


class IllegalVersionTransition(Conflict):
    code = "illegal_version_transition"
    default_message = "Avtalsversionen kan inte byta till den statusen härifrån."


class VersionImmutable(Conflict):
    """An approved version (or one in review, for its terms) cannot be changed: make a new version."""

    code = "version_immutable"
    default_message = (
        "Avtalsversionen är godkänd och kan inte ändras. Skapa en ny version (tilläggsavtal) för ändringar."
    )


class VersionInUse(Conflict):
    """Other rows (e.g. an invoice) refer to the draft: the database keeps it, and so do we."""

    code = "version_in_use"
    default_message = (
        "Utkastet kan inte tas bort: andra uppgifter (t.ex. en faktura) hänvisar till versionen. "
        "Ändra utkastet i stället."
    )


class OpenVersionExists(Conflict):
    code = "open_version_exists"
    default_message = (
        "Avtalet har redan en version som är utkast eller under granskning. Gör klart den först."
    )


class ApprovalRefused(Conflict):
    code = "approval_refused"
    default_message = "Versionen kan inte godkännas."


__all__ = [
    "ApprovalRefused",
    "IllegalVersionTransition",
    "IndexRevisionRefused",
    "IndexValueMissing",
    "IndexValueNotFound",
    "OpenVersionExists",
    "VersionImmutable",
    "VersionInUse",
    "VersionNotFound",
]
