"""License strings, as hubs, cards and GitHub spell them, to SPDX expressions.

SPDX ids (any case, deprecated ones too), expressions and ScanCode license keys are recognised through the
``license-expression`` library and its bundled license index (no network). ML licenses SPDX lacks get the
``LicenseRef-`` ids defined in ``aliases.toml`` beside this module, with their family and the terms the
compatibility rules read.

Reading of ambiguous input, so that results are predictable:
- a comma or semicolon separated list (the Hub's ``license: [a, b]``, stored as ``"a, b"``) is every
  license at once: ``a AND b``; a slash (``MIT/Apache-2.0``) is a choice: ``OR``;
- ``other:NAME`` (the Hub's ``license: other`` with ``license_name``) is NAME when ptmscope knows it, else
  ``LicenseRef-other``;
- a value that says nothing (``unknown``, ``NOASSERTION``, empty) is ``None``; any other value ptmscope cannot
  identify is still a license someone declared: ``LicenseRef-other``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import license_expression as le  # type: ignore[import-untyped]

OTHER = "LicenseRef-other"
MAX_CHARS = 500
PUBLIC_DOMAIN = "LicenseRef-scancode-public-domain"
FAMILIES = ("permissive", "weak-copyleft", "copyleft", "ml-restricted", "non-commercial", "other", "unknown")
TERMS = frozenset({"non-commercial", "no-derivatives", "share-alike", "use-restrictions", "notice", "naming",
                   "same-license"})
# Most to least restrictive is the reverse; used to pick one family for an expression.
_RESTRICTIVENESS = {"permissive": 0, "weak-copyleft": 1, "copyleft": 2, "ml-restricted": 3, "non-commercial": 4,
                    "other": 5, "unknown": 6}
_SCANCODE_FAMILY = {"Permissive": "permissive", "Public Domain": "permissive", "Copyleft": "copyleft",
                    "Copyleft Limited": "weak-copyleft"}
_LICENSE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.\-]+$")
# Creative Commons ids carry their terms in their elements (BY, NC, ND, SA).
_CC = re.compile(r"^CC-BY(?P<elements>(-NC|-ND|-SA)*)-\d")


@dataclass(frozen=True)
class LicenseRef:
    """A license SPDX has no id for, as ``aliases.toml`` defines it."""

    id: str
    name: str
    family: str
    terms: frozenset[str]
    lineage: str | None = None
    notice: str | None = None
    name_prefix: str | None = None


@dataclass(frozen=True)
class LicenseInfo:
    """What the rules need to know about one license id (no operators)."""

    id: str
    family: str
    terms: frozenset[str]
    lineage: str | None = None
    notice: str | None = None
    name_prefix: str | None = None

    def has(self, term: str) -> bool:
        return term in self.terms


@dataclass(frozen=True)
class _Data:
    refs: dict[str, LicenseRef]
    aliases: dict[str, str]  # key (see _key) -> id
    compact: dict[str, str]  # compact key (see _compact) -> id
    unknown: frozenset[str]
    scancode_keys: dict[str, str]  # ScanCode license key -> SPDX (or LicenseRef-scancode-) id
    categories: dict[str, str]  # SPDX id -> ScanCode category
    licensing: le.Licensing


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip("'\"`").strip()).lower()


# Prose to the short forms SPDX ids use, then everything but letters, digits, '.', '+' dropped: "GNU General
# Public License v3.0" and "GPL-3.0" meet at "gpl3". Order matters (affero/lesser before plain GPL).
_PROSE = (
    (r"\blicen[cs]e[ds]?\b", " "),
    (r'"[^"]*"(\s+or\s+"[^"]*")?', " "),
    (r"\bnew or revised\b|\bsimplified\b", " "),
    (r"\bgnu affero general public\b", "agpl"),
    (r"\bgnu (lesser|library) general public\b", "lgpl"),
    (r"\bgnu general public\b", "gpl"),
    (r"\bgnu free documentation\b", "gfdl"),
    (r"\bmozilla public\b", "mpl"),
    (r"\beclipse public\b", "epl"),
    (r"\bboost software\b", "bsl"),
    (r"\bacademic free\b", "afl"),
    (r"\bcreative commons\b", "cc"),
    (r"\battribution\b", "by"),
    (r"\bnon[- ]?commercial\b", "nc"),
    (r"\bshare[- ]?alike\b", "sa"),
    (r"\bno[- ]?deriv(ative)?s\b", "nd"),
    (r"\bzero\b", "0"),
    (r"\b(universal|international|generic|unported|the|version|only)\b", " "),
    (r"\bor(-| )?(any )?later( version)?\b|\bor-later\b", "+"),
    (r"(?<=[a-z])v(?=\d)|\bv(?=\d)", ""),
)


def _compact(text: str) -> str:
    s = text.lower()
    for pattern, replacement in _PROSE:
        s = re.sub(pattern, replacement, s)
    s = re.sub(r"[^a-z0-9.+]", "", s)
    return re.sub(r"(\d)\.0(?![\d])", r"\1", s).strip(".")


def _read_refs(table: dict[str, Any]) -> dict[str, LicenseRef]:
    refs: dict[str, LicenseRef] = {}
    for ref_id, entry in table.items():
        if not _LICENSE_REF.match(ref_id):
            raise ValueError(f"aliases.toml: {ref_id!r} is not a LicenseRef id")
        if entry["family"] not in FAMILIES:
            raise ValueError(f"aliases.toml: {ref_id} has unknown family {entry['family']!r}")
        terms = frozenset(entry.get("terms", ()))
        if terms - TERMS:
            raise ValueError(f"aliases.toml: {ref_id} has unknown terms {sorted(terms - TERMS)}")
        refs[ref_id] = LicenseRef(ref_id, entry["name"], entry["family"], terms, entry.get("lineage"),
                                  entry.get("notice"), entry.get("name_prefix"))
    return refs


@cache
def _data() -> _Data:
    table = tomllib.loads(resources.files(__package__).joinpath("aliases.toml").read_text(encoding="utf-8"))
    refs = _read_refs(table["refs"])
    index = le.get_license_index()
    scancode_keys = {e["license_key"]: e["spdx_license_key"] for e in index if e.get("spdx_license_key")}
    categories = {e["spdx_license_key"]: e["category"] for e in index if e.get("spdx_license_key")}
    extra = [{"spdx_license_key": ref_id, "other_spdx_license_keys": [], "is_exception": False} for ref_id in refs]
    licensing = le.build_spdx_licensing(index + extra)

    aliases: dict[str, str] = {}

    def alias(spelling: str, target: str) -> None:
        key = _key(spelling)
        if aliases.get(key, target) != target:
            raise ValueError(f"aliases.toml: {spelling!r} names both {aliases[key]} and {target}")
        aliases[key] = target

    for ref in refs.values():
        alias(ref.id, ref.id)
        entry = table["refs"][ref.id]
        for spelling in entry.get("aliases", ()):
            alias(spelling, ref.id)
        for scancode_key in entry.get("scancode", ()):
            alias(scancode_key, ref.id)
            if scancode_key in scancode_keys:
                alias(scancode_keys[scancode_key], ref.id)
    for target, spellings in table["spdx"].items():
        for spelling in spellings:
            alias(spelling, target)

    compact: dict[str, str] = {}
    # SPDX ids first, so an id wins over a prose alias that compacts to the same key; deprecated ids last.
    spdx_ids = sorted((e for e in index if e.get("spdx_license_key") and not e.get("is_exception")
                       and not e["spdx_license_key"].startswith("LicenseRef-")),
                      key=lambda e: bool(e.get("is_deprecated")))
    for entry in spdx_ids:
        compact.setdefault(_compact(entry["spdx_license_key"]), entry["spdx_license_key"])
    for key, target in aliases.items():
        compact.setdefault(_compact(key), target)
    compact.pop("", None)
    unknown = frozenset(_key(v) for v in table["unknown"]["values"])
    return _Data(refs, aliases, compact, unknown, scancode_keys, categories, licensing)


_UNKNOWN = object()


def _valid(text: str) -> str | None:
    """``text`` rendered, when it is an SPDX expression every id of which the index knows."""
    try:
        info = _data().licensing.validate(text, strict=False)
    # validate() itself can fail on odd characters (license-expression 30.4 reads a missing attribute).
    except (le.ExpressionError, AttributeError):
        return None
    if info.errors or not info.normalized_expression:
        return None
    return str(info.normalized_expression)


def _one(text: str) -> str | object | None:
    """One license name (no operators) to an id; None for "no information"; ``_UNKNOWN`` when not recognised."""
    data = _data()
    key = _key(text)
    if not key or key in data.unknown:
        return None
    if key in data.aliases:
        return data.aliases[key]
    rendered = _valid(text.strip())
    if rendered is not None:
        return data.aliases.get(_key(rendered), rendered)
    if key in data.scancode_keys:
        found = data.scancode_keys[key]
        return data.aliases.get(_key(found), found)
    compact = _compact(key)
    if compact in data.compact:
        return data.licensing.parse(data.compact[compact]).render() if not data.compact[compact].startswith(
            "LicenseRef-") else data.compact[compact]
    if _LICENSE_REF.match(text.strip()):
        return text.strip()
    return _UNKNOWN


_LIST = re.compile(r"\s*[,;\n|]\s*")
_OPERATOR = re.compile(r"(\s+(?:AND|OR|WITH)\s+|\s*&\s*|\s*/\s*|[()])", re.IGNORECASE)


def _expression(text: str) -> str | object | None:
    """An expression with AND/OR/WITH (any case) whose operands may be any spelling ``_one`` knows."""
    parts: list[str] = []
    operands = 0
    for token in _OPERATOR.split(text):
        if not token or not token.strip():
            continue
        word = token.strip().upper()
        if word in ("AND", "OR", "WITH", "&", "/", "(", ")"):
            parts.append({"&": "AND", "/": "OR"}.get(word, word))
            continue
        found = _one(token)
        if found is _UNKNOWN:
            return _UNKNOWN
        if found is None:
            return None
        parts.append(str(found))
        operands += 1
    if operands == 0:
        return None
    try:
        parsed = _data().licensing.parse(" ".join(parts), validate=True)
    except le.ExpressionError:
        return _UNKNOWN
    return None if parsed is None else str(parsed.render())


def _and(ids: list[str]) -> str:
    unique = list(dict.fromkeys(ids))
    if len(unique) == 1:
        return unique[0]
    wrapped = [f"({i})" if re.search(r"\s(AND|OR)\s", i) else i for i in unique]
    return str(_data().licensing.parse(" AND ".join(wrapped)).render())


def normalize_license(raw: str | None) -> str | None:
    """An SPDX expression (with ptmscope's ``LicenseRef-`` ids for ML licenses) for a license string as a hub,
    a card or GitHub spells it; None when the value says nothing about the license."""
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not _key(text) or _key(text) in _data().unknown:
        return None
    if len(text) > MAX_CHARS:  # a license written out in a metadata field: some license, not one named
        return OTHER
    if _key(text).startswith("other:"):
        named = normalize_license(text.split(":", 1)[1])
        return named if named not in (None, PUBLIC_DOMAIN) else OTHER
    found = _one(text)
    if found is _UNKNOWN:
        found = _expression(text)
    if found is _UNKNOWN and _LIST.search(text):
        ids = [normalize_license(part) for part in _LIST.split(text) if part.strip()]
        known = [i for i in ids if i is not None]
        return _and(known) if known else None
    if found is _UNKNOWN:
        return OTHER
    return None if found is None else str(found)


def is_valid_expression(expr: str) -> bool:
    """Whether ``expr`` parses as an SPDX expression whose ids are SPDX ids or LicenseRef ids."""
    data = _data()
    try:
        parsed = data.licensing.parse(expr, validate=False)
    except le.ExpressionError:
        return False
    if parsed is None:
        return False
    return all(sym.key in data.categories or sym.key in data.refs or _LICENSE_REF.match(sym.key)
               for sym in data.licensing.license_symbols(parsed, decompose=True))


def license_ref(ref_id: str) -> LicenseRef | None:
    return _data().refs.get(ref_id)


def license_refs() -> dict[str, LicenseRef]:
    return dict(_data().refs)


def parse(expr: str) -> le.LicenseExpression:
    """The parsed expression (license-expression objects) of a normalised string."""
    parsed = _data().licensing.parse(expr)
    if parsed is None:
        raise ValueError(f"empty license expression {expr!r}")
    return parsed


@cache
def license_info(license_id: str) -> LicenseInfo:
    """Family and terms of one id (``X WITH exception`` is read as X)."""
    base = license_id.split(" WITH ", 1)[0].strip()
    ref = _data().refs.get(base)
    if ref is not None:
        return LicenseInfo(base, ref.family, ref.terms, ref.lineage, ref.notice, ref.name_prefix)
    cc = _CC.match(base)
    if cc:
        elements = cc.group("elements")
        terms = {t for flag, t in (("-NC", "non-commercial"), ("-ND", "no-derivatives"), ("-SA", "share-alike"))
                 if flag in elements}
        family = ("non-commercial" if "non-commercial" in terms else "weak-copyleft" if "share-alike" in terms
                  else "other" if "no-derivatives" in terms else "permissive")
        return LicenseInfo(base, family, frozenset(terms))
    category = _data().categories.get(base)
    if category is None:
        return LicenseInfo(base, "other" if _LICENSE_REF.match(base) else "unknown", frozenset())
    return LicenseInfo(base, _SCANCODE_FAMILY.get(category, "other"), frozenset())


def _atoms_family(node: Any) -> str:
    if isinstance(node, le.LicenseWithExceptionSymbol):
        return license_info(node.license_symbol.key).family
    if isinstance(node, le.LicenseSymbol):
        return license_info(node.key).family
    families = [_atoms_family(arg) for arg in node.args]
    rank = _RESTRICTIVENESS.__getitem__
    # AND binds every license, so the most restrictive one decides; OR lets the user pick the least.
    return max(families, key=rank) if isinstance(node, le.AND) else min(families, key=rank)


def spdx_family(expr: str | None) -> str:
    """One family for a (normalised) expression, for grouping: permissive, weak-copyleft, copyleft,
    ml-restricted, non-commercial, other or unknown."""
    if not expr:
        return "unknown"
    try:
        return _atoms_family(parse(expr))
    except (le.ExpressionError, ValueError):
        return "unknown"


def license_ids(expr: str) -> Iterator[str]:
    """Each id an expression names (``X WITH exception`` as one)."""
    for sym in _data().licensing.license_symbols(parse(expr), decompose=False):
        yield str(sym.render("{symbol.key}")) if isinstance(sym, le.LicenseWithExceptionSymbol) else str(sym.key)
