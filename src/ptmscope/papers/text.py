"""Small readers shared by the paper sources: whitespace, identifiers in URLs, code links in text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

# Hosts whose URLs in an abstract or a comment point at code. Project pages (*.github.io) are kept
# too: the link stage decides what a repository is.
_CODE_URL = re.compile(
    r"(?:https?://)?(?:[\w-]+\.)*(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|git\.io|github\.io)"
    r"(?:/[^\s<>\"'`{}|\\^\]\[()]*)?",
    re.IGNORECASE,
)
# Sentence punctuation that ends a URL written in running text ("... at https://github.com/a/b.").
_TRAILING = ".,;:!?*"
_ARXIV_NEW = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?!\d)")
_ARXIV_OLD = re.compile(r"(?<![\w-])([a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?!\d)")
_DOI = re.compile(r"(10\.\d{4,9}/\S+)")


def clean(text: object) -> str | None:
    """A string with runs of whitespace (line-wrapped titles, tabs) made single spaces; None if empty."""
    if not isinstance(text, str):
        return None
    cleaned = " ".join(text.split())
    return cleaned or None


def present(items: Iterable[str | None]) -> tuple[str, ...]:
    """Non-empty items in order, repeats kept (two authors may share a name)."""
    return tuple(item for item in items if item)


def unique(items: Iterable[str | None]) -> tuple[str, ...]:
    """Non-empty items, first occurrence kept, order kept."""
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def find_code_links(*texts: str | None) -> tuple[str, ...]:
    """URLs on code hosts in free text, each as it stands there less trailing sentence punctuation."""
    found: list[str] = []
    for text in texts:
        if text:
            found.extend(match.group(0).rstrip(_TRAILING) for match in _CODE_URL.finditer(text))
    return unique(found)


def arxiv_id_from(value: str | None) -> str | None:
    """The versionless arXiv id in an id, an ``arXiv:`` reference or an arxiv.org URL."""
    if not value:
        return None
    text = value.strip()
    lowered = text.lower()
    if "arxiv" not in lowered and not _ARXIV_NEW.fullmatch(text) and not _ARXIV_OLD.fullmatch(text):
        return None
    match = _ARXIV_NEW.search(text) or _ARXIV_OLD.search(text)
    return match.group(1) if match else None


def openreview_id_from(value: str | None) -> str | None:
    """The note id in an OpenReview forum or PDF URL (``...openreview.net/forum?id=X``)."""
    if not value or "openreview.net" not in value.lower():
        return None
    ids = parse_qs(urlsplit(value.strip()).query).get("id")
    return ids[0] if ids and ids[0] else None


def doi_from(value: str | None) -> str | None:
    """The DOI in a DOI or a doi.org URL (lower-cased: DOIs are case-insensitive)."""
    if not value:
        return None
    text = value.strip()
    if "doi.org/" not in text.lower() and not text.startswith("10."):
        return None
    match = _DOI.search(text)
    return match.group(1).lower() if match else None
