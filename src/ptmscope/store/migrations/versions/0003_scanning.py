"""scanning: content-addressed blobs, files, scans and findings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blob',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blob')),
    sa.UniqueConstraint('sha', name=op.f('uq_blob_sha'))
    )
    op.create_table('blob_scan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blob', sa.Integer(), nullable=False),
    sa.Column('scanner', sa.String(length=64), nullable=False),
    sa.Column('scanner_version', sa.String(length=64), nullable=False),
    sa.Column('ruleset', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blob'], ['blob.id'], name=op.f('fk_blob_scan_blob_blob'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blob_scan')),
    sa.UniqueConstraint('blob', 'scanner', 'scanner_version', 'ruleset', name=op.f('uq_blob_scan_blob_scanner_scanner_version_ruleset'))
    )
    op.create_table('repo_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('commit', sa.String(length=64), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('blob', sa.Integer(), nullable=True),
    sa.Column('skipped', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['blob'], ['blob.id'], name=op.f('fk_repo_file_blob_blob'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_repo_file_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repo_file'))
    )
    with op.batch_alter_table('repo_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repo_file_blob'), ['blob'], unique=False)
        batch_op.create_index('ix_repo_file_repository_commit', ['repository', 'commit'], unique=False)

    op.create_table('blob_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blob_scan', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=128), nullable=False),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('column', sa.Integer(), nullable=True),
    sa.Column('end_line', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('original_severity', sa.String(length=32), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=True),
    sa.Column('vuln_type', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('cwe', sa.String(length=32), nullable=True),
    sa.Column('cve', sa.String(length=32), nullable=True),
    sa.Column('confidence', sa.String(length=16), nullable=True),
    sa.Column('snippet', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['blob_scan'], ['blob_scan.id'], name=op.f('fk_blob_finding_blob_scan_blob_scan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blob_finding'))
    )
    with op.batch_alter_table('blob_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blob_finding_blob_scan'), ['blob_scan'], unique=False)

    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('column', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('end_line', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('snippet', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('blob_finding', sa.Integer(), nullable=True))
        batch_op.alter_column('path',
               existing_type=sa.VARCHAR(length=1024),
               type_=sa.Text(),
               existing_nullable=True)
        batch_op.create_index(batch_op.f('ix_finding_blob_finding'), ['blob_finding'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_finding_blob_finding_blob_finding'), 'blob_finding', ['blob_finding'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_column('files')

    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_finding_blob_finding_blob_finding'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_finding_blob_finding'))
        batch_op.alter_column('path',
               existing_type=sa.Text(),
               type_=sa.VARCHAR(length=1024),
               existing_nullable=True)
        batch_op.drop_column('blob_finding')
        batch_op.drop_column('snippet')
        batch_op.drop_column('end_line')
        batch_op.drop_column('column')

    with op.batch_alter_table('blob_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blob_finding_blob_scan'))

    op.drop_table('blob_finding')
    with op.batch_alter_table('repo_file', schema=None) as batch_op:
        batch_op.drop_index('ix_repo_file_repository_commit')
        batch_op.drop_index(batch_op.f('ix_repo_file_blob'))

    op.drop_table('repo_file')
    op.drop_table('blob_scan')
    op.drop_table('blob')
