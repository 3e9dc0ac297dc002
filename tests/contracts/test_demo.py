from sqlalchemy import select

from contracts.models import IndexKind, IndexStatus, IndexValue
from core.cli import core_cli


def test_demo_has_index_values_to_show(app, db):
    result = app.test_cli_runner().invoke(core_cli, ["seed"])
    assert result.exit_code == 0, result.output
    values = {(v.kind, v.year): v for v in db.scalars(select(IndexValue))}
    assert values[(IndexKind.PKV, 2025)].status is IndexStatus.FINAL
    assert values[(IndexKind.OPI, 2026)].status is IndexStatus.PRELIMINARY
    assert all(v.source.startswith("Demodata") for v in values.values())
