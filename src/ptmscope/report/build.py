"""The report: every table and figure of both seed papers, and ptmscope's own views, from the store.

:func:`collect` reads the store through the ``analysis`` functions and lays the results out as sections,
one per pipeline stage; :func:`write_report` writes them as a self-contained HTML page (``report.html``,
charts inline as SVG), every table as ``tables/<name>.json`` and ``tables/<name>.csv``, and the key
numbers as ``report.json``. A stage that has not run yet gives a section that says so and which command
fills it, never an error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from ..analysis import cards as cards_analysis
from ..analysis import hubs as hubs_analysis
from ..analysis import usage as usage_analysis
from ..analysis.common import Period, domain_order, percent, period_range
from ..analysis.coverage import coverage
from ..analysis.exposure import exposed_models
from ..analysis.licenses import NO_LICENSE, VERDICTS, LicenseSummary, license_summary
from ..analysis.overview import Overview, overview
from ..analysis.repositories import repository_summary
from ..analysis.scanners import scanner_table
from ..analysis.vulns import HIGH, VulnTable, vuln_table
from ..errors import UsageError
from ..hubs.customcode import remote_code_exposure
from ..scan.interface import SEVERITIES
from ..store import Store
from . import plots
from .tables import Column, Table, rows_of, write_csv, write_json

FORMATS = ("html", "json", "csv")
HTML_ROWS = 50  # rows shown per table in the page; the JSON and CSV files hold them all
SANKEY_GROUPS = 10  # licenses drawn per side of Figure 12; the rest are drawn as one "other" node
MAX_MONTHS = 36  # above this many months, time figures go by quarter to stay readable
PEATMOSS = "PeaTMOSS"
MLOSS = "MLOSS collection pipeline"


@dataclass
class Block:
    kind: Literal["figure", "table", "empty", "facts"]
    title: str = ""
    svg: str = ""
    table: Table | None = None
    text: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Section:
    id: str
    title: str
    stage: str  # the pipeline stage(s) whose rows it reads
    intro: str
    blocks: list[Block] = field(default_factory=list)
    empty: str | None = None  # set when the stage has stored nothing yet: why, and what fills it

    def tables(self) -> list[Table]:
        return [b.table for b in self.blocks if b.table is not None]


@dataclass
class Report:
    generated_at: datetime
    overview: Overview
    sections: list[Section]
    key_numbers: dict[str, Any]

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables()]


def _empty(text: str) -> Block:
    return Block("empty", text=text)


def _share(part: int, whole: int) -> str:
    return f"{part:,} ({percent(part, whole):.1f}%)"


def _n(value: int) -> str:
    return f"{value:,}"


# --- sections --------------------------------------------------------------------------------------------


def _store_section(ov: Overview) -> Section:
    section = Section("store", "What the store holds", "all stages",
                      "Rows per stage and the runs that wrote them. Every later section reads only these rows.")
    section.blocks.append(Block("facts", facts=[
        *((f"Models on {hub}", _n(n)) for hub, n in ov.models.items()),
        ("Models deleted from their hub since collection", _n(ov.deleted_models)),
        ("Base-model edges", _n(ov.model_edges)),
        ("Papers", _n(ov.papers)),
        ("Repositories (cloned / scanned)",
         f"{ov.repositories:,} ({ov.repositories_cloned:,} / {ov.repositories_scanned:,})"),
        ("Links (all kinds)", _n(sum(ov.links.values()))),
        ("Findings (current scans)", _n(sum(ov.findings.values()))),
        ("Usage call sites (repositories)", f"{ov.usage_call_sites:,} ({ov.usage_repositories:,})"),
        ("Models with extracted card metadata", _n(ov.card_models)),
        ("Model→application license pairs", _n(sum(ov.license_pairs.values()))),
    ]))
    runs = Table("stage_runs", "Runs per stage", [
        Column("stage", "Stage"), Column("runs", "Runs", "int"), Column("completed", "Completed", "int"),
        Column("failed", "Failed or interrupted", "int"), Column("failures", "Items not handled", "int"),
        Column("last_status", "Last status"), Column("last_started", "Last started"),
        Column("last_finished", "Last finished")], rows_of(ov.stages),
        note="Items not handled are recorded with their reason in the failure table (`ptmscope runs`).")
    section.blocks.append(Block("table", table=runs) if ov.stages else
                          _empty("No stage has run against this store yet."))
    if not ov.total_models and not ov.repositories and not ov.stages:
        section.empty = ("The store is empty. `ptmscope demo` runs every stage on the bundled corpus; "
                         "`ptmscope collect huggingface` starts a real collection.")
    return section


def _series(periods: Sequence[str], cells: Iterable[tuple[str, str, float]]) -> dict[str, list[float | None]]:
    """One value per period for each domain, None where the domain has none; domains in their usual order."""
    index = {p: i for i, p in enumerate(periods)}
    series: dict[str, list[float | None]] = {}
    for period, name, value in cells:
        series.setdefault(name, [None] * len(periods))[index[period]] = value
    return {name: series[name] for name in domain_order(series)}


def _models_section(store: Store, ov: Overview) -> Section:
    section = Section("models", "Models on the hubs", "collect (hubs)",
                      "The models collected from each hub: which metadata they declare (MLOSS Table 5), their problem "
                      "domains (PeaTMOSS Figure 8) and how many were created over time (PeaTMOSS Figure 10). "
                      "Deleted models are left out.")
    if not ov.total_models:
        section.empty = "No models yet: `ptmscope collect huggingface` and `ptmscope collect pytorch-hub` fill this."
        return section
    cov_rows: list[dict[str, Any]] = []
    first: tuple[str, int, list[Any]] | None = None
    for hub in ov.models:
        total, rows = coverage(store, hub)
        first = first or (hub, total, rows)
        cov_rows += [{"hub": hub, "metadata": r.metadata, "description": r.description, "models": r.models,
                      "percent": r.percent} for r in rows]
    if first is not None:
        hub, total, rows = first
        section.blocks.append(Block("figure", f"{MLOSS}, Table 5: metadata coverage of {total:,} {hub} models",
                                    plots.hbar([r.metadata for r in rows], [r.percent for r in rows],
                                               xlabel="share of models",
                                               annotations=[f"{r.percent:.1f}% ({r.models:,})" for r in rows])))
    section.blocks.append(Block("table", table=Table(
        "mloss_table5_coverage", f"{MLOSS}, Table 5: models with each kind of metadata, per hub",
        [Column("hub", "Hub"), Column("metadata", "Metadata"), Column("description", "Description"),
         Column("models", "Models", "int"), Column("percent", "Percent", "percent")], cov_rows)))
    domains = hubs_analysis.domains_per_hub(store)
    per_hub: dict[str, list[tuple[str, float, int]]] = defaultdict(list)
    for d in domains:
        per_hub[d.hub].append((d.domain, d.percent, d.models))
    section.blocks.append(Block("figure", f"{PEATMOSS}, Figure 8: models per problem domain on each hub",
                                plots.shares_per_hub(per_hub, xlabel="share of the hub's models")))
    section.blocks.append(Block("table", table=Table(
        "peatmoss_fig8_domains", f"{PEATMOSS}, Figure 8: models per domain and hub",
        [Column("hub", "Hub"), Column("domain", "Domain"), Column("models", "Models", "int"),
         Column("percent", "Share of hub", "percent")], rows_of(domains))))
    over_time = cards_analysis.models_over_time(store, "huggingface", Period.month)
    period = Period.month
    if over_time and len(period_range(over_time[0].period, over_time[-1].period, period)) > MAX_MONTHS:
        period = Period.quarter
        over_time = cards_analysis.models_over_time(store, "huggingface", period)
    if over_time:
        periods = period_range(over_time[0].period, over_time[-1].period, period)
        series = _series(periods, ((c.period, c.domain, c.models) for c in over_time))
        section.blocks.append(Block("figure", f"{PEATMOSS}, Figure 10: Hugging Face models created per {period} "
                                              "and domain",
                                    plots.stacked_over_time(periods, {k: [v or 0 for v in vs]
                                                                      for k, vs in series.items()},
                                                            ylabel="models created")))
        section.blocks.append(Block("table", table=Table(
            "peatmoss_fig10_models_over_time", f"{PEATMOSS}, Figure 10: models created per {period} and domain",
            [Column("period", period.capitalize()), Column("domain", "Domain"), Column("models", "Models", "int")],
            rows_of(over_time))))
    else:
        section.blocks.append(_empty("Figure 10 needs Hugging Face models with a creation date; none are stored."))
    return section


def _cards_section(store: Store, ov: Overview) -> Section:
    section = Section("cards", "Model-card metadata", "cards",
                      "What the model cards say once extracted (PeaTMOSS Figure 7), and how big the models are "
                      "over time (PeaTMOSS Figure 11: the median parameter count of the models created in each "
                      "period, from the hub's safetensors totals, else the count the cards give).")
    total, fields = cards_analysis.field_availability(store)
    if total:
        shown = fields
        section.blocks.append(Block("figure", f"{PEATMOSS}, Figure 7: share of {total:,} models whose card gives "
                                              "each field",
                                    plots.hbar([f.field for f in shown], [f.percent for f in shown],
                                               xlabel="share of models read by the cards stage",
                                               annotations=[f"{f.percent:.1f}% ({f.models:,})" for f in shown],
                                               colour="#59a14f")))
        section.blocks.append(Block("table", table=Table(
            "peatmoss_fig7_card_fields", f"{PEATMOSS}, Figure 7: models whose extracted card metadata has each field",
            [Column("field", "Field"), Column("models", "Models", "int"), Column("percent", "Percent", "percent")],
            rows_of(fields), note=f"Out of {total:,} models the cards stage has read.")))
    else:
        section.blocks.append(_empty("Figure 7 needs extracted card metadata: `ptmscope cards extract --all` "
                                     "fills it once model cards are collected."))
    medians = cards_analysis.median_parameters_over_time(store, "huggingface", Period.quarter)
    if medians:
        periods = period_range(medians[0].period, medians[-1].period, Period.quarter)
        series = _series(periods, ((m.period, m.domain, m.median) for m in medians))
        section.blocks.append(Block("figure", f"{PEATMOSS}, Figure 11: median parameters of Hugging Face models "
                                              "created per quarter, by domain",
                                    plots.lines_over_time(periods, series, ylabel="median parameters", log=True)))
        section.blocks.append(Block("table", table=Table(
            "peatmoss_fig11_median_parameters", f"{PEATMOSS}, Figure 11: median parameter count per quarter and domain",
            [Column("period", "Quarter"), Column("domain", "Domain"), Column("models", "Models with a count", "int"),
             Column("median", "Median parameters", "count")], rows_of(medians))))
    else:
        section.blocks.append(_empty("Figure 11 needs parameter counts (the hub's safetensors metadata or the "
                                     "cards stage's extracted counts) of models with a creation date; none yet."))
    if not total and not medians:
        section.empty = ("No card metadata or parameter counts yet: collect models with `ptmscope collect "
                         "huggingface`, then `ptmscope cards extract --all`.")
    return section


def _repositories_section(store: Store, ov: Overview) -> Section:
    section = Section("repositories", "Papers, links and code repositories", "papers, link, github, clone",
                      "The repositories found through each perspective (a repository found in several counts in "
                      "each, and once in the total), how far the pipeline got with them, and the links that tie "
                      "models and papers to them.")
    rows = repository_summary(store)
    if not rows:
        section.empty = ("No repositories yet: `ptmscope link` finds them in model cards and papers, "
                         "`ptmscope collect github` adds their metadata and forks, `ptmscope clone` clones them.")
        return section
    section.blocks.append(Block("facts", facts=[("Papers", _n(ov.papers)), ("Repositories", _n(ov.repositories)),
                                                ("Cloned", _n(ov.repositories_cloned)),
                                                ("Scanned", _n(ov.repositories_scanned))]))
    section.blocks.append(Block("table", table=Table(
        "repositories_per_perspective", "Repositories per perspective",
        [Column("perspective", "Perspective"), Column("repositories", "Repositories", "int"),
         Column("fetched", "Metadata fetched", "int"), Column("cloned", "Cloned", "int"),
         Column("scanned", "Scanned", "int"), Column("forks_of_others", "Are forks", "int"),
         Column("stars", "Stars", "int"), Column("forks", "Forks", "int"),
         Column("open_issues", "Open issues", "int")], rows_of(rows))))
    section.blocks.append(Block("table", table=Table(
        "links_per_kind", "Links per kind", [Column("kind", "Kind"), Column("links", "Links", "int")],
        [{"kind": k, "links": n} for k, n in ov.links.items()])) if ov.links else
        _empty("No links yet: `ptmscope link` extracts them from model cards and papers."))
    return section


def _usage_section(store: Store, ov: Overview) -> Section:
    section = Section("usage", "Downstream use of models", "usage",
                      "Which repositories load which models, read statically from their code: downstream "
                      "repositories per domain of the model they load (PeaTMOSS Figure 9), the most-loaded models, "
                      "how many call sites pin a revision, and the models loaded without one.")
    if not ov.usage_call_sites:
        section.empty = "No call sites yet: `ptmscope usage --all` reads every cloned repository."
        return section
    pin = usage_analysis.pinning(store)
    section.blocks.append(Block("facts", facts=[
        ("Call sites", _n(pin.call_sites)), ("Repositories", _n(pin.repositories)),
        ("Model resolved statically", _share(pin.resolved, pin.call_sites)),
        ("Matched to a stored model", _share(pin.in_store, pin.call_sites)),
        ("Pinning a revision", _share(pin.pinned, pin.call_sites)),
        ("Passing trust_remote_code=True", _n(pin.trust_remote_code))]))
    downstream = usage_analysis.downstream_per_domain(store)
    if downstream:
        per_hub: dict[str, list[tuple[str, float, int]]] = defaultdict(list)
        totals: dict[str, int] = {}
        for d in downstream:
            per_hub[d.hub].append((d.domain, d.percent, d.repositories))
            totals[d.hub] = d.hub_repositories
        section.blocks.append(Block("figure", f"{PEATMOSS}, Figure 9: downstream repositories per domain of the "
                                              "model they load, per hub",
                                    plots.shares_per_hub(per_hub, xlabel="share of the hub's downstream repositories",
                                                         totals=totals)))
        section.blocks.append(Block("table", table=Table(
            "peatmoss_fig9_downstream", f"{PEATMOSS}, Figure 9: downstream repositories per model domain and hub",
            [Column("hub", "Hub"), Column("domain", "Domain"), Column("repositories", "Repositories", "int"),
             Column("percent", "Share of hub's repositories", "percent"),
             Column("hub_repositories", "Hub's repositories", "int")], rows_of(downstream),
            note="A repository loading models of two domains counts in both.")))
    else:
        section.blocks.append(_empty("Figure 9 needs call sites matched to stored models; none matched yet."))
    loaded = usage_analysis.most_loaded(store, limit=None)
    section.blocks.append(Block("table", table=Table(
        "most_loaded_models", "Most-loaded models",
        [Column("model", "Model"), Column("hub", "Hub"), Column("in_store", "Stored"), Column("domain", "Domain"),
         Column("repositories", "Repositories", "int"), Column("call_sites", "Call sites", "int"),
         Column("pinned", "Pinned call sites", "int")], rows_of(loaded))))
    section.blocks.append(Block("table", table=Table(
        "usage_pinning_by_library", "Call sites pinning a revision, per library",
        [Column("library", "Library"), Column("call_sites", "Call sites", "int"), Column("pinned", "Pinned", "int"),
         Column("percent", "Pinned share", "percent")], rows_of(pin.by_library))))
    unpinned = usage_analysis.unpinned_usage(store)
    section.blocks.append(Block("table", table=Table(
        "unpinned_usage", "Models loaded without a pinned revision (trust_remote_code=True first)",
        [Column("model", "Model"), Column("hub", "Hub"), Column("in_store", "Stored"),
         Column("call_sites", "Unpinned call sites", "int"), Column("repositories", "Repositories", "int"),
         Column("trust_remote_code", "With trust_remote_code", "int"), Column("locations", "Where (first few)")],
        rows_of(unpinned),
        note="An unpinned load fetches whatever the model repository holds at run time; with trust_remote_code=True "
             "that includes code the application runs.")) if unpinned else
        _empty("Every call site with a resolved model pins a revision."))
    exposure = remote_code_exposure(store)
    if exposure:
        section.blocks.append(Block("table", table=Table(
            "remote_code_exposure", "Call sites with trust_remote_code=True and the model code they would run",
            [Column("repository", "Repository"), Column("path", "Path"), Column("line", "Line", "int"),
             Column("model", "Model"), Column("revision", "Revision"), Column("flagged", "Unpinned"),
             Column("code", "Model code (snapshotted)"), Column("max_severity", "Worst finding in it"),
             Column("outcome", "Code verdict")],
            rows_of(exposure, code=lambda e: ", ".join(f.path for f in e.custom_code_files) or
                    ("not snapshotted" if e.code_commit is None else "none")),
            note="Loading with trust_remote_code=True runs Python files from the model repository; without a "
                 "pinned revision it runs whatever they are on the day. Snapshots (`ptmscope snapshot`) scan that "
                 "code like repository code.")))
    return section


def _vulns_section(store: Store, ov: Overview, table: VulnTable) -> Section:
    section = Section("vulnerabilities", "Vulnerabilities in the code", "scan",
                      "What the scanners can find (MLOSS Table 4, with the findings of the current scans), the "
                      "findings per perspective and severity (MLOSS Table 6), and the models most exposed to "
                      "high-severity findings through the code they are linked to.")
    scanners = scanner_table(store)
    t4_checks = Table(
        "mloss_table4_scanners", f"{MLOSS}, Table 4: checks per vulnerability type and scanner",
        [Column("category", "Category"), Column("vuln_type", "Type"), Column("description", "Description"),
         Column("seed", "Paper's scanners"), *(Column(s, s, "int") for s in scanners.scanners)],
        [{"category": r.category, "vuln_type": r.vuln_type, "description": r.description,
          "seed": list(r.seed) if r.seed is not None else None} | r.checks for r in scanners.rows],
        note="The installed scanners' rules of each type; the paper's scanners are those its Table 4 marks "
             "\"Yes\" (— for the AI supply-chain types ptmscope adds).")
    t4_found = Table(
        "scanner_findings_per_type", "Findings of the current scans per vulnerability type and scanner",
        [Column("category", "Category"), Column("vuln_type", "Type"),
         *(Column(s, s, "int") for s in scanners.scanners), Column("total", "Total", "int")],
        [{"category": r.category, "vuln_type": r.vuln_type} | r.findings | {"total": r.total_findings}
         for r in scanners.rows])
    if not table.rows or table.rows[-1].repositories == 0:
        section.empty = ("No scans yet: `ptmscope scan --all` scans every cloned repository. The scanners' checks "
                         "per vulnerability type (MLOSS Table 4) are below.")
    else:
        groups = [r.group for r in table.rows]
        order = list(reversed(SEVERITIES))
        section.blocks.append(Block("figure", f"{MLOSS}, Table 6: findings per perspective and severity",
                                    plots.severity_bars(groups, {s: [r.findings.get(s, 0) for r in table.rows]
                                                                 for s in order}, xlabel="findings")))
        t6_rows = [{"group": r.group, "repositories": r.repositories, "with_findings": r.with_findings}
                   | {s: r.findings.get(s, 0) for s in order} | {"total": r.total}
                   | {"high_per_repository": r.average("high") + r.average("critical"),
                      "per_repository": r.average()} for r in table.rows]
        section.blocks.append(Block("table", table=Table(
            "mloss_table6_vulns", f"{MLOSS}, Table 6: findings of the current scans per perspective",
            [Column("group", "Perspective"), Column("repositories", "Scanned repos", "int"),
             Column("with_findings", "With findings", "int"), *(Column(s, s.capitalize(), "int") for s in order),
             Column("total", "Total", "int"), Column("high_per_repository", "High+crit. per repo", "float"),
             Column("per_repository", "All per repo", "float")], t6_rows,
            note="A repository counts in every perspective it was found through; the total counts it once.")))
        section.blocks.append(Block("table", table=t4_found))
    exposed = exposed_models(store, limit=None, table=table)
    if exposed:
        section.blocks.append(Block("table", table=Table(
            "exposed_models", f"Models linked to code with {' or '.join(HIGH)} findings",
            [Column("hub", "Hub"), Column("model", "Model"), Column("repositories", "Repositories", "int"),
             Column("high", "High+critical findings", "int"), Column("kinds", "Link kinds"),
             Column("worst_repository", "Worst repository"), Column("worst_high", "Its high+critical", "int")],
            rows_of(exposed))))
    elif not section.empty:
        section.blocks.append(_empty(f"No model is linked to a repository with {' or '.join(HIGH)} findings."))
    section.blocks.append(Block("table", table=t4_checks))
    return section


def _collapse(summary: LicenseSummary, groups: int) -> list[tuple[str, str, str, int]]:
    """Figure 12's flows by family, the ``groups`` biggest families per side kept and the rest drawn as one."""
    keep_left = {name for name, _ in summary.model_families[:groups]}
    keep_right = {name for name, _ in summary.app_families[:groups]}
    other_left = f"other ({len(summary.model_families) - len(keep_left)})"
    other_right = f"other ({len(summary.app_families) - len(keep_right)})"
    flows: dict[tuple[str, str, str], int] = defaultdict(int)
    for f in summary.flows:
        a = f.model_family if f.model_family in keep_left else other_left
        b = f.app_family if f.app_family in keep_right else other_right
        flows[a, b, f.verdict] += f.pairs
    return [(a, b, v, n) for (a, b, v), n in flows.items()]


