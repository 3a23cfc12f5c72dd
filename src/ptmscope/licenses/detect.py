"""The license of a cloned repository, from its LICENSE / LICENCE / COPYING files.

Text matching is askalono's (Rust; ``pyaskalono`` bindings), which compares a file against the SPDX license
texts it embeds: offline, no index to build, ~0.1 s a file. ScanCode would be more thorough but is a large
install whose index takes minutes to build; askalono answers the question asked here (which standard license
is this file) with a similarity score. Two cheaper readings come first: an ``SPDX-License-Identifier:`` tag,
and a file that holds nothing but a license name ("MIT", "Apache-2.0").

Files read: top-level ``LICENSE*``, ``LICENCE*``, ``COPYING*``, ``UNLICENSE``; when none of them names a
license, the files of a top-level ``licenses/`` or ``LICENSES/`` folder (the REUSE layout). Several licenses
found are all in force: ``AND``.
Nothing is executed; symlinks and files over 512 KiB are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import askalono  # type: ignore[import-untyped]

from .normalize import OTHER, normalize_license

MAX_BYTES = 512 * 1024
# Measured here: standard texts with their own copyright lines score 0.95-1.0, an MIT text cut after its grant
# 0.72, unrelated terms under 0.2. Below the threshold a file is a modified or mixed text: not identified.
MIN_SCORE = 0.8
MIN_HEADING_SCORE = 0.25
MAX_FOLDER_FILES = 20
_NAMES = re.compile(r"^(LICEN[CS]E|COPYING|COPYRIGHT|UNLICENSE)([.\-_ ].*)?$", re.IGNORECASE)
_FOLDERS = ("licenses", "LICENSES", "license", "LICENSE")
_TAG = re.compile(r"SPDX-License-Identifier:\s*([^\n*]+?)\s*(?:\*/|-->|$)", re.MULTILINE)
# Licenses whose repositories ship the GPL text beside their own, because the license is written as GPL
# plus additional permissions (LGPL v3 section 0).
_SHIPS_GPL = {"LGPL-3.0-only": "GPL-3.0-only", "LGPL-3.0-or-later": "GPL-3.0-or-later"}


@dataclass(frozen=True)
class DetectedLicense:
    spdx: str
    file: str  # relative to the repository root; several files joined with ", "
    confidence: float
    method: str  # spdx-tag / name / askalono / unrecognised (a license file no matcher identified)


@dataclass(frozen=True)
class FileLicense:
    path: str
    spdx: str | None
    confidence: float
    method: str


def candidate_files(root: Path) -> list[Path]:
    """License files of a checkout, top-level first, in a stable order."""
    return _top_level(root) + _folder_files(root)


def _top_level(root: Path) -> list[Path]:
    try:
        return [p for p in sorted(root.iterdir(), key=lambda p: p.name) if _NAMES.match(p.name) and _readable(p)]
    except OSError:
        return []


def _folder_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder in _FOLDERS:
        sub = root / folder
        if sub.is_dir() and not sub.is_symlink():
            found.extend(p for p in sorted(sub.iterdir(), key=lambda p: p.name) if _readable(p))
    return list(dict.fromkeys(found))[:MAX_FOLDER_FILES]


def _readable(path: Path) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_BYTES
    except OSError:
        return False


def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def identify_text(text: str) -> tuple[str | None, float, str]:
    """(SPDX expression or None, confidence, method) for the text of one license file."""
    tag = _TAG.search(text)
    if tag:
        spdx = normalize_license(tag.group(1))
        if spdx and spdx != OTHER:
            return spdx, 1.0, "spdx-tag"
    stripped = text.strip()
    if stripped and "\n" not in stripped and len(stripped) <= 100:
        spdx = normalize_license(stripped)
        if spdx and spdx != OTHER:
            return spdx, 0.9, "name"
    if len(stripped) < 20:
        return None, 0.0, "unrecognised"
    match = askalono.identify(text)
    score = float(match.score)
    spdx = normalize_license(str(match.name))
    if not spdx or spdx == OTHER:
        return None, round(score, 4), "unrecognised"
    if score >= MIN_SCORE:
        return spdx, round(score, 4), "askalono"
    # SPDX's LGPL-3.0 text embeds the GPL-3.0 it amends, so the LGPL alone (COPYING.LESSER) scores ~0.3; a
    # heading naming the same license confirms such a partial match.
    if score >= MIN_HEADING_SCORE and _same_license(_heading(stripped), spdx):
        return spdx, round(score, 4), "askalono+heading"
    return None, round(score, 4), "unrecognised"


def _heading(text: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()][:2]
    heading = re.sub(r",?\s*\d{1,2}\s+[A-Za-z]+\s+\d{4}\b", "", " ".join(lines))
    return normalize_license(heading) if len(heading) <= 120 else None


def _same_license(a: str | None, b: str) -> bool:
    def base(expr: str) -> str:
        return re.sub(r"-(only|or-later)$", "", expr)

    return a is not None and a != OTHER and base(a) == base(b)


def detect_files(root: Path, paths: list[Path] | None = None) -> list[FileLicense]:
    results = []
    for path in candidate_files(root) if paths is None else paths:
        text = _read(path)
        if text is None:
            continue
        spdx, confidence, method = identify_text(text)
        results.append(FileLicense(path.relative_to(root).as_posix(), spdx, confidence, method))
    return results


def detect_repository_license(root: Path) -> DetectedLicense | None:
    """The license a checkout's license files state; None when it has none. A license file that no matcher
    identifies gives ``LicenseRef-other`` (there is a license, not one ptmscope knows)."""
    files = detect_files(root, _top_level(root))
    known = [f for f in files if f.spdx]
    if not known:
        # The folder (REUSE's LICENSES/) states the project's licenses when no top-level file does; beside a
        # top-level license it more often holds the licenses of vendored code.
        files += detect_files(root, _folder_files(root))
        known = [f for f in files if f.spdx]
    if not files:
        return None
    if not known:
        best = max(files, key=lambda f: f.confidence)
        return DetectedLicense(OTHER, best.path, best.confidence, "unrecognised")
    expressions = list(dict.fromkeys(f.spdx for f in known if f.spdx))
    for own, shipped in _SHIPS_GPL.items():
        if own in expressions and shipped in expressions:
            expressions.remove(shipped)
    used = [f for f in known if f.spdx in expressions]
    expr = expressions[0] if len(expressions) == 1 else normalize_license(
        " AND ".join(f"({e})" for e in expressions))
    assert expr is not None
    return DetectedLicense(expr, ", ".join(f.path for f in used), min(f.confidence for f in used),
                           "+".join(dict.fromkeys(f.method for f in used)))
