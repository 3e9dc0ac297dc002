"""Who sees the index adjustments billing will pick up: finance and legal of a party municipality
(the list is scoped to the user's municipality's agreements in the query)."""

from __future__ import annotations

from core.models import Role
from core.permissions import Rule, register_rules

INDEX_ADJUSTMENT_READ = "contract.index_adjustment.read"

register_rules({INDEX_ADJUSTMENT_READ: Rule(roles=frozenset({Role.FINANCE, Role.LEGAL}), sysadmin=False)})