def _licenses_section(store: Store) -> Section:
    section = Section("licenses", "License compatibility", "licenses",
                      "Each model→application pair (a repository loading the model) and each base-model link, "
                      "with the verdict of the license rules (PeaTMOSS Figure 12: blue flows are compatible, red "
                      "incompatible, grey unknown).")
    summary = license_summary(store)
    if not summary.pairs and not any(summary.base_model_checks.values()):
        section.empty = ("No license checks yet: `ptmscope licenses` classifies every model→application pair once "
                         "usage and repository licenses are stored.")
        return section
    facts = [("Model→application pairs", _n(summary.pairs))]
    facts += [(f"… {v}", _share(summary.by_verdict.get(v, 0), summary.pairs)) for v in VERDICTS]
    if summary.pairs:
        facts += [("Same license on both sides", _share(summary.identical, summary.pairs)),
                  ("Applications without a license", _share(summary.app_without_license, summary.pairs))]
    facts += [(f"Base-model links: {v}", _n(n)) for v, n in summary.base_model_checks.items()]
    section.blocks.append(Block("facts", facts=facts))
    grouping = "license family" if summary.grouping == "family" else "SPDX expression"
    if summary.flows:
        section.blocks.append(Block("figure", f"{PEATMOSS}, Figure 12: model license → application license, by "
                                              f"{grouping}",
                                    plots.sankey(_collapse(summary, SANKEY_GROUPS), left_title="Model license",
                                                 right_title="Application license")))
        section.blocks.append(Block("table", table=Table(
            "peatmoss_fig12_license_flows", f"{PEATMOSS}, Figure 12: model→application pairs per license pair",
            [Column("model_license", "Model license"), Column("app_license", "Application license"),
             Column("verdict", "Verdict"), Column("pairs", "Pairs", "int"), Column("model_family", "Model family"),
             Column("app_family", "Application family")], rows_of(summary.flows),
            note=f"The diagram groups licenses by {grouping}; '{NO_LICENSE}' where a side declares none.")))
    section.blocks.append(Block("table", table=Table(
        "license_rules", "Checks per deciding rule",
        [Column("kind", "Kind"), Column("rule", "Rule"), Column("verdict", "Verdict"),
         Column("checks", "Checks", "int")], rows_of(summary.rules))))
    return section


