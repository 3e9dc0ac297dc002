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


__all__ = [
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
