"""Streaming the store out as JSON Lines, CSV or Parquet (fields per DESIGN §6, plus a few more)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import select

from ..errors import UsageError
from . import Store, schema

FORMATS = ("jsonl", "csv", "parquet")

# Contract fields first (DESIGN §6); the rest are additions.
MODEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "str"), ("author", "str"), ("sha", "str"), ("created_at", "str"), ("last_modified", "str"),
    ("downloads", "int"), ("likes", "int"), ("library_name", "str"), ("pipeline_tag", "str"),
    ("tags", "list"), ("license", "str"), ("datasets", "list"), ("languages", "list"),
    ("base_models", "list"), ("gated", "str"), ("github_repos", "list"), ("deleted", "bool"),
    ("previous_ids", "list"),
    ("hub", "str"), ("domain", "str"), ("parameter_count", "int"), ("used_storage", "int"),
    ("spaces_count", "int"), ("private", "bool"), ("disabled", "bool"), ("arxiv_ids", "list"),
    ("has_card", "bool"), ("file_count", "int"), ("commit_count", "int"), ("entrypoints", "list"),
)

BATCH = 2000


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _lists(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _code_point_order(column: Any, dialect: str) -> Any:
    # PostgreSQL sorts text by the database's collation (en_US and the like put "org/a" before
    # "Org/Z" and skip punctuation); "C" is code point order, which SQLite and Python use, so an
    # export comes out in the same order from every store.
    return column.collate("C") if dialect == "postgresql" else column


def iter_models(store: Store, hub: str | None = None, include_deleted: bool = True) -> Iterator[dict[str, Any]]:
    """One dict per model, in a stable order (hub, id)."""
    m = schema.model
    cols = [m.c.id.label("pk"), m.c.hub, m.c.model_id, m.c.author, m.c.sha, m.c.created_at, m.c.last_modified,
            m.c.downloads, m.c.likes, m.c.library_name, m.c.pipeline_tag, m.c.tags, m.c.license_raw,
            m.c.license_spdx, m.c.datasets, m.c.languages, m.c.base_models, m.c.gated, m.c.github_repo,
            m.c.deleted, m.c.domain, m.c.parameter_count, m.c.used_storage, m.c.spaces_count, m.c.private,
            m.c.disabled, m.c.arxiv_ids, (m.c.card_text.is_not(None)).label("has_card"), m.c.entrypoints]
    query = select(*cols).order_by(_code_point_order(m.c.hub, store.dialect),
                                   _code_point_order(m.c.model_id, store.dialect))
    if hub:
        query = query.where(m.c.hub == hub)
    if not include_deleted:
        query = query.where(m.c.deleted.is_(False))
    with store.engine.connect() as conn:
        result = conn.execution_options(yield_per=BATCH).execute(query)
        for part in result.partitions():
            pks = [row.pk for row in part]
            aliases, repos, files, commits = _related(conn, pks)
            for row in part:
                gh = list(repos.get(row.pk, []))
                # Repository identity is case-insensitive: the hub's "pytorch/vision" is the linked
                # "PyTorch/Vision", not a second repository.
                if row.github_repo and row.github_repo.lower() not in {g.lower() for g in gh}:
                    gh.insert(0, row.github_repo)
                yield {
                    "id": row.model_id, "author": row.author, "sha": row.sha,
                    "created_at": _iso(row.created_at), "last_modified": _iso(row.last_modified),
                    "downloads": row.downloads, "likes": row.likes, "library_name": row.library_name,
                    "pipeline_tag": row.pipeline_tag, "tags": _lists(row.tags),
                    "license": row.license_spdx or row.license_raw, "datasets": _lists(row.datasets),
                    "languages": _lists(row.languages), "base_models": _lists(row.base_models),
                    "gated": row.gated, "github_repos": gh, "deleted": bool(row.deleted),
                    "previous_ids": sorted(aliases.get(row.pk, [])),
                    "hub": row.hub, "domain": row.domain, "parameter_count": row.parameter_count,
                    "used_storage": row.used_storage, "spaces_count": row.spaces_count,
                    "private": row.private, "disabled": row.disabled, "arxiv_ids": _lists(row.arxiv_ids),
                    "has_card": bool(row.has_card), "file_count": files.get(row.pk, 0),
                    "commit_count": commits.get(row.pk, 0), "entrypoints": _lists(row.entrypoints),
                }


def _related(conn: Any, pks: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]], dict[int, int],
                                                  dict[int, int]]:
    from sqlalchemy import func

    aliases: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(select(schema.model_alias.c.model, schema.model_alias.c.old_id)
                            .where(schema.model_alias.c.model.in_(pks))):
        aliases[row.model].append(row.old_id)
    repos: dict[int, list[str]] = defaultdict(list)
    r, lk = schema.repository, schema.link
    # A model's repositories are what its card or hub points at, not the libraries it was trained with.
    for row in conn.execute(select(lk.c.model, r.c.owner, r.c.name).join(r, r.c.id == lk.c.repository)
                            .where(lk.c.model.in_(pks), lk.c.kind != "library_mention",
                                   (lk.c.confidence.is_(None)) | (lk.c.confidence >= 0.5))
                            .order_by(lk.c.model, _code_point_order(r.c.full_name_lower, conn.dialect.name))):
        full = f"{row.owner}/{row.name}"
        if full not in repos[row.model]:
            repos[row.model].append(full)
    f, c = schema.model_file, schema.model_commit
    files = dict(conn.execute(select(f.c.model, func.count()).where(f.c.model.in_(pks)).group_by(f.c.model)).all())
    commits = dict(conn.execute(select(c.c.model, func.count()).where(c.c.model.in_(pks))
                                .group_by(c.c.model)).all())
    return aliases, repos, files, commits


def _json_default(value: Any) -> Any:
    raise TypeError(f"cannot serialise {type(value).__name__}")


def write_jsonl(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    n = 0
    for row in rows:
        out.write(orjson.dumps(row, default=_json_default))
        out.write(b"\n")
        n += 1
    return n


def write_csv(rows: Iterator[dict[str, Any]], out: IO[bytes], fields: list[str]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.DictWriter(text, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        # Lists go into one cell as JSON, so a reader can recover them exactly.
        writer.writerow({k: (orjson.dumps(v).decode() if isinstance(v, list | dict) else v)
                         for k, v in row.items()})
        n += 1
    text.detach()
    return n


def write_parquet(rows: Iterator[dict[str, Any]], path: Path, fields: tuple[tuple[str, str], ...]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
             "list": pa.list_(pa.string())}
    arrow_schema = pa.schema([(name, types[kind]) for name, kind in fields])
    n = 0
    with pq.ParquetWriter(path, arrow_schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append({name: ([orjson.dumps(v).decode() if not isinstance(v, str) else v for v in row[name]]
                                 if kind == "list" else row[name]) for name, kind in fields})
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=arrow_schema))
                n += len(batch)
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=arrow_schema))
            n += len(batch)
    return n


REPOSITORY_FIELDS: tuple[tuple[str, str], ...] = (
    ("repo", "str"), ("host", "str"), ("url", "str"), ("description", "str"), ("homepage", "str"),
    ("language", "str"), ("stars", "int"), ("forks", "int"), ("watchers", "int"), ("subscribers", "int"),
    ("open_issues", "int"), ("size_kb", "int"), ("topics", "list"), ("license", "str"), ("created_at", "str"),
    ("updated_at", "str"), ("pushed_at", "str"), ("default_branch", "str"), ("head_sha", "str"),
    ("fork_parent", "str"), ("is_fork", "bool"), ("archived", "bool"), ("status", "str"),
    ("perspectives", "list"), ("previous_names", "list"), ("cloned_sha", "str"), ("clone_status", "str"),
    ("clone_reason", "str"),
)

LINK_FIELDS: tuple[tuple[str, str], ...] = (
    ("model", "str"), ("model_hub", "str"), ("paper", "str"), ("paper_title", "str"), ("repo", "str"),
    ("kind", "str"), ("field", "str"), ("line", "int"), ("evidence", "str"), ("confidence", "float"),
)

PAPER_FIELDS: tuple[tuple[str, str], ...] = (
    ("source", "str"), ("source_id", "str"), ("venue", "str"), ("year", "int"), ("title", "str"),
    ("authors", "list"), ("affiliations", "list"), ("countries", "list"), ("arxiv_id", "str"), ("doi", "str"),
    ("openreview_id", "str"), ("url", "str"), ("pdf_url", "str"), ("keywords", "list"), ("code_links", "list"),
    ("repos", "list"),
)


def _full_name(owner: str, name: str) -> str:
    return f"{owner}/{name}"


def iter_repositories(store: Store) -> Iterator[dict[str, Any]]:
    r, src, alias = schema.repository, schema.repo_source, schema.repo_alias
    query = select(r).order_by(_code_point_order(r.c.full_name_lower, store.dialect))
    with store.engine.connect() as conn:
        for part in conn.execution_options(yield_per=BATCH).execute(query).mappings().partitions():
            pks = [row["id"] for row in part]
            perspectives: dict[int, list[str]] = defaultdict(list)
            for rel in conn.execute(select(src.c.repository, src.c.perspective).where(src.c.repository.in_(pks))
                                    .order_by(src.c.repository, src.c.perspective)):
                perspectives[rel.repository].append(rel.perspective)
            previous: dict[int, list[str]] = defaultdict(list)
            for rel in conn.execute(select(alias.c.repository, alias.c.old_name_lower)
                                    .where(alias.c.repository.in_(pks)).order_by(alias.c.old_name_lower)):
                previous[rel.repository].append(rel.old_name_lower)
            for row in part:
                yield {
                    "repo": _full_name(row["owner"], row["name"]), "host": row["host"], "url": row["url"],
                    "description": row["description"], "homepage": row["homepage"], "language": row["language"],
                    "stars": row["stars"], "forks": row["forks"], "watchers": row["watchers"],
                    "subscribers": row["subscribers"], "open_issues": row["open_issues"], "size_kb": row["size_kb"],
                    "topics": _lists(row["topics"]), "license": row["license_spdx"] or row["license_raw"],
                    "created_at": _iso(row["created_at"]), "updated_at": _iso(row["updated_at"]),
                    "pushed_at": _iso(row["pushed_at"]), "default_branch": row["default_branch"],
                    "head_sha": row["head_sha"], "fork_parent": row["fork_parent"], "is_fork": row["is_fork"],
                    "archived": row["archived"], "status": row["status"],
                    "perspectives": perspectives.get(row["id"], []), "previous_names": previous.get(row["id"], []),
                    "cloned_sha": row["cloned_sha"], "clone_status": row["clone_status"],
                    "clone_reason": row["clone_reason"],
                }


def iter_links(store: Store) -> Iterator[dict[str, Any]]:
    lk, m, p, r = schema.link, schema.model, schema.paper, schema.repository
    query = (select(lk.c.kind, lk.c.field, lk.c.line, lk.c.evidence, lk.c.confidence, m.c.model_id, m.c.hub,
                    p.c.source, p.c.source_id, p.c.title, r.c.owner, r.c.name)
             .join(r, r.c.id == lk.c.repository).outerjoin(m, m.c.id == lk.c.model).outerjoin(p, p.c.id == lk.c.paper)
             .order_by(_code_point_order(r.c.full_name_lower, store.dialect), lk.c.id))
    with store.engine.connect() as conn:
        for row in conn.execution_options(yield_per=BATCH).execute(query):
            yield {
                "model": row.model_id, "model_hub": row.hub,
                "paper": f"{row.source}:{row.source_id}" if row.source else None, "paper_title": row.title,
                "repo": _full_name(row.owner, row.name), "kind": row.kind, "field": row.field, "line": row.line,
                "evidence": row.evidence, "confidence": row.confidence,
            }


def iter_papers(store: Store) -> Iterator[dict[str, Any]]:
    p, lk, r = schema.paper, schema.link, schema.repository
    query = select(p).order_by(p.c.source, _code_point_order(p.c.source_id, store.dialect))
    with store.engine.connect() as conn:
        for part in conn.execution_options(yield_per=BATCH).execute(query).mappings().partitions():
            pks = [row["id"] for row in part]
            repos: dict[int, list[str]] = defaultdict(list)
            for rel in conn.execute(select(lk.c.paper, r.c.owner, r.c.name).join(r, r.c.id == lk.c.repository)
                                    .where(lk.c.paper.in_(pks)).order_by(lk.c.paper, r.c.full_name_lower)):
                full = _full_name(rel.owner, rel.name)
                if full not in repos[rel.paper]:
                    repos[rel.paper].append(full)
            for row in part:
                yield {
                    "source": row["source"], "source_id": row["source_id"], "venue": row["venue"],
                    "year": row["year"], "title": row["title"], "authors": _lists(row["authors"]),
                    "affiliations": _lists(row["affiliations"]), "countries": _lists(row["countries"]),
                    "arxiv_id": row["arxiv_id"], "doi": row["doi"], "openreview_id": row["openreview_id"],
                    "url": row["url"], "pdf_url": row["pdf_url"], "keywords": _lists(row["keywords"]),
                    "code_links": _lists(row["code_links"]), "repos": repos.get(row["id"], []),
                }


FINDING_FIELDS: tuple[tuple[str, str], ...] = (
    ("scanner", "str"), ("rule_id", "str"), ("category", "str"), ("vuln_type", "str"), ("severity", "str"),
    ("cwe", "str"), ("path", "str"), ("line", "int"), ("message", "str"),
    ("repo", "str"), ("commit", "str"), ("scanner_version", "str"), ("original_severity", "str"),
    ("confidence", "str"), ("cve", "str"), ("column", "int"), ("end_line", "int"), ("fingerprint", "str"),
)


def iter_findings(store: Store) -> Iterator[dict[str, Any]]:
    """Findings of each repository's current scans (at its cloned commit, newest scanner per tool)."""
    from ..scan.run import current_scans

    f, sc, r = schema.finding, schema.scan, schema.repository
    query = (select(f, sc.c.scanner, sc.c.scanner_version, sc.c.commit, r.c.owner, r.c.name)
             .join(sc, sc.c.id == f.c.scan).join(r, r.c.id == sc.c.repository)
             .where(sc.c.id.in_(current_scans()))
             .order_by(_code_point_order(r.c.full_name_lower, store.dialect), sc.c.scanner, f.c.path, f.c.line,
                       f.c.rule_id, f.c.id))
    with store.engine.connect() as conn:
        for row in conn.execution_options(yield_per=BATCH).execute(query).mappings():
            yield {
                "scanner": row["scanner"], "rule_id": row["rule_id"], "category": row["category"],
                "vuln_type": row["vuln_type"], "severity": row["severity"], "cwe": row["cwe"], "path": row["path"],
                "line": row["line"], "message": row["message"], "repo": _full_name(row["owner"], row["name"]),
                "commit": row["commit"], "scanner_version": row["scanner_version"],
                "original_severity": row["original_severity"], "confidence": row["confidence"], "cve": row["cve"],
                "column": row["column"], "end_line": row["end_line"], "fingerprint": row["fingerprint"],
            }


USAGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("model", "str"), ("library", "str"), ("call", "str"), ("path", "str"), ("line", "int"), ("revision", "str"),
    ("pinned", "bool"), ("trust_remote_code", "bool"), ("resolved", "bool"),
    ("repo", "str"), ("cell", "int"), ("model_name", "str"), ("model_hub", "str"), ("matched", "bool"),
    ("use_safetensors", "bool"), ("expression", "str"), ("confidence", "float"), ("commit", "str"),
    ("kind", "str"), ("local_path", "str"),
)


def iter_usages(store: Store) -> Iterator[dict[str, Any]]:
    """Call sites loading a model, per repository: ``model`` is the stored model's id when the name in the
    code matched one (directly or through a rename), else the name as resolved, else null."""
    u, m, r = schema.usage, schema.model, schema.repository
    query = (select(u, m.c.model_id, m.c.hub, r.c.owner, r.c.name)
             .join(r, r.c.id == u.c.repository).outerjoin(m, m.c.id == u.c.model)
             .order_by(_code_point_order(r.c.full_name_lower, store.dialect),
                       _code_point_order(u.c.path, store.dialect), u.c.cell, u.c.line, u.c.id))
    with store.engine.connect() as conn:
        for row in conn.execution_options(yield_per=BATCH).execute(query).mappings():
            yield {
                "model": row["model_id"] or row["model_name"], "library": row["library"], "call": row["call"],
                "path": row["path"], "line": row["line"], "revision": row["revision"], "pinned": row["pinned"],
                "trust_remote_code": row["trust_remote_code"], "resolved": row["resolved"],
                "repo": _full_name(row["owner"], row["name"]), "cell": row["cell"], "model_name": row["model_name"],
                "model_hub": row["hub"], "matched": row["model_id"] is not None,
                "use_safetensors": row["use_safetensors"], "expression": row["expression"],
                "confidence": row["confidence"], "commit": row["commit"], "kind": row["kind"],
                "local_path": row["local_path"],
            }


