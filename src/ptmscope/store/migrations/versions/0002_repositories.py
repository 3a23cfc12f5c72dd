"""repositories, clones, issues, paper fields

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('repo_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=64), nullable=False),
    sa.Column('old_name_lower', sa.String(length=512), nullable=False),
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.String(length=64), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_repo_alias_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repo_alias')),
    sa.UniqueConstraint('host', 'old_name_lower', name=op.f('uq_repo_alias_host_old_name_lower'))
    )
    with op.batch_alter_table('repo_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repo_alias_repository'), ['repository'], unique=False)

    op.create_table('repo_commit',
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('sha', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=255), nullable=True),
    sa.Column('authored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('committer', sa.String(length=255), nullable=True),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_repo_commit_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repository', 'sha', name=op.f('pk_repo_commit'))
    )
    op.create_table('repo_issue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=True),
    sa.Column('author', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comments', sa.Integer(), nullable=True),
    sa.Column('labels', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('raw', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_repo_issue_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repo_issue')),
    sa.UniqueConstraint('repository', 'number', name=op.f('uq_repo_issue_repository_number'))
    )
    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('line', sa.Integer(), nullable=True))

    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.add_column(sa.Column('url', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('pdf_url', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('abstract', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('keywords', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('repository', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_fork', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('subscribers', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('github_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clone_path', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('cloned_sha', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('cloned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clone_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('clone_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('clone_files', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('clone_bytes', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_repository_github_id', ['github_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('repository', schema=None) as batch_op:
        batch_op.drop_index('ix_repository_github_id')
        batch_op.drop_column('clone_bytes')
        batch_op.drop_column('clone_files')
        batch_op.drop_column('clone_reason')
        batch_op.drop_column('clone_status')
        batch_op.drop_column('cloned_at')
        batch_op.drop_column('cloned_sha')
        batch_op.drop_column('clone_path')
        batch_op.drop_column('fetched_at')
        batch_op.drop_column('status')
        batch_op.drop_column('github_id')
        batch_op.drop_column('subscribers')
        batch_op.drop_column('is_fork')

    with op.batch_alter_table('paper', schema=None) as batch_op:
        batch_op.drop_column('keywords')
        batch_op.drop_column('abstract')
        batch_op.drop_column('pdf_url')
        batch_op.drop_column('url')

    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.drop_column('line')
        batch_op.drop_column('field')

    op.drop_table('repo_issue')
    op.drop_table('repo_commit')
    with op.batch_alter_table('repo_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repo_alias_repository'))

    op.drop_table('repo_alias')
