"""Findings carried over from an earlier submission of a resubmission or supplement chain.

Revision ID: 0004_i17b
Revises: 0004_i17a
Create Date: 2026-12-05 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_i17b"
down_revision = "0004_i17a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("finding_id", sa.Integer(), sa.ForeignKey("findings.id", name="fk_finding_links_finding_id_findings"),
                  nullable=False),
        sa.Column("carried_from_id", sa.Integer(),
                  sa.ForeignKey("findings.id", name="fk_finding_links_carried_from_id_findings"), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_finding_links_linked_by_id_users"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finding_links"),
        sa.UniqueConstraint("finding_id", name="uq_finding_links_finding_id"),
    )
    op.create_index("ix_finding_links_carried_from_id", "finding_links", ["carried_from_id"])


def downgrade() -> None:
    op.drop_index("ix_finding_links_carried_from_id", table_name="finding_links")
    op.drop_table("finding_links")
