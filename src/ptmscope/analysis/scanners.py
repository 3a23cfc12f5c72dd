"""Vulnerability types per scanner (Table 4 of the MLOSS collection paper), with what was found.

The paper's Table 4 says which scanner can report each vulnerability type. ptmscope's taxonomy already
counts the installed checks per type and scanner (:func:`ptmscope.scan.taxonomy.table4`); this adds the
findings of the current scans per type and scanner, so the table shows both what could be found and what
was. Findings of rules without a type (a scanner upgrade the taxonomy does not cover yet) form their own
row, so no finding is silently left out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from ..scan import taxonomy
from ..scan.run import current_scans
from ..store import Store, schema

S = schema.scan
F = schema.finding
UNMAPPED = "(unmapped)"


@dataclass(frozen=True)
class ScannerTypeRow:
    category: str
    vuln_type: str
    description: str
    seed: tuple[str, ...] | None  # scanners the paper marks "Yes"; None for types ptmscope added
    checks: dict[str, int]  # per scanner: installed checks of this type
    findings: dict[str, int]  # per scanner: findings of this type in the current scans

    @property
    def total_findings(self) -> int:
        return sum(self.findings.values())


@dataclass(frozen=True)
class ScannerTable:
    scanners: tuple[str, ...]
    rows: list[ScannerTypeRow]

    def totals(self) -> dict[str, int]:
        return {s: sum(r.findings.get(s, 0) for r in self.rows) for s in self.scanners}


def scanner_table(store: Store) -> ScannerTable:
    checks = taxonomy.table4()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    scanners = list(checks.scanners)
    query = (select(F.c.vuln_type, S.c.scanner, func.count()).join(S, S.c.id == F.c.scan)
             .where(S.c.id.in_(current_scans())).group_by(F.c.vuln_type, S.c.scanner))
    with store.engine.connect() as conn:
        for vuln_type, scanner, n in conn.execute(query):
            found[vuln_type or UNMAPPED][scanner] = int(n)
            if scanner not in scanners:
                scanners.append(scanner)
    rows = [ScannerTypeRow(r.category, r.vuln_type, r.description, r.seed, {s: r.checks.get(s, 0) for s in scanners},
                           {s: found.get(r.vuln_type, {}).get(s, 0) for s in scanners}) for r in checks.rows]
    known = {r.vuln_type for r in checks.rows}
    for vuln_type in sorted(set(found) - known):
        rows.append(ScannerTypeRow("", vuln_type, "Findings whose rule maps to no known type", None,
                                   dict.fromkeys(scanners, 0), {s: found[vuln_type].get(s, 0) for s in scanners}))
    return ScannerTable(tuple(scanners), rows)
