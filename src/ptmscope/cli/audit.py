"""``ptmscope audit PATH``: the models a code base loads, what is known of each, and what to act on."""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from ..errors import UsageError
from ..runtime.executors import LocalExecutor
from ..scan.run import SCANNERS, make_scanners
from ..store import Store
from .context import AppState, state
from .output import Severity, scanner_names, write_output


class Format(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    cyclonedx = "cyclonedx"


def _store(app_state: AppState) -> Store | None:
    """The store when there is one to read. An audit only reads it, so it never creates the default
    SQLite file in the working directory of a project being audited."""
    url = app_state.settings.database_url
    if app_state.settings.db_url is None:
        database = make_url(url).database
        if database and not Path(database).exists():
            return None
    return app_state.store()


def audit(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="The code base to audit (a directory); paths are reported relative to it."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json, sarif (2.1.0) or cyclonedx "
                                                                     "(a CycloneDX 1.6 ML-BOM)."),
    fail_on: Severity | None = typer.Option(None, "--fail-on", help="Exit with status 1 when an issue or a finding "
                                                                    "is at least this severe."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the report here instead of standard output."),
    offline: bool = typer.Option(False, "--offline", help="Do not ask the hub (HF_ENDPOINT) about models missing "
                                                          "from the store."),
    scanners: str = typer.Option(",".join(SCANNERS), "--scanners", help="Comma-separated scanners to run on PATH."),
    no_scan: bool = typer.Option(False, "--no-scan", help="Do not scan PATH's code (model loads and licenses only)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Parallel scanner workers (default: one per "
                                                                      "CPU)."),
) -> None:
    """Which models PATH loads (pinned or not), their licenses against PATH's own, gated and pickle-only
    models, the hub's and ptmscope's verdicts on their files, and a scan of PATH's code. Reads the store
    and, unless --offline, the hub; runs nothing it reads."""
    from ..report.audit import HubLookup, gather
    from ..report.audit_formats import summary_line, to_json, to_sarif, to_table
    from ..report.cyclonedx import to_cyclonedx

    if not path.exists():
        raise UsageError(f"no such directory: {path}")
    if not path.is_dir():
        raise UsageError(f"not a directory: {path}")
    chosen = [] if no_scan else make_scanners(scanner_names(scanners, list(SCANNERS)))
    app_state = state(ctx)
    store = _store(app_state)
    hub = None if offline else HubLookup(app_state.settings)
    try:
        with LocalExecutor(workers) as executor:
            result = gather(path, store=store, hub=hub, offline=offline, scanners=chosen, executor=executor)
    finally:
        if hub is not None:
            hub.close()
    if store is None:
        result.notes.append("no store: models were looked up on the hub only")
    if fmt is Format.json:
        write_output(to_json(result), out)
    elif fmt is Format.sarif:
        write_output(to_sarif(result), out)
    elif fmt is Format.cyclonedx:
        write_output(to_cyclonedx(result), out)
    else:
        width = 100 if out is not None else max(100, shutil.get_terminal_size((100, 24)).columns)
        write_output(to_table(result, width=width).encode(), out)
    if out is not None or fmt is not Format.table:
        typer.echo(summary_line(result), err=True)
    if result.breaches(fail_on.value if fail_on is not None else None):
        raise typer.Exit(1)
