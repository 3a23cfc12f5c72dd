"""Is a model's license compatible with the application that uses it, and does a fine-tuned model's declared
license honour its base model's?

The rules are data (``rules.toml`` beside this module: the rule catalogue, the Linux Foundation table, share-alike
allowances); this module applies them in the order that file documents. Direction: the model is a component,
the application the outbound work (the work distributed under the application's license). For a base-model
chain the parent is the component and the child the outbound work.

Verdicts are for triage, not legal advice: ``unknown`` wherever no rule covers a pair.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import license_expression as le  # type: ignore[import-untyped]

from .normalize import LicenseInfo, license_ids, license_info, normalize_license, parse

VerdictName = Literal["compatible", "incompatible", "unknown"]
VERDICTS: tuple[VerdictName, ...] = ("compatible", "incompatible", "unknown")
# Families whose licenses grant rights a restriction could clash with; "other"/"unknown" are not known enough.
_KNOWN = frozenset({"permissive", "weak-copyleft", "copyleft", "ml-restricted", "non-commercial"})
_GRANTS_COMMERCIAL = frozenset({"permissive", "weak-copyleft", "copyleft", "ml-restricted"})
_BEST = {"compatible": 0, "unknown": 1, "incompatible": 2}


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictName
    rule: str  # stable id from rules.toml: LIC000..., lf-matrix, lf-matrix-analogy
    reason: str


@dataclass(frozen=True)
class _Rules:
    catalogue: dict[str, str]
    matrix: dict[tuple[str, str], VerdictName]  # (outbound, component) -> verdict
    outbound: frozenset[str]
    components: frozenset[str]
    labels: dict[str, str]
    analogies: dict[str, str]
    share_alike: dict[str, list[str]]
    no_further_restrictions: frozenset[str]


def rules_table() -> dict[str, Any]:
    """The rule file as data (for documentation and the tests that check the transcription)."""
    return tomllib.loads(resources.files(__package__).joinpath("rules.toml").read_text(encoding="utf-8"))


@cache
def _rules() -> _Rules:
    table = rules_table()
    matrix: dict[tuple[str, str], VerdictName] = {}
    for outbound, cells in table["matrix"]["outbound"].items():
        for verdict in VERDICTS:
            for component in cells.get(verdict, ()):
                if (outbound, component) in matrix:
                    raise ValueError(f"rules.toml: {component} in {outbound} is given twice")
                matrix[(outbound, component)] = verdict
    return _Rules(
        catalogue=dict(table["rules"]),
        matrix=matrix,
        outbound=frozenset(o for o, _ in matrix),
        components=frozenset(c for _, c in matrix),
        labels=dict(table["matrix"]["labels"]),
        analogies=dict(table["matrix"]["analogies"]),
        share_alike={k: list(v) for k, v in table["share_alike"].items()},
        no_further_restrictions=frozenset(table["no_further_restrictions"]["families"]),
    )


def _verdict(outcome: VerdictName, rule: str, **fields: str) -> Verdict:
    template = _rules().catalogue[rule]
    return Verdict(outcome, rule, template.format_map(defaultdict(str, fields)))


# --- one license against one license ------------------------------------------------------------------------


def _matrix(component: str, outbound: str) -> Verdict | None:
    rules = _rules()

    def lookup(c: str, o: str) -> VerdictName | None:
        if c == o and o in rules.outbound:
            return "compatible"
        return rules.matrix.get((o, c))

    for c, o in ((component, outbound), (_base(component), _base(outbound))):
        found = lookup(c, o)
        if found is not None:
            return _verdict(found, "lf-matrix", model=component, app=outbound, verdict=found)
        ca, oa = rules.analogies.get(c, c), rules.analogies.get(o, o)
        if (ca, oa) != (c, o):
            found = lookup(ca, oa)
            if found is not None:
                analogy = ", ".join(f"{k} as {v}" for k, v in rules.analogies.items() if k in (c, o))
                return _verdict(found, "lf-matrix-analogy", model=component, app=outbound, verdict=found,
                                analogy=analogy)
    return None


def _base(license_id: str) -> str:
    return license_id.split(" WITH ", 1)[0]


def _families(component: str, outbound: str, ci: LicenseInfo, oi: LicenseInfo) -> Verdict:
    fields = {"model": component, "app": outbound}
    if ci.family not in _KNOWN or oi.family not in _KNOWN:
        return _verdict("unknown", "LIC003", **fields)
    if ci.family == "permissive":
        return _verdict("compatible", "LIC040", **fields)
    if ci.family == "copyleft":
        if oi.family in ("copyleft", "weak-copyleft"):
            return _verdict("unknown", "LIC043", **fields)
        return _verdict("incompatible", "LIC041", **fields)
    if ci.family == "weak-copyleft":
        if oi.family == "permissive":
            return _verdict("incompatible", "LIC042", **fields)
        if oi.family in ("copyleft", "weak-copyleft"):
            return _verdict("unknown", "LIC043", **fields)
    return _verdict("unknown", "LIC099", **fields)


def _component_terms(component: str, outbound: str, ci: LicenseInfo, oi: LicenseInfo) -> Verdict | None:
    """The ML-license terms of the component (model) against an application's license, or None."""
    fields = {"model": component, "app": outbound}
    if ci.has("non-commercial"):
        if oi.has("non-commercial"):
            if ci.has("share-alike") and outbound not in _allowed(ci.id):
                return _verdict("incompatible", "LIC012", allowed=" or ".join(_allowed(ci.id)), **fields)
            return _verdict("compatible", "LIC011", **fields)
        if oi.family in _GRANTS_COMMERCIAL:
            return _verdict("incompatible", "LIC010", **fields)
        return _verdict("unknown", "LIC003", **fields)
    if ci.has("share-alike"):
        allowed = _allowed(ci.id)
        if _base(outbound) in allowed:
            return _verdict("compatible", "LIC013", allowed=" or ".join(allowed), **fields)
        if oi.family in _KNOWN:
            return _verdict("incompatible", "LIC012", allowed=" or ".join(allowed), **fields)
        return _verdict("unknown", "LIC003", **fields)
    if ci.has("no-derivatives"):
        return _verdict("unknown", "LIC014", **fields)
    if ci.has("use-restrictions") or ci.has("notice"):
        if oi.family in ("ml-restricted", "non-commercial"):
            if ci.lineage is not None and ci.lineage == oi.lineage:
                return _verdict("compatible", "LIC115", **fields)
            return _verdict("unknown", "LIC023", **fields)
        if oi.family not in _KNOWN:
            return _verdict("unknown", "LIC003", **fields)
        if ci.has("use-restrictions") and oi.family in _rules().no_further_restrictions:
            return _verdict("incompatible", "LIC020", **fields)
        if ci.notice:
            return _verdict("compatible", "LIC022", notice=ci.notice, **fields)
        return _verdict("compatible", "LIC021", **fields)
    return None


