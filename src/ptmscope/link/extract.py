"""Link candidates for one model or one paper: which repository, found where, of what kind.

Kinds, with the confidence of the reference itself (see :mod:`.urls`) scaled by the kind's own:

- ``hub_declared`` (1.0): the hub says so: PyTorch Hub's ``github_repo`` and each entrypoint's repo;
- ``model_card``: anywhere in the card's YAML metadata (every string, field = dotted key path; a
  bare ``owner/name`` only under a key that says ``github``) or text (field ``card_text``, line);
- ``library_mention`` (x0.3): a card naming a tool the model was made with rather than the model's
  own code. The rule, for card text only: the reference is in a "Framework versions" section; or its
  line says the model was trained / fine-tuned / built / made / generated / created / converted /
  merged / quantized with / using / by / via something, or "this is a [X] model", and the words of
  the line (link text, image alt text; URLs left out) name the linked repository, or the link is a
  template; or it is a badge image. Those are the sentences Trainer, TRL, Unsloth, Axolotl,
  mergekit, SetFit, Stable-Baselines3, ML-Agents, Sample Factory and the Hub's card template write.
  A repository of the model's own author is never a library mention;
- ``paper_code`` (1.0): a paper's code links; ``paper_text`` (x0.7): its abstract, where other
  people's code is cited as often as the paper's own.

One candidate per (repository, kind, field): where it was named most surely, first such place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .urls import CONFIDENCE_BARE, Rejected, RepoRef, find, parse_repo

KIND_HUB = "hub_declared"
KIND_CARD = "model_card"
KIND_LIBRARY = "library_mention"
KIND_PAPER_CODE = "paper_code"
KIND_PAPER_TEXT = "paper_text"

FIELD_CARD_TEXT = "card_text"
FIELD_GITHUB_REPO = "github_repo"
FIELD_ENTRYPOINT = "entrypoint"
FIELD_CODE_LINKS = "code_links"
FIELD_ABSTRACT = "abstract"

LIBRARY_FACTOR = 0.3
PAPER_TEXT_FACTOR = 0.7
EVIDENCE_CHARS = 300
FIELD_CHARS = 64  # the link.field column


@dataclass(frozen=True, slots=True)
class LinkCandidate:
    repo: RepoRef
    kind: str
    field: str
    line: int | None
    evidence: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Extracted:
    """The candidates of one subject, and what looked like a reference but named no repository."""

    candidates: tuple[LinkCandidate, ...]
    rejected: tuple[Rejected, ...]


class _Collector:
    def __init__(self) -> None:
        self.candidates: dict[tuple[str, str, str], LinkCandidate] = {}
        self.rejected: list[Rejected] = []

    def add(self, repo: RepoRef, kind: str, field: str, line: int | None, evidence: str,
            confidence: float) -> None:
        field = field[:FIELD_CHARS]
        key = (repo.key, kind, field)
        seen = self.candidates.get(key)
        if seen is None or confidence > seen.confidence:
            self.candidates[key] = LinkCandidate(repo, kind, field, line, _trim(evidence), round(confidence, 3))

    def result(self) -> Extracted:
        return Extracted(tuple(self.candidates.values()), tuple(self.rejected))


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS - 1] + "…"


def _around(text: str, start: int, end: int) -> str:
    """The line holding ``text[start:end]``, or a window on it when the line is too long to keep."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    if line_end - line_start <= EVIDENCE_CHARS:
        return text[line_start:line_end].rstrip("\r")
    room = max(0, EVIDENCE_CHARS - (end - start)) // 2
    lo = max(line_start, start - room)
    return text[lo:min(line_end, lo + EVIDENCE_CHARS)]


# --- models ------------------------------------------------------------------------------------------


def links_for_model(*, card_data: Any = None, card_text: str | None = None, github_repo: str | None = None,
                    entrypoints: Iterable[Mapping[str, Any]] | None = None,
                    author: str | None = None) -> Extracted:
    """Candidates from a stored model's columns of the same names. When ``card_data`` is given, the
    card text's YAML front matter is left to it (same content, better field names)."""
    out = _Collector()
    if github_repo:
        ref = parse_repo(github_repo, bare=True)
        if ref is not None:
            out.add(ref, KIND_HUB, FIELD_GITHUB_REPO, None, f"github_repo: {github_repo}", 1.0)
    for entry in entrypoints or ():
        _entrypoint(out, entry)
    if card_data is not None and _may_name_repositories(card_data):
        _walk(out, card_data, ())
    if card_text:
        _card_text(out, card_text, skip_front_matter=card_data is not None, author=author)
    return out.result()


def _entrypoint(out: _Collector, entry: Mapping[str, Any]) -> None:
    repo = entry.get("repo")
    if not isinstance(repo, str):
        return
    ref = parse_repo(repo, bare=True)
    if ref is None:
        return
    ref_part = f":{entry['ref']}" if entry.get("ref") else ""
    evidence = f"torch.hub.load('{repo}{ref_part}', '{entry.get('entrypoint')}')"
    if entry.get("file"):
        evidence += f" in {entry['file']}"
    line = entry.get("line")
    out.add(ref, KIND_HUB, FIELD_ENTRYPOINT, line if isinstance(line, int) else None, evidence, 1.0)


def _may_name_repositories(card_data: Any) -> bool:
    try:
        return _LITERAL_BYTES.search(orjson.dumps(card_data)) is not None
    except TypeError:  # integers beyond 64 bits and other values orjson refuses: walk them
        return True


