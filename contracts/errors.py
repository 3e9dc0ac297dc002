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


__all__ = ["IndexRevisionRefused", "IndexValueMissing", "IndexValueNotFound"]