def _allowed(share_alike_id: str) -> list[str]:
    return [share_alike_id, *_rules().share_alike.get(share_alike_id, [])]


def _pair(component: str, outbound: str) -> Verdict:
    if component == outbound:
        return _verdict("compatible", "LIC000", model=component)
    ci, oi = license_info(component), license_info(outbound)
    decided = _component_terms(component, outbound, ci, oi)
    if decided is not None:
        return decided
    if oi.has("use-restrictions") or oi.has("non-commercial") or oi.family == "ml-restricted":
        # An outbound ML license takes a component whose only conditions are notices, and nothing stricter.
        if ci.family == "permissive":
            return _verdict("compatible", "LIC040", model=component, app=outbound)
        if ci.family in ("copyleft", "weak-copyleft"):
            return _verdict("incompatible", "LIC041", model=component, app=outbound)
    return _matrix(component, outbound) or _families(component, outbound, ci, oi)


def _chain_pair(parent: str, child: str) -> Verdict:
    fields = {"model": parent, "app": child}
    if parent == child:
        return _verdict("compatible", "LIC100", model=parent)
    pi, ci = license_info(parent), license_info(child)
    if pi.has("non-commercial"):
        if ci.has("non-commercial"):
            return _verdict("compatible", "LIC011", **fields)
        if ci.family in _GRANTS_COMMERCIAL:
            return _verdict("incompatible", "LIC110", **fields)
        return _verdict("unknown", "LIC003", **fields)
    if pi.has("no-derivatives"):
        return _verdict("incompatible", "LIC111", **fields)
    if pi.has("share-alike"):
        allowed = _allowed(pi.id)
        if _base(child) in allowed:
            return _verdict("compatible", "LIC013", allowed=" or ".join(allowed), **fields)
        if ci.family in _KNOWN:
            return _verdict("incompatible", "LIC112", allowed=" or ".join(allowed), **fields)
        return _verdict("unknown", "LIC003", **fields)
    if pi.has("use-restrictions") or pi.has("same-license"):
        if pi.lineage is not None and pi.lineage == ci.lineage:
            return _verdict("compatible", "LIC115", **fields)
        if ci.has("use-restrictions"):
            return _verdict("unknown", "LIC023", **fields)
        if ci.family not in _KNOWN:
            return _verdict("unknown", "LIC003", **fields)
        if pi.has("same-license"):
            return _verdict("incompatible", "LIC116", **fields)
        return _verdict("incompatible", "LIC113", **fields)
    if pi.has("notice"):
        if ci.family not in _KNOWN:
            return _verdict("unknown", "LIC003", **fields)
        return _verdict("compatible", "LIC022", notice=pi.notice or "", **fields)
    return _pair(parent, child)


