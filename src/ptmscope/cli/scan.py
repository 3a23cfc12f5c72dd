"""``ptmscope scan``: static analysers over a directory or every clone; ``ptmscope stats vulns``: Table 6."""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..analysis.vulns import HIGH, vuln_table
from ..errors import UsageError
from ..runtime.executors import DaskExecutor, Executor, LocalExecutor
from ..runtime.progress import progress_bar
from ..scan.interface import SEVERITIES
from ..scan.report import counts, rank, summary_line, to_json, to_sarif, to_table
from ..scan.run import SCANNERS, ScannerKey, make_scanners, scan_all, scan_path, severity_counts
from .context import state
from .output import Severity, scanner_names, write_output


class Format(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def _executor(dask: str | None, workers: int | None) -> Executor:
    return DaskExecutor(dask, workers=workers) if dask else LocalExecutor(workers)


def _breaches(by_severity: dict[str, int], fail_on: Severity | None) -> bool:
    return fail_on is not None and any(n and rank(s) >= rank(fail_on.value) for s, n in by_severity.items())


def scan(
    ctx: typer.Context,
    path: Path | None = typer.Argument(None, help="A directory to scan, without the store; paths are reported "
                                                   "relative to it."),
    all_: bool = typer.Option(False, "--all", help="Every cloned repository in the store; findings are stored."),
    scanners: str = typer.Option(",".join(SCANNERS), "--scanners", help="Comma-separated scanners to run."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format (sarif only with PATH)."),
    dask: str | None = typer.Option(None, "--dask", metavar="ADDRESS",
                                    help="Run on a Dask cluster: its scheduler address, or 'local' for one here."),
    workers: int | None = typer.Option(None, "--workers", min=1,
                                       help="Parallel workers (default: one per CPU; with --dask local, its size)."),
    fail_on: Severity | None = typer.Option(None, "--fail-on",
                                            help="Exit with status 1 when a finding is at least this severe."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the report here instead of standard output."),
) -> None:
    """Scan with Bandit, Flawfinder, Semgrep (ptmscope's rule pack) and the model-file scanner; never
    runs the code it reads. Each unique file content is scanned once."""
    if (path is None) == (not all_):
        raise UsageError("give a directory to scan, or --all for every cloned repository (not both)")
    if path is not None and not path.is_dir():
        raise UsageError(f"not a directory: {path}")
    if all_ and fmt is Format.sarif:
        raise UsageError("--format sarif reports a scan of a directory: use it with PATH")
    chosen = make_scanners(scanner_names(scanners, list(SCANNERS)))
    app_state = state(ctx)
    with _executor(dask, workers) as executor:
        if path is not None:
            outcome = scan_path(path, chosen, executor=executor)
            if fmt is Format.json:
                write_output(to_json(outcome), out)
            elif fmt is Format.sarif:
                tools = [(key.name, key.version) for key in map(ScannerKey.of, chosen)]
                write_output(to_sarif(outcome, path, tools), out)
            else:
                width = 200 if out is not None else shutil.get_terminal_size((160, 24)).columns
                write_output(to_table(outcome, width=width).encode(), out)
                if out is not None:
                    typer.echo(summary_line(outcome), err=True)
            by_severity = counts(outcome)
        else:
            store = app_state.store()
            with progress_bar("Scanning repositories", enabled=not app_state.quiet) as advance:
                summary = scan_all(store, app_state.settings, chosen, executor, advance)
            by_severity = severity_counts(store, [s.name for s in chosen])
            if fmt is Format.json:
                document = {"run_id": summary.run_id, **summary.counts(), "severities": by_severity,
                            "problems": [{"repository": n, "reason": r} for n, r in summary.problems]}
                write_output(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n", out)
            else:
                write_output((summary.line() + "\n").encode(), out)
                for name, reason in summary.problems:
                    typer.echo(f"  failed {name}: {reason}", err=True)
    if _breaches(by_severity, fail_on):
        raise typer.Exit(1)


class TableFormat(StrEnum):
    table = "table"
    json = "json"


def vulns(
    ctx: typer.Context,
    fmt: TableFormat = typer.Option(TableFormat.table, "--format", "-f"),
    models: int = typer.Option(20, "--models", min=0, help="How many linked models at risk to list (table)."),
) -> None:
    """Findings per perspective and severity with averages per repository (Table 6 of the MLOSS
    collection paper), and the models linked to code with high-severity findings."""
    table = vuln_table(state(ctx).store())
    if fmt is TableFormat.json:
        document = {
            "rows": [{"group": r.group, "repositories": r.repositories, "with_findings": r.with_findings,
                      "findings": r.findings, "total": r.total,
                      "average": {s: r.average(s) for s in SEVERITIES} | {"total": r.average()}}
                     for r in table.rows],
            "models_at_risk": table.models_at_risk,
            "models": [m.__dict__ for m in table.models],
        }
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    out = Table(title="Vulnerability findings per perspective (per repository in parentheses)")
    for column in ("Perspective", "Repos", "With findings", *(s.capitalize() for s in reversed(SEVERITIES)),
                   "Total"):
        out.add_column(column, justify="left" if column == "Perspective" else "right")
    for r in table.rows:
        cells = [f"{r.findings[s]:,} ({r.average(s):.1f})" for s in reversed(SEVERITIES)]
        out.add_row(r.group, f"{r.repositories:,}", f"{r.with_findings:,}", *cells,
                    f"{r.total:,} ({r.average():.1f})")
    console = Console()
    console.print(out)
    console.print(f"Models linked to code with {' or '.join(HIGH)} findings: {table.models_at_risk:,}")
    for m in table.models[:models]:
        console.print(f"  {m.hub}/{m.model} -> {m.repository}: {m.high:,} ({m.kind})", markup=False, highlight=False)
