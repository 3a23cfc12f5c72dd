"""``ptmscope licenses``: normalise every license in the store and classify model -> application pairs and
base-model chains; ``--normalize TEXT`` prints the SPDX expression of one license string."""

from __future__ import annotations

from enum import StrEnum

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..licenses.compat import VERDICTS
from ..licenses.normalize import normalize_license, spdx_family
from ..licenses.run import LicenseRunSummary, check_all
from ..runtime.executors import LocalExecutor
from ..runtime.progress import progress_bar
from .context import state


class Format(StrEnum):
    table = "table"
    json = "json"


def _document(summary: LicenseRunSummary, limit: int) -> dict[str, object]:
    return {
        "run_id": summary.run_id,
        "models": {"total": summary.models, "licensed": summary.models_licensed},
        "repositories": {"total": summary.repositories, "licensed": summary.repositories_licensed,
                         "detected_from_files": summary.detected, "detection_failed": summary.detection_failed},
        "model_app": {v: summary.model_app[v] for v in VERDICTS},
        "base_model": {v: summary.base_model[v] for v in VERDICTS},
        "top_incompatible": summary.top_incompatible[:limit],
    }


def _normalize_only(text: str, fmt: Format) -> None:
    spdx = normalize_license(text)
    if fmt is Format.json:
        typer.echo(orjson.dumps({"input": text, "spdx": spdx, "family": spdx_family(spdx)}).decode())
    else:
        typer.echo(spdx if spdx is not None else "(no license information)")


def licenses(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    limit: int = typer.Option(10, "--limit", min=0, help="How many incompatible license pairs to list."),
    normalize: str | None = typer.Option(None, "--normalize", metavar="TEXT",
                                         help="Only print the SPDX expression of TEXT; the store is not read."),
    workers: int | None = typer.Option(None, "--workers", min=1,
                                       help="Processes for license-file detection in clones (default: this one)."),
) -> None:
    """Normalise model and repository licenses to SPDX (ML licenses as LicenseRef ids), detect licenses in
    clones the GitHub API said nothing about, and classify every model -> application pair and base-model
    chain as compatible, incompatible or unknown, with the rule that decided."""
    if normalize is not None:
        _normalize_only(normalize, fmt)
        return
    app_state = state(ctx)
    store = app_state.store()
    executor = LocalExecutor(workers) if workers else None
    try:
        with progress_bar("Checking licenses", enabled=not app_state.quiet) as advance:
            summary = check_all(store, app_state.settings, advance, executor=executor)
    finally:
        if executor is not None:
            executor.close()
    if fmt is Format.json:
        typer.echo(orjson.dumps(_document(summary, limit), option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    console.print(f"licenses: {summary.models:,} models ({summary.models_licensed:,} with a license), "
                  f"{summary.repositories:,} repositories ({summary.repositories_licensed:,} with a license, "
                  f"{summary.detected:,} detected from files)", markup=False, highlight=False)
    verdicts = Table(title="License checks")
    for column in ("Check", *(v.capitalize() for v in VERDICTS), "Total"):
        verdicts.add_column(column, justify="left" if column == "Check" else "right")
    for label, counts in (("model -> application", summary.model_app), ("base model -> child", summary.base_model)):
        verdicts.add_row(label, *(f"{counts[v]:,}" for v in VERDICTS), f"{sum(counts.values()):,}")
    console.print(verdicts)
    if summary.top_incompatible and limit:
        top = Table(title="Most frequent incompatible pairs (model license -> application license)")
        for column in ("Model license", "Application license", "Rule", "Pairs"):
            top.add_column(column, justify="right" if column == "Pairs" else "left")
        for row in summary.top_incompatible[:limit]:
            top.add_row(str(row["model_license"]), str(row["app_license"]), str(row["rule"]), f"{row['pairs']:,}")
        console.print(top)
