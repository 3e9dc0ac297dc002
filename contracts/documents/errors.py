"""Domain errors of the documents part: what may be linked to a version in which status."""

from __future__ import annotations

from core.errors import Conflict, NotFound


class DocumentRefused(Conflict):
    """A document may not be linked to, or unlinked from, the version in its current status."""

    code = "document_refused"
    default_message = (
        "Dokumentet kan inte kopplas till eller tas bort från versionen i dess nuvarande status."
    )


class AttachmentLinked(Conflict):
    """An agreement attachment that a contract version uses as a document cannot be removed."""

    code = "attachment_linked"
    default_message = "Bilagan är kopplad till en avtalsversion och kan inte tas bort."


class DocumentNotFound(NotFound):
    default_message = "Dokumentet finns inte på den här avtalsversionen."


__all__ = ["AttachmentLinked", "DocumentNotFound", "DocumentRefused"]