# --- expressions ----------------------------------------------------------------------------------------------


def _leaf(node: Any) -> str:
    if isinstance(node, le.LicenseWithExceptionSymbol):
        return str(node.render("{symbol.key}"))
    return str(node.key)


def _over(component: Any, outbound: Any, pair: Callable[[str, str], Verdict]) -> Verdict:
    """OR is a choice: the best option decides; AND binds all: the worst decides. Component side first."""
    for node, other, flip in ((component, outbound, False), (outbound, component, True)):
        if isinstance(node, le.AND | le.OR):
            results = [_over(other, arg, pair) if flip else _over(arg, other, pair) for arg in node.args]
            rank = _BEST.__getitem__
            pick = max if isinstance(node, le.AND) else min
            return pick(results, key=lambda v: rank(v.verdict))
    return pair(_leaf(component), _leaf(outbound))


def _normalised(value: str | None) -> str | None:
    return normalize_license(value) if value is not None else None


def compatibility(model_license: str | None, app_license: str | None) -> Verdict:
    """May a model under ``model_license`` be used in an application distributed under ``app_license``?

    Either argument may be an SPDX expression or any spelling ``normalize_license`` reads."""
    model, app = _normalised(model_license), _normalised(app_license)
    if model is None:
        return _verdict("unknown", "LIC001")
    if app is None:
        return _verdict("unknown", "LIC002")
    if model == app:
        return _verdict("compatible", "LIC000", model=model)
    return _over(parse(model), parse(app), _pair)


def _name_key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


def chain_conflict(child_license: str | None, parent_license: str | None, *,
                   child_name: str | None = None) -> Verdict:
    """Does a child model's declared license honour its base (parent) model's?

    ``incompatible`` when the child's license contradicts the parent's (a non-commercial, share-alike,
    no-derivatives or use-restricted parent whose terms the child's license drops; copyleft parents through the
    Linux Foundation table), or, given ``child_name``, when the parent's license fixes how derivative model
    names must begin and the child's name does not."""
    child, parent = _normalised(child_license), _normalised(parent_license)
    if parent is None:
        return _verdict("unknown", "LIC101")
    if child is None:
        return _verdict("unknown", "LIC102", model=parent)
    result = (_verdict("compatible", "LIC100", model=parent) if child == parent
              else _over(parse(parent), parse(child), _chain_pair))
    if result.verdict == "compatible" and child_name:
        for license_id in license_ids(parent):
            prefix = license_info(license_id).name_prefix
            short = child_name.rsplit("/", 1)[-1]
            if prefix and not _name_key(short).startswith(_name_key(prefix)):
                return _verdict("incompatible", "LIC114", model=license_id, prefix=prefix)
    return result

