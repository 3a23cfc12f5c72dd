"""``ptmscope run``: the whole pipeline from a TOML plan; ``ptmscope runs``: the history of runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from ..errors import UsageError
from ..runtime.pipeline import STAGE, Pipeline
from ..runtime.plan import STAGES, load_plan
from ..runtime.progress import progress_bar
from ..store import schema
from .context import state


class Format(StrEnum):
    table = "table"
    json = "json"


def run(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="The run plan (TOML); default: every stage "
                                       "with its defaults. See docs/run.md."),
    only: str | None = typer.Option(None, "--only", help=f"Comma-separated stages to run ({', '.join(STAGES)})."),
    dask: str | None = typer.Option(None, "--dask", metavar="ADDRESS",
                                    help="Spread clone, snapshot, scan, usage and cards work over this Dask "
                                         "scheduler ('local' for a cluster on this machine)."),
    check: bool = typer.Option(False, "--check", help="Validate the plan and print it; run nothing."),
) -> None:
    """Run every enabled stage in order; each processes only what is new or changed since the last run,
    and a run after a crash or kill resumes where the last one stopped. Exit status 1 if a stage failed."""
    plan = load_plan(config)
    if dask:
        plan = plan.model_copy(update={"runtime": plan.runtime.model_copy(update={"dask": dask})})
    stages = None
    if only:
        stages = [s.strip().replace("-", "_") for s in only.split(",") if s.strip()]
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise UsageError(f"--only: unknown stages {', '.join(unknown)} (known: {', '.join(STAGES)})")
    if check:
        typer.echo(orjson.dumps(plan.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
        return
    app_state = state(ctx)
    store = app_state.store()

    quiet = app_state.quiet
    with ExitStack() as bars:
        def progress(label: str, total: int | None) -> Callable[[int], None]:
            bars.close()  # one live bar at a time: a new stage closes the previous one
            return bars.enter_context(progress_bar(label, total, enabled=not quiet))

        def say(line: str) -> None:
            bars.close()
            if not quiet:
                typer.echo(line, err=True)

        result = Pipeline(store, app_state.settings, plan, progress=progress, say=say).run(stages)
    for stage in result.stages:
        typer.echo(f"{stage.stage:<12} {stage.status:<9} {stage.seconds:7.1f}s  {stage.error or stage.line}")
    typer.echo(f"run {result.run_id}: {'completed' if result.ok else 'failed'}")
    if not result.ok:
        raise typer.Exit(1)


def runs(
    ctx: typer.Context,
    limit: int = typer.Option(20, min=1, help="How many of the latest runs."),
    stages: bool = typer.Option(False, "--stages", help="Every stage's own runs too, not only `ptmscope run`s."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """The history of runs: when, how long, what each stage did, and the tool versions."""
    r = schema.run
    query = select(r).order_by(r.c.id.desc()).limit(limit)
    if not stages:
        query = query.where(r.c.stage == STAGE)
    with state(ctx).store().engine.connect() as conn:
        rows = conn.execute(query).all()
    if fmt is Format.json:
        records = [{str(k): v for k, v in row._mapping.items()} for row in rows]
        typer.echo(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title="ptmscope runs" if not stages else "runs (all stages)")
    for column in ("Run", "Stage", "Started", "Took", "Status", "Counts"):
        table.add_column(column)
    for row in rows:
        took = f"{(row.finished_at - row.started_at).total_seconds():.0f}s" if row.finished_at else "-"
        counts = row.counts or {}
        if row.stage == STAGE:
            text = ", ".join(f"{k}:{v.get('status', '?')}" for k, v in counts.items() if isinstance(v, dict))
        else:
            text = ", ".join(f"{k}={v}" for k, v in counts.items() if v)
        table.add_row(str(row.id), row.stage, row.started_at.strftime("%Y-%m-%d %H:%M"), took,
                      row.status, text[:120])
    Console().print(table)
