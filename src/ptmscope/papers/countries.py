"""Countries of a paper's authors from affiliation strings and e-mail domains (data in ``countries.toml``).

Results are ISO 3166-1 alpha-2 codes in the order the authors' affiliations name them; a string
that names no known country, place or institution gives nothing rather than a guess.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Which level of the data a match came from; the first level that matches an affiliation decides it.
_LEVELS = ("names", "places", "institutions")
_SHORT = 3


@dataclass(frozen=True)
class _Table:
    pattern: re.Pattern[str]
    phrases: dict[str, tuple[int, str]]  # folded phrase -> (level, country)
    exact: dict[str, tuple[int, str]]  # case-sensitive phrases
    domains: dict[str, str]
    generic: frozenset[str]
    codes: frozenset[str]


def _case_sensitive(phrase: str) -> bool:
    return len(phrase) <= _SHORT or "." in phrase


@cache
def _table() -> _Table:
    text = resources.files(__package__).joinpath("countries.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    codes = frozenset(data["names"])
    phrases: dict[str, tuple[int, str]] = {}
    exact: dict[str, tuple[int, str]] = {}
    for level, section in enumerate(_LEVELS):
        for code, spellings in data[section].items():
            if code not in codes:
                raise ValueError(f"countries.toml [{section}] names an unknown country code {code!r}")
            for phrase in spellings:
                target, key = (exact, phrase) if _case_sensitive(phrase) else (phrases, phrase.casefold())
                if key in target and target[key][1] != code:
                    raise ValueError(f"countries.toml gives {phrase!r} to both {target[key][1]} and {code}")
                target.setdefault(key, (level, code))
    alternatives = [re.escape(p) for p in exact] + [f"(?i:{re.escape(p)})" for p in phrases]
    # Longest first, so that "New Mexico" is read before "Mexico" and "Papua New Guinea" before "Guinea".
    ordered = sorted(zip([*exact, *phrases], alternatives, strict=True), key=lambda pair: -len(pair[0]))
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(alt for _, alt in ordered) + r")(?!\w)")
    domains = {tld: code for code, tlds in data["domains"].items() for tld in tlds}
    return _Table(pattern, phrases, exact, domains, frozenset(data["generic"]["tlds"]), codes)


def _lookup(table: _Table, matched: str) -> tuple[int, str] | None:
    return table.exact.get(matched) or table.phrases.get(matched.casefold())


def country_of_affiliation(affiliation: str) -> tuple[str, ...]:
    """Countries one affiliation string names: one per ``;``-separated part that names any."""
    table = _table()
    found: list[str] = []
    for part in affiliation.replace("’", "'").split(";"):
        best: tuple[int, int, str] | None = None  # (level, -position, code): lowest level, then rightmost
        for match in table.pattern.finditer(part):
            hit = _lookup(table, match.group(0))
            if hit is None:
                continue
            # The most general part of an address comes last ("Dept., University, City, Country").
            candidate = (hit[0], -match.start(), hit[1])
            if best is None or candidate < best:
                best = candidate
        if best is not None and best[2] not in found:
            found.append(best[2])
    return tuple(found)


def country_of_domain(address: str) -> str | None:
    """The country an e-mail address or domain belongs to by its top-level domain, if any."""
    table = _table()
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    if "." not in domain:
        return None
    tld = domain.rpartition(".")[2]
    if tld in table.domains:
        return table.domains[tld]
    code = tld.upper()
    if len(tld) == 2 and tld not in table.generic and code in table.codes:
        return code
    return None


def countries_of(affiliations: Iterable[str] = (), emails: Iterable[str] = ()) -> tuple[str, ...]:
    """Distinct countries named by ``affiliations`` (in order), then those only ``emails`` show."""
    found: list[str] = []
    for affiliation in affiliations:
        for code in country_of_affiliation(affiliation):
            if code not in found:
                found.append(code)
    for address in emails:
        by_domain = country_of_domain(address)
        if by_domain is not None and by_domain not in found:
            found.append(by_domain)
    return tuple(found)
