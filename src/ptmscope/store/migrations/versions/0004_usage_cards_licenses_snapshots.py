"""usage, cards, licenses, snapshots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('model_file_verdict',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('scanner', sa.String(length=64), nullable=False),
    sa.Column('scanner_version', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', 'scanner', 'scanner_version', name=op.f('pk_model_file_verdict'))
    )
    op.create_table('card_extraction',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('card_sha', sa.String(length=64), nullable=True),
    sa.Column('extractor_version', sa.String(length=64), nullable=False),
    sa.Column('llm_model', sa.String(length=255), nullable=True),
    sa.Column('tokens_in', sa.Integer(), nullable=True),
    sa.Column('tokens_out', sa.Integer(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('extracted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_card_extraction_model_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', name=op.f('pk_card_extraction'))
    )
    op.create_table('card_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('extractor', sa.String(length=64), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reviewer_value', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_card_review_model_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_review')),
    sa.UniqueConstraint('model', 'field', 'extractor', name=op.f('uq_card_review_model_field_extractor'))
    )
    with op.batch_alter_table('card_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_review_model'), ['model'], unique=False)

    op.create_table('license_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('repository', sa.Integer(), nullable=True),
    sa.Column('parent', sa.Integer(), nullable=True),
    sa.Column('model_license', sa.String(length=255), nullable=True),
    sa.Column('other_license', sa.String(length=255), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_license_check_model_model'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent'], ['model.id'], name=op.f('fk_license_check_parent_model'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_license_check_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_license_check'))
    )
    with op.batch_alter_table('license_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_license_check_model'), ['model'], unique=False)
        batch_op.create_index(batch_op.f('ix_license_check_parent'), ['parent'], unique=False)
        batch_op.create_index(batch_op.f('ix_license_check_repository'), ['repository'], unique=False)

    op.create_table('model_snapshot',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('format', sa.String(length=32), nullable=True),
    sa.Column('hub_security', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_model_snapshot_model_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'path', name=op.f('pk_model_snapshot'))
    )
    with op.batch_alter_table('model_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_snapshot_sha256'), ['sha256'], unique=False)

    op.create_table('usage_analysis',
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('analyzer_version', sa.String(length=64), nullable=False),
    sa.Column('files', sa.Integer(), nullable=True),
    sa.Column('call_sites', sa.Integer(), nullable=True),
    sa.Column('skipped', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('analysed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_usage_analysis_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repository', name=op.f('pk_usage_analysis'))
    )
    with op.batch_alter_table('usage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('use_safetensors', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('confidence', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('commit', sa.String(length=64), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('usage', schema=None) as batch_op:
        batch_op.drop_column('commit')
        batch_op.drop_column('confidence')
        batch_op.drop_column('use_safetensors')

    op.drop_table('usage_analysis')
    with op.batch_alter_table('model_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_snapshot_sha256'))

    op.drop_table('model_snapshot')
    with op.batch_alter_table('license_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_license_check_repository'))
        batch_op.drop_index(batch_op.f('ix_license_check_parent'))
        batch_op.drop_index(batch_op.f('ix_license_check_model'))

    op.drop_table('license_check')
    with op.batch_alter_table('card_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_review_model'))

    op.drop_table('card_review')
    op.drop_table('card_extraction')
    op.drop_table('model_file_verdict')

