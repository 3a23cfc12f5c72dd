"""``ptmscope browse``: open the store in Datasette, to query and facet it in a web browser.

Datasette runs as a child process on the SQLite file, reading it (not immutable: a crawl may be writing
to it at the same time; Datasette opens a mutable file read-only). A metadata file written for the
session titles the store, hides Alembic's bookkeeping and offers facets and a few ready-made queries.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..errors import PtmscopeError, UsageError
from .context import state

FACETS: dict[str, list[str]] = {
    "model": ["hub", "domain", "library_name", "pipeline_tag", "gated"],
    "finding": ["severity", "category", "vuln_type"],
    "usage": ["library", "pinned", "trust_remote_code", "resolved"],
    "license_check": ["kind", "verdict", "rule"],
    "repository": ["language", "status", "clone_status", "is_fork"],
    "repo_source": ["perspective"],
    "link": ["kind", "field"],
    "card_metadata": ["field", "extractor"],
    "model_edge": ["relation", "evidence"],
    "scan": ["scanner", "status"],
    "run": ["stage", "status"],
}
LABELS = {"model": "model_id", "repository": "full_name_lower", "paper": "title", "scan": "scanner"}

# Questions the report answers in aggregate, here row by row.
QUERIES: dict[str, dict[str, str]] = {
    "unpinned_remote_code": {
        "title": "Call sites loading a model with trust_remote_code=True and no pinned revision",
        "sql": "select r.owner || '/' || r.name as repository, u.path, u.line, u.library, u.call, u.model_name\n"
               "from usage u join repository r on r.id = u.repository\n"
               "where u.trust_remote_code = 1 and coalesce(u.pinned, 0) = 0\n"
               "order by u.model_name, repository, u.path, u.line",
    },
    "high_findings_per_repository": {
        "title": "High and critical findings per repository (current scans: the latest per scanner at the "
                 "cloned commit)",
        "sql": "select r.owner || '/' || r.name as repository, f.severity, count(*) as findings\n"
               "from finding f join scan s on s.id = f.scan join repository r on r.id = s.repository\n"
               "where f.severity in ('high', 'critical') and s.id in (\n"
               "  select max(s2.id) from scan s2 join repository r2 on r2.id = s2.repository\n"
               "  where s2.\"commit\" = r2.cloned_sha group by s2.repository, s2.scanner)\n"
               "group by repository, f.severity order by findings desc, repository",
    },
    "incompatible_licenses": {
        "title": "Incompatible licenses: model→application pairs and base-model links",
        "sql": "select lc.kind, m.model_id, lc.model_license,\n"
               "  coalesce(r.owner || '/' || r.name, p.model_id) as other, lc.other_license, lc.rule, lc.reason\n"
               "from license_check lc join model m on m.id = lc.model\n"
               "left join repository r on r.id = lc.repository left join model p on p.id = lc.parent\n"
               "where lc.verdict = 'incompatible' order by lc.kind desc, m.model_id",
    },
}


def sqlite_path(url: str) -> Path:
    """The SQLite file behind a store URL; a clear error for anything Datasette cannot open."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() != "sqlite":
        raise UsageError(f"Datasette reads SQLite files, and this store is {parsed.get_backend_name()} "
                         f"({parsed.render_as_string(hide_password=True)}); browse an export instead "
                         "(`ptmscope export ... --format csv`) or use a SQL client")
    if not parsed.database or parsed.database == ":memory:":
        raise UsageError("an in-memory store cannot be browsed; give a SQLite file with --db")
    path = Path(parsed.database)
    if not path.is_file():
        raise UsageError(f"no store at {path}: run a stage first (e.g. `ptmscope demo`) or point --db at one")
    return path


def datasette_metadata(database: str) -> dict[str, Any]:
    return {
        "title": "ptmscope store",
        "description": "Pre-trained models, the code around them, its vulnerabilities, usage and licenses.",
        "databases": {database: {
            "tables": {
                **{table: {"facets": facets} | ({"label_column": LABELS[table]} if table in LABELS else {})
                   for table, facets in FACETS.items()},
                **{table: {"label_column": column} for table, column in LABELS.items() if table not in FACETS},
                "alembic_version": {"hidden": True},
            },
            "queries": QUERIES,
        }},
    }


def datasette_command(db: Path, metadata: Path, *, port: int, host: str = "127.0.0.1",
                      open_browser: bool = True) -> list[str]:
    command = [sys.executable, "-m", "datasette", "serve", str(db), "--host", host, "--port", str(port),
               "--metadata", str(metadata), "--setting", "sql_time_limit_ms", "10000"]
    return [*command, "--open"] if open_browser else command


def browse(
    ctx: typer.Context,
    port: int = typer.Option(8001, "--port", "-p", min=0, max=65535, help="Port to serve on (0: any free one)."),
    no_open: bool = typer.Option(False, "--no-open", help="Do not open a web browser."),
) -> None:
    """Open the store in Datasette to query and facet it (SQLite stores)."""
    db = sqlite_path(state(ctx).settings.database_url)
    if importlib.util.find_spec("datasette") is None:
        raise UsageError("Datasette is not installed: pip install 'datasette>=0.65,<1'")
    with tempfile.TemporaryDirectory(prefix="ptmscope-browse-") as tmp:
        metadata = Path(tmp) / "metadata.json"
        metadata.write_text(json.dumps(datasette_metadata(db.stem), indent=2), encoding="utf-8")
        typer.echo(f"Serving {db} at http://127.0.0.1:{port}/ (Ctrl-C to stop)", err=True)
        child = subprocess.Popen(datasette_command(db, metadata, port=port, open_browser=not no_open))
        try:
            code = child.wait()
        except KeyboardInterrupt:
            # Ctrl-C reaches the child too (same process group); give it a moment to stop on its own.
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.terminate()
                child.wait()
            return
    if code != 0:
        raise PtmscopeError(f"Datasette exited with status {code} (is port {port} in use?)")
