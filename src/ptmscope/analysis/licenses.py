"""License pairs between models and the applications that load them (PeaTMOSS Figure 12), and the
base-model checks, from the verdicts the licenses stage stored (``license_check``).

Figure 12 draws flows from a model's license to its application's. Each flow keeps both SPDX expressions
and the license family of each side, where the licenses stage offers one
(``ptmscope.licenses.normalize.spdx_family``; else the family is the expression itself), so the diagram
can be drawn by family while the table keeps every expression. A side without a license is "no license",
as in the paper.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from ..store import Store, schema
from .common import percent

LC = schema.license_check
VERDICTS = ("compatible", "incompatible", "unknown")
NO_LICENSE = "no license"


@dataclass(frozen=True)
class LicenseFlow:
    model_license: str
    app_license: str
    verdict: str
    pairs: int
    model_family: str
    app_family: str


@dataclass(frozen=True)
class RuleCount:
    kind: str
    rule: str
    verdict: str
    checks: int


@dataclass
class LicenseSummary:
    grouping: str  # "family" or "spdx": how flows group licenses
    pairs: int = 0  # model→application pairs checked
    by_verdict: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    identical: int = 0  # pairs whose two licenses are the same expression
    app_without_license: int = 0
    base_model_checks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    flows: list[LicenseFlow] = field(default_factory=list)
    model_licenses: list[tuple[str, int]] = field(default_factory=list)  # pairs per model-side expression
    app_licenses: list[tuple[str, int]] = field(default_factory=list)
    model_families: list[tuple[str, int]] = field(default_factory=list)  # pairs per model-side family
    app_families: list[tuple[str, int]] = field(default_factory=list)
    rules: list[RuleCount] = field(default_factory=list)

    def percent(self, verdict: str) -> float:
        return percent(self.by_verdict.get(verdict, 0), self.pairs)


def family_function() -> tuple[str, Callable[[str], str]]:
    """The licenses stage's family grouping when it is installed, else the expression as it is."""
    try:
        module = importlib.import_module("ptmscope.licenses.normalize")
        family = module.spdx_family
    except (ImportError, AttributeError):
        return "spdx", lambda expr: expr

    def grouped(expr: str) -> str:
        value = family(expr)
        return str(value) if value else expr

    return "family", grouped


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _by_family(counts: Counter[str], families: dict[str, str]) -> Counter[str]:
    grouped: Counter[str] = Counter()
    for expr, n in counts.items():
        grouped[families[expr]] += n
    return grouped


def license_summary(store: Store) -> LicenseSummary:
    grouping, family = family_function()
    summary = LicenseSummary(grouping)
    flows: Counter[tuple[str, str, str]] = Counter()
    left: Counter[str] = Counter()
    right: Counter[str] = Counter()
    families: dict[str, str] = {NO_LICENSE: NO_LICENSE}
    rules: Counter[tuple[str, str, str]] = Counter()
    query = select(LC.c.kind, LC.c.model_license, LC.c.other_license, LC.c.verdict, LC.c.rule).order_by(LC.c.id)
    with store.engine.connect() as conn:
        for kind, model_license, other_license, verdict, rule in conn.execute(query):
            rules[kind, rule, verdict] += 1
            if kind != "model_app":
                summary.base_model_checks[verdict] = summary.base_model_checks.get(verdict, 0) + 1
                continue
            summary.pairs += 1
            summary.by_verdict[verdict] = summary.by_verdict.get(verdict, 0) + 1
            summary.identical += bool(model_license) and model_license == other_license
            summary.app_without_license += not other_license
            a, b = model_license or NO_LICENSE, other_license or NO_LICENSE
            for expr in (a, b):
                if expr not in families:
                    families[expr] = family(expr)
            flows[a, b, verdict] += 1
            left[a] += 1
            right[b] += 1
    order = {v: i for i, v in enumerate(VERDICTS)}
    summary.flows = [LicenseFlow(a, b, v, n, families[a], families[b]) for (a, b, v), n in
                     sorted(flows.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1], order.get(kv[0][2], 9)))]
    summary.model_licenses = _ranked(left)
    summary.app_licenses = _ranked(right)
    summary.model_families = _ranked(_by_family(left, families))
    summary.app_families = _ranked(_by_family(right, families))
    summary.rules = [RuleCount(k, r, v, n) for (k, r, v), n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))]
    return summary
