"""Every scanner rule → vulnerability type, category, CWE and normalised severity.

The mapping lives in ``taxonomy.toml`` beside this module. The rules it must cover are read from
the installed tools themselves, so a scanner upgrade that adds a rule shows up in
:func:`unmapped` (and makes ``ptmscope rules list`` fail) instead of silently producing findings
without a type:

- Bandit: the plugin and blacklist registry of the installed ``bandit`` (every ``Bxxx`` id);
- Flawfinder: its C/C++ ruleset (one rule per dangerous function name, each carrying an
  ``FF10xx`` id shared by related functions), mapped by Flawfinder's own category, by its
  "reads external input" flag, and by per-id overrides;
- Semgrep: our own pack ``rules/ptmscope.yaml``, whose rules carry
  ``metadata.ptmscope: {vuln_type, category, severity}`` and ``metadata.cwe``.

Severity normalisation (the tables are in ``taxonomy.toml``):

- Bandit, issue_severity × issue_confidence::

                 LOW      MEDIUM   HIGH     (confidence)
      LOW        low      low      low
      MEDIUM     low      medium   medium
      HIGH       medium   high     critical

  a missing confidence counts as MEDIUM; rules with ``max_severity = "high"`` (imports, weak
  hashes and ciphers, TLS settings) never reach critical.
- Flawfinder, risk level 0..5 → low, low, low, medium, high, critical (race-condition rules on
  chmod/chown/chgrp/readlink are capped at high).
- Semgrep: the rule's ``metadata.ptmscope.severity`` if it has one, else INFO → low,
  WARNING → medium, ERROR → high, LOW/MEDIUM/HIGH/CRITICAL → themselves.
- A severity word no scale knows is medium: we cannot tell, and neither extreme is honest.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from .interface import SEVERITIES

DATA_FILE = Path(__file__).with_name("taxonomy.toml")
SEMGREP_RULES = Path(__file__).parent / "rules" / "ptmscope.yaml"
SCANNERS = ("bandit", "flawfinder", "semgrep", "modelfiles")
CATEGORIES = ("secret", "insecure_permission_function", "web_attack", "ai_specific")
SEED_TOTAL_CHECKS = 277  # MLOSS collection paper, §3.3

_CWE = re.compile(r"CWE-(\d+)")
_LEVEL = re.compile(r"\d+")
_BANDIT_CONFIDENCE = ("LOW", "MEDIUM", "HIGH")
_UNKNOWN_SEVERITY = "medium"


class TaxonomyError(UsageError):
    """taxonomy.toml or a Semgrep rule pack cannot be read as a mapping."""


@dataclass(frozen=True, slots=True)
class VulnType:
    name: str
    category: str
    description: str
    example: str
    seed: tuple[str, ...] | None  # scanners the seed paper's Table 4 marks "Yes"; None for new types


@dataclass(frozen=True, slots=True)
class Classification:
    vuln_type: str | None  # None: the rule has no mapping (see unmapped())
    category: str | None
    severity: str  # one of interface.SEVERITIES
    cwe: str | None


@dataclass(frozen=True, slots=True)
class RuleInfo:
    scanner: str
    rule_id: str
    name: str  # Bandit test name, Flawfinder function name, Semgrep message
    vuln_type: str | None
    category: str | None
    cwe: str | None


@dataclass(frozen=True, slots=True)
class Unmapped:
    scanner: str
    rule_id: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Table4Row:
    category: str
    vuln_type: str
    description: str
    checks: Mapping[str, int]  # scanner -> number of its checks of this type
    total: int
    seed: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Table4:
    scanners: tuple[str, ...]
    rows: tuple[Table4Row, ...]
    totals: Mapping[str, int]  # per scanner
    total: int
    seed_total: int = SEED_TOTAL_CHECKS


@dataclass(frozen=True, slots=True)
class _Mapping:
    vuln_type: str
    cwe: str | None
    max_severity: str | None = None
    severity: str | None = None  # fixed by the rule itself (Semgrep metadata)


def cwe_id(value: object) -> str | None:
    """``"CWE-502"`` from 502, "CWE-502: Deserialization…", "CWE-119!/CWE-120" or a list of those."""
    if isinstance(value, list | tuple):
        return next((c for c in (cwe_id(v) for v in value) if c), None)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"CWE-{value}" if value > 0 else None
    match = _CWE.search(str(value)) if value is not None else None
    return f"CWE-{match.group(1)}" if match else None


def _cap(severity: str, ceiling: str | None) -> str:
    if ceiling is None:
        return severity
    return SEVERITIES[min(SEVERITIES.index(severity), SEVERITIES.index(ceiling))]


def installed_bandit_tests() -> dict[str, str]:
    """Test id → test name for every plugin and blacklist check of the installed Bandit."""
    manager = importlib.import_module("bandit.core.extension_loader").MANAGER
    tests = {tid: str(plugin.name) for tid, plugin in manager.plugins_by_id.items()}
    tests.update({tid: str(entry["name"]) for tid, entry in manager.blacklist_by_id.items()})
    return dict(sorted(tests.items()))


@dataclass(frozen=True, slots=True)
class FlawfinderRule:
    function: str
    rule_id: str
    category: str
    level: int
    cwe: str | None
    reads_input: bool


def installed_flawfinder_rules() -> list[FlawfinderRule]:
    """One entry per function name in the installed Flawfinder's C/C++ ruleset."""
    flawfinder = importlib.import_module("flawfinder")
    # expand_ruleset splits "a|b|c" keys in place; work on a copy so the module stays untouched.
    ruleset: dict[str, tuple[Any, ...]] = dict(flawfinder.c_ruleset)
    flawfinder.expand_ruleset(ruleset)
    return [
        FlawfinderRule(function=name, rule_id=str(entry[7]), category=str(entry[4]), level=int(entry[1]),
                       cwe=cwe_id(entry[2]), reads_input=bool(entry[6].get("input")))
        for name, entry in sorted(ruleset.items())
    ]


