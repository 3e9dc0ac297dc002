"""registry: agreements, shared roles, case transfers, decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_bases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("law", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("old_reference", sa.String(length=100), nullable=True),
        sa.Column("new_reference", sa.String(length=100), nullable=True),
        sa.Column("reportable", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_bases")),
        sa.UniqueConstraint("code", name=op.f("uq_legal_bases_code")),
    )
    op.create_table(
        "reference_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=10), nullable=False),
        sa.Column("kommunkod", sa.String(length=4), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_counters")),
        sa.UniqueConstraint("prefix", "kommunkod", "year", name="uq_reference_counters_key"),
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "area",
            sa.Enum(
                "familjeratt",
                "javsarenden",
                "familjehemsrekrytering",
                "socialjour",
                "gemensam_socialchef",
                "barn_och_unga",
                "vuxen",
                "ekonomiskt_bistand",
                "lss",
                "annat",
                name="area",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "cooperation_form",
            sa.Enum(
                "avtalssamverkan",
                "gemensam_namnd",
                "kommunalforbund",
                "timanstalld_handlaggare",
                "konsult",
                name="cooperation_form",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("legal_basis", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("renewal_months", sa.Integer(), nullable=True),
        sa.Column("notice_months", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "under_renegotiation",
                "terminated",
                "expired",
                name="agreement_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        sa.Column("termination_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_agreements_end_after_start")
        ),
        sa.CheckConstraint(
            "notice_months IS NULL OR notice_months >= 0", name=op.f("ck_agreements_notice_not_negative")
        ),
        sa.CheckConstraint(
            "renewal_months IS NULL OR renewal_months > 0", name=op.f("ck_agreements_renewal_positive")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_agreements_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("number", name=op.f("uq_agreements_number")),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreements_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_feeds_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feeds_user_id")),
    )
    op.create_table(
        "agreement_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_agreement_attachments_not_empty")),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_attachments_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_agreement_attachments_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_attachments")),
    )
    with op.batch_alter_table("agreement_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_attachments_agreement_id"), ["agreement_id"], unique=False
        )

    op.create_table(
        "agreement_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("host", "buyer", name="party_role", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("board", sa.String(length=200), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("decision_reference", sa.String(length=100), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_parties_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_agreement_parties_municipality_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_parties")),
        sa.UniqueConstraint(
            "agreement_id", "municipality_id", name="uq_agreement_parties_agreement_municipality"
        ),
    )
    with op.batch_alter_table("agreement_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_parties_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_agreement_parties_municipality_id"), ["municipality_id"], unique=False
        )
        batch_op.create_index(
            "uq_agreement_parties_one_host",
            ["agreement_id"],
            unique=True,
            postgresql_where=sa.text("role = 'host'"),
            sqlite_where=sa.text("role = 'host'"),
        )

    op.create_table(
        "case_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("requesting_municipality_id", sa.Integer(), nullable=False),
        sa.Column("performing_municipality_id", sa.Integer(), nullable=False),
        sa.Column(
            "jav_ground",
            sa.Enum(
                "narstaende",
                "anstalld",
                "fortroendevald",
                "kand_person",
                "klientens_onskemal",
                "annat",
                name="jav_ground",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "resolution_type",
            sa.Enum(
                "annan_enhet",
                "timanstalld_handlaggare",
                "konsult",
                "extern_delegering",
                name="resolution_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "case_area",
            sa.Enum(
                "barn_och_unga",
                "vuxen",
                "ekonomiskt_bistand",
                "lss",
                "familjeratt",
                "aldreomsorg",
                "annat",
                name="case_area",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "executor",
            sa.Enum(
                "requesting",
                "performing",
                name="executor",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("delegation_decision", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "accepted",
                "declined",
                "investigating",
                "decided",
                "executed",
                "interrupted",
                "closed",
                name="transfer_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status_before_interruption",
            sa.Enum(
                "requested",
                "accepted",
                "declined",
                "investigating",
                "decided",
                "executed",
                "interrupted",
                "closed",
                name="transfer_status_before_interruption",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "requesting_municipality_id <> performing_municipality_id",
            name=op.f("ck_case_transfers_different_parties"),
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_case_transfers_agreement_id_agreements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_case_transfers_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["performing_municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_case_transfers_performing_municipality_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requesting_municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_case_transfers_requesting_municipality_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfers")),
        sa.UniqueConstraint("reference", name=op.f("uq_case_transfers_reference")),
    )
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_transfers_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_transfers_performing_municipality_id"),
            ["performing_municipality_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_case_transfers_requesting_municipality_id"),
            ["requesting_municipality_id"],
            unique=False,
        )

    op.create_table(
        "shared_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("employer_municipality_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("salary_per_month", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("po_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("overhead_per_month", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("delegations", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("overhead_per_month >= 0", name=op.f("ck_shared_roles_overhead_not_negative")),
        sa.CheckConstraint(
            "period_end IS NULL OR period_end >= period_start", name=op.f("ck_shared_roles_period_order")
        ),
        sa.CheckConstraint(
            "po_percent >= 0 AND po_percent <= 100", name=op.f("ck_shared_roles_po_percent_range")
        ),
        sa.CheckConstraint("salary_per_month >= 0", name=op.f("ck_shared_roles_salary_not_negative")),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_shared_roles_agreement_id_agreements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["employer_municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_shared_roles_employer_municipality_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_roles")),
    )
    with op.batch_alter_table("shared_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shared_roles_agreement_id"), ["agreement_id"], unique=False)

    op.create_table(
        "case_transfer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "requested",
                "accepted",
                "declined",
                "investigating",
                "decided",
                "executed",
                "interrupted",
                "closed",
                name="event_from_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "requested",
                "accepted",
                "declined",
                "investigating",
                "decided",
                "executed",
                "interrupted",
                "closed",
                name="event_to_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["case_transfers.id"],
            name=op.f("fk_case_transfer_events_transfer_id_case_transfers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_transfer_events_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfer_events")),
    )
    with op.batch_alter_table("case_transfer_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_transfer_events_transfer_id"), ["transfer_id"], unique=False
        )

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("responsible_municipality_id", sa.Integer(), nullable=False),
        sa.Column("legal_basis_id", sa.Integer(), nullable=False),
        sa.Column("insats_type", sa.String(length=200), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=True),
        sa.Column("delay_reason", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closing_reason", sa.Text(), nullable=True),
        sa.Column("ivo_person_ref", sa.String(length=13), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "execution_date IS NULL OR execution_date >= decision_date",
            name=op.f("ck_decisions_executed_after"),
        ),
        sa.CheckConstraint(
            "transfer_id IS NOT NULL OR agreement_id IS NOT NULL", name=op.f("ck_decisions_has_context")
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_decisions_agreement_id_agreements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["legal_basis_id"],
            ["legal_bases.id"],
            name=op.f("fk_decisions_legal_basis_id_legal_bases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_decisions_responsible_municipality_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["case_transfers.id"],
            name=op.f("fk_decisions_transfer_id_case_transfers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_agreement_id"), ["agreement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_decision_date"), ["decision_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_decisions_responsible_municipality_id"),
            ["responsible_municipality_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_decisions_transfer_id"), ["transfer_id"], unique=False)

    op.create_table(
        "insight_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_label", sa.String(length=300), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_insight_log_municipality_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["case_transfers.id"],
            name=op.f("fk_insight_log_transfer_id_case_transfers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_insight_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_log")),
    )
    with op.batch_alter_table("insight_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_insight_log_transfer_id"), ["transfer_id"], unique=False)

    op.create_table(
        "shared_role_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shared_role_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.CheckConstraint(
            "percent > 0 AND percent <= 100", name=op.f("ck_shared_role_allocations_percent_range")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_shared_role_allocations_municipality_id_municipalities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shared_role_id"],
            ["shared_roles.id"],
            name=op.f("fk_shared_role_allocations_shared_role_id_shared_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_role_allocations")),
        sa.UniqueConstraint(
            "shared_role_id",
            "valid_from",
            "municipality_id",
            name="uq_shared_role_allocations_role_from_municipality",
        ),
    )
    with op.batch_alter_table("shared_role_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shared_role_allocations_shared_role_id"), ["shared_role_id"], unique=False
        )

    op.create_table(
        "decision_interruptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("interrupted_on", sa.Date(), nullable=False),
        sa.Column("resumed_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "resumed_on IS NULL OR resumed_on >= interrupted_on",
            name=op.f("ck_decision_interruptions_resumed_after"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_interruptions_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_interruptions")),
    )
    with op.batch_alter_table("decision_interruptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_interruptions_decision_id"), ["decision_id"], unique=False
        )

    op.create_table(
        "decision_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_offers_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_offers")),
    )
    with op.batch_alter_table("decision_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_offers_decision_id"), ["decision_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decision_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_offers_decision_id"))

    op.drop_table("decision_offers")
    with op.batch_alter_table("decision_interruptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_interruptions_decision_id"))

    op.drop_table("decision_interruptions")
    with op.batch_alter_table("shared_role_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shared_role_allocations_shared_role_id"))

    op.drop_table("shared_role_allocations")
    with op.batch_alter_table("insight_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insight_log_transfer_id"))

    op.drop_table("insight_log")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_decisions_responsible_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_decisions_decision_date"))
        batch_op.drop_index(batch_op.f("ix_decisions_agreement_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("case_transfer_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_transfer_events_transfer_id"))

    op.drop_table("case_transfer_events")
    with op.batch_alter_table("shared_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shared_roles_agreement_id"))

    op.drop_table("shared_roles")
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_transfers_requesting_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_case_transfers_performing_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_case_transfers_agreement_id"))

    op.drop_table("case_transfers")
    with op.batch_alter_table("agreement_parties", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_agreement_parties_one_host",
            postgresql_where=sa.text("role = 'host'"),
            sqlite_where=sa.text("role = 'host'"),
        )
        batch_op.drop_index(batch_op.f("ix_agreement_parties_municipality_id"))
        batch_op.drop_index(batch_op.f("ix_agreement_parties_agreement_id"))

    op.drop_table("agreement_parties")
    with op.batch_alter_table("agreement_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_attachments_agreement_id"))

    op.drop_table("agreement_attachments")
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_owner_id"))

    op.drop_table("agreements")
    op.drop_table("reference_counters")
    op.drop_table("legal_bases")
