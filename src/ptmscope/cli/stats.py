"""``ptmscope stats``: summary statistics of the store."""

from __future__ import annotations

from enum import StrEnum

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..analysis import cards as cards_analysis
from ..analysis import usage as usage_analysis
from ..analysis.common import Period
from ..analysis.coverage import coverage as compute_coverage
from ..report.tables import human_count
from .context import state
from .scan import vulns

app = typer.Typer(help="Summary statistics of what is stored.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"


@app.command()
def coverage(
    ctx: typer.Context,
    hub: str = typer.Option("huggingface", help="Which hub's models."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Share of models with each kind of metadata (Table 5 of the MLOSS collection paper)."""
    total, rows = compute_coverage(state(ctx).store(), hub)
    if fmt is Format.json:
        typer.echo(orjson.dumps({"hub": hub, "models": total, "rows": [r.__dict__ for r in rows]},
                                option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"Metadata coverage: {total:,} {hub} models (deleted excluded)")
    for col, justify in (("Metadata", "left"), ("Description", "left"), ("Models", "right"),
                         ("Percent", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(r.metadata, r.description, f"{r.models:,}", f"{r.percent:.1f}%")
    Console().print(table)


app.command("vulns")(vulns)


def _table(title: str, columns: list[tuple[str, str]]) -> Table:
    table = Table(title=title)
    for name, justify in columns:
        # Model ids are the point of these tables: wrap them on a narrow terminal rather than cut them.
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    return table


def _json(document: object) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


@app.command()
def usage(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    models: int = typer.Option(20, "--models", min=0, help="How many most-loaded and unpinned models to list."),
) -> None:
    """Downstream repositories per domain of the model they load, per hub (PeaTMOSS Figure 9), the
    most-loaded models, and the share of call sites that pin a revision."""
    store = state(ctx).store()
    downstream = usage_analysis.downstream_per_domain(store)
    loaded = usage_analysis.most_loaded(store, limit=models)
    pin = usage_analysis.pinning(store)
    unpinned = usage_analysis.unpinned_usage(store, limit=models)
    if fmt is Format.json:
        _json({"downstream": [vars(d) for d in downstream], "most_loaded": [vars(m) for m in loaded],
               "pinning": {"call_sites": pin.call_sites, "resolved": pin.resolved, "in_store": pin.in_store,
                           "pinned": pin.pinned, "percent_pinned": pin.percent_pinned,
                           "trust_remote_code": pin.trust_remote_code, "repositories": pin.repositories,
                           "by_library": [vars(b) for b in pin.by_library]},
               "unpinned": [vars(u) for u in unpinned]})
        return
    console = Console()
    if not pin.call_sites:
        console.print("No usage call sites stored yet: run `ptmscope usage --all` after cloning.", markup=False)
        return
    fig9 = _table("Downstream repositories per domain of the model they load (PeaTMOSS Figure 9)",
                  [("Hub", "left"), ("Domain", "left"), ("Repositories", "right"), ("Share of hub", "right")])
    for d in downstream:
        fig9.add_row(d.hub, d.domain, f"{d.repositories:,}", f"{d.percent:.1f}%")
    console.print(fig9)
    top = _table("Most-loaded models", [("Model", "left"), ("Hub", "left"), ("Repositories", "right"),
                                        ("Call sites", "right"), ("Pinned", "right")])
    for m in loaded:
        top.add_row(escape(m.model), m.hub or "(not stored)", f"{m.repositories:,}", f"{m.call_sites:,}",
                    f"{m.pinned:,}")
    console.print(top)
    libs = _table(f"Call sites pinning a revision: {pin.pinned:,} of {pin.call_sites:,} ({pin.percent_pinned:.1f}%)",
                  [("Library", "left"), ("Call sites", "right"), ("Pinned", "right"), ("Share", "right")])
    for b in pin.by_library:
        libs.add_row(b.library, f"{b.call_sites:,}", f"{b.pinned:,}", f"{b.percent:.1f}%")
    console.print(libs)
    if unpinned:
        table = _table("Models loaded without a pinned revision", [
            ("Model", "left"), ("Unpinned call sites", "right"), ("Repositories", "right"),
            ("trust_remote_code", "right")])
        for u in unpinned:
            table.add_row(escape(u.model), f"{u.call_sites:,}", f"{u.repositories:,}",
                          f"[bold red]{u.trust_remote_code:,}[/]" if u.trust_remote_code else "0")
        console.print(table)


@app.command()
def cards(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    hub: str = typer.Option("huggingface", help="Which hub's models, for the figures over time."),
    period: Period = typer.Option(Period.quarter, help="Time step of the figures over time."),
) -> None:
    """Share of models whose card gives each field (PeaTMOSS Figure 7), models created per domain over time
    (Figure 10) and their median parameter count per domain over time (Figure 11)."""
    store = state(ctx).store()
    total, fields = cards_analysis.field_availability(store)
    created = cards_analysis.models_over_time(store, hub, period)
    medians = cards_analysis.median_parameters_over_time(store, hub, period)
    if fmt is Format.json:
        _json({"models_read": total, "fields": [vars(f) for f in fields], "hub": hub, "period": period.value,
               "models_over_time": [vars(c) for c in created], "median_parameters": [vars(m) for m in medians]})
        return
    console = Console()
    if total:
        fig7 = _table(f"Models whose card gives each field (PeaTMOSS Figure 7): {total:,} models read",
                      [("Field", "left"), ("Models", "right"), ("Percent", "right")])
        for f in fields:
            fig7.add_row(f.field, f"{f.models:,}", f"{f.percent:.1f}%")
        console.print(fig7)
    else:
        console.print("No card metadata extracted yet: run `ptmscope cards extract --all`.", markup=False)
    if created:
        fig10 = _table(f"{hub} models created per {period.value} and domain (PeaTMOSS Figure 10)",
                       [(period.value.capitalize(), "left"), ("Domain", "left"), ("Models", "right")])
        for c in created:
            fig10.add_row(c.period, c.domain, f"{c.models:,}")
        console.print(fig10)
    if medians:
        fig11 = _table(f"Median parameters of {hub} models per {period.value} and domain (PeaTMOSS Figure 11)",
                       [(period.value.capitalize(), "left"), ("Domain", "left"), ("Models with a count", "right"),
                        ("Median", "right")])
        for m in medians:
            fig11.add_row(m.period, m.domain, f"{m.models:,}", human_count(m.median))
        console.print(fig11)
