"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub', sa.String(length=32), nullable=False),
    sa.Column('model_id', sa.String(length=255), nullable=False),
    sa.Column('hub_object_id', sa.String(length=64), nullable=True),
    sa.Column('author', sa.String(length=255), nullable=True),
    sa.Column('sha', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_modified', sa.DateTime(timezone=True), nullable=True),
    sa.Column('downloads', sa.BigInteger(), nullable=True),
    sa.Column('downloads_all_time', sa.BigInteger(), nullable=True),
    sa.Column('likes', sa.Integer(), nullable=True),
    sa.Column('library_name', sa.String(length=128), nullable=True),
    sa.Column('pipeline_tag', sa.String(length=128), nullable=True),
    sa.Column('domain', sa.String(length=32), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('license_raw', sa.String(length=255), nullable=True),
    sa.Column('license_spdx', sa.String(length=255), nullable=True),
    sa.Column('datasets', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('languages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('base_models', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('arxiv_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('gated', sa.String(length=16), nullable=True),
    sa.Column('private', sa.Boolean(), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=True),
    sa.Column('card_data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('card_data_error', sa.Text(), nullable=True),
    sa.Column('model_index', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('card_text', sa.Text(), nullable=True),
    sa.Column('card_sha', sa.String(length=64), nullable=True),
    sa.Column('commits_sha', sa.String(length=64), nullable=True),
    sa.Column('files_sha', sa.String(length=64), nullable=True),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('transformers_info', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('safetensors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('parameter_count', sa.BigInteger(), nullable=True),
    sa.Column('used_storage', sa.BigInteger(), nullable=True),
    sa.Column('spaces', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('spaces_count', sa.Integer(), nullable=True),
    sa.Column('security_status', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('github_repo', sa.String(length=255), nullable=True),
    sa.Column('entrypoints', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('title', sa.String(length=512), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('raw_hash', sa.String(length=32), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_run', sa.Integer(), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model')),
    sa.UniqueConstraint('hub', 'model_id', name=op.f('uq_model_hub_model_id'))
    )
    with op.batch_alter_table('model', schema=None) as batch_op:
        batch_op.create_index('ix_model_hub_object', ['hub', 'hub_object_id'], unique=False)
        batch_op.create_index('ix_model_last_modified', ['hub', 'last_modified'], unique=False)

    op.create_table('paper',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=False),
    sa.Column('venue', sa.String(length=64), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('authors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('affiliations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('countries', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('arxiv_id', sa.String(length=32), nullable=True),
    sa.Column('doi', sa.String(length=255), nullable=True),
    sa.Column('openreview_id', sa.String(length=64), nullable=True),
    sa.Column('code_links', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_paper_source_source_id'))
    )
    op.create_table('repository',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('full_name_lower', sa.String(length=512), nullable=False),
    sa.Column('url', sa.String(length=1024), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('homepage', sa.String(length=1024), nullable=True),
    sa.Column('language', sa.String(length=64), nullable=True),
    sa.Column('stars', sa.Integer(), nullable=True),
    sa.Column('forks', sa.Integer(), nullable=True),
    sa.Column('watchers', sa.Integer(), nullable=True),
    sa.Column('open_issues', sa.Integer(), nullable=True),
    sa.Column('size_kb', sa.BigInteger(), nullable=True),
    sa.Column('topics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('license_raw', sa.String(length=255), nullable=True),
    sa.Column('license_spdx', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('default_branch', sa.String(length=255), nullable=True),
    sa.Column('head_sha', sa.String(length=64), nullable=True),
    sa.Column('fork_parent', sa.String(length=512), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=True),
    sa.Column('etag', sa.String(length=255), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repository')),
    sa.UniqueConstraint('host', 'full_name_lower', name=op.f('uq_repository_host_full_name_lower'))
    )
    op.create_table('run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('versions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run'))
    )
    op.create_table('card_metadata',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('extractor', sa.String(length=64), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_card_metadata_model_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_metadata')),
    sa.UniqueConstraint('model', 'field', 'extractor', name=op.f('uq_card_metadata_model_field_extractor'))
    )
    op.create_table('crawl_state',
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('watermark', sa.String(length=64), nullable=True),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('last_run_id', sa.Integer(), nullable=True),
    sa.Column('last_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['last_run_id'], ['run.id'], name=op.f('fk_crawl_state_last_run_id_run'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_crawl_state'))
    )
    op.create_table('failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=512), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_failure_run_id_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failure'))
    )
    with op.batch_alter_table('failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failure_run_id'), ['run_id'], unique=False)

    op.create_table('link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.Integer(), nullable=True),
    sa.Column('paper', sa.Integer(), nullable=True),
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_link_model_model'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['paper'], ['paper.id'], name=op.f('fk_link_paper_paper'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_link_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link'))
    )
    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_model'), ['model'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_paper'), ['paper'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_repository'), ['repository'], unique=False)

    op.create_table('model_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub', sa.String(length=32), nullable=False),
    sa.Column('old_id', sa.String(length=255), nullable=False),
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.String(length=64), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_model_alias_model_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_alias')),
    sa.UniqueConstraint('hub', 'old_id', name=op.f('uq_model_alias_hub_old_id'))
    )
    with op.batch_alter_table('model_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_alias_model'), ['model'], unique=False)

    op.create_table('model_commit',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('commit_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('authors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_model_commit_model_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'commit_id', name=op.f('pk_model_commit'))
    )
    op.create_table('model_edge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.String(length=255), nullable=False),
    sa.Column('parent', sa.Integer(), nullable=True),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('evidence', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['child'], ['model.id'], name=op.f('fk_model_edge_child_model'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent'], ['model.id'], name=op.f('fk_model_edge_parent_model'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_edge')),
    sa.UniqueConstraint('child', 'parent_id', 'relation', 'evidence', name=op.f('uq_model_edge_child_parent_id_relation_evidence'))
    )
    with op.batch_alter_table('model_edge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_edge_child'), ['child'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_edge_parent'), ['parent'], unique=False)

    op.create_table('model_file',
    sa.Column('model', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('blob_id', sa.String(length=64), nullable=True),
    sa.Column('lfs_sha256', sa.String(length=64), nullable=True),
    sa.Column('lfs_size', sa.BigInteger(), nullable=True),
    sa.Column('format', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_model_file_model_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model', 'path', name=op.f('pk_model_file'))
    )
    op.create_table('repo_source',
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('perspective', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_repo_source_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repository', 'perspective', name=op.f('pk_repo_source'))
    )
    op.create_table('scan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scanner', sa.String(length=64), nullable=False),
    sa.Column('scanner_version', sa.String(length=64), nullable=True),
    sa.Column('ruleset', sa.String(length=64), nullable=True),
    sa.Column('repository', sa.Integer(), nullable=True),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('skipped', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_scan_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan'))
    )
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_repository'), ['repository'], unique=False)

    op.create_table('usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repository', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('cell', sa.Integer(), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('library', sa.String(length=64), nullable=False),
    sa.Column('call', sa.String(length=255), nullable=False),
    sa.Column('model_name', sa.String(length=512), nullable=True),
    sa.Column('model', sa.Integer(), nullable=True),
    sa.Column('expression', sa.Text(), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.Column('revision', sa.String(length=255), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=True),
    sa.Column('trust_remote_code', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['model'], ['model.id'], name=op.f('fk_usage_model_model'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['repository'], ['repository.id'], name=op.f('fk_usage_repository_repository'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage'))
    )
    with op.batch_alter_table('usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_model'), ['model'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_repository'), ['repository'], unique=False)

    op.create_table('finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scan', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=128), nullable=False),
    sa.Column('vuln_type', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=True),
    sa.Column('original_severity', sa.String(length=32), nullable=True),
    sa.Column('confidence', sa.String(length=16), nullable=True),
    sa.Column('cwe', sa.String(length=32), nullable=True),
    sa.Column('cve', sa.String(length=32), nullable=True),
    sa.Column('path', sa.String(length=1024), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['scan'], ['scan.id'], name=op.f('fk_finding_scan_scan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding'))
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_scan'), ['scan'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_scan'))
        batch_op.drop_index(batch_op.f('ix_finding_fingerprint'))

    op.drop_table('finding')
    with op.batch_alter_table('usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_repository'))
        batch_op.drop_index(batch_op.f('ix_usage_model'))

    op.drop_table('usage')
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_repository'))

    op.drop_table('scan')
    op.drop_table('repo_source')
    op.drop_table('model_file')
    with op.batch_alter_table('model_edge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_edge_parent'))
        batch_op.drop_index(batch_op.f('ix_model_edge_child'))

    op.drop_table('model_edge')
    op.drop_table('model_commit')
    with op.batch_alter_table('model_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_alias_model'))

    op.drop_table('model_alias')
    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_repository'))
        batch_op.drop_index(batch_op.f('ix_link_paper'))
        batch_op.drop_index(batch_op.f('ix_link_model'))

    op.drop_table('link')
    with op.batch_alter_table('failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failure_run_id'))

    op.drop_table('failure')
    op.drop_table('crawl_state')
    op.drop_table('card_metadata')
    op.drop_table('run')
    op.drop_table('repository')
    op.drop_table('paper')
    with op.batch_alter_table('model', schema=None) as batch_op:
        batch_op.drop_index('ix_model_last_modified')
        batch_op.drop_index('ix_model_hub_object')

    op.drop_table('model')
