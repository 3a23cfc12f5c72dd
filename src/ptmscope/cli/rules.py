"""``ptmscope rules``: the scanner checks ptmscope maps, counted as in the seed paper's Table 4."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..scan.taxonomy import SEMGREP_RULES, Table4, Taxonomy, Unmapped

app = typer.Typer(help="The scanner rules ptmscope runs and how they map onto vulnerability types.",
                  no_args_is_help=True)

_TITLES = {"bandit": "Bandit", "flawfinder": "Flawfinder", "semgrep": "Semgrep"}


@app.callback()
def rules() -> None:
    """The scanner rules ptmscope runs and how they map onto vulnerability types."""


class Format(StrEnum):
    table = "table"
    json = "json"


def _json(table: Table4, missing: list[Unmapped]) -> str:
    document = {
        "scanners": list(table.scanners),
        "rows": [{"category": r.category, "vuln_type": r.vuln_type, "description": r.description,
                  "checks": dict(r.checks), "total": r.total, "seed": list(r.seed) if r.seed is not None else None}
                 for r in table.rows],
        "totals": dict(table.totals),
        "total": table.total,
        "seed_total": table.seed_total,
        "unmapped": [{"scanner": u.scanner, "rule_id": u.rule_id, "name": u.name, "reason": u.reason}
                     for u in missing],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


def _render(table: Table4, width: int) -> Table:
    out = Table(title="Checks per vulnerability type and scanner (seed paper, Table 4)",
                caption=f"ptmscope: {table.total} checks; the seed paper's pipeline: {table.seed_total}. "
                        "Seed: the scanners the paper marks as covering the type (B = Bandit, F = Flawfinder, "
                        "S = Semgrep; — = type added by ptmscope).")
    # The type names say enough on a narrow terminal; the counts must stay readable there.
    described = width >= 110
    out.add_column("Category / type", no_wrap=True)
    if described:
        out.add_column("Description")
    for scanner in table.scanners:
        out.add_column(_TITLES.get(scanner, scanner), justify="right", no_wrap=True)
    out.add_column("Total", justify="right", no_wrap=True)
    out.add_column("Seed", no_wrap=True)
    blank = [""] if described else []
    for category in dict.fromkeys(row.category for row in table.rows):
        rows = [row for row in table.rows if row.category == category]
        subtotals = [sum(row.checks[s] for row in rows) for s in table.scanners]
        out.add_row(category, *blank, *map(str, subtotals), str(sum(subtotals)), "", style="bold")
        for row in rows:
            seed = "—" if row.seed is None else " ".join(s[0].upper() for s in row.seed)
            out.add_row(f"  {row.vuln_type}", *([row.description] if described else []),
                        *(str(row.checks[s]) for s in table.scanners), str(row.total), seed,
                        end_section=row is rows[-1])
    out.add_row("Total", *blank, *(str(table.totals[s]) for s in table.scanners), str(table.total),
                str(table.seed_total), style="bold")
    return out


@app.command("list")
def list_rules(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    semgrep_rules: Path | None = typer.Option(None, "--semgrep-rules", exists=True, dir_okay=False,
                                              help="The Semgrep rule pack to count (default: ptmscope's own)."),
) -> None:
    """Print how many checks each scanner has per vulnerability type and category; exit 1 when an
    installed scanner rule or a rule of the pack has no mapping in scan/taxonomy.toml."""
    taxonomy = Taxonomy.load(semgrep_rules=semgrep_rules or SEMGREP_RULES)
    table, missing = taxonomy.table4(), taxonomy.unmapped()
    if fmt is Format.json:
        typer.echo(_json(table, missing))
    else:
        console = Console()
        console.print(_render(table, console.width))
    if missing:
        err = Console(stderr=True)
        err.print(f"[bold red]error:[/] {len(missing)} scanner rule(s) have no vulnerability type "
                  "(map them in scan/taxonomy.toml or in the rule's metadata.ptmscope):",
                  highlight=False, soft_wrap=True)
        for u in missing:
            err.print(f"  {u.scanner} {escape(u.rule_id)} ({escape(u.name)}): {escape(u.reason)}",
                      highlight=False, soft_wrap=True)
        raise typer.Exit(1)
