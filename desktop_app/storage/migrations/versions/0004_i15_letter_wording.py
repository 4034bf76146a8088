"""Letters that say exactly what the agency means (issue 15).

- findings.releasable: a finding reaches the developer's copy of a letter only when a
  reviewer marks it releasable (existing findings: not releasable);
- information_requests.respond_by: the response deadline a request's notice gives;
- signoffs.letter_reasons: the reasons a "not cleared" or conditional letter states, as
  the supervisor approved them at sign-off;
- letters.concerns_id: the letter a revocation or conditions-met notice is about.

Revision ID: 0004_i15
Revises: 0004_i17b
Create Date: 2026-12-05 12:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0004_i15'
down_revision = '0004_i17b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN: a batch copy of `findings` would break the search triggers that name it
    op.add_column('findings', sa.Column('releasable', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('information_requests', sa.Column('respond_by', sa.Date(), nullable=True))
    op.add_column('signoffs', sa.Column('letter_reasons', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('concerns_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_letters_concerns_id_letters'), 'letters', ['concerns_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_letters_concerns_id_letters'), type_='foreignkey')
        batch_op.drop_column('concerns_id')
    op.drop_column('signoffs', 'letter_reasons')
    op.drop_column('information_requests', 'respond_by')
    op.drop_column('findings', 'releasable')