def _walk(out: _Collector, value: Any, path: tuple[str, ...]) -> None:
    if isinstance(value, str):
        field = ".".join(path) or "card_data"
        found = find(value)
        out.rejected.extend(found.rejected)
        for ref in found.refs:
            out.add(ref, KIND_CARD, field, None, _around(value, ref.start, ref.end), ref.confidence)
        if not found.refs and path and "github" in path[-1].lower():
            bare = parse_repo(value, bare=True)
            if bare is not None:
                out.add(bare, KIND_CARD, field, None, value, CONFIDENCE_BARE)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _walk(out, item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(out, item, path)


# The hosts .urls looks for, in card data serialised whole: most cards name none, and one search
# of the whole is far cheaper than walking every string.
_LITERAL_BYTES = re.compile(rb"git(?:hub|\.io)", re.IGNORECASE)
# HF's front matter rule (huggingface_hub's REGEX_YAML_BLOCK): optional leading whitespace.
_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---[ \t]*\r?\n(?:.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FRAMEWORK_VERSIONS = re.compile(r"[Ff]ramework\s+[Vv]ersions?\b")
_HEADING_START = re.compile(r" {0,3}#{1,6}[ \t]")
_NEXT_HEADING = re.compile(r"\n {0,3}#{1,6}[ \t]")
# Words one of which every _TOOLING sentence has: a substring test is far cheaper than the pattern.
_TOOLING_WORDS = ("trained", "tuned", "built", "made", "generated", "created", "converted", "merged", "quantized",
                  "produced", " is a")
_TOOLING = re.compile(
    r"\b(?:trained|fine-?tuned|finetuned|built|made|generated|created|converted|merged|quantized|produced)\b"
    r".{0,80}?\b(?:using|with|by|via)\b"
    r"|\b(?:this|it)\s+is\s+an?\s+\W{0,3}\[",
    re.IGNORECASE)
_URLISH = re.compile(r"(?:[a-z][a-z0-9+.-]*://|(?:www\.)?github\.com/)[^\s()\[\]<>\"']*", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^a-z0-9]+")
# Tool badges are images kept in the tool's repository; a CI badge (github.com/.../badge.svg) is not one.
_BADGE_IMAGE = re.compile(r"githubusercontent\.com/\S*badge[^/\s]*\.(?:png|svg|jpe?g|gif|webp)\b", re.IGNORECASE)


def _card_text(out: _Collector, text: str, *, skip_front_matter: bool, author: str | None) -> None:
    found = find(text)
    if not found.refs and not found.rejected:
        return
    body_start = 0
    if skip_front_matter:
        match = _FRONT_MATTER.match(text)
        body_start = match.end() if match else 0
    out.rejected.extend(r for r in found.rejected if r.start >= body_start)
    sections = _framework_sections(text) if found.refs else []
    line, counted_to = 1, 0
    for ref in found.refs:
        if ref.start < body_start:
            continue
        line += text.count("\n", counted_to, ref.start)
        counted_to = ref.start
        evidence = _around(text, ref.start, ref.end)
        in_section = any(start <= ref.start < end for start, end in sections)
        if _library_mention(ref, evidence, in_section, author):
            out.add(ref, KIND_LIBRARY, FIELD_CARD_TEXT, line, evidence, ref.confidence * LIBRARY_FACTOR)
        else:
            out.add(ref, KIND_CARD, FIELD_CARD_TEXT, line, evidence, ref.confidence)


def _framework_sections(text: str) -> list[tuple[int, int]]:
    """Where "Framework versions" sections (the Trainer's and PEFT's) run, heading to next heading."""
    sections = []
    for match in _FRAMEWORK_VERSIONS.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        heading = _HEADING_START.match(text, line_start)
        if heading is None or "\n" in text[heading.end():match.start()]:
            continue
        following = _NEXT_HEADING.search(text, match.end())
        sections.append((line_start, following.start() if following else len(text)))
    return sections


def _library_mention(ref: RepoRef, line: str, in_framework_section: bool, author: str | None) -> bool:
    if author and ref.owner.lower() == author.lower():
        return False
    if in_framework_section or _BADGE_IMAGE.search(ref.url):
        return True
    lowered = line.lower()
    if not any(word in lowered for word in _TOOLING_WORDS) or not _TOOLING.search(line):
        return False
    words = _NOT_WORD.sub("", _URLISH.sub(" ", lowered))
    name = _NOT_WORD.sub("", ref.name.lower())
    return (len(name) >= 2 and name in words) or "template" in words


# --- papers ------------------------------------------------------------------------------------------


def links_for_paper(*, code_links: Sequence[Any] | str | None = None, abstract: str | None = None) -> Extracted:
    """Candidates from a stored paper's code links (strings, or objects with a ``url``) and abstract."""
    out = _Collector()
    entries: Sequence[Any] = [code_links] if isinstance(code_links, str) else code_links or ()
    for entry in entries:
        value = entry.get("url") if isinstance(entry, Mapping) else entry
        if not isinstance(value, str):
            continue
        found = find(value)
        out.rejected.extend(found.rejected)
        for ref in found.refs:
            out.add(ref, KIND_PAPER_CODE, FIELD_CODE_LINKS, None, value, ref.confidence)
    if abstract:
        found = find(abstract)
        out.rejected.extend(found.rejected)
        for ref in found.refs:
            out.add(ref, KIND_PAPER_TEXT, FIELD_ABSTRACT, None, _around(abstract, ref.start, ref.end),
                    ref.confidence * PAPER_TEXT_FACTOR)
    return out.result()