# --- the whole report ------------------------------------------------------------------------------------


def _key_numbers(ov: Overview, generated: datetime, sections: list[Section], store: Store,
                 table: VulnTable) -> dict[str, Any]:
    pin = usage_analysis.pinning(store)
    licenses = license_summary(store)
    return {
        "generated_at": generated.isoformat(),
        "database": ov.database,
        "models": {"total": ov.total_models, "by_hub": ov.models, "deleted": ov.deleted_models,
                   "with_card_metadata": ov.card_models, "base_model_edges": ov.model_edges},
        "papers": ov.papers,
        "repositories": {"total": ov.repositories, "cloned": ov.repositories_cloned,
                         "scanned": ov.repositories_scanned},
        "links": ov.links,
        "findings": {"by_severity": ov.findings, "total": sum(ov.findings.values())},
        "models_linked_to_high_findings": table.models_at_risk,
        "usage": {"call_sites": pin.call_sites, "repositories": pin.repositories, "resolved": pin.resolved,
                  "in_store": pin.in_store, "pinned": pin.pinned, "percent_pinned": pin.percent_pinned,
                  "trust_remote_code": pin.trust_remote_code},
        "licenses": {"pairs": licenses.pairs, "by_verdict": licenses.by_verdict, "identical": licenses.identical,
                     "app_without_license": licenses.app_without_license,
                     "base_model_checks": licenses.base_model_checks, "grouping": licenses.grouping},
        "sections": [{"id": s.id, "title": s.title, "empty": s.empty is not None} for s in sections],
        "tables": [t.name for s in sections for t in s.tables()],
    }