class Taxonomy:
    """The mapping of one taxonomy file and one Semgrep rule pack onto the installed scanners."""

    def __init__(self, data: Mapping[str, Any], semgrep_pack: Mapping[str, Any] | None) -> None:
        self.types = self._load_types(data.get("types", {}))
        self._bandit_scale: dict[str, list[str]] = data["bandit"]["severity"]
        self._flawfinder_levels: list[str] = data["flawfinder"]["severity"]["levels"]
        self._semgrep_scale: dict[str, str] = data["semgrep"]["severity"]
        for scale in (*self._bandit_scale.values(), self._flawfinder_levels, self._semgrep_scale.values()):
            self._check_severities(scale, "a severity scale")
        if any(len(row) != len(_BANDIT_CONFIDENCE) for row in self._bandit_scale.values()):
            raise TaxonomyError(f"bandit.severity: each row needs one severity per confidence {_BANDIT_CONFIDENCE}")
        self._rules: dict[str, dict[str, _Mapping]] = {scanner: {} for scanner in SCANNERS}
        self._infos: list[RuleInfo] = []
        self._unmapped: list[Unmapped] = []
        self._load_bandit(data["bandit"].get("rules", {}))
        self._load_flawfinder(data["flawfinder"])
        self._load_semgrep(semgrep_pack)
        self._load_modelfiles()

    @classmethod
    def load(cls, data_file: Path = DATA_FILE, semgrep_rules: Path | None = SEMGREP_RULES) -> Taxonomy:
        """Read the mapping; a Semgrep pack that does not exist (yet) just contributes no rules."""
        data = tomllib.loads(data_file.read_text(encoding="utf-8"))
        pack = None
        if semgrep_rules is not None and semgrep_rules.is_file():
            try:
                pack = yaml.safe_load(semgrep_rules.read_text(encoding="utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise TaxonomyError(f"{semgrep_rules}: not readable as YAML ({exc})") from exc
            if not isinstance(pack, dict) or not isinstance(pack.get("rules", []), list):
                raise TaxonomyError(f"{semgrep_rules}: not a Semgrep rule file (no top-level 'rules' list)")
        return cls(data, pack)

    # -- loading ---------------------------------------------------------------------------

    @staticmethod
    def _load_types(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, VulnType]:
        types = {}
        for name, spec in raw.items():
            if spec.get("category") not in CATEGORIES:
                raise TaxonomyError(f"type {name!r}: category {spec.get('category')!r} is not one of {CATEGORIES}")
            seed = spec.get("seed")
            types[name] = VulnType(name=name, category=spec["category"], description=spec.get("description", ""),
                                   example=spec.get("example", ""), seed=tuple(seed) if seed is not None else None)
        return types

    @staticmethod
    def _check_severities(values: Iterable[str | None], where: str) -> None:
        for value in values:
            if value is not None and value not in SEVERITIES:
                raise TaxonomyError(f"{where}: severity {value!r} is not one of {SEVERITIES}")

    def _mapping(self, spec: Mapping[str, Any], where: str) -> _Mapping:
        vuln_type = spec.get("type")
        if vuln_type not in self.types:
            raise TaxonomyError(f"{where}: unknown vulnerability type {vuln_type!r}")
        self._check_severities([spec.get("max_severity")], where)
        return _Mapping(vuln_type=vuln_type, cwe=cwe_id(spec.get("cwe")), max_severity=spec.get("max_severity"))

    def _add(self, scanner: str, rule_id: str, name: str, mapping: _Mapping | None, reason: str = "") -> None:
        if mapping is None:
            self._unmapped.append(Unmapped(scanner, rule_id, name, reason))
            self._infos.append(RuleInfo(scanner, rule_id, name, None, None, None))
            return
        self._infos.append(RuleInfo(scanner, rule_id, name, mapping.vuln_type,
                                    self.types[mapping.vuln_type].category, mapping.cwe))

    def _load_bandit(self, raw: Mapping[str, Mapping[str, Any]]) -> None:
        table = {rid: self._mapping(spec, f"bandit.rules.{rid}") for rid, spec in raw.items()}
        for rid, name in installed_bandit_tests().items():
            mapping = table.get(rid)
            self._add("bandit", rid, name, mapping, "no entry under [bandit.rules] in taxonomy.toml")
            if mapping is not None:
                self._rules["bandit"][rid] = mapping

    def _load_flawfinder(self, raw: Mapping[str, Any]) -> None:
        categories: dict[str, str] = raw.get("categories", {})
        input_type: str | None = raw.get("input_sources", {}).get("type")
        for where, name in [*((f"categories.{c}", t) for c, t in categories.items()), ("input_sources", input_type)]:
            if name is not None and name not in self.types:
                raise TaxonomyError(f"flawfinder.{where}: unknown vulnerability type {name!r}")
        overrides = {rid: self._mapping(spec, f"flawfinder.rules.{rid}") for rid, spec in raw.get("rules", {}).items()}
        per_id: dict[str, set[str]] = {}
        for rule in installed_flawfinder_rules():
            override = overrides.get(rule.rule_id)
            vuln_type: str | None = (override.vuln_type if override else input_type if rule.reads_input and input_type
                                     else categories.get(rule.category))
            if vuln_type is None:
                self._add("flawfinder", rule.rule_id, rule.function, None,
                          f"flawfinder category {rule.category!r} has no entry under [flawfinder.categories]")
                continue
            per_id.setdefault(rule.rule_id, set()).add(vuln_type)
            mapping = _Mapping(vuln_type=vuln_type, cwe=rule.cwe,
                               max_severity=override.max_severity if override else None)
            self._add("flawfinder", rule.rule_id, rule.function, mapping)
            self._rules["flawfinder"].setdefault(rule.rule_id, mapping)
        for rid, kinds in per_id.items():
            # Findings carry only the FF id, so all functions sharing one must share a type.
            if len(kinds) > 1:
                del self._rules["flawfinder"][rid]
                self._unmapped.append(Unmapped("flawfinder", rid, rid,
                                               f"its functions map to different types {sorted(kinds)}; "
                                               "add an override under [flawfinder.rules]"))

    def _load_semgrep(self, pack: Mapping[str, Any] | None) -> None:
        for rule in (pack or {}).get("rules") or []:
            if not isinstance(rule, dict):
                raise TaxonomyError(f"Semgrep rule pack: a rule is not a mapping: {rule!r:.80}")
            rid = str(rule.get("id", ""))
            message = " ".join(str(rule.get("message", "")).split())
            name = message[:100] or rid
            metadata = rule.get("metadata") or {}
            ours = metadata.get("ptmscope")
            if not isinstance(ours, dict):
                self._add("semgrep", rid, name, None, "no metadata.ptmscope in the rule")
                continue
            vuln_type = ours.get("vuln_type")
            if vuln_type not in self.types:
                self._add("semgrep", rid, name, None, f"metadata.ptmscope.vuln_type {vuln_type!r} is not a known type")
                continue
            category = self.types[vuln_type].category
            if ours.get("category", category) != category:
                self._add("semgrep", rid, name, None,
                          f"metadata.ptmscope.category {ours.get('category')!r} but type {vuln_type!r} "
                          f"belongs to {category!r}")
                continue
            severity = ours.get("severity")
            severity = str(severity).lower() if severity is not None else None
            if severity is not None and severity not in SEVERITIES:
                self._add("semgrep", rid, name, None, f"metadata.ptmscope.severity {severity!r} is not one of "
                                                      f"{SEVERITIES}")
                continue
            mapping = _Mapping(vuln_type=vuln_type, cwe=cwe_id(metadata.get("cwe")), severity=severity)
            self._add("semgrep", rid, name, mapping)
            self._rules["semgrep"][rid] = mapping

    def _load_modelfiles(self) -> None:
        # The model-file scanner is ours: its rules carry their own classification.
        from .modelfiles import RULES

        for rid, rule in RULES.items():
            if rule.vuln_type not in self.types or self.types[rule.vuln_type].category != rule.category:
                self._add("modelfiles", rid, rule.title, None, f"type {rule.vuln_type!r} / {rule.category!r} unknown")
                continue
            mapping = _Mapping(vuln_type=rule.vuln_type, cwe=cwe_id(rule.cwe), severity=rule.severity)
            self._add("modelfiles", rid, rule.title, mapping)
            self._rules["modelfiles"][rid] = mapping

    # -- queries ---------------------------------------------------------------------------

    def normalise(self, scanner: str, original_severity: str | int, original_confidence: str | None = None) -> str:
        """The scanner's own severity (and Bandit's confidence) on the low..critical scale."""
        if scanner == "flawfinder":
            match = _LEVEL.search(str(original_severity))
            level = int(match.group()) if match else -1
            return self._flawfinder_levels[level] if 0 <= level < len(self._flawfinder_levels) else _UNKNOWN_SEVERITY
        word = str(original_severity).strip().upper()
        if scanner == "bandit":
            row = self._bandit_scale.get(word)
            confidence = (original_confidence or "MEDIUM").strip().upper()
            if row is None or confidence not in _BANDIT_CONFIDENCE:
                return _UNKNOWN_SEVERITY
            return row[_BANDIT_CONFIDENCE.index(confidence)]
        # Semgrep's words, and the same words from any other scanner (model-file scanners).
        return self._semgrep_scale.get(word, word.lower() if word.lower() in SEVERITIES else _UNKNOWN_SEVERITY)

    def classify(self, scanner: str, rule_id: str, original_severity: str | int,
                 original_confidence: str | None = None) -> Classification:
        """Type, category, normalised severity and CWE of one finding; vuln_type None if unmapped."""
        mapping = self._rules.get(scanner, {}).get(rule_id)
        severity = self.normalise(scanner, original_severity, original_confidence)
        if mapping is None:
            return Classification(None, None, severity, None)
        severity = _cap(mapping.severity or severity, mapping.max_severity)
        return Classification(mapping.vuln_type, self.types[mapping.vuln_type].category, severity, mapping.cwe)

    def all_rules(self) -> list[RuleInfo]:
        return list(self._infos)

    def unmapped(self) -> list[Unmapped]:
        return list(self._unmapped)

    def table4(self) -> Table4:
        counts = Counter((info.scanner, info.vuln_type) for info in self._infos if info.vuln_type)
        rows = []
        for category in CATEGORIES:
            for vt in (t for t in self.types.values() if t.category == category):
                checks = {scanner: counts[scanner, vt.name] for scanner in SCANNERS}
                rows.append(Table4Row(category, vt.name, vt.description, checks, sum(checks.values()), vt.seed))
        totals = {scanner: sum(row.checks[scanner] for row in rows) for scanner in SCANNERS}
        return Table4(SCANNERS, tuple(rows), totals, sum(totals.values()))


@cache
def default() -> Taxonomy:
    """The bundled mapping over the installed scanners and our rule pack (loaded once per process)."""
    return Taxonomy.load()


def digest(data_file: Path = DATA_FILE) -> str:
    """Hash of the mapping, for scan cache keys: a changed mapping must re-classify findings."""
    return hashlib.sha256(data_file.read_bytes()).hexdigest()


def classify(scanner: str, rule_id: str, original_severity: str | int,
             original_confidence: str | None = None) -> Classification:
    return default().classify(scanner, rule_id, original_severity, original_confidence)


def all_rules() -> list[RuleInfo]:
    return default().all_rules()


def unmapped() -> list[Unmapped]:
    return default().unmapped()


def table4() -> Table4:
    return default().table4()
