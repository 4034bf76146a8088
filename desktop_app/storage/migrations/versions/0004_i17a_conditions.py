"""Conditions after clearance: each numbered condition of an issued letter as a tracked item.

`conditions` holds one row per condition (owner, due date, status, the reason for a
waiver or a "not met"), `condition_evidence` the files and supplement artifacts offered
as evidence. The (status, due_date, owner_id) index covers the sidebar's "conditions due"
and "conditions overdue" counts.

Revision ID: 0004_i17a
Revises: 0003
Create Date: 2026-12-05 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_i17a'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conditions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_conditions_letter_id_letters')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_conditions_owner_id_users')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'],
                            name=op.f('fk_conditions_submission_id_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conditions')),
    sa.UniqueConstraint('letter_id', 'number', name='uq_conditions_letter_number')
    )
    with op.batch_alter_table('conditions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conditions_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index('ix_conditions_status_due', ['status', 'due_date', 'owner_id'], unique=False)

    op.create_table('condition_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('condition_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=True),
    sa.Column('original_name', sa.String(length=300), nullable=False),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('artifact_id', sa.Integer(), nullable=True),
    sa.Column('package_row_id', sa.Integer(), nullable=True),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attached_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id'], name=op.f('fk_condition_evidence_artifact_id_artifacts')),
    sa.ForeignKeyConstraint(['attached_by_id'], ['users.id'], name=op.f('fk_condition_evidence_attached_by_id_users')),
    sa.ForeignKeyConstraint(['condition_id'], ['conditions.id'],
                            name=op.f('fk_condition_evidence_condition_id_conditions')),
    sa.ForeignKeyConstraint(['package_row_id'], ['packages.id'],
                            name=op.f('fk_condition_evidence_package_row_id_packages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_condition_evidence'))
    )
    with op.batch_alter_table('condition_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_condition_evidence_condition_id'), ['condition_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('condition_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_condition_evidence_condition_id'))
    op.drop_table('condition_evidence')
    with op.batch_alter_table('conditions', schema=None) as batch_op:
        batch_op.drop_index('ix_conditions_status_due')
        batch_op.drop_index(batch_op.f('ix_conditions_submission_id'))
    op.drop_table('conditions')
