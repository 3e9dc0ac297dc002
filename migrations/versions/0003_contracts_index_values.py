"""contracts: the index values register (PKV, OPI, KPI, AKI per year) and its revisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "pkv",
                "opi",
                "kpi",
                "aki",
                name="index_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("edition", sa.String(length=100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "preliminary",
                "final",
                name="index_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("percent >= -50 AND percent <= 100", name=op.f("ck_index_values_percent_range")),
        sa.CheckConstraint("year >= 1900 AND year <= 2200", name=op.f("ck_index_values_year_range")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_index_values_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_values")),
        sa.UniqueConstraint("kind", "year", name="uq_index_values_kind_year"),
    )
    op.create_table(
        "index_value_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_value_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "revision",
                "finalization",
                "correction",
                name="index_revision_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("old_percent", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("new_percent", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column(
            "old_status",
            sa.Enum(
                "preliminary",
                "final",
                name="old_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "new_status",
            sa.Enum(
                "preliminary",
                "final",
                name="new_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revised_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind <> 'correction' OR reason IS NOT NULL",
            name=op.f("ck_index_value_revisions_correction_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["index_value_id"],
            ["index_values.id"],
            name=op.f("fk_index_value_revisions_index_value_id_index_values"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["revised_by_id"],
            ["users.id"],
            name=op.f("fk_index_value_revisions_revised_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_value_revisions")),
    )
    with op.batch_alter_table("index_value_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_index_value_revisions_index_value_id"), ["index_value_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("index_value_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_value_revisions_index_value_id"))

    op.drop_table("index_value_revisions")
    op.drop_table("index_values")