def collect(store: Store, *, now: datetime | None = None) -> Report:
    generated = now or datetime.now(UTC)
    ov = overview(store)
    table = vuln_table(store)
    sections = [_store_section(ov), _models_section(store, ov), _cards_section(store, ov),
                _repositories_section(store, ov), _usage_section(store, ov), _vulns_section(store, ov, table),
                _licenses_section(store)]
    return Report(generated, ov, sections, _key_numbers(ov, generated, sections, store, table))


def parse_formats(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise UsageError(f"--format takes a comma-separated list of {', '.join(FORMATS)}; got {value!r}")
    return names


def _prepare(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the report directory {out}: {exc.strerror or exc}") from exc


def write_report(report: Report, out: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write the report under ``out``; returns the files written. ``report.json`` is always written."""
    _prepare(out)
    written: list[Path] = []
    tables_dir = out / "tables"
    if "json" in formats or "csv" in formats:
        tables_dir.mkdir(exist_ok=True)
    for table in report.tables():
        if "json" in formats:
            write_json(table, tables_dir / f"{table.name}.json")
            written.append(tables_dir / f"{table.name}.json")
        if "csv" in formats:
            write_csv(table, tables_dir / f"{table.name}.csv")
            written.append(tables_dir / f"{table.name}.csv")
    if "html" in formats:
        from .html import render

        page = out / "report.html"
        page.write_text(render(report, html_rows=HTML_ROWS, table_files=[f for f in formats if f != "html"]),
                        encoding="utf-8")
        written.append(page)
    summary = out / "report.json"
    summary.write_bytes(orjson.dumps(report.key_numbers, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    written.append(summary)
    return written


def build_report(store: Store, out: Path, formats: Sequence[str] = FORMATS) -> tuple[Report, list[Path]]:
    _prepare(out)  # an unwritable directory is known before the store is read
    report = collect(store)
    return report, write_report(report, out, formats)
