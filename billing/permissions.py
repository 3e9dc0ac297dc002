"""Billing permissions, added to the shell's one permission check (core.permissions).

A municipality sees the performed services it performed or bought and the invoices it issued or
received. Administrators and caseworkers register performed services; finance attests them, runs,
approves and issues invoices, credits and marks payment; auditors read.
"""

from __future__ import annotations

from core.models import Role
from core.permissions import Rule, register_rules

SERVICE_READ = "service.read"
SERVICE_EDIT = "service.edit"
SERVICE_ATTEST = "service.attest"
INVOICE_READ = "invoice.read"
INVOICE_EDIT = "invoice.edit"  # run, approve, issue, credit, mark paid
ACCOUNTING_EDIT = "accounting.edit"  # the municipality's SIE accounts and counterparty codes
FOLLOWUP_READ = "followup.read"  # annual follow-ups of the agreements the municipality is party to
FOLLOWUP_EDIT = "followup.edit"  # write and send a follow-up (services: the host's side or the owner)
COST_REPORT = "cost.report"  # report the actual cost of an agreement's year (the host's finance)
RECONCILIATION_EDIT = "reconciliation.edit"  # compute, approve and issue year-end reconciliations
OVERVIEW_READ = "overview.read"  # the municipality's overview: agreements, money in and out, deadlines
NATIONAL_OVERVIEW_READ = "overview.national"  # every municipality's figures (sysadmins)

_EVERY_ROLE = frozenset({Role.ADMIN, Role.CASEWORKER, Role.FINANCE, Role.LEGAL, Role.AUDITOR})

register_rules(
    {
        SERVICE_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
        SERVICE_EDIT: Rule(roles=frozenset({Role.ADMIN, Role.CASEWORKER, Role.FINANCE}), sysadmin=False),
        SERVICE_ATTEST: Rule(roles=frozenset({Role.FINANCE}), sysadmin=False),
        INVOICE_READ: Rule(
            roles=frozenset({Role.FINANCE, Role.LEGAL, Role.AUDITOR, Role.ADMIN}), sysadmin=False
        ),
        INVOICE_EDIT: Rule(roles=frozenset({Role.FINANCE}), sysadmin=False),
        ACCOUNTING_EDIT: Rule(roles=frozenset({Role.FINANCE}), sysadmin=False),
        FOLLOWUP_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
        FOLLOWUP_EDIT: Rule(roles=frozenset({Role.ADMIN}), sysadmin=False),
        COST_REPORT: Rule(roles=frozenset({Role.FINANCE}), sysadmin=False),
        RECONCILIATION_EDIT: Rule(roles=frozenset({Role.FINANCE}), sysadmin=False),
        OVERVIEW_READ: Rule(
            roles=frozenset({Role.ADMIN, Role.FINANCE, Role.LEGAL, Role.AUDITOR}), sysadmin=False
        ),
        NATIONAL_OVERVIEW_READ: Rule(roles=frozenset(), sysadmin=True),
    }
)
