"""Domain errors of the registry."""

from __future__ import annotations

from core.errors import Conflict, DomainError, NotFound, ValidationFailed


class IllegalTransition(Conflict):
    """A lifecycle move that the state machine does not allow (e.g. draft -> terminated)."""

    code = "illegal_transition"

    def __init__(self, what: str, current_label: str, target_label: str, allowed_labels: list[str]):
        allowed = ", ".join(allowed_labels) if allowed_labels else "inga (slutläge)"
        super().__init__(
            f"{what} kan inte gå från ”{current_label}” till ”{target_label}”. Tillåtna steg: {allowed}.",
            errors={"status": [f"Otillåten statusändring: {current_label} → {target_label}."]},
        )
        self.current = current_label
        self.target = target_label


class AgreementNotFound(NotFound):
    default_message = "Avtalet finns inte, eller så är din kommun inte part i det."


class TransferNotFound(NotFound):
    default_message = "Ärendeöverlämningen finns inte, eller så är din kommun inte part i den."


class DecisionNotFound(NotFound):
    default_message = "Beslutet finns inte, eller så har du inte behörighet att se det."


class SharedRoleNotFound(NotFound):
    default_message = "Den gemensamma tjänsten finns inte, eller så är din kommun inte part i avtalet."


class AttachmentRejected(ValidationFailed):
    default_message = "Bilagan kunde inte tas emot."


__all__ = [
    "AgreementNotFound",
    "AttachmentRejected",
    "Conflict",
    "DecisionNotFound",
    "DomainError",
    "IllegalTransition",
    "SharedRoleNotFound",
    "TransferNotFound",
    "ValidationFailed",
]