EXPORTS: dict[str, tuple[tuple[tuple[str, str], ...], Callable[[Store], Iterator[dict[str, Any]]]]] = {
    "models": (MODEL_FIELDS, iter_models),
    "repositories": (REPOSITORY_FIELDS, iter_repositories),
    "links": (LINK_FIELDS, iter_links),
    "papers": (PAPER_FIELDS, iter_papers),
    "findings": (FINDING_FIELDS, iter_findings),
    "usages": (USAGE_FIELDS, iter_usages),
}


def export_records(store: Store, kind: str, fmt: str, out: IO[bytes] | None, path: Path | None) -> int:
    fields, rows_of = EXPORTS[kind]
    return _write(rows_of(store), fields, fmt, out, path)


def export_models(store: Store, fmt: str, out: IO[bytes] | None, path: Path | None, hub: str | None = None) -> int:
    return _write(iter_models(store, hub=hub), MODEL_FIELDS, fmt, out, path)


def _write(rows: Iterator[dict[str, Any]], fields: tuple[tuple[str, str], ...], fmt: str, out: IO[bytes] | None,
           path: Path | None) -> int:
    if fmt == "jsonl":
        assert out is not None
        return write_jsonl(rows, out)
    if fmt == "csv":
        assert out is not None
        return write_csv(rows, out, [name for name, _ in fields])
    if fmt == "parquet":
        if path is None:
            raise UsageError("parquet output needs a file: pass --out FILE")
        return write_parquet(rows, path, fields)
    raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
