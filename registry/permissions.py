"""Registry permissions, added to the shell's one permission check (core.permissions).

Agreements, transfers and decisions are shared by several municipalities: a user may see one when
their municipality is a party (`can_any` / `require_any`). Sysadmins manage users and the
municipality register, not case data, so these rules do not extend to them.
"""

from __future__ import annotations

from core.models import Role
from core.permissions import Rule, register_rules

AGREEMENT_READ = "agreement.read"
AGREEMENT_EDIT = "agreement.edit"
SHARED_ROLE_READ = "shared_role.read"
SHARED_ROLE_EDIT = "shared_role.edit"
TRANSFER_READ = "transfer.read"
TRANSFER_EDIT = "transfer.edit"
DECISION_READ = "decision.read"
DECISION_EDIT = "decision.edit"
DEADLINES_READ = "deadlines.read"

_EVERY_ROLE = frozenset({Role.ADMIN, Role.CASEWORKER, Role.FINANCE, Role.LEGAL, Role.AUDITOR})
_CASE_ROLES = frozenset({Role.ADMIN, Role.CASEWORKER})

register_rules(
    {
        AGREEMENT_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
        AGREEMENT_EDIT: Rule(roles=frozenset({Role.ADMIN}), sysadmin=False),
        SHARED_ROLE_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
        SHARED_ROLE_EDIT: Rule(roles=frozenset({Role.ADMIN, Role.FINANCE}), sysadmin=False),
        TRANSFER_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
        TRANSFER_EDIT: Rule(roles=_CASE_ROLES, sysadmin=False),
        DECISION_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
        DECISION_EDIT: Rule(roles=_CASE_ROLES, sysadmin=False),
        DEADLINES_READ: Rule(roles=_EVERY_ROLE, sysadmin=False),
    }
)
