"""Domain errors of billing."""

from __future__ import annotations

from core.errors import Conflict, NotFound, ValidationFailed


class InvoiceNotFound(NotFound):
    default_message = "Fakturan finns inte, eller så har du inte behörighet att se den."


class RunNotFound(NotFound):
    default_message = "Fakturakörningen finns inte, eller så har du inte behörighet att se den."


class ServiceNotFound(NotFound):
    default_message = "Prestationen finns inte, eller så har du inte behörighet att se den."


class InvoiceImmutable(Conflict):
    code = "invoice_immutable"
    default_message = "Fakturan är utfärdad och kan inte ändras. Rätta den med en kreditfaktura."


class ServiceLocked(Conflict):
    code = "service_locked"
    default_message = "Prestationen är fakturerad och kan inte ändras eller tas bort."


class IllegalRunTransition(Conflict):
    code = "illegal_run_transition"
    default_message = "Fakturakörningen kan inte byta till den statusen härifrån."


class DuplicateImport(Conflict):
    code = "duplicate_import"
    default_message = "Samma fil har redan importerats."


class ImportRejected(ValidationFailed):
    code = "import_rejected"
    default_message = "Filen importerades inte: rätta raderna nedan och importera hela filen igen."


class PricingError(ValidationFailed):
    code = "pricing_failed"
    default_message = "Fakturaraderna kunde inte beräknas."


class EInvoiceInvalid(Conflict):
    code = "einvoice_invalid"
    default_message = "E-fakturan uppfyller inte Peppol-reglerna och utfärdades inte."


class FollowupNotFound(NotFound):
    default_message = "Uppföljningen finns inte, eller så har du inte behörighet att se den."


class FollowupImmutable(Conflict):
    code = "followup_immutable"
    default_message = (
        "Uppföljningen är skickad och låst: den skickade versionen (PDF med kontrollsumma) ändras aldrig."
    )


class ReconciliationNotFound(NotFound):
    default_message = "Avräkningen finns inte, eller så har du inte behörighet att se den."


class ReconciliationImmutable(Conflict):
    code = "reconciliation_immutable"
    default_message = (
        "Avräkningen är godkänd och utfärdad och kan inte ändras. Rätta den med en kreditfaktura."
    )


class ReportedCostLocked(Conflict):
    code = "reported_cost_locked"
    default_message = "Den verkliga kostnaden för året är låst: en utfärdad avräkning eller en skickad uppföljning bygger på den."


__all__ = [
    "FollowupImmutable",
    "FollowupNotFound",
    "ReconciliationImmutable",
    "ReconciliationNotFound",
    "ReportedCostLocked",
    "DuplicateImport",
    "EInvoiceInvalid",
    "IllegalRunTransition",
    "ImportRejected",
    "InvoiceImmutable",
    "InvoiceNotFound",
    "PricingError",
    "RunNotFound",
    "ServiceLocked",
    "ServiceNotFound",
]
