"""Every table ptmscope stores, in one place. Alembic migrations in ``migrations/`` change it.

Conventions:
- surrogate integer keys, natural keys as unique constraints (so renames keep their rows);
- list/dict fields that are read whole are JSON; anything that is joined on or counted is a column;
- ``raw`` keeps the payload a row was built from, so fields a remote API adds later are not lost.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere; Python None is SQL NULL.
JsonType = JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(name: str, **kw: object) -> Column[datetime]:
    return Column(name, UtcDateTime(), **kw)  # type: ignore[arg-type]


run = Table(
    "run", metadata,
    Column("id", Integer, primary_key=True),
    Column("stage", String(64), nullable=False),
    Column("source", String(255), nullable=False),
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    Column("status", String(16), nullable=False),  # running / completed / failed / interrupted
    Column("params", JsonType),
    Column("counts", JsonType),
    Column("versions", JsonType),
    Column("error", Text),
)

failure = Table(
    "failure", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("run.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("stage", String(64), nullable=False),
    Column("item", String(512), nullable=False),
    Column("reason", Text, nullable=False),
    _ts("recorded_at", nullable=False),
)

crawl_state = Table(
    "crawl_state", metadata,
    Column("source", String(255), primary_key=True),
    Column("watermark", String(64)),  # ISO timestamp of the newest change covered by a completed run
    Column("cursor", Text),
    Column("last_run_id", ForeignKey("run.id", ondelete="SET NULL")),
    _ts("last_completed_at"),
    Column("data", JsonType),
)

model = Table(
    "model", metadata,
    Column("id", Integer, primary_key=True),
    Column("hub", String(32), nullable=False),
    Column("model_id", String(255), nullable=False),
    Column("hub_object_id", String(64)),  # the Hub's stable _id: survives renames
    Column("author", String(255)),
    Column("sha", String(64)),
    _ts("created_at"),
    _ts("last_modified"),
    Column("downloads", BigInteger),
    Column("downloads_all_time", BigInteger),
    Column("likes", Integer),
    Column("library_name", String(128)),
    Column("pipeline_tag", String(128)),
    Column("domain", String(32)),
    Column("tags", JsonType),
    Column("license_raw", String(255)),
    Column("license_spdx", String(255)),
    Column("datasets", JsonType),
    Column("languages", JsonType),
    Column("base_models", JsonType),
    Column("arxiv_ids", JsonType),
    Column("gated", String(16)),  # "false" / "auto" / "manual" / "true": the Hub's own words
    Column("private", Boolean),
    Column("disabled", Boolean),
    Column("card_data", JsonType),
    Column("card_data_error", Text),
    Column("model_index", JsonType),
    Column("card_text", Text),
    Column("card_sha", String(64)),  # the model sha the stored card was fetched at ("" = none there)
    Column("commits_sha", String(64)),  # likewise for the commit history
    Column("files_sha", String(64)),  # likewise for per-file sizes and LFS hashes
    Column("config", JsonType),
    Column("transformers_info", JsonType),
    Column("safetensors", JsonType),
    Column("parameter_count", BigInteger),
    Column("used_storage", BigInteger),
    Column("spaces", JsonType),
    Column("spaces_count", Integer),
    Column("security_status", JsonType),
    Column("github_repo", String(255)),  # the hub's own declared code repository (PyTorch Hub)
    Column("entrypoints", JsonType),
    Column("title", String(512)),
    Column("summary", Text),
    Column("raw", JsonType),
    Column("raw_hash", String(32)),
    _ts("first_seen"),
    _ts("last_seen"),
    Column("last_seen_run", Integer),
    Column("deleted", Boolean, nullable=False, default=False),
    _ts("deleted_at"),
    UniqueConstraint("hub", "model_id"),
    Index("ix_model_hub_object", "hub", "hub_object_id"),
    Index("ix_model_last_modified", "hub", "last_modified"),
)

model_alias = Table(
    "model_alias", metadata,
    Column("id", Integer, primary_key=True),
    Column("hub", String(32), nullable=False),
    Column("old_id", String(255), nullable=False),
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("evidence", String(64), nullable=False),  # http_307 / object_id
    _ts("detected_at", nullable=False),
    UniqueConstraint("hub", "old_id"),
)

model_file = Table(
    "model_file", metadata,
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger),
    Column("blob_id", String(64)),
    Column("lfs_sha256", String(64)),
    Column("lfs_size", BigInteger),
    Column("format", String(32)),
)

model_commit = Table(
    "model_commit", metadata,
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), primary_key=True),
    Column("commit_id", String(64), primary_key=True),
    Column("title", Text),
    Column("message", Text),
    Column("authors", JsonType),
    _ts("created_at"),
)

model_edge = Table(
    "model_edge", metadata,
    Column("id", Integer, primary_key=True),
    Column("child", ForeignKey("model.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("parent_id", String(255), nullable=False),  # kept even when the parent is not stored
    Column("parent", ForeignKey("model.id", ondelete="SET NULL"), index=True),
    Column("relation", String(32), nullable=False),
    Column("evidence", String(255), nullable=False),
    UniqueConstraint("child", "parent_id", "relation", "evidence"),
)

card_metadata = Table(
    "card_metadata", metadata,
    Column("id", Integer, primary_key=True),
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), nullable=False),
    Column("field", String(64), nullable=False),
    Column("value", JsonType),
    Column("extractor", String(64), nullable=False),
    Column("confidence", Float),
    UniqueConstraint("model", "field", "extractor"),
)

paper = Table(
    "paper", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(64), nullable=False),
    Column("source_id", String(255), nullable=False),
    Column("venue", String(64)),
    Column("year", Integer),
    Column("title", Text),
    Column("authors", JsonType),
    Column("affiliations", JsonType),
    Column("countries", JsonType),
    Column("arxiv_id", String(32)),
    Column("doi", String(255)),
    Column("openreview_id", String(64)),
    Column("code_links", JsonType),
    Column("url", String(1024)),
    Column("pdf_url", String(1024)),
    Column("abstract", Text),
    Column("keywords", JsonType),
    Column("raw", JsonType),
    UniqueConstraint("source", "source_id"),
)

repository = Table(
    "repository", metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(64), nullable=False, default="github.com"),
    Column("owner", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("full_name_lower", String(512), nullable=False),  # identity is case-insensitive
    Column("url", String(1024)),
    Column("description", Text),
    Column("homepage", String(1024)),
    Column("language", String(64)),
    Column("stars", Integer),
    Column("forks", Integer),
    Column("watchers", Integer),
    Column("open_issues", Integer),
    Column("size_kb", BigInteger),
    Column("topics", JsonType),
    Column("license_raw", String(255)),
    Column("license_spdx", String(255)),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("pushed_at"),
    Column("default_branch", String(255)),
    Column("head_sha", String(64)),
    Column("fork_parent", String(512)),
    Column("archived", Boolean),
    Column("is_fork", Boolean),
    Column("subscribers", Integer),
    Column("github_id", BigInteger),  # GitHub's numeric id: stable across renames and transfers
    Column("status", String(16)),  # pending (only linked so far) / ok / not_found / moved / failed
    _ts("fetched_at"),
    Column("etag", String(255)),
    Column("raw", JsonType),
    Column("clone_path", String(1024)),
    Column("cloned_sha", String(64)),
    _ts("cloned_at"),
    Column("clone_status", String(16)),  # cloned / skipped / failed
    Column("clone_reason", Text),
    Column("clone_files", Integer),
    Column("clone_bytes", BigInteger),
    UniqueConstraint("host", "full_name_lower"),
    Index("ix_repository_github_id", "github_id"),
)

repo_alias = Table(
    "repo_alias", metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(64), nullable=False),
    Column("old_name_lower", String(512), nullable=False),
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("evidence", String(64), nullable=False),  # http_301 / github_id
    _ts("detected_at", nullable=False),
    UniqueConstraint("host", "old_name_lower"),
)

repo_issue = Table(
    "repo_issue", metadata,
    Column("id", Integer, primary_key=True),
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # issue / pull
    Column("title", Text),
    Column("state", String(16)),
    Column("author", String(255)),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("closed_at"),
    _ts("merged_at"),
    Column("comments", Integer),
    Column("labels", JsonType),
    Column("raw", JsonType),
    UniqueConstraint("repository", "number"),
)

repo_commit = Table(
    "repo_commit", metadata,
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("author", String(255)),
    _ts("authored_at"),
    Column("committer", String(255)),
    _ts("committed_at"),
    Column("message", Text),
)

repo_source = Table(
    "repo_source", metadata,
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), primary_key=True),
    # paper / model_card / hub_catalogue / hf_org / hf_org_fork / github_search / downstream / user
    Column("perspective", String(32), primary_key=True),
)

link = Table(
    "link", metadata,
    Column("id", Integer, primary_key=True),
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), index=True),
    Column("paper", ForeignKey("paper.id", ondelete="CASCADE"), index=True),
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("field", String(64)),  # where in the source: card_yaml, card_text, front_matter, code_link, ...
    Column("line", Integer),
    Column("evidence", Text, nullable=False),
    Column("confidence", Float),
)

usage = Table(
    "usage", metadata,
    Column("id", Integer, primary_key=True),
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("path", String(1024), nullable=False),
    Column("cell", Integer),
    Column("line", Integer),
    Column("library", String(64), nullable=False),
    Column("call", String(255), nullable=False),
    Column("model_name", String(512)),
    Column("model", ForeignKey("model.id", ondelete="SET NULL"), index=True),
    Column("expression", Text),
    Column("resolved", Boolean, nullable=False),
    Column("revision", String(255)),
    Column("pinned", Boolean),
    Column("trust_remote_code", Boolean),
    Column("use_safetensors", Boolean),
    Column("confidence", Float),  # 1.0 from the AST; lower for the pattern fallback on unparsable files
    Column("commit", String(64)),  # the repository commit the call site was read at
    Column("kind", String(16)),  # hub / local (a path, not a hub model) / unknown (not resolved)
    Column("local_path", Text),  # for kind local: the path the code loads from
)

# One row per repository analysed by the usage stage: which commit, with which analyzer and signature
# catalogue, so ``usage --all`` re-reads a repository only when its clone or the catalogue changed.
usage_analysis = Table(
    "usage_analysis", metadata,
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), primary_key=True),
    Column("commit", String(64)),
    Column("analyzer_version", String(64), nullable=False),
    Column("files", Integer),
    Column("call_sites", Integer),
    Column("skipped", JsonType),  # [{"path", "reason"}]
    _ts("analysed_at", nullable=False),
)

# --- model cards: which card version was extracted by what, and fields waiting for a human -------------------

card_extraction = Table(
    "card_extraction", metadata,
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), primary_key=True),
    Column("card_sha", String(64)),  # model.card_sha at extraction time: unchanged card = no work
    Column("extractor_version", String(64), nullable=False),
    Column("llm_model", String(255)),
    Column("tokens_in", Integer),
    Column("tokens_out", Integer),
    Column("cost_usd", Float),
    Column("error", Text),
    _ts("extracted_at", nullable=False),
)

card_review = Table(
    "card_review", metadata,
    Column("id", Integer, primary_key=True),
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("field", String(64), nullable=False),
    Column("value", JsonType),
    Column("extractor", String(64), nullable=False),
    Column("confidence", Float),
    Column("evidence", Text),
    Column("status", String(16), nullable=False),  # pending / accepted / rejected
    Column("reviewer_value", JsonType),
    _ts("created_at", nullable=False),
    _ts("reviewed_at"),
    UniqueConstraint("model", "field", "extractor"),
)

# --- licenses: one verdict per model→application pair and per contradicting base-model link -----------------

license_check = Table(
    "license_check", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # model_app / base_model
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), index=True),  # model_app
    Column("parent", ForeignKey("model.id", ondelete="CASCADE"), index=True),  # base_model
    Column("model_license", String(255)),
    Column("other_license", String(255)),
    Column("verdict", String(16), nullable=False),  # compatible / incompatible / unknown
    Column("rule", String(64), nullable=False),
    Column("reason", Text),
)

# --- model snapshots: the files of a model at its recorded commit, and what the model-file scanners said -----

model_snapshot = Table(
    "model_snapshot", metadata,
    Column("model", ForeignKey("model.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("commit", String(64)),
    Column("sha256", String(64), index=True),  # content address in the snapshot store
    Column("size", BigInteger),
    Column("status", String(16), nullable=False),  # downloaded / skipped / failed
    Column("reason", Text),
    Column("format", String(32)),  # from the first bytes, not the extension
    Column("hub_security", JsonType),  # the Hub's own per-file scan, kept beside ours
    _ts("fetched_at", nullable=False),
)

model_file_verdict = Table(
    "model_file_verdict", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("scanner", String(64), primary_key=True),
    Column("scanner_version", String(64), primary_key=True),
    Column("outcome", String(16), nullable=False),  # clean / suspicious / dangerous / inconclusive / skipped
    Column("format", String(32)),
    Column("details", JsonType),  # rule ids, imported globals, messages
    _ts("scanned_at", nullable=False),
)

# --- scanning: content-addressed results, and the per-repository view built from them -----------------------
#
# A scan result belongs to a file content, not to a repository: ``blob_scan`` holds one result per
# (blob, scanner, version, ruleset) and ``repo_file`` says which repository commits hold each blob at
# which path, so forks and copies are scanned once. ``scan``/``finding`` stay the per-repository view
# that exports, statistics and reports read: one ``scan`` row per (repository, commit, scanner, version,
# ruleset) and ``finding`` rows materialised with the path. Materialising costs rows, not scanner time,
# and keeps every reader a plain indexed query instead of a four-table join over all forks.

blob = Table(
    "blob", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha", String(64), nullable=False),  # git blob id: sha1 of b"blob <size>\0" + content
    Column("size", BigInteger, nullable=False),
    Column("kind", String(16)),  # text / binary, known once a scan has read the content
    UniqueConstraint("sha"),
)

repo_file = Table(
    "repo_file", metadata,
    Column("id", Integer, primary_key=True),
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), nullable=False),
    Column("commit", String(64), nullable=False),
    # Display form (non-UTF-8 bytes as \xNN). Unbounded, since git allows paths of kilobytes; for the
    # same reason it is in no unique index (a B-tree row has a size limit): rows of a commit are written
    # as a whole set by one writer.
    Column("path", Text, nullable=False),
    Column("blob", ForeignKey("blob.id", ondelete="CASCADE"), index=True),  # null: nothing to read (symlink)
    Column("skipped", Text),  # why an entry without a blob is not scanned
    Index("ix_repo_file_repository_commit", "repository", "commit"),
)

blob_scan = Table(
    "blob_scan", metadata,
    Column("id", Integer, primary_key=True),
    Column("blob", ForeignKey("blob.id", ondelete="CASCADE"), nullable=False),
    Column("scanner", String(64), nullable=False),
    Column("scanner_version", String(64), nullable=False),
    Column("ruleset", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # ok / skipped (with findings possibly) / failed
    Column("reason", Text),
    _ts("scanned_at", nullable=False),
    UniqueConstraint("blob", "scanner", "scanner_version", "ruleset"),
)

blob_finding = Table(
    "blob_finding", metadata,
    Column("id", Integer, primary_key=True),
    Column("blob_scan", ForeignKey("blob_scan.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("rule_id", String(128), nullable=False),
    Column("line", Integer),
    Column("column", Integer),
    Column("end_line", Integer),
    Column("message", Text),
    Column("original_severity", String(32)),
    Column("severity", String(16)),
    Column("vuln_type", String(64)),
    Column("category", String(64)),
    Column("cwe", String(32)),
    Column("cve", String(32)),
    Column("confidence", String(16)),
    Column("snippet", Text),
)

scan = Table(
    "scan", metadata,
    Column("id", Integer, primary_key=True),
    Column("scanner", String(64), nullable=False),
    Column("scanner_version", String(64)),
    Column("ruleset", String(64)),
    Column("repository", ForeignKey("repository.id", ondelete="CASCADE"), index=True),
    Column("commit", String(64)),
    Column("status", String(16), nullable=False),  # ok / partial (some files skipped or failed)
    _ts("started_at"),
    _ts("finished_at"),
    Column("files", Integer),  # files of the commit this scanner read
    Column("skipped", JsonType),
    # (repository, commit, scanner, version, ruleset) is unique by how scans are written (one writer,
    # replacing), not by a constraint: merging two names of one repository may briefly hold both.
)

finding = Table(
    "finding", metadata,
    Column("id", Integer, primary_key=True),
    Column("scan", ForeignKey("scan.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("rule_id", String(128), nullable=False),
    Column("vuln_type", String(64)),
    Column("category", String(64)),
    Column("severity", String(16)),
    Column("original_severity", String(32)),
    Column("confidence", String(16)),
    Column("cwe", String(32)),
    Column("cve", String(32)),
    Column("path", Text),
    Column("line", Integer),
    Column("column", Integer),
    Column("end_line", Integer),
    Column("message", Text),
    Column("snippet", Text),
    Column("fingerprint", String(64), index=True),
    Column("blob_finding", ForeignKey("blob_finding.id", ondelete="SET NULL"), index=True),
)
